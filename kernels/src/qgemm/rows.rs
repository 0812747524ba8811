//! The dynamic activation quantizer: each row of `x` to asymmetric u8.
//!
//! For a row `x_i` with `lo = min(x_i, 0)` and `hi = max(x_i, 0)`:
//! `s = (hi − lo) / 255`, `zx = round(−lo / s)` clamped to [0, 255], and
//! `q = clamp(round(x · (1/s)) + zx, 0, 255)`, rounding half to even. The
//! range always contains 0, so 0.0 maps exactly to `zx` (padding and
//! post-ReLU/GELU zeros cost no error). `x · (1/s)` (one division per row)
//! instead of `x / s` is ≤ 1 ulp away and only moves exact ties.
//!
//! Special rows: an all-zero row (or one whose range is so small that
//! `1/s` overflows, |x| < ~1e-36) gets `s = 1`, `zx = 0`, `q = 0`; a row
//! holding a NaN or an infinity gets `s = NaN`, `zx = 0`, `q = 0`, so its
//! outputs are NaN (never a silently wrong number).
//!
//! Every path gives the same bits: min/max are exact in any order, and the
//! per-element operations (one multiply, round-half-even, integer add,
//! clamp) are the same IEEE operations in the portable and SIMD code.

use crate::isa::Isa;

/// The quantization parameters of one row: (scale, zero point, 1/scale).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowParams {
    pub scale: f32,
    pub zero: i32,
    pub inv: f32,
}

/// Parameters for a row with extremes `lo ≤ 0 ≤ hi` (`bad`: it holds a
/// NaN or an infinity).
#[inline(always)]
pub(crate) fn params(lo: f32, hi: f32, bad: bool) -> RowParams {
    if bad || !(hi - lo).is_finite() {
        return RowParams {
            scale: f32::NAN,
            zero: 0,
            inv: 0.0,
        };
    }
    let scale = (hi - lo) / 255.0;
    let inv = 1.0 / scale;
    if scale == 0.0 || !inv.is_finite() {
        return RowParams {
            scale: 1.0,
            zero: 0,
            inv: 0.0,
        };
    }
    let zero = ((-lo) / scale).round_ties_even().clamp(0.0, 255.0) as i32;
    RowParams { scale, zero, inv }
}

/// One element: `clamp(round(x·inv) + zero, 0, 255)`.
#[inline(always)]
pub(crate) fn quantize_one(x: f32, p: RowParams) -> u8 {
    let r = (x * p.inv).round_ties_even();
    // |x·inv| ≤ 255·(1 + 2⁻²³) for a finite row, so the cast is exact.
    (r as i32 + p.zero).clamp(0, 255) as u8
}

/// Quantize `x` (one row) into `dst[..x.len()]`; the caller zeroes any
/// padding after it. Portable code.
pub(crate) fn quantize_row_portable(x: &[f32], dst: &mut [u8]) -> RowParams {
    let (mut lo, mut hi, mut bad) = (0.0f32, 0.0f32, false);
    for &v in x {
        bad |= !v.is_finite();
        lo = if v < lo { v } else { lo };
        hi = if v > hi { v } else { hi };
    }
    let p = params(lo, hi, bad);
    for (d, &v) in dst.iter_mut().zip(x) {
        *d = quantize_one(v, p);
    }
    p
}

/// Quantize one row on `isa`'s path (the same bits on every path).
pub(crate) fn quantize_row(isa: Isa, x: &[f32], dst: &mut [u8]) -> RowParams {
    debug_assert!(dst.len() >= x.len());
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        // SAFETY: isa is Avx512 only when isa::current() detected avx512f
        // (and avx512vl) on this CPU; dst is at least as long as x.
        return unsafe { x86::quantize_row_avx512(x, dst) };
    }
    let _ = isa;
    quantize_row_portable(x, dst)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{params, quantize_one, RowParams};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU supports avx512f; `dst.len() >= x.len()`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn quantize_row_avx512(x: &[f32], dst: &mut [u8]) -> RowParams {
        let k = x.len();
        let full = k / 16 * 16;
        let (mut vlo, mut vhi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let mut bad: __mmask16 = 0;
        let inf = _mm512_set1_ps(f32::INFINITY);
        for i in (0..full).step_by(16) {
            // SAFETY: i + 16 ≤ full ≤ k = x.len().
            let v = unsafe { _mm512_loadu_ps(x.as_ptr().add(i)) };
            // |v| == inf or NaN: not (|v| < inf).
            let abs = _mm512_abs_ps(v);
            bad |= !_mm512_cmp_ps_mask::<_CMP_LT_OQ>(abs, inf);
            vlo = _mm512_min_ps(vlo, v);
            vhi = _mm512_max_ps(vhi, v);
        }
        let (mut lo, mut hi) = (_mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi));
        let mut bad = bad != 0;
        for &v in &x[full..] {
            bad |= !v.is_finite();
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
        }
        let p = params(lo, hi, bad);
        let vinv = _mm512_set1_ps(p.inv);
        let vzero = _mm512_set1_epi32(p.zero);
        let (z, top) = (_mm512_setzero_si512(), _mm512_set1_epi32(255));
        for i in (0..full).step_by(16) {
            // SAFETY: i + 16 ≤ full ≤ x.len() ≤ dst.len(): the 16-float load
            // and the 16-byte store are in bounds.
            unsafe {
                let v = _mm512_loadu_ps(x.as_ptr().add(i));
                // Round half to even, exceptions suppressed (= round_ties_even).
                let r = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm512_mul_ps(v, vinv),
                );
                let q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, vzero), z), top);
                _mm_storeu_si128(
                    dst.as_mut_ptr().add(i) as *mut __m128i,
                    _mm512_cvtepi32_epi8(q),
                );
            }
        }
        for (d, &v) in dst[full..k].iter_mut().zip(&x[full..]) {
            *d = quantize_one(v, p);
        }
        p
    }
}
