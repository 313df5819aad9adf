//! Category classification: k-nearest neighbours over labelled examples'
//! embeddings (the taxonomy's exemplars, labelled complaints, engineers'
//! corrections). A correction is one more example, so triage improves at
//! once, without retraining or a restart.
//!
//! Confidence is the similarity-weighted vote share of the winning category
//! among the k neighbours; below the threshold a case stays
//! `needs_human_triage`. Chosen over a trained head because examples can be
//! added live and the evaluation (`cloud-triage eval`) showed kNN on these
//! embeddings at least as accurate on the held-out complaints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{error::ModelError, taxonomy::Taxonomy};

/// Category of a case whose best guess is below the confidence threshold.
pub const NEEDS_HUMAN_TRIAGE: &str = "needs_human_triage";

/// Cosine similarity at which a labelled example decides alone.
pub const NEAR_DUPLICATE: f32 = 0.95;

/// Classifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Neighbours that vote.
    pub k: usize,
    /// Least confidence for an automatic category.
    pub min_confidence: f32,
    /// Sharpening of similarity weights (`sim^power`).
    pub power: f32,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            k: 15,
            min_confidence: 0.45,
            power: 4.0,
        }
    }
}

/// One labelled example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Its category.
    pub category: String,
    /// Its normalised embedding.
    pub vector: Vec<f32>,
}

/// A classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The category, or `needs_human_triage` below the threshold.
    pub category: String,
    /// The best category even when below the threshold.
    pub best: String,
    /// Vote share of `best`, 0..=1.
    pub confidence: f32,
}

/// The kNN classifier.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    config: ClassifierConfig,
    examples: Vec<Example>,
}

impl Classifier {
    /// An empty classifier.
    pub fn new(config: ClassifierConfig) -> Self {
        Self {
            config,
            examples: Vec::new(),
        }
    }

    /// Settings in force.
    pub fn config(&self) -> ClassifierConfig {
        self.config
    }

    /// Examples held.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// True without examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Adds a labelled example (the category must be in `taxonomy`).
    pub fn add(
        &mut self,
        taxonomy: &Taxonomy,
        category: &str,
        vector: Vec<f32>,
    ) -> Result<(), ModelError> {
        if !taxonomy.categories.contains_key(category) {
            return Err(ModelError::Data(format!("unknown category {category:?}")));
        }
        self.examples.push(Example {
            category: category.to_string(),
            vector,
        });
        Ok(())
    }

    /// Classifies a normalised embedding.
    pub fn predict(&self, vector: &[f32]) -> Prediction {
        let votes = self.votes(vector);
        let (best, confidence) = votes
            .shares
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map_or((NEEDS_HUMAN_TRIAGE.to_string(), 0.0), |(c, s)| {
                (c.clone(), *s)
            });
        let sure = votes.near_duplicate.is_some() || confidence >= self.config.min_confidence;
        Prediction {
            category: if sure && best != NEEDS_HUMAN_TRIAGE {
                best.clone()
            } else {
                NEEDS_HUMAN_TRIAGE.into()
            },
            best,
            confidence,
        }
    }

    /// The neighbours' vote: each category's similarity-weighted share
    /// among the k nearest examples, or the one category of a
    /// near-duplicate (share 1, confidence its similarity).
    pub fn votes(&self, vector: &[f32]) -> Votes {
        let mut sims: Vec<(f32, &str)> = self
            .examples
            .iter()
            .map(|e| (dot(&e.vector, vector), e.category.as_str()))
            .collect();
        let k = self.config.k.max(1).min(sims.len());
        if k == 0 {
            return Votes::default();
        }
        sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        // A near-duplicate of a labelled example (the same complaint again,
        // or one an engineer just corrected) takes that example's category.
        if let Some((sim, cat)) = sims[..k].iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
            if *sim >= NEAR_DUPLICATE {
                return Votes {
                    shares: vec![(cat.to_string(), *sim)],
                    near_duplicate: Some(cat.to_string()),
                };
            }
        }
        let mut votes: BTreeMap<&str, f32> = BTreeMap::new();
        let mut total = 0.0;
        for (sim, cat) in &sims[..k] {
            let w = sim.max(0.0).powf(self.config.power);
            *votes.entry(cat).or_default() += w;
            total += w;
        }
        Votes {
            shares: votes
                .into_iter()
                .map(|(c, w)| (c.to_string(), if total > 0.0 { w / total } else { 0.0 }))
                .collect(),
            near_duplicate: None,
        }
    }
}

/// The k nearest examples' vote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Votes {
    /// Categories with their share of the vote (sums to 1 unless empty).
    pub shares: Vec<(String, f32)>,
    /// The category of a near-duplicate example, which decides alone.
    pub near_duplicate: Option<String>,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_vote_and_a_correction_changes_the_next_answer() {
        let t = Taxonomy::default_taxonomy();
        let mut c = Classifier::new(ClassifierConfig {
            k: 3,
            min_confidence: 0.7,
            power: 1.0,
        });
        c.add(&t, "brakes", vec![1.0, 0.0]).unwrap();
        c.add(&t, "brakes", vec![0.9, 0.1]).unwrap();
        c.add(&t, "hvac", vec![0.0, 1.0]).unwrap();
        let p = c.predict(&[0.95, 0.05]);
        assert_eq!(p.category, "brakes");
        assert!(p.confidence > 0.9);
        let unsure = c.predict(&[0.7, 0.7]);
        assert_eq!(unsure.category, NEEDS_HUMAN_TRIAGE, "{unsure:?}");
        c.add(&t, "hvac", vec![0.7, 0.7]).unwrap();
        c.add(&t, "hvac", vec![0.71, 0.69]).unwrap();
        assert_eq!(
            c.predict(&[0.7, 0.7]).category,
            "hvac",
            "corrections count at once"
        );
        assert!(c.add(&t, "no_such", vec![1.0, 0.0]).is_err());
    }
}
