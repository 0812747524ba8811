//! The whole encoder: embeddings, then the layers in order.

use super::batch::TokenBatch;
use super::embeddings::Embeddings;
use super::forward::Record;
pub use super::forward::Scratch;
use super::layer::{Layer, LayerDropout};
use crate::config::BertConfig;
use crate::precision::Precision;
use crate::weights::ParamStore;

/// all-MiniLM-L6-v2's BERT encoder, ready for inference.
#[derive(Clone, Debug)]
pub struct BertModel {
    /// Shape of the model.
    pub config: BertConfig,
    /// `embeddings.*`.
    pub embeddings: Embeddings,
    /// `encoder.layer.*`, in order.
    pub layers: Vec<Layer>,
    /// The arithmetic of the dense layers.
    pub precision: Precision,
}

impl BertModel {
    /// Build from checked parameters (see [`ParamStore::load`]), in f32.
    pub fn from_store(config: &BertConfig, store: &ParamStore) -> Self {
        Self::from_store_at(config, store, Precision::F32)
    }

    /// Build with the dense layers (and, for int8, the word-embedding
    /// table) in `precision`; see [`crate::precision`].
    pub fn from_store_at(config: &BertConfig, store: &ParamStore, precision: Precision) -> Self {
        BertModel {
            config: config.clone(),
            embeddings: Embeddings::from_store_at(store, config, precision),
            layers: (0..config.num_layers)
                .map(|i| Layer::from_store_at(store, i, config, precision))
                .collect(),
            precision,
        }
    }

    /// Final hidden states `[tokens, hidden]` of the batch. When `hidden` is
    /// given it receives the embeddings output and every layer's output
    /// (`num_layers + 1` buffers), as `output_hidden_states` does in PyTorch.
    pub fn forward(&self, batch: &TokenBatch, hidden: Option<&mut Vec<Vec<f32>>>) -> Vec<f32> {
        let mut scratch = Scratch::default();
        minilm_kernels::parallel::enter(|| self.forward_here(batch, hidden, &mut scratch))
    }

    /// [`BertModel::forward`] with buffers that the caller keeps from one
    /// batch to the next (same results).
    pub fn forward_with(&self, batch: &TokenBatch, scratch: &mut Scratch) -> Vec<f32> {
        minilm_kernels::parallel::enter(|| self.forward_here(batch, None, scratch))
    }

    fn forward_here(
        &self,
        batch: &TokenBatch,
        mut hidden: Option<&mut Vec<Vec<f32>>>,
        scratch: &mut Scratch,
    ) -> Vec<f32> {
        let mut x = vec![0.0; batch.tokens() * self.config.hidden_size];
        self.embeddings.forward(batch, &mut x);
        if let Some(h) = hidden.as_deref_mut() {
            h.push(x.clone());
        }
        self.forward_layers_here(&mut x, batch, 0..self.layers.len(), hidden, scratch)
    }

    /// Run layers `range` over hidden states `x` (the output of layer
    /// `range.start − 1`), in place; returns `x`.
    pub fn forward_layers(
        &self,
        x: &mut Vec<f32>,
        batch: &TokenBatch,
        range: std::ops::Range<usize>,
        hidden: Option<&mut Vec<Vec<f32>>>,
    ) -> Vec<f32> {
        let mut scratch = Scratch::default();
        minilm_kernels::parallel::enter(|| {
            self.forward_layers_here(x, batch, range, hidden, &mut scratch)
        })
    }

    fn forward_layers_here(
        &self,
        x: &mut Vec<f32>,
        batch: &TokenBatch,
        range: std::ops::Range<usize>,
        mut hidden: Option<&mut Vec<Vec<f32>>>,
        scratch: &mut Scratch,
    ) -> Vec<f32> {
        for layer in &self.layers[range] {
            layer.forward(x, batch, scratch, Record::Nothing, LayerDropout::default());
            if let Some(h) = hidden.as_deref_mut() {
                h.push(x.clone());
            }
        }
        std::mem::take(x)
    }
}
