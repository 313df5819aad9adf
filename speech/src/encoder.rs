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
//! - GELU is the exact (erf) one CTranslate2 and OpenAI use, vectorised and
//!   split across threads;
//! - attention runs per (head, block of 100 queries): a 100×1500 score block
//!   that stays in cache, a vectorised exp, and the value product written
//!   straight into the head's columns.
//!
//! `tests/encoder_parity.rs` holds it to candle's encoder.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use rayon::prelude::*;

use crate::{error::SpeechError, mapping::sinusoids};

struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

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

fn vec(t: Tensor) -> Result<Vec<f32>, SpeechError> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

fn linear(vb: &VarBuilder, outputs: usize, inputs: usize) -> Result<Linear, SpeechError> {
    Ok(Linear {
        weight: vec(vb.get((outputs, inputs), "weight")?)?,
        bias: vec(vb.get(outputs, "bias")?)?,
        inputs,
        outputs,
    })
}

fn norm(vb: &VarBuilder, d: usize) -> Result<Norm, SpeechError> {
    Ok(Norm {
        gamma: vec(vb.get(d, "weight")?)?,
        beta: vec(vb.get(d, "bias")?)?,
    })
}

/// Parallelism for gemm: rayon's pool, as candle uses.
fn par() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// `dst (m×n, row stride dst_rs) = alpha·dst + a (m×k) · b (k×n)` with
/// arbitrary strides (rs = row stride, cs = column stride).
#[allow(clippy::too_many_arguments)]
fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
    parallelism: gemm::Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The bounds every access stays within; checked so the unsafe call
    // below cannot read or write outside the slices.
    assert!(dst.len() > (m - 1) * dst_rs + (n - 1), "dst too small");
    assert!(
        k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs,
        "a too small"
    );
    assert!(
        k == 0 || b.len() > (k - 1) * b_rs + (n - 1) * b_cs,
        "b too small"
    );
    // SAFETY: the asserts above bound every index gemm computes from these
    // shapes and strides; dst does not alias a or b (it is &mut).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

impl Linear {
    /// `x (rows × inputs) · Wᵀ + b (+ residual)`.
    fn forward(&self, x: &[f32], rows: usize, residual: Option<Vec<f32>>) -> Vec<f32> {
        let n = self.outputs;
        let mut out = match residual {
            Some(mut r) => {
                for row in r.chunks_exact_mut(n) {
                    row.iter_mut().zip(&self.bias).for_each(|(a, b)| *a += b);
                }
                r
            }
            None => self.bias.repeat(rows),
        };
        matmul(
            (rows, n, self.inputs),
            &mut out,
            n,
            true,
            x,
            (self.inputs, 1),
            &self.weight,
            (1, self.inputs),
            par(),
        );
        out
    }
}

fn layer_norm(x: &[f32], n: &Norm, d: usize) -> Vec<f32> {
    let mut out = x.to_vec();
    out.par_chunks_mut(d * 32).for_each(|rows| {
        for row in rows.chunks_exact_mut(d) {
            let mean = row.iter().sum::<f32>() / d as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
            let inv = 1.0 / (var + 1e-5).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&n.gamma).zip(&n.beta) {
                *v = (*v - mean) * inv * g + b;
            }
        }
    });
    out
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
        gelu(&mut h);
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
        gelu(&mut x);
        x.iter_mut()
            .zip(&self.positions[..t2 * d])
            .for_each(|(a, p)| *a += p);
        for layer in &self.layers {
            let qkv = layer
                .qkv
                .forward(&layer_norm(&x, &layer.attn_ln, d), t2, None);
            let ctx = self.attention(&qkv, t2);
            x = layer.out.forward(&ctx, t2, Some(x));
            let mut hidden = layer
                .fc1
                .forward(&layer_norm(&x, &layer.mlp_ln, d), t2, None);
            gelu(&mut hidden);
            x = layer.fc2.forward(&hidden, t2, Some(x));
        }
        Ok(layer_norm(&x, &self.ln_post, d))
    }

    /// Multi-head self-attention over `qkv` (rows × 3d: Q | K | V); rows × d out.
    fn attention(&self, qkv: &[f32], rows: usize) -> Vec<f32> {
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
                    &qkv[first * 3 * d + head * dh..],
                    (3 * d, 1),
                    &qkv[d + head * dh..],
                    (1, 3 * d),
                    gemm::Parallelism::None,
                );
                for row in scores.chunks_exact_mut(rows) {
                    softmax_scaled(row, scale);
                }
                let mut out = vec![0f32; m * dh];
                matmul(
                    (m, dh, rows),
                    &mut out,
                    dh,
                    false,
                    &scores,
                    (rows, 1),
                    &qkv[2 * d + head * dh..],
                    (3 * d, 1),
                    gemm::Parallelism::None,
                );
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

