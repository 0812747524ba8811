//! Shared by the training tests (grad_finite_diff, multitask): a tiny random
//! BERT and batches for it.

#![allow(dead_code)]

use minilm::config::BertConfig;
use minilm::model::TokenBatch;
use minilm::weights::{expected_tensors, ParamStore, Tensor};
use rand::rngs::Xoshiro256PlusPlus;
use rand::Rng;

/// Uniform values in `±scale`.
pub fn uniform(rng: &mut Xoshiro256PlusPlus, n: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale)
        .collect()
}

/// A BERT of width 8 (2 heads of 4), feed-forward 16, `layers` layers.
pub fn tiny_config(layers: usize) -> BertConfig {
    BertConfig {
        hidden_size: 8,
        num_layers: layers,
        num_heads: 2,
        intermediate_size: 16,
        layer_norm_eps: 1e-12,
        vocab_size: 24,
        max_position_embeddings: 16,
        type_vocab_size: 2,
        hidden_dropout: 0.1,
        attention_dropout: 0.1,
    }
}

/// Random parameters for every tensor of `cfg`'s encoder (weights ~ ±1.7/√in,
/// LayerNorm gains around 1).
pub fn random_params(cfg: &BertConfig, rng: &mut Xoshiro256PlusPlus) -> ParamStore {
    let mut s = ParamStore::default();
    for (name, shape) in expected_tensors(cfg) {
        let n: usize = shape.iter().product();
        let data = if name.contains("LayerNorm.weight") {
            uniform(rng, n, 0.5).into_iter().map(|v| 1.0 + v).collect()
        } else if shape.len() == 2 && !name.starts_with("embeddings") {
            uniform(rng, n, 1.0 / (shape[1] as f32).sqrt() * 1.7)
        } else {
            uniform(rng, n, 0.5)
        };
        s.insert(name, Tensor { shape, data });
    }
    s
}

/// A batch of random sequences with the given lengths.
pub fn batch_of(lens: &[usize], cfg: &BertConfig, rng: &mut Xoshiro256PlusPlus) -> TokenBatch {
    let seqs: Vec<(Vec<u32>, Vec<u32>)> = lens
        .iter()
        .map(|&l| {
            let ids = (0..l)
                .map(|_| (rng.next_u64() % cfg.vocab_size as u64) as u32)
                .collect();
            let tys = (0..l).map(|_| (rng.next_u64() % 2) as u32).collect();
            (ids, tys)
        })
        .collect();
    TokenBatch::new(seqs.iter().map(|(a, b)| (a.as_slice(), b.as_slice())), cfg).unwrap()
}
