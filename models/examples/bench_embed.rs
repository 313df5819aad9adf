//! Embedding throughput of qloop's embedder on 1,000 driver sentences, at
//! batch 1 and batch 32 (sorted by length, and unsorted), as JSON lines: with
//! candle-transformers' BertModel (`qloop-candle`) and with qloop's own
//! encoder (`qloop-packed`, the one the service uses), in the same run.
//! `models/bench/bench_embed.sh` runs this and sentence-transformers on the
//! same sentences in one run and prints the ratios.
//!
//! Then the service's shape: 1 and 8 concurrent callers, each embedding one
//! sentence at a time through the embedding thread (as ingest handlers do),
//! which runs requests that queue up together.
//!
//! Last, what triage adds per text after the embedding (heads and
//! neighbours), against the embedding rate.
//!
//! `cargo run --release -p qloop-models --example bench_embed -- [SENTENCES_OUT]`

use std::time::Instant;

use qloop_models::{
    corpus::{cache_dir, load_corpus, train_corpus, training_dir},
    embed::{EngineKind, Model},
    trained::DEFAULT_MAJOR_THRESHOLD,
    weights::embedding_model_dir,
    Classifier, ClassifierConfig, Embedder, Taxonomy,
};

/// 1,000 sentences as drivers put them: the sentences of real owner
/// complaints (5 to 40 words), lower-cased, in file order.
fn sentences() -> Vec<String> {
    let root = std::env::var_os("QLOOP_SHARED_DATA")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
            std::path::PathBuf::from,
        )
        .join("nhtsa");
    let mut out = Vec::new();
    for file in [
        "complaints-dev.jsonl",
        "complaints-test.jsonl",
        "complaints-sample.jsonl",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("complaint data");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let narrative = v["narrative"].as_str().unwrap_or_default().to_lowercase();
            for s in narrative.split(". ") {
                let words = s.split_whitespace().count();
                if (5..=40).contains(&words) {
                    out.push(s.trim().to_string());
                    if out.len() == 1000 {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// The benchmark as one script: load, warm up, then each measurement in the
/// order its line is printed. Over 80 lines on purpose, so a reader follows
/// one run top to bottom.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let texts = sentences();
    if let Some(out) = std::env::args().nth(1) {
        std::fs::write(&out, texts.join("\n"))?;
    }
    let dir = embedding_model_dir()?;
    let mut rates = Vec::new();
    for (kind, name) in [
        (EngineKind::Candle, "qloop-candle"),
        (EngineKind::Packed, "qloop-packed"),
    ] {
        let mut model = Model::load_with(&dir, kind)?;
        model.embed(&texts[..32])?; // warm up
        let time = |f: &mut dyn FnMut() -> Result<(), Box<dyn std::error::Error>>| -> Result<f64, Box<dyn std::error::Error>> {
            let t = Instant::now();
            f()?;
            Ok(texts.len() as f64 / t.elapsed().as_secs_f64())
        };
        let batch32_sorted = time(&mut || {
            model.embed(&texts)?;
            Ok(())
        })?;
        model.sort_by_length = false;
        let batch32_unsorted = time(&mut || {
            model.embed(&texts)?;
            Ok(())
        })?;
        let batch1 = time(&mut || {
            for t in &texts {
                model.embed(std::slice::from_ref(t))?;
            }
            Ok(())
        })?;
        for (batch, order, rate) in [
            (32, "sorted", batch32_sorted),
            (32, "unsorted", batch32_unsorted),
            (1, "single", batch1),
        ] {
            println!(
                "{}",
                serde_json::json!({"bench": "embed", "impl": name, "batch": batch, "order": order, "sentences": texts.len(), "per_sec": rate})
            );
        }
        println!(
            "{}",
            serde_json::json!({"bench": "embed_sort_gain", "impl": name, "batch": 32, "baseline": "unsorted", "ratio": batch32_sorted / batch32_unsorted})
        );
        rates.push((batch32_sorted, batch1));
    }
    for (i, batch) in [32, 1].into_iter().enumerate() {
        let pick = |r: (f64, f64)| if i == 0 { r.0 } else { r.1 };
        println!(
            "{}",
            serde_json::json!({"bench": "embed_engine_gain", "batch": batch, "impl": "qloop-packed", "baseline": "qloop-candle", "ratio": pick(rates[1]) / pick(rates[0])})
        );
    }
    let embedder = Embedder::load(&dir)?;
    let mut by_callers = Vec::new();
    for callers in [1usize, 8] {
        let t = Instant::now();
        std::thread::scope(|scope| -> Result<(), qloop_models::ModelError> {
            let handles: Vec<_> = (0..callers)
                .map(|c| {
                    let embedder = embedder.clone();
                    let texts = &texts;
                    scope.spawn(move || -> Result<(), qloop_models::ModelError> {
                        for text in texts.iter().skip(c).step_by(callers) {
                            embedder.embed_blocking(vec![text.clone()])?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("caller thread")?;
            }
            Ok(())
        })?;
        let rate = texts.len() as f64 / t.elapsed().as_secs_f64();
        by_callers.push(rate);
        println!(
            "{}",
            serde_json::json!({"bench": "embed_callers", "impl": "qloop-packed", "callers": callers, "texts_per_request": 1, "sentences": texts.len(), "per_sec": rate})
        );
    }
    println!(
        "{}",
        serde_json::json!({"bench": "embed_coalesce_gain", "impl": "qloop-packed", "callers": 8, "baseline": "1 caller", "ratio": by_callers[1] / by_callers[0]})
    );
    triage_line(&embedder, &dir, &texts, by_callers[0])
}

/// What triage adds per text after the embedding (issue 13): the trained
/// heads and the neighbours' vote over the whole default corpus, against
/// one caller's embedding rate from the run above. The heads are trained
/// (or read from the cache) first, outside the timing.
fn triage_line(
    embedder: &Embedder,
    dir: &std::path::Path,
    texts: &[String],
    embed_rate: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let taxonomy = Taxonomy::default_taxonomy();
    let set = load_corpus(&training_dir(), &taxonomy)?;
    let trained = train_corpus(
        embedder,
        &taxonomy,
        &set.items,
        Some(&cache_dir(dir)),
        DEFAULT_MAJOR_THRESHOLD,
    )?;
    let mut knn = Classifier::new(ClassifierConfig::default());
    for (item, v) in set.items.iter().zip(&trained.vectors) {
        if let Some(c) = &item.category {
            knn.add(&taxonomy, c, v.clone())?;
        }
    }
    let vectors = embedder.embed_blocking(texts.to_vec())?;
    let t = Instant::now();
    let mut majors = 0usize;
    for v in &vectors {
        let votes = knn.votes(v);
        let call = trained.heads.hazard(v);
        let cats = trained.heads.category(v);
        majors += usize::from(call.major && !cats.is_empty() && !votes.shares.is_empty());
    }
    let rate = vectors.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"bench": "triage_after_embedding", "examples": knn.len(), "sentences": vectors.len(), "called_major": majors, "per_sec": rate, "baseline": "embed, 1 caller", "baseline_per_sec": embed_rate, "ratio": rate / embed_rate})
    );
    Ok(())
}
