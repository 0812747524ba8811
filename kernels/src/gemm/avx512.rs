//! AVX-512F microkernel: an 8×32 register tile (16 zmm accumulators).

use super::arows::{with_a_rows, ARows};
use super::blocking::avx512::{MR, NR};
use super::dispatch::Prefetch;
use std::arch::x86_64::*;

/// `C = alpha·(Ã·B̃) + beta·C` for one full MR×NR tile.
///
/// Each accumulator is an FMA chain over p = 0..kc starting from zero; the
/// update is `t = alpha·acc`, then `t`, `t + C` or `t + beta·C` (beta 0, 1,
/// other) with separate roundings, exactly as `driver::merge` does for edge
/// tiles, so an element's bits do not depend on which path stored it.
///
/// A is read as `a[i·a_rs + p·a_ps]`: a packed micro-panel is `(1, MR)`, a
/// row-major operand used in place is `(row stride, 1)` (see `driver`).
///
/// # Safety
/// The CPU supports avx512f; `a[i·a_rs + p·a_ps]` is readable for i < MR,
/// p < kc; `b` points to `kc·NR` readable floats, and `c` to an MR×NR tile
/// with row stride `rsc` and unit column stride, writable, not aliasing `a`
/// or `b` (and readable unless beta = 0).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn kernel(
    kc: usize,
    a: *const f32,
    a_rs: usize,
    a_ps: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    alpha: f32,
    beta: f32,
    pf: Prefetch,
) {
    // Start fetching the C tile now so its misses overlap the k loop
    // instead of stalling the update at the end.
    for i in 0..MR {
        for h in 0..2 {
            _mm_prefetch::<_MM_HINT_T0>(c.wrapping_add(i * rsc + h * 16) as *const i8);
        }
    }
    // The B prefetch: one line per depth step over the first `spread`
    // steps (see `Prefetch::spread_over`).
    let spread = pf.spread_over(kc);
    // SAFETY: forwarded contract; each layout's `ARows` reads
    // a[i·a_rs + p·a_ps] for i < MR and p < kc only.
    let acc = with_a_rows!(MR, a, a_rs, a_ps, |rows| unsafe {
        depth_loop(kc, &rows, b, pf, spread)
    });
    let va = _mm512_set1_ps(alpha);
    let vb = _mm512_set1_ps(beta);
    for (i, row) in acc.iter().enumerate() {
        for (h, &v) in row.iter().enumerate() {
            // SAFETY: i < MR and h·16 + 16 ≤ NR, inside the caller's C tile.
            unsafe {
                let cp = c.add(i * rsc + h * 16);
                let t = _mm512_mul_ps(va, v);
                let out = if beta == 0.0 {
                    t
                } else if beta == 1.0 {
                    _mm512_add_ps(t, _mm512_loadu_ps(cp))
                } else {
                    _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_loadu_ps(cp)))
                };
                _mm512_storeu_ps(cp, out);
            }
        }
    }
}

/// The FMA chains of one tile: `acc[i][h] = Σ_p A(i, p)·B(p, 16h..16h+16)`
/// from zero, p in order; the first `spread` steps each also prefetch one
/// line of `pf`.
///
/// # Safety
/// The CPU supports avx512f; `rows` reads only inside A for p < kc; `b`
/// points to `kc·NR` readable floats.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn depth_loop(
    kc: usize,
    rows: &impl ARows,
    b: *const f32,
    pf: Prefetch,
    spread: usize,
) -> [[__m512; 2]; MR] {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let mut step = |p: usize| {
        // SAFETY: p < kc, so b + p·NR .. + NR is inside the panel.
        let (b0, b1) = unsafe {
            let bp = b.add(p * NR);
            (_mm512_loadu_ps(bp), _mm512_loadu_ps(bp.add(16)))
        };
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: i < MR and p < kc.
            let ai = _mm512_set1_ps(unsafe { rows.at(i, p) });
            row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
            row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
        }
    };
    let spread = spread.min(kc);
    for p in 0..spread {
        pf.line(p);
        step(p);
    }
    for p in spread..kc {
        step(p);
    }
    acc
}
