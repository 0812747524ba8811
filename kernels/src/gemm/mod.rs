//! Single-precision matrix products, BLIS-style: operands packed into
//! panels ([`pack`]), a register-blocked microkernel per instruction set
//! ([`avx512`], [`avx2`], [`portable`], chosen in [`dispatch`]), the loop nest
//! and thread split in [`driver`], block sizes in [`blocking`].
//!
//! Two entry points:
//! * [`sgemm`]: a general strided product `C = alpha·A·B + beta·C`, used for
//!   attention and for the backward pass (any transpose is a choice of strides);
//! * [`linear`]: `Y = X·Wᵀ + b` with a weight packed once at load time
//!   ([`PackedWeight`]) and an optional fused epilogue.
//!
//! Reproducibility: for one instruction-set path, each output element is
//! computed by the same sequence of floating-point operations whatever m,
//! the element's row, or the thread count (see [`blocking`]).

mod arows;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod blocking;
mod dispatch;
mod driver;
pub(crate) mod pack;
mod portable;

use crate::gelu;
use crate::isa::{self, Isa};
use dispatch::Kernel;
use driver::{COut, Product};
use pack::{AlignedBuf, Slot};

/// General strided product `C = alpha·A·B + beta·C` with `A: [m, k]`,
/// `B: [k, n]`, `C: [m, n]`, each addressed by (row stride, column stride).
///
/// Panics if a slice is too short for the shape and strides (a programming
/// error, not an input error). When `beta == 0`, `C` is overwritten (NaNs in
/// it are not propagated). Splits across threads when it pays (see
/// [`crate::parallel`]).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    sgemm_impl(
        m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, true,
    );
}

/// [`sgemm`] that never spawns threads (same bits as [`sgemm`]).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_serial(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    sgemm_impl(
        m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, false,
    );
}

#[allow(clippy::too_many_arguments)]
fn sgemm_impl(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
    allow_threads: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    check_extent("A", a.len(), m, k, rsa, csa);
    check_extent("B", b.len(), k, n, rsb, csb);
    check_extent("C", c.len(), m, n, rsc, csc);
    if k == 0 {
        scale_c(m, n, beta, c, rsc, csc);
        return;
    }
    let isa = isa::current();
    isa::note_exercised(isa);
    let kern = dispatch::kernel(isa);
    pack::with_buf(Slot::B, pack::packed_len(n, k, kern.nr), |bpack| {
        // Packing B is O(k·n) of an O(m·k·n) product, but serial it would
        // cap the speed-up of small-m products: split it by panels too.
        let nr = kern.nr;
        if allow_threads && crate::parallel::worth_parallel(m * n * k) && n > nr {
            let panels = bpack.chunks_mut(nr * k).enumerate().collect();
            crate::parallel::for_each_item(panels, |(jp, panel)| {
                pack::pack_b_panel(nr, b, rsb, csb, jp * nr, nr.min(n - jp * nr), k, panel)
            });
        } else {
            pack::pack_b(nr, b, rsb, csb, 0, n, k, bpack);
        }
        let prod = Product {
            kern,
            m,
            n,
            k,
            alpha,
            a,
            rsa,
            csa,
            bpack,
            beta,
            c: COut {
                ptr: c.as_mut_ptr(),
                rs: rsc,
                cs: csc,
            },
            epilogue: None,
        };
        // SAFETY: check_extent proved every (i, j) of A, B, C in bounds; `c`
        // is a unique borrow, so it aliases neither `a` nor the packed copy
        // of `b`; bpack holds ceil(n/NR) full-depth panels.
        unsafe { driver::run(&prod, allow_threads) };
    });
}

/// `C = beta·C` (k = 0: the product is empty).
fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], rsc: usize, csc: usize) {
    for i in 0..m {
        for j in 0..n {
            let v = &mut c[i * rsc + j * csc];
            *v = if beta == 0.0 { 0.0 } else { beta * *v };
        }
    }
}

fn check_extent(name: &str, len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)))
        .unwrap_or(usize::MAX);
    assert!(
        last < len,
        "sgemm: matrix {name} [{rows}x{cols}] with strides ({rs},{cs}) needs {} elements, slice has {len}",
        last.saturating_add(1)
    );
}

/// A weight `W: [n, k]` (PyTorch `[out, in]` layout) prepared once for
/// repeated products `X·Wᵀ`: stored as the NR-column panels of `Wᵀ` that the
/// microkernel of the current instruction-set path streams through.
#[derive(Clone, Debug)]
pub struct PackedWeight {
    n: usize,
    k: usize,
    isa: Isa,
    data: AlignedBuf,
}

