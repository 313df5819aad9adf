//! Matrix products by gemm (the kernels candle calls), behind a call that
//! checks every index gemm will compute stays inside the slices, and the
//! one-row product split over threads.

use rayon::prelude::*;

pub use gemm::Parallelism;

/// Parallelism for gemm: rayon's pool, as candle uses.
pub fn parallelism() -> Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

/// How many values a buffer needs to hold `rows × cols` items `rs` apart by
/// row and `cs` by column (`rows`, `cols` ≥ 1); `None` if that overflows.
fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// `dst = a · b`, or `dst += a · b` when `accumulate`: `a` is m×k, `b` k×n,
/// `dst` m×n with rows `dst_rs` apart and columns adjacent; `a` and `b` with
/// any strides, given as (row stride, column stride).
///
/// # Panics
/// If an index the shapes and strides describe falls outside a slice.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
    parallelism: Parallelism,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The bounds every access stays within, computed without overflow; a
    // slice holds at most isize::MAX values, so a stride that passes (for
    // more than one row or column) also fits the isize gemm takes.
    let fits = |len: usize, need: Option<usize>| need.is_some_and(|need| need <= len);
    assert!(fits(dst.len(), span(m, n, dst_rs, 1)), "dst too small");
    assert!(
        k == 0 || fits(a.len(), span(m, k, a_rs, a_cs)),
        "a too small"
    );
    assert!(
        k == 0 || fits(b.len(), span(k, n, b_rs, b_cs)),
        "b too small"
    );
    // SAFETY: the asserts above bound every index gemm computes from these
    // shapes and strides (a stride of a dimension of size 1 is multiplied by
    // 0 only); dst does not alias a or b (it is &mut).
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
/// Whisper decoder step (tiny.en, 2 threads): splitting the layers' products
/// (up to 590k values) made each slower (waking the other thread costs more
/// than it saves); splitting the 20M-value output projection saved a third.
const SPLIT_ABOVE: usize = 4 << 20;

/// `out += W · x` for `W` `out.len() × x.len()`, row-major: one token's
/// matrix-vector product. gemm runs those on one thread (its gemv path takes
/// no `Parallelism`), and such a product is bound by reading the weights, so
/// large ones are split by rows over rayon's threads here; each output is
/// still gemm's dot product, the same numbers whatever the split.
pub fn matvec_acc(w: &[f32], x: &[f32], out: &mut [f32]) {
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
            Parallelism::None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{matmul_f64, sample};

    /// Every entry within 1e-5 relative of the f64 product (of the sum of
    /// the absolute terms), for plain, transposed and strided layouts,
    /// written and accumulated.
    #[test]
    fn matmul_matches_f64_product() {
        for (m, n, k) in [(1, 1, 1), (1, 7, 5), (3, 1, 9), (17, 33, 64), (40, 24, 130)] {
            let a = sample(m * k);
            let b: Vec<f32> = sample(k * n + 3)[3..].to_vec();
            let want = matmul_f64(&a, &b, (m, n, k));
            let abs_a: Vec<f32> = a.iter().map(|v| v.abs()).collect();
            let abs_b: Vec<f32> = b.iter().map(|v| v.abs()).collect();
            let scale = matmul_f64(&abs_a, &abs_b, (m, n, k));
            // b transposed (n×k row-major), read as k×n with strides (1, k).
            let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
            for (b, b_strides) in [(&b, (n, 1)), (&bt, (1, k))] {
                // dst rows 2 wider than n: the gaps must stay untouched.
                let rs = n + 2;
                let mut dst = vec![7.0f32; m * rs];
                matmul(
                    (m, n, k),
                    &mut dst,
                    rs,
                    false,
                    &a,
                    (k, 1),
                    b,
                    b_strides,
                    parallelism(),
                );
                let mut acc = vec![1.0f32; m * n];
                matmul(
                    (m, n, k),
                    &mut acc,
                    n,
                    true,
                    &a,
                    (k, 1),
                    b,
                    b_strides,
                    Parallelism::None,
                );
                for i in 0..m {
                    assert_eq!(&dst[i * rs + n..(i + 1) * rs], &[7.0, 7.0]);
                    for j in 0..n {
                        let (want, tol) = (want[i * n + j], 1e-5 * scale[i * n + j] + 1e-12);
                        assert!((dst[i * rs + j] as f64 - want).abs() <= tol, "{m}x{n}x{k}");
                        assert!((acc[i * n + j] as f64 - 1.0 - want).abs() <= tol + 1e-7);
                    }
                }
            }
        }
    }

    /// A large matrix-vector product split over two threads gives the bits
    /// of the unsplit one, and both match f64.
    #[test]
    fn matvec_split_matches_unsplit() {
        let (rows, k) = (SPLIT_ABOVE / 256 + 5, 256);
        let w = sample(rows * k);
        let x = sample(k + 11)[11..].to_vec();
        let mut split = vec![0.5f32; rows];
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| matvec_acc(&w, &x, &mut split));
        let mut whole = vec![0.5f32; rows];
        matmul(
            (1, rows, k),
            &mut whole,
            rows,
            true,
            &x,
            (k, 1),
            &w,
            (1, k),
            Parallelism::None,
        );
        assert_eq!(split, whole);
        for (i, got) in whole.iter().enumerate().step_by(997) {
            let terms = (0..k).map(|j| w[i * k + j] as f64 * x[j] as f64);
            let want = 0.5 + terms.clone().sum::<f64>();
            let tol = 1e-5 * terms.map(f64::abs).sum::<f64>() + 1e-7;
            assert!((*got as f64 - want).abs() <= tol, "{i}: {got} vs {want}");
        }
    }

    #[test]
    #[should_panic(expected = "b too small")]
    fn a_short_operand_is_refused() {
        let mut dst = [0f32; 4];
        matmul(
            (2, 2, 2),
            &mut dst,
            2,
            false,
            &[1.0; 4],
            (2, 1),
            &[1.0; 3],
            (2, 1),
            Parallelism::None,
        );
    }

    #[test]
    #[should_panic(expected = "dst too small")]
    fn a_stride_that_overflows_is_refused() {
        // (3 − 1) rows × 2^63 overflows usize: refused, not wrapped.
        let mut dst = [0f32; 6];
        matmul(
            (3, 2, 2),
            &mut dst,
            usize::MAX / 2 + 1,
            false,
            &[1.0; 6],
            (2, 1),
            &[1.0; 4],
            (2, 1),
            Parallelism::None,
        );
    }
}
