//! The exact GELU, `x·(1 + erf(x/√2))/2`, the one BERT, CTranslate2 and
//! OpenAI's Whisper use, over a slice.

use rayon::prelude::*;

use crate::{approx::erf, dispatch::multiversion, LANES};

/// The exact GELU of one value.
#[inline(always)]
fn gelu_one(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

#[inline(always)]
fn gelu_body(x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for v in c.iter_mut() {
            *v = gelu_one(*v);
        }
    }
    for v in chunks.into_remainder() {
        *v = gelu_one(*v);
    }
}

multiversion! {
    /// GELU (exact, erf) of every value, in place, on this thread.
    pub fn gelu(x: &mut [f32]) = gelu_body;
}

/// [`gelu`] over `x` in pieces of `per_task` values spread over rayon's
/// threads; on this thread when `x` is one piece. The values are the same
/// whatever the split.
pub fn gelu_par(x: &mut [f32], per_task: usize) {
    if x.len() <= per_task {
        gelu(x);
        return;
    }
    x.par_chunks_mut(per_task).for_each(gelu);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{gelu_f64, sample};

    /// GELU is within 2e-6 of the f64 formula, in the version this CPU
    /// dispatches to, the baseline one and split over threads.
    #[test]
    fn gelu_matches_f64_formula() {
        fn split(x: &mut [f32]) {
            gelu_par(x, 16);
        }
        type Gelu = fn(&mut [f32]);
        let versions = [
            ("dispatched", gelu as Gelu),
            ("baseline", gelu_body),
            ("split", split),
        ];
        for n in [0, 1, 15, 16, 17, 100, 1537] {
            for (name, f) in versions {
                let x = sample(n);
                let mut y = x.clone();
                f(&mut y);
                for (a, b) in x.iter().zip(&y) {
                    let want = gelu_f64(*a as f64);
                    assert!(
                        (want - *b as f64).abs() < 2e-6,
                        "{name}: gelu({a}) = {b}, want {want}"
                    );
                }
            }
        }
    }

    /// Every version gives the same bits (element-wise, fused multiply-add
    /// exactly rounded), so a caller's choice of split changes no number.
    #[test]
    fn gelu_versions_agree_bit_for_bit() {
        let x = sample(10_000);
        let mut one = x.clone();
        gelu(&mut one);
        let mut base = x.clone();
        gelu_body(&mut base);
        let mut split = x.clone();
        gelu_par(&mut split, 1000);
        assert_eq!(one, base);
        assert_eq!(one, split);
    }
}
