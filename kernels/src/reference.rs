//! Test inputs and the f64 formulas the kernels are held to.

/// `n` values in [−5, 5) in a scrambled order: every lane and the
/// remainder see different values.
pub fn sample(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 100.0 - 5.0)
        .collect()
}

/// The exact GELU in f64: `x·(1 + erf(x/√2))/2`.
pub fn gelu_f64(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

/// `a (m×k) · b (k×n)` in f64, both row-major and dense.
pub fn matmul_f64(a: &[f32], b: &[f32], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                .sum();
        }
    }
    out
}
