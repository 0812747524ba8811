//! Portable int8 microkernel in plain Rust: i32 sums of u8·i8 products.

use super::dispatch::{post_one, Post};

/// Rows of the register tile.
pub(crate) const MR: usize = 4;
/// Columns of the register tile.
pub(crate) const NR: usize = 16;

/// See `dispatch::QKernelFn`.
///
/// # Safety
/// As `dispatch::QKernelFn`.
pub(super) unsafe fn kernel(
    kq: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    c: *mut f32,
    ldc: usize,
    post: &Post,
) {
    // SAFETY: the caller vouches for MR rows of 4·kq bytes at a (lda
    // apart) and 4·kq·NR bytes at b.
    let rows: [&[u8]; MR] =
        std::array::from_fn(|i| unsafe { std::slice::from_raw_parts(a.add(i * lda), 4 * kq) });
    // SAFETY: as above.
    let b = unsafe { std::slice::from_raw_parts(b, 4 * kq * NR) };
    let mut acc = [[0i32; NR]; MR];
    for (q, bq) in b.chunks_exact(4 * NR).enumerate() {
        for (i, row) in rows.iter().enumerate() {
            let aq = &row[4 * q..4 * q + 4];
            for (j, bj) in bq.chunks_exact(4).enumerate() {
                let mut s = 0i32;
                for r in 0..4 {
                    s += aq[r] as i32 * bj[r] as i32;
                }
                acc[i][j] = acc[i][j].wrapping_add(s);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        // SAFETY: the post pointers hold MR / NR values (bias may be null);
        // C row i holds NR writable floats at c + i·ldc.
        unsafe {
            let cr = std::slice::from_raw_parts_mut(c.add(i * ldc), NR);
            if post.raw {
                for (cv, &v) in cr.iter_mut().zip(row) {
                    *cv = f32::from_bits(v as u32);
                }
                continue;
            }
            let (zx, sx) = (*post.zx.add(i), *post.sx.add(i));
            for (j, (cv, &v)) in cr.iter_mut().zip(row).enumerate() {
                let bias = (!post.bias.is_null()).then(|| *post.bias.add(j));
                *cv = post_one(v, zx, *post.colsum.add(j), sx, *post.sw.add(j), bias);
            }
        }
    }
}
