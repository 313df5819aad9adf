//! Retrieval quality of BM25 on the labelled driver queries over the real
//! recalls. Embedding and hybrid modes need the embedder and run in
//! `cloud-triage eval-search`; this example measures the BM25 baseline
//! without any model.
//!
//! `cargo run -p qloop-knowledge --example eval_retrieval`

use std::path::Path;

use qloop_knowledge::{
    eval::{evaluate, parse_queries, Mode},
    import::parse_known_issues,
    KnowledgeIndex,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let index = KnowledgeIndex::in_memory()?;
    for f in [
        "recalls-ford-toyota-tesla-2015-2025.jsonl",
        "recall-documents-2020-2026.jsonl",
        "recalls-sample.jsonl",
    ] {
        let data = std::env::var_os("QLOOP_SHARED_DATA")
            .map_or_else(|| root.join("../shared/data"), std::path::PathBuf::from);
        let text = std::fs::read_to_string(data.join("nhtsa").join(f))?;
        index.upsert(&parse_known_issues(&text).docs)?;
    }
    index.commit()?;
    let queries = parse_queries(&std::fs::read_to_string(
        root.join("fixtures/knowledge/retrieval-queries.jsonl"),
    )?)?;
    let m = evaluate(&index, None, &queries, None, Mode::Bm25)?;
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}
