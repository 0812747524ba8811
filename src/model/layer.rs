//! One transformer layer (`BertLayer`): attention block, then feed-forward block.

use super::attention::{Attention, AttentionActs};
use super::batch::TokenBatch;
use super::dropout::Dropout;
use super::feed_forward::{FeedForward, FeedForwardActs};
use super::forward::{Record, Scratch};
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;
#[cfg(feature = "train")]
use {super::attention::AttentionGrads, super::feed_forward::FeedForwardGrads};

/// The weights of `encoder.layer.N`.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Self-attention with its output projection and LayerNorm.
    pub attention: Attention,
    /// Feed-forward with its LayerNorm.
    pub feed_forward: FeedForward,
}

/// What [`Layer::forward`] records: both blocks' activations.
#[derive(Clone, Debug, Default)]
pub struct LayerActs {
    /// The attention block's (its input is the layer's input).
    pub attention: AttentionActs,
    /// The feed-forward block's (its input is the attention block's output).
    pub feed_forward: FeedForwardActs,
}

/// The three dropout sites of a layer in training mode (all `None`:
/// inference, evaluation, the trace).
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerDropout {
    /// On the attention probabilities.
    pub attention_probs: Option<Dropout>,
    /// On the attention output projection, before its residual.
    pub attention_output: Option<Dropout>,
    /// On the feed-forward output projection, before its residual.
    pub output: Option<Dropout>,
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

    /// Transform `x: [tokens, hidden]` in place: attention block, then
    /// feed-forward block. The one forward of inference
    /// (`Record::Nothing`, no dropout), training (`Record::Backward`, with
    /// its dropout) and the trace (`Record::Trace`); `s` holds the buffers
    /// that are not recorded.
    pub fn forward(
        &self,
        x: &mut [f32],
        batch: &TokenBatch,
        s: &mut Scratch,
        record: Record<'_, LayerActs>,
        dropout: LayerDropout,
    ) {
        let (ra, rf) = record.split(|a| (&mut a.attention, &mut a.feed_forward));
        let (dp, da) = (dropout.attention_probs, dropout.attention_output);
        self.attention.forward(x, batch, s, ra, dp, da);
        self.feed_forward
            .forward(x, batch.tokens(), s, rf, dropout.output);
    }
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
    /// Backward of [`Layer::forward`] in mirror order (feed-forward, then attention): `dx += ∂L/∂x`
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
