//! A linear layer over plain row-major buffers: gemm accumulates into an
//! output that already holds the bias (and the residual), so there are no
//! add passes.

use crate::gemm::{matmul, matvec_acc, parallelism};

/// A linear layer `y = x · Wᵀ + b`.
pub struct Linear {
    /// `outputs × inputs`, row-major (as PyTorch stores it).
    pub weight: Vec<f32>,
    /// One per output.
    pub bias: Vec<f32>,
    /// Width of an input row.
    pub inputs: usize,
    /// Width of an output row.
    pub outputs: usize,
}

impl Linear {
    /// `x (rows × inputs) · Wᵀ + b (+ residual, rows × outputs)`, as
    /// rows × outputs. The residual's buffer becomes the output. One row
    /// (a decoder step) is a matrix-vector product split over threads
    /// ([`matvec_acc`]); more rows are one gemm call over rayon's pool.
    ///
    /// # Panics
    /// If `x` or the residual is not `rows` rows wide as the layer.
    pub fn forward(&self, x: &[f32], rows: usize, residual: Option<Vec<f32>>) -> Vec<f32> {
        let n = self.outputs;
        assert_eq!(
            Some(x.len()),
            rows.checked_mul(self.inputs),
            "linear input shape"
        );
        let mut out = match residual {
            Some(mut r) => {
                assert_eq!(Some(r.len()), rows.checked_mul(n), "residual shape");
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
        self.accumulate(x, rows, &mut out, n);
        out
    }

    /// Like [`Linear::forward`] without a residual, the output rows
    /// `stride ≥ outputs` apart (the gaps are zero).
    pub fn forward_strided(&self, x: &[f32], rows: usize, stride: usize) -> Vec<f32> {
        let n = self.outputs;
        assert!(stride >= n, "stride {stride} below the width {n}");
        assert_eq!(
            Some(x.len()),
            rows.checked_mul(self.inputs),
            "linear input shape"
        );
        let mut out = vec![0f32; rows * stride];
        for row in out.chunks_exact_mut(stride) {
            row[..n].copy_from_slice(&self.bias);
        }
        self.accumulate(x, rows, &mut out, stride);
        out
    }

    /// `out += x · Wᵀ`, the rows of `out` `stride` apart.
    fn accumulate(&self, x: &[f32], rows: usize, out: &mut [f32], stride: usize) {
        matmul(
            (rows, self.outputs, self.inputs),
            out,
            stride,
            true,
            x,
            (self.inputs, 1),
            &self.weight,
            (1, self.inputs),
            parallelism(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{matmul_f64, sample};

    fn layer(inputs: usize, outputs: usize) -> Linear {
        Linear {
            weight: sample(inputs * outputs + 5)[5..].to_vec(),
            bias: sample(outputs + 9)[9..].to_vec(),
            inputs,
            outputs,
        }
    }

    /// `x · Wᵀ + b + r` within 1e-5 relative of f64, for one row (the
    /// matrix-vector path) and many, with and without a residual, strided.
    #[test]
    fn forward_matches_f64() {
        let l = layer(48, 20);
        let wt: Vec<f32> = (0..48 * 20)
            .map(|i| l.weight[(i % 20) * 48 + i / 20])
            .collect();
        let abs = |v: &[f32]| v.iter().map(|v| v.abs()).collect::<Vec<f32>>();
        for rows in [1, 2, 33] {
            let x = sample(rows * 48);
            let r = sample(rows * 20 + 1)[1..].to_vec();
            let product = matmul_f64(&x, &wt, (rows, 20, 48));
            let scale = matmul_f64(&abs(&x), &abs(&wt), (rows, 20, 48));
            let plain = l.forward(&x, rows, None);
            let with_r = l.forward(&x, rows, Some(r.clone()));
            let strided = l.forward_strided(&x, rows, 23);
            for i in 0..rows {
                assert_eq!(&strided[i * 23 + 20..(i + 1) * 23], &[0.0; 3]);
                for j in 0..20 {
                    let at = i * 20 + j;
                    let want = product[at] + l.bias[j] as f64;
                    let tol = 1e-5 * scale[at] + 1e-6;
                    assert!((plain[at] as f64 - want).abs() <= tol, "rows {rows}");
                    assert!((strided[i * 23 + j] as f64 - want).abs() <= tol);
                    assert!((with_r[at] as f64 - want - r[at] as f64).abs() <= tol + 1e-6);
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "linear input shape")]
    fn an_input_of_the_wrong_width_is_refused() {
        layer(4, 3).forward(&[0.0; 7], 2, None);
    }

    #[test]
    #[should_panic(expected = "residual shape")]
    fn a_residual_of_the_wrong_shape_is_refused() {
        layer(4, 3).forward(&[0.0; 8], 2, Some(vec![0.0; 5]));
    }
}
