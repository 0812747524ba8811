//! The feed-forward block (`BertIntermediate` + `BertOutput`):
//! `x ← LayerNorm(x + gelu(x·W1ᵀ + b1)·W2ᵀ + b2)` with the exact erf GELU.

use super::layer_norm::LayerNorm;
use super::linear::Linear;
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;
use minilm_kernels::Epilogue;
#[cfg(feature = "train")]
use {
    super::dropout::{maybe_backward, maybe_forward, Dropout},
    super::layer_norm::{LayerNormActs, LayerNormGrad},
    super::linear::LinearGrad,
    minilm_kernels::gelu::{gelu_erf_backward, gelu_erf_inplace},
};

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
        Self::from_store_at(store, prefix, cfg, Precision::F32)
    }

    /// [`FeedForward::from_store`] with the dense layers in `precision`.
    pub fn from_store_at(
        store: &ParamStore,
        prefix: &str,
        cfg: &BertConfig,
        precision: Precision,
    ) -> Self {
        let (inter, out) = (
            format!("{prefix}.intermediate.dense"),
            format!("{prefix}.output.dense"),
        );
        FeedForward {
            intermediate: Linear::fused_at(store, &[&inter], precision),
            output: Linear::fused_at(store, &[&out], precision),
            layer_norm: LayerNorm::from_store(
                store,
                &format!("{prefix}.output.LayerNorm"),
                cfg.layer_norm_eps,
            ),
        }
    }

    /// Inference over `m` tokens; `inter: [m, intermediate]` and `tmp: [m, hidden]` are scratch.
    pub fn forward(&self, x: &mut [f32], m: usize, inter: &mut [f32], tmp: &mut [f32]) {
        self.intermediate.forward(x, m, Epilogue::Gelu, inter);
        self.output.forward(inter, m, Epilogue::Residual(x), tmp);
        self.layer_norm.forward(tmp, x, None);
    }
}

/// What [`FeedForward::backward`] needs from [`FeedForward::forward_train`].
/// gelu(u) is not kept: the backward recomputes it from `u`, which saves
/// `intermediate` floats per token.
#[cfg(feature = "train")]
#[derive(Clone, Debug, Default)]
pub struct FeedForwardActs {
    /// The block's input, `[tokens, hidden]` (also the attention block's output).
    pub input: Vec<f32>,
    /// Pre-activation `u = x·W1ᵀ + b1`, `[tokens, intermediate]`.
    pub pre_gelu: Vec<f32>,
    /// The LayerNorm's input `x + dropout(gelu(u)·W2ᵀ + b2)` and its statistics.
    pub layer_norm: LayerNormActs,
    /// Dropout on the output projection, before the residual.
    pub dropout: Option<Dropout>,
}

/// Gradient buffers of one feed-forward block.
#[cfg(feature = "train")]
pub struct FeedForwardGrads<'a> {
    /// `intermediate.dense`.
    pub intermediate: LinearGrad<'a>,
    /// `output.dense`.
    pub output: LinearGrad<'a>,
    /// `output.LayerNorm`.
    pub layer_norm: LayerNormGrad<'a>,
}

#[cfg(feature = "train")]
impl FeedForward {
    /// Training forward of [`FeedForward::forward`] over `m` tokens: returns
    /// `LN(x + dropout(gelu(x·W1ᵀ + b1)·W2ᵀ + b2))` and keeps what the backward needs.
    pub fn forward_train(
        &self,
        x: Vec<f32>,
        m: usize,
        dropout: Option<Dropout>,
    ) -> (Vec<f32>, FeedForwardActs) {
        let hidden = x.len() / m.max(1);
        let inter = self.intermediate.out_features();
        let mut u = vec![0.0; m * inter];
        self.intermediate.forward(&x, m, Epilogue::None, &mut u);
        let mut a = u.clone();
        gelu_erf_inplace(&mut a);
        let mut y = vec![0.0; m * hidden];
        self.output.forward(&a, m, Epilogue::None, &mut y);
        drop(a);
        maybe_forward(dropout.as_ref(), &mut y, 0);
        for (v, &r) in y.iter_mut().zip(&x) {
            *v += r;
        }
        let mut out = vec![0.0; m * hidden];
        let layer_norm = self.layer_norm.forward_train(y, &mut out);
        (
            out,
            FeedForwardActs {
                input: x,
                pre_gelu: u,
                layer_norm,
                dropout,
            },
        )
    }

    /// Backward in mirror order: LayerNorm, residual, dropout, output
    /// projection, GELU, intermediate projection. `dx += ∂L/∂x`; parameter
    /// gradients accumulate when `grads` is given.
    pub fn backward(
        &self,
        acts: &FeedForwardActs,
        dout: &[f32],
        m: usize,
        dx: &mut [f32],
        grads: Option<FeedForwardGrads<'_>>,
    ) {
        let hidden = dout.len() / m.max(1);
        let (ln_grad, mut out_grad, mut inter_grad) = match grads {
            Some(g) => (Some(g.layer_norm), vec![g.output], vec![g.intermediate]),
            None => (None, vec![], vec![]),
        };
        let mut dy = vec![0.0; m * hidden];
        self.layer_norm
            .backward(dout, &acts.layer_norm, &mut dy, ln_grad);
        for (a, &b) in dx.iter_mut().zip(&dy) {
            *a += b;
        }
        maybe_backward(acts.dropout.as_ref(), &mut dy, 0);
        let mut a = acts.pre_gelu.clone();
        gelu_erf_inplace(&mut a);
        let mut da = vec![0.0; a.len()];
        self.output
            .backward(&a, &dy, m, Some(&mut da[..]), &mut out_grad);
        // Reuse `a` as du.
        a.iter_mut().for_each(|v| *v = 0.0);
        let mut du = a;
        gelu_erf_backward(&acts.pre_gelu, &da, &mut du);
        drop(da);
        self.intermediate
            .backward(&acts.input, &du, m, Some(dx), &mut inter_grad);
    }
}
