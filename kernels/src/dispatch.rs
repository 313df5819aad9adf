//! One kernel compiled per CPU level, the best this CPU runs picked at run
//! time (as the `multiversion` crate and gemm do).
//!
//! `mul_add` in a kernel compiled without FMA is a call to a software `fmaf`
//! (perf showed it taking a quarter of the embedder's GELU), and without
//! AVX the loops run 4 lanes wide: so each kernel is compiled for AVX-512,
//! for AVX2 + FMA and for the baseline. Fused multiply-add is exactly
//! rounded in every version, so element-wise kernels give the same bits
//! whichever runs; reductions may differ in the last bit.

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
                    && std::arch::is_x86_feature_detected!("avx2")
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

pub(crate) use multiversion;
