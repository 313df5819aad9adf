//! `eval`: measures triage as users get it. Without `--train` it trains
//! exactly as the service does by default (the corpus in `models/training/`
//! and the taxonomy's exemplars); `--train` adds files, `--no-default`
//! leaves the corpus out. Any training text that is also a scored text is
//! removed first, and counted.

use std::{collections::HashSet, io::Write, path::PathBuf};

use clap::Args;
use qloop_models::{
    corpus,
    eval::{parse_labelled, report, Labelled, Outcome, Report},
    severity::TelemetryEvidence,
    training::{parse_training, TrainingSet},
    Embedder, Taxonomy,
};

use crate::triage::{default_training, Judgement, Triage, TriageOptions};

/// Flags of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled feedback to score on (JSON lines).
    #[arg(long)]
    pub data: PathBuf,
    /// More labelled feedback to learn from (repeatable); never the scored file.
    #[arg(long)]
    pub train: Vec<PathBuf>,
    /// Leave out the default corpus (train on `--train` and the exemplars).
    #[arg(long)]
    pub no_default: bool,
    /// Least blended confidence for automatic triage.
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Neighbours that vote.
    #[arg(long)]
    pub k: Option<usize>,
    /// Share of the neighbours' vote in the category blend.
    #[arg(long)]
    pub knn_weight: Option<f32>,
    /// Learned probability at which a complaint is called major.
    #[arg(long)]
    pub major_threshold: Option<f32>,
    /// Write one JSON line per scored item here.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also train and score the TF-IDF + logistic-regression baseline
    /// (models/baseline/tfidf_lr.py, needs scikit-learn) on the same files.
    #[arg(long)]
    pub baseline: bool,
}

/// Runs `eval`.
pub async fn eval(args: EvalArgs) -> anyhow::Result<()> {
    let taxonomy = Taxonomy::default_taxonomy();
    let (scored, rejected) = parse_labelled(&std::fs::read_to_string(&args.data)?, &taxonomy);
    anyhow::ensure!(
        !scored.is_empty(),
        "no usable labelled lines in {}",
        args.data.display()
    );
    let (set, removed) = training_set(&args, &taxonomy, &scored)?;
    let dir = qloop_models::weights::embedding_model_dir()?;
    let mut options = TriageOptions {
        cache_dir: Some(corpus::cache_dir(&dir)),
        ..TriageOptions::default()
    };
    if let Some(c) = args.min_confidence {
        options.judge.min_confidence = c;
    }
    if let Some(w) = args.knn_weight {
        options.judge.knn_weight = w;
    }
    if let Some(k) = args.k {
        options.knn.k = k;
    }
    if let Some(t) = args.major_threshold {
        options.major_threshold = t;
    }
    let embedder = tokio::task::spawn_blocking(move || Embedder::load(&dir)).await??;
    let trained = set.items.len();
    let skipped_holdout = set.skipped_holdout;
    let triage = Triage::build_with(embedder.clone(), taxonomy, set, options).await?;
    let vectors = embedder
        .embed(scored.iter().map(|l| l.text.clone()).collect())
        .await?;
    let none = TelemetryEvidence::default();
    let judged: Vec<Judgement> = scored
        .iter()
        .zip(&vectors)
        .map(|(l, v)| triage.judge(&l.text, Some(v), &none))
        .collect();
    let outcomes: Vec<Outcome<'_>> = scored
        .iter()
        .zip(&judged)
        .map(|(l, j)| Outcome {
            truth: l,
            best: j.best.clone(),
            confident: j.category != qloop_models::NEEDS_HUMAN_TRIAGE,
            major: j.major,
            hazard: j.hazard.map(|h| h.name().to_string()),
        })
        .collect();
    if let Some(path) = &args.predictions {
        write_predictions(path, &scored, &judged)?;
    }
    let r = report(&outcomes);
    let baseline = if args.baseline {
        Some(run_baseline(&args)?)
    } else {
        None
    };
    let counts = Counts {
        trained,
        skipped_holdout,
        removed,
        skipped_lines: rejected.len(),
    };
    if args.json {
        let mut v = serde_json::to_value(&r)?;
        v["trained_examples"] = counts.trained.into();
        v["training_skipped_holdout"] = counts.skipped_holdout.into();
        v["training_overlap_removed"] = counts.removed.into();
        v["skipped_lines"] = counts.skipped_lines.into();
        v["model_version"] = embedder.model_version().into();
        v["default_training"] = (!args.no_default).into();
        if let Some(b) = &baseline {
            v["macro_f1_ratio_to_baseline"] =
                (r.macro_f1 / b["macro_f1"].as_f64().unwrap_or(f64::NAN)).into();
            v["baseline"] = b.clone();
        }
        println!("{v}");
    } else {
        print_report(&r, counts);
        if let Some(b) = &baseline {
            print_baseline(&r, b);
        }
    }
    Ok(())
}

