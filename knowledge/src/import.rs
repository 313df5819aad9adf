//! Known issues from JSON lines: the three NHTSA recall shapes in
//! `../shared/data/nhtsa` and qloop's own format.
//!
//! | shape | fields used |
//! | --- | --- |
//! | recall documents (2020–2026) | `campno, make, models, years, summaries` |
//! | recalls (Ford/Toyota/Tesla) | `campno, make, models, years, component, summary, consequence, remedy, report_received_date` |
//! | NHTSA flat-file sample | `campno, make, model, years, component, defect, consequence, remedy` |
//! | qloop known issue | `id, title, symptom, component, make, models, years, containment, remedy, consequence, severity, date` |
//!
//! List fields may be JSON arrays or the Python-style strings the NHTSA
//! pulls contain (`"['F-150', 'F-250']"`). A line that is not an object or
//! has no id or no text is reported with its number; the others still load.

use serde_json::{Map, Value};

use crate::{
    error::KnowledgeError,
    record::{DocKind, IndexDoc},
};

/// Longest accepted line, bytes; longer lines are reported, not parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Words in a recall's consequence that make it a safety (major) issue.
const MAJOR_WORDS: &[&str] = &[
    "crash",
    "fire",
    "injur",
    "death",
    "burn",
    "loss of steering",
    "loss of brak",
    "airbag",
    "air bag",
    "stall",
    "loss of drive",
    "loss of motive",
    "smoke",
];

/// What an import produced.
#[derive(Debug, Default)]
pub struct Imported {
    /// Documents ready to index.
    pub docs: Vec<IndexDoc>,
    /// Lines that could not be used, with why.
    pub rejected: Vec<KnowledgeError>,
}

/// Parses every line of `text`; blank lines are skipped.
pub fn parse_known_issues(text: &str) -> Imported {
    let mut out = Imported::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, line_no) {
            Ok(doc) => out.docs.push(doc),
            Err(e) => out.rejected.push(e),
        }
    }
    out
}

/// One known issue from one JSON line.
pub fn parse_line(line: &str, line_no: usize) -> Result<IndexDoc, KnowledgeError> {
    let err = |reason: String| KnowledgeError::Import {
        line: line_no,
        reason,
    };
    if line.len() > MAX_LINE_BYTES {
        return Err(err(format!(
            "{} bytes, over the {MAX_LINE_BYTES}-byte line limit",
            line.len()
        )));
    }
    let value: Value = serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(err("not a JSON object".into()));
    };
    let id = text_of(&obj, &["campno", "id"]).ok_or_else(|| err("no `campno` or `id`".into()))?;
    let summaries = list_of(&obj, "summaries");
    let text = text_of(&obj, &["symptom", "defect", "summary"])
        .or_else(|| (!summaries.is_empty()).then(|| summaries.join(" ")))
        .ok_or_else(|| err(format!("{id}: no symptom, defect, summary or summaries")))?;
    let consequence = text_of(&obj, &["consequence"]);
    let remedy = text_of(&obj, &["remedy"]).or_else(|| remedy_sentences(&text));
    let component = text_of(&obj, &["component"]);
    let category =
        text_of(&obj, &["category"]).or_else(|| component.as_deref().map(component_group));
    let mut models = list_of(&obj, "models");
    models.extend(list_of(&obj, "model"));
    let severity = text_of(&obj, &["severity"]).or_else(|| {
        let said = format!("{} {}", consequence.as_deref().unwrap_or(""), text).to_lowercase();
        Some(
            if MAJOR_WORDS.iter().any(|w| said.contains(w)) {
                "major"
            } else {
                "minor"
            }
            .into(),
        )
    });
    Ok(IndexDoc {
        title: text_of(&obj, &["title"])
            .unwrap_or_else(|| title_from(&id, component.as_deref(), &text)),
        id,
        kind: Some(DocKind::KnownIssue),
        text,
        category,
        severity,
        make: text_of(&obj, &["make"]).map(|m| m.to_uppercase()),
        models: models.into_iter().map(|m| m.to_uppercase()).collect(),
        years: list_of(&obj, "years")
            .iter()
            .filter_map(|y| y.trim().parse::<u16>().ok())
            .filter(|y| (1900..=2100).contains(y))
            .collect(),
        software: list_of(&obj, "software"),
        dtcs: list_of(&obj, "dtcs"),
        date_ms: text_of(&obj, &["report_received_date", "date"]).and_then(|d| date_ms(&d)),
        status: Some(text_of(&obj, &["status"]).unwrap_or_else(|| "open".into())),
        containment: text_of(&obj, &["containment"]),
        remedy,
        consequence,
    })
}

/// The first non-empty string among `keys`.
fn text_of(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// A list field: a JSON array, a Python-style list string, or one string.
fn list_of(obj: &Map<String, Value>, key: &str) -> Vec<String> {
    match obj.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => python_list(s),
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// `"['A', "B's"]"` → `["A", "B's"]`; a plain string → itself.
fn python_list(s: &str) -> Vec<String> {
    let t = s.trim();
    let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return if t.is_empty() {
            Vec::new()
        } else {
            vec![t.to_string()]
        };
    };
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' && c != '"' {
            continue;
        }
        let quote = c;
        let mut item = String::new();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        item.push(escaped);
                    }
                }
                ch if ch == quote => break,
                ch => item.push(ch),
            }
        }
        if !item.trim().is_empty() {
            items.push(item.trim().to_string());
        }
    }
    items
}

