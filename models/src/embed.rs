//! Sentence embeddings with all-MiniLM-L6-v2 on candle: BERT, mean pooling
//! over the attention mask, L2-normalised, 384 dimensions.
//!
//! The model runs on its own OS thread fed by a channel (STYLE rule 4); the
//! [`Embedder`] handle is cheap to clone and usable from async code.
//!
//! Two measured facts shape the batching: the shipped `tokenizer.json` pads
//! and truncates every text to a fixed 128 tokens, so padding is replaced by
//! longest-in-batch and truncation set to the model's 256; and texts are
//! sorted by length before batching, so short texts are not padded to the
//! longest of a random batch. Requests that queue up while the thread is busy
//! are run together (see [`COALESCE_MAX_TEXTS`]): concurrent callers with one
//! text each get batched forward passes instead of a queue of batch-1 runs.

use std::{
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::ModelError;

/// Length of every embedding.
pub const EMBEDDING_DIM: usize = 384;
/// Longest input in tokens (sentence-transformers' `max_seq_length`).
pub const MAX_TOKENS: usize = 256;
/// Texts per forward pass.
pub const BATCH: usize = 32;

/// Most texts the embedding thread takes from queued requests into one run.
pub const COALESCE_MAX_TEXTS: usize = 256;

type Outcome = Result<Vec<Vec<f32>>, ModelError>;

enum Reply {
    Blocking(mpsc::Sender<Outcome>),
    Async(tokio::sync::oneshot::Sender<Outcome>),
}

struct Job {
    texts: Vec<String>,
    reply: Reply,
}

impl Job {
    fn answer(self, outcome: Outcome) {
        // The caller may have gone away (a dropped future); nothing to tell it.
        let _ = match self.reply {
            Reply::Blocking(tx) => tx.send(outcome).map_err(|_| ()),
            Reply::Async(tx) => tx.send(outcome).map_err(|_| ()),
        };
    }
}

/// Takes `first` and whatever requests are already queued behind it, up to
/// `max_texts` texts, so concurrent callers (ingest handlers embedding one
/// transcript each) share forward passes instead of queueing batch-1 runs.
/// Never waits for more work.
fn coalesce(first: Job, rx: &mpsc::Receiver<Job>, max_texts: usize) -> Vec<Job> {
    let mut texts = first.texts.len();
    let mut jobs = vec![first];
    while texts < max_texts {
        match rx.try_recv() {
            Ok(job) => {
                texts += job.texts.len();
                jobs.push(job);
            }
            Err(_) => break,
        }
    }
    jobs
}

/// Runs queued requests together; a failing combined run is retried request
/// by request so one bad request cannot fail the others.
fn run_jobs(model: &Model, mut jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let job = jobs.remove(0);
        let outcome = model.embed(&job.texts);
        job.answer(outcome);
        return;
    }
    let all: Vec<String> = jobs.iter().flat_map(|j| j.texts.iter().cloned()).collect();
    match model.embed(&all) {
        Ok(vectors) => {
            let mut vectors = vectors.into_iter();
            for job in jobs {
                let mine: Vec<Vec<f32>> = vectors.by_ref().take(job.texts.len()).collect();
                job.answer(Ok(mine));
            }
        }
        Err(_) => {
            for job in jobs {
                let outcome = model.embed(&job.texts);
                job.answer(outcome);
            }
        }
    }
}

/// A handle to the embedding thread.
#[derive(Clone)]
pub struct Embedder {
    jobs: mpsc::Sender<Job>,
    version: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("version", &self.version)
            .finish()
    }
}

impl Embedder {
    /// Loads the model in `dir` (an HF-style folder: `config.json`,
    /// `tokenizer.json`, `model.safetensors`) and starts its thread.
    pub fn load(dir: &Path) -> Result<Embedder, ModelError> {
        let model = Model::load(dir)?;
        let version = format!(
            "all-MiniLM-L6-v2@{}",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let (jobs, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("embedder".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    run_jobs(&model, coalesce(first, &rx, COALESCE_MAX_TEXTS));
                }
            })
            .map_err(|e| ModelError::Data(format!("starting the embedding thread: {e}")))?;
        Ok(Embedder { jobs, version })
    }

    /// Embeds `texts` (one vector each, same order) without blocking the runtime.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job {
                texts,
                reply: Reply::Async(tx),
            })
            .map_err(|_| ModelError::Stopped)?;
        rx.await.map_err(|_| ModelError::Stopped)?
    }

    /// Embeds `texts`, blocking the calling thread (CLI tools, benchmarks).
    pub fn embed_blocking(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Job {
                texts,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| ModelError::Stopped)?;
        rx.recv().map_err(|_| ModelError::Stopped)?
    }

    /// Names the model and weights, stored on every case it triages.
    pub fn model_version(&self) -> &str {
        &self.version
    }
}

/// Which implementation runs the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// qloop's own encoder ([`crate::bert`]): unpadded, fused; the default.
    Packed,
    /// candle-transformers' `BertModel` on padded batches; kept to measure
    /// against (`examples/bench_embed.rs`).
    Candle,
}

