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

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use candle_core::{Device, Tensor};
use candle_transformers::models::whisper::Config;

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

struct Mapper<'a> {
    model: &'a Ct2Model,
    out: HashMap<String, Tensor>,
    consumed: BTreeSet<String>,
}

impl Mapper<'_> {
    fn shape(&self, name: &str) -> Result<Vec<usize>, SpeechError> {
        Ok(self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?
            .shape
            .clone())
    }

    /// The values of a float variable, marked as consumed.
    fn floats(&mut self, name: &str) -> Result<(Vec<f32>, Vec<usize>), SpeechError> {
        let var = self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?;
        let values = self.model.to_f32(var).ok_or_else(|| {
            bad(format!(
                "{name} is {}, not floating point",
                var.dtype.name()
            ))
        })?;
        self.consumed.insert(var.name.clone());
        Ok((values, var.shape.clone()))
    }

    fn scalar(&mut self, name: &str) -> Result<i64, SpeechError> {
        let var = self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?;
        let value = self
            .model
            .scalar(var)
            .ok_or_else(|| bad(format!("{name} is not an integer scalar")))?;
        self.consumed.insert(var.name.clone());
        Ok(value)
    }

    fn put(&mut self, name: String, values: Vec<f32>, shape: &[usize]) -> Result<(), SpeechError> {
        self.out
            .insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
        Ok(())
    }

    /// Copies `from/{weight,bias}` to `to.{weight,bias}`.
    fn linear(&mut self, from: &str, to: &str) -> Result<(), SpeechError> {
        for (a, b) in [("weight", "weight"), ("bias", "bias")] {
            let (v, s) = self.floats(&format!("{from}/{a}"))?;
            self.put(format!("{to}.{b}"), v, &s)?;
        }
        Ok(())
    }

    fn layer_norm(&mut self, from: &str, to: &str) -> Result<(), SpeechError> {
        for (a, b) in [("gamma", "weight"), ("beta", "bias")] {
            let (v, s) = self.floats(&format!("{from}/{a}"))?;
            self.put(format!("{to}.{b}"), v, &s)?;
        }
        Ok(())
    }

    /// Splits a fused `[parts·d, d]` linear into `targets` by rows. A target
    /// of `None` is the key part: its weight is kept, its bias dropped.
    fn split(
        &mut self,
        from: &str,
        to: &str,
        targets: &[&str],
        d: usize,
    ) -> Result<(), SpeechError> {
        let (w, ws) = self.floats(&format!("{from}/weight"))?;
        let (b, bs) = self.floats(&format!("{from}/bias"))?;
        let parts = targets.len();
        if ws != [parts * d, d] || bs != [parts * d] {
            return Err(bad(format!(
                "{from}: shapes {ws:?}/{bs:?}, expected [{}, {d}]",
                parts * d
            )));
        }
        for (i, target) in targets.iter().enumerate() {
            let rows = w[i * d * d..(i + 1) * d * d].to_vec();
            self.put(format!("{to}.{target}.weight"), rows, &[d, d])?;
            if *target != "k_proj" {
                let bias = b[i * d..(i + 1) * d].to_vec();
                self.put(format!("{to}.{target}.bias"), bias, &[d])?;
            }
        }
        Ok(())
    }

    fn block(&mut self, from: &str, to: &str, d: usize, cross: bool) -> Result<(), SpeechError> {
        self.split(
            &format!("{from}/self_attention/linear_0"),
            &format!("{to}.self_attn"),
            &["q_proj", "k_proj", "v_proj"],
            d,
        )?;
        self.linear(
            &format!("{from}/self_attention/linear_1"),
            &format!("{to}.self_attn.out_proj"),
        )?;
        self.layer_norm(
            &format!("{from}/self_attention/layer_norm"),
            &format!("{to}.self_attn_layer_norm"),
        )?;
        if cross {
            self.linear(
                &format!("{from}/attention/linear_0"),
                &format!("{to}.encoder_attn.q_proj"),
            )?;
            self.split(
                &format!("{from}/attention/linear_1"),
                &format!("{to}.encoder_attn"),
                &["k_proj", "v_proj"],
                d,
            )?;
            self.linear(
                &format!("{from}/attention/linear_2"),
                &format!("{to}.encoder_attn.out_proj"),
            )?;
            self.layer_norm(
                &format!("{from}/attention/layer_norm"),
                &format!("{to}.encoder_attn_layer_norm"),
            )?;
        }
        self.linear(&format!("{from}/ffn/linear_0"), &format!("{to}.fc1"))?;
        self.linear(&format!("{from}/ffn/linear_1"), &format!("{to}.fc2"))?;
        self.layer_norm(
            &format!("{from}/ffn/layer_norm"),
            &format!("{to}.final_layer_norm"),
        )
    }

    fn count_layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.model
                    .get(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
                    .is_some()
            })
            .count()
    }
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
    for (name, expected) in EXPECTED_FLAGS {
        let value = m.scalar(name)?;
        if value != expected {
            return Err(bad(format!(
                "{name} is {value}; candle's Whisper needs {expected}"
            )));
        }
    }
    for name in TIMESTAMP_ONLY {
        m.scalar(name)?;
    }
    let conv1 = m.shape("encoder/conv1/weight")?;
    let [d_model, num_mel_bins, 3] = conv1[..] else {
        return Err(bad(format!(
            "encoder/conv1/weight is {conv1:?}, not [d, mels, 3]"
        )));
    };
    let encoder_layers = m.count_layers("encoder");
    let decoder_layers = m.count_layers("decoder");
    let embeddings = m.shape("decoder/embeddings/weight")?;
    let dec_positions = m.shape("decoder/position_encodings/encodings")?;
    let enc_positions = m.shape("encoder/position_encodings/encodings")?;
    if embeddings.len() != 2 || embeddings[1] != d_model {
        return Err(bad(format!("decoder/embeddings/weight is {embeddings:?}")));
    }
    let encoder_heads = m.scalar("encoder/num_heads")?;
    let decoder_heads = m.scalar("decoder/num_heads")?;
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
    let config = Config {
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
    };

    for (conv, width) in [("conv1", num_mel_bins), ("conv2", d_model)] {
        let (w, s) = m.floats(&format!("encoder/{conv}/weight"))?;
        if s != [d_model, width, 3] {
            return Err(bad(format!("encoder/{conv}/weight is {s:?}")));
        }
        m.put(format!("model.encoder.{conv}.weight"), w, &s)?;
        let (b, s) = m.floats(&format!("encoder/{conv}/bias"))?;
        m.put(format!("model.encoder.{conv}.bias"), b, &s)?;
    }
    let (positions, s) = m.floats("encoder/position_encodings/encodings")?;
    if s != [config.max_source_positions, d_model] {
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
        m.block(
            &format!("encoder/layer_{i}"),
            &format!("model.encoder.layers.{i}"),
            d_model,
            false,
        )?;
    }
    m.layer_norm("encoder/layer_norm", "model.encoder.layer_norm")?;

    let (e, s) = m.floats("decoder/embeddings/weight")?;
    m.put("model.decoder.embed_tokens.weight".into(), e, &s)?;
    let (p, s) = m.floats("decoder/position_encodings/encodings")?;
    if s.len() != 2 || s[1] != d_model {
        return Err(bad(format!("decoder position encodings are {s:?}")));
    }
    m.put("model.decoder.embed_positions.weight".into(), p, &s)?;
    for i in 0..decoder_layers {
        m.block(
            &format!("decoder/layer_{i}"),
            &format!("model.decoder.layers.{i}"),
            d_model,
            true,
        )?;
    }
    m.layer_norm("decoder/layer_norm", "model.decoder.layer_norm")?;
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
