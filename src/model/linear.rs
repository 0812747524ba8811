//! A dense layer `y = x·Wᵀ + b` with W in PyTorch's `[out, in]` layout.

use crate::weights::ParamStore;
use minilm_kernels::{linear, Epilogue, PackedWeight};

/// A dense layer with its weight packed for the matrix kernel.
#[derive(Clone, Debug)]
pub struct Linear {
    /// The weight, packed once.
    pub weight: PackedWeight,
    /// The bias, `[out]`.
    pub bias: Vec<f32>,
}

impl Linear {
    /// Load `{prefix}.weight` and `{prefix}.bias`.
    pub fn from_store(store: &ParamStore, prefix: &str) -> Self {
        Self::fused(store, &[prefix])
    }

    /// Several layers reading the same input, stacked along their outputs
    /// (e.g. query, key and value as one `[3·hidden, hidden]` product).
    pub fn fused(store: &ParamStore, prefixes: &[&str]) -> Self {
        let mut w = Vec::new();
        let mut bias = Vec::new();
        let mut k = 0;
        for p in prefixes {
            let t = store.get(&format!("{p}.weight"));
            k = t.shape[1];
            w.extend_from_slice(&t.data);
            bias.extend_from_slice(&store.get(&format!("{p}.bias")).data);
        }
        Linear { weight: PackedWeight::new(&w, bias.len(), k), bias }
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.n()
    }

    /// `out[m, out] = epilogue(x[m, in]·Wᵀ + b)`.
    pub fn forward(&self, x: &[f32], m: usize, epilogue: Epilogue<'_>, out: &mut [f32]) {
        linear(x, m, &self.weight, Some(&self.bias), epilogue, out);
    }
}
