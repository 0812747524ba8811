//! 16-bit floats ⇄ f32: bfloat16 and IEEE binary16 (f16), for models stored
//! at half size and computed in f32.
//!
//! Paths, chosen by [`isa::current`] like every kernel:
//!
//! * `Avx512`: f16 with F16C (`vcvtph2ps` / `vcvtps2ph`), f32→bf16 with
//!   AVX-512 BF16 (`vcvtneps2bf16`) when the CPU has it, bf16→f32 (a shift)
//!   auto-vectorised with AVX-512;
//! * `Avx2`: f16 with F16C, bf16 both ways auto-vectorised with AVX2;
//! * `Portable`: the scalar functions of [`scalar`].
//!
//! Every narrowing rounds to nearest, ties to even; values beyond the target's
//! range become ±inf, NaN stays NaN (quiet). Every path gives the same bits
//! as [`scalar`], with one documented exception: `vcvtneps2bf16` treats f32
//! subnormal inputs (|x| < 2⁻¹²⁶ ≈ 1.2e-38) as zero, so on the AVX-512 BF16
//! path they become ±0 where the scalar path keeps a bf16 subnormal.

use crate::isa::{self, Isa};

/// One value at a time: the reference every path is tested against, and the
/// portable path.
pub mod scalar {
    /// bfloat16 bits to f32 (exact: bf16 is the top half of an f32).
    #[inline(always)]
    pub fn bf16_to_f32(h: u16) -> f32 {
        f32::from_bits((h as u32) << 16)
    }

    /// f32 to bfloat16 bits, round to nearest even; NaN stays a (quiet) NaN.
    #[inline(always)]
    pub fn f32_to_bf16(x: f32) -> u16 {
        let b = x.to_bits();
        if b & 0x7fff_ffff > 0x7f80_0000 {
            return ((b >> 16) as u16) | 0x0040;
        }
        // Adding 0x7fff plus the kept part's lowest bit rounds half to even;
        // a carry into the exponent is the correct rounding (up to inf).
        ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
    }

    /// IEEE binary16 bits to f32, exact for every input (normals,
    /// subnormals, inf, NaN).
    #[inline(always)]
    pub fn f16_to_f32(h: u16) -> f32 {
        let sign = ((h as u32) & 0x8000) << 16;
        let exp = ((h >> 10) & 0x1f) as u32;
        let man = (h & 0x3ff) as u32;
        let bits = match (exp, man) {
            (0, 0) => sign,
            (0, m) => {
                // Subnormal: value = m · 2^-24 (exact in f32).
                let v = m as f32 * (1.0 / 16_777_216.0);
                return if sign != 0 { -v } else { v };
            }
            (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
            (e, m) => sign | ((e + 112) << 23) | (m << 13),
        };
        f32::from_bits(bits)
    }

    /// f32 to IEEE binary16 bits, round to nearest even: |x| ≥ 65520 becomes
    /// ±inf, tiny values become f16 subnormals or ±0, NaN a quiet NaN.
    #[inline(always)]
    pub fn f32_to_f16(x: f32) -> u16 {
        let b = x.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        let a = b & 0x7fff_ffff;
        let h = if a >= 0x4780_0000 {
            // |x| ≥ 65536 (or inf/NaN): inf, or a quiet NaN keeping the top payload bits.
            if a > 0x7f80_0000 {
                0x7e00 | ((a >> 13) & 0x3ff) as u16
            } else {
                0x7c00
            }
        } else if a < 0x3880_0000 {
            // |x| < 2^-14: an f16 subnormal or zero. Adding 0.5 aligns the
            // 10 kept bits at the bottom of the mantissa, and the f32 addition
            // itself rounds to nearest even.
            let magic = f32::from_bits(((127 - 15) + (23 - 10) + 1) << 23);
            ((f32::from_bits(a) + magic).to_bits() - magic.to_bits()) as u16
        } else {
            // Normal: rebias the exponent, round half to even on the 13
            // dropped bits; a carry past 65504 lands exactly on inf (0x7c00).
            let odd = (a >> 13) & 1;
            ((a.wrapping_add(((15u32.wrapping_sub(127)) << 23).wrapping_add(0xfff)) + odd) >> 13)
                as u16
        };
        sign | h
    }
}

/// Widen bfloat16 bits to f32. Panics when the lengths differ.
pub fn bf16_to_f32(src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "bf16_to_f32: length mismatch");
    bf16_widen_mv(isa::current(), src, dst);
}

