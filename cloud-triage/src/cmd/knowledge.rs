//! `import-knowledge`, `search` and `reindex`: the knowledge index from the
//! command line, on the same data directory (and database) `serve` uses.

use std::path::PathBuf;

use clap::Args;
use qloop_knowledge::{DocKind, Filters, SearchRequest};

use crate::{config::ServiceConfig, knowledge, store::Store};

/// Where the data lives; the same flags as `serve`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// The data directory `serve` uses (its SQLite file and index).
    #[arg(long, env = "QLOOP_DATA_DIR", default_value = "./qloop-data")]
    pub data_dir: PathBuf,
    /// Database URL when not the data directory's SQLite file.
    #[arg(long, env = "QLOOP_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DataArgs {
    /// The embedding vectors of this data directory, with the model loaded.
    pub async fn vectors(&self) -> anyhow::Result<knowledge::Vectors> {
        let dir = tokio::task::spawn_blocking(qloop_models::weights::embedding_model_dir).await??;
        let embedder =
            tokio::task::spawn_blocking(move || qloop_models::Embedder::load(&dir)).await??;
        knowledge::Vectors::open(&self.data_dir, embedder)
    }

    /// The database of this data directory (or `--database-url`).
    pub async fn store(&self) -> anyhow::Result<Store> {
        std::fs::create_dir_all(&self.data_dir)?;
        let mut config = ServiceConfig::local(self.data_dir.clone());
        config.database_url = self.database_url.clone();
        config.validate()?;
        Ok(Store::connect(&config.database_url()).await?)
    }
}

/// Flags of `import-knowledge`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// JSON-lines file: NHTSA recalls (any of the three shapes) or qloop known issues.
    pub file: PathBuf,
}

/// Runs `import-knowledge`.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let store = args.data.store().await?;
    let index = knowledge::open_index(&args.data.data_dir)?;
    let vectors = args.data.vectors().await?;
    let report = knowledge::import_file(&store, &index, Some(&vectors), &args.file).await?;
    for reason in report.rejected.iter().take(20) {
        eprintln!("skipped {reason}");
    }
    println!(
        "imported {} known issues from {} ({} lines skipped); index holds {} documents",
        report.imported,
        args.file.display(),
        report.rejected.len(),
        index.len()
    );
    Ok(())
}

/// Flags of `reindex`.
#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `reindex`.
pub async fn reindex(args: ReindexArgs) -> anyhow::Result<()> {
    let store = args.data.store().await?;
    let index = knowledge::open_index(&args.data.data_dir)?;
    let vectors = args.data.vectors().await?;
    let r = knowledge::reindex(&store, &index, Some(&vectors)).await?;
    println!(
        "reindexed {} known issues, {} cases, {} feedback",
        r.known_issues, r.cases, r.feedback
    );
    Ok(())
}

/// Flags of `search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Data directory and database.
    #[command(flatten)]
    pub data: DataArgs,
    /// One JSON object (hits, total, facets) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// What to look for, as a driver or engineer would say it.
    pub query: String,
    /// Only this kind: known_issue, case, feedback.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<DocKind>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only this severity.
    #[arg(long)]
    pub severity: Option<String>,
    /// Only this make.
    #[arg(long)]
    pub make: Option<String>,
    /// Only this model.
    #[arg(long)]
    pub model: Option<String>,
    /// Earliest model year.
    #[arg(long)]
    pub year_from: Option<u16>,
    /// Latest model year.
    #[arg(long)]
    pub year_to: Option<u16>,
    /// Only this software version.
    #[arg(long)]
    pub software: Option<String>,
    /// Only with this trouble code.
    #[arg(long)]
    pub dtc: Option<String>,
    /// Only on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub date_from: Option<String>,
    /// Only on or before this date (YYYY-MM-DD).
    #[arg(long)]
    pub date_to: Option<String>,
    /// Only this status.
    #[arg(long)]
    pub status: Option<String>,
    /// Hits per page.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Hits to skip.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Ranking: bm25, embedding, or hybrid (both fused by reciprocal rank).
    #[arg(long, default_value = "hybrid", value_parser = parse_mode)]
    pub mode: qloop_knowledge::eval::Mode,
}

