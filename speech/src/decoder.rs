//! Whisper's text decoder, one token at a time, with a key/value cache.
//!
//! candle's `TextDecoder` re-runs the whole token sequence at every step (it
//! caches only the cross-attention keys and values), so greedy decoding costs
//! grow with the square of the output. This decoder runs over the same
//! tensors (read from the same `VarBuilder`, under candle's names) and keeps,
//! per layer, the self-attention keys and values of the tokens seen so far
//! and the cross-attention keys and values of the encoder output, computed
//! once per 30 s window. A step costs the new token's work only.
//!
//! It also uses the exact (erf) GELU CTranslate2 and OpenAI use.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder};

use crate::error::SpeechError;

struct Attention {
    /// Query, key and value projections fused: `[3d, d]` (self-attention) or
    /// the query alone (cross-attention).
    q_or_qkv: Linear,
    /// Cross-attention key and value projections fused: `[2d, d]`.
    kv: Option<Linear>,
    out: Linear,
}

struct Layer {
    self_attn: Attention,
    self_ln: LayerNorm,
    cross_attn: Attention,
    cross_ln: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    mlp_ln: LayerNorm,
}

/// The decoder's weights.
pub struct Decoder {
    embed: Tensor,
    positions: Tensor,
    layers: Vec<Layer>,
    ln: LayerNorm,
    heads: usize,
    d: usize,
    vocab: usize,
}

/// Cached keys and values for one sequence being decoded.
pub struct DecodeState {
    /// Per layer: self-attention keys `(heads, dh, n)` and values `(heads, n, dh)`.
    self_kv: Vec<Option<(Tensor, Tensor)>>,
    /// Per layer: cross-attention keys `(heads, dh, frames)` and values `(heads, frames, dh)`.
    cross_kv: Vec<(Tensor, Tensor)>,
    /// Tokens fed so far.
    pub position: usize,
}

fn layer_norm(vb: &VarBuilder, d: usize) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(d, "weight")?,
        vb.get(d, "bias")?,
        1e-5,
    ))
}

fn linear(vb: &VarBuilder, rows: usize, cols: usize) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((rows, cols), "weight")?,
        Some(vb.get(rows, "bias")?),
    ))
}

/// Concatenates projections by rows; a missing bias (the key's) is zero.
fn fused(vb: &VarBuilder, parts: &[&str], d: usize) -> candle_core::Result<Linear> {
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for p in parts {
        let v = vb.pp(*p);
        weights.push(v.get((d, d), "weight")?);
        biases.push(if *p == "k_proj" {
            Tensor::zeros(d, DType::F32, &Device::Cpu)?
        } else {
            v.get(d, "bias")?
        });
    }
    Ok(Linear::new(
        Tensor::cat(&weights, 0)?,
        Some(Tensor::cat(&biases, 0)?),
    ))
}

impl Decoder {
    /// Reads the decoder from `vb` (prefix `model.decoder`).
    pub fn load(
        vb: VarBuilder,
        layers: usize,
        heads: usize,
        d: usize,
        vocab: usize,
        n_ctx: usize,
    ) -> Result<Decoder, SpeechError> {
        let mut out = Vec::with_capacity(layers);
        for i in 0..layers {
            let l = vb.pp(format!("layers.{i}"));
            let sa = l.pp("self_attn");
            let ca = l.pp("encoder_attn");
            out.push(Layer {
                self_attn: Attention {
                    q_or_qkv: fused(&sa, &["q_proj", "k_proj", "v_proj"], d)?,
                    kv: None,
                    out: linear(&sa.pp("out_proj"), d, d)?,
                },
                self_ln: layer_norm(&l.pp("self_attn_layer_norm"), d)?,
                cross_attn: Attention {
                    q_or_qkv: linear(&ca.pp("q_proj"), d, d)?,
                    kv: Some(fused(&ca, &["k_proj", "v_proj"], d)?),
                    out: linear(&ca.pp("out_proj"), d, d)?,
                },
                cross_ln: layer_norm(&l.pp("encoder_attn_layer_norm"), d)?,
                fc1: linear(&l.pp("fc1"), 4 * d, d)?,
                fc2: linear(&l.pp("fc2"), d, 4 * d)?,
                mlp_ln: layer_norm(&l.pp("final_layer_norm"), d)?,
            });
        }
        Ok(Decoder {
            embed: vb.pp("embed_tokens").get((vocab, d), "weight")?,
            positions: vb.get((n_ctx, d), "embed_positions.weight")?,
            layers: out,
            ln: layer_norm(&vb.pp("layer_norm"), d)?,
            heads,
            d,
            vocab,
        })
    }

    /// Longest token sequence the decoder can hold.
    pub fn max_positions(&self) -> usize {
        self.positions.dim(0).unwrap_or(0)
    }

    /// Vocabulary size (rows of the tied output projection).
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// `(n, d)` to `(heads, n, dh)`.
    fn heads_first(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = x.dim(0)?;
        x.reshape((n, self.heads, self.d / self.heads))?
            .transpose(0, 1)?
            .contiguous()
    }

