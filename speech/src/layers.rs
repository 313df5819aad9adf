//! Whisper's weights as the plain row-major buffers of `qloop_kernels`
//! (linear layers, layer norms), and the task sizes the encoder and the
//! decoder split element-wise work by. The kernels themselves (gemm calls,
//! GELU, softmax, layer norm) are shared with the embedding encoder.

use candle_core::Tensor;
use candle_nn::VarBuilder;
pub(crate) use qloop_kernels::{Linear, Norm};

use crate::error::SpeechError;

/// Whisper's layer norm ε.
const LAYER_NORM_EPS: f32 = 1e-5;

/// Rows per parallel task in layer norm (the encoder's 1500 rows in 47 tasks).
const LAYER_NORM_ROWS_PER_TASK: usize = 32;

/// Values per parallel task in GELU; shorter runs stay on the calling thread.
const GELU_PER_TASK: usize = 16_384;

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
        eps: LAYER_NORM_EPS,
    })
}

/// Layer norm of each row of `x` (rows as wide as `n`), over rayon's
/// threads, into a new buffer (`x` is still the residual).
pub(crate) fn layer_norm(x: &[f32], n: &Norm) -> Vec<f32> {
    let mut out = x.to_vec();
    n.forward_in_place(&mut out, LAYER_NORM_ROWS_PER_TASK);
    out
}

/// GELU over `x`, split across rayon's threads when it is long.
pub(crate) fn gelu_par(x: &mut [f32]) {
    qloop_kernels::gelu_par(x, GELU_PER_TASK);
}
