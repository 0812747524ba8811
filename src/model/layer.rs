//! One transformer layer (`BertLayer`): attention block, then feed-forward block.

use super::attention::Attention;
use super::batch::TokenBatch;
use super::feed_forward::FeedForward;
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;
#[cfg(feature = "train")]
use {
    super::attention::{AttentionActs, AttentionGrads},
    super::dropout::Dropout,
    super::feed_forward::{FeedForwardActs, FeedForwardGrads},
};

/// The weights of `encoder.layer.N`.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Self-attention with its output projection and LayerNorm.
    pub attention: Attention,
    /// Feed-forward with its LayerNorm.
    pub feed_forward: FeedForward,
}

/// Scratch buffers for inference, sized for a number of tokens and reused
/// across layers, and across the batches of one `Encoder::embed` call
/// (their capacity only grows, and batches run longest first, so after the
/// first batch nothing is allocated or zeroed again).
#[derive(Default)]
pub struct Scratch {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    heads: Vec<f32>,
    tmp: Vec<f32>,
    inter: Vec<f32>,
}

impl Scratch {
    fn fit(&mut self, tokens: usize, cfg: &BertConfig) {
        let h = cfg.hidden_size;
        self.qkv.resize(tokens * 3 * h, 0.0);
        self.ctx.resize(tokens * h, 0.0);
        self.heads.resize(tokens * h, 0.0);
        self.tmp.resize(tokens * h, 0.0);
        self.inter.resize(tokens * cfg.intermediate_size, 0.0);
    }
}

impl Layer {
    /// Load `encoder.layer.{index}.*`.
    pub fn from_store(store: &ParamStore, index: usize, cfg: &BertConfig) -> Self {
        Self::from_store_at(store, index, cfg, Precision::F32)
    }

    /// [`Layer::from_store`] with the dense layers in `precision`.
    pub fn from_store_at(
        store: &ParamStore,
        index: usize,
        cfg: &BertConfig,
        precision: Precision,
    ) -> Self {
        let p = format!("encoder.layer.{index}");
        Layer {
            attention: Attention::from_store_at(store, &format!("{p}.attention"), cfg, precision),
            feed_forward: FeedForward::from_store_at(store, &p, cfg, precision),
        }
    }

    /// Inference: transform `x: [tokens, hidden]` in place.
    pub fn forward(&self, x: &mut [f32], batch: &TokenBatch, cfg: &BertConfig, s: &mut Scratch) {
        let t = batch.tokens();
        let h = cfg.hidden_size;
        s.fit(t, cfg);
        self.attention.forward(
            x,
            batch,
            &mut s.qkv[..t * 3 * h],
            &mut s.ctx[..t * h],
            &mut s.heads[..t * h],
            &mut s.tmp[..t * h],
        );
        self.feed_forward.forward(
            x,
            t,
            &mut s.inter[..t * cfg.intermediate_size],
            &mut s.tmp[..t * h],
        );
    }
}

/// What [`Layer::backward`] needs: both blocks' saved activations.
#[cfg(feature = "train")]
#[derive(Clone, Debug, Default)]
pub struct LayerActs {
    /// The attention block's (its input is the layer's input).
    pub attention: AttentionActs,
    /// The feed-forward block's (its input is the attention block's output).
    pub feed_forward: FeedForwardActs,
}

/// The three dropout sites of a layer in training mode (`None`: evaluation).
#[cfg(feature = "train")]
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerDropout {
    /// On the attention probabilities.
    pub attention_probs: Option<Dropout>,
    /// On the attention output projection, before its residual.
    pub attention_output: Option<Dropout>,
    /// On the feed-forward output projection, before its residual.
    pub output: Option<Dropout>,
}

/// Gradient buffers of one layer's 16 tensors.
#[cfg(feature = "train")]
pub struct LayerGrads<'a> {
    /// `encoder.layer.N.attention.*`.
    pub attention: AttentionGrads<'a>,
    /// `encoder.layer.N.{intermediate,output}.*`.
    pub feed_forward: FeedForwardGrads<'a>,
}

#[cfg(feature = "train")]
impl Layer {
    /// Training forward: consumes the layer input (kept in the activations)
    /// and returns the layer output.
    pub fn forward_train(
        &self,
        x: Vec<f32>,
        batch: &TokenBatch,
        dropout: LayerDropout,
    ) -> (Vec<f32>, LayerActs) {
        let (x1, attention) = self.attention.forward_train(
            x,
            batch,
            dropout.attention_probs,
            dropout.attention_output,
        );
        let (x2, feed_forward) =
            self.feed_forward
                .forward_train(x1, batch.tokens(), dropout.output);
        (
            x2,
            LayerActs {
                attention,
                feed_forward,
            },
        )
    }

    /// Backward in mirror order (feed-forward, then attention): `dx += ∂L/∂x`
    /// when given, parameter gradients when `grads` is given.
    pub fn backward(
        &self,
        batch: &TokenBatch,
        acts: &LayerActs,
        dout: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<LayerGrads<'_>>,
    ) {
        let (ga, gf) = match grads {
            Some(g) => (Some(g.attention), Some(g.feed_forward)),
            None => (None, None),
        };
        let mut dx1 = vec![0.0; dout.len()];
        self.feed_forward
            .backward(&acts.feed_forward, dout, batch.tokens(), &mut dx1, gf);
        self.attention
            .backward(batch, &acts.attention, &dx1, dx, ga);
    }
}
