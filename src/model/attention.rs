//! Multi-head self-attention and its output block (`BertAttention`):
//! fused Q/K/V projection, scaled dot-product attention per sequence and
//! head, output projection, residual and LayerNorm.

use super::batch::TokenBatch;
use super::dropout::Dropout;
use super::forward::{fit, project_residual, take, Record, Scratch};
use super::layer_norm::{LayerNorm, LayerNormActs};
use super::linear::Linear;
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;
use minilm_kernels::{attention, Epilogue};
#[cfg(feature = "train")]
use {
    super::dropout::maybe_backward,
    super::layer_norm::LayerNormGrad,
    super::linear::LinearGrad,
    minilm_kernels::softmax::softmax_rows_backward,
    minilm_kernels::{matmul, MatMut, MatRef},
};

/// Weights of one layer's attention block.
#[derive(Clone, Debug)]
pub struct Attention {
    /// `attention.self.{query,key,value}` stacked: `[3·hidden, hidden]`.
    pub qkv: Linear,
    /// `attention.output.dense`.
    pub output: Linear,
    /// `attention.output.LayerNorm`.
    pub layer_norm: LayerNorm,
    /// Number of heads.
    pub heads: usize,
}

/// What [`Attention::forward`] records (see [`Record`]): what
/// `Attention::backward` needs, and `dense` for the trace.
#[derive(Clone, Debug, Default)]
pub struct AttentionActs {
    /// The block's input `x`, `[tokens, hidden]` (for dW of Q/K/V).
    pub input: Vec<f32>,
    /// Q, K, V side by side, `[tokens, 3·hidden]`.
    pub qkv: Vec<f32>,
    /// Softmax output before dropout, `[heads, L, L]` per sequence (see [`probs_offsets`]).
    pub probs: Vec<f32>,
    /// Per-head context `P'·V` (P' = dropped probabilities), `[tokens, hidden]`.
    pub ctx: Vec<f32>,
    /// The output projection `ctx·Woᵀ + bo` before dropout and residual,
    /// `[tokens, hidden]`: kept by [`Record::Trace`] only (else empty).
    pub dense: Vec<f32>,
    /// The LayerNorm's input `x + dropout(ctx·Woᵀ + bo)` and its statistics.
    pub layer_norm: LayerNormActs,
    /// Dropout on the attention probabilities (None in evaluation mode).
    pub probs_dropout: Option<Dropout>,
    /// Dropout on the output projection, before the residual.
    pub output_dropout: Option<Dropout>,
}

impl Attention {
    /// Load `{prefix}.self.*` and `{prefix}.output.*` (prefix like `encoder.layer.3.attention`).
    pub fn from_store(store: &ParamStore, prefix: &str, cfg: &BertConfig) -> Self {
        Self::from_store_at(store, prefix, cfg, Precision::F32)
    }

    /// [`Attention::from_store`] with the dense layers in `precision`.
    pub fn from_store_at(
        store: &ParamStore,
        prefix: &str,
        cfg: &BertConfig,
        precision: Precision,
    ) -> Self {
        let q = format!("{prefix}.self.query");
        let k = format!("{prefix}.self.key");
        let v = format!("{prefix}.self.value");
        let out = format!("{prefix}.output.dense");
        Attention {
            qkv: Linear::fused_at(store, &[&q, &k, &v], precision),
            output: Linear::fused_at(store, &[&out], precision),
            layer_norm: LayerNorm::from_store(
                store,
                &format!("{prefix}.output.LayerNorm"),
                cfg.layer_norm_eps,
            ),
            heads: cfg.num_heads,
        }
    }

