//! Requests that reach the embedding thread together are run as one batch
//! (see `embed::COALESCE_MAX_TEXTS`); each caller must still get exactly the
//! vectors of its own texts, in its own order, as if it had been alone.

use qloop_models::{weights::embedding_model_dir, Embedder};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_each_get_their_own_vectors() {
    let embedder =
        Embedder::load(&embedding_model_dir().expect("model (models/fetch.sh)")).unwrap();
    let requests: Vec<Vec<String>> = (0..40)
        .map(|i| match i % 4 {
            0 => vec![format!("the brakes squeal at low speed, report {i}")],
            1 => vec![
                format!("screen {i} froze during navigation"),
                String::new(),
                "la climatisation ne fonctionne plus".to_string(),
            ],
            2 => vec![],
            _ => vec![format!(
                "{} the charging port door will not open",
                "after the update ".repeat(i)
            )],
        })
        .collect();
    // Alone: one request at a time, nothing to coalesce with.
    let mut alone = Vec::new();
    for texts in &requests {
        alone.push(embedder.embed_blocking(texts.clone()).unwrap());
    }
    // Together: all 40 in flight at once.
    let handles: Vec<_> = requests
        .iter()
        .cloned()
        .map(|texts| {
            let e = embedder.clone();
            tokio::spawn(async move { e.embed(texts).await })
        })
        .collect();
    for ((handle, want), texts) in handles.into_iter().zip(&alone).zip(&requests) {
        let got = handle.await.unwrap().unwrap();
        assert_eq!(got.len(), texts.len(), "one vector per text");
        for (g, w) in got.iter().zip(want) {
            let c = cosine(g, w);
            assert!(c > 0.9999, "{texts:?}: cosine {c} to its lone embedding");
        }
    }
}
