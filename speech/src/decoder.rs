//! Whisper's text decoder, one token at a time, with a key/value cache.
//!
//! candle's `TextDecoder` re-runs the whole token sequence at every step (it
//! caches only the cross-attention keys and values), so greedy decoding costs
//! grow with the square of the output. This decoder reads the same tensors
//! (from the same `VarBuilder`, under candle's names) into plain buffers and
//! keeps, per layer, the self-attention keys and values of the tokens seen so
//! far and the cross-attention keys and values of the encoder output,
//! computed once per 30 s window. A step costs the new token's work only.
//!
//! A step is bound by reading memory: for tiny.en, 33 MB of layer weights,
//! the 80 MB tied output projection and 18 MB of cross-attention keys and
//! values, once per token. So the output projection is split over rayon's
//! threads ([`qloop_kernels::matvec_acc`]), the heads of cross-attention run
//! in parallel over contiguous per-head blocks, and no step goes through
//! candle's tensors.
//!
//! It uses the exact (erf) GELU CTranslate2 and OpenAI use.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use qloop_kernels::{matmul, matvec_acc, parallelism, softmax_exp, Parallelism};
use rayon::prelude::*;

use crate::{
    error::SpeechError,
    layers::{gelu_par, layer_norm, linear, norm, vec, Linear, Norm},
};

