//! The triage taxonomy (`models/taxonomy.toml`): categories, the department
//! owning each, exemplar phrases, and the mapping from outside labels
//! (NHTSA component groups, qloop labels) to categories.

use std::{collections::BTreeMap, path::Path};

use serde::Deserialize;

use crate::error::ModelError;

/// The taxonomy shipped with qloop.
pub const DEFAULT_TAXONOMY: &str = include_str!("../taxonomy.toml");

/// One category.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Owning department.
    pub department: String,
    /// What it covers.
    pub description: String,
    /// Phrases drivers say about it.
    pub exemplars: Vec<String>,
}

/// The whole taxonomy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Categories by name.
    pub categories: BTreeMap<String, Category>,
    /// Outside label → category name.
    pub labels: BTreeMap<String, String>,
}

impl Taxonomy {
    /// The shipped taxonomy.
    pub fn default_taxonomy() -> Taxonomy {
        Self::from_toml(DEFAULT_TAXONOMY).expect("the shipped taxonomy is valid")
    }

    /// Reads a taxonomy file.
    pub fn load(path: &Path) -> Result<Taxonomy, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text)
    }

    /// Parses and checks: every label maps to a known category, every
    /// category has a department and an exemplar.
    pub fn from_toml(text: &str) -> Result<Taxonomy, ModelError> {
        let t: Taxonomy =
            toml::from_str(text).map_err(|e| ModelError::Data(format!("taxonomy: {e}")))?;
        for (label, cat) in &t.labels {
            if !t.categories.contains_key(cat) {
                return Err(ModelError::Data(format!(
                    "taxonomy: label {label:?} maps to unknown category {cat:?}"
                )));
            }
        }
        for (name, c) in &t.categories {
            if c.department.trim().is_empty() || c.exemplars.is_empty() {
                return Err(ModelError::Data(format!(
                    "taxonomy: category {name:?} needs a department and exemplars"
                )));
            }
        }
        Ok(t)
    }

    /// The category of an outside label: a category name itself, or a
    /// mapped label (NHTSA COMPDESC: the part before the first colon).
    pub fn category_of_label(&self, label: &str) -> Option<&str> {
        let trimmed = label.trim();
        if self.categories.contains_key(trimmed) {
            return Some(self.categories.get_key_value(trimmed).expect("present").0);
        }
        let group = trimmed
            .split(':')
            .next()
            .unwrap_or(trimmed)
            .trim()
            .to_uppercase();
        self.labels.get(&group).map(String::as_str)
    }

    /// The department owning `category`.
    pub fn department(&self, category: &str) -> Option<&str> {
        self.categories.get(category).map(|c| c.department.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_group_in_the_complaint_data_maps_to_a_category() {
        let t = Taxonomy::default_taxonomy();
        for file in ["complaints-dev.jsonl", "complaints-test.jsonl"] {
            // QLOOP_SHARED_DATA as in qloop_protocol::shared_data (not a dependency here).
            let path = std::env::var_os("QLOOP_SHARED_DATA")
                .map_or_else(
                    || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
                    std::path::PathBuf::from,
                )
                .join("nhtsa")
                .join(file);
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let label = v["component"].as_str().unwrap();
                assert!(t.category_of_label(label).is_some(), "{file}: {label}");
            }
        }
        assert_eq!(
            t.category_of_label("SERVICE_EXPERIENCE"),
            Some("service_experience")
        );
        assert_eq!(
            t.category_of_label("AIR BAGS:FRONTAL"),
            Some("airbags_restraints")
        );
        assert_eq!(t.category_of_label("brakes"), Some("brakes"));
        assert_eq!(t.category_of_label("NO SUCH GROUP"), None);
    }

    #[test]
    fn a_label_pointing_nowhere_is_refused() {
        let bad = "[categories.a]\ndepartment = \"X\"\ndescription = \"\"\nexemplars = [\"x\"]\n[labels]\n\"B\" = \"missing\"\n";
        assert!(Taxonomy::from_toml(bad)
            .unwrap_err()
            .to_string()
            .contains("unknown category"));
    }
}
