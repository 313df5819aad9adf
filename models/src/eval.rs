//! Scoring triage on labelled feedback: accuracy, macro-F1, a per-category
//! table, and safety recall/precision.
//!
//! Input lines (JSON): `text` or `narrative`; `component` (an NHTSA
//! component group or COMPDESC, or a qloop label such as `HVAC`), mapped to
//! a category by the taxonomy; safety truth as `major` (bool) or NHTSA's
//! `crash`/`fire` (`Y`/`N`) and `injured`/`deaths` (counts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::taxonomy::Taxonomy;

/// One labelled feedback.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// What the driver said.
    pub text: String,
    /// The true category.
    pub category: String,
    /// Whether it is truly a safety (major) case.
    pub major: bool,
    /// Other categories a reviewer accepts for it (`accept` or
    /// `adjudicated_accept`: component labels, mapped by the taxonomy).
    pub accept: Vec<String>,
    /// The true hazard of a major case, when labelled.
    pub hazard: Option<String>,
}

impl Labelled {
    /// True when `category` is its category or one a reviewer accepts.
    pub fn accepts(&self, category: &str) -> bool {
        self.category == category || self.accept.iter().any(|a| a == category)
    }
}

/// Parses labelled lines; unusable lines are returned as `line N: reason`.
pub fn parse_labelled(text: &str, taxonomy: &Taxonomy) -> (Vec<Labelled>, Vec<String>) {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, taxonomy) {
            Ok(l) => ok.push(l),
            Err(e) => bad.push(format!("line {}: {e}", i + 1)),
        }
    }
    (ok, bad)
}

fn parse_line(line: &str, taxonomy: &Taxonomy) -> Result<Labelled, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let text = ["text", "narrative"]
        .iter()
        .find_map(|k| v[*k].as_str().filter(|s| !s.trim().is_empty()))
        .ok_or("no text or narrative")?
        .to_string();
    let label = ["component", "category"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .ok_or("no component")?;
    let category = taxonomy
        .category_of_label(label)
        .ok_or_else(|| format!("component {label:?} is not in the taxonomy's label mapping"))?
        .to_string();
    let yes = |k: &str| v[k].as_str().is_some_and(|s| s.eq_ignore_ascii_case("y"));
    let count = |k: &str| match &v[k] {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    };
    let major = match v.get("major").and_then(Value::as_bool) {
        Some(m) => m,
        None => yes("crash") || yes("fire") || count("injured") > 0.0 || count("deaths") > 0.0,
    };
    let mut accept: Vec<String> = ["accept", "adjudicated_accept"]
        .iter()
        .filter_map(|k| v[*k].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|l| taxonomy.category_of_label(l))
        .filter(|c| *c != category)
        .map(str::to_string)
        .collect();
    accept.sort();
    accept.dedup();
    let hazard = v["hazard"]
        .as_str()
        .filter(|h| major && !h.eq_ignore_ascii_case("none"))
        .map(str::to_string);
    Ok(Labelled {
        text,
        category,
        major,
        accept,
        hazard,
    })
}

/// Precision, recall and F1 of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// True examples of it.
    pub support: usize,
    /// Of those predicted as it, the share that are.
    pub precision: f64,
    /// Of those that are, the share predicted as it.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

/// The evaluation report (`cloud-triage eval --json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Feedbacks scored.
    pub n: usize,
    /// Share whose best category is right.
    pub accuracy: f64,
    /// Mean F1 over the categories present in truth.
    pub macro_f1: f64,
    /// Share left to a human (confidence below the threshold).
    pub needs_human_triage_rate: f64,
    /// Accuracy over the cases triaged automatically.
    pub accuracy_when_confident: f64,
    /// True major cases assessed major.
    pub safety_recall: f64,
    /// Assessed major cases that are truly major.
    pub safety_precision: f64,
    /// True major cases.
    pub safety_support: usize,
    /// Of the true major cases with a labelled hazard that were called
    /// major, the share whose hazard was named right.
    pub hazard_accuracy: f64,
    /// How many such cases.
    pub hazard_support: usize,
    /// Per category.
    pub per_category: BTreeMap<String, CategoryScore>,
}

/// One scored prediction.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// Truth.
    pub truth: &'a Labelled,
    /// Best category.
    pub best: String,
    /// Confident enough for automatic triage.
    pub confident: bool,
    /// Assessed major.
    pub major: bool,
    /// The hazard named, when major.
    pub hazard: Option<String>,
}

impl Outcome<'_> {
    /// The category the prediction counts against: the predicted one when
    /// the reviewer accepts it, else the labelled one.
    fn truth_category(&self) -> &str {
        if self.truth.accepts(&self.best) {
            &self.best
        } else {
            &self.truth.category
        }
    }
}