/// A ranking mode by name.
pub fn parse_mode(s: &str) -> Result<qloop_knowledge::eval::Mode, String> {
    use qloop_knowledge::eval::Mode;
    match s {
        "bm25" => Ok(Mode::Bm25),
        "embedding" => Ok(Mode::Embedding),
        "hybrid" => Ok(Mode::Hybrid),
        other => Err(format!("{other:?} is not one of bm25, embedding, hybrid")),
    }
}

fn parse_kind(s: &str) -> Result<DocKind, String> {
    DocKind::parse(s).ok_or_else(|| format!("{s:?} is not one of known_issue, case, feedback"))
}

fn parse_date(name: &str, s: &Option<String>) -> anyhow::Result<Option<i64>> {
    s.as_deref()
        .map(|d| {
            qloop_knowledge::import::date_ms(d)
                .ok_or_else(|| anyhow::anyhow!("--{name} {d:?} is not a YYYY-MM-DD date"))
        })
        .transpose()
}

/// Runs `search`.
pub async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let index = knowledge::open_index(&args.data.data_dir)?;
    let req = SearchRequest {
        q: args.query.clone(),
        filters: Filters {
            kind: args.kind,
            category: args.category.clone(),
            severity: args.severity.clone(),
            make: args.make.clone(),
            model: args.model.clone(),
            year_from: args.year_from,
            year_to: args.year_to,
            software: args.software.clone(),
            dtc: args.dtc.clone(),
            date_from_ms: parse_date("date-from", &args.date_from)?,
            date_to_ms: parse_date("date-to", &args.date_to)?,
            status: args.status.clone(),
        },
        limit: args.limit,
        offset: args.offset,
    };
    let results = match args.mode {
        qloop_knowledge::eval::Mode::Bm25 => index.search(&req)?,
        mode => {
            args.data
                .vectors()
                .await?
                .search(&index, &req, mode)
                .await?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    println!("{} matches for {:?}", results.total, args.query);
    println!(
        "{:>3}  {:<12} {:<38} {:>7}  title",
        "#", "kind", "id", "score"
    );
    for (i, hit) in results.hits.iter().enumerate() {
        let title: String = hit.title.chars().take(70).collect();
        println!(
            "{:>3}  {:<12} {:<38} {:>7.2}  {title}",
            args.offset + i + 1,
            hit.kind.map_or("?", DocKind::as_str),
            hit.id,
            hit.score
        );
    }
    Ok(())
}

/// Flags of `eval-search`.
#[derive(Debug, Args)]
pub struct EvalSearchArgs {
    /// Labelled queries (JSON lines: `q`, `relevant` ids, optional `make`).
    #[arg(long, default_value = "fixtures/knowledge/retrieval-queries.jsonl")]
    pub queries: PathBuf,
    /// Known-issue files to search (JSON lines; the NHTSA recall files by default).
    #[arg(long = "corpus")]
    pub corpus: Vec<PathBuf>,
}

/// Runs `eval-search`: recall@5 and MRR of BM25, embeddings and hybrid on
/// labelled queries, one JSON line per mode.
pub async fn eval_search(args: EvalSearchArgs) -> anyhow::Result<()> {
    use qloop_knowledge::{
        eval::{evaluate, parse_queries, Mode},
        import::parse_known_issues,
        KnowledgeIndex, VectorIndex,
    };
    let corpus = if args.corpus.is_empty() {
        let data = qloop_protocol::shared_data().join("nhtsa");
        vec![
            data.join("recalls-ford-toyota-tesla-2015-2025.jsonl"),
            data.join("recall-documents-2020-2026.jsonl"),
            data.join("recalls-sample.jsonl"),
        ]
    } else {
        args.corpus.clone()
    };
    let index = KnowledgeIndex::in_memory()?;
    let mut docs = Vec::new();
    for path in &corpus {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        docs.extend(parse_known_issues(&text).docs);
    }
    index.upsert(&docs)?;
    index.commit()?;
    let queries = parse_queries(&std::fs::read_to_string(&args.queries)?)?;
    let dir = qloop_models::weights::embedding_model_dir()?;
    let embedder =
        tokio::task::spawn_blocking(move || qloop_models::Embedder::load(&dir)).await??;
    let doc_texts: Vec<String> = docs
        .iter()
        .map(|d| format!("{}. {}", d.title, d.text))
        .collect();
    let doc_vectors = embedder.embed(doc_texts).await?;
    let mut vectors = VectorIndex::new(qloop_models::EMBEDDING_DIM);
    for (d, v) in docs.iter().zip(&doc_vectors) {
        vectors.upsert(&d.id, v)?;
    }
    let query_vectors = embedder
        .embed(queries.iter().map(|q| q.q.clone()).collect())
        .await?;
    for mode in [Mode::Bm25, Mode::Embedding, Mode::Hybrid] {
        let m = evaluate(&index, Some(&vectors), &queries, Some(&query_vectors), mode)?;
        println!("{}", serde_json::to_string(&m)?);
    }
    Ok(())
}

/// Flags of `eval-linking`.
#[derive(Debug, Args)]
pub struct EvalLinkingArgs {
    /// Complaints to replay (JSON lines with make, model, component, narrative).
    #[arg(long, default_value = "../shared/data/nhtsa/complaints-dev.jsonl")]
    pub data: PathBuf,
    /// Least members for a (make, model, category) group to count as one
    /// fleet issue; smaller groups are replayed too, as unrelated reports.
    #[arg(long, default_value_t = 5)]
    pub min_group: usize,
}

/// Runs `eval-linking`: replays complaints through the linker at several
/// similarity thresholds and prints cases opened versus true issues, purity
/// and completeness, one JSON line per threshold.
pub async fn eval_linking(args: EvalLinkingArgs) -> anyhow::Result<()> {
    use qloop_knowledge::linking::{cluster_quality, replay, LinkPolicy, ReplayItem};
    let taxonomy = qloop_models::Taxonomy::default_taxonomy();
    let mut rows = Vec::new();
    for line in std::fs::read_to_string(&args.data)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let (Some(text), Some(label)) = (v["narrative"].as_str(), v["component"].as_str()) else {
            continue;
        };
        let Some(category) = taxonomy.category_of_label(label) else {
            continue;
        };
        let family = format!(
            "{} {}",
            v["make"].as_str().unwrap_or(""),
            v["model"].as_str().unwrap_or("")
        );
        rows.push((text.to_string(), category.to_string(), family));
    }
    let mut sizes = std::collections::HashMap::new();
    for (_, c, f) in &rows {
        *sizes.entry((c.clone(), f.clone())).or_insert(0usize) += 1;
    }
    let dir = qloop_models::weights::embedding_model_dir()?;
    let embedder =
        tokio::task::spawn_blocking(move || qloop_models::Embedder::load(&dir)).await??;
    let vectors = embedder
        .embed(rows.iter().map(|r| r.0.clone()).collect())
        .await?;
    let items: Vec<ReplayItem> = rows
        .iter()
        .zip(vectors)
        .map(|((_, c, f), vector)| ReplayItem {
            vector,
            category: c.clone(),
            model_family: f.clone(),
            at_ms: 0,
        })
        .collect();
    // Truth: a group of >= min_group reports is one issue; others are each their own.
    let truth: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, (_, c, f))| {
            if sizes[&(c.clone(), f.clone())] >= args.min_group {
                format!("{f}/{c}")
            } else {
                format!("single-{i}")
            }
        })
        .collect();
    for min_similarity in [0.5f32, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9] {
        let policy = LinkPolicy {
            min_similarity,
            ..LinkPolicy::default()
        };
        let q = cluster_quality(&truth, &replay(&policy, &items));
        let mut v = serde_json::to_value(&q)?;
        v["min_similarity"] = serde_json::json!(min_similarity);
        println!("{v}");
    }
    Ok(())
}
