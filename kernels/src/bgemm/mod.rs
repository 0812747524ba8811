//! Bfloat16 matrix products: `linear_bf16` computes `bf16(x) · Wᵀ` with
//! bf16 weights and activations and f32 accumulation.
//!
//! # Scheme
//! The weight is stored in bf16 ([`Bf16Weight`]); each call rounds the rows
//! of `x` to bf16 (nearest, ties to even, with [`crate::convert`]); every
//! output is an f32 sum from zero over k in order, two depths at a time,
//! the odd one first (the order `vdpbf16ps` uses), then `+ bias` and the
//! epilogue. A product of two bf16 values (8-bit significands) is exact in
//! f32, so the fused (FMA, `vdpbf16ps`) and unfused (portable) paths round
//! each addition identically: all paths give the same bits except for
//! subnormal values, which `vdpbf16ps` flushes to zero (its inputs and its
//! result) and the others keep, and `vcvtneps2bf16`'s flush of subnormal
//! activations (see [`crate::convert`]). The error against the exact f64
//! product of the rounded operands is that of an f32 sum of k terms.
//!
//! # Packing
//! Depth in pairs (k padded with zeros to even). A weight is stored as
//! panels of NR channels (48 with AVX-512 BF16, 16 otherwise, the edge
//! panel zero-padded): panel `jp`, pair `q`, channel `j`, element `r` at
//! `jp·NR·2·kp + q·2·NR + 2j + r` (u16 units), so one pair of a panel is NR
//! dwords: for `vdpbf16ps`, three zmm of 16 channels × 2 depths, against a
//! broadcast dword holding the activation row's 2 bf16. The activations
//! are converted into row-major rows of `2·kp` u16, read in place, padded
//! with zero rows to a multiple of MR.
//!
//! # Paths
//! `Isa::Avx512`: `vdpbf16ps` when the CPU has avx512bf16 (and avx512bw),
//! else the AVX2 kernel; `Isa::Avx2`: bf16 widened to f32 (a mask and a
//! shift) and FMA; `Isa::Portable`: plain Rust.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
mod portable;
mod weight;

pub use weight::Bf16Weight;

use crate::convert;
use crate::gemm::Epilogue;
use crate::isa::{self, Isa};
use crate::parallel;
use crate::tiles::{self, Grid, OutPtr, MAX_MR};
use dispatch::BKernel;

/// `out[m, n] = epilogue(bf16(x) · Wᵀ + bias)`, `x: [m, k]` rounded to
/// bf16 per element, products summed in f32 (see the module docs for the
/// order). Splits over threads like [`crate::linear`]; the result's bits
/// do not depend on m, a row's position or the thread count.
///
/// Panics when a slice does not match the shapes (programming errors).
pub fn linear_bf16(
    x: &[f32],
    m: usize,
    w: &Bf16Weight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, true);
}

/// [`linear_bf16`] that never spawns threads (same bits).
pub fn linear_bf16_serial(
    x: &[f32],
    m: usize,
    w: &Bf16Weight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, false);
}

fn linear_impl(
    x: &[f32],
    m: usize,
    w: &Bf16Weight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
    allow_threads: bool,
) {
    let (n, k) = (w.n(), w.k());
    tiles::check_shapes("linear_bf16", x.len(), m, n, k, bias, epilogue, out.len());
    if m == 0 || n == 0 {
        return;
    }
    let isa = isa::current();
    let kern = dispatch::kernel(isa);
    // A weight packed under another path (only when tests force paths) is
    // repacked for this call.
    let w = w.for_kernel(kern);
    let (mr, nr) = (kern.mr, kern.nr);
    assert!(mr <= MAX_MR && mr * nr <= SCRATCH);
    let lda = 2 * k.div_ceil(2);
    let a = convert_rows(x, m, k, m.div_ceil(mr) * mr, allow_threads);
    let bias = tiles::padded_bias(bias, n.div_ceil(nr) * nr);
    let prod = Prod {
        isa,
        kern,
        m,
        w: &w,
        a: &a,
        lda,
        bias: bias.as_deref(),
        epilogue,
    };
    let outp = OutPtr(out.as_mut_ptr());
    let grid = Grid {
        m,
        n,
        mr,
        nr,
        row_bytes: 2 * lda,
        flops: m * n * k.max(1),
    };
    tiles::run(&grid, allow_threads, &|i0, j0| {
        // SAFETY: the grid hands each (i0, j0) tile to one task; it lies
        // inside the [m, n] output, which `out` borrows uniquely.
        unsafe { prod.tile(outp, i0, j0) }
    });
}