    /// `x ← LN(x + dropout(attention(x)·Woᵀ + bo))` over the batch, in
    /// place on `x: [tokens, hidden]`: the one forward of inference,
    /// training and the trace. `record` says what is kept (nothing at
    /// inference, where every buffer comes from `s`); `probs_dropout` and
    /// `output_dropout` (training) act on the probabilities and on the
    /// projection before the residual. Without dropout the output is the
    /// same whatever is recorded (see `forward::project_residual`).
    pub fn forward(
        &self,
        x: &mut [f32],
        batch: &TokenBatch,
        s: &mut Scratch,
        mut record: Record<'_, AttentionActs>,
        probs_dropout: Option<Dropout>,
        output_dropout: Option<Dropout>,
    ) {
        let t = batch.tokens();
        let h = self.output.out_features();
        let traces = record.traces();
        let qkv = fit(&mut s.qkv, t * 3 * h);
        self.qkv.forward(x, t, Epilogue::None, qkv);
        let ctx = fit(&mut s.ctx, t * h);
        let records = record.acts().is_some();
        let mut probs = if records {
            vec![0.0; *probs_offsets(batch, self.heads).last().unwrap()]
        } else {
            Vec::new()
        };
        let keep = records.then_some(&mut probs[..]);
        let by_head = fit(&mut s.heads, t * h);
        attention_core(
            qkv,
            batch,
            self.heads,
            probs_dropout.as_ref(),
            ctx,
            keep,
            by_head,
        );
        let out = fit(&mut s.tmp, t * h);
        let mut dense = Vec::new();
        let keep_dense = traces.then_some(&mut dense);
        let d = output_dropout.as_ref();
        project_residual(&self.output, ctx, t, x, d, keep_dense, out);
        let Some(a) = record.acts() else {
            self.layer_norm.forward(out, x, None);
            return;
        };
        a.input = x.to_vec();
        a.layer_norm = self.layer_norm.forward_keep(take(&mut s.tmp, t * h), x);
        a.qkv = take(&mut s.qkv, t * 3 * h);
        a.ctx = take(&mut s.ctx, t * h);
        a.probs = probs;
        a.dense = dense;
        a.probs_dropout = probs_dropout;
        a.output_dropout = output_dropout;
    }
}

/// Offsets of each (sequence, head) probability matrix in a buffer that holds
/// them all: sequence `s` with `L` tokens owns `heads · L²` values.
pub fn probs_offsets(batch: &TokenBatch, heads: usize) -> Vec<usize> {
    attention::probs_offsets(batch.starts(), heads)
}

/// Scaled dot-product attention of every sequence and head.
///
/// `qkv: [tokens, 3·hidden]` holds Q, K, V side by side (head `h` uses
/// columns `h·d..(h+1)·d` of each); `ctx: [tokens, hidden]` receives
/// `softmax(Q·Kᵀ/√d)·V` per head, with `dropout` (training) applied to the
/// probabilities before they weight V. Keys of other sequences are never
/// seen, which is what masking the padding of a padded batch achieves. When
/// `probs` is given (length `probs_offsets(..).last()`), the probabilities
/// before dropout are kept there, `[heads, L, L]` per sequence, for the
/// backward pass; element `i` of sequence `s`, head `h` there is element `i`
/// of the dropout site, so the backward replays the same mask. `by_head`
/// (as long as `ctx`, contents ignored) is working space.
pub fn attention_core(
    qkv: &[f32],
    batch: &TokenBatch,
    heads: usize,
    dropout: Option<&Dropout>,
    ctx: &mut [f32],
    probs: Option<&mut [f32]>,
    by_head: &mut [f32],
) {
    let f;
    let transform: Option<attention::ProbsTransform<'_>> = match dropout {
        Some(dr) => {
            f = move |p: &mut [f32], offset: usize| dr.forward(p, offset);
            Some(&f)
        }
        None => None,
    };
    attention::multi_head(qkv, batch.starts(), heads, ctx, probs, transform, by_head);
}

/// Gradient buffers of one attention block (`attention.*` of a layer).
#[cfg(feature = "train")]
pub struct AttentionGrads<'a> {
    /// `attention.self.query`.
    pub query: LinearGrad<'a>,
    /// `attention.self.key`.
    pub key: LinearGrad<'a>,
    /// `attention.self.value`.
    pub value: LinearGrad<'a>,
    /// `attention.output.dense`.
    pub output: LinearGrad<'a>,
    /// `attention.output.LayerNorm`.
    pub layer_norm: LayerNormGrad<'a>,
}

#[cfg(feature = "train")]
impl Attention {
    /// Backward of [`Attention::forward`] in mirror order: LayerNorm,
    /// residual, dropout, output projection, attention, Q/K/V projection.
    /// `dx += ∂L/∂x` when `dx` is given; parameter gradients are accumulated
    /// when `grads` is given (a trainable block).
    pub fn backward(
        &self,
        batch: &TokenBatch,
        acts: &AttentionActs,
        dout: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<AttentionGrads<'_>>,
    ) {
        let t = batch.tokens();
        let hidden = dout.len() / t.max(1);
        let (ln_grad, mut out_grad, mut qkv_grads) = match grads {
            Some(g) => (
                Some(g.layer_norm),
                vec![g.output],
                vec![g.query, g.key, g.value],
            ),
            None => (None, vec![], vec![]),
        };
        // LayerNorm, then the residual branch: dy reaches both x and the projection.
        let mut dy = vec![0.0; t * hidden];
        self.layer_norm
            .backward(dout, &acts.layer_norm, &mut dy, ln_grad);
        let mut dx = dx;
        if let Some(dx) = dx.as_deref_mut() {
            for (a, &b) in dx.iter_mut().zip(&dy) {
                *a += b;
            }
        }
        maybe_backward(acts.output_dropout.as_ref(), &mut dy, 0);
        let mut dctx = vec![0.0; t * hidden];
        self.output
            .backward(&acts.ctx, &dy, t, Some(&mut dctx[..]), &mut out_grad);
        drop(dy);
        let dqkv = attention_core_backward(
            &acts.qkv,
            &acts.probs,
            &dctx,
            batch,
            self.heads,
            acts.probs_dropout.as_ref(),
        );
        drop(dctx);
        self.qkv.backward(&acts.input, &dqkv, t, dx, &mut qkv_grads);
    }
}

