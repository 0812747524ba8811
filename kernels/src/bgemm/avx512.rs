//! AVX-512 BF16 microkernel: an 8×48 tile in 24 zmm accumulators. Per
//! k-pair, three 64-byte loads of B (16 columns × 2 bf16), per row one
//! broadcast dword (the row's 2 bf16), and `vdpbf16ps` adds both products
//! to each f32 lane (odd element first, denormals flushed, round to nearest
//! even whatever MXCSR says; see `dispatch`).

use std::arch::x86_64::*;

/// Rows of the register tile.
pub(crate) const MR: usize = 8;
/// Columns of the register tile (three zmm of 16 f32).
pub(crate) const NR: usize = 48;
const NV: usize = NR / 16;

/// See `dispatch::BKernelFn`.
///
/// # Safety
/// As `dispatch::BKernelFn`, and the CPU supports avx512f, avx512bw and
/// avx512bf16.
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
pub(super) unsafe fn kernel(
    kp: usize,
    a: *const u16,
    lda: usize,
    b: *const u16,
    c: *mut f32,
    ldc: usize,
    bias: *const f32,
) {
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    for q in 0..kp {
        // SAFETY: pair q < kp of the B panel: 2·NR u16 at b + 2·NR·q; pair
        // q of A row i < MR: 2 u16 at a + i·lda + 2q (caller's contract).
        // __m512i and __m512bh are both 512 bits of plain data.
        unsafe {
            let bq = b.add(q * 2 * NR);
            let bv: [__m512bh; NV] = std::array::from_fn(|v| {
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                    bq.add(32 * v) as *const __m512i
                ))
            });
            for (i, row) in acc.iter_mut().enumerate() {
                let pair = (a.add(i * lda + 2 * q) as *const i32).read_unaligned();
                let va = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(pair));
                for (r, &bb) in row.iter_mut().zip(&bv) {
                    *r = _mm512_dpbf16_ps(*r, va, bb);
                }
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        for (v, &s) in row.iter().enumerate() {
            // SAFETY: C row i < MR holds NR writable floats at c + i·ldc;
            // bias, when not null, NR readable floats.
            unsafe {
                let y = if bias.is_null() {
                    s
                } else {
                    _mm512_add_ps(s, _mm512_loadu_ps(bias.add(16 * v)))
                };
                _mm512_storeu_ps(c.add(i * ldc + 16 * v), y);
            }
        }
    }
}