/// Narrow f32 to bfloat16 bits (round to nearest even). Panics when the
/// lengths differ.
pub fn f32_to_bf16(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len(), "f32_to_bf16: length mismatch");
    let isa = isa::current();
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && has_avx512_bf16() {
        // SAFETY: `isa` is Avx512 only when avx512f/avx512vl were detected
        // (isa::current), and avx512bf16 was detected just above.
        unsafe { x86::f32_to_bf16_avx512(src, dst) };
        return;
    }
    bf16_narrow_mv(isa, src, dst);
}

/// Widen IEEE binary16 bits to f32 (exact). Panics when the lengths differ.
pub fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "f16_to_f32: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if isa::current() != Isa::Portable && has_f16c() {
        // SAFETY: f16c and avx were detected on this CPU (has_f16c).
        unsafe { x86::f16_to_f32_f16c(src, dst) };
        return;
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = scalar::f16_to_f32(s);
    }
}

/// Narrow f32 to IEEE binary16 bits (round to nearest even, overflow to
/// ±inf). Panics when the lengths differ.
pub fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    assert_eq!(src.len(), dst.len(), "f32_to_f16: length mismatch");
    #[cfg(target_arch = "x86_64")]
    if isa::current() != Isa::Portable && has_f16c() {
        // SAFETY: f16c and avx were detected on this CPU (has_f16c).
        unsafe { x86::f32_to_f16_f16c(src, dst) };
        return;
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = scalar::f32_to_f16(s);
    }
}

/// The name of the path the functions above take on this thread, per
/// format: e.g. `("avx512-bf16", "f16c")`.
pub fn paths() -> (&'static str, &'static str) {
    let isa = isa::current();
    let bf16 = match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if has_avx512_bf16() => "avx512-bf16",
        other => other.name(),
    };
    #[cfg(target_arch = "x86_64")]
    let f16 = if isa != Isa::Portable && has_f16c() {
        "f16c"
    } else {
        "scalar"
    };
    #[cfg(not(target_arch = "x86_64"))]
    let f16 = "scalar";
    (bf16, f16)
}

#[cfg(target_arch = "x86_64")]
fn has_f16c() -> bool {
    std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx")
}

#[cfg(target_arch = "x86_64")]
fn has_avx512_bf16() -> bool {
    std::arch::is_x86_feature_detected!("avx512bf16")
}

#[inline(always)]
fn bf16_widen<const FMA: bool>(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = scalar::bf16_to_f32(s);
    }
}

#[inline(always)]
fn bf16_narrow<const FMA: bool>(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = scalar::f32_to_bf16(s);
    }
}

