//! AVX-512F kernels of one attention head: scores and softmax
//! ([`probs`]), then the probability-weighted sum of V ([`context`]).
//!
//! Tiles: 8 query rows × 32 keys (scores) and 8 rows × 32 head columns
//! (context), 16 accumulators and 10 loads per 16 FMAs as in the GEMM's
//! tile; one vector wide for the last 16 or fewer keys or columns. Ragged
//! ends use masked loads and stores, so a 12-token sentence costs one vector
//! per row, not a scalar edge loop. Rows past the last are computed from a
//! repeated row and never stored.
//!
//! Every operation matches, in order and rounding, what `sgemm` and the
//! row softmax do on this path (see the parent module).

use crate::fastmath::{EXP_HI, EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E, ROUND_MAGIC};
use crate::gemm::blocking::KC;
use std::arch::x86_64::*;

/// Lanes per vector.
const W: usize = 16;
/// Rows per register tile.
const IB: usize = 8;

/// A mask of the first `n` lanes (all 16 when `n ≥ 16`).
fn first(n: usize) -> __mmask16 {
    if n >= W {
        0xffff
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// `probs = softmax(scale·Q·Kᵀ)` for one head, from Kᵀ packed by the caller
/// in blocks of 16 keys (`kt[(jb·d + c)·16 + j] = K[jb·16 + j, c]`, zero
/// past the last key).
///
/// # Safety
/// The CPU supports avx512f; `q` holds `l` rows of stride `ld` with at
/// least `d` readable floats each (`(l−1)·ld + d ≤ q.len()`);
/// `kt.len() ≥ ⌈l/16⌉·d·16`; `probs.len() == l·l`.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn probs(
    l: usize,
    d: usize,
    scale: f32,
    q: &[f32],
    ld: usize,
    kt: &[f32],
    probs: &mut [f32],
) {
    let vscale = _mm512_set1_ps(scale);
    let pp = probs.as_mut_ptr();
    let mut i0 = 0;
    while i0 < l {
        let rows = IB.min(l - i0);
        // Rows past the end repeat the last row (computed, never stored).
        let qrows: [*const f32; IB] =
            std::array::from_fn(|r| q.as_ptr().wrapping_add((i0 + r.min(rows - 1)) * ld));
        let mut j0 = 0;
        while j0 < l {
            // Two vectors of keys per tile while at least 17 remain (10
            // loads per 16 FMAs, as the GEMM's 8×32 tile), else one.
            let nv = if l - j0 > W { 2 } else { 1 };
            // SAFETY: forwarded contract; j0 < l is a multiple of 16.
            unsafe {
                if nv == 2 {
                    score_tile::<2>(l, d, vscale, &qrows, kt, j0, pp.add(i0 * l), rows);
                } else {
                    score_tile::<1>(l, d, vscale, &qrows, kt, j0, pp.add(i0 * l), rows);
                }
            }
            j0 += nv * W;
        }
        i0 += IB;
    }
    for i in 0..l {
        // SAFETY: row i < l of probs: l floats from pp + i·l.
        unsafe { softmax_row(pp.add(i * l), l) };
    }
}

/// Scores of one tile: `rows` query rows (`qrows`, the last repeated to
/// fill 8) against keys `j0 .. j0 + 16·NV`, stored from `dst` (row `r` at
/// `dst + r·l`, key columns past `l` masked off).
///
/// # Safety
/// As [`probs`]; `j0 < l` is a multiple of 16, `qrows` point at rows of
/// `q` (`d` readable floats each), and `dst` at row `i0` of `probs` with
/// `rows ≤ l − i0`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn score_tile<const NV: usize>(
    l: usize,
    d: usize,
    vscale: __m512,
    qrows: &[*const f32; IB],
    kt: &[f32],
    j0: usize,
    dst: *mut f32,
    rows: usize,
) {
    let mut out = [[_mm512_setzero_ps(); NV]; IB];
    let mut c0 = 0;
    while c0 < d {
        let c1 = (c0 + KC).min(d);
        let mut acc = [[_mm512_setzero_ps(); NV]; IB];
        for c in c0..c1 {
            // SAFETY: key block j0/16 + h (h < NV; it exists while keys
            // j0 + 16·h < l, which NV = 2 guarantees) holds d rows of 16
            // floats, and c < d: inside kt by the contract.
            let kv: [__m512; NV] = std::array::from_fn(|h| unsafe {
                _mm512_loadu_ps(kt.as_ptr().add((j0 + h * W) * d + c * W))
            });
            for (a, &qr) in acc.iter_mut().zip(qrows) {
                // SAFETY: qr is a row of q and c < d: inside q.
                let qv = _mm512_set1_ps(unsafe { *qr.add(c) });
                for h in 0..NV {
                    a[h] = _mm512_fmadd_ps(qv, kv[h], a[h]);
                }
            }
        }
        // As sgemm with alpha = scale: t = scale·acc, stored by the first
        // depth block, added to what is there by the others.
        for (o, a) in out.iter_mut().zip(&acc) {
            for h in 0..NV {
                let t = _mm512_mul_ps(vscale, a[h]);
                o[h] = if c0 == 0 { t } else { _mm512_add_ps(t, o[h]) };
            }
        }
        c0 = c1;
    }
    for (r, o) in out.iter().enumerate().take(rows) {
        for (h, &v) in o.iter().enumerate() {
            let j = j0 + h * W;
            // SAFETY: row r < rows of the tile; the unmasked lanes are
            // columns j.. < l of that row, inside probs; masked lanes are
            // not touched.
            unsafe { _mm512_mask_storeu_ps(dst.add(r * l + j), first(l - j), v) };
        }
    }
}

