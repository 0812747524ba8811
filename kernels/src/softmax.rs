//! Row-wise softmax, numerically safe (the row maximum is subtracted first,
//! so every exponent is ≤ 0 and the sum is ≥ 1). Vectorised `exp` from
//! [`crate::fastmath`].

use crate::fastmath::exp_f32;
use crate::isa::{self, madd, multiversion};
use crate::lanes;
use crate::parallel;

#[inline(always)]
fn softmax_rows_generic<const FMA: bool>(x: &mut [f32], cols: usize) {
    for row in x.chunks_exact_mut(cols) {
        let max = lanes::max(row);
        if max == f32::NEG_INFINITY {
            // Every entry masked: no distribution; zeros rather than NaN.
            row.fill(0.0);
            continue;
        }
        for v in row.iter_mut() {
            *v = exp_f32::<FMA>(*v - max);
        }
        let sum = lanes::sum_map(row, |v| v);
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

#[inline(always)]
fn softmax_backward_generic<const FMA: bool>(p: &[f32], dp: &[f32], cols: usize, dx: &mut [f32]) {
    for ((pr, dpr), dxr) in p
        .chunks_exact(cols)
        .zip(dp.chunks_exact(cols))
        .zip(dx.chunks_exact_mut(cols))
    {
        let dot = lanes::dot::<FMA>(pr, dpr);
        for j in 0..cols {
            dxr[j] = madd::<FMA>(pr[j], dpr[j] - dot, dxr[j]);
        }
    }
}

// `softmax_rows` on this thread and the given path (the attention kernels'
// fallback calls it per head).
multiversion!(pub(crate) fn softmax_rows_isa(x: &mut [f32], cols: usize) = softmax_rows_generic);
multiversion!(fn softmax_backward_isa(p: &[f32], dp: &[f32], cols: usize, dx: &mut [f32]) = softmax_backward_generic);

/// Softmax of each row of `x: [rows, cols]`, in place. A row that is all
/// `-inf` (fully masked) becomes all zeros.
pub fn softmax_rows(x: &mut [f32], cols: usize) {
    assert!(cols > 0 && x.len().is_multiple_of(cols));
    let isa = isa::current();
    let rows = x.len() / cols;
    if parallel::worth_parallel_elementwise(x.len()) && rows > 1 {
        let chunk = rows.div_ceil(parallel::threads_here() * 4).max(1) * cols;
        parallel::for_each_item(x.chunks_mut(chunk).collect(), |c| {
            softmax_rows_isa(isa, c, cols)
        });
    } else {
        softmax_rows_isa(isa, x, cols);
    }
}

/// Backward of [`softmax_rows`] given its output `p`:
/// `dx_j += p_j · (dp_j − Σ_i p_i dp_i)`.
pub fn softmax_rows_backward(p: &[f32], dp: &[f32], cols: usize, dx: &mut [f32]) {
    assert!(p.len() == dp.len() && p.len() == dx.len());
    assert!(cols > 0 && p.len().is_multiple_of(cols));
    let isa = isa::current();
    let rows = p.len() / cols;
    if parallel::worth_parallel_elementwise(p.len()) && rows > 1 {
        let chunk = rows.div_ceil(parallel::threads_here() * 4).max(1) * cols;
        let parts = dx
            .chunks_mut(chunk)
            .zip(p.chunks(chunk).zip(dp.chunks(chunk)));
        parallel::for_each_item(parts.collect(), |(d, (pc, dpc))| {
            softmax_backward_isa(isa, pc, dpc, cols, d)
        });
    } else {
        softmax_backward_isa(isa, p, dp, cols, dx);
    }
}
