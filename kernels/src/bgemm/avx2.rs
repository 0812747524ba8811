//! AVX2 + FMA bf16 microkernel (also the `Isa::Avx512` fallback on CPUs
//! without AVX-512 BF16): a 4×16 tile. A bf16 is the top half of an f32, so
//! a pair (one u32 lane) widens to two f32 with a mask and a shift; each
//! product of two bf16 is exact in f32, so the FMAs round exactly like
//! `vdpbf16ps`'s additions (odd element first, see `dispatch`).

use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 4;
/// Columns of the register tile (two ymm of 8 f32).
pub(crate) const NR: usize = 16;

/// See `dispatch::BKernelFn`.
///
/// # Safety
/// As `dispatch::BKernelFn`, and the CPU supports avx2 and fma.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn kernel(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
) {
    let hi_mask = _mm256_set1_epi32(0xffff_0000u32 as i32);
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    for q in 0..kp {
        // SAFETY: pair q < kp of the B panel: 2·NR u16 at b + 2·NR·q; pair
        // q of A row i < MR: 2 u16 at a + i·lda + 2q (caller's contract).
        unsafe {
            let bq = b.add(q * 2 * NR);
            let v0 = _mm256_loadu_si256(bq as *const __m256i);
            let v1 = _mm256_loadu_si256(bq.add(16) as *const __m256i);
            let odd = [
                _mm256_castsi256_ps(_mm256_and_si256(v0, hi_mask)),
                _mm256_castsi256_ps(_mm256_and_si256(v1, hi_mask)),
            ];
            let even = [
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(v0)),
                _mm256_castsi256_ps(_mm256_slli_epi32::<16>(v1)),
            ];
            for (i, row) in acc.iter_mut().enumerate() {
                let pair = (a.add(i * lda + 2 * q) as *const u32).read_unaligned();
                let a1 = _mm256_set1_ps(f32::from_bits(pair & 0xffff_0000));
                let a0 = _mm256_set1_ps(f32::from_bits(pair << 16));
                for h in 0..2 {
                    row[h] = _mm256_fmadd_ps(a1, odd[h], row[h]);
                    row[h] = _mm256_fmadd_ps(a0, even[h], row[h]);
                }
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (h, &v) in row.iter().enumerate() {
            // SAFETY: C row i < MR holds NR writable floats at c + i·ldc;
            // bias, when not null, NR readable floats.
            unsafe {
                let y = if bias.is_null() {
                    v
                } else {
                    _mm256_add_ps(v, _mm256_loadu_ps(bias.add(8 * h)))
                };
                _mm256_storeu_ps(c.add(i * ldc + 8 * h), y);
            }
        }
    }
}