/// Backward of [`attention_core`]: from `dctx: [tokens, hidden]`,
/// returns `dqkv: [tokens, 3·hidden]` (dQ, dK, dV side by side). Per sequence
/// and head, with `S = scale·Q·Kᵀ`, `P = softmax(S)`, `P' = dropout(P)`:
/// `dV = P'ᵀ·dC`, `dP = dropout'(dC·Vᵀ)`, `dS = softmax'(P, dP)`,
/// `dQ = scale·dS·K`, `dK = scale·dSᵀ·Q`.
#[cfg(feature = "train")]
pub fn attention_core_backward(
    qkv: &[f32],
    probs: &[f32],
    dctx: &[f32],
    batch: &TokenBatch,
    heads: usize,
    dropout: Option<&Dropout>,
) -> Vec<f32> {
    let t = batch.tokens();
    let hidden = dctx.len() / t.max(1);
    let d = hidden / heads;
    let stride = 3 * hidden;
    let scale = 1.0 / (d as f32).sqrt();
    let offsets = probs_offsets(batch, heads);
    let run = |s: usize, h: usize| {
        let r = batch.range(s);
        let l = r.len();
        let base = r.start * stride;
        let q = &qkv[base + h * d..];
        let k = &qkv[base + hidden + h * d..];
        let v = &qkv[base + 2 * hidden + h * d..];
        let dc = &dctx[r.start * hidden + h * d..];
        let off = offsets[s] + h * l * l;
        let p = &probs[off..off + l * l];
        let mut dq = vec![0.0f32; l * d];
        let mut dk = vec![0.0f32; l * d];
        let mut dv = vec![0.0f32; l * d];
        let mut dp = vec![0.0f32; l * l];
        // This head's columns of Q, K, V ([l, d], rows `stride` apart) and dC.
        let q = MatRef::strided(q, l, d, stride, 1);
        let k = MatRef::strided(k, l, d, stride, 1);
        let v = MatRef::strided(v, l, d, stride, 1);
        let dc = MatRef::strided(dc, l, d, hidden, 1);
        // dV = P'ᵀ·dC.
        let dropped: Vec<f32>;
        let p_dropped = match dropout {
            Some(dr) => {
                let mut pd = p.to_vec();
                dr.forward(&mut pd, off);
                dropped = pd;
                &dropped[..]
            }
            None => p,
        };
        let p_dropped = MatRef::new(p_dropped, l, l);
        matmul(1.0, p_dropped.t(), dc, 0.0, MatMut::new(&mut dv, l, d));
        // dP' = dC·Vᵀ, then through the dropout and the softmax.
        matmul(1.0, dc, v.t(), 0.0, MatMut::new(&mut dp, l, l));
        maybe_backward(dropout, &mut dp, off);
        let mut ds = vec![0.0f32; l * l];
        softmax_rows_backward(p, &dp, l, &mut ds);
        let ds = MatRef::new(&ds, l, l);
        // dQ = scale·dS·K, dK = scale·dSᵀ·Q.
        matmul(scale, ds, k, 0.0, MatMut::new(&mut dq, l, d));
        matmul(scale, ds.t(), q, 0.0, MatMut::new(&mut dk, l, d));
        (dq, dk, dv)
    };
    // Per (sequence, head), in that order; 4·hidden flops per pair of keys.
    let results = attention::map_heads(batch.starts(), heads, 4 * hidden, run);
    let pairs = (0..batch.len()).flat_map(|s| (0..heads).map(move |h| (s, h)));
    let mut dqkv = vec![0.0f32; t * stride];
    for ((s, h), (dq, dk, dv)) in pairs.zip(results) {
        let r = batch.range(s);
        for i in 0..r.len() {
            let row = &mut dqkv[(r.start + i) * stride..][..stride];
            row[h * d..][..d].copy_from_slice(&dq[i * d..][..d]);
            row[hidden + h * d..][..d].copy_from_slice(&dk[i * d..][..d]);
            row[2 * hidden + h * d..][..d].copy_from_slice(&dv[i * d..][..d]);
        }
    }
    dqkv
}
