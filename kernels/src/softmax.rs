//! Row-wise softmax, numerically safe (the row maximum is subtracted first).

/// Softmax of each row of `x: [rows, cols]`, in place.
pub fn softmax_rows(x: &mut [f32], cols: usize) {
    assert!(cols > 0 && x.len() % cols == 0);
    for row in x.chunks_mut(cols) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for v in row.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// Backward of [`softmax_rows`] given its output `p`:
/// `dx_j += p_j · (dp_j − Σ_i p_i dp_i)`.
pub fn softmax_rows_backward(p: &[f32], dp: &[f32], cols: usize, dx: &mut [f32]) {
    assert!(p.len() == dp.len() && p.len() == dx.len());
    for ((pr, dpr), dxr) in p.chunks(cols).zip(dp.chunks(cols)).zip(dx.chunks_mut(cols)) {
        let dot: f32 = pr.iter().zip(dpr).map(|(a, b)| a * b).sum();
        for j in 0..cols {
            dxr[j] += pr[j] * (dpr[j] - dot);
        }
    }
}
