//! LayerNorm over the hidden dimension (math in docs/internals.md).

use crate::weights::ParamStore;
use minilm_kernels::layer_norm as k;

/// A LayerNorm's parameters.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// Scale, `[hidden]`.
    pub gamma: Vec<f32>,
    /// Shift, `[hidden]`.
    pub beta: Vec<f32>,
    /// Added to the variance.
    pub eps: f32,
}

impl LayerNorm {
    /// Load `{prefix}.weight` and `{prefix}.bias`.
    pub fn from_store(store: &ParamStore, prefix: &str, eps: f32) -> Self {
        LayerNorm {
            gamma: store.get(&format!("{prefix}.weight")).data.clone(),
            beta: store.get(&format!("{prefix}.bias")).data.clone(),
            eps,
        }
    }

    /// `out = LN(x)` row by row; `stats` receives (mean, rstd) per row when given.
    pub fn forward(&self, x: &[f32], out: &mut [f32], stats: Option<(&mut [f32], &mut [f32])>) {
        k::layer_norm(
            x,
            self.gamma.len(),
            &self.gamma,
            &self.beta,
            self.eps,
            out,
            stats,
        );
    }

    /// [`LayerNorm::forward`] that keeps `x` and the row statistics (what
    /// `LayerNorm::backward` needs): the blocks' forward when it records.
    pub fn forward_keep(&self, x: Vec<f32>, out: &mut [f32]) -> LayerNormActs {
        let rows = x.len() / self.gamma.len();
        let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
        self.forward(&x, out, Some((&mut mean, &mut rstd)));
        LayerNormActs {
            input: x,
            mean,
            rstd,
        }
    }
}

/// What `LayerNorm::backward` needs from the forward pass
/// ([`LayerNorm::forward_keep`]).
#[derive(Clone, Debug, Default)]
pub struct LayerNormActs {
    /// The input, `[rows, hidden]`.
    pub input: Vec<f32>,
    /// Per-row mean.
    pub mean: Vec<f32>,
    /// Per-row `1/√(var + eps)`.
    pub rstd: Vec<f32>,
}

/// Gradient buffers of one LayerNorm, accumulated into.
#[cfg(feature = "train")]
pub struct LayerNormGrad<'a> {
    /// dL/dgamma (`….weight`).
    pub gamma: &'a mut [f32],
    /// dL/dbeta (`….bias`).
    pub beta: &'a mut [f32],
}

#[cfg(feature = "train")]
impl LayerNorm {
    /// Backward: `dx += ∂L/∂x`, and `dgamma`, `dbeta` accumulated when the
    /// LayerNorm trains (`grad = None` for a frozen one).
    pub fn backward(
        &self,
        dy: &[f32],
        acts: &LayerNormActs,
        dx: &mut [f32],
        grad: Option<LayerNormGrad<'_>>,
    ) {
        let h = self.gamma.len();
        let (mut sg, mut sb);
        let (dg, db): (&mut [f32], &mut [f32]) = match grad {
            Some(g) => (g.gamma, g.beta),
            None => {
                // The kernel always accumulates parameter gradients: give it scratch.
                sg = vec![0.0; h];
                sb = vec![0.0; h];
                (&mut sg, &mut sb)
            }
        };
        k::layer_norm_backward(
            dy,
            &acts.input,
            h,
            &self.gamma,
            &acts.mean,
            &acts.rstd,
            dx,
            dg,
            db,
        );
    }
}
