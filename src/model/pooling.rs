//! Mean pooling over each sequence's tokens, and L2 normalisation.

use super::batch::TokenBatch;

/// Mean of each sequence's token states: `[sequences, hidden]`. Padding never
/// enters, since the batch holds real tokens only.
pub fn mean_pool(x: &[f32], batch: &TokenBatch, hidden: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; batch.len() * hidden];
    for (s, r) in batch.ranges().enumerate() {
        let o = &mut out[s * hidden..(s + 1) * hidden];
        for t in r.clone() {
            for (a, &v) in o.iter_mut().zip(&x[t * hidden..(t + 1) * hidden]) {
                *a += v;
            }
        }
        // Divide (not multiply by the reciprocal), as sentence-transformers does.
        let n = r.len() as f32;
        for a in o.iter_mut() {
            *a /= n;
        }
    }
    out
}

/// Scale `v` to unit length, as `torch.nn.functional.normalize` does
/// (the norm is clamped below at 1e-12, so a zero vector stays zero).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&a| a * a).sum::<f32>().sqrt().max(1e-12);
    for a in v {
        *a /= norm;
    }
}

/// Backward of [`mean_pool`]: `dx[t] += dpooled[s] / n_s` for every token `t`
/// of sequence `s` (`dx: [tokens, hidden]`).
#[cfg(feature = "train")]
pub fn mean_pool_backward(dpooled: &[f32], batch: &TokenBatch, hidden: usize, dx: &mut [f32]) {
    for (s, r) in batch.ranges().enumerate() {
        let n = r.len() as f32;
        let g = &dpooled[s * hidden..(s + 1) * hidden];
        for t in r {
            for (d, &v) in dx[t * hidden..(t + 1) * hidden].iter_mut().zip(g) {
                *d += v / n;
            }
        }
    }
}

/// Training form of [`l2_normalize`] over the rows of `v: [rows, dim]`, in
/// place; returns each row's (clamped) norm for the backward.
#[cfg(feature = "train")]
pub fn l2_normalize_rows(v: &mut [f32], dim: usize) -> Vec<f32> {
    v.chunks_mut(dim)
        .map(|row| {
            let norm = row.iter().map(|&a| a * a).sum::<f32>().sqrt().max(1e-12);
            for a in row.iter_mut() {
                *a /= norm;
            }
            norm
        })
        .collect()
}

/// Backward of [`l2_normalize_rows`] given its output `y` and norms:
/// `dx += (dy − y·(y·dy)) / ‖x‖`, or `dx += dy / 1e-12` where the norm was
/// clamped (the denominator is then a constant).
#[cfg(feature = "train")]
pub fn l2_normalize_rows_backward(
    y: &[f32],
    norms: &[f32],
    dy: &[f32],
    dim: usize,
    dx: &mut [f32],
) {
    for (((yr, &n), dyr), dxr) in y
        .chunks(dim)
        .zip(norms)
        .zip(dy.chunks(dim))
        .zip(dx.chunks_mut(dim))
    {
        let clamped = n <= 1e-12;
        let dot: f64 = if clamped {
            0.0
        } else {
            yr.iter().zip(dyr).map(|(&a, &b)| a as f64 * b as f64).sum()
        };
        let dot = dot as f32;
        for ((d, &a), &g) in dxr.iter_mut().zip(yr).zip(dyr) {
            *d += (g - a * dot) / n;
        }
    }
}
