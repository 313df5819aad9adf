//! Triage: every feedback's category, department, severity and confidence,
//! from the local embedding model, the taxonomy, labelled examples and the
//! telemetry.
//!
//! [`Triage`] holds the embedder handle and the classifier; engineers'
//! corrections are added as examples while running (no restart).

pub mod judge;

use std::sync::{Arc, Mutex, RwLock};

use qloop_models::{
    corpus::{self, Trained},
    severity::TelemetryEvidence,
    trained::DEFAULT_MAJOR_THRESHOLD,
    training::{TrainingItem, TrainingSet},
    Classifier, ClassifierConfig, Embedder, ModelError, Taxonomy, TriageHeads,
};
use qloop_protocol::{FeedbackEnvelope, TelemetrySnapshot};
use serde::{Deserialize, Serialize};

pub use judge::{JudgeSettings, Judgement};

use crate::store::Store;

/// Weight of an engineer's correction or a stored labelled example.
const CORRECTION_WEIGHT: f32 = 3.0;

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
    /// The hazard of a major feedback (`loss_of_braking`, ...), else `None`.
    #[serde(default)]
    pub hazard: Option<String>,
    /// Classifier confidence in the best category.
    pub confidence: f64,
    /// The model that decided.
    pub model_version: String,
    /// The text's embedding (linking and search use it; not serialised).
    #[serde(skip)]
    pub vector: Option<Vec<f32>>,
}

/// The training set and the heads trained on it; corrections are added
/// and the heads retrained in the background.
#[derive(Debug, Default)]
struct Learned {
    items: Vec<TrainingItem>,
    vectors: Vec<Vec<f32>>,
    heads: Option<Arc<TriageHeads>>,
    /// Bumped by every addition; a retrain that finishes on an older
    /// generation runs again.
    generation: u64,
    retraining: bool,
}

/// The triage pipeline.
#[derive(Clone)]
pub struct Triage {
    embedder: Embedder,
    taxonomy: Arc<Taxonomy>,
    classifier: Arc<RwLock<Classifier>>,
    learned: Arc<Mutex<Learned>>,
    settings: JudgeSettings,
    major_threshold: f32,
}

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triage")
            .field("embedder", &self.embedder)
            .finish_non_exhaustive()
    }
}

/// How to build a [`Triage`].
#[derive(Debug, Clone)]
pub struct TriageOptions {
    /// The neighbours' settings.
    pub knn: ClassifierConfig,
    /// How the parts are combined.
    pub judge: JudgeSettings,
    /// Learned major threshold.
    pub major_threshold: f32,
    /// Where trained embeddings and heads are cached (`None`: not cached).
    pub cache_dir: Option<std::path::PathBuf>,
}

impl Default for TriageOptions {
    fn default() -> Self {
        Self {
            knn: ClassifierConfig::default(),
            judge: JudgeSettings::default(),
            major_threshold: DEFAULT_MAJOR_THRESHOLD,
            cache_dir: None,
        }
    }
}

impl Triage {
    /// Triage from the taxonomy's exemplars and `examples` (text, category)
    /// alone, without the default corpus (tests, small tools).
    pub async fn build(
        embedder: Embedder,
        taxonomy: Taxonomy,
        config: ClassifierConfig,
        examples: Vec<(String, String)>,
    ) -> Result<Triage, ModelError> {
        let mut set = corpus::exemplars(&taxonomy);
        set.items
            .extend(examples.into_iter().map(|(text, c)| correction(text, c)));
        let options = TriageOptions {
            knn: config,
            ..TriageOptions::default()
        };
        Self::build_with(embedder, taxonomy, set, options).await
    }

    /// Triage trained on `set`: the kNN holds every categorised item, the
    /// heads learn from all of them.
    pub async fn build_with(
        embedder: Embedder,
        taxonomy: Taxonomy,
        set: TrainingSet,
        options: TriageOptions,
    ) -> Result<Triage, ModelError> {
        let items = set.items;
        let (emb, tax) = (embedder.clone(), taxonomy.clone());
        let cache = options.cache_dir.clone();
        let threshold = options.major_threshold;
        let (items, trained) = tokio::task::spawn_blocking(move || {
            let t = corpus::train_corpus(&emb, &tax, &items, cache.as_deref(), threshold);
            (items, t)
        })
        .await
        .map_err(|e| ModelError::Data(format!("training thread: {e}")))?;
        let (vectors, heads) = match trained {
            Ok(Trained { vectors, heads }) => (vectors, Some(Arc::new(heads))),
            Err(ModelError::Data(why)) => {
                tracing::warn!(%why, "no trained heads: triage uses the neighbours and the phrase rules");
                (
                    embedder
                        .embed(items.iter().map(|i| i.text.clone()).collect())
                        .await?,
                    None,
                )
            }
            Err(e) => return Err(e),
        };
        let mut classifier = Classifier::new(options.knn);
        for (item, v) in items.iter().zip(&vectors) {
            if let Some(c) = &item.category {
                classifier.add(&taxonomy, c, v.clone())?;
            }
        }
        Ok(Triage {
            embedder,
            taxonomy: Arc::new(taxonomy),
            classifier: Arc::new(RwLock::new(classifier)),
            learned: Arc::new(Mutex::new(Learned {
                items,
                vectors,
                heads,
                ..Learned::default()
            })),
            settings: options.judge,
            major_threshold: options.major_threshold,
        })
    }