/// NHTSA component group: the part of COMPDESC before the first colon.
pub fn component_group(component: &str) -> String {
    component
        .split(':')
        .next()
        .unwrap_or(component)
        .trim()
        .to_uppercase()
}

/// Sentences of a recall summary that state the remedy.
fn remedy_sentences(text: &str) -> Option<String> {
    let picked: Vec<&str> = text
        .split_inclusive(['.', '!'])
        .filter(|s| {
            let l = s.to_lowercase();
            l.contains("free of charge")
                || l.contains("remedy")
                || [
                    "will replace",
                    "will repair",
                    "will inspect",
                    "will update",
                    "will reprogram",
                    "will install",
                ]
                .iter()
                .any(|w| l.contains(w))
        })
        .map(str::trim)
        .collect();
    (!picked.is_empty()).then(|| picked.join(" "))
}

fn title_from(id: &str, component: Option<&str>, text: &str) -> String {
    // Recall documents open with their own campaign number; do not repeat it.
    let words: Vec<&str> = text
        .split_whitespace()
        .skip_while(|w| w.trim_matches(|c: char| !c.is_alphanumeric()) == id)
        .take(14)
        .collect();
    match component {
        Some(c) => format!("{id} {}: {}", component_group(c), words.join(" ")),
        None => format!("{id}: {}", words.join(" ")),
    }
}

/// `YYYY-MM-DD` (optionally followed by a time) → Unix ms at 00:00 UTC.
pub fn date_ms(s: &str) -> Option<i64> {
    let d = s.get(..10)?;
    let mut parts = d.split('-');
    let (y, m, day) = (
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
        parts.next()?.parse::<i64>().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(1900..=2100).contains(&y) {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_style_lists_and_json_arrays_both_read() {
        assert_eq!(python_list("['F-150', 'F-250']"), vec!["F-150", "F-250"]);
        assert_eq!(python_list(r#"["O'NEIL", 'X']"#), vec!["O'NEIL", "X"]);
        assert_eq!(python_list("[]"), Vec::<String>::new());
        assert_eq!(python_list("MODEL 3"), vec!["MODEL 3"]);
    }

    #[test]
    fn dates_become_utc_midnight_ms() {
        assert_eq!(date_ms("1970-01-01"), Some(0));
        assert_eq!(date_ms("2018-12-18"), Some(1_545_091_200_000));
        assert_eq!(date_ms("2018-13-18"), None);
        assert_eq!(date_ms("garbage"), None);
    }

    #[test]
    fn each_recall_shape_yields_id_text_remedy_and_severity() {
        let ford = r#"{"campno":"18V894000","make":"FORD","models":"['F-150']","years":"['2015', '2016']","component":"ENGINE","summary":"Block heater cable may corrode.","consequence":"Overheated wiring increases the risk of a fire.","remedy":"Dealers will replace the cable, free of charge.","report_received_date":"2018-12-18"}"#;
        let doc = parse_line(ford, 1).unwrap();
        assert_eq!(doc.id, "18V894000");
        assert_eq!(doc.models, vec!["F-150"]);
        assert_eq!(doc.years, vec![2015, 2016]);
        assert_eq!(doc.category.as_deref(), Some("ENGINE"));
        assert_eq!(
            doc.severity.as_deref(),
            Some("major"),
            "fire in the consequence"
        );
        assert!(doc.remedy.unwrap().contains("replace the cable"));

        let docs = r#"{"campno":"20V001","make":"SAAB","models":"['9-2X']","years":"['2003']","summaries":"['The airbag inflator may rupture. Dealers will replace the inflator free of charge.']"}"#;
        let doc = parse_line(docs, 2).unwrap();
        assert!(doc.text.contains("inflator may rupture"));
        assert!(doc.remedy.unwrap().contains("replace the inflator"));
        assert_eq!(doc.severity.as_deref(), Some("major"));

        let sample = r#"{"campno":"02V288000","make":"FORD","model":"FOCUS","years":"['2001']","component":"ELECTRICAL SYSTEM:BATTERY:CABLES","defect":"Misrouted battery cables.","consequence":"Heat damage to the cables.","remedy":"Dealers will inspect the cables."}"#;
        let doc = parse_line(sample, 3).unwrap();
        assert_eq!(doc.models, vec!["FOCUS"]);
        assert_eq!(doc.category.as_deref(), Some("ELECTRICAL SYSTEM"));
        assert_eq!(doc.severity.as_deref(), Some("minor"));
    }

    #[test]
    fn unusable_lines_are_reported_with_their_numbers_and_the_rest_load() {
        let text = "{\"id\":\"KI-1\",\"symptom\":\"wipers stop\"}\nnot json\n[1,2]\n{\"id\":\"KI-2\"}\n\n{\"symptom\":\"no id\"}\n";
        let out = parse_known_issues(text);
        assert_eq!(out.docs.len(), 1);
        let lines: Vec<usize> = out
            .rejected
            .iter()
            .map(|e| match e {
                KnowledgeError::Import { line, .. } => *line,
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(lines, vec![2, 3, 4, 6]);
    }
}
