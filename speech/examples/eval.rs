//! Word error rate on the fixture clips (`speech/fixtures/clips.jsonl`, clean
//! and noisy) for each model and each way of padding the last window, the
//! numbers behind [`TranscribeOptions::padding`]'s default:
//!
//! `cargo run --release -p qloop-speech --example eval -- [tiny.en] [base] [--clips]`
//!
//! Prints one line per model, padding and condition (`--clips` adds every
//! clip's transcript first).

use qloop_speech::{
    eval::{eval_with, fixture_list},
    mel::MelPadding,
    model_dir, ModelKind, TranscribeOptions, Transcriber,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let clips = match args.iter().position(|a| a == "--clips") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    if args.is_empty() {
        args = vec!["tiny.en".into(), "base".into()];
    }
    println!("model    padding        condition  clips  mean WER  corpus WER");
    for name in &args {
        let kind: ModelKind = name.parse()?;
        let dir = model_dir(kind)?;
        for (label, padding) in [
            ("silence", MelPadding::Silence),
            ("zero-features", MelPadding::ZeroFeatures),
        ] {
            let options = TranscribeOptions {
                padding,
                ..TranscribeOptions::default()
            };
            let report = eval_with(&Transcriber::load(&dir, options)?, &fixture_list())?;
            if clips {
                eprint!("{label}: {report}");
            }
            for s in &report.summary {
                println!(
                    "{name:<8} {label:<14} {:<10} {:>5}  {:>8.3}  {:>10.3}",
                    s.condition, s.clips, s.mean_wer, s.corpus_wer
                );
            }
        }
    }
    Ok(())
}
