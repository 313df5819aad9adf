//! The exponentials of a softmax row and their sum, in one pass after the
//! maximum (Whisper's attention: scale, shift, exponentiate and sum).

use crate::{approx::exp_nonpositive, dispatch::multiversion, LANES};

/// Larger of two floats as `maxps` computes it (no NaN handling: scores are finite).
#[inline(always)]
fn max_fast(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

#[inline(always)]
fn softmax_exp_body(row: &mut [f32], scale: f32) -> f32 {
    let mut maxes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for (m, &v) in maxes.iter_mut().zip(c) {
            *m = max_fast(*m, v);
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&maxes)
        .fold(f32::NEG_INFINITY, |m, &v| max_fast(m, v));
    let mut sums = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (s, v) in sums.iter_mut().zip(c.iter_mut()) {
            *v = exp_nonpositive((*v - max) * scale);
            *s += *v;
        }
    }
    let mut sum = 0f32;
    for v in chunks.into_remainder() {
        *v = exp_nonpositive((*v - max) * scale);
        sum += *v;
    }
    sum + sums.iter().sum::<f32>()
}

multiversion! {
    /// The numerators of `softmax(row · scale)`: each value becomes
    /// `e^((v − max)·scale)`; returns their sum, the denominator (≥ 1).
    pub fn softmax_exp(row: &mut [f32], scale: f32) -> f32 = softmax_exp_body;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::sample;

    /// The softmax numerators and their sum match f64 `exp` (dispatched and
    /// baseline versions); normalised they are a distribution in the order
    /// of the inputs.
    #[test]
    fn softmax_exp_matches_f64_formula() {
        type Exp = fn(&mut [f32], f32) -> f32;
        for n in [1, 15, 16, 17, 100, 1500] {
            for f in [softmax_exp as Exp, softmax_exp_body] {
                let x = sample(n);
                let mut y = x.clone();
                let scale = 0.35;
                let sum = f(&mut y, scale);
                let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
                let mut want_sum = 0f64;
                for (a, b) in x.iter().zip(&y) {
                    let want = ((*a as f64 - max) * scale as f64).exp();
                    want_sum += want;
                    assert!(
                        (want - *b as f64).abs() <= 2e-6 * want,
                        "{a}: {b} vs {want}"
                    );
                }
                assert!((want_sum - sum as f64).abs() < 1e-5 * want_sum);
            }
        }
        let mut row = vec![1.0, 3.0, 2.0, -50.0];
        let sum = softmax_exp(&mut row, 0.5);
        assert!((row.iter().sum::<f32>() - sum).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[3]);
    }
}
