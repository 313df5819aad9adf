//! The default training corpus (the files in `models/training/`, or
//! `$QLOOP_TRAINING_DIR`) and its embeddings, cached on disk beside the
//! model: embedding a few thousand texts costs a minute on two cores, and
//! the service, `eval` and the tests all start from the same corpus.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{
    error::ModelError,
    head::HeadConfig,
    taxonomy::Taxonomy,
    trained::TriageHeads,
    training::{parse_training, TrainingItem, TrainingSet},
    Embedder,
};

/// Environment variable naming another training folder.
pub const TRAINING_ENV: &str = "QLOOP_TRAINING_DIR";

/// How much each file's lines count, by the start of its name. Driver
/// sentences are how the service is spoken to, so they weigh most; the
/// taxonomy's exemplars next. A file matching none counts 1.
const FILE_WEIGHTS: &[(&str, f32)] = &[
    ("driver-sentences", 3.0),
    ("recall-hazards", 1.0),
    ("nhtsa-complaints", 1.0),
];

/// Weight of a taxonomy exemplar.
const EXEMPLAR_WEIGHT: f32 = 2.0;

/// The training folder: `$QLOOP_TRAINING_DIR`, else this crate's `training/`.
pub fn training_dir() -> PathBuf {
    std::env::var_os(TRAINING_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("training"),
        PathBuf::from,
    )
}

/// Every `*.jsonl` in `dir` (sorted by name) and the taxonomy's exemplars.
/// A missing folder gives the exemplars alone, with a warning.
pub fn load_corpus(dir: &Path, taxonomy: &Taxonomy) -> Result<TrainingSet, ModelError> {
    let mut set = exemplars(taxonomy);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "no training folder: the heads learn from the taxonomy's exemplars only");
            return Ok(set);
        }
    };
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let weight = FILE_WEIGHTS
            .iter()
            .find(|(f, _)| name.as_deref().is_some_and(|n| n.starts_with(f)))
            .map_or(1.0, |(_, w)| *w);
        let mut part = parse_training(&text, taxonomy, weight);
        let shown = path.display().to_string();
        part.rejected
            .iter_mut()
            .for_each(|r| *r = format!("{shown}: {r}"));
        set.extend(part);
    }
    Ok(set)
}

/// Bumped whenever training changes, so cached heads are not reused.
const HEADS_VERSION: &str = "qloop-heads-2";

/// A trained corpus: its embeddings (same order as the items) and heads.
#[derive(Debug, Clone)]
pub struct Trained {
    /// One embedding per training item.
    pub vectors: Vec<Vec<f32>>,
    /// The heads trained on them.
    pub heads: TriageHeads,
}

/// The taxonomy's exemplars as training items.
pub fn exemplars(taxonomy: &Taxonomy) -> TrainingSet {
    let mut set = TrainingSet::default();
    for (name, c) in &taxonomy.categories {
        set.items.extend(c.exemplars.iter().map(|e| TrainingItem {
            text: e.clone(),
            category: Some(name.clone()),
            major: None,
            hazard: None,
            weight: EXEMPLAR_WEIGHT,
        }));
    }
    set
}

