//! Losses on sentence embeddings for contrastive tuning of the encoder, each
//! forward beside its backward. Both take L2-normalised embeddings
//! `z: [rows, dim]`, so a dot product is a cosine similarity.
//!
//! * [`cosine_loss`]: sentence-transformers' `CosineSimilarityLoss`, the
//!   loss SetFit tunes with: `L = (1/P) Σ_p (z_a·z_b − t_p)²` over labelled
//!   pairs `p = (a, b, t)`, target 1 for the same class and 0 otherwise.
//!   `∂L/∂z_a = (2/P)(z_a·z_b − t)·z_b`, and symmetrically for `z_b`.
//! * [`supcon_loss`]: the supervised contrastive loss (Khosla et al. 2020)
//!   over every example of a batch. With `S_ij = z_i·z_j/τ` and, for anchor
//!   `i`, the positives `P(i) = {p ≠ i : y_p = y_i}`:
//!   `L_i = −(1/|P(i)|) Σ_{p∈P(i)} (S_ip − log Σ_{a≠i} exp S_ia)`, and `L` the
//!   mean of `L_i` over the `M` anchors that have a positive. Its gradient
//!   with respect to the similarities is `G_ia = (softmax_{a≠i}(S_i)_a −
//!   [a∈P(i)]/|P(i)|)/M`, and since `S = Z·Zᵀ/τ`, `∂L/∂Z = (G + Gᵀ)·Z/τ`.
//!   It is the in-batch loss we keep rather than multiple-negatives ranking:
//!   MNR treats every other example of the batch as a negative, and with two
//!   sentiment classes about half of them are of the anchor's own class
//!   (false negatives); SupCon counts every same-class example as a positive.

use crate::error::{Error, Result};

/// Which pair loss tunes the encoder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PairLoss {
    /// `(cos − target)²` on sampled pairs ([`cosine_loss`]).
    Cosine,
    /// Supervised contrastive loss over the batch ([`supcon_loss`]).
    SupCon {
        /// Temperature τ of the similarities.
        temperature: f32,
    },
}

impl PairLoss {
    /// SupCon's default temperature (SetFit's `SupConLoss`).
    pub const DEFAULT_TEMPERATURE: f32 = 0.07;

    /// `cosine` or `supcon` (with the default temperature).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cosine" => Ok(PairLoss::Cosine),
            "supcon" => Ok(PairLoss::SupCon {
                temperature: Self::DEFAULT_TEMPERATURE,
            }),
            other => Err(Error::msg(format!(
                "unknown pair loss {other:?} (expected cosine or supcon)"
            ))),
        }
    }

    /// The name [`PairLoss::parse`] takes.
    pub fn name(self) -> &'static str {
        match self {
            PairLoss::Cosine => "cosine",
            PairLoss::SupCon { .. } => "supcon",
        }
    }
}

/// A labelled pair of rows of a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    /// First row.
    pub a: usize,
    /// Second row.
    pub b: usize,
    /// Target cosine: 1 for the same class, 0 for different classes.
    pub target: f32,
}

fn dot(x: &[f32], y: &[f32]) -> f64 {
    x.iter().zip(y).map(|(&a, &b)| a as f64 * b as f64).sum()
}

fn row(z: &[f32], dim: usize, i: usize) -> &[f32] {
    &z[i * dim..(i + 1) * dim]
}

/// Mean squared error between each pair's cosine and its target; with
/// `dz`, adds `∂L/∂z` (scaled by `scale`) into it.
pub fn cosine_loss(
    z: &[f32],
    dim: usize,
    pairs: &[Pair],
    scale: f32,
    mut dz: Option<&mut [f32]>,
) -> Result<f64> {
    let rows = z.len() / dim.max(1);
    if pairs.is_empty() {
        return Err(Error::msg("cosine loss: no pairs"));
    }
    if let Some(p) = pairs.iter().find(|p| p.a >= rows || p.b >= rows) {
        return Err(Error::msg(format!(
            "cosine loss: pair ({}, {}) outside a batch of {rows}",
            p.a, p.b
        )));
    }
    let n = pairs.len() as f64;
    let mut loss = 0.0;
    for p in pairs {
        let r = dot(row(z, dim, p.a), row(z, dim, p.b)) - p.target as f64;
        loss += r * r;
        if let Some(dz) = dz.as_deref_mut() {
            let g = (2.0 * r / n) as f32 * scale;
            for k in 0..dim {
                let (za, zb) = (z[p.a * dim + k], z[p.b * dim + k]);
                dz[p.a * dim + k] += g * zb;
                dz[p.b * dim + k] += g * za;
            }
        }
    }
    Ok(loss / n)
}

