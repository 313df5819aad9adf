//! `train` and `eval`: teach triage from labelled feedback, and measure it
//! (`eval` lives in `cmd/eval.rs`).

use std::path::PathBuf;

use clap::Args;
use qloop_models::{eval::parse_labelled, Taxonomy};

pub use super::eval::{eval, EvalArgs};
use crate::{cmd::knowledge::DataArgs, now_ms};

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
