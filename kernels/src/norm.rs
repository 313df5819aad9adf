//! Layer normalisation: each row to zero mean and unit variance, then
//! scaled and shifted.

use rayon::prelude::*;

use crate::{dispatch::multiversion, LANES};

/// Layer normalisation's scale, shift and ε.
pub struct Norm {
    /// Scale, one per column.
    pub gamma: Vec<f32>,
    /// Shift, one per column.
    pub beta: Vec<f32>,
    /// Added to the variance (BERT: 1e-12, Whisper: 1e-5).
    pub eps: f32,
}

/// Sum of `f(v)` over `row`, in [`LANES`] partial sums.
#[inline(always)]
fn lane_sum(row: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut sums = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (s, &v) in sums.iter_mut().zip(c) {
            *s += f(v);
        }
    }
    chunks.remainder().iter().map(|&v| f(v)).sum::<f32>() + sums.iter().sum::<f32>()
}

#[inline(always)]
fn layer_norm_body(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let d = row.len() as f32;
    let mean = lane_sum(row, |v| v) / d;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / d;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

multiversion! {
    /// Layer normalisation of one row in place; `gamma` and `beta` are as
    /// long as the row.
    pub fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) = layer_norm_body;
}

impl Norm {
    /// Normalises each row of `x` (rows as wide as `gamma`) in place,
    /// `rows_per_task` rows per task over rayon's threads; on this thread
    /// when `x` is one task.
    pub fn forward_in_place(&self, x: &mut [f32], rows_per_task: usize) {
        let d = self.gamma.len();
        assert_eq!(self.beta.len(), d, "layer norm beta width");
        assert!(
            d > 0 && x.len().is_multiple_of(d),
            "layer norm input of {} values is not rows of {d}",
            x.len()
        );
        let per_task = d * rows_per_task.max(1);
        let rows = |part: &mut [f32]| {
            for row in part.chunks_exact_mut(d) {
                layer_norm_row(row, &self.gamma, &self.beta, self.eps);
            }
        };
        if x.len() <= per_task {
            rows(x);
            return;
        }
        x.par_chunks_mut(per_task).for_each(rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::sample;

    fn norm(n: usize, eps: f32) -> Norm {
        Norm {
            gamma: (0..n).map(|i| 0.5 + (i % 5) as f32 * 0.1).collect(),
            beta: (0..n).map(|i| (i % 3) as f32 * 0.2 - 0.2).collect(),
            eps,
        }
    }

    /// Layer normalisation is within 1e-5 of the f64 formula (dispatched
    /// and baseline), with Whisper's ε and BERT's.
    #[test]
    fn layer_norm_matches_f64_formula() {
        type Ln = fn(&mut [f32], &[f32], &[f32], f32);
        for eps in [1e-5f32, 1e-12] {
            for n in [1, 16, 17, 384, 512] {
                for f in [layer_norm_row as Ln, layer_norm_body] {
                    let x = sample(n);
                    let Norm { gamma, beta, .. } = norm(n, eps);
                    let mut y = x.clone();
                    f(&mut y, &gamma, &beta, eps);
                    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
                    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
                    for i in 0..n {
                        let want = (x[i] as f64 - mean) / (var + eps as f64).sqrt()
                            * gamma[i] as f64
                            + beta[i] as f64;
                        assert!(
                            (want - y[i] as f64).abs() < 1e-5,
                            "n {n}, eps {eps}, {i}: {} vs {want}",
                            y[i]
                        );
                    }
                }
            }
        }
    }

    /// Many rows in parallel give the same bits as one row at a time.
    #[test]
    fn rows_in_parallel_match_row_by_row() {
        let n = norm(384, 1e-12);
        let x = sample(384 * 37);
        for per_task in [1, 16, 37, 100] {
            let mut par = x.clone();
            n.forward_in_place(&mut par, per_task);
            let mut serial = x.clone();
            for row in serial.chunks_exact_mut(384) {
                layer_norm_row(row, &n.gamma, &n.beta, n.eps);
            }
            assert_eq!(par, serial, "{per_task} rows per task");
        }
    }

    #[test]
    #[should_panic(expected = "not rows of")]
    fn a_partial_row_is_refused() {
        norm(4, 1e-5).forward_in_place(&mut [0.0; 6], 16);
    }
}