/// Supervised contrastive loss of the rows of `z` with class `labels`; with
/// `dz`, adds `∂L/∂z` (scaled by `scale`) into it. Anchors without a
/// positive are left out; a batch in which no row has one (possible when a
/// pass's batch holds only the odd examples of their classes) contributes
/// a loss and gradient of zero.
pub fn supcon_loss(
    z: &[f32],
    dim: usize,
    labels: &[usize],
    temperature: f32,
    scale: f32,
    dz: Option<&mut [f32]>,
) -> Result<f64> {
    let n = labels.len();
    if z.len() != n * dim || temperature.is_nan() || temperature <= 0.0 {
        return Err(Error::msg(format!(
            "supcon loss: {} values for {n} rows of {dim}, temperature {temperature}",
            z.len()
        )));
    }
    let tau = temperature as f64;
    let sim: Vec<f64> = (0..n * n)
        .map(|k| dot(row(z, dim, k / n), row(z, dim, k % n)) / tau)
        .collect();
    let positives = |i: usize| (0..n).filter(move |&p| p != i && labels[p] == labels[i]);
    let anchors: Vec<usize> = (0..n).filter(|&i| positives(i).next().is_some()).collect();
    if anchors.is_empty() {
        return Ok(0.0);
    }
    let m = anchors.len() as f64;
    let mut loss = 0.0;
    // G: ∂L/∂S, row by anchor.
    let mut g = vec![0.0f64; n * n];
    for &i in &anchors {
        let s = &sim[i * n..(i + 1) * n];
        let max = (0..n)
            .filter(|&a| a != i)
            .map(|a| s[a])
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..n).filter(|&a| a != i).map(|a| (s[a] - max).exp()).sum();
        let lse = max + sum.ln();
        let count = positives(i).count() as f64;
        loss += positives(i).map(|p| lse - s[p]).sum::<f64>() / count;
        for a in (0..n).filter(|&a| a != i) {
            g[i * n + a] += (s[a] - lse).exp() / m;
        }
        for p in positives(i) {
            g[i * n + p] -= 1.0 / (count * m);
        }
    }
    if let Some(dz) = dz {
        // ∂L/∂Z = (G + Gᵀ)·Z / τ.
        for i in 0..n {
            for a in 0..n {
                let w = ((g[i * n + a] + g[a * n + i]) / tau) as f32 * scale;
                if w != 0.0 {
                    for k in 0..dim {
                        dz[i * dim + k] += w * z[a * dim + k];
                    }
                }
            }
        }
    }
    Ok(loss / m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_rows(v: &[f32], dim: usize) -> Vec<f32> {
        let mut z = v.to_vec();
        for r in z.chunks_mut(dim) {
            let n = r.iter().map(|a| a * a).sum::<f32>().sqrt();
            r.iter_mut().for_each(|a| *a /= n);
        }
        z
    }

    #[test]
    fn cosine_loss_of_known_pairs() {
        // Rows e1, e1, e2: cos(0,1) = 1 (target 1), cos(0,2) = 0 (target 1).
        let z = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let pairs = [
            Pair {
                a: 0,
                b: 1,
                target: 1.0,
            },
            Pair {
                a: 0,
                b: 2,
                target: 1.0,
            },
        ];
        let l = cosine_loss(&z, 2, &pairs, 1.0, None).unwrap();
        assert!((l - 0.5).abs() < 1e-12, "{l}");
        assert!(cosine_loss(
            &z,
            2,
            &[Pair {
                a: 0,
                b: 3,
                target: 0.0
            }],
            1.0,
            None
        )
        .is_err());
    }

    #[test]
    fn supcon_of_two_tight_classes_is_small() {
        // Two classes pointing opposite ways: positives at cos 1, negatives at −1.
        let z = unit_rows(&[1.0, 0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0], 2);
        let l = supcon_loss(&z, 2, &[0, 0, 1, 1], 0.07, 1.0, None).unwrap();
        // Each anchor: lse over {e^{1/τ}, e^{-1/τ}, e^{-1/τ}} minus 1/τ.
        let t = 1.0 / 0.07f64;
        let want = ((t).exp() + 2.0 * (-t).exp()).ln() - t;
        assert!((l - want).abs() < 1e-9, "{l} vs {want}");
        let mut dz = vec![0.0; z.len()];
        let none = supcon_loss(&z, 2, &[0, 1, 2, 3], 0.07, 1.0, Some(&mut dz)).unwrap();
        assert_eq!(none, 0.0);
        assert!(dz.iter().all(|&g| g == 0.0));
    }
}
