//! From CTranslate2's Whisper variables to the tensor names of
//! `candle_transformers::models::whisper` (Hugging Face's names), in memory.
//!
//! | CTranslate2                                   | candle / Hugging Face                          |
//! |-----------------------------------------------|------------------------------------------------|
//! | `{enc,dec}/layer_i/self_attention/linear_0`   | `self_attn.{q,k,v}_proj` (rows split in three) |
//! | `{enc,dec}/layer_i/self_attention/linear_1`   | `self_attn.out_proj`                           |
//! | `{enc,dec}/layer_i/self_attention/layer_norm` | `self_attn_layer_norm`                         |
//! | `decoder/layer_i/attention/linear_0`          | `encoder_attn.q_proj`                          |
//! | `decoder/layer_i/attention/linear_1`          | `encoder_attn.{k,v}_proj` (rows split in two)  |
//! | `decoder/layer_i/attention/linear_2`          | `encoder_attn.out_proj`                        |
//! | `decoder/layer_i/attention/layer_norm`        | `encoder_attn_layer_norm`                      |
//! | `*/ffn/layer_norm`, `ffn/linear_{0,1}`        | `final_layer_norm`, `fc1`, `fc2`               |
//! | `*/layer_norm/{gamma,beta}`                   | `layer_norm.{weight,bias}`                     |
//! | `decoder/embeddings`                          | `embed_tokens` (and, by alias, the projection) |
//! | `decoder/position_encodings`                  | `embed_positions`                              |
//!
//! Three variables have no tensor on the candle side and are checked instead:
//! the key bias of every attention (candle's `k_proj` has none: a bias on the
//! keys adds the same `q·b` to every score of a query, which softmax cancels,
//! so dropping it is exact whatever its value); the encoder's position
//! encodings (candle computes the same sinusoids; they must agree); and the
//! decoder projection, which must be an alias of the embeddings (tied).
//! The scalars say how the model computes (GELU, pre-norm, no ALiBi, ...) and
//! are checked to be what candle's Whisper does; the head counts go into the
//! [`Config`], whose other numbers come from tensor shapes.

mod mapper;

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use candle_core::Tensor;
use candle_transformers::models::whisper::Config;

use mapper::Mapper;

use crate::{ct2::Ct2Model, error::SpeechError};

/// Tensors under candle's names, the config, and which CTranslate2 variables
/// were used (all of them, for a model that maps).
pub struct Mapped {
    /// Hugging Face config derived from shapes, head counts and `config.json`.
    pub config: Config,
    /// Tensors named as `candle_transformers::models::whisper` expects.
    pub tensors: HashMap<String, Tensor>,
    /// CTranslate2 variable names the mapping read or checked.
    pub consumed: BTreeSet<String>,
}

/// The scalars a Whisper spec carries and the values candle's Whisper assumes.
/// `activation` 3 is CTranslate2's `ActivationType::GELU`.
const EXPECTED_FLAGS: [(&str, i64); 5] = [
    ("decoder/activation", 3),
    ("decoder/pre_norm", 1),
    ("decoder/alibi", 0),
    ("decoder/scale_embeddings", 0),
    ("decoder/start_from_zero_embedding", 0),
];

/// Used by CTranslate2 for word timestamps only, which qloop does not produce.
const TIMESTAMP_ONLY: [&str; 2] = ["decoder/alignment_heads", "decoder/alignment_layer"];

/// Largest difference allowed between the stored encoder position encodings
/// (float16) and the sinusoids candle computes; float16 rounding of values in
/// [-1, 1] is below 2^-11 ≈ 4.9e-4.
pub const POSITION_TOLERANCE: f32 = 1e-3;

fn bad(msg: impl Into<String>) -> SpeechError {
    SpeechError::Mapping(msg.into())
}

/// The sinusoidal position encodings of Whisper's encoder (as candle and
/// OpenAI compute them): sin in the first half of the channels, cos in the second.
pub fn sinusoids(length: usize, channels: usize) -> Vec<f32> {
    let half = channels / 2;
    let step = (10000f32).ln() / (half.max(2) - 1) as f32;
    let mut out = vec![0f32; length * channels];
    for t in 0..length {
        for i in 0..half {
            let angle = t as f32 * (-(i as f32) * step).exp();
            out[t * channels + i] = angle.sin();
            out[t * channels + half + i] = angle.cos();
        }
    }
    out
}

/// The CTranslate2 `config.json` fields qloop uses.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Ct2Config {
    /// Tokens never to generate.
    #[serde(default)]
    pub suppress_ids: Vec<u32>,
    /// Tokens not to generate first (the blank and end-of-text).
    #[serde(default)]
    pub suppress_ids_begin: Vec<u32>,
    /// Language token ids (multilingual models).
    #[serde(default)]
    pub lang_ids: Vec<u32>,
}

impl Ct2Config {
    /// Reads `config.json` of a CTranslate2 model folder.
    pub fn read(path: &Path) -> Result<Ct2Config, SpeechError> {
        let err = |reason: String| SpeechError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| err(e.to_string()))
    }
}

