//! The CPU kernels qloop's two transformer encoders share: the sentence
//! embedder's BERT (`qloop-models`, `bert.rs`) and Whisper's encoder and
//! decoder (`qloop-speech`). Matrix products are gemm's (the kernels candle
//! calls); what is here is the call around them and the element-wise work
//! candle does one row at a time with scalar code.
//!
//! Why written here: candle's `gelu_erf`, `softmax_last_dim` and `LayerNorm`
//! run one row at a time with scalar reductions (libm `erff` per element),
//! and no crate we found offers a vectorised erf or exp over a slice with the
//! fusion these need (scale, shift, exponentiate and sum in one pass). Each
//! kernel is plain Rust over fixed arrays of [`LANES`] floats, which LLVM
//! turns into one AVX-512 (or two AVX2) registers, compiled for AVX-512, for
//! AVX2+FMA and for any CPU and chosen at run time (`dispatch`).
//!
//! # Layout
//! - [`approx`]: branch-free f32 `erf` and `e^x` (x ≤ 0) that vectorise.
//! - `dispatch`: `multiversion!`, one function compiled per CPU level and
//!   picked by `is_x86_feature_detected!`.
//! - [`gelu`]: the exact (erf) GELU over a slice, and split over rayon.
//! - [`softmax`]: a softmax row's numerators and their sum in one pass.
//! - [`norm`]: layer normalisation ([`Norm`]) of one row or many in parallel.
//! - [`gemm`]: gemm behind a bounds-checked call ([`matmul`]), and the
//!   one-row product split over threads ([`matvec_acc`]).
//! - [`linear`]: a linear layer over plain row-major buffers ([`Linear`]),
//!   bias and residual fused into the product.
//!
//! Every kernel is tested against the same formula in f64, in the version
//! this CPU dispatches to and in the baseline one.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod approx;
mod dispatch;
pub mod gelu;
pub mod gemm;
pub mod linear;
pub mod norm;
pub mod softmax;

#[cfg(test)]
mod reference;

pub use approx::{erf, exp_nonpositive};
pub use gelu::{gelu, gelu_par};
pub use gemm::{matmul, matvec_acc, parallelism, Parallelism};
pub use linear::Linear;
pub use norm::{layer_norm_row, Norm};
pub use softmax::softmax_exp;

/// Floats processed side by side: one AVX-512 register.
pub const LANES: usize = 16;
