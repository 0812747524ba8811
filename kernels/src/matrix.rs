//! Matrix views for the products: a slice, a shape and (row, column)
//! strides, so a call reads like its formula. `dV = Pᵀ·dC` is
//! `matmul(1.0, p.t(), dc, 0.0, dv)`, where the raw [`crate::sgemm`] call
//! spells the transpose as swapped strides among fourteen arguments.

use crate::gemm::{sgemm, sgemm_serial};

/// A read-only `[rows, cols]` matrix: element `(i, j)` is
/// `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// Row-major and contiguous: row stride `cols`, column stride 1.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// Rows `row_stride` apart, columns `col_stride` apart (a block of a
    /// wider matrix, such as one head's columns of Q/K/V).
    pub fn strided(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose: the same elements, shape and strides swapped (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// A writable `[rows, cols]` matrix, addressed as [`MatRef`].
#[derive(Debug)]
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatMut<'a> {
    /// Row-major and contiguous.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::strided(data, rows, cols, cols, 1)
    }

    /// Rows `row_stride` apart, columns `col_stride` apart.
    pub fn strided(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        MatMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }
}

/// `c ← alpha·a·b + beta·c` through [`sgemm`] (threads when it pays).
/// Panics when the shapes do not chain or a slice is too short for its
/// shape and strides (programming errors).
pub fn matmul(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    let (m, k, n) = shapes(&a, &b, &c);
    sgemm(
        m,
        k,
        n,
        alpha,
        a.data,
        a.row_stride,
        a.col_stride,
        b.data,
        b.row_stride,
        b.col_stride,
        beta,
        c.data,
        c.row_stride,
        c.col_stride,
    );
}

/// [`matmul`] that never spawns threads (same bits).
pub fn matmul_serial(alpha: f32, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: MatMut<'_>) {
    let (m, k, n) = shapes(&a, &b, &c);
    sgemm_serial(
        m,
        k,
        n,
        alpha,
        a.data,
        a.row_stride,
        a.col_stride,
        b.data,
        b.row_stride,
        b.col_stride,
        beta,
        c.data,
        c.row_stride,
        c.col_stride,
    );
}

/// `(m, k, n)` of `a: [m, k]`, `b: [k, n]`, `c: [m, n]`.
fn shapes(a: &MatRef<'_>, b: &MatRef<'_>, c: &MatMut<'_>) -> (usize, usize, usize) {
    assert!(
        a.cols == b.rows && c.rows == a.rows && c.cols == b.cols,
        "matmul: [{}x{}]·[{}x{}] into [{}x{}]",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    (a.rows, a.cols, b.cols)
}