    /// The service's default triage: the model, the default corpus
    /// (`models/training/` or `$QLOOP_TRAINING_DIR`) and the store's
    /// labelled examples and corrections.
    pub async fn load(store: &Store) -> anyhow::Result<Triage> {
        let dir = tokio::task::spawn_blocking(qloop_models::weights::embedding_model_dir).await??;
        let cache_dir = corpus::cache_dir(&dir);
        let embedder = tokio::task::spawn_blocking(move || Embedder::load(&dir)).await??;
        let taxonomy = Taxonomy::default_taxonomy();
        let set = default_training(&taxonomy, store.labelled_examples().await?)?;
        let options = TriageOptions {
            cache_dir: Some(cache_dir),
            ..TriageOptions::default()
        };
        Ok(Self::build_with(embedder, taxonomy, set, options).await?)
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

    /// Examples the category head was last trained on (grows after a
    /// correction once the background retrain has finished); 0 without heads.
    pub fn head_examples(&self) -> usize {
        let l = self.learned.lock().unwrap_or_else(|p| p.into_inner());
        l.heads.as_ref().map_or(0, |h| h.counts().category)
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
        let vector = if text.trim().is_empty() {
            None
        } else {
            self.embedder.embed(vec![text.to_string()]).await?.pop()
        };
        // The one test of an active signal, shared with the case review.
        let evidence = crate::domain::fleet::severity_review::telemetry_evidence(telemetry);
        let j = self.judge(text, vector.as_deref(), &evidence);
        Ok(Assessment {
            department: self.taxonomy.department(&j.best).map(str::to_string),
            category: j.category,
            severity: if j.major {
                qloop_models::severity::MAJOR
            } else {
                qloop_models::severity::MINOR
            }
            .to_string(),
            severity_reasons: j.reasons,
            hazard: j.hazard.map(|h| h.name().to_string()),
            confidence: f64::from(j.confidence),
            model_version: self.embedder.model_version().to_string(),
            vector,
        })
    }

    /// Judges a text from its embedding with the current models.
    pub fn judge(
        &self,
        text: &str,
        vector: Option<&[f32]>,
        evidence: &TelemetryEvidence<'_>,
    ) -> Judgement {
        let votes = vector.map(|v| {
            self.classifier
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .votes(v)
        });
        let heads = self
            .learned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .heads
            .clone();
        judge::judge(
            text,
            vector,
            votes.unwrap_or_default(),
            heads.as_deref(),
            evidence,
            self.settings,
        )
    }

    /// Learns that `text` belongs to `category` (an engineer's correction):
    /// the neighbours know it at once, the heads after a background retrain.
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
            .add(&self.taxonomy, category, v.clone())?;
        let start = {
            let mut l = self.learned.lock().unwrap_or_else(|p| p.into_inner());
            l.items
                .push(correction(text.to_string(), category.to_string()));
            l.vectors.push(v);
            l.generation += 1;
            !std::mem::replace(&mut l.retraining, true)
        };
        if start {
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.retrain());
        }
        Ok(())
    }

    /// Retrains the heads until no correction arrived meanwhile.
    fn retrain(&self) {
        loop {
            let (items, vectors, generation) = {
                let l = self.learned.lock().unwrap_or_else(|p| p.into_inner());
                (l.items.clone(), l.vectors.clone(), l.generation)
            };
            let trained =
                TriageHeads::train(&self.taxonomy, &items, &vectors, self.major_threshold);
            let mut l = self.learned.lock().unwrap_or_else(|p| p.into_inner());
            match trained {
                Ok(h) => l.heads = Some(Arc::new(h)),
                Err(e) => tracing::warn!(error = %e, "retraining the triage heads failed"),
            }
            if l.generation == generation {
                l.retraining = false;
                return;
            }
        }
    }
}

/// A stored labelled example or correction as a training item.
fn correction(text: String, category: String) -> TrainingItem {
    TrainingItem {
        text,
        category: Some(category),
        major: None,
        hazard: None,
        weight: CORRECTION_WEIGHT,
    }
}

/// The default corpus and the store's labelled examples, with what was
/// skipped logged.
pub fn default_training(
    taxonomy: &Taxonomy,
    stored: Vec<(String, String)>,
) -> Result<TrainingSet, ModelError> {
    let dir = corpus::training_dir();
    let mut set = corpus::load_corpus(&dir, taxonomy)?;
    for r in set.rejected.iter().take(5) {
        tracing::warn!(line = %r, "training line skipped");
    }
    tracing::info!(
        dir = %dir.display(),
        items = set.items.len(),
        skipped_holdout = set.skipped_holdout,
        rejected = set.rejected.len(),
        "training corpus"
    );
    set.items
        .extend(stored.into_iter().map(|(t, c)| correction(t, c)));
    Ok(set)
}
