//! The encoder's element-wise kernels: GELU, the exponentials of a softmax,
//! layer normalisation. Matmuls are gemm's; these are what is left.
//!
//! Why written here: candle's `gelu_erf`, `softmax_last_dim` and `LayerNorm`
//! (what the encoder used first) run one row at a time with scalar
//! reductions, and no crate we found offers a vectorised erf or exp over a
//! slice with the fusion these need (scale, shift, exponentiate and sum in
//! one pass). Each kernel is plain Rust over fixed arrays of [`LANES`]
//! floats, which LLVM turns into one AVX-512 (or two AVX2) registers, and
//! [`multiversion!`] compiles it for AVX-512, for AVX2+FMA and for any CPU,
//! choosing at run time (as the `multiversion` crate and gemm do). Each has
//! a test against the plain formula.

/// Floats processed side by side: one AVX-512 register.
pub const LANES: usize = 16;

/// Defines `$name` as `$body` compiled three times: with AVX-512 (F, BW, DQ,
/// VL) and FMA, with AVX2 and FMA, and for the baseline; the first this CPU
/// supports (`is_x86_feature_detected!`, cached by std) runs.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                fn v4($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn v3($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: every feature v4 is compiled for was detected.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: every feature v3 is compiled for was detected.
                    return unsafe { v3($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
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
    // 2^n from the bits of n + 127 + 2^23: n + 127 is an integer in 1..=128,
    // so it is the low mantissa bits, shifted here into the exponent (the
    // float-to-int cast `n as i32` would not vectorise: it saturates).
    f32::from_bits((n + (127.0 + 8_388_608.0)).to_bits() << 23) * p
}

/// The exact GELU, `x·(1 + erf(x/√2))/2`.
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
    /// GELU (exact, erf) of every value, in place.
    pub fn gelu(x: &mut [f32]) = gelu_body;
}

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
fn layer_norm_body(row: &mut [f32], gamma: &[f32], beta: &[f32]) {
    let d = row.len() as f32;
    let mean = lane_sum(row, |v| v) / d;
    let var = lane_sum(row, |v| (v - mean) * (v - mean)) / d;
    let inv = 1.0 / (var + 1e-5).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

multiversion! {
    /// Layer normalisation of one row in place (ε = 1e-5, Whisper's).
    pub fn layer_norm_row(row: &mut [f32], gamma: &[f32], beta: &[f32]) = layer_norm_body;
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

    /// Values that exercise every lane and the remainder.
    fn sample(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0)
            .collect()
    }

    /// GELU matches `x·Φ(x)` computed in f64 with the standard erf, both
    /// the version this CPU dispatches to and the baseline one.
    #[test]
    fn gelu_matches_the_formula() {
        for (n, f) in [0, 1, 15, 16, 17, 100, 1537]
            .into_iter()
            .flat_map(|n| [(n, gelu as fn(&mut [f32])), (n, gelu_body)])
        {
            let x = sample(n);
            let mut y = x.clone();
            f(&mut y);
            for (a, b) in x.iter().zip(&y) {
                let a = *a as f64;
                let want = 0.5 * a * (1.0 + erf_f64(a / std::f64::consts::SQRT_2));
                assert!(
                    (want - *b as f64).abs() < 2e-6,
                    "gelu({a}) = {b}, want {want}"
                );
            }
        }
    }

    /// erf in f64 by its Taylor series (|x| ≤ 4 needs ~80 terms for 1e-12).
    fn erf_f64(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    /// The softmax numerators and their sum match f64 `exp` (dispatched and
    /// baseline versions); normalised they are a distribution in the order
    /// of the inputs.
    #[test]
    fn softmax_exp_matches_the_formula() {
        for (n, f) in [1, 15, 16, 17, 100, 1500].into_iter().flat_map(|n| {
            [
                (n, softmax_exp as fn(&mut [f32], f32) -> f32),
                (n, softmax_exp_body),
            ]
        }) {
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
        let mut row = vec![1.0, 3.0, 2.0, -50.0];
        let sum = softmax_exp(&mut row, 0.5);
        assert!((row.iter().sum::<f32>() - sum).abs() < 1e-6);
        assert!(row[1] > row[2] && row[2] > row[0] && row[0] > row[3]);
    }

    /// Layer normalisation matches the f64 formula (dispatched and baseline).
    #[test]
    fn layer_norm_matches_the_formula() {
        type Ln = fn(&mut [f32], &[f32], &[f32]);
        for (n, f) in [1, 16, 17, 384, 512]
            .into_iter()
            .flat_map(|n| [(n, layer_norm_row as Ln), (n, layer_norm_body)])
        {
            let x = sample(n);
            let gamma: Vec<f32> = (0..n).map(|i| 0.5 + (i % 5) as f32 * 0.1).collect();
            let beta: Vec<f32> = (0..n).map(|i| (i % 3) as f32 * 0.2 - 0.2).collect();
            let mut y = x.clone();
            f(&mut y, &gamma, &beta);
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            for i in 0..n {
                let want =
                    (x[i] as f64 - mean) / (var + 1e-5).sqrt() * gamma[i] as f64 + beta[i] as f64;
                assert!((want - y[i] as f64).abs() < 1e-5, "{i}: {} vs {want}", y[i]);
            }
        }
    }
}
