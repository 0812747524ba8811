//! Portable bf16 microkernel in plain Rust.

use crate::convert::scalar::bf16_to_f32;

/// Rows of the register tile.
pub(crate) const MR: usize = 4;
/// Columns of the register tile.
pub(crate) const NR: usize = 16;

/// See `dispatch::BKernelFn`.
///
/// # Safety
/// As `dispatch::BKernelFn`.
pub(super) unsafe fn kernel(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
) {
    // SAFETY: the caller vouches for MR rows of 2·kp u16 at a (lda apart)
    // and 2·kp·NR u16 at b.
    let rows: [&[u16]; MR] =
        std::array::from_fn(|i| unsafe { std::slice::from_raw_parts(a.add(i * lda), 2 * kp) });
    // SAFETY: as above.
    let b = unsafe { std::slice::from_raw_parts(b, 2 * kp * NR) };
    let mut acc = [[0.0f32; NR]; MR];
    for (q, bq) in b.chunks_exact(2 * NR).enumerate() {
        for (i, row) in rows.iter().enumerate() {
            let (a0, a1) = (bf16_to_f32(row[2 * q]), bf16_to_f32(row[2 * q + 1]));
            for (j, bj) in bq.chunks_exact(2).enumerate() {
                // Products of bf16 values are exact: no double rounding.
                acc[i][j] += a1 * bf16_to_f32(bj[1]);
                acc[i][j] += a0 * bf16_to_f32(bj[0]);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: C row i holds NR writable floats at c + i·ldc; bias, when
        // not null, NR readable floats.
        unsafe {
            let cr = std::slice::from_raw_parts_mut(c.add(i * ldc), NR);
            for (j, (cv, &v)) in cr.iter_mut().zip(row).enumerate() {
                *cv = if bias.is_null() { v } else { v + *bias.add(j) };
            }
        }
    }
}
