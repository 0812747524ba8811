//! Multinomial logistic regression on fixed features: the baseline the
//! freezing study compares fine-tuning against (a classifier on frozen
//! sentence embeddings).
//!
//! Objective: mean cross-entropy + (λ/2)·‖W‖² (bias not penalised), with
//! λ = 1/n as scikit-learn's `LogisticRegression(C=1)` scales it; minimised
//! by full-batch Adam for a fixed number of iterations (the problem is convex
//! and small, so this converges; the final gradient norm is reported).

use super::adamw::{update, AdamWConfig};
use super::predict::softmax;

/// A fitted classifier: `logits = x·Wᵀ + b`.
#[derive(Clone, Debug)]
pub struct LogReg {
    /// `[classes, dim]`.
    pub weight: Vec<f32>,
    /// `[classes]`.
    pub bias: Vec<f32>,
    /// Feature width.
    pub dim: usize,
    /// Final gradient norm of the objective (convergence check).
    pub grad_norm: f64,
}

impl LogReg {
    /// Fit on `x: [n, dim]` with class indices `y` (< `classes`).
    pub fn fit(x: &[f32], y: &[usize], dim: usize, classes: usize, iterations: usize) -> LogReg {
        let n = y.len();
        assert_eq!(x.len(), n * dim);
        let lambda = 1.0 / n.max(1) as f32;
        let mut w = vec![0.0f32; classes * dim];
        let mut b = vec![0.0f32; classes];
        let (mut mw, mut vw) = (vec![0.0; w.len()], vec![0.0; w.len()]);
        let (mut mb, mut vb) = (vec![0.0; classes], vec![0.0; classes]);
        let cfg = AdamWConfig {
            weight_decay: 0.0,
            ..Default::default()
        };
        let mut grad_norm = 0.0;
        for it in 1..=iterations {
            let mut gw = vec![0.0f32; w.len()];
            let mut gb = vec![0.0f32; classes];
            for (xi, &yi) in x.chunks(dim).zip(y) {
                let z: Vec<f32> = (0..classes)
                    .map(|c| dot(&w[c * dim..(c + 1) * dim], xi) + b[c])
                    .collect();
                let p = softmax(&z);
                for c in 0..classes {
                    let d = (p[c] - if c == yi { 1.0 } else { 0.0 }) / n as f32;
                    gb[c] += d;
                    for (g, &xv) in gw[c * dim..(c + 1) * dim].iter_mut().zip(xi) {
                        *g += d * xv;
                    }
                }
            }
            for (g, &wv) in gw.iter_mut().zip(&w) {
                *g += lambda * wv;
            }
            grad_norm = gw
                .iter()
                .chain(&gb)
                .map(|&g| (g as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            update(&cfg, it as u64, 0.05, 0.0, &mut w, &gw, &mut mw, &mut vw);
            update(&cfg, it as u64, 0.05, 0.0, &mut b, &gb, &mut mb, &mut vb);
        }
        LogReg {
            weight: w,
            bias: b,
            dim,
            grad_norm,
        }
    }

    /// Predicted class of each row of `x: [n, dim]` (ties → lowest index).
    pub fn predict(&self, x: &[f32]) -> Vec<usize> {
        let classes = self.bias.len();
        x.chunks(self.dim)
            .map(|xi| {
                let z: Vec<f32> = (0..classes)
                    .map(|c| dot(&self.weight[c * self.dim..(c + 1) * self.dim], xi) + self.bias[c])
                    .collect();
                z.iter()
                    .enumerate()
                    .fold(0, |best, (i, &v)| if v > z[best] { i } else { best })
            })
            .collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_separable_classes() {
        // Three clusters on the axes of R³.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let c = i % 3;
            let mut v = [0.1 * (i as f32 % 5.0 - 2.0); 3];
            v[c] += 2.0;
            x.extend_from_slice(&v);
            y.push(c);
        }
        let m = LogReg::fit(&x, &y, 3, 3, 300);
        assert_eq!(m.predict(&x), y);
        assert!(m.grad_norm < 1e-2, "not converged: {}", m.grad_norm);
    }
}
