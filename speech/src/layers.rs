//! What the encoder and the decoder share: weights as plain row-major
//! buffers, gemm behind a bounds-checked call, linear layers over many rows
//! (the encoder's 1500) or one (a decoder step), layer norm and GELU spread
//! over rayon's pool.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use rayon::prelude::*;

use crate::{
    error::SpeechError,
    kernels::{gelu, layer_norm_row},
};

/// A linear layer: `weight` is `outputs × inputs`, row-major.
pub(crate) struct Linear {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub inputs: usize,
    pub outputs: usize,
}

/// Layer normalisation's scale and shift.
pub(crate) struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

/// A tensor's values, row-major.
pub(crate) fn vec(t: Tensor) -> Result<Vec<f32>, SpeechError> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// The linear layer `weight` `[outputs, inputs]` and `bias` `[outputs]` under `vb`.
pub(crate) fn linear(
    vb: &VarBuilder,
    outputs: usize,
    inputs: usize,
) -> Result<Linear, SpeechError> {
    Ok(Linear {
        weight: vec(vb.get((outputs, inputs), "weight")?)?,
        bias: vec(vb.get(outputs, "bias")?)?,
        inputs,
        outputs,
    })
}

/// The layer norm `weight` and `bias` `[d]` under `vb`.
pub(crate) fn norm(vb: &VarBuilder, d: usize) -> Result<Norm, SpeechError> {
    Ok(Norm {
        gamma: vec(vb.get(d, "weight")?)?,
        beta: vec(vb.get(d, "bias")?)?,
    })
}

/// Parallelism for gemm: rayon's pool, as candle uses.
pub(crate) fn par() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        n => gemm::Parallelism::Rayon(n),
    }
}

/// `dst (m×n, row stride dst_rs) = alpha·dst + a (m×k) · b (k×n)` with
/// arbitrary strides (rs = row stride, cs = column stride).
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
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

/// Weights below this many values are multiplied by one thread. Timed on a
/// decoder step (tiny.en, 2 threads): splitting the layers' products (up to
/// 590k values) made each slower (waking the other thread costs more than
/// it saves); splitting the 20M-value output projection saved a third.
const SPLIT_ABOVE: usize = 4 << 20;

/// `out += W · x` for `W` `out.len() × x.len()`, row-major: one token's
/// matrix-vector product. gemm runs those on one thread (its gemv path takes
/// no `Parallelism`), and a decoder step is bound by reading the weights, so
/// the rows are split into chunks over rayon's threads here; each output is
/// still gemm's dot product, the same numbers whatever the split.
pub(crate) fn matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
    let k = x.len();
    let threads = rayon::current_num_threads();
    let one = |w: &[f32], out: &mut [f32]| {
        matmul(
            (1, out.len(), k),
            out,
            out.len(),
            true,
            x,
            (k, 1),
            w,
            (1, k),
            gemm::Parallelism::None,
        )
    };
    if threads < 2 || w.len() < SPLIT_ABOVE {
        one(w, out);
        return;
    }
    // A few chunks per thread, so a thread the OS delays holds up little.
    let rows = out.len().div_ceil(4 * threads).next_multiple_of(16);
    out.par_chunks_mut(rows)
        .zip(w.par_chunks(rows * k))
        .for_each(|(out, w)| one(w, out));
}

impl Linear {
    /// `x (rows × inputs) · Wᵀ + b (+ residual)`.
    pub fn forward(&self, x: &[f32], rows: usize, residual: Option<Vec<f32>>) -> Vec<f32> {
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
        if rows == 1 {
            matvec_acc(&self.weight, x, &mut out);
            return out;
        }
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

impl Linear {
    /// Like [`Linear::forward`] without a residual, the output rows
    /// `stride ≥ outputs` apart (the gaps are zero).
    pub fn forward_strided(&self, x: &[f32], rows: usize, stride: usize) -> Vec<f32> {
        let n = self.outputs;
        assert!(stride >= n, "stride {stride} below the width {n}");
        let mut out = vec![0f32; rows * stride];
        for row in out.chunks_exact_mut(stride) {
            row[..n].copy_from_slice(&self.bias);
        }
        matmul(
            (rows, n, self.inputs),
            &mut out,
            stride,
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

/// Layer norm of each `d`-wide row of `x`, over rayon's threads.
pub(crate) fn layer_norm(x: &[f32], n: &Norm, d: usize) -> Vec<f32> {
    let mut out = x.to_vec();
    if out.len() <= d {
        layer_norm_row(&mut out, &n.gamma, &n.beta);
        return out;
    }
    out.par_chunks_mut(d * 32).for_each(|rows| {
        for row in rows.chunks_exact_mut(d) {
            layer_norm_row(row, &n.gamma, &n.beta);
        }
    });
    out
}

/// GELU over `x`, split across rayon's threads when it is long.
pub(crate) fn gelu_par(x: &mut [f32]) {
    if x.len() <= 16_384 {
        gelu(x);
        return;
    }
    x.par_chunks_mut(16_384).for_each(gelu);
}