/// erf(x) by the rational approximation Eigen and XLA use (max error ~3e-7),
/// branch-free so loops over it vectorise.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2.mul_add(-2.726_142_3e-10, 2.770_681_4e-8);
    p = x2.mul_add(p, -2.101_024e-6);
    p = x2.mul_add(p, -5.692_506_4e-5);
    p = x2.mul_add(p, -7.349_906_3e-4);
    p = x2.mul_add(p, -2.954_6e-3);
    p = x2.mul_add(p, -1.609_603_3e-2);
    let mut q = x2.mul_add(-1.456_607_2e-5, -2.133_740_6e-4);
    q = x2.mul_add(q, -1.682_827e-3);
    q = x2.mul_add(q, -7.373_329e-3);
    q = x2.mul_add(q, -1.426_474e-2);
    x * p / q
}

/// e^x for x ≤ 0 (softmax after subtracting the maximum): 2^(x·log2 e) split
/// into an integer power, set in the exponent bits, and a degree-6 Taylor
/// polynomial for the fraction in [−0.5, 0.5]; relative error under 1e-6 near 0,
/// up to ~4e-6 near −80 (rounding of x·log2 e).
/// Inputs below −87 give e^−87 (≈1.6e-38), which is 0 to a softmax.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    let y = x.max(-87.0) * std::f32::consts::LOG2_E;
    let n = (y + 0.5).floor();
    let f = y - n;
    let mut p = f.mul_add(1.540_353e-4, 1.333_356e-3);
    p = f.mul_add(p, 9.618_129e-3);
    p = f.mul_add(p, 5.550_411e-2);
    p = f.mul_add(p, 2.402_265e-1);
    p = f.mul_add(p, std::f32::consts::LN_2);
    p = f.mul_add(p, 1.0);
    f32::from_bits(((n as i32 + 127) as u32) << 23) * p
}

fn gelu(x: &mut [f32]) {
    x.par_chunks_mut(16_384).for_each(|chunk| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: this CPU has AVX2 and FMA, checked just above.
            unsafe { gelu_avx2(chunk) };
            return;
        }
        gelu_generic(chunk);
    });
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gelu_avx2(chunk: &mut [f32]) {
    gelu_generic(chunk);
}

#[inline(always)]
fn gelu_generic(chunk: &mut [f32]) {
    for v in chunk {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Softmax of `row · scale` in place.
fn softmax_scaled(row: &mut [f32], scale: f32) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: this CPU has AVX2 and FMA, checked just above.
        unsafe { softmax_avx2(row, scale) };
        return;
    }
    softmax_generic(row, scale);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn softmax_avx2(row: &mut [f32], scale: f32) {
    softmax_generic(row, scale);
}

#[inline(always)]
fn softmax_generic(row: &mut [f32], scale: f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for v in row.iter_mut() {
        *v = exp_nonpositive((*v - max) * scale);
        sum += *v;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast erf and exp stay within float32 rounding of the standard ones.
    #[test]
    fn fast_erf_and_exp_are_accurate() {
        // Near 0, where softmax weights matter, the polynomial's error shows
        // (~6e-7); far below, rounding of x·log2(e) in f32 dominates (~4e-6).
        for (from, bound) in [(10.0f32, 1e-6f32), (80.0, 1e-5)] {
            let mut worst = 0f32;
            for i in 0..=100_000 {
                let x = -(i as f32) * from / 100_000.0;
                let rel = (exp_nonpositive(x) - x.exp()).abs() / x.exp();
                worst = worst.max(rel);
            }
            assert!(worst < bound, "exp relative error {worst} down to -{from}");
        }
        assert!(exp_nonpositive(-200.0) < 1e-37);
        // erf(1) = 0.8427007929497149, erf(-0.5) = -0.5204998778130465.
        assert!((erf(1.0) - 0.842_700_8).abs() < 1e-6);
        assert!((erf(-0.5) + 0.520_499_9).abs() < 1e-6);
        assert!((erf(10.0) - 1.0).abs() < 1e-6);
    }

    /// Softmax rows sum to one and keep the order of their inputs.
    #[test]
    fn softmax_is_a_distribution() {
        let mut row = vec![1.0, 3.0, 2.0, -50.0];
        softmax_scaled(&mut row, 0.5);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[3]);
    }
}
