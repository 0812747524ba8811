//! Portable microkernel in plain Rust (no FMA: on the x86-64 baseline
//! `mul_add` would be a library call). The compiler vectorises the j loop
//! with whatever the baseline target has (SSE2 on x86-64).

use super::blocking::portable::{MR, NR};

/// `C = alpha·(Ã·B̃) + beta·C` for one full MR×NR tile, with the same
/// update rule as the SIMD kernels (see `avx512::kernel`), products and sums
/// rounded separately.
///
/// # Safety
/// `a` points to `kc·MR` readable floats, `b` to `kc·NR`, and `c` to an
/// MR×NR tile with row stride `rsc` and unit column stride, writable, not
/// aliasing `a` or `b` (and readable unless beta = 0).
pub(super) unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    alpha: f32,
    beta: f32,
) {
    // SAFETY: the caller vouches for kc·MR floats at `a` and kc·NR at `b`.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, kc * MR),
            std::slice::from_raw_parts(b, kc * NR),
        )
    };
    let mut acc = [[0.0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
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
