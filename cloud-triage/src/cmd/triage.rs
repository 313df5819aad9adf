//! `train` and `eval`: teach the triage classifier from labelled feedback,
//! and measure it on labelled feedback nobody here wrote.

use std::path::PathBuf;

use clap::Args;
use qloop_models::{
    eval::{parse_labelled, report, Outcome, Report},
    severity::{self, TelemetryEvidence},
    ClassifierConfig, Embedder, Taxonomy,
};

use crate::{cmd::knowledge::DataArgs, now_ms, triage::Triage};

/// Flags of `train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Data directory and database the service uses.
    #[command(flatten)]
    pub data: DataArgs,
    /// JSON lines of labelled feedback (`text`/`narrative`, `component`).
    #[arg(long)]
    pub data_file: PathBuf,
}

/// Runs `train`: stores the examples; the service learns them at its next
/// start, and from corrections while running.
pub async fn train(args: TrainArgs) -> anyhow::Result<()> {
    let taxonomy = Taxonomy::default_taxonomy();
    let text = std::fs::read_to_string(&args.data_file)?;
    let (labelled, rejected) = parse_labelled(&text, &taxonomy);
    for r in rejected.iter().take(20) {
        eprintln!("skipped {r}");
    }
    let source = args.data_file.display().to_string();
    let examples: Vec<(String, String, String)> = labelled
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("{source}#{i}"), l.text.clone(), l.category.clone()))
        .collect();
    let store = args.data.store().await?;
    let n = store.save_labelled(&examples, &source, now_ms()).await?;
    println!(
        "stored {n} labelled examples ({} lines skipped)",
        rejected.len()
    );
    Ok(())
}

/// Flags of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled feedback to score on (JSON lines).
    #[arg(long)]
    pub data: PathBuf,
    /// Labelled feedback to learn from first (repeatable); never the scored file.
    #[arg(long)]
    pub train: Vec<PathBuf>,
    /// Least confidence for automatic triage.
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Neighbours that vote.
    #[arg(long)]
    pub k: Option<usize>,
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
    let mut examples = Vec::new();
    for path in &args.train {
        anyhow::ensure!(
            path != &args.data,
            "training on the scored file would measure nothing"
        );
        let (labelled, _) = parse_labelled(&std::fs::read_to_string(path)?, &taxonomy);
        examples.extend(labelled.into_iter().map(|l| (l.text, l.category)));
    }
    let (scored, rejected) = parse_labelled(&std::fs::read_to_string(&args.data)?, &taxonomy);
    anyhow::ensure!(
        !scored.is_empty(),
        "no usable labelled lines in {}",
        args.data.display()
    );
    let dir = qloop_models::weights::embedding_model_dir()?;
    let embedder = tokio::task::spawn_blocking(move || Embedder::load(&dir)).await??;
    let mut config = ClassifierConfig::default();
    if let Some(c) = args.min_confidence {
        config.min_confidence = c;
    }
    if let Some(k) = args.k {
        config.k = k;
    }
    let trained = examples.len();
    let triage = Triage::build(embedder.clone(), taxonomy, config, examples).await?;
    let vectors = embedder
        .embed(scored.iter().map(|l| l.text.clone()).collect())
        .await?;
    let outcomes: Vec<Outcome<'_>> = {
        let classifier_view = &triage;
        scored
            .iter()
            .zip(&vectors)
            .map(|(l, v)| {
                let p = classifier_view.predict(v);
                Outcome {
                    truth: l,
                    best: p.best,
                    confident: p.category != qloop_models::NEEDS_HUMAN_TRIAGE,
                    major: severity::assess(&l.text, &TelemetryEvidence::default()).is_major(),
                }
            })
            .collect()
    };
    let r = report(&outcomes);
    let baseline = if args.baseline {
        Some(run_baseline(&args)?)
    } else {
        None
    };
    if args.json {
        let mut v = serde_json::to_value(&r)?;
        v["trained_examples"] = trained.into();
        v["skipped_lines"] = rejected.len().into();
        v["model_version"] = embedder.model_version().into();
        if let Some(b) = &baseline {
            v["macro_f1_ratio_to_baseline"] =
                (r.macro_f1 / b["macro_f1"].as_f64().unwrap_or(f64::NAN)).into();
            v["baseline"] = b.clone();
        }
        println!("{v}");
    } else {
        print_report(&r, trained, rejected.len());
        if let Some(b) = &baseline {
            println!(
                "\nbaseline TF-IDF + logistic regression: accuracy {:.3}  macro-F1 {:.3}  (qloop/baseline macro-F1 {:.2})",
                b["accuracy"].as_f64().unwrap_or(f64::NAN),
                b["macro_f1"].as_f64().unwrap_or(f64::NAN),
                r.macro_f1 / b["macro_f1"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}

/// Runs the baseline script on the same files; its one JSON line.
fn run_baseline(args: &EvalArgs) -> anyhow::Result<serde_json::Value> {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/baseline/tfidf_lr.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg("--test").arg(&args.data);
    for t in &args.train {
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

fn print_report(r: &Report, trained: usize, skipped: usize) {
    println!("scored {} feedbacks ({skipped} lines skipped), trained on {trained} examples + taxonomy exemplars", r.n);
    println!(
        "accuracy {:.3}   macro-F1 {:.3}   needs_human_triage {:.1}%   accuracy when confident {:.3}",
        r.accuracy,
        r.macro_f1,
        r.needs_human_triage_rate * 100.0,
        r.accuracy_when_confident
    );
    println!(
        "safety: recall {:.3}  precision {:.3}  ({} truly major)",
        r.safety_recall, r.safety_precision, r.safety_support
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
