//! Scaled dot-product attention for one head of one sequence, in two steps:
//! [`head_probs`] `P = softmax(scale·Q·Kᵀ)` and [`head_context`] `O = P·V`
//! (a caller may transform P in between, e.g. dropout).
//!
//! On the AVX-512 path these are kernels of their own ([`avx512`]): a
//! sentence of 16 tokens gives 16×16 score matrices, narrower than the
//! GEMM's 32-column register tile, so `sgemm` would send every tile through
//! its scalar edge path and pack Kᵀ through the general packing code on each
//! call. The kernels here tile 8 query rows × 32 keys (two vectors, masked
//! at the ragged end; one vector for the last 16 or fewer), and fuse the
//! softmax. On the other paths the two
//! steps are that composition: `sgemm` (serial), then the row softmax.
//!
//! Bits: each score is `scale · (FMA chain over the head dimension from
//! zero)` and each output element an FMA chain over the keys in blocks of
//! `KC`, blocks added in order, and the softmax is [`crate::softmax`]'s,
//! operation for operation; that is exactly what the composition computes
//! on the same path (tested), so embeddings are the same either way.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod multi_head;

pub use multi_head::{map_heads, multi_head, probs_offsets, ProbsTransform};

use crate::gemm::pack::{with_buf, Slot};
use crate::isa::{self, Isa};
use crate::matrix::{matmul_serial, MatMut, MatRef};
use crate::softmax::softmax_rows_isa;

/// Keys per vector block (one AVX-512 vector).
const JB: usize = 16;

/// `probs[l, l] = softmax(scale · Q·Kᵀ)` row by row, for one head: query `i`
/// is `q[i·ld .. i·ld + d]`, key `j` is `k[j·ld .. j·ld + d]` (Q and K may be
/// column windows of one wider row-major matrix, as in a fused QKV
/// projection). Runs on the calling thread.
pub fn head_probs(
    l: usize,
    d: usize,
    scale: f32,
    q: &[f32],
    k: &[f32],
    ld: usize,
    probs: &mut [f32],
) {
    assert!(
        probs.len() >= l * l,
        "attention: probs shorter than {l}×{l}"
    );
    if l == 0 {
        return;
    }
    assert!(d <= ld, "attention: head width {d} exceeds row stride {ld}");
    let need = (l - 1) * ld + d;
    assert!(
        q.len() >= need && k.len() >= need,
        "attention: Q or K shorter than {l} rows of stride {ld}"
    );
    let probs = &mut probs[..l * l];
    let path = isa::current();
    #[cfg(target_arch = "x86_64")]
    if path == Isa::Avx512 && d > 0 {
        let blocks = l.div_ceil(JB);
        with_buf(Slot::B, blocks * d * JB, |kt| {
            // Kᵀ in blocks of JB keys, zero-padded:
            // kt[(jb·d + c)·JB + j] = k[jb·JB + j, c].
            for (jb, block) in kt.chunks_exact_mut(d * JB).enumerate() {
                for j in 0..JB {
                    let key = jb * JB + j;
                    if key < l {
                        let row = &k[key * ld..key * ld + d];
                        for (dst, &x) in block.chunks_exact_mut(JB).zip(row) {
                            dst[j] = x;
                        }
                    } else {
                        for dst in block.chunks_exact_mut(JB) {
                            dst[j] = 0.0;
                        }
                    }
                }
            }
            // SAFETY: `isa::current()` yields Avx512 only after detecting
            // avx512f; q holds l rows of stride ld with d ≤ ld readable
            // floats each (asserted above), kt holds ⌈l/JB⌉·d·JB floats
            // (its length), probs exactly l·l.
            unsafe { avx512::probs(l, d, scale, q, ld, kt, probs) };
        });
        return;
    }
    // S = scale·Q·Kᵀ (Q and K: l rows of d columns, ld apart).
    let (q, k) = (
        MatRef::strided(q, l, d, ld, 1),
        MatRef::strided(k, l, d, ld, 1),
    );
    matmul_serial(scale, q, k.t(), 0.0, MatMut::new(probs, l, l));
    softmax_rows_isa(path, probs, l);
}

/// `out[i·ld_out + c] = Σ_j probs[i, j] · v[j·ld_v + c]` for `i < l`,
/// `c < d`: one head's context. Runs on the calling thread.
pub fn head_context(
    l: usize,
    d: usize,
    probs: &[f32],
    v: &[f32],
    ld_v: usize,
    out: &mut [f32],
    ld_out: usize,
) {
    assert!(
        probs.len() >= l * l,
        "attention: probs shorter than {l}×{l}"
    );
    if l == 0 || d == 0 {
        return;
    }
    assert!(
        d <= ld_v && d <= ld_out,
        "attention: head width {d} exceeds a row stride ({ld_v}, {ld_out})"
    );
    assert!(
        v.len() >= (l - 1) * ld_v + d,
        "attention: V shorter than {l} rows of stride {ld_v}"
    );
    assert!(
        out.len() >= (l - 1) * ld_out + d,
        "attention: output shorter than {l} rows of stride {ld_out}"
    );
    #[cfg(target_arch = "x86_64")]
    if isa::current() == Isa::Avx512 {
        // SAFETY: Avx512 only after detecting avx512f; probs holds l·l
        // floats, v l rows of stride ld_v and out l rows of stride ld_out
        // with d ≤ both strides readable (writable) floats each (asserted
        // above).
        unsafe { avx512::context(l, d, probs, v, ld_v, out, ld_out) };
        return;
    }
    // C = P·V.
    matmul_serial(
        1.0,
        MatRef::new(probs, l, l),
        MatRef::strided(v, l, d, ld_v, 1),
        0.0,
        MatMut::strided(out, l, d, ld_out, 1),
    );
}
