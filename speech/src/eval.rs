//! Word error rate of a model on labelled clips (`speech/fixtures/clips.jsonl`).
//!
//! Each line of the list: `{"file": "clean/01.wav", "text": "...",
//! "condition": "clean", "snr_db": null}`; files are relative to the list.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Instant,
};

use serde::{Deserialize, Serialize};

use crate::{
    error::SpeechError,
    transcriber::{TranscribeOptions, Transcriber},
    wer::{word_errors, WordErrors},
};

/// One labelled clip.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LabelledClip {
    /// WAV file, relative to the list.
    pub file: String,
    /// What is said.
    pub text: String,
    /// `clean` or `noisy`.
    pub condition: String,
    /// Signal-to-noise ratio of the added noise, dB (noisy clips).
    #[serde(default)]
    pub snr_db: Option<f64>,
}

/// One clip's result.
#[derive(Debug, Clone, Serialize)]
pub struct ClipResult {
    /// The clip.
    pub file: String,
    /// `clean` or `noisy`.
    pub condition: String,
    /// What is said.
    pub reference: String,
    /// What the model heard.
    pub hypothesis: String,
    /// Its word error rate.
    pub wer: f64,
    /// Seconds the transcription took.
    pub seconds: f64,
    /// The transcript's confidence.
    pub confidence: Option<f32>,
}

/// Mean figures for one condition.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionSummary {
    /// `clean` or `noisy`.
    pub condition: String,
    /// Clips.
    pub clips: usize,
    /// Mean of the clips' word error rates.
    pub mean_wer: f64,
    /// All errors over all reference words.
    pub corpus_wer: f64,
    /// Mean seconds per clip.
    pub mean_seconds: f64,
}

/// What [`eval_asr`] found.
#[derive(Debug, Clone, Serialize)]
pub struct AsrReport {
    /// The model.
    pub model: String,
    /// Per clip, in list order.
    pub clips: Vec<ClipResult>,
    /// Per condition, in order of first appearance.
    pub summary: Vec<ConditionSummary>,
}

/// The fixture list shipped with this crate, `speech/fixtures/clips.jsonl`.
pub fn fixture_list() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clips.jsonl")
}

fn read_list(list: &Path) -> Result<Vec<LabelledClip>, SpeechError> {
    let err = |reason: String| SpeechError::File {
        path: list.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(list).map_err(|e| err(e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| err(format!("line {}: {e}", i + 1))))
        .collect()
}

/// Transcribes every clip of `list` with the model in `model_dir` and scores it.
pub fn eval_asr(model_dir: &Path, list: &Path) -> Result<AsrReport, SpeechError> {
    let transcriber = Transcriber::load(model_dir, TranscribeOptions::default())?;
    eval_with(&transcriber, list)
}

/// Like [`eval_asr`] with a running transcriber.
pub fn eval_with(transcriber: &Transcriber, list: &Path) -> Result<AsrReport, SpeechError> {
    let base = list.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut clips = Vec::new();
    let mut totals: Vec<(String, WordErrors, Vec<f64>, f64)> = Vec::new();
    for clip in read_list(list)? {
        let path: PathBuf = base.join(&clip.file);
        let wav = std::fs::read(&path).map_err(|e| SpeechError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let started = Instant::now();
        let transcript = transcriber.transcribe_blocking(wav, Some("en-US".into()))?;
        let seconds = started.elapsed().as_secs_f64();
        let errors = word_errors(&clip.text, &transcript.text);
        let entry = match totals.iter_mut().position(|t| t.0 == clip.condition) {
            Some(i) => &mut totals[i],
            None => {
                totals.push((
                    clip.condition.clone(),
                    WordErrors::default(),
                    Vec::new(),
                    0.0,
                ));
                totals.last_mut().ok_or(SpeechError::Stopped)?
            }
        };
        entry.1.substitutions += errors.substitutions;
        entry.1.deletions += errors.deletions;
        entry.1.insertions += errors.insertions;
        entry.1.reference_words += errors.reference_words;
        entry.2.push(errors.rate());
        entry.3 += seconds;
        clips.push(ClipResult {
            file: clip.file,
            condition: clip.condition,
            reference: clip.text,
            hypothesis: transcript.text,
            wer: errors.rate(),
            seconds,
            confidence: transcript.confidence,
        });
    }
    let summary = totals
        .into_iter()
        .map(|(condition, errors, rates, seconds)| ConditionSummary {
            condition,
            clips: rates.len(),
            mean_wer: rates.iter().sum::<f64>() / rates.len().max(1) as f64,
            corpus_wer: errors.rate(),
            mean_seconds: seconds / rates.len().max(1) as f64,
        })
        .collect();
    Ok(AsrReport {
        model: transcriber.model_version().to_owned(),
        clips,
        summary,
    })
}

impl fmt::Display for AsrReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model {}", self.model)?;
        for c in &self.clips {
            writeln!(
                f,
                "{:<22} {:<6} wer {:>5.3}  {:>5.2} s  heard: {}",
                c.file, c.condition, c.wer, c.seconds, c.hypothesis
            )?;
        }
        for s in &self.summary {
            writeln!(
                f,
                "{:<6} {:>2} clips  mean WER {:.3}  corpus WER {:.3}  {:.2} s/clip",
                s.condition, s.clips, s.mean_wer, s.corpus_wer, s.mean_seconds
            )?;
        }
        Ok(())
    }
}
