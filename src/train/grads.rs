//! The gradient store: one f32 buffer per trainable tensor, under the
//! parameter's own name, accumulated into by every backward and cleared by
//! one [`Grads::zero_grad`].

use super::plan::Plan;
use super::task::Task;
use crate::model::attention::AttentionGrads;
use crate::model::feed_forward::FeedForwardGrads;
use crate::model::layer::LayerGrads;
use crate::model::layer_norm::LayerNormGrad;
use crate::model::linear::LinearGrad;
use crate::weights::{ParamStore, Tensor};
use std::collections::HashMap;

/// Gradients of the trainable tensors of a plan, by parameter name.
#[derive(Clone, Debug, Default)]
pub struct Grads {
    store: ParamStore,
}

impl Grads {
    /// Zeroed gradients for every tensor `plan` trains, shaped like `params`.
    pub fn new(params: &ParamStore, plan: &Plan) -> Self {
        let (h, f) = widths(params);
        let mut store = ParamStore::default();
        for name in plan.trainable_names(h, f) {
            store.insert(name.clone(), Tensor::zeros(&params.get(&name).shape));
        }
        Grads { store }
    }

    /// Set every gradient to zero.
    pub fn zero_grad(&mut self) {
        for (_, t) in self.store.iter_mut() {
            t.data.iter_mut().for_each(|v| *v = 0.0);
        }
    }

    /// The gradient of `name`, if that tensor trains.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.store.try_get(name)
    }
    /// Mutable gradient of `name` (e.g. for clipping).
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Tensor> {
        self.store.get_mut(name)
    }
    /// (name, gradient), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.store.iter()
    }
    /// (name, mutable gradient), sorted by name.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Tensor)> {
        self.store.iter_mut()
    }
    /// Number of gradient tensors.
    pub fn len(&self) -> usize {
        self.store.len()
    }
    /// True when nothing trains.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
    /// The whole store.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// √(Σ g²) over every gradient, accumulated in f64 in name order.
    pub fn global_norm(&self) -> f64 {
        // fold from +0.0: an empty f64 `sum()` is −0.0.
        self.store
            .iter()
            .flat_map(|(_, t)| t.data.iter())
            .fold(0.0f64, |acc, &g| acc + (g as f64) * (g as f64))
            .sqrt()
    }

    /// Multiply every gradient by `s` (clipping, averaging micro-batches).
    pub fn scale(&mut self, s: f32) {
        for (_, t) in self.store.iter_mut() {
            t.data.iter_mut().for_each(|v| *v *= s);
        }
    }

    /// Borrow the 16 gradient buffers of `encoder.layer.{index}`, or `None`
    /// when that layer does not train.
    pub fn layer_mut(&mut self, index: usize) -> Option<LayerGrads<'_>> {
        let prefix = format!("encoder.layer.{index}.");
        let mut m: HashMap<&str, &mut [f32]> = self
            .store
            .iter_mut()
            .filter_map(|(n, t)| {
                n.strip_prefix(prefix.as_str())
                    .map(|s| (s, t.data.as_mut_slice()))
            })
            .collect();
        if m.is_empty() {
            return None;
        }
        let mut take = |s: &str| {
            m.remove(s)
                .unwrap_or_else(|| panic!("gradient {prefix}{s} missing"))
        };
        let mut lin = |p: &str| LinearGrad {
            weight: take(&format!("{p}.weight")),
            bias: take(&format!("{p}.bias")),
        };
        let query = lin("attention.self.query");
        let key = lin("attention.self.key");
        let value = lin("attention.self.value");
        let output = lin("attention.output.dense");
        let ln1 = lin("attention.output.LayerNorm");
        let intermediate = lin("intermediate.dense");
        let output2 = lin("output.dense");
        let ln2 = lin("output.LayerNorm");
        Some(LayerGrads {
            attention: AttentionGrads {
                query,
                key,
                value,
                output,
                layer_norm: LayerNormGrad {
                    gamma: ln1.weight,
                    beta: ln1.bias,
                },
            },
            feed_forward: FeedForwardGrads {
                intermediate,
                output: output2,
                layer_norm: LayerNormGrad {
                    gamma: ln2.weight,
                    beta: ln2.bias,
                },
            },
        })
    }

    /// Borrow the gradient of `task`'s head, or `None` when it is frozen.
    pub fn head_mut(&mut self, task: Task) -> Option<LinearGrad<'_>> {
        let p = task.head_prefix();
        let (w, b) = (format!("{p}.weight"), format!("{p}.bias"));
        let mut weight = None;
        let mut bias = None;
        for (n, t) in self.store.iter_mut() {
            if n == w {
                weight = Some(t.data.as_mut_slice());
            } else if n == b {
                bias = Some(t.data.as_mut_slice());
            }
        }
        Some(LinearGrad {
            weight: weight?,
            bias: bias?,
        })
    }
}

/// (hidden, intermediate) of the encoder whose parameters are in `params`.
pub(crate) fn widths(params: &ParamStore) -> (usize, usize) {
    let t = params.get("encoder.layer.0.intermediate.dense.weight");
    (t.shape[1], t.shape[0])
}
