//! Int8 matrix products: `linear_i8` computes `x · Wᵀ` with int8 weights
//! and u8 activations quantized on the fly, i32 accumulation.
//!
//! # Scheme
//! * Weights ([`QuantWeight`]): symmetric, one scale per output channel j,
//!   `scale_j = max_p |w[j, p]| / 127`, `qw = round(w / scale_j)` in
//!   [-127, 127]. Symmetric because weights are centred on zero, so no zero
//!   point is needed on this side.
//! * Activations: asymmetric u8, one scale and zero point per row, chosen at
//!   call time over the row's `[min(x, 0), max(x, 0)]` (see `qgemm/rows.rs` for the
//!   exact rounding). Asymmetric because the rows are often skewed: after
//!   GELU a row lies in [-0.17, max], and a symmetric int8 grid would spend
//!   half its 256 levels on negative values that do not occur. Per row (not
//!   per tensor) because rows (tokens) differ in range, and it keeps each
//!   row's result independent of the other rows in the call.
//! * Product: with `x ≈ s_x·(qx − zx)` and `w ≈ s_w·qw`,
//!   `y[i, j] = s_x[i]·s_w[j]·(Σ_p qx[i,p]·qw[j,p] − zx[i]·Σ_p qw[j,p]) + b[j]`.
//!   The first sum is what the integer instructions compute (u8 × s8, as
//!   `vpdpbusd` wants); the second term, the zero-point compensation, uses
//!   the channel sums Σ_p qw[j, p] precomputed when the weight is packed, so
//!   it costs one multiply-subtract per output. The i32 arithmetic is exact
//!   for k ≤ [`MAX_K`] (wrapping operations; the corrected sum fits).
//!   Then `y = (d as f32)·(s_x·s_w) + b`, each operation rounded on its own
//!   (no FMA), so every path gives the same f32 bits before the epilogue's
//!   GELU (whose f32 evaluation is per path, as in `gemm`).
//!
//! # Packing
//! Depth is grouped in quads of 4 (k padded with zero weights to a multiple
//! of 4; the activation rows are padded with zeros, which contribute 0).
//! A weight is stored as panels of NR channels (NR per microkernel: 48 on
//! AVX-512 VNNI, 8 on AVX2, 16 portable, edge panel zero-padded): panel
//! `jp`, quad `q`, channel `j`, byte `r` at `jp·NR·4·kq + q·4·NR + 4·j + r`.
//! One quad of a panel is then NR·4 contiguous bytes, i.e. for VNNI three
//! 64-byte vectors each holding 16 channels × 4 depths, matching
//! `vpdpbusd`'s 4-products-per-i32-lane, against a broadcast dword holding
//! 4 u8 of an activation row. The quantized activations are written as
//! row-major u8 rows of `4·kq` bytes (the "A panel" is read in place), rows
//! padded with zeros to a multiple of MR.
//!
//! # Paths
//! `Isa::Avx512`: the VNNI kernel when the CPU has avx512vnni and avx512bw,
//! else the AVX2 one; `Isa::Avx2`: i16 widening and `vpmaddwd`;
//! `Isa::Portable`: plain Rust. All give identical i32 sums (integer
//! arithmetic is exact), so identical outputs.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod dispatch;
mod portable;
pub(crate) mod rows;
mod weight;

pub use weight::{QuantWeight, MAX_K};

use crate::gemm::Epilogue;
use crate::isa::{self, Isa};
use crate::parallel;
use crate::tiles::{self, Grid, OutPtr, MAX_MR};
use dispatch::{Post, QKernel};

/// `out[m, n] = epilogue(s_x[i]·s_w[j]·(Σ_p qx[i,p]·qw[j,p] − zx[i]·Σ_p qw[j,p]) + bias[j])`,
/// each row of `x: [m, k]` quantized at call time as [`quantize_rows_u8`]
/// does. Splits over threads like [`crate::linear`]; the result's bits do
/// not depend on m, a row's position or the thread count.
///
/// Panics when a slice does not match the shapes (programming errors).
pub fn linear_i8(
    x: &[f32],
    m: usize,
    w: &QuantWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, true);
}

/// [`linear_i8`] that never spawns threads (same bits).
pub fn linear_i8_serial(
    x: &[f32],
    m: usize,
    w: &QuantWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, false);
}

