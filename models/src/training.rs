//! Training data for the triage heads: labelled lines from the files in
//! `models/training/` (and any the operator adds), each with the category,
//! the safety truth and the named hazard it teaches, as far as it knows them.
//!
//! Every loader skips, and counts, NHTSA complaints whose number hashes into
//! the evaluation holdout list (`models/training/holdout-ids.sha256`, a copy
//! of `../shared/data/nhtsa/holdout-ids.sha256`): they are kept outside the
//! project to measure triage on data it never saw.

use std::{collections::HashSet, sync::OnceLock};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{hazard::Hazard, taxonomy::Taxonomy};

/// The holdout list, compiled in so no loader can run without it.
const HOLDOUT: &str = include_str!("../training/holdout-ids.sha256");

/// Longest text kept for training, in characters: a complaint's gist is in
/// its opening, and embedding whole narratives would cost minutes at start.
pub const MAX_TRAINING_CHARS: usize = 600;

/// One training example.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingItem {
    /// The words.
    pub text: String,
    /// The category it teaches, when its label maps into the taxonomy.
    pub category: Option<String>,
    /// Whether it is a safety (major) case, when known.
    pub major: Option<bool>,
    /// The hazard it names, when known (`None` also when it is not major).
    pub hazard: Option<Hazard>,
    /// How much it counts.
    pub weight: f32,
}

/// What a file gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingSet {
    /// Usable examples.
    pub items: Vec<TrainingItem>,
    /// Complaints skipped because they are in the holdout list.
    pub skipped_holdout: usize,
    /// Unusable lines, as `line N: reason`.
    pub rejected: Vec<String>,
}

impl TrainingSet {
    /// Adds another set's examples and counts.
    pub fn extend(&mut self, other: TrainingSet) {
        self.items.extend(other.items);
        self.skipped_holdout += other.skipped_holdout;
        self.rejected.extend(other.rejected);
    }
}

/// True when complaint number `odino` is in the evaluation holdout.
pub fn is_holdout(odino: &str) -> bool {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    let set = SET.get_or_init(|| {
        HOLDOUT
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect()
    });
    let digest = Sha256::digest(format!("odi:{}", odino.trim()).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    set.contains(&hex)
}

/// Parses training lines (JSON): `text`/`narrative`; `component`/`category`
/// (may be absent or null: then the line teaches only safety); `major`, or
/// NHTSA's `crash`/`fire`/`injured`/`deaths` (a flag set means major; none
/// set says nothing, since most safety complaints carry no flag); `hazard`;
/// `cmplid` and `odino` (checked against the holdout). `weight` multiplies every line.
pub fn parse_training(text: &str, taxonomy: &Taxonomy, weight: f32) -> TrainingSet {
    parse_training_with(text, taxonomy, weight, &is_holdout)
}

/// [`parse_training`] with the holdout test given.
fn parse_training_with(
    text: &str,
    taxonomy: &Taxonomy,
    weight: f32,
    held_out: &dyn Fn(&str) -> bool,
) -> TrainingSet {
    let mut set = TrainingSet::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, taxonomy, weight, held_out) {
            Ok(Some(item)) => set.items.push(item),
            Ok(None) => set.skipped_holdout += 1,
            Err(e) => set.rejected.push(format!("line {}: {e}", i + 1)),
        }
    }
    set
}

/// One line; `Ok(None)` for a holdout complaint.
fn parse_line(
    line: &str,
    taxonomy: &Taxonomy,
    weight: f32,
    held_out: &dyn Fn(&str) -> bool,
) -> Result<Option<TrainingItem>, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    // The list's "complaint number" is the flat file's record id (CMPLID)
    // as far as we can tell; the ODI number is checked too, to be safe.
    let number = |k: &str| match &v[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if ["cmplid", "odino"]
        .iter()
        .filter_map(|k| number(k))
        .any(|n| held_out(&n))
    {
        return Ok(None);
    }
    let text = ["text", "narrative"]
        .iter()
        .find_map(|k| v[*k].as_str().filter(|s| !s.trim().is_empty()))
        .ok_or("no text or narrative")?;
    let text: String = text.chars().take(MAX_TRAINING_CHARS).collect();
    let category = match ["component", "category"]
        .iter()
        .find_map(|k| v[*k].as_str())
    {
        Some(label) => Some(
            taxonomy
                .category_of_label(label)
                .ok_or_else(|| {
                    format!("component {label:?} is not in the taxonomy's label mapping")
                })?
                .to_string(),
        ),
        None => None,
    };
    let hazard = match v["hazard"].as_str() {
        Some(h) => Hazard::parse(h).ok_or_else(|| format!("unknown hazard {h:?}"))?,
        None => None,
    };
    let flagged = v["crash"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("y"))
        || v["fire"]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("y"))
        || ["injured", "deaths"]
            .iter()
            .any(|k| v[*k].as_f64().is_some_and(|n| n > 0.0));
    let major = v["major"]
        .as_bool()
        .or(hazard.map(|_| true))
        .or(flagged.then_some(true));
    if category.is_none() && major.is_none() {
        return Err("teaches nothing: no component and no safety truth".into());
    }
    let line_weight = v["weight"]
        .as_f64()
        .map_or(1.0, |w| w.clamp(0.0, 100.0) as f32);
    Ok(Some(TrainingItem {
        text,
        category,
        major,
        hazard: hazard.filter(|_| major != Some(false)),
        weight: weight * line_weight,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_holdout_list_is_the_shared_one() {
        let shared = std::env::var_os("QLOOP_SHARED_DATA")
            .map_or_else(
                || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
                std::path::PathBuf::from,
            )
            .join("nhtsa/holdout-ids.sha256");
        let Ok(text) = std::fs::read_to_string(&shared) else {
            eprintln!("SKIP: {} not readable", shared.display());
            return;
        };
        assert_eq!(text, HOLDOUT, "models/training/holdout-ids.sha256 is stale");
    }

    #[test]
    fn holdout_complaints_are_skipped_and_counted() {
        // The list holds hashes, not numbers, so the test names its own
        // held-out number; the list's shape is checked here.
        assert!(HOLDOUT
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.len() == 64));
        assert!(!is_holdout("1"));
        let t = Taxonomy::default_taxonomy();
        let lines = "{\"cmplid\": 7, \"narrative\": \"held out\", \"component\": \"ENGINE\"}\n\
                     {\"odino\": \"1\", \"narrative\": \"brakes failed\", \"component\": \"SERVICE BRAKES\", \"crash\": \"Y\"}\n\
                     {\"text\": \"the radio is slow\", \"component\": \"INFOTAINMENT\", \"major\": false}\n\
                     {\"text\": \"pedal sank\", \"hazard\": \"loss_of_braking\"}\n\
                     {\"text\": \"nothing\"}\n";
        let set = parse_training_with(lines, &t, 2.0, &|n| n == "7");
        assert_eq!(set.skipped_holdout, 1);
        assert_eq!(set.items.len(), 3, "{:?}", set.rejected);
        assert_eq!(set.rejected.len(), 1);
        assert_eq!(set.items[0].major, Some(true));
        assert_eq!(set.items[0].category.as_deref(), Some("brakes"));
        assert_eq!(set.items[1].major, Some(false));
        assert_eq!(set.items[1].hazard, None);
        assert_eq!(set.items[2].hazard, Some(Hazard::LossOfBraking));
        assert_eq!(set.items[2].category, None);
        assert_eq!(set.items[2].weight, 2.0);
    }
}