    /// A fresh state for decoding against `encoded` (`(1, frames, d)`): the
    /// cross-attention keys and values of every layer, computed once.
    pub fn start(&self, encoded: &Tensor) -> Result<DecodeState, SpeechError> {
        let xa = encoded.squeeze(0)?;
        let mut cross_kv = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let Some(kv) = &layer.cross_attn.kv else {
                return Err(SpeechError::Mapping("cross-attention without keys".into()));
            };
            let kv = kv.forward(&xa)?;
            let k = self.heads_first(&kv.narrow(1, 0, self.d)?)?;
            let v = self.heads_first(&kv.narrow(1, self.d, self.d)?)?;
            cross_kv.push((k.transpose(1, 2)?.contiguous()?, v));
        }
        Ok(DecodeState {
            self_kv: vec![None; self.layers.len()],
            cross_kv,
            position: 0,
        })
    }

    /// Scaled dot-product attention of one query `(heads, 1, dh)` over keys
    /// `(heads, dh, n)` and values `(heads, n, dh)`; returns `(1, d)`.
    fn attend(&self, q: &Tensor, k_t: &Tensor, v: &Tensor) -> candle_core::Result<Tensor> {
        let scale = 1.0 / ((self.d / self.heads) as f64).sqrt();
        let scores = (q.matmul(k_t)? * scale)?;
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        weights.matmul(v)?.reshape((1, self.d))
    }

    /// Feeds `token` at the state's position; returns the logits of the next token.
    pub fn step(&self, token: u32, state: &mut DecodeState) -> Result<Vec<f32>, SpeechError> {
        if state.position >= self.max_positions() {
            return Err(SpeechError::Mapping(format!(
                "decoder context of {} tokens is full",
                self.max_positions()
            )));
        }
        if token as usize >= self.vocab {
            return Err(SpeechError::Mapping(format!(
                "token {token} outside the vocabulary"
            )));
        }
        let d = self.d;
        let mut x = (self.embed.narrow(0, token as usize, 1)?
            + self.positions.narrow(0, state.position, 1)?)?;
        for (i, layer) in self.layers.iter().enumerate() {
            // Self-attention over the cache plus this token.
            let qkv = layer
                .self_attn
                .q_or_qkv
                .forward(&layer.self_ln.forward(&x)?)?;
            let q = self.heads_first(&qkv.narrow(1, 0, d)?)?;
            let k_t = self.heads_first(&qkv.narrow(1, d, d)?)?.transpose(1, 2)?;
            let v = self.heads_first(&qkv.narrow(1, 2 * d, d)?)?;
            let (k_t, v) = match state.self_kv[i].take() {
                None => (k_t.contiguous()?, v),
                Some((pk, pv)) => (Tensor::cat(&[&pk, &k_t], 2)?, Tensor::cat(&[&pv, &v], 1)?),
            };
            let a = self.attend(&q, &k_t, &v)?;
            state.self_kv[i] = Some((k_t, v));
            x = (x + layer.self_attn.out.forward(&a)?)?;
            // Cross-attention over the encoded audio.
            let q = layer
                .cross_attn
                .q_or_qkv
                .forward(&layer.cross_ln.forward(&x)?)?;
            let (ck, cv) = &state.cross_kv[i];
            let a = self.attend(&self.heads_first(&q)?, ck, cv)?;
            x = (x + layer.cross_attn.out.forward(&a)?)?;
            // Feed-forward.
            let h = layer.fc1.forward(&layer.mlp_ln.forward(&x)?)?.gelu_erf()?;
            x = (x + layer.fc2.forward(&h)?)?;
        }
        let x = self.ln.forward(&x)?;
        let logits = x.matmul(&self.embed.t()?)?.squeeze(0)?;
        state.position += 1;
        Ok(logits.to_dtype(DType::F32)?.to_vec1::<f32>()?)
    }
}

/// `log_softmax` of `logits` in place; entries at `-inf` stay there.
pub fn log_softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return;
    }
    let sum: f32 = logits.iter().map(|v| (v - max).exp()).sum();
    let log_sum = max + sum.ln();
    for v in logits {
        *v -= log_sum;
    }
}

/// Index of the largest value (the first of equals); `None` for an empty slice.
pub fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f32)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// log_softmax gives log-probabilities that sum to one, leaves suppressed
    /// (−inf) entries suppressed, and keeps the order.
    #[test]
    fn log_softmax_is_a_distribution() {
        let mut v = vec![1.0, 2.0, f32::NEG_INFINITY, 3.0];
        log_softmax(&mut v);
        let total: f32 = v.iter().map(|x| x.exp()).sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert_eq!(v[2], f32::NEG_INFINITY);
        assert_eq!(argmax(&v), Some(3));
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[0.5, 0.5]), Some(0));
    }
}
