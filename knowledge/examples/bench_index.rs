//! Knowledge-index benchmark: index N documents (default 100,000) built by
//! repeating and varying the real NHTSA recall texts, then time BM25
//! searches with filters against the named baseline, the same queries
//! without filters, in the same run; then hybrid searches (BM25 and
//! embeddings fused) with filters against the filtered BM25 baseline.
//!
//! Embeddings: every distinct text part is embedded with the real model
//! (all-MiniLM-L6-v2; `models/fetch.sh` first). A varied document is its
//! recall text plus a complaint snippet, so its vector is the normalised sum
//! of those two parts' vectors rather than a fresh embedding of the joined
//! text: embedding 100,000 long documents would take most of an hour here,
//! and search cost depends on the number of vectors, not their values.
//! Query vectors are real embeddings of the query text, and the embedding
//! time of a query is reported on its own.
//!
//! `cargo run --release -p qloop-knowledge --example bench_index [-- N]`
//! prints one JSON line per measurement.

use std::{path::Path, time::Instant};

use qloop_knowledge::{
    eval::Mode, import::parse_known_issues, IndexDoc, KnowledgeIndex, SearchRequest, VectorIndex,
};

/// A small deterministic generator (xorshift64*), so every run indexes the
/// same documents without pulling in an RNG crate for a benchmark.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn percentile(sorted_us: &[f64], p: f64) -> f64 {
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i]
}