/// e^x lane by lane: `fastmath::exp_f32::<true>` operation for operation
/// (same constants, same FMAs, same order), so the bits agree.
#[target_feature(enable = "avx512f,avx2,fma")]
fn exp(x: __m512) -> __m512 {
    let xc = _mm512_min_ps(
        _mm512_max_ps(x, _mm512_set1_ps(EXP_LO)),
        _mm512_set1_ps(EXP_HI),
    );
    let t = _mm512_fmadd_ps(xc, _mm512_set1_ps(LOG2E), _mm512_set1_ps(ROUND_MAGIC));
    let n = _mm512_sub_ps(t, _mm512_set1_ps(ROUND_MAGIC));
    let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_HI), xc);
    let r = _mm512_fmadd_ps(n, _mm512_set1_ps(-LN2_LO), r);
    let mut p = _mm512_set1_ps(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    let r2 = _mm512_mul_ps(r, r);
    let e = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0));
    let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(
        _mm512_castps_si512(t),
        _mm512_set1_epi32(127),
    ));
    let y = _mm512_mul_ps(e, _mm512_castsi512_ps(bits));
    let under = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(EXP_LO));
    let y = _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
    _mm512_mask_blend_ps(nan, y, x)
}

/// The 16 lanes summed in `lanes::tree`'s order: halves, quarters, pairs.
#[target_feature(enable = "avx512f,avx2,fma")]
fn tree_sum(v: __m512) -> f32 {
    let lo = _mm512_castps512_ps256(v);
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    let s8 = _mm256_add_ps(lo, hi);
    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps::<1>(s2, s2)))
}

/// Softmax of the `n` floats at `p`, in place: `softmax::softmax_rows`
/// on this path, operation for operation (max, e^(x − max) stored, lane-wise
/// sum with the ragged end in the first lanes, one reciprocal, products).
///
/// # Safety
/// The CPU supports avx512f; `p .. p + n` is readable and writable.
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn softmax_row(p: *mut f32, n: usize) {
    let neg_inf = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut vmax = neg_inf;
    let mut j = 0;
    while j < n {
        // SAFETY: the unmasked lanes are j.. < n, inside the row; masked
        // lanes are not read.
        let x = unsafe { _mm512_mask_loadu_ps(neg_inf, first(n - j), p.add(j)) };
        // Operand order: a NaN x keeps the running max, as `lanes::max`.
        vmax = _mm512_max_ps(x, vmax);
        j += W;
    }
    let max = _mm512_reduce_max_ps(vmax);
    if max == f32::NEG_INFINITY {
        // Every entry masked: zeros rather than NaN, as the row softmax.
        let mut j = 0;
        while j < n {
            // SAFETY: as above, stores only to lanes inside the row.
            unsafe { _mm512_mask_storeu_ps(p.add(j), first(n - j), _mm512_setzero_ps()) };
            j += W;
        }
        return;
    }
    let vm = _mm512_set1_ps(max);
    let mut acc = _mm512_setzero_ps();
    let mut j = 0;
    while j < n {
        let m = first(n - j);
        // SAFETY: as above.
        let x = unsafe { _mm512_maskz_loadu_ps(m, p.add(j)) };
        let e = exp(_mm512_sub_ps(x, vm));
        // SAFETY: as above.
        unsafe { _mm512_mask_storeu_ps(p.add(j), m, e) };
        acc = _mm512_mask_add_ps(acc, m, acc, e);
        j += W;
    }
    let inv = _mm512_set1_ps(1.0 / tree_sum(acc));
    let mut j = 0;
    while j < n {
        let m = first(n - j);
        // SAFETY: as above.
        unsafe {
            let x = _mm512_maskz_loadu_ps(m, p.add(j));
            _mm512_mask_storeu_ps(p.add(j), m, _mm512_mul_ps(x, inv));
        }
        j += W;
    }
}