enum Engine {
    Packed(crate::bert::Encoder),
    Candle(BertModel),
}

/// The model itself; lives on the embedding thread.
pub struct Model {
    engine: Engine,
    tokenizer: Tokenizer,
    device: Device,
    /// Sort each call's texts by length before batching.
    pub sort_by_length: bool,
}

fn file(dir: &Path, name: &str) -> Result<PathBuf, ModelError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::File {
            path,
            reason: "missing (run models/fetch.sh or set QLOOP_EMBEDDING_MODEL)".into(),
        })
    }
}

impl Model {
    /// Loads config, tokenizer and weights from `dir`.
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        Model::load_with(dir, EngineKind::Packed)
    }

    /// Loads with the given encoder implementation.
    pub fn load_with(dir: &Path, kind: EngineKind) -> Result<Model, ModelError> {
        let config_path = file(dir, "config.json")?;
        let config: Config =
            serde_json::from_str(&std::fs::read_to_string(&config_path).map_err(|e| {
                ModelError::File {
                    path: config_path.clone(),
                    reason: e.to_string(),
                }
            })?)
            .map_err(|e| ModelError::File {
                path: config_path,
                reason: e.to_string(),
            })?;
        let tok_path = file(dir, "tokenizer.json")?;
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| ModelError::File {
            path: tok_path,
            reason: e.to_string(),
        })?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(config.max_position_embeddings),
                ..TruncationParams::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let weights = file(dir, "model.safetensors")?;
        let device = Device::Cpu;
        let engine = match kind {
            EngineKind::Packed => {
                Engine::Packed(crate::bert::Encoder::from_safetensors(&weights, &config)?)
            }
            EngineKind::Candle => {
                // SAFETY: the weights file is memory-mapped read-only; qloop never
                // writes it while running (models/fetch.sh replaces the folder atomically).
                let vb = unsafe {
                    VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &device)?
                };
                Engine::Candle(BertModel::load(vb, &config)?)
            }
        };
        Ok(Model {
            engine,
            tokenizer,
            device,
            sort_by_length: true,
        })
    }

    /// One normalised vector per text, in input order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        if self.sort_by_length {
            order.sort_by_key(|&i| texts[i].len());
        }
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            for (slot, v) in chunk.iter().zip(self.embed_batch(&batch)?) {
                out[*slot] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let bert = match &self.engine {
            Engine::Packed(encoder) => {
                // Padding stripped: the encoder packs the real tokens.
                let seqs: Vec<(&[u32], &[u32])> = encodings
                    .iter()
                    .map(|e| {
                        let n = e.get_attention_mask().iter().filter(|&&m| m != 0).count();
                        (&e.get_ids()[..n], &e.get_type_ids()[..n])
                    })
                    .collect();
                return encoder.embed(&seqs);
            }
            Engine::Candle(bert) => bert,
        };
        let rows = encodings.len();
        let cols = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings
                .iter()
                .flat_map(|e| f(e).iter().copied())
                .collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, cols), &self.device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, cols), &self.device)?;
        let mask = Tensor::from_vec(
            flat(&|e| e.get_attention_mask()),
            (rows, cols),
            &self.device,
        )?;
        let hidden = bert.forward(&ids, &types, Some(&mask))?; // (rows, cols, 384)
        let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, cols, 1)
        let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?; // (rows, 384)
        let counts = mask_f.sum(1)?.clamp(1e-9, f64::MAX)?; // (rows, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        let normalised = mean.broadcast_div(&norm)?;
        Ok(normalised.to_vec2::<f32>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: usize) -> (Job, mpsc::Receiver<Outcome>) {
        let (tx, rx) = mpsc::channel();
        let texts = (0..n).map(|i| format!("text {i}")).collect();
        (
            Job {
                texts,
                reply: Reply::Blocking(tx),
            },
            rx,
        )
    }

    /// Queued requests join the running one until the text budget is spent;
    /// the rest stay queued, in order, for the next run.
    #[test]
    fn queued_requests_join_one_run_up_to_the_text_budget() {
        let (tx, rx) = mpsc::channel();
        let mut replies = Vec::new();
        for n in [1, 1, 3, 1, 1] {
            let (j, r) = job(n);
            tx.send(j).unwrap();
            replies.push(r);
        }
        let (first, _r) = job(1);
        let run = coalesce(first, &rx, 4);
        let sizes: Vec<usize> = run.iter().map(|j| j.texts.len()).collect();
        assert_eq!(sizes, vec![1, 1, 1, 3], "stops once 4 texts are taken");
        let next = coalesce(rx.recv().unwrap(), &rx, 4);
        assert_eq!(
            next.iter().map(|j| j.texts.len()).collect::<Vec<_>>(),
            vec![1, 1]
        );
    }

    /// With nothing queued, a request runs alone at once.
    #[test]
    fn a_lone_request_is_not_held_back() {
        let (_tx, rx) = mpsc::channel::<Job>();
        let (first, _r) = job(2);
        assert_eq!(coalesce(first, &rx, COALESCE_MAX_TEXTS).len(), 1);
    }
}