/// `x: [m, k]` rounded to bf16 rows of `lda = 2·ceil(k/2)` u16, zero rows
/// up to `m_pad` (rows split across threads when `allow_threads` and it
/// pays; each row's result is the same).
fn convert_rows(x: &[f32], m: usize, k: usize, m_pad: usize, allow_threads: bool) -> Vec<u16> {
    let lda = 2 * k.div_ceil(2);
    let mut a = vec![0u16; m_pad * lda];
    if allow_threads && lda > 0 && parallel::worth_parallel_elementwise(m * k) {
        let items: Vec<_> = a[..m * lda]
            .chunks_mut(ROWS_PER_TASK * lda)
            .enumerate()
            .collect();
        parallel::for_each_item(items, |(c, rows)| {
            for (r, row) in rows.chunks_exact_mut(lda).enumerate() {
                let i = c * ROWS_PER_TASK + r;
                convert::f32_to_bf16(&x[i * k..(i + 1) * k], &mut row[..k]);
            }
        });
    } else {
        for i in 0..m {
            convert::f32_to_bf16(&x[i * k..(i + 1) * k], &mut a[i * lda..i * lda + k]);
        }
    }
    a
}

/// Rows per task when the activations are converted on several threads.
const ROWS_PER_TASK: usize = 32;

/// One product over converted activations.
struct Prod<'a> {
    isa: Isa,
    kern: &'static BKernel,
    m: usize,
    w: &'a Bf16Weight,
    /// `[m padded to MR, lda]` bf16 rows.
    a: &'a [u16],
    lda: usize,
    /// Padded to whole panels.
    bias: Option<&'a [f32]>,
    epilogue: Epilogue<'a>,
}

impl Prod<'_> {
    /// The tile at (i0, j0).
    ///
    /// # Safety
    /// The tile lies inside the `[m, n]` output behind `out` and belongs to
    /// the calling task.
    unsafe fn tile(&self, out: OutPtr, i0: usize, j0: usize) {
        let (m, n) = (self.m, self.w.n());
        let (mr, nr) = (self.kern.mr, self.kern.nr);
        let kp = self.w.k().div_ceil(2);
        let (mrows, ncols) = (mr.min(m - i0), nr.min(n - j0));
        let bias = self.bias.map_or(std::ptr::null(), |b| b[j0..].as_ptr());
        let a = self.a[i0 * self.lda..].as_ptr();
        let b = self.w.data()[j0 * kp * 2..].as_ptr();
        if mrows == mr && ncols == nr {
            // SAFETY: isa::current() chose this kernel, so the CPU runs it;
            // rows i0..i0+MR of the padded activations hold 2·kp u16 each,
            // the panel at column j0 holds 2·kp·NR u16, the bias is padded
            // to whole panels, and the tile lies inside `out`.
            unsafe { (self.kern.run)(kp, a, self.lda, b, out.0.add(i0 * n + j0), n, bias) };
        } else {
            let mut t = [0.0f32; SCRATCH];
            // SAFETY: as above, into the local scratch tile (row stride NR);
            // then the live part goes to the caller's tile of `out`.
            unsafe {
                (self.kern.run)(kp, a, self.lda, b, t.as_mut_ptr(), nr, bias);
                tiles::copy_tile(&t, nr, out, n, (i0, j0), (mrows, ncols));
            }
        }
        // SAFETY: the caller's tile.
        unsafe { tiles::finish_tile(self.isa, self.epilogue, out, n, (i0, j0), (mrows, ncols)) };
    }
}

/// Floats in a scratch tile (≥ MR·NR of every kernel).
const SCRATCH: usize = 512;