isa::multiversion!(fn bf16_widen_mv(src: &[u16], dst: &mut [f32]) = bf16_widen);
isa::multiversion!(fn bf16_narrow_mv(src: &[f32], dst: &mut [u16]) = bf16_narrow);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::scalar;
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support f16c and avx; `src.len() == dst.len()`.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn f16_to_f32_f16c(src: &[u16], dst: &mut [f32]) {
        let n = src.len() / 8 * 8;
        for i in (0..n).step_by(8) {
            // SAFETY: i + 8 ≤ n ≤ src.len() = dst.len(), so both 8-lane
            // accesses are in bounds; loadu/storeu accept any alignment;
            // the features were checked by the caller.
            unsafe {
                let h = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            }
        }
        for i in n..src.len() {
            dst[i] = scalar::f16_to_f32(src[i]);
        }
    }

    /// # Safety
    /// The CPU must support f16c and avx; `src.len() == dst.len()`.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn f32_to_f16_f16c(src: &[f32], dst: &mut [u16]) {
        let n = src.len() / 8 * 8;
        for i in (0..n).step_by(8) {
            // SAFETY: as in f16_to_f32_f16c. The rounding immediate is
            // round-to-nearest-even (imm bit 2 clear: not MXCSR).
            unsafe {
                let x = _mm256_loadu_ps(src.as_ptr().add(i));
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
                _mm_storeu_si128(dst.as_mut_ptr().add(i) as *mut __m128i, h);
            }
        }
        for i in n..src.len() {
            dst[i] = scalar::f32_to_f16(src[i]);
        }
    }

    /// # Safety
    /// The CPU must support avx512f, avx512vl and avx512bf16;
    /// `src.len() == dst.len()`.
    #[target_feature(enable = "avx512f,avx512vl,avx512bf16")]
    pub(super) unsafe fn f32_to_bf16_avx512(src: &[f32], dst: &mut [u16]) {
        let n = src.len() / 16 * 16;
        for i in (0..n).step_by(16) {
            // SAFETY: i + 16 ≤ n ≤ src.len() = dst.len(): the 16-lane load
            // and the 16 × u16 (256-bit) store are in bounds, unaligned
            // accesses allowed; features checked by the caller. __m256bh and
            // __m256i are both 256 bits of plain data.
            unsafe {
                let x = _mm512_loadu_ps(src.as_ptr().add(i));
                let h: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(x));
                _mm256_storeu_si256(dst.as_mut_ptr().add(i) as *mut __m256i, h);
            }
        }
        for i in n..src.len() {
            dst[i] = scalar::f32_to_bf16(src[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 class: zeros, subnormals, normals across the range, the
    /// f16 overflow edge, ties, inf, NaN; plus a pseudo-random sweep of bits.
    fn samples() -> Vec<f32> {
        let mut v = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            65504.0,
            65519.99,
            65520.0,
            -65520.0,
            65536.0,
            1e10,
            f32::MAX,
            f32::MIN_POSITIVE,
            6.1035156e-5,       // smallest f16 normal
            5.9604645e-8,       // smallest f16 subnormal
            2.9802322e-8,       // half of it: a tie, rounds to 0
            2.9802326e-8,       // just above the tie: rounds up
            1.0 + 1.0 / 2048.0, // f16 tie between 1 and 1+2^-10: to even (1)
            1.0 + 3.0 / 2048.0, // f16 tie: to even (1 + 2^-9)
            1.0 + 1.0 / 256.0,  // bf16 tie: to even (1)
            1.0 + 3.0 / 256.0,  // bf16 tie: to even
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            v.push(f32::from_bits(s as u32));
        }
        // Weight-like values, dense around the f16 ranges that matter.
        for i in 0..20_000 {
            v.push((i as f32 - 10_000.0) * 1.37e-4);
        }
        v
    }

    fn each_path(mut f: impl FnMut(Isa)) {
        for isa in Isa::ALL {
            if isa::with_isa(isa, || f(isa)).is_none() {
                eprintln!("skipping {} (not supported here)", isa.name());
            }
        }
    }

    #[test]
    fn widening_is_exact_on_every_path() {
        let all: Vec<u16> = (0..=u16::MAX).collect();
        each_path(|isa| {
            let mut d = vec![0.0f32; all.len()];
            bf16_to_f32(&all, &mut d);
            for (&h, &x) in all.iter().zip(&d) {
                assert_eq!(x.to_bits(), (h as u32) << 16, "{} bf16 {h:#x}", isa.name());
            }
            f16_to_f32(&all, &mut d);
            for (&h, &x) in all.iter().zip(&d) {
                let want = scalar::f16_to_f32(h);
                if want.is_nan() {
                    assert!(x.is_nan(), "{} f16 {h:#x}", isa.name());
                } else {
                    assert_eq!(x.to_bits(), want.to_bits(), "{} f16 {h:#x}", isa.name());
                }
                // Round trip: every f16 value narrows back to itself.
                if !want.is_nan() {
                    assert_eq!(scalar::f32_to_f16(want), h, "round trip {h:#x}");
                }
            }
        });
    }

    /// The scalar narrowing against an independent reference: the nearest
    /// representable value found in f64, ties to the even code.
    #[test]
    fn scalar_narrowing_rounds_to_nearest_even() {
        fn nearest(x: f32, decode: impl Fn(u16) -> f32) -> Option<u16> {
            // Candidates: every finite, non-NaN code of the same sign.
            let sign = if x.is_sign_negative() { 0x8000u16 } else { 0 };
            let mut best: Option<(f64, u16)> = None;
            for m in 0..0x8000u16 {
                let v = decode(sign | m);
                if !v.is_finite() {
                    continue;
                }
                let d = (v as f64 - x as f64).abs();
                match best {
                    Some((bd, bc)) if d > bd || (d == bd && (bc & 1) == 0) => {}
                    _ => best = Some((d, sign | m)),
                }
            }
            best.map(|b| b.1)
        }
        let xs = [
            1.0f32,
            0.1,
            -0.3,
            1.0 + 1.0 / 2048.0,
            1.0 + 3.0 / 2048.0,
            1.0 + 1.0 / 256.0,
            1.0 + 3.0 / 256.0,
            2.9802322e-8,
            4.4703484e-8,
            1e-6,
            -7.3e-5,
            1234.567,
            65504.0,
            65519.0,
        ];
        for &x in &xs {
            assert_eq!(
                Some(scalar::f32_to_f16(x)),
                nearest(x, scalar::f16_to_f32),
                "f16 {x:e}"
            );
            assert_eq!(
                Some(scalar::f32_to_bf16(x)),
                nearest(x, scalar::bf16_to_f32),
                "bf16 {x:e}"
            );
        }
        // Overflow: beyond half an ulp past the largest finite value → inf.
        assert_eq!(scalar::f32_to_f16(65520.0), 0x7c00);
        assert_eq!(scalar::f32_to_f16(-1e9), 0xfc00);
        assert_eq!(scalar::f32_to_f16(f32::INFINITY), 0x7c00);
        assert_eq!(scalar::f32_to_bf16(f32::MAX), 0x7f80);
        assert!(scalar::f16_to_f32(scalar::f32_to_f16(f32::NAN)).is_nan());
        assert!(scalar::bf16_to_f32(scalar::f32_to_bf16(f32::NAN)).is_nan());
        // A NaN whose payload sits only in the dropped bits stays NaN.
        let low_nan = f32::from_bits(0x7f80_0001);
        assert!(scalar::bf16_to_f32(scalar::f32_to_bf16(low_nan)).is_nan());
        assert!(scalar::f16_to_f32(scalar::f32_to_f16(low_nan)).is_nan());
    }

    #[test]
    fn narrowing_matches_scalar_on_every_path() {
        let xs = samples();
        each_path(|isa| {
            let mut h = vec![0u16; xs.len()];
            f32_to_f16(&xs, &mut h);
            for (&x, &got) in xs.iter().zip(&h) {
                let want = scalar::f32_to_f16(x);
                if x.is_nan() {
                    assert!(scalar::f16_to_f32(got).is_nan(), "{} f16 {x:e}", isa.name());
                } else {
                    assert_eq!(got, want, "{} f16 {x:e}", isa.name());
                }
            }
            f32_to_bf16(&xs, &mut h);
            let flushes = paths().0 == "avx512-bf16";
            for (&x, &got) in xs.iter().zip(&h) {
                let want = scalar::f32_to_bf16(x);
                if x.is_nan() {
                    assert!(
                        scalar::bf16_to_f32(got).is_nan(),
                        "{} bf16 {x:e}",
                        isa.name()
                    );
                } else if flushes && x.is_subnormal() {
                    assert_eq!(got & 0x7fff, 0, "{} bf16 subnormal {x:e}", isa.name());
                } else {
                    assert_eq!(got, want, "{} bf16 {x:e}", isa.name());
                }
            }
        });
    }

    #[test]
    fn tails_and_lengths() {
        for n in [0usize, 1, 7, 8, 9, 15, 16, 17, 33] {
            let xs: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - 2.0).collect();
            each_path(|_| {
                let mut h = vec![0u16; n];
                let mut back = vec![0f32; n];
                f32_to_bf16(&xs, &mut h);
                bf16_to_f32(&h, &mut back);
                for (a, b) in xs.iter().zip(&back) {
                    assert!((a - b).abs() <= a.abs() / 256.0, "{a} {b}");
                }
                f32_to_f16(&xs, &mut h);
                f16_to_f32(&h, &mut back);
                for (a, b) in xs.iter().zip(&back) {
                    assert!((a - b).abs() <= a.abs() / 2048.0, "{a} {b}");
                }
            });
        }
    }
}
