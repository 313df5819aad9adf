//! Whisper's audio encoder written for the CPU, over the same tensors as
//! candle's `AudioEncoder` (read from the same `VarBuilder`).
//!
//! Timing candle's encoder on tiny.en (2 threads, one 30 s window, ~850 ms)
//! showed matmuls under half of the time; the rest was element-wise work on
//! one thread: tanh-GELU (42 ms per 1500×1536 call), a softmax over the
//! materialised 6×1500×1500 scores (47 ms), scaling passes and copies for the
//! head layout. Here:
//!
//! - the convolutions are one matmul each over an im2col copy, time-major, so
//!   no transposes follow;
//! - gemm accumulates into outputs that already hold the bias (and the
//!   residual): no add passes;
//! - GELU is the exact (erf) one CTranslate2 and OpenAI use; it, the
//!   softmax's exponentials and layer norm are `qloop_kernels`' (shared
//!   with the embedding encoder), vectorised for AVX-512 or AVX2 and split
//!   across threads (the softmax was scalar and took 150 of 545 ms of CPU
//!   per tiny.en window; now 16);
//! - attention runs per (head, block of 100 queries): a 100×1500 score block
//!   that stays in cache, exponentials summed in the same pass, and the value
//!   product normalised afterwards (64 products per row instead of 1500) and
//!   written straight into the head's columns.
//!
//! What is left is gemm at its peak: ~37 GFLOP per tiny.en window, of
//! 400 ms of CPU time about 380 ms in matmuls at ~95 GFLOP/s per core.
//!
//! `tests/encoder_parity.rs` holds it to candle's encoder.

use candle_nn::VarBuilder;
use qloop_kernels::{matmul, softmax_exp, Parallelism};
use rayon::prelude::*;

use crate::{
    error::SpeechError,
    layers::{gelu_par, layer_norm, linear, norm, vec, Linear, Norm},
    mapping::sinusoids,
};

struct Layer {
    attn_ln: Norm,
    qkv: Linear,
    out: Linear,
    mlp_ln: Norm,
    fc1: Linear,
    fc2: Linear,
}

/// The encoder's weights, as plain row-major buffers.
pub struct FastEncoder {
    conv1: Linear,
    conv2: Linear,
    positions: Vec<f32>,
    layers: Vec<Layer>,
    ln_post: Norm,
    d: usize,
    heads: usize,
    n_mels: usize,
}

/// Row stride of the fused Q | K | V projection: `3d` rounded up to an odd
/// number of 64-byte lines. Attention reads one head's keys and values down
/// the rows; at base's `3d` = 1536 floats (6 KB, 96 lines) those rows fell
/// into 1/32 of the L2 cache's sets and attention ran at 64 GFLOP/s per
/// core instead of tiny.en's 90.
fn qkv_stride(d: usize) -> usize {
    let lines = (3 * d).div_ceil(16);
    (lines | 1) * 16
}

impl FastEncoder {
    /// Reads the encoder from `vb` (prefix `model.encoder`).
    pub fn load(
        vb: VarBuilder,
        layers: usize,
        heads: usize,
        d: usize,
        n_mels: usize,
        positions: usize,
    ) -> Result<FastEncoder, SpeechError> {
        let conv = |name: &str, inputs: usize| -> Result<Linear, SpeechError> {
            let v = vb.pp(name);
            // [out, in, 3] row-major is [out, in·3]: im2col columns are in·3 + k.
            Ok(Linear {
                weight: vec(v.get((d, inputs, 3), "weight")?)?,
                bias: vec(v.get(d, "bias")?)?,
                inputs: inputs * 3,
                outputs: d,
            })
        };
        let mut out = Vec::with_capacity(layers);
        for i in 0..layers {
            let l = vb.pp(format!("layers.{i}"));
            let sa = l.pp("self_attn");
            let q = linear(&sa.pp("q_proj"), d, d)?;
            let v = linear(&sa.pp("v_proj"), d, d)?;
            let k = vec(sa.pp("k_proj").get((d, d), "weight")?)?;
            out.push(Layer {
                attn_ln: norm(&l.pp("self_attn_layer_norm"), d)?,
                qkv: Linear {
                    weight: [q.weight, k, v.weight].concat(),
                    bias: [q.bias, vec![0.0; d], v.bias].concat(),
                    inputs: d,
                    outputs: 3 * d,
                },
                out: linear(&sa.pp("out_proj"), d, d)?,
                mlp_ln: norm(&l.pp("final_layer_norm"), d)?,
                fc1: linear(&l.pp("fc1"), 4 * d, d)?,
                fc2: linear(&l.pp("fc2"), d, 4 * d)?,
            });
        }
        Ok(FastEncoder {
            conv1: conv("conv1", n_mels)?,
            conv2: conv("conv2", d)?,
            positions: sinusoids(positions, d),
            layers: out,
            ln_post: norm(&vb.pp("layer_norm"), d)?,
            d,
            heads,
            n_mels,
        })
    }

