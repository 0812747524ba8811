//! Frozen-prefix states kept across runs.
//!
//! A plan that freezes layers `0..l` never changes their output, so a run
//! computes every example's hidden states at the input of layer `l` once
//! ([`prefix_cache`]) and trains from there. Runs that share the base model
//! share those states too: a [`PrefixStore`] keeps them by token sequence and
//! layer, so in a study each distinct text passes through the frozen layers
//! once per layer, however many plans, seeds and sample sizes use it.

use super::multitask::MultiTaskModel;
use super::plan::Plan;
use super::trainer::{prefix_cache_of, Split};
use crate::error::Result;
use std::collections::HashMap;

/// (layer, word-piece ids, token type ids).
type Key = (usize, Vec<u32>, Vec<u32>);

/// Hidden states at the input of a layer, by token sequence, as the *base*
/// model's frozen layers compute them. Only runs over the same base weights
/// (the frozen layers are never trained) may share a store. A state depends
/// on its token sequence alone (the encoder is batch-invariant and dropout
/// is off in a cached prefix), so a stored state has the same bits as a
/// fresh one.
#[derive(Default)]
pub struct PrefixStore {
    states: HashMap<Key, Vec<f32>>,
}

impl PrefixStore {
    /// Every example's states at the input of `plan`'s first trainable
    /// layer, computing (in length-sorted batches) those not stored yet.
    pub fn states(
        &mut self,
        model: &MultiTaskModel,
        plan: &Plan,
        split: &Split,
    ) -> Result<Vec<Vec<f32>>> {
        let layer = plan.first_layer();
        let key = |i: usize| -> Key {
            let t = &split.tokens[i];
            (layer, t.ids.clone(), t.type_ids.clone())
        };
        let mut missing = Vec::new();
        let mut queued = std::collections::HashSet::new();
        for i in 0..split.len() {
            let k = key(i);
            if !self.states.contains_key(&k) && queued.insert(k) {
                missing.push(i);
            }
        }
        let fresh = prefix_cache_of(model, plan, split, &missing)?;
        for (&i, s) in missing.iter().zip(fresh) {
            self.states.insert(key(i), s);
        }
        Ok((0..split.len())
            .map(|i| self.states[&key(i)].clone())
            .collect())
    }

    /// Stored states (all layers).
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}
