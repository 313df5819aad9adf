//! The trained triage heads together: category, major/not-major and hazard,
//! trained from one set of embedded [`TrainingItem`]s, and what they say of
//! one embedding.

use serde::{Deserialize, Serialize};

use crate::{
    error::ModelError,
    hazard::{Hazard, HazardCall},
    head::{HeadConfig, LinearHead, Sample},
    taxonomy::Taxonomy,
    training::TrainingItem,
};

/// Probability of a safety complaint at which the learned head calls it
/// major. Chosen for recall first on `fixtures/triage/in-car-tune.jsonl`
/// (`cloud-triage eval --predictions`, swept): the highest threshold that
/// still caught every safety complaint there (0.25: recall 1.000 at
/// precision 0.762; 0.35 missed one, "the pedal goes hard as a rock").
pub const DEFAULT_MAJOR_THRESHOLD: f32 = 0.25;

/// The three heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageHeads {
    category: LinearHead,
    /// `None` until the training data has safety complaints and others.
    major: Option<LinearHead>,
    /// `None` until some training example names a hazard.
    hazard: Option<LinearHead>,
    major_threshold: f32,
    counts: TrainingCounts,
}

/// What the heads trained on, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingCounts {
    /// Examples with a category.
    pub category: usize,
    /// Examples with a safety truth.
    pub major: usize,
    /// Examples naming a hazard.
    pub hazard: usize,
}

impl TriageHeads {
    /// Trains the heads on `items` and their embeddings (same order).
    pub fn train(
        taxonomy: &Taxonomy,
        items: &[TrainingItem],
        vectors: &[Vec<f32>],
        major_threshold: f32,
    ) -> Result<TriageHeads, ModelError> {
        if items.len() != vectors.len() {
            return Err(ModelError::Data(format!(
                "{} training items but {} embeddings",
                items.len(),
                vectors.len()
            )));
        }
        let categories: Vec<String> = taxonomy.categories.keys().cloned().collect();
        let pairs = || items.iter().zip(vectors);
        let cat: Vec<Sample<'_>> = pairs()
            .filter_map(|(it, v)| {
                let c = categories
                    .iter()
                    .position(|c| Some(c) == it.category.as_ref())?;
                Some(Sample {
                    x: v,
                    class: c,
                    weight: it.weight,
                })
            })
            .collect();
        let maj: Vec<Sample<'_>> = pairs()
            .filter_map(|(it, v)| {
                it.major.map(|m| Sample {
                    x: v,
                    class: usize::from(m),
                    weight: it.weight,
                })
            })
            .collect();
        let haz: Vec<Sample<'_>> = pairs()
            .filter_map(|(it, v)| {
                let h = it.hazard?;
                let class = Hazard::ALL.iter().position(|x| *x == h)?;
                Some(Sample {
                    x: v,
                    class,
                    weight: it.weight,
                })
            })
            .collect();
        let counts = TrainingCounts {
            category: cat.len(),
            major: maj.len(),
            hazard: haz.len(),
        };
        let config = HeadConfig::default();
        let heads = TriageHeads {
            category: LinearHead::train(categories, &cat, config)?,
            major: if maj.iter().any(|s| s.class == 0) && maj.iter().any(|s| s.class == 1) {
                Some(LinearHead::train(
                    vec!["no".into(), "yes".into()],
                    &maj,
                    config,
                )?)
            } else {
                None
            },
            hazard: if haz.is_empty() {
                None
            } else {
                Some(LinearHead::train(
                    Hazard::ALL.iter().map(|h| h.name().to_string()).collect(),
                    &haz,
                    config,
                )?)
            },
            major_threshold,
            counts,
        };
        Ok(heads)
    }

    /// Category probabilities, in the taxonomy's category order.
    pub fn category(&self, vector: &[f32]) -> Vec<(String, f32)> {
        self.category
            .classes()
            .iter()
            .cloned()
            .zip(self.category.probabilities(vector))
            .collect()
    }

    /// The learned safety call (never major without a trained major head).
    pub fn hazard(&self, vector: &[f32]) -> HazardCall {
        let p_major = self
            .major
            .as_ref()
            .map_or(0.0, |h| h.probabilities(vector)[1]);
        let hp = self
            .hazard
            .as_ref()
            .map_or_else(Vec::new, |h| h.probabilities(vector));
        let (i, p_hazard) = hp
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((Hazard::ALL.len() - 1, 0.0));
        HazardCall {
            p_major,
            major: self.major.is_some() && p_major >= self.major_threshold,
            hazard: Hazard::ALL[i.min(Hazard::ALL.len() - 1)],
            p_hazard,
        }
    }

    /// True when every head's shapes agree (a cached copy is checked).
    pub fn is_consistent(&self) -> bool {
        self.category.is_consistent()
            && self
                .major
                .as_ref()
                .is_none_or(|h| h.is_consistent() && h.classes().len() == 2)
            && self
                .hazard
                .as_ref()
                .is_none_or(|h| h.is_consistent() && h.classes().len() == Hazard::ALL.len())
    }

    /// What each head trained on.
    pub fn counts(&self) -> TrainingCounts {
        self.counts
    }

    /// The threshold in force.
    pub fn major_threshold(&self) -> f32 {
        self.major_threshold
    }

    /// Sets the threshold (`eval --major-threshold`).
    pub fn set_major_threshold(&mut self, t: f32) {
        self.major_threshold = t;
    }
}
