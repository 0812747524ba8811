//! Single-precision matrix products.
//!
//! Two entry points:
//! * [`sgemm`]: a general strided product `C = alpha·A·B + beta·C`, used for
//!   attention and for the backward pass (any transpose is a choice of strides);
//! * [`linear`]: `Y = X·Wᵀ + b` with a weight packed once at load time
//!   ([`PackedWeight`]) and an optional fused epilogue.

use crate::gelu;
use crate::parallel;

/// General strided product `C = alpha·A·B + beta·C` with `A: [m, k]`,
/// `B: [k, n]`, `C: [m, n]`, each addressed by (row stride, column stride).
///
/// Panics if a slice is too short for the shape and strides (a programming
/// error, not an input error). When `beta == 0`, `C` is overwritten (NaNs in
/// it are not propagated).
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
    if m == 0 || n == 0 {
        return;
    }
    check_extent("A", a.len(), m, k, rsa, csa);
    check_extent("B", b.len(), k, n, rsb, csb);
    check_extent("C", c.len(), m, n, rsc, csc);
    if k == 0 {
        for i in 0..m {
            for j in 0..n {
                let v = &mut c[i * rsc + j * csc];
                *v = if beta == 0.0 { 0.0 } else { beta * *v };
            }
        }
        return;
    }
    // SAFETY: check_extent proved that every index i*rs + j*cs for i < rows,
    // j < cols lies inside each slice, which is all matrixmultiply reads or
    // writes; `c` is a unique borrow so it aliases neither `a` nor `b`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            rsc as isize,
            csc as isize,
        );
    }
}

fn check_extent(name: &str, len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1) * rs + (cols - 1) * cs;
    assert!(
        last < len,
        "sgemm: matrix {name} [{rows}x{cols}] with strides ({rs},{cs}) needs {} elements, slice has {len}",
        last + 1
    );
}

/// A weight `W: [n, k]` (PyTorch `[out, in]` layout) prepared once for
/// repeated products `X·Wᵀ`.
#[derive(Clone, Debug)]
pub struct PackedWeight {
    n: usize,
    k: usize,
    data: Vec<f32>,
}

impl PackedWeight {
    /// Pack `w` of shape `[n, k]`, row-major.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(w.len(), n * k, "PackedWeight: expected {n}x{k} elements");
        PackedWeight { n, k, data: w.to_vec() }
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
        self.data.clone()
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

/// `out[m, n] = epilogue(x[m, k] · Wᵀ + bias)`.
pub fn linear(
    x: &[f32],
    m: usize,
    w: &PackedWeight,
    bias: Option<&[f32]>,
    epilogue: Epilogue<'_>,
    out: &mut [f32],
) {
    let (n, k) = (w.n, w.k);
    assert_eq!(x.len(), m * k, "linear: input is not [{m}, {k}]");
    assert_eq!(out.len(), m * n, "linear: output is not [{m}, {n}]");
    if let Some(b) = bias {
        assert_eq!(b.len(), n, "linear: bias is not [{n}]");
    }
    let _ = parallel::worth_parallel(m * n * k);
    // W is [n, k] row-major, so Wᵀ is [k, n] with strides (1, k).
    sgemm(m, k, n, 1.0, x, k, 1, &w.data, 1, k, 0.0, out, n, 1);
    for (row_i, row) in out.chunks_mut(n).enumerate() {
        if let Some(b) = bias {
            for (y, &bb) in row.iter_mut().zip(b) {
                *y += bb;
            }
        }
        match epilogue {
            Epilogue::None => {}
            Epilogue::Gelu => gelu::gelu_erf_inplace(row),
            Epilogue::Residual(r) => {
                for (y, &rr) in row.iter_mut().zip(&r[row_i * n..(row_i + 1) * n]) {
                    *y += rr;
                }
            }
        }
    }
}
