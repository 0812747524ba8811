//! Token embeddings: word + token type + position, then LayerNorm.

use super::batch::TokenBatch;
use super::layer_norm::LayerNorm;
use crate::config::BertConfig;
use crate::precision::{Precision, QuantTensor};
use crate::weights::ParamStore;

/// The word-embedding table: f32 rows, or s8 rows with one scale each
/// (int8 precision: the table is half of the model's parameters).
#[derive(Clone, Debug)]
pub enum WordTable {
    /// `[vocab, hidden]` f32.
    F32(Vec<f32>),
    /// `[vocab, hidden]` s8 and `[vocab]` scales; a row is read as `q · scale`.
    Int8(QuantTensor),
}

/// The three embedding tables and their LayerNorm.
#[derive(Clone, Debug)]
pub struct Embeddings {
    word: WordTable,
    position: Vec<f32>,
    token_type: Vec<f32>,
    /// `embeddings.LayerNorm`.
    pub layer_norm: LayerNorm,
    hidden: usize,
}

impl Embeddings {
    /// Load the `embeddings.*` tensors (f32).
    pub fn from_store(store: &ParamStore, cfg: &BertConfig) -> Self {
        Self::from_store_at(store, cfg, Precision::F32)
    }

    /// Load the `embeddings.*` tensors; at int8 the word table is kept as
    /// s8 rows (from the folder, or quantized as `convert --to int8` does).
    pub fn from_store_at(store: &ParamStore, cfg: &BertConfig, precision: Precision) -> Self {
        const WORD: &str = "embeddings.word_embeddings.weight";
        let t = store.get(WORD);
        let word = match (precision, store.quantized(WORD)) {
            (Precision::Int8, Some(q)) => WordTable::Int8(q.clone()),
            (Precision::Int8, None) => {
                WordTable::Int8(QuantTensor::quantize(&t.data, t.shape[0], t.shape[1]))
            }
            _ => WordTable::F32(t.data.clone()),
        };
        Embeddings {
            word,
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
                let id = batch.ids[t] as usize;
                let ty = &self.token_type[batch.type_ids[t] as usize * h..][..h];
                let p = &self.position[pos * h..][..h];
                let o = &mut out[t * h..(t + 1) * h];
                match &self.word {
                    WordTable::F32(word) => {
                        let w = &word[id * h..][..h];
                        for (((o, &w), &ty), &p) in o.iter_mut().zip(w).zip(ty).zip(p) {
                            *o = (w + ty) + p;
                        }
                    }
                    WordTable::Int8(word) => {
                        let (w, s) = (&word.q[id * h..][..h], word.scales[id]);
                        for (((o, &w), &ty), &p) in o.iter_mut().zip(w).zip(ty).zip(p) {
                            *o = (w as f32 * s + ty) + p;
                        }
                    }
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