/// What training and scoring skipped, for the report.
#[derive(Debug, Clone, Copy)]
struct Counts {
    trained: usize,
    skipped_holdout: usize,
    removed: usize,
    skipped_lines: usize,
}

/// The training set: the default corpus (unless `--no-default`), the
/// `--train` files, minus any text that is also scored.
fn training_set(
    args: &EvalArgs,
    taxonomy: &Taxonomy,
    scored: &[Labelled],
) -> anyhow::Result<(TrainingSet, usize)> {
    let mut set = if args.no_default {
        corpus::exemplars(taxonomy)
    } else {
        default_training(taxonomy, Vec::new())?
    };
    for path in &args.train {
        anyhow::ensure!(
            path != &args.data,
            "training on the scored file would measure nothing"
        );
        set.extend(parse_training(
            &std::fs::read_to_string(path)?,
            taxonomy,
            1.0,
        ));
    }
    // Training texts are cut to MAX_TRAINING_CHARS, so texts are compared
    // by their opening.
    let key = |t: &str| -> String { t.trim().to_lowercase().chars().take(200).collect() };
    let scored_texts: HashSet<String> = scored.iter().map(|l| key(&l.text)).collect();
    let before = set.items.len();
    set.items.retain(|i| !scored_texts.contains(&key(&i.text)));
    let removed = before - set.items.len();
    Ok((set, removed))
}

/// One JSON line per item: what it is and what triage said.
fn write_predictions(
    path: &std::path::Path,
    scored: &[Labelled],
    judged: &[Judgement],
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (l, j) in scored.iter().zip(judged) {
        let line = serde_json::json!({
            "text": l.text,
            "truth": l.category,
            "accept": l.accept,
            "truth_major": l.major,
            "truth_hazard": l.hazard,
            "category": j.category,
            "best": j.best,
            "confidence": j.confidence,
            "correct": l.accepts(&j.best),
            "major": j.major,
            "p_major": j.p_major,
            "hazard": j.hazard.map(|h| h.name()),
            "reasons": j.reasons,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// Runs the baseline script on the same training and scored files.
fn run_baseline(args: &EvalArgs) -> anyhow::Result<serde_json::Value> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/baseline/tfidf_lr.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg("--test").arg(&args.data);
    let mut train = args.train.clone();
    if !args.no_default {
        let dir = corpus::training_dir();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        train.extend(files);
    }
    for t in &train {
        cmd.arg("--train").arg(t);
    }
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "baseline failed (pip install scikit-learn): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn print_baseline(r: &Report, b: &serde_json::Value) {
    let f = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nbaseline TF-IDF + logistic regression: accuracy {:.3}  macro-F1 {:.3}  (qloop/baseline macro-F1 {:.2})",
        f("accuracy"),
        f("macro_f1"),
        r.macro_f1 / f("macro_f1")
    );
}

fn print_report(r: &Report, c: Counts) {
    println!(
        "scored {} feedbacks ({} lines skipped); trained on {} examples ({} holdout complaints skipped, {} scored texts removed)",
        r.n, c.skipped_lines, c.trained, c.skipped_holdout, c.removed
    );
    println!(
        "accuracy {:.3}   macro-F1 {:.3}   needs_human_triage {:.1}%   accuracy when confident {:.3}",
        r.accuracy,
        r.macro_f1,
        r.needs_human_triage_rate * 100.0,
        r.accuracy_when_confident
    );
    println!(
        "safety: recall {:.3}  precision {:.3}  ({} truly major); hazard named right {:.3} of {}",
        r.safety_recall, r.safety_precision, r.safety_support, r.hazard_accuracy, r.hazard_support
    );
    println!(
        "\n{:<26} {:>7} {:>9} {:>7} {:>6}",
        "category", "support", "precision", "recall", "F1"
    );
    for (cat, s) in &r.per_category {
        println!(
            "{cat:<26} {:>7} {:>9.3} {:>7.3} {:>6.3}",
            s.support, s.precision, s.recall, s.f1
        );
    }
}
