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
        k::layer_norm(x, self.gamma.len(), &self.gamma, &self.beta, self.eps, out, stats);
    }
}
