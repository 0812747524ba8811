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

#[cfg(test)]
mod tests {
    use super::*;

    /// `[rows, cols]` row-major with element `(i, j)` = `10·i + j`.
    fn grid(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|x| (10 * (x / cols) + x % cols) as f32)
            .collect()
    }

    #[test]
    fn transpose_swaps_shape_and_strides() {
        let a = grid(2, 3);
        let t = MatRef::new(&a, 2, 3).t();
        assert_eq!((t.rows, t.cols, t.row_stride, t.col_stride), (3, 2, 1, 3));
        // Element (j, i) of the transpose is element (i, j) of a.
        assert_eq!(t.data[2 * t.row_stride + t.col_stride], 12.0);
    }

    #[test]
    fn matmul_with_transposes_matches_the_sum() {
        // c[3, 2] = 2·aᵀ·bᵀ + 1·c with a: [4, 3], b: [2, 4] (exact in f32).
        let (a, b) = (grid(4, 3), grid(2, 4));
        let mut c = vec![1.0f32; 6];
        let (am, bm) = (MatRef::new(&a, 4, 3), MatRef::new(&b, 2, 4));
        matmul(2.0, am.t(), bm.t(), 1.0, MatMut::new(&mut c, 3, 2));
        for i in 0..3 {
            for j in 0..2 {
                let s: f32 = (0..4).map(|p| a[p * 3 + i] * b[j * 4 + p]).sum();
                assert_eq!(c[i * 2 + j], 2.0 * s + 1.0, "({i}, {j})");
            }
        }
        let mut c2 = vec![1.0f32; 6];
        matmul_serial(2.0, am.t(), bm.t(), 1.0, MatMut::new(&mut c2, 3, 2));
        assert_eq!(c, c2);
    }

    #[test]
    #[should_panic(expected = "matmul: [4x3]·[4x2] into [4x2]")]
    fn shapes_that_do_not_chain_panic() {
        let (a, b) = (grid(4, 3), grid(4, 2));
        let mut c = vec![0.0f32; 8];
        matmul(
            1.0,
            MatRef::new(&a, 4, 3),
            MatRef::new(&b, 4, 2),
            0.0,
            MatMut::new(&mut c, 4, 2),
        );
    }
}