/// Embeds `items` and trains the heads, reusing what `cache_dir` holds from
/// a run on the same texts, labels and model. Blocking (call it from a
/// blocking thread); concurrent processes wait for the first to fill the
/// cache instead of all computing it.
pub fn train_corpus(
    embedder: &Embedder,
    taxonomy: &Taxonomy,
    items: &[TrainingItem],
    cache_dir: Option<&Path>,
    major_threshold: f32,
) -> Result<Trained, ModelError> {
    let texts: Vec<String> = items.iter().map(|i| i.text.clone()).collect();
    let Some(dir) = cache_dir else {
        let vectors = embedder.embed_blocking(texts)?;
        let heads = TriageHeads::train(taxonomy, items, &vectors, major_threshold)?;
        return Ok(Trained { vectors, heads });
    };
    let _lock = lock(dir);
    let text_key = digest(embedder.model_version(), texts.iter().map(String::as_str));
    let vector_path = dir.join(format!("{text_key}.f32"));
    let vectors = match read_cache(&vector_path, texts.len()) {
        Some(v) => v,
        None => {
            let v = embedder.embed_blocking(texts)?;
            if let Err(e) = write_cache(&vector_path, &v) {
                tracing::warn!(path = %vector_path.display(), error = %e, "training embeddings not cached");
            }
            v
        }
    };
    let labels: Vec<String> = items
        .iter()
        .map(|i| format!("{:?}|{:?}|{:?}|{}", i.category, i.major, i.hazard, i.weight))
        .chain(std::iter::once(format!("{:?}", HeadConfig::default())))
        .collect();
    let head_key = digest(
        &format!("{HEADS_VERSION}/{text_key}"),
        labels.iter().map(String::as_str),
    );
    let head_path = dir.join(format!("{head_key}.heads.json"));
    let cached = std::fs::read(&head_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<TriageHeads>(&b).ok())
        .filter(TriageHeads::is_consistent);
    let mut heads = match cached {
        Some(h) => h,
        None => {
            let h = TriageHeads::train(taxonomy, items, &vectors, major_threshold)?;
            let written = serde_json::to_vec(&h)
                .map_err(std::io::Error::other)
                .and_then(|b| write_atomic(&head_path, &b));
            if let Err(e) = written {
                tracing::warn!(path = %head_path.display(), error = %e, "trained heads not cached");
            }
            h
        }
    };
    heads.set_major_threshold(major_threshold);
    Ok(Trained { vectors, heads })
}

/// Hex sha256 of a prefix and parts, each part delimited.
fn digest<'a>(prefix: &str, parts: impl Iterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    h.update(prefix.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An exclusive lock on the cache folder, held while it is filled; `None`
/// (no waiting) when the folder or its lock file cannot be made.
fn lock(dir: &Path) -> Option<std::fs::File> {
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// The folder for cached training embeddings: beside the model's weights.
pub fn cache_dir(model_dir: &Path) -> PathBuf {
    model_dir.with_file_name("training-cache")
}

/// Cache layout: `n: u32 LE, dim: u32 LE`, then `n × dim` f32 LE.
fn read_cache(path: &Path, n: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).ok()?;
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            bytes.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let (count, dim) = (word(0)? as usize, word(1)? as usize);
    if count != n || dim == 0 || bytes.len() != 8 + count.checked_mul(dim)?.checked_mul(4)? {
        return None;
    }
    let floats: Vec<f32> = bytes[8..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Some(floats.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

fn write_cache(path: &Path, vectors: &[Vec<f32>]) -> std::io::Result<()> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut bytes = Vec::with_capacity(8 + vectors.len() * dim * 4);
    bytes.extend((vectors.len() as u32).to_le_bytes());
    bytes.extend((dim as u32).to_le_bytes());
    for v in vectors {
        bytes.extend(v.iter().flat_map(|f| f.to_le_bytes()));
    }
    write_atomic(path, &bytes)
}

/// Written aside and renamed, so a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_round_trips_and_refuses_a_wrong_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.f32");
        let v = vec![vec![1.0, -2.5], vec![0.0, 3.25]];
        write_cache(&path, &v).unwrap();
        assert_eq!(read_cache(&path, 2), Some(v));
        assert_eq!(read_cache(&path, 3), None);
        std::fs::write(&path, [1, 0, 0, 0, 2, 0]).unwrap();
        assert_eq!(read_cache(&path, 1), None, "a torn file is not trusted");
    }

    #[test]
    fn the_repository_corpus_loads_cleanly() {
        let t = Taxonomy::default_taxonomy();
        let set = load_corpus(&training_dir(), &t).unwrap();
        assert!(
            set.rejected.is_empty(),
            "{:?}",
            &set.rejected[..set.rejected.len().min(5)]
        );
        assert_eq!(
            set.skipped_holdout, 0,
            "the committed files were built without holdout complaints"
        );
        let named = set.items.iter().filter(|i| i.hazard.is_some()).count();
        let negatives = set.items.iter().filter(|i| i.major == Some(false)).count();
        assert!(
            named > 1000 && negatives > 300,
            "{named} named hazards, {negatives} non-safety"
        );
    }
}
