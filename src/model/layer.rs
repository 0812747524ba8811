//! One transformer layer (`BertLayer`): attention block, then feed-forward block.

use super::attention::Attention;
use super::batch::TokenBatch;
use super::feed_forward::FeedForward;
use crate::config::BertConfig;
use crate::weights::ParamStore;

/// The weights of `encoder.layer.N`.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Self-attention with its output projection and LayerNorm.
    pub attention: Attention,
    /// Feed-forward with its LayerNorm.
    pub feed_forward: FeedForward,
}

/// Scratch buffers for inference, sized for a number of tokens and reused
/// across layers.
#[derive(Default)]
pub struct Scratch {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    tmp: Vec<f32>,
    inter: Vec<f32>,
}

impl Scratch {
    fn fit(&mut self, tokens: usize, cfg: &BertConfig) {
        let h = cfg.hidden_size;
        self.qkv.resize(tokens * 3 * h, 0.0);
        self.ctx.resize(tokens * h, 0.0);
        self.tmp.resize(tokens * h, 0.0);
        self.inter.resize(tokens * cfg.intermediate_size, 0.0);
    }
}

impl Layer {
    /// Load `encoder.layer.{index}.*`.
    pub fn from_store(store: &ParamStore, index: usize, cfg: &BertConfig) -> Self {
        let p = format!("encoder.layer.{index}");
        Layer {
            attention: Attention::from_store(store, &format!("{p}.attention"), cfg),
            feed_forward: FeedForward::from_store(store, &p, cfg),
        }
    }

    /// Inference: transform `x: [tokens, hidden]` in place.
    pub fn forward(&self, x: &mut [f32], batch: &TokenBatch, cfg: &BertConfig, s: &mut Scratch) {
        let t = batch.tokens();
        s.fit(t, cfg);
        self.attention.forward(x, batch, &mut s.qkv, &mut s.ctx, &mut s.tmp);
        self.feed_forward.forward(x, t, &mut s.inter, &mut s.tmp);
    }
}
