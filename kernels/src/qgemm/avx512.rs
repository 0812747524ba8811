//! AVX-512 VNNI int8 microkernel: an 8×48 tile in 24 zmm accumulators of
//! 16 i32 columns. Per k-quad, three 64-byte loads of B (16 columns × 4
//! s8 each), and per row one broadcast of the row's 4 u8 (a dword), then
//! `vpdpbusd` adds the four u8·s8 products of each lane to its i32.
//! 48 columns divide the model's widths (384, 1152, 1536).

use super::dispatch::Post;
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 8;
/// Columns of the register tile (three zmm of 16 i32).
pub(crate) const NR: usize = 48;
const NV: usize = NR / 16;

/// See `dispatch::QKernelFn`.
///
/// # Safety
/// As `dispatch::QKernelFn`, and the CPU supports avx512f, avx512bw and
/// avx512vnni.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn kernel(
    kq: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    c: *mut f32,
    ldc: usize,
    post: &Post,
) {
    let mut acc = [[_mm512_setzero_si512(); NV]; MR];
    for q in 0..kq {
        // SAFETY: quad q < kq of the B panel: 4·NR bytes at b + 4·NR·q;
        // quad q of A row i < MR: 4 bytes at a + i·lda + 4q (caller's
        // contract).
        unsafe {
            let bq = b.add(q * 4 * NR);
            let bv: [__m512i; NV] =
                std::array::from_fn(|v| _mm512_loadu_si512(bq.add(64 * v) as *const __m512i));
            for (i, row) in acc.iter_mut().enumerate() {
                let quad = (a.add(i * lda + 4 * q) as *const i32).read_unaligned();
                let va = _mm512_set1_epi32(quad);
                for (r, &bb) in row.iter_mut().zip(&bv) {
                    *r = _mm512_dpbusd_epi32(*r, va, bb);
                }
            }
        }
    }
    // SAFETY: the Post pointers hold MR / NR values (bias may be null), and
    // C row i < MR holds NR writable floats at c + i·ldc.
    unsafe { store(&acc, c, ldc, post) };
}

/// Apply the output formula of `dispatch::Post` and store the tile.
///
/// # Safety
/// As `kernel`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(acc: &[[__m512i; NV]; MR], c: *mut f32, ldc: usize, post: &Post) {
    // SAFETY: as the caller's contract says.
    unsafe {
        if post.raw {
            for (i, row) in acc.iter().enumerate() {
                for (v, &s) in row.iter().enumerate() {
                    _mm512_storeu_si512(c.add(i * ldc + 16 * v) as *mut __m512i, s);
                }
            }
            return;
        }
        let colsum: [__m512i; NV] =
            std::array::from_fn(|v| _mm512_loadu_si512(post.colsum.add(16 * v) as *const __m512i));
        let sw: [__m512; NV] = std::array::from_fn(|v| _mm512_loadu_ps(post.sw.add(16 * v)));
        for (i, row) in acc.iter().enumerate() {
            let zx = _mm512_set1_epi32(*post.zx.add(i));
            let sx = _mm512_set1_ps(*post.sx.add(i));
            for (v, &s) in row.iter().enumerate() {
                let d = _mm512_sub_epi32(s, _mm512_mullo_epi32(zx, colsum[v]));
                let mut y = _mm512_mul_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(sx, sw[v]));
                if !post.bias.is_null() {
                    y = _mm512_add_ps(y, _mm512_loadu_ps(post.bias.add(16 * v)));
                }
                _mm512_storeu_ps(c.add(i * ldc + 16 * v), y);
            }
        }
    }
}
