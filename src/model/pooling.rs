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
