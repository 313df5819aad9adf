//! The Whisper model itself: log-mel, the encoder ([`crate::encoder`], or
//! candle's), greedy decoding with [`crate::decoder`], 30 s windows, no-speech detection and confidence.
//! Lives on the transcription thread ([`crate::Transcriber`]).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::whisper::{model::Whisper, Config};
use tokenizers::Tokenizer;

use crate::{
    ct2::Ct2Model,
    decoder::{argmax, log_softmax, Decoder},
    encoder::FastEncoder,
    error::SpeechError,
    mapping::{map_whisper, Ct2Config},
    mel::{LogMel, MelPadding, HOP, SAMPLE_RATE, WINDOW_FRAMES},
    tokens::{language_of_locale, SpecialTokens},
    transcript::{Segment, Transcript},
};

/// Whisper's rule for a silent window: the no-speech token is this likely...
pub const NO_SPEECH_THRESHOLD: f32 = 0.6;
/// ...and the decoded tokens are, on average, less likely than this (log-prob).
pub const LOGPROB_THRESHOLD: f32 = -1.0;

/// A window whose loudest 20 ms is quieter than this (dBFS) holds no speech
/// and is not decoded: Whisper, given digital silence, often "hears" a
/// confident "you" (no-speech probability 0.95 but average log-probability
/// −0.4, which Whisper's rule lets through).
pub const SILENCE_DBFS: f32 = -50.0;