/// `out[i·ld_out + c] = Σ_j probs[i·l + j] · v[j·ld_v + c]`, `i < l`,
/// `c < d`: an FMA chain over j per depth block of `KC` from zero, blocks
/// added in order, as `sgemm` with alpha 1.
///
/// # Safety
/// The CPU supports avx512f; `probs.len() ≥ l·l`; `v` holds `l` rows of
/// stride `ld_v` and `out` `l` rows of stride `ld_out`, each with at least
/// `d` floats.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn context(
    l: usize,
    d: usize,
    probs: &[f32],
    v: &[f32],
    ld_v: usize,
    out: &mut [f32],
    ld_out: usize,
) {
    let op = out.as_mut_ptr();
    let mut i0 = 0;
    while i0 < l {
        let rows = IB.min(l - i0);
        let prows: [*const f32; IB] =
            std::array::from_fn(|r| probs.as_ptr().wrapping_add((i0 + r.min(rows - 1)) * l));
        let mut c0 = 0;
        while c0 < d {
            let nv = if d - c0 > W { 2 } else { 1 };
            // SAFETY: forwarded contract; c0 < d.
            unsafe {
                if nv == 2 {
                    context_tile::<2>(l, d, &prows, v, ld_v, c0, op.add(i0 * ld_out), ld_out, rows);
                } else {
                    context_tile::<1>(l, d, &prows, v, ld_v, c0, op.add(i0 * ld_out), ld_out, rows);
                }
            }
            c0 += nv * W;
        }
        i0 += IB;
    }
}

/// One tile of [`context`]: `rows` output rows (`prows`, the last repeated
/// to fill 8) × columns `c0 .. c0 + 16·NV` (past `d` masked off), stored
/// from `dst` with row stride `ld_out`.
///
/// # Safety
/// As [`context`]; `c0 < d`, with columns `c0 + 16·h < d` for every h < NV;
/// `prows` point at rows of `probs` (`l` floats each); `dst` at row `i0` of
/// `out` with `rows ≤ l − i0`.
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn context_tile<const NV: usize>(
    l: usize,
    d: usize,
    prows: &[*const f32; IB],
    v: &[f32],
    ld_v: usize,
    c0: usize,
    dst: *mut f32,
    ld_out: usize,
    rows: usize,
) {
    let masks: [__mmask16; NV] = std::array::from_fn(|h| first(d - c0 - h * W));
    let mut res = [[_mm512_setzero_ps(); NV]; IB];
    let mut j0 = 0;
    while j0 < l {
        let j1 = (j0 + KC).min(l);
        let mut acc = [[_mm512_setzero_ps(); NV]; IB];
        for j in j0..j1 {
            // SAFETY: row j < l of v, columns c0 + 16·h.. < d in the
            // unmasked lanes: inside v by the contract.
            let vv: [__m512; NV] = std::array::from_fn(|h| unsafe {
                _mm512_maskz_loadu_ps(masks[h], v.as_ptr().add(j * ld_v + c0 + h * W))
            });
            for (a, &pr) in acc.iter_mut().zip(prows) {
                // SAFETY: pr is a row of probs, j < l.
                let pv = _mm512_set1_ps(unsafe { *pr.add(j) });
                for h in 0..NV {
                    a[h] = _mm512_fmadd_ps(pv, vv[h], a[h]);
                }
            }
        }
        // As sgemm with alpha 1: the first depth block stored, the others
        // added to it.
        for (s, a) in res.iter_mut().zip(&acc) {
            for h in 0..NV {
                s[h] = if j0 == 0 {
                    a[h]
                } else {
                    _mm512_add_ps(a[h], s[h])
                };
            }
        }
        j0 = j1;
    }
    for (r, s) in res.iter().enumerate().take(rows) {
        for (h, &x) in s.iter().enumerate() {
            // SAFETY: row r < rows of the tile, columns c0 + 16·h.. < d in
            // the unmasked lanes: inside out by the contract.
            unsafe { _mm512_mask_storeu_ps(dst.add(r * ld_out + c0 + h * W), masks[h], x) };
        }
    }
}