struct Layer {
    self_ln: Norm,
    /// Query, key and value projections fused: `[3d, d]`.
    self_qkv: Linear,
    self_out: Linear,
    cross_ln: Norm,
    cross_q: Linear,
    /// Cross-attention key and value projections fused: `[2d, d]`.
    cross_kv: Linear,
    cross_out: Linear,
    mlp_ln: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// The decoder's weights.
pub struct Decoder {
    /// Token embeddings `[vocab, d]`, also the output projection (tied).
    embed: Vec<f32>,
    /// Learned positions `[n_ctx, d]`.
    positions: Vec<f32>,
    layers: Vec<Layer>,
    ln: Norm,
    heads: usize,
    d: usize,
    vocab: usize,
    n_ctx: usize,
}

/// Cached keys and values for one sequence being decoded.
pub struct DecodeState {
    /// Per layer: the self-attention keys, then values, of each token fed,
    /// `(position, d)` row-major each.
    self_k: Vec<Vec<f32>>,
    self_v: Vec<Vec<f32>>,
    /// Per layer: cross-attention keys then values, transposed: `(2d, frames)`.
    cross_kv: Vec<Vec<f32>>,
    frames: usize,
    /// Tokens fed so far.
    pub position: usize,
}

/// Concatenates projections by rows; a missing bias (the key's) is zero.
fn fused(vb: &VarBuilder, parts: &[&str], d: usize) -> Result<Linear, SpeechError> {
    let mut weight = Vec::with_capacity(parts.len() * d * d);
    let mut bias = Vec::with_capacity(parts.len() * d);
    for p in parts {
        let v = vb.pp(*p);
        weight.extend(vec(v.get((d, d), "weight")?)?);
        if *p == "k_proj" {
            bias.extend(std::iter::repeat_n(0.0, d));
        } else {
            bias.extend(vec(v.get(d, "bias")?)?);
        }
    }
    Ok(Linear {
        weight,
        bias,
        inputs: d,
        outputs: parts.len() * d,
    })
}

/// One head's scaled dot-product attention of `q` (`dh` values) over `n`
/// keys and values, each given as (buffer, stride between positions, stride
/// between a position's values). Writes `out` (`dh` values).
fn attend_head(
    q: &[f32],
    (keys, k_ts, k_js): (&[f32], usize, usize),
    (values, v_ts, v_js): (&[f32], usize, usize),
    n: usize,
    scale: f32,
    out: &mut [f32],
) {
    let dh = q.len();
    let mut scores = vec![0f32; n];
    // scores (1×n) = q (1×dh) · Kᵀ (dh×n)
    matmul(
        (1, n, dh),
        &mut scores,
        n,
        false,
        q,
        (dh, 1),
        keys,
        (k_js, k_ts),
        Parallelism::None,
    );
    let inv = 1.0 / softmax_exp(&mut scores, scale);
    // out (1×dh) = p (1×n) · V (n×dh)
    matmul(
        (1, dh, n),
        out,
        dh,
        false,
        &scores,
        (n, 1),
        values,
        (v_ts, v_js),
        Parallelism::None,
    );
    out.iter_mut().for_each(|v| *v *= inv);
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
                self_ln: norm(&l.pp("self_attn_layer_norm"), d)?,
                self_qkv: fused(&sa, &["q_proj", "k_proj", "v_proj"], d)?,
                self_out: linear(&sa.pp("out_proj"), d, d)?,
                cross_ln: norm(&l.pp("encoder_attn_layer_norm"), d)?,
                cross_q: linear(&ca.pp("q_proj"), d, d)?,
                cross_kv: fused(&ca, &["k_proj", "v_proj"], d)?,
                cross_out: linear(&ca.pp("out_proj"), d, d)?,
                mlp_ln: norm(&l.pp("final_layer_norm"), d)?,
                fc1: linear(&l.pp("fc1"), 4 * d, d)?,
                fc2: linear(&l.pp("fc2"), d, 4 * d)?,
            });
        }
        if heads == 0 || !d.is_multiple_of(heads) {
            return Err(SpeechError::Mapping(format!(
                "{heads} heads do not divide the width {d}"
            )));
        }
        Ok(Decoder {
            embed: vec(vb.pp("embed_tokens").get((vocab, d), "weight")?)?,
            positions: vec(vb.get((n_ctx, d), "embed_positions.weight")?)?,
            layers: out,
            ln: norm(&vb.pp("layer_norm"), d)?,
            heads,
            d,
            vocab,
            n_ctx,
        })
    }

    /// Longest token sequence the decoder can hold.
    pub fn max_positions(&self) -> usize {
        self.n_ctx
    }

    /// Vocabulary size (rows of the tied output projection).
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// A fresh state for decoding against `encoded` (`(1, frames, d)`): the
    /// cross-attention keys and values of every layer, computed once.
    pub fn start(&self, encoded: &Tensor) -> Result<DecodeState, SpeechError> {
        let xa = vec(encoded.clone())?;
        let frames = xa.len() / self.d;
        if frames == 0 || frames * self.d != xa.len() {
            return Err(SpeechError::Mapping(format!(
                "encoder output of {} values is not frames of {}",
                xa.len(),
                self.d
            )));
        }
        // Per layer, keys and values transposed, `(2d, frames)`: KVᵀ =
        // W_kv (2d × d) · xaᵀ (d × frames) in one product, and each head's
        // keys (rows h·dh..) and values (rows d + h·dh..) are contiguous
        // blocks that a step reads front to back.
        let cross_kv = self
            .layers
            .iter()
            .map(|layer| {
                let kv = &layer.cross_kv;
                let mut out = vec![0f32; kv.outputs * frames];
                for (row, bias) in out.chunks_exact_mut(frames).zip(&kv.bias) {
                    row.fill(*bias);
                }
                matmul(
                    (kv.outputs, frames, kv.inputs),
                    &mut out,
                    frames,
                    true,
                    &kv.weight,
                    (kv.inputs, 1),
                    &xa,
                    (1, kv.inputs),
                    parallelism(),
                );
                out
            })
            .collect();
        let cache = || {
            (0..self.layers.len())
                .map(|_| Vec::with_capacity(self.n_ctx.min(64) * self.d))
                .collect()
        };
        Ok(DecodeState {
            self_k: cache(),
            self_v: cache(),
            cross_kv,
            frames,
            position: 0,
        })
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
        let dh = d / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let (t, p) = (token as usize, state.position);
        let mut x: Vec<f32> = self.embed[t * d..(t + 1) * d]
            .iter()
            .zip(&self.positions[p * d..(p + 1) * d])
            .map(|(e, p)| e + p)
            .collect();
        let n = p + 1;
        for (i, layer) in self.layers.iter().enumerate() {
            // Self-attention over the cache plus this token.
            let qkv = layer
                .self_qkv
                .forward(&layer_norm(&x, &layer.self_ln), 1, None);
            let (k, v) = (&mut state.self_k[i], &mut state.self_v[i]);
            k.extend_from_slice(&qkv[d..2 * d]);
            v.extend_from_slice(&qkv[2 * d..]);
            let mut a = vec![0f32; d];
            for (h, out) in a.chunks_exact_mut(dh).enumerate() {
                let at = h * dh;
                let q = &qkv[at..at + dh];
                attend_head(q, (&k[at..], d, 1), (&v[at..], d, 1), n, scale, out);
            }
            x = layer.self_out.forward(&a, 1, Some(x));
            // Cross-attention over the encoded audio, a head per task.
            let q = layer
                .cross_q
                .forward(&layer_norm(&x, &layer.cross_ln), 1, None);
            let kv = &state.cross_kv[i];
            let mut a = vec![0f32; d];
            let frames = state.frames;
            a.par_chunks_mut(dh).enumerate().for_each(|(h, out)| {
                let q = &q[h * dh..(h + 1) * dh];
                let keys = (&kv[h * dh * frames..], 1, frames);
                let values = (&kv[(d + h * dh) * frames..], 1, frames);
                attend_head(q, keys, values, frames, scale, out);
            });
            x = layer.cross_out.forward(&a, 1, Some(x));
            // Feed-forward.
            let mut h = layer.fc1.forward(&layer_norm(&x, &layer.mlp_ln), 1, None);
            gelu_par(&mut h);
            x = layer.fc2.forward(&h, 1, Some(x));
        }
        let x = layer_norm(&x, &self.ln);
        let mut logits = vec![0f32; self.vocab];
        matvec_acc(&self.embed, &x, &mut logits);
        state.position += 1;
        Ok(logits)
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