    /// Encodes one window: `mel` is `n_mels` rows of `frames` values; the
    /// result is `(frames / 2) × d`, row-major.
    pub fn forward(&self, mel: &[f32], frames: usize) -> Result<Vec<f32>, SpeechError> {
        let d = self.d;
        let t2 = frames / 2;
        if mel.len() != self.n_mels * frames || t2 * d > self.positions.len() {
            return Err(SpeechError::Mapping(format!(
                "encoder input of {} values for {frames} frames",
                mel.len()
            )));
        }
        // conv1 (stride 1, pad 1): im2col rows t, columns c·3 + k = mel[c][t+k-1].
        let c1 = self.n_mels * 3;
        let mut cols = vec![0f32; frames * c1];
        cols.par_chunks_mut(c1).enumerate().for_each(|(t, row)| {
            for c in 0..self.n_mels {
                for k in 0..3 {
                    let src = t + k;
                    if (1..=frames).contains(&src) {
                        row[c * 3 + k] = mel[c * frames + src - 1];
                    }
                }
            }
        });
        let mut h = self.conv1.forward(&cols, frames, None);
        gelu_par(&mut h);
        // conv2 (stride 2, pad 1): rows t, columns c·3 + k = h[2t+k-1][c].
        let c2 = d * 3;
        let mut cols = vec![0f32; t2 * c2];
        cols.par_chunks_mut(c2).enumerate().for_each(|(t, row)| {
            for k in 0..3 {
                let src = 2 * t + k;
                if (1..=frames).contains(&src) {
                    let from = &h[(src - 1) * d..src * d];
                    for (c, v) in from.iter().enumerate() {
                        row[c * 3 + k] = *v;
                    }
                }
            }
        });
        let mut x = self.conv2.forward(&cols, t2, None);
        gelu_par(&mut x);
        x.iter_mut()
            .zip(&self.positions[..t2 * d])
            .for_each(|(a, p)| *a += p);
        for layer in &self.layers {
            let qkv_rs = qkv_stride(d);
            let qkv = layer
                .qkv
                .forward_strided(&layer_norm(&x, &layer.attn_ln), t2, qkv_rs);
            let ctx = self.attention(&qkv, qkv_rs, t2);
            x = layer.out.forward(&ctx, t2, Some(x));
            let mut hidden = layer.fc1.forward(&layer_norm(&x, &layer.mlp_ln), t2, None);
            gelu_par(&mut hidden);
            x = layer.fc2.forward(&hidden, t2, Some(x));
        }
        Ok(layer_norm(&x, &self.ln_post))
    }

    /// Multi-head self-attention over `qkv` (rows of Q | K | V, `qkv_rs`
    /// apart); rows × d out.
    fn attention(&self, qkv: &[f32], qkv_rs: usize, rows: usize) -> Vec<f32> {
        const BLOCK: usize = 100;
        let d = self.d;
        let dh = d / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let blocks = rows.div_ceil(BLOCK);
        // Each task writes one (head, block) tile of the context, gathered after.
        let tiles: Vec<(usize, usize, Vec<f32>)> = (0..self.heads * blocks)
            .into_par_iter()
            .map(|task| {
                let (head, block) = (task / blocks, task % blocks);
                let first = block * BLOCK;
                let m = BLOCK.min(rows - first);
                let mut scores = vec![0f32; m * rows];
                // scores = Q_blk · K_headᵀ
                matmul(
                    (m, rows, dh),
                    &mut scores,
                    rows,
                    false,
                    &qkv[first * qkv_rs + head * dh..],
                    (qkv_rs, 1),
                    &qkv[d + head * dh..],
                    (1, qkv_rs),
                    Parallelism::None,
                );
                // Unnormalised: each output row is divided by its sum below
                // (dh values instead of `rows`).
                let sums: Vec<f32> = scores
                    .chunks_exact_mut(rows)
                    .map(|row| softmax_exp(row, scale))
                    .collect();
                let mut out = vec![0f32; m * dh];
                matmul(
                    (m, dh, rows),
                    &mut out,
                    dh,
                    false,
                    &scores,
                    (rows, 1),
                    &qkv[2 * d + head * dh..],
                    (qkv_rs, 1),
                    Parallelism::None,
                );
                for (row, sum) in out.chunks_exact_mut(dh).zip(sums) {
                    let inv = 1.0 / sum;
                    row.iter_mut().for_each(|v| *v *= inv);
                }
                (head, first, out)
            })
            .collect();
        let mut ctx = vec![0f32; rows * d];
        for (head, first, tile) in tiles {
            for (i, row) in tile.chunks_exact(dh).enumerate() {
                let at = (first + i) * d + head * dh;
                ctx[at..at + dh].copy_from_slice(row);
            }
        }
        ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Q | K | V stride holds a row and is an odd number of cache lines.
    #[test]
    fn qkv_stride_is_wide_enough_and_odd_in_lines() {
        for d in [384, 512, 768, 1024, 1280, 10] {
            let s = qkv_stride(d);
            assert!(s >= 3 * d && s < 3 * d + 32, "{d}: {s}");
            assert_eq!(s % 16, 0);
            assert_eq!((s / 16) % 2, 1);
        }
    }
}