/// The benchmark as one script, top to bottom: build the corpus, index it,
/// then each measurement in the order its JSON line is printed. Longer than
/// 80 lines on purpose: a reader follows one run, and its timings share the
/// index, queries and vectors built at the top.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(100_000), |s| s.parse())?;
    let data = std::env::var_os("QLOOP_SHARED_DATA")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
            std::path::PathBuf::from,
        )
        .join("nhtsa");
    let mut base: Vec<IndexDoc> = Vec::new();
    for f in [
        "recalls-ford-toyota-tesla-2015-2025.jsonl",
        "recall-documents-2020-2026.jsonl",
        "recalls-sample.jsonl",
    ] {
        base.extend(parse_known_issues(&read(&data.join(f))).docs);
    }
    // Driver sentences from real complaints, used to vary documents and as queries.
    let narratives: Vec<String> = read(&data.join("complaints-dev.jsonl"))
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["narrative"].as_str().map(|s| s.to_lowercase()))
        .collect();
    let makes = ["FORD", "TOYOTA", "TESLA", "HONDA", "KIA", "HYUNDAI"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let snippet = |s: &str| s.split_whitespace().take(30).collect::<Vec<_>>().join(" ");
    // Which base text and which snippet each document is made of.
    let mut parts: Vec<(usize, usize)> = Vec::with_capacity(n);
    let docs: Vec<IndexDoc> = (0..n)
        .map(|i| {
            let mut d = base[i % base.len()].clone();
            d.id = format!("{}-v{i}", d.id);
            let which = rng.below(narratives.len());
            parts.push((i % base.len(), which));
            let cut = snippet(&narratives[which]);
            d.text = format!("{} {cut}", d.text);
            d.make = Some(makes[rng.below(makes.len())].to_string());
            let y = 2005 + rng.below(20) as u16;
            d.years = vec![y, y + 1];
            d.date_ms = Some(1_420_070_400_000 + (rng.below(3650) as i64) * 86_400_000);
            d
        })
        .collect();

    let dir = tempfile::tempdir()?;
    let index = KnowledgeIndex::open(dir.path())?;
    let start = Instant::now();
    for chunk in docs.chunks(10_000) {
        index.upsert(chunk)?;
    }
    index.commit()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"bench": "knowledge_index", "docs": n, "seconds": secs, "docs_per_sec": n as f64 / secs})
    );

    let queries: Vec<String> = (0..300)
        .map(|_| {
            narratives[rng.below(narratives.len())]
                .split_whitespace()
                .take(12)
                .map(|w| {
                    w.chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect::<String>()
                })
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|q| !q.is_empty())
        .collect();
    let time =
        |with_filters: bool, rng: &mut Rng| -> Result<Vec<f64>, Box<dyn std::error::Error>> {
            let mut us = Vec::with_capacity(queries.len());
            for q in &queries {
                let mut req = SearchRequest::new(q.clone());
                if with_filters {
                    req.filters.make = Some(makes[rng.below(3)].to_string());
                    let from = 2008 + rng.below(10) as u16;
                    req.filters.year_from = Some(from);
                    req.filters.year_to = Some(from + 5);
                }
                let t = Instant::now();
                let results = index.search(&req)?;
                us.push(t.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(results);
            }
            us.sort_by(f64::total_cmp);
            Ok(us)
        };
    let _warm = time(false, &mut rng)?;
    let baseline = time(false, &mut rng)?;
    let filtered = time(true, &mut rng)?;
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let (b, f) = (percentile(&baseline, p), percentile(&filtered, p));
        println!(
            "{}",
            serde_json::json!({
                "bench": "knowledge_search_bm25_filtered", "docs": n, "queries": queries.len(),
                "stat": name, "micros": f, "baseline": "bm25_no_filters", "baseline_micros": b,
                "ratio": f / b,
            })
        );
    }

    // Hybrid: embeddings of every distinct part, then each document's vector.
    let model = qloop_models::weights::embedding_model_dir()?;
    let embedder = qloop_models::Embedder::load(&model)?;
    let start = Instant::now();
    let base_texts: Vec<String> = base
        .iter()
        .map(|d| format!("{}. {}", d.title, d.text))
        .collect();
    let base_vecs = embedder.embed_blocking(base_texts)?;
    let snippet_vecs = embedder.embed_blocking(narratives.iter().map(|s| snippet(s)).collect())?;
    let embed_secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"bench": "knowledge_embed_parts", "texts": base.len() + narratives.len(),
            "seconds": embed_secs, "per_sec": (base.len() + narratives.len()) as f64 / embed_secs})
    );
    let mut vectors = VectorIndex::new(qloop_models::EMBEDDING_DIM);
    for (d, (b, s)) in docs.iter().zip(&parts) {
        let v: Vec<f32> = base_vecs[*b]
            .iter()
            .zip(&snippet_vecs[*s])
            .map(|(x, y)| x + y)
            .collect();
        vectors.upsert(&d.id, &v)?;
    }
    // One query at a time, as a search request embeds it.
    let start = Instant::now();
    let mut query_vecs = Vec::with_capacity(queries.len());
    for q in &queries {
        query_vecs.extend(embedder.embed_blocking(vec![q.clone()])?);
    }
    let per_query_embed_us = start.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    let hybrid = |with_filters: bool,
                  mode: Mode,
                  rng: &mut Rng|
     -> Result<Vec<f64>, Box<dyn std::error::Error>> {
        let mut us = Vec::with_capacity(queries.len());
        for (q, qv) in queries.iter().zip(&query_vecs) {
            let mut req = SearchRequest::new(q.clone());
            if with_filters {
                req.filters.make = Some(makes[rng.below(3)].to_string());
                let from = 2008 + rng.below(10) as u16;
                req.filters.year_from = Some(from);
                req.filters.year_to = Some(from + 5);
            }
            let t = Instant::now();
            let results = qloop_knowledge::hybrid::search(&index, &vectors, &req, Some(qv), mode)?;
            us.push(t.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(results);
        }
        us.sort_by(f64::total_cmp);
        Ok(us)
    };
    let _warm = hybrid(true, Mode::Hybrid, &mut rng)?;
    let bm25_filtered = hybrid(true, Mode::Bm25, &mut rng)?;
    let hybrid_filtered = hybrid(true, Mode::Hybrid, &mut rng)?;
    let hybrid_plain = hybrid(false, Mode::Hybrid, &mut rng)?;
    for (p, name) in [(0.5, "p50"), (0.99, "p99")] {
        let b = percentile(&bm25_filtered, p);
        for (bench, times) in [
            ("knowledge_search_hybrid_filtered", &hybrid_filtered),
            ("knowledge_search_hybrid_no_filters", &hybrid_plain),
        ] {
            let h = percentile(times, p);
            println!(
                "{}",
                serde_json::json!({
                    "bench": bench, "docs": n, "vectors": vectors.len(), "queries": queries.len(),
                    "stat": name, "micros": h, "micros_with_query_embedding": h + per_query_embed_us,
                    "baseline": "bm25_filtered", "baseline_micros": b, "ratio": h / b,
                })
            );
        }
    }
    println!(
        "{}",
        serde_json::json!({"bench": "knowledge_query_embedding", "queries": queries.len(),
            "micros_per_query": per_query_embed_us, "batched": false})
    );
    Ok(())
}