impl PackedWeight {
    /// Pack `w` of shape `[n, k]`, row-major.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "PackedWeight: expected {n}x{k} elements");
        Self::pack_for(dispatch::kernel(isa::current()), w, n, k)
    }

    fn pack_for(kern: &Kernel, w: &[f32], n: usize, k: usize) -> Self {
        let mut data = AlignedBuf::zeroed(pack::packed_len(n, k, kern.nr));
        // Wᵀ is [k, n] with strides (1, k).
        pack::pack_b(kern.nr, w, 1, k, 0, n, k, data.as_mut_slice());
        PackedWeight {
            n,
            k,
            isa: kern.isa,
            data,
        }
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }
    /// The weight back in its original `[n, k]` row-major layout.
    pub fn to_nk(&self) -> Vec<f32> {
        let nr = dispatch::kernel(self.isa).nr;
        let d = self.data.as_slice();
        let mut w = vec![0.0; self.n * self.k];
        for (j, row) in w.chunks_exact_mut(self.k.max(1)).enumerate().take(self.n) {
            let panel = &d[(j / nr) * nr * self.k..];
            for (p, v) in row.iter_mut().enumerate() {
                *v = panel[p * nr + j % nr];
            }
        }
        w
    }
}

/// What [`linear`] does to each output after the bias.
#[derive(Clone, Copy, Debug)]
pub enum Epilogue<'a> {
    /// `y = x·Wᵀ + b`
    None,
    /// `y = gelu_erf(x·Wᵀ + b)`
    Gelu,
    /// `y = x·Wᵀ + b + r`, with `r` shaped like `y`
    Residual(&'a [f32]),
}

/// `out[m, n] = epilogue(x[m, k] · Wᵀ + bias)`, the bias and epilogue
/// applied to each output tile right after its last depth block.
pub fn linear(
    x: &[f32],
    m: usize,
    w: &PackedWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, true);
}

/// [`linear`] that never spawns threads (same bits as [`linear`]).
pub fn linear_serial(
    x: &[f32],
    m: usize,
    w: &PackedWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    linear_impl(x, m, w, bias, epilogue, out, false);
}

fn linear_impl(
    x: &[f32],
    m: usize,
    w: &PackedWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
    allow_threads: bool,
) {
    let (n, k) = (w.n, w.k);
    crate::tiles::check_shapes("linear", x.len(), m, n, k, bias, epilogue, out.len());
    if m == 0 || n == 0 {
        return;
    }
    let isa = isa::current();
    let finish = |row0: usize, col: usize, segs: &mut [&mut [f32]]| {
        for (r, seg) in segs.iter_mut().enumerate() {
            if let Some(b) = bias {
                for (y, &bb) in seg.iter_mut().zip(&b[col..]) {
                    *y += bb;
                }
            }
            if let Epilogue::Residual(res) = epilogue {
                for (y, &rr) in seg.iter_mut().zip(&res[(row0 + r) * n + col..]) {
                    *y += rr;
                }
            }
        }
        if let Epilogue::Gelu = epilogue {
            gelu::gelu_rows(isa, segs);
        }
    };
    if k == 0 {
        out.fill(0.0);
        for (i, row) in out.chunks_exact_mut(n).enumerate() {
            finish(i, 0, &mut [row]);
        }
        return;
    }
    isa::note_exercised(isa);
    let kern = dispatch::kernel(isa);
    // A weight packed under another path (only when tests force paths) has
    // another panel width: repack it for this call.
    let repacked;
    let w = if w.isa == isa {
        w
    } else {
        repacked = PackedWeight::pack_for(kern, &w.to_nk(), n, k);
        &repacked
    };
    let prod = Product {
        kern,
        m,
        n,
        k,
        alpha: 1.0,
        a: x,
        rsa: k,
        csa: 1,
        bpack: w.data.as_slice(),
        beta: 0.0,
        c: COut {
            ptr: out.as_mut_ptr(),
            rs: n,
            cs: 1,
        },
        epilogue: Some(&finish),
    };
    // SAFETY: x is [m, k] and out is [m, n] row-major (asserted above); out
    // is a unique borrow, aliasing neither x nor the packed weight, which
    // holds ceil(n/NR) full-depth panels for this kernel's NR.
    unsafe { driver::run(&prod, allow_threads) };
}
