//! Token embeddings: word + token type + position, then LayerNorm.

use super::batch::TokenBatch;
use super::layer_norm::LayerNorm;
use crate::config::BertConfig;
use crate::weights::ParamStore;

/// The three embedding tables and their LayerNorm.
#[derive(Clone, Debug)]
pub struct Embeddings {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    /// `embeddings.LayerNorm`.
    pub layer_norm: LayerNorm,
    hidden: usize,
}

impl Embeddings {
    /// Load the `embeddings.*` tensors.
    pub fn from_store(store: &ParamStore, cfg: &BertConfig) -> Self {
        Embeddings {
            word: store.get("embeddings.word_embeddings.weight").data.clone(),
            position: store
                .get("embeddings.position_embeddings.weight")
                .data
                .clone(),
            token_type: store
                .get("embeddings.token_type_embeddings.weight")
                .data
                .clone(),
            layer_norm: LayerNorm::from_store(store, "embeddings.LayerNorm", cfg.layer_norm_eps),
            hidden: cfg.hidden_size,
        }
    }

    /// The summed embeddings before LayerNorm, `[tokens, hidden]`; positions
    /// restart at 0 in every sequence. Summed in PyTorch's order:
    /// `(word + type) + position`.
    pub fn sum(&self, batch: &TokenBatch, out: &mut [f32]) {
        let h = self.hidden;
        for range in batch.ranges() {
            for (pos, t) in range.enumerate() {
                let w = &self.word[batch.ids[t] as usize * h..][..h];
                let ty = &self.token_type[batch.type_ids[t] as usize * h..][..h];
                let p = &self.position[pos * h..][..h];
                for (i, o) in out[t * h..(t + 1) * h].iter_mut().enumerate() {
                    *o = (w[i] + ty[i]) + p[i];
                }
            }
        }
    }

    /// `out = LayerNorm(word + type + position)`, `[tokens, hidden]`.
    pub fn forward(&self, batch: &TokenBatch, out: &mut [f32]) {
        let mut sum = vec![0.0; out.len()];
        self.sum(batch, &mut sum);
        self.layer_norm.forward(&sum, out, None);
    }
}