/// The loudest 20 ms block of `samples`, in dBFS (−inf for silence).
pub fn peak_level_dbfs(samples: &[f32]) -> f32 {
    samples
        .chunks(SAMPLE_RATE / 50)
        .map(|block| {
            let power = block.iter().map(|v| v * v).sum::<f32>() / block.len() as f32;
            10.0 * power.log10()
        })
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Which implementation runs the audio encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncoderKind {
    /// qloop's own ([`crate::encoder`]): fused, exact GELU; the default.
    #[default]
    Fast,
    /// candle-transformers' `AudioEncoder`, kept to measure and test against.
    Candle,
}

enum Encoder {
    Fast(FastEncoder),
    Candle(candle_transformers::models::whisper::model::AudioEncoder),
}

/// A loaded Whisper model.
pub struct Recognizer {
    encoder: Encoder,
    decoder: Decoder,
    tokenizer: Tokenizer,
    tokens: SpecialTokens,
    mel: LogMel,
    /// How windows are padded after the clip (default: as faster-whisper).
    pub padding: MelPadding,
    config: Config,
    suppress: Vec<u32>,
    suppress_begin: Vec<u32>,
    name: String,
}

fn file_err(path: &Path, reason: impl ToString) -> SpeechError {
    SpeechError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

impl Recognizer {
    /// Loads `model.bin`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Recognizer, SpeechError> {
        Recognizer::load_with(dir, EncoderKind::default())
    }

    /// Loads with the given encoder implementation.
    pub fn load_with(dir: &Path, kind: EncoderKind) -> Result<Recognizer, SpeechError> {
        let ct2 = Ct2Model::open(&dir.join("model.bin"))?;
        let ct2_config = Ct2Config::read(&dir.join("config.json"))?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| file_err(&tok_path, e))?;
        let mapped = map_whisper(&ct2, &ct2_config)?;
        drop(ct2);
        let config = mapped.config.clone();
        let vb = VarBuilder::from_tensors(mapped.tensors, DType::F32, &Device::Cpu);
        let encoder = match kind {
            EncoderKind::Fast => Encoder::Fast(FastEncoder::load(
                vb.pp("model.encoder"),
                config.encoder_layers,
                config.encoder_attention_heads,
                config.d_model,
                config.num_mel_bins,
                config.max_source_positions,
            )?),
            EncoderKind::Candle => Encoder::Candle(Whisper::load(&vb, config.clone())?.encoder),
        };
        let decoder = Decoder::load(
            vb.pp("model.decoder"),
            config.decoder_layers,
            config.decoder_attention_heads,
            config.d_model,
            config.vocab_size,
            config.max_target_positions,
        )?;
        let tokens = SpecialTokens::new(&tokenizer, config.vocab_size, &ct2_config.lang_ids)?;
        let name = format!(
            "whisper-{}@ct2",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .trim_start_matches("whisper-")
        );
        Ok(Recognizer {
            encoder,
            decoder,
            tokenizer,
            tokens,
            mel: LogMel::new(config.num_mel_bins),
            padding: MelPadding::default(),
            suppress: ct2_config.suppress_ids,
            suppress_begin: ct2_config.suppress_ids_begin,
            config,
            name,
        })
    }

    /// The Hugging Face config derived from the weights.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Names the model, e.g. `whisper-tiny.en@ct2`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the model takes a language (multilingual) or is English-only.
    pub fn multilingual(&self) -> bool {
        self.tokens.multilingual
    }

    /// Transcribes 16 kHz mono samples. `locale` (BCP-47, e.g. `de-DE`)
    /// picks the language of a multilingual model; without one, or with one
    /// the model does not know, the language is detected from the first window.
    pub fn transcribe_pcm(
        &mut self,
        samples: &[f32],
        locale: Option<&str>,
    ) -> Result<Transcript, SpeechError> {
        let mel = self.mel.compute(samples, self.padding);
        let n_mels = self.mel.n_mels();
        let frames = mel.len() / n_mels;
        let windows = frames / WINDOW_FRAMES;
        let audio_seconds = samples.len() as f64 / SAMPLE_RATE as f64;
        let mut language = if self.tokens.multilingual {
            locale
                .and_then(language_of_locale)
                .and_then(|code| self.tokens.language(&code))
        } else {
            None
        };
        let mut segments = Vec::with_capacity(windows);
        for w in 0..windows {
            let start = (w * WINDOW_FRAMES * HOP) as f64 / SAMPLE_RATE as f64;
            let end = (start + 30.0).min(audio_seconds).max(start);
            let first = (w * WINDOW_FRAMES * HOP).min(samples.len());
            let last = ((w + 1) * WINDOW_FRAMES * HOP).min(samples.len());
            if peak_level_dbfs(&samples[first..last]) < SILENCE_DBFS {
                segments.push(Segment::silence(start, end));
                continue;
            }
            let mut window = Vec::with_capacity(n_mels * WINDOW_FRAMES);
            for m in 0..n_mels {
                let row = m * frames + w * WINDOW_FRAMES;
                window.extend_from_slice(&mel[row..row + WINDOW_FRAMES]);
            }
            let encoded = self.encode(window)?;
            if self.tokens.multilingual && language.is_none() {
                language = Some(self.detect_language(&encoded)?);
            }
            segments.push(self.decode_window(&encoded, language, start, end)?);
        }
        let language = match language {
            Some(id) => self.tokens.language_code(id).unwrap_or("?").to_owned(),
            None => "en".to_owned(),
        };
        Ok(Transcript::from_segments(
            segments,
            language,
            audio_seconds,
            self.name.clone(),
        ))
    }

    /// Encodes one window (`n_mels` rows of 3000 frames) to `(1, 1500, d)`.
    pub fn encode(&mut self, window: Vec<f32>) -> Result<Tensor, SpeechError> {
        let n_mels = self.mel.n_mels();
        match &mut self.encoder {
            Encoder::Fast(e) => {
                let out = e.forward(&window, WINDOW_FRAMES)?;
                let d = self.config.d_model;
                Ok(Tensor::from_vec(
                    out,
                    (1, WINDOW_FRAMES / 2, d),
                    &Device::Cpu,
                )?)
            }
            Encoder::Candle(e) => {
                let input = Tensor::from_vec(window, (1, n_mels, WINDOW_FRAMES), &Device::Cpu)?;
                Ok(e.forward(&input, true)?)
            }
        }
    }

    /// The most likely language token after `sot`.
    fn detect_language(&self, encoded: &Tensor) -> Result<u32, SpeechError> {
        let mut state = self.decoder.start(encoded)?;
        let logits = self.decoder.step(self.tokens.sot, &mut state)?;
        let best = self
            .tokens
            .languages
            .iter()
            .filter(|(_, id)| (*id as usize) < logits.len())
            .max_by(|a, b| logits[a.1 as usize].total_cmp(&logits[b.1 as usize]))
            .map(|&(_, id)| id);
        best.ok_or_else(|| SpeechError::Tokenizer("the model lists no language tokens".into()))
    }

    /// Rules out the tokens never to generate, those not to generate
    /// `first`, and every timestamp token (from `timestamp_begin` on).
    fn suppress(&self, logits: &mut [f32], first: bool, timestamp_begin: usize) {
        for &s in &self.suppress {
            if let Some(v) = logits.get_mut(s as usize) {
                *v = f32::NEG_INFINITY;
            }
        }
        if first {
            for &s in &self.suppress_begin {
                if let Some(v) = logits.get_mut(s as usize) {
                    *v = f32::NEG_INFINITY;
                }
            }
        }
        for v in logits.iter_mut().skip(timestamp_begin) {
            *v = f32::NEG_INFINITY;
        }
    }

    /// Greedy decoding of one window.
    fn decode_window(
        &self,
        encoded: &Tensor,
        language: Option<u32>,
        start_s: f64,
        end_s: f64,
    ) -> Result<Segment, SpeechError> {
        let mut state = self.decoder.start(encoded)?;
        let prompt = self.tokens.prompt(language);
        let mut logits = Vec::new();
        let mut no_speech_prob = 0f32;
        for (i, &t) in prompt.iter().enumerate() {
            logits = self.decoder.step(t, &mut state)?;
            if i == 0 {
                // OpenAI's definition: the no-speech token's probability
                // right after start-of-transcript, over the whole vocabulary.
                let mut probs = logits.clone();
                log_softmax(&mut probs);
                no_speech_prob = probs
                    .get(self.tokens.no_speech as usize)
                    .map_or(0.0, |p| p.exp());
            }
        }
        let max_new =
            (self.decoder.max_positions() / 2).min(self.decoder.max_positions() - prompt.len());
        let timestamp_begin = self.tokens.no_timestamps as usize + 1;
        let mut generated = Vec::new();
        let mut sum_logprob = 0f32;
        let mut scored = 0usize;
        for i in 0..max_new {
            self.suppress(&mut logits, i == 0, timestamp_begin);
            log_softmax(&mut logits);
            let Some(next) = argmax(&logits) else { break };
            sum_logprob += logits[next];
            scored += 1;
            let next = next as u32;
            if next == self.tokens.eot {
                break;
            }
            generated.push(next);
            if i + 1 == max_new {
                break;
            }
            logits = self.decoder.step(next, &mut state)?;
        }
        let text = self
            .tokenizer
            .decode(&generated, true)
            .map_err(|e| SpeechError::Tokenizer(e.to_string()))?
            .trim()
            .to_owned();
        let avg_logprob = if scored == 0 {
            f32::NEG_INFINITY
        } else {
            sum_logprob / scored as f32
        };
        let silent = no_speech_prob > NO_SPEECH_THRESHOLD && avg_logprob < LOGPROB_THRESHOLD
            || text.is_empty();
        Ok(Segment {
            start_s,
            end_s,
            text,
            tokens: generated.len(),
            token_ids: generated,
            avg_logprob,
            confidence: avg_logprob.exp(),
            no_speech_prob,
            silent,
        })
    }
}
