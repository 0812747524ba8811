//! Softmax cross-entropy, the mean over a batch (`torch.nn.CrossEntropyLoss()`).

use crate::error::{Error, Result};

/// What the backward needs: the class probabilities of every row.
#[derive(Clone, Debug)]
pub struct CrossEntropy {
    /// softmax(logits), `[rows, classes]`.
    pub probs: Vec<f32>,
    /// Number of classes.
    pub classes: usize,
    /// Mean loss over the rows.
    pub loss: f64,
}

/// Mean over rows of `−log softmax(logits)[label]`; logits `[rows, classes]`.
/// Log-sum-exp in f64 with the row maximum subtracted.
pub fn cross_entropy_forward(
    logits: &[f32],
    classes: usize,
    labels: &[usize],
) -> Result<CrossEntropy> {
    let rows = labels.len();
    if rows == 0 || logits.len() != rows * classes {
        return Err(Error::msg(format!(
            "cross-entropy: {} logits for {rows} labels of {classes} classes",
            logits.len()
        )));
    }
    let mut probs = vec![0.0f32; logits.len()];
    let mut total = 0.0f64;
    for ((z, p), &y) in logits
        .chunks(classes)
        .zip(probs.chunks_mut(classes))
        .zip(labels)
    {
        if y >= classes {
            return Err(Error::msg(format!(
                "label {y} is out of range for {classes} classes"
            )));
        }
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
        let lse = max + sum.ln();
        total += lse - z[y] as f64;
        for (pi, &zi) in p.iter_mut().zip(z) {
            *pi = ((zi as f64 - lse).exp()) as f32;
        }
    }
    Ok(CrossEntropy {
        probs,
        classes,
        loss: total / rows as f64,
    })
}

/// Backward of [`cross_entropy_forward`] scaled by `dloss` (the loss's
/// weight in the total): `dlogits += dloss · (softmax − onehot(label)) / rows`.
pub fn cross_entropy_backward(
    ce: &CrossEntropy,
    labels: &[usize],
    dloss: f32,
    dlogits: &mut [f32],
) {
    let scale = dloss / labels.len() as f32;
    for ((d, p), &y) in dlogits
        .chunks_mut(ce.classes)
        .zip(ce.probs.chunks(ce.classes))
        .zip(labels)
    {
        for (j, (dj, &pj)) in d.iter_mut().zip(p).enumerate() {
            let t = if j == y { 1.0 } else { 0.0 };
            *dj += scale * (pj - t);
        }
    }
}
