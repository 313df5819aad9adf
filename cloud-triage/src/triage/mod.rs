//! Triage: every feedback's category, department, severity and confidence,
//! from the local embedding model, the taxonomy, labelled examples and the
//! telemetry.
//!
//! [`Triage`] holds the embedder handle and the classifier; engineers'
//! corrections are added as examples while running (no restart).

use std::sync::{Arc, RwLock};

use qloop_models::{severity, Classifier, ClassifierConfig, Embedder, ModelError, Taxonomy};
use qloop_protocol::{FeedbackEnvelope, TelemetrySnapshot};
use serde::{Deserialize, Serialize};

use crate::store::Store;

/// What triage decided for one feedback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Category, or `needs_human_triage`.
    pub category: String,
    /// Owning department of the category (of the best guess when unsure).
    pub department: Option<String>,
    /// `major` or `minor`.
    pub severity: String,
    /// Why the severity.
    pub severity_reasons: Vec<String>,
    /// Classifier confidence in the best category.
    pub confidence: f64,
    /// The model that decided.
    pub model_version: String,
    /// The text's embedding (linking and search use it; not serialised).
    #[serde(skip)]
    pub vector: Option<Vec<f32>>,
}

/// The triage pipeline.
#[derive(Clone)]
pub struct Triage {
    embedder: Embedder,
    taxonomy: Arc<Taxonomy>,
    classifier: Arc<RwLock<Classifier>>,
}

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triage")
            .field("embedder", &self.embedder)
            .finish_non_exhaustive()
    }
}

impl Triage {
    /// A classifier from the taxonomy's exemplars and `examples` (text, category).
    pub async fn build(
        embedder: Embedder,
        taxonomy: Taxonomy,
        config: ClassifierConfig,
        examples: Vec<(String, String)>,
    ) -> Result<Triage, ModelError> {
        let mut labelled: Vec<(String, String)> = taxonomy
            .categories
            .iter()
            .flat_map(|(name, c)| c.exemplars.iter().map(move |e| (e.clone(), name.clone())))
            .collect();
        labelled.extend(examples);
        let vectors = embedder
            .embed(labelled.iter().map(|(t, _)| t.clone()).collect())
            .await?;
        let mut classifier = Classifier::new(config);
        for ((_, category), v) in labelled.iter().zip(vectors) {
            classifier.add(&taxonomy, category, v)?;
        }
        Ok(Triage {
            embedder,
            taxonomy: Arc::new(taxonomy),
            classifier: Arc::new(RwLock::new(classifier)),
        })
    }

    /// Loads the model and builds the classifier from the store's labelled examples.
    pub async fn load(store: &Store) -> anyhow::Result<Triage> {
        let dir = tokio::task::spawn_blocking(qloop_models::weights::embedding_model_dir).await??;
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&dir)).await??;
        let examples = store.labelled_examples().await?;
        Ok(Self::build(
            embedder,
            Taxonomy::default_taxonomy(),
            ClassifierConfig::default(),
            examples,
        )
        .await?)
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The embedder in use.
    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Labelled examples held.
    pub fn examples(&self) -> usize {
        self.classifier
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Assesses one feedback from its words and telemetry.
    pub async fn assess(&self, env: &FeedbackEnvelope) -> Result<Assessment, ModelError> {
        self.assess_words(env.transcript().unwrap_or_default(), &env.telemetry)
            .await
    }

    /// Assesses words (possibly none) with the telemetry they came with.
    pub async fn assess_words(
        &self,
        text: &str,
        telemetry: &TelemetrySnapshot,
    ) -> Result<Assessment, ModelError> {
        let text = text.to_string();
        let vector = if text.trim().is_empty() {
            None
        } else {
            self.embedder.embed(vec![text.clone()]).await?.pop()
        };
        let prediction = vector.as_ref().map(|v| {
            self.classifier
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .predict(v)
        });
        // The one test of an active signal, shared with the case review.
        let evidence = crate::domain::fleet::severity_review::telemetry_evidence(telemetry);
        let sev = severity::assess(&text, &evidence);
        let (category, best, confidence) = match prediction {
            Some(p) => (p.category, p.best, f64::from(p.confidence)),
            None => (
                qloop_models::NEEDS_HUMAN_TRIAGE.to_string(),
                String::new(),
                0.0,
            ),
        };
        Ok(Assessment {
            department: self.taxonomy.department(&best).map(str::to_string),
            category,
            severity: sev.level,
            severity_reasons: sev.reasons,
            confidence,
            model_version: self.embedder.model_version().to_string(),
            vector,
        })
    }

    /// Classifies an embedding with the current examples.
    pub fn predict(&self, vector: &[f32]) -> qloop_models::Prediction {
        self.classifier
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .predict(vector)
    }

    /// Learns that `text` belongs to `category` (an engineer's correction).
    pub async fn learn(&self, text: &str, category: &str) -> Result<(), ModelError> {
        let v = self
            .embedder
            .embed(vec![text.to_string()])
            .await?
            .pop()
            .ok_or(ModelError::Stopped)?;
        self.classifier
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(&self.taxonomy, category, v)
    }
}
