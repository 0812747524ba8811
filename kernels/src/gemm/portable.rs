//! Portable microkernel in plain Rust (no FMA: on the x86-64 baseline
//! `mul_add` would be a library call). The compiler vectorises the j loop
//! with whatever the baseline target has (SSE2 on x86-64).

use super::blocking::portable::{MR, NR};
use super::dispatch::Prefetch;

/// `C = alpha·(Ã·B̃) + beta·C` for one full MR×NR tile, with the same
/// update rule as the SIMD kernels (see `avx512::kernel`), products and sums
/// rounded separately.
///
/// A is read as `a[i·a_rs + p·a_ps]` (see `avx512::kernel`).
///
/// # Safety
/// `a[i·a_rs + p·a_ps]` is readable for i < MR, p < kc; `b` points to `kc·NR`
/// readable floats, and `c` to an MR×NR tile with row stride `rsc` and unit
/// column stride, writable, not aliasing `a` or `b` (and readable unless
/// beta = 0).
#[allow(clippy::too_many_arguments)]
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
    _pf: Prefetch,
) {
    // SAFETY: the caller vouches for kc·NR floats at `b`.
    let b = unsafe { std::slice::from_raw_parts(b, kc * NR) };
    let mut acc = [[0.0f32; NR]; MR];
    for (p, bp) in b.chunks_exact(NR).enumerate() {
        // SAFETY: i < MR and p < kc: a[i·a_rs + p·a_ps] is readable.
        let ap: [f32; MR] = std::array::from_fn(|i| unsafe { *a.add(i * a_rs + p * a_ps) });
        for i in 0..MR {
            for j in 0..NR {
                acc[i][j] += ap[i] * bp[j];
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: row i of the caller's tile: NR contiguous writable floats
        // at c + i·rsc, not aliasing a or b.
        let cr = unsafe { std::slice::from_raw_parts_mut(c.add(i * rsc), NR) };
        for (cv, &v) in cr.iter_mut().zip(row) {
            let t = alpha * v;
            *cv = if beta == 0.0 {
                t
            } else if beta == 1.0 {
                t + *cv
            } else {
                t + beta * *cv
            };
        }
    }
}
