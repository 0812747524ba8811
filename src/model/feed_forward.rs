//! The feed-forward block (`BertIntermediate` + `BertOutput`):
//! `x ← LayerNorm(x + gelu(x·W1ᵀ + b1)·W2ᵀ + b2)` with the exact erf GELU.

use super::dropout::Dropout;
use super::forward::{fit, project_residual, take, Record, Scratch};
use super::layer_norm::{LayerNorm, LayerNormActs};
use super::linear::Linear;
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;
use minilm_kernels::gelu::gelu_erf_inplace;
use minilm_kernels::Epilogue;
#[cfg(feature = "train")]
use {
    super::dropout::maybe_backward, super::layer_norm::LayerNormGrad, super::linear::LinearGrad,
    minilm_kernels::gelu::gelu_erf_backward,
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

/// What [`FeedForward::forward`] records (see [`Record`]): what
/// `FeedForward::backward` needs, and `gelu` and `dense` for the trace.
/// For the backward gelu(u) is not kept: it recomputes it from `u`, which
/// saves `intermediate` floats per token.
#[derive(Clone, Debug, Default)]
pub struct FeedForwardActs {
    /// The block's input, `[tokens, hidden]` (also the attention block's output).
    pub input: Vec<f32>,
    /// Pre-activation `u = x·W1ᵀ + b1`, `[tokens, intermediate]`.
    pub pre_gelu: Vec<f32>,
    /// `gelu(u)`, `[tokens, intermediate]`: kept by [`Record::Trace`] only (else empty).
    pub gelu: Vec<f32>,
    /// `gelu(u)·W2ᵀ + b2` before dropout and residual, `[tokens, hidden]`:
    /// kept by [`Record::Trace`] only (else empty).
    pub dense: Vec<f32>,
    /// The LayerNorm's input `x + dropout(gelu(u)·W2ᵀ + b2)` and its statistics.
    pub layer_norm: LayerNormActs,
    /// Dropout on the output projection, before the residual.
    pub dropout: Option<Dropout>,
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

    /// `x ← LN(x + dropout(gelu(x·W1ᵀ + b1)·W2ᵀ + b2))` over `m` tokens, in
    /// place: the one forward of inference, training and the trace.
    /// `record` says what is kept (nothing at inference, where every buffer
    /// comes from `s`); `dropout` (training) acts on the second projection
    /// before the residual.
    ///
    /// Two paths for the GELU, same bits: when `u` is not kept, the first
    /// product applies it in its epilogue (`Epilogue::Gelu`, the fast path
    /// of inference); when it is, the product stores `u` and a copy goes
    /// through `gelu_erf_inplace`, the function that epilogue runs on the
    /// same biased sums (`tests/forward.rs` and `tests/inspect.rs` check
    /// it). The residual: see `forward::project_residual`.
    pub fn forward(
        &self,
        x: &mut [f32],
        m: usize,
        s: &mut Scratch,
        mut record: Record<'_, FeedForwardActs>,
        dropout: Option<Dropout>,
    ) {
        let h = self.output.out_features();
        let f = self.intermediate.out_features();
        let traces = record.traces();
        let inter = fit(&mut s.inter, m * f);
        let out = fit(&mut s.tmp, m * h);
        let mut dense = Vec::new();
        let keep_dense = traces.then_some(&mut dense);
        let d = dropout.as_ref();
        let Some(a) = record.acts() else {
            self.intermediate.forward(x, m, Epilogue::Gelu, inter);
            project_residual(&self.output, inter, m, x, d, keep_dense, out);
            self.layer_norm.forward(out, x, None);
            return;
        };
        self.intermediate.forward(x, m, Epilogue::None, inter);
        let mut g = inter.to_vec();
        gelu_erf_inplace(&mut g);
        project_residual(&self.output, &g, m, x, d, keep_dense, out);
        if traces {
            a.gelu = g;
        } else {
            drop(g);
        }
        a.input = x.to_vec();
        a.layer_norm = self.layer_norm.forward_keep(take(&mut s.tmp, m * h), x);
        a.pre_gelu = take(&mut s.inter, m * f);
        a.dense = dense;
        a.dropout = dropout;
    }
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
    /// Backward of [`FeedForward::forward`] in mirror order: LayerNorm, residual, dropout, output
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