/// The row quantizer `linear_i8` applies to its input: `x: [m, k]` to
/// (`[m, k]` u8 row-major, `[m]` scales, `[m]` zero points), so that
/// `x[i, p] ≈ scale[i]·(q[i, p] − zero[i])`: with `lo = min(x_i, 0)`,
/// `hi = max(x_i, 0)`, `scale = (hi − lo)/255`, `zero = round(−lo/scale)`,
/// `q = clamp(round(x·(1/scale)) + zero, 0, 255)`, rounding half to even
/// (`x·(1/scale)`, one division per row, is within 1 ulp of `x/scale`). An
/// all-zero row gets scale 1, zero point 0; a row holding NaN or ±inf gets
/// scale NaN (its outputs in `linear_i8` are NaN). The same bits on every
/// path. Panics when `x.len() != m·k`.
pub fn quantize_rows_u8(x: &[f32], m: usize, k: usize) -> (Vec<u8>, Vec<f32>, Vec<i32>) {
    assert_eq!(x.len(), m * k, "quantize_rows_u8: input is not [{m}, {k}]");
    let isa = isa::current();
    let mut q = vec![0u8; m * k];
    let mut scales = vec![0.0f32; m];
    let mut zeros = vec![0i32; m];
    for i in 0..m {
        let p = rows::quantize_row(isa, &x[i * k..(i + 1) * k], &mut q[i * k..(i + 1) * k]);
        scales[i] = p.scale;
        zeros[i] = p.zero;
    }
    (q, scales, zeros)
}

/// The raw integer sums `Σ_p q[i, p]·qw[j, p]` (`q: [m, k]` u8), `[m, n]`,
/// on the current path: for tests (every path must give the same).
#[doc(hidden)]
pub fn qgemm_sums(q: &[u8], m: usize, w: &QuantWeight) -> Vec<i32> {
    let (n, k) = (w.n(), w.k());
    assert_eq!(q.len(), m * k, "qgemm_sums: input is not [{m}, {k}]");
    let isa = isa::current();
    let kern = dispatch::kernel(isa);
    let mut a = Activations::zeroed(kern, m, k);
    for i in 0..m {
        a.q[i * a.lda..i * a.lda + k].copy_from_slice(&q[i * k..(i + 1) * k]);
    }
    let mut out = vec![0.0f32; m * n];
    let prod = Prod {
        isa,
        kern,
        m,
        w,
        a: &a,
        bias: None,
        epilogue: Epilogue::None,
        raw: true,
    };
    prod.run(&mut out, false);
    out.iter().map(|v| v.to_bits() as i32).collect()
}

/// Quantized activation rows laid out for a microkernel.
struct Activations {
    /// `[m padded to MR, lda]` u8, zero padding.
    q: Vec<u8>,
    lda: usize,
    /// Row scales and zero points, padded to MR rows with zeros.
    sx: Vec<f32>,
    zx: Vec<i32>,
}

impl Activations {
    fn zeroed(kern: &QKernel, m: usize, k: usize) -> Self {
        let m_pad = m.div_ceil(kern.mr) * kern.mr;
        let lda = 4 * k.div_ceil(4);
        Activations {
            q: vec![0; m_pad * lda],
            lda,
            sx: vec![0.0; m_pad],
            zx: vec![0; m_pad],
        }
    }

    /// Quantize `x: [m, k]` row by row (rows split across threads when
    /// `allow_threads` and it pays; each row's result is the same).
    fn quantize(
        isa: Isa,
        kern: &QKernel,
        x: &[f32],
        m: usize,
        k: usize,
        allow_threads: bool,
    ) -> Self {
        let mut a = Self::zeroed(kern, m, k);
        let lda = a.lda;
        let one = |i: usize, q: &mut [u8], s: &mut f32, z: &mut i32| {
            let p = rows::quantize_row(isa, &x[i * k..(i + 1) * k], q);
            (*s, *z) = (p.scale, p.zero);
        };
        if allow_threads && lda > 0 && parallel::worth_parallel_elementwise(m * k) {
            let items: Vec<_> = a.q[..m * lda]
                .chunks_mut(ROWS_PER_TASK * lda)
                .zip(a.sx[..m].chunks_mut(ROWS_PER_TASK))
                .zip(a.zx[..m].chunks_mut(ROWS_PER_TASK))
                .enumerate()
                .collect();
            parallel::for_each_item(items, |(c, ((q, s), z))| {
                for r in 0..s.len() {
                    one(
                        c * ROWS_PER_TASK + r,
                        &mut q[r * lda..],
                        &mut s[r],
                        &mut z[r],
                    );
                }
            });
        } else {
            for i in 0..m {
                one(i, &mut a.q[i * lda..], &mut a.sx[i], &mut a.zx[i]);
            }
        }
        a
    }
}