/// Builds the report.
pub fn report(outcomes: &[Outcome<'_>]) -> Report {
    let n = outcomes.len();
    let share = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let correct = outcomes.iter().filter(|o| o.truth.accepts(&o.best)).count();
    let confident: Vec<_> = outcomes.iter().filter(|o| o.confident).collect();
    let confident_correct = confident
        .iter()
        .filter(|o| o.truth.accepts(&o.best))
        .count();
    let mut per_category = BTreeMap::new();
    let cats: std::collections::BTreeSet<&str> =
        outcomes.iter().map(Outcome::truth_category).collect();
    for cat in &cats {
        let tp = outcomes
            .iter()
            .filter(|o| o.best == *cat && o.truth_category() == *cat)
            .count();
        let predicted = outcomes.iter().filter(|o| o.best == *cat).count();
        let support = outcomes
            .iter()
            .filter(|o| o.truth_category() == *cat)
            .count();
        let (p, r) = (share(tp, predicted), share(tp, support));
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        per_category.insert(
            cat.to_string(),
            CategoryScore {
                support,
                precision: p,
                recall: r,
                f1,
            },
        );
    }
    let macro_f1 = if per_category.is_empty() {
        0.0
    } else {
        per_category.values().map(|s| s.f1).sum::<f64>() / per_category.len() as f64
    };
    let true_major = outcomes.iter().filter(|o| o.truth.major).count();
    let said_major = outcomes.iter().filter(|o| o.major).count();
    let both = outcomes.iter().filter(|o| o.major && o.truth.major).count();
    let named: Vec<_> = outcomes
        .iter()
        .filter(|o| o.major && o.truth.hazard.is_some())
        .collect();
    let named_right = named.iter().filter(|o| o.hazard == o.truth.hazard).count();
    Report {
        n,
        accuracy: share(correct, n),
        macro_f1,
        needs_human_triage_rate: share(n - confident.len(), n),
        accuracy_when_confident: share(confident_correct, confident.len()),
        safety_recall: share(both, true_major),
        safety_precision: share(both, said_major),
        safety_support: true_major,
        hazard_accuracy: share(named_right, named.len()),
        hazard_support: named.len(),
        per_category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhtsa_and_qloop_lines_parse_and_bad_lines_are_named() {
        let t = Taxonomy::default_taxonomy();
        let text = concat!(
            "{\"narrative\":\"AIR BAG FAILED\",\"component\":\"AIR BAGS:FRONTAL\",\"crash\":\"Y\",\"fire\":\"N\",\"injured\":\"0\",\"deaths\":\"0\"}\n",
            "{\"text\":\"screen froze\",\"component\":\"INFOTAINMENT\",\"major\":false}\n",
            "{\"text\":\"x\",\"component\":\"NOPE\"}\n",
            "not json\n",
        );
        let (ok, bad) = parse_labelled(text, &t);
        assert_eq!(ok.len(), 2);
        assert_eq!(
            (ok[0].category.as_str(), ok[0].major),
            ("airbags_restraints", true)
        );
        assert_eq!(
            (ok[1].category.as_str(), ok[1].major),
            ("infotainment", false)
        );
        assert!(
            bad[0].starts_with("line 3") && bad[1].starts_with("line 4"),
            "{bad:?}"
        );
    }

    #[test]
    fn the_report_counts_what_its_fields_say() {
        let a = Labelled {
            text: "a".into(),
            category: "brakes".into(),
            major: true,
            accept: vec!["steering".into()],
            hazard: Some("loss_of_braking".into()),
        };
        let b = Labelled {
            text: "b".into(),
            category: "hvac".into(),
            major: false,
            accept: vec![],
            hazard: None,
        };
        let o = |t: &'static Labelled, best: &str, confident, major: bool| Outcome {
            truth: t,
            best: best.into(),
            confident,
            major,
            hazard: major.then(|| "loss_of_braking".to_string()),
        };
        let a: &'static Labelled = Box::leak(Box::new(a));
        let b: &'static Labelled = Box::leak(Box::new(b));
        let r = report(&[
            o(a, "brakes", true, true),
            o(b, "brakes", false, true),
            o(b, "hvac", true, false),
            o(a, "steering", true, true),
        ]);
        assert_eq!(r.n, 4);
        assert!(
            (r.accuracy - 3.0 / 4.0).abs() < 1e-9,
            "steering is accepted for a"
        );
        assert_eq!(r.hazard_support, 2);
        assert!((r.hazard_accuracy - 1.0).abs() < 1e-9);
        assert!((r.safety_recall - 1.0).abs() < 1e-9);
        assert!((r.safety_precision - 2.0 / 3.0).abs() < 1e-9);
        assert!(
            (r.per_category["steering"].f1 - 1.0).abs() < 1e-9,
            "an accepted answer counts for its own category"
        );
        assert!((r.per_category["brakes"].precision - 0.5).abs() < 1e-9);
        assert!((r.per_category["hvac"].recall - 0.5).abs() < 1e-9);
        assert!((r.needs_human_triage_rate - 1.0 / 4.0).abs() < 1e-9);
    }
}
