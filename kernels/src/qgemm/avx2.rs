//! AVX2 int8 microkernel: a 6×8 tile. The s8 weights and u8 activations are
//! widened to i16 and multiplied with `vpmaddwd` (exact: two products of at
//! most 255·127 and their sum fit an i32). `vpmaddubsw` is not used: its i16
//! sum of two u8·s8 products saturates (2·255·127 > 32767).
//!
//! A B vector holds 4 columns × one k-quad (16 i16), so each i32 lane sums a
//! pair of the quad and the two pair sums of a column are added at the end
//! (`vphaddd`): integer sums, so the regrouping is exact.

use super::dispatch::Post;
use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 6;
/// Columns of the register tile.
pub(crate) const NR: usize = 8;

/// See `dispatch::QKernelFn`.
///
/// # Safety
/// As `dispatch::QKernelFn`, and the CPU supports avx2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn kernel(
    kq: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    c: *mut f32,
    ldc: usize,
    post: &Post,
) {
    let mut acc = [[_mm256_setzero_si256(); 2]; MR];
    for q in 0..kq {
        // SAFETY: quad q < kq of the B panel: 32 bytes at b + 32q; quad q
        // of A row i < MR: 4 bytes at a + i·lda + 4q (caller's contract).
        unsafe {
            let bq = b.add(q * 4 * NR);
            let b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(bq as *const __m128i));
            let b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(bq.add(16) as *const __m128i));
            for (i, row) in acc.iter_mut().enumerate() {
                let quad = (a.add(i * lda + 4 * q) as *const i32).read_unaligned();
                let va = _mm256_cvtepu8_epi16(_mm_set1_epi32(quad));
                row[0] = _mm256_add_epi32(row[0], _mm256_madd_epi16(va, b0));
                row[1] = _mm256_add_epi32(row[1], _mm256_madd_epi16(va, b1));
            }
        }
    }
    let sums: [__m256i; MR] = std::array::from_fn(|i| {
        // [c0 c1 c4 c5 | c2 c3 c6 c7] → [c0 … c7].
        _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_hadd_epi32(acc[i][0], acc[i][1]))
    });
    // SAFETY: the Post pointers hold MR / NR values (bias may be null), and
    // C row i < MR holds NR writable floats at c + i·ldc.
    unsafe { store(&sums, c, ldc, post) };
}

/// Apply the output formula of `dispatch::Post` and store the tile.
///
/// # Safety
/// As `kernel`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store(sums: &[__m256i; MR], c: *mut f32, ldc: usize, post: &Post) {
    // SAFETY: as the caller's contract says.
    unsafe {
        if post.raw {
            for (i, &s) in sums.iter().enumerate() {
                _mm256_storeu_si256(c.add(i * ldc) as *mut __m256i, s);
            }
            return;
        }
        let colsum = _mm256_loadu_si256(post.colsum as *const __m256i);
        let sw = _mm256_loadu_ps(post.sw);
        for (i, &s) in sums.iter().enumerate() {
            let d = _mm256_sub_epi32(
                s,
                _mm256_mullo_epi32(_mm256_set1_epi32(*post.zx.add(i)), colsum),
            );
            let scale = _mm256_mul_ps(_mm256_set1_ps(*post.sx.add(i)), sw);
            let mut y = _mm256_mul_ps(_mm256_cvtepi32_ps(d), scale);
            if !post.bias.is_null() {
                y = _mm256_add_ps(y, _mm256_loadu_ps(post.bias));
            }
            _mm256_storeu_ps(c.add(i * ldc), y);
        }
    }
}