/// Rows per task when the activations are quantized on several threads.
const ROWS_PER_TASK: usize = 32;

fn linear_impl(
    x: &[f32],
    m: usize,
    w: &QuantWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
    allow_threads: bool,
) {
    let (n, k) = (w.n(), w.k());
    tiles::check_shapes("linear_i8", x.len(), m, n, k, bias, epilogue, out.len());
    if m == 0 || n == 0 {
        return;
    }
    let isa = isa::current();
    let kern = dispatch::kernel(isa);
    // A weight packed under another path (only when tests force paths) is
    // repacked for this call.
    let w = w.for_kernel(kern);
    let a = Activations::quantize(isa, kern, x, m, k, allow_threads);
    let prod = Prod {
        isa,
        kern,
        m,
        w: &w,
        a: &a,
        bias,
        epilogue,
        raw: false,
    };
    prod.run(out, allow_threads);
}

/// One product over quantized activations.
struct Prod<'a> {
    isa: Isa,
    kern: &'static QKernel,
    m: usize,
    w: &'a QuantWeight,
    a: &'a Activations,
    bias: Option<&'a [f32]>,
    epilogue: Epilogue<'a>,
    raw: bool,
}

impl Prod<'_> {
    /// Every tile into `out: [m, n]`.
    fn run(&self, out: &mut [f32], allow_threads: bool) {
        let (m, n, k) = (self.m, self.w.n(), self.w.k());
        let (mr, nr) = (self.kern.mr, self.kern.nr);
        assert!(mr <= MAX_MR && mr * nr <= SCRATCH);
        let bias = tiles::padded_bias(self.bias, n.div_ceil(nr) * nr);
        let outp = OutPtr(out.as_mut_ptr());
        let grid = Grid {
            m,
            n,
            mr,
            nr,
            row_bytes: self.a.lda,
            flops: m * n * k.max(1),
        };
        tiles::run(&grid, allow_threads, &|i0, j0| {
            // SAFETY: the grid hands each (i0, j0) tile to one task; it lies
            // inside the [m, n] output, which `out` borrows uniquely.
            unsafe { self.tile(outp, bias.as_deref(), i0, j0) }
        });
    }

    /// The tile at (i0, j0).
    ///
    /// # Safety
    /// The tile lies inside the `[m, n]` output behind `out` and belongs to
    /// the calling task.
    unsafe fn tile(&self, out: OutPtr, bias: Option<&[f32]>, i0: usize, j0: usize) {
        let (m, n) = (self.m, self.w.n());
        let (mr, nr) = (self.kern.mr, self.kern.nr);
        let kq = self.w.k().div_ceil(4);
        let (mrows, ncols) = (mr.min(m - i0), nr.min(n - j0));
        let post = Post {
            zx: self.a.zx[i0..].as_ptr(),
            sx: self.a.sx[i0..].as_ptr(),
            colsum: self.w.colsum()[j0..].as_ptr(),
            sw: self.w.scales()[j0..].as_ptr(),
            bias: bias.map_or(std::ptr::null(), |b| b[j0..].as_ptr()),
            raw: self.raw,
        };
        let a = self.a.q[i0 * self.a.lda..].as_ptr();
        let b = self.w.data()[j0 * kq * 4..].as_ptr();
        if mrows == mr && ncols == nr {
            // SAFETY: isa::current() chose this kernel, so the CPU runs it;
            // rows i0..i0+MR of the padded activations hold 4·kq bytes each,
            // the panel at column j0 holds 4·kq·NR bytes, the post arrays
            // are padded to whole tiles, and the tile lies inside `out`.
            unsafe { (self.kern.run)(kq, a, self.a.lda, b, out.0.add(i0 * n + j0), n, &post) };
        } else {
            let mut t = [0.0f32; SCRATCH];
            // SAFETY: as above, into the local scratch tile (row stride NR);
            // then the live part goes to the caller's tile of `out`.
            unsafe {
                (self.kern.run)(kq, a, self.a.lda, b, t.as_mut_ptr(), nr, &post);
                tiles::copy_tile(&t, nr, out, n, (i0, j0), (mrows, ncols));
            }
        }
        // SAFETY: the caller's tile.
        unsafe { tiles::finish_tile(self.isa, self.epilogue, out, n, (i0, j0), (mrows, ncols)) };
    }
}

/// Floats in a scratch tile (≥ MR·NR of every kernel).
const SCRATCH: usize = 512;
