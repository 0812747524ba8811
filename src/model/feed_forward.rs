//! The feed-forward block (`BertIntermediate` + `BertOutput`):
//! `x ← LayerNorm(x + gelu(x·W1ᵀ + b1)·W2ᵀ + b2)` with the exact erf GELU.

use super::layer_norm::LayerNorm;
use super::linear::Linear;
use crate::config::BertConfig;
use crate::weights::ParamStore;
use minilm_kernels::Epilogue;

/// Weights of one layer's feed-forward block.
#[derive(Clone, Debug)]
pub struct FeedForward {
    /// `intermediate.dense`: hidden → intermediate.
    pub intermediate: Linear,
    /// `output.dense`: intermediate → hidden.
    pub output: Linear,
    /// `output.LayerNorm`.
    pub layer_norm: LayerNorm,
}

impl FeedForward {
    /// Load `{prefix}.intermediate.*` and `{prefix}.output.*` (prefix like `encoder.layer.3`).
    pub fn from_store(store: &ParamStore, prefix: &str, cfg: &BertConfig) -> Self {
        FeedForward {
            intermediate: Linear::from_store(store, &format!("{prefix}.intermediate.dense")),
            output: Linear::from_store(store, &format!("{prefix}.output.dense")),
            layer_norm: LayerNorm::from_store(store, &format!("{prefix}.output.LayerNorm"), cfg.layer_norm_eps),
        }
    }

    /// Inference over `m` tokens; `inter: [m, intermediate]` and `tmp: [m, hidden]` are scratch.
    pub fn forward(&self, x: &mut [f32], m: usize, inter: &mut [f32], tmp: &mut [f32]) {
        self.intermediate.forward(x, m, Epilogue::Gelu, inter);
        self.output.forward(inter, m, Epilogue::Residual(x), tmp);
        self.layer_norm.forward(tmp, x, None);
    }
}
