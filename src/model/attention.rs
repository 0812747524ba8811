//! Multi-head self-attention and its output block (`BertAttention`):
//! fused Q/K/V projection, scaled dot-product attention per sequence and
//! head, output projection, residual and LayerNorm.

use super::batch::TokenBatch;
use super::layer_norm::LayerNorm;
use super::linear::Linear;
use crate::config::BertConfig;
use crate::weights::ParamStore;
use minilm_kernels::{parallel, sgemm, softmax::softmax_rows, Epilogue};
use rayon::prelude::*;

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

impl Attention {
    /// Load `{prefix}.self.*` and `{prefix}.output.*` (prefix like `encoder.layer.3.attention`).
    pub fn from_store(store: &ParamStore, prefix: &str, cfg: &BertConfig) -> Self {
        let q = format!("{prefix}.self.query");
        let k = format!("{prefix}.self.key");
        let v = format!("{prefix}.self.value");
        Attention {
            qkv: Linear::fused(store, &[&q, &k, &v]),
            output: Linear::from_store(store, &format!("{prefix}.output.dense")),
            layer_norm: LayerNorm::from_store(store, &format!("{prefix}.output.LayerNorm"), cfg.layer_norm_eps),
            heads: cfg.num_heads,
        }
    }

    /// Inference: `x ← LayerNorm(x + attention(x)·Woᵀ + bo)` over the batch.
    /// `qkv`, `ctx` and `tmp` are scratch of `[tokens, 3·hidden]`,
    /// `[tokens, hidden]`, `[tokens, hidden]`.
    pub fn forward(&self, x: &mut [f32], batch: &TokenBatch, qkv: &mut [f32], ctx: &mut [f32], tmp: &mut [f32]) {
        let t = batch.tokens();
        self.qkv.forward(x, t, Epilogue::None, qkv);
        attention_core(qkv, batch, self.heads, ctx, None);
        self.output.forward(ctx, t, Epilogue::Residual(x), tmp);
        self.layer_norm.forward(tmp, x, None);
    }
}

/// Offsets of each (sequence, head) probability matrix in a buffer that holds
/// them all: sequence `s` with `L` tokens owns `heads · L²` values.
pub fn probs_offsets(batch: &TokenBatch, heads: usize) -> Vec<usize> {
    let mut off = vec![0];
    for r in batch.ranges() {
        let l = r.len();
        off.push(off.last().unwrap() + heads * l * l);
    }
    off
}

/// Scaled dot-product attention of every sequence and head.
///
/// `qkv: [tokens, 3·hidden]` holds Q, K, V side by side (head `h` uses
/// columns `h·d..(h+1)·d` of each); `ctx: [tokens, hidden]` receives
/// `softmax(Q·Kᵀ/√d)·V` per head. Keys of other sequences are never seen, which
/// is what masking the padding of a padded batch achieves. When `probs` is
/// given (length `probs_offsets(..).last()`), the attention probabilities are
/// kept there, `[heads, L, L]` per sequence, for the backward pass.
pub fn attention_core(qkv: &[f32], batch: &TokenBatch, heads: usize, ctx: &mut [f32], probs: Option<&mut [f32]>) {
    let hidden = ctx.len() / batch.tokens().max(1);
    let d = hidden / heads;
    let stride = 3 * hidden;
    let scale = 1.0 / (d as f32).sqrt();
    let tasks: Vec<(usize, usize)> = (0..batch.len()).flat_map(|s| (0..heads).map(move |h| (s, h))).collect();
    let keep = probs.is_some();
    let run = |&(s, h): &(usize, usize)| {
        let r = batch.range(s);
        let l = r.len();
        let base = r.start * stride;
        let q = &qkv[base + h * d..];
        let k = &qkv[base + hidden + h * d..];
        let v = &qkv[base + 2 * hidden + h * d..];
        let mut p = vec![0.0f32; l * l];
        // scores[i, j] = scale · q_i · k_j: B = Kᵀ is K read with swapped strides.
        sgemm(l, d, l, scale, q, stride, 1, k, 1, stride, 0.0, &mut p, l, 1);
        softmax_rows(&mut p, l);
        let mut out = vec![0.0f32; l * d];
        sgemm(l, l, d, 1.0, &p, l, 1, v, stride, 1, 0.0, &mut out, d, 1);
        (out, if keep { p } else { Vec::new() })
    };
    let flops: usize = batch.ranges().map(|r| r.len() * r.len() * hidden * 2).sum();
    let results: Vec<(Vec<f32>, Vec<f32>)> = if parallel::worth_parallel(flops) {
        tasks.par_iter().map(run).collect()
    } else {
        tasks.iter().map(run).collect()
    };
    let offsets = probs_offsets(batch, heads);
    let mut probs = probs;
    for (&(s, h), (out, p)) in tasks.iter().zip(results) {
        let r = batch.range(s);
        for (i, row) in out.chunks(d).enumerate() {
            ctx[(r.start + i) * hidden + h * d..][..d].copy_from_slice(row);
        }
        if let Some(buf) = probs.as_deref_mut() {
            let l = r.len();
            buf[offsets[s] + h * l * l..][..l * l].copy_from_slice(&p);
        }
    }
}