impl Mapper<'_> {
    /// Checks the flags candle's Whisper relies on and reads the model's
    /// sizes from the shapes and scalars of its variables.
    fn config(&mut self, ct2: &Ct2Config) -> Result<Config, SpeechError> {
        for (name, expected) in EXPECTED_FLAGS {
            let value = self.scalar(name)?;
            if value != expected {
                return Err(bad(format!(
                    "{name} is {value}; candle's Whisper needs {expected}"
                )));
            }
        }
        for name in TIMESTAMP_ONLY {
            self.scalar(name)?;
        }
        let conv1 = self.shape("encoder/conv1/weight")?;
        let [d_model, num_mel_bins, 3] = conv1[..] else {
            return Err(bad(format!(
                "encoder/conv1/weight is {conv1:?}, not [d, mels, 3]"
            )));
        };
        let encoder_layers = self.count_layers("encoder");
        let decoder_layers = self.count_layers("decoder");
        let embeddings = self.shape("decoder/embeddings/weight")?;
        let dec_positions = self.shape("decoder/position_encodings/encodings")?;
        let enc_positions = self.shape("encoder/position_encodings/encodings")?;
        if embeddings.len() != 2 || embeddings[1] != d_model {
            return Err(bad(format!("decoder/embeddings/weight is {embeddings:?}")));
        }
        let encoder_heads = self.scalar("encoder/num_heads")?;
        let decoder_heads = self.scalar("decoder/num_heads")?;
        let heads_fit = |h: i64| h > 0 && d_model % h as usize == 0;
        if !heads_fit(encoder_heads)
            || !heads_fit(decoder_heads)
            || encoder_layers == 0
            || decoder_layers == 0
        {
            return Err(bad(format!(
                "{encoder_layers}/{decoder_layers} layers, {encoder_heads}/{decoder_heads} heads for d_model {d_model}"
            )));
        }
        Ok(Config {
            num_mel_bins,
            max_source_positions: enc_positions.first().copied().unwrap_or(0),
            d_model,
            encoder_attention_heads: encoder_heads as usize,
            encoder_layers,
            vocab_size: embeddings[0],
            max_target_positions: dec_positions.first().copied().unwrap_or(0),
            decoder_attention_heads: decoder_heads as usize,
            decoder_layers,
            suppress_tokens: ct2.suppress_ids.clone(),
        })
    }

    /// The encoder: convolutions, position encodings (checked to be the
    /// sinusoids candle computes), layers and final norm.
    fn encoder(&mut self, config: &Config) -> Result<(), SpeechError> {
        let Config {
            num_mel_bins,
            d_model,
            max_source_positions,
            encoder_layers,
            ..
        } = *config;
        for (conv, width) in [("conv1", num_mel_bins), ("conv2", d_model)] {
            let (w, s) = self.floats(&format!("encoder/{conv}/weight"))?;
            if s != [d_model, width, 3] {
                return Err(bad(format!("encoder/{conv}/weight is {s:?}")));
            }
            self.put(format!("model.encoder.{conv}.weight"), w, &s)?;
            let (b, s) = self.floats(&format!("encoder/{conv}/bias"))?;
            self.put(format!("model.encoder.{conv}.bias"), b, &s)?;
        }
        let (positions, s) = self.floats("encoder/position_encodings/encodings")?;
        if s != [max_source_positions, d_model] {
            return Err(bad(format!("encoder position encodings are {s:?}")));
        }
        let computed = sinusoids(s[0], d_model);
        let worst = positions
            .iter()
            .zip(&computed)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        if worst > POSITION_TOLERANCE {
            return Err(bad(format!(
                "encoder position encodings differ from sinusoids by {worst}"
            )));
        }
        for i in 0..encoder_layers {
            self.block(
                &format!("encoder/layer_{i}"),
                &format!("model.encoder.layers.{i}"),
                d_model,
                false,
            )?;
        }
        self.layer_norm("encoder/layer_norm", "model.encoder.layer_norm")?;
        Ok(())
    }

    /// The decoder: token and position embeddings, layers and final norm.
    fn decoder(&mut self, config: &Config) -> Result<(), SpeechError> {
        let Config {
            d_model,
            decoder_layers,
            ..
        } = *config;
        let (e, s) = self.floats("decoder/embeddings/weight")?;
        self.put("model.decoder.embed_tokens.weight".into(), e, &s)?;
        let (p, s) = self.floats("decoder/position_encodings/encodings")?;
        if s.len() != 2 || s[1] != d_model {
            return Err(bad(format!("decoder position encodings are {s:?}")));
        }
        self.put("model.decoder.embed_positions.weight".into(), p, &s)?;
        for i in 0..decoder_layers {
            self.block(
                &format!("decoder/layer_{i}"),
                &format!("model.decoder.layers.{i}"),
                d_model,
                true,
            )?;
        }
        self.layer_norm("decoder/layer_norm", "model.decoder.layer_norm")?;
        Ok(())
    }
}

/// Renames and splits every variable of a CTranslate2 Whisper model.
pub fn map_whisper(model: &Ct2Model, ct2: &Ct2Config) -> Result<Mapped, SpeechError> {
    if model.spec != "WhisperSpec" {
        return Err(bad(format!("spec is {:?}, not WhisperSpec", model.spec)));
    }
    let mut m = Mapper {
        model,
        out: HashMap::new(),
        consumed: BTreeSet::new(),
    };
    let config = m.config(ct2)?;
    m.encoder(&config)?;
    m.decoder(&config)?;
    let tied = model
        .aliases
        .iter()
        .any(|(a, t)| a == "decoder/projection/weight" && t == "decoder/embeddings/weight");
    if !tied {
        return Err(bad(
            "decoder/projection/weight is not tied to the embeddings",
        ));
    }
    Ok(Mapped {
        config,
        tensors: m.out,
        consumed: m.consumed,
    })
}
