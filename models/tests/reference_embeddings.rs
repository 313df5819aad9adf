//! The Rust embedder reproduces all-MiniLM-L6-v2: its vectors for a fixture
//! set match reference vectors produced once by sentence-transformers from
//! the same weights (models/reference/make_reference_st.py), with min cosine
//! >= 0.999 — also when the sentences share a padded batch, sorted or not.

use qloop_models::{embed::Model, weights::embedding_model_dir, Embedder, EMBEDDING_DIM};

fn reference() -> Vec<(String, Vec<f32>)> {
    let text = include_str!("../reference/reference-embeddings.json");
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    json["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["text"].as_str().unwrap().to_string(),
                s["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect(),
            )
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[test]
fn batched_embeddings_match_the_reference_vectors() {
    let dir = embedding_model_dir().expect("model available (models/fetch.sh)");
    let embedder = Embedder::load(&dir).unwrap();
    let reference = reference();
    let texts: Vec<String> = reference.iter().map(|(t, _)| t.clone()).collect();
    let vectors = embedder.embed_blocking(texts).unwrap();
    let mut worst = 1.0f32;
    for ((text, want), got) in reference.iter().zip(&vectors) {
        assert_eq!(got.len(), EMBEDDING_DIM);
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "L2-normalised: {norm}");
        let c = cosine(got, want);
        assert!(c >= 0.999, "{text:?}: cosine {c}");
        worst = worst.min(c);
    }
    eprintln!(
        "min cosine to reference over {} sentences: {worst:.6}",
        reference.len()
    );
}

#[test]
fn sorting_by_length_does_not_change_any_vector() {
    let dir = embedding_model_dir().expect("model available (models/fetch.sh)");
    let mut model = Model::load(&dir).unwrap();
    let texts: Vec<String> = reference().into_iter().map(|(t, _)| t).collect();
    let sorted = model.embed(&texts).unwrap();
    model.sort_by_length = false;
    let unsorted = model.embed(&texts).unwrap();
    for (a, b) in sorted.iter().zip(&unsorted) {
        assert!(cosine(a, b) > 0.99999);
    }
}

#[test]
fn a_folder_without_weights_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn empty_huge_and_foreign_texts_embed_without_panicking() {
    let dir = embedding_model_dir().expect("model available (models/fetch.sh)");
    let embedder = Embedder::load(&dir).unwrap();
    let texts = vec![
        String::new(),
        "brake ".repeat(10_000), // 60,000 characters: truncated at 256 tokens
        "die Bremse quietscht beim Anhalten".into(),
        "刹车的时候有异响".into(),
        "\u{fffd}\u{fffd} lossy bytes from a broken transcript".into(),
    ];
    let vectors = embedder.embed_blocking(texts).unwrap();
    for v in &vectors {
        assert_eq!(v.len(), EMBEDDING_DIM);
        assert!(v.iter().all(|x| x.is_finite()));
    }
}
