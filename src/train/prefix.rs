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
use super::split::Split;
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

/// Hidden states of every example at the input of the first trainable
/// layer, computed once (in length-sorted batches, which gives the same bits
/// as any other batching: the encoder is batch-invariant).
pub fn prefix_cache(model: &MultiTaskModel, plan: &Plan, split: &Split) -> Result<Vec<Vec<f32>>> {
    let all: Vec<usize> = (0..split.len()).collect();
    prefix_cache_of(model, plan, split, &all)
}

/// As [`prefix_cache`], for the examples `idx` of `split` (in that order).
pub fn prefix_cache_of(
    model: &MultiTaskModel,
    plan: &Plan,
    split: &Split,
    idx: &[usize],
) -> Result<Vec<Vec<f32>>> {
    let h = model.config().hidden_size;
    let mut order: Vec<usize> = (0..idx.len()).collect();
    order.sort_by_key(|&j| split.tokens[idx[j]].len());
    let mut out = vec![Vec::new(); idx.len()];
    for chunk in order.chunks(64) {
        let rows: Vec<usize> = chunk.iter().map(|&j| idx[j]).collect();
        let batch = split.batch(&rows, model.config())?;
        let states = model.frozen_prefix(&batch, plan);
        for (k, &j) in chunk.iter().enumerate() {
            out[j] = states[batch.range(k).start * h..batch.range(k).end * h].to_vec();
        }
    }
    Ok(out)
}

/// The states a run trains from, at the input of `plan`'s first trainable
/// layer: from `store` when one is shared, else computed for this run
/// alone; `None` when `enabled` is off or no layer is frozen below.
pub fn run_states(
    model: &MultiTaskModel,
    plan: &Plan,
    split: &Split,
    store: Option<&mut PrefixStore>,
    enabled: bool,
) -> Result<Option<Vec<Vec<f32>>>> {
    match (enabled && plan.first_layer() > 0, store) {
        (false, _) => Ok(None),
        (true, Some(store)) => store.states(model, plan, split).map(Some),
        (true, None) => prefix_cache(model, plan, split).map(Some),
    }
}

/// The states a run trains and validates from, per task ([`run_states`]
/// of each task's training and validation split).
#[derive(Default)]
pub struct TaskStates {
    /// Per task, its training split's states.
    pub train: [Option<Vec<Vec<f32>>>; 2],
    /// Per task, its validation split's states.
    pub validation: [Option<Vec<Vec<f32>>>; 2],
}

impl TaskStates {
    /// Both tasks' states for training from `plan` (training splits first,
    /// then validation splits).
    pub fn compute(
        model: &MultiTaskModel,
        plan: &Plan,
        data: &[super::split::TaskData; 2],
        mut store: Option<&mut PrefixStore>,
        enabled: bool,
    ) -> Result<Self> {
        let mut s = TaskStates::default();
        for (slot, d) in s.train.iter_mut().zip(data) {
            *slot = run_states(model, plan, &d.train, store.as_deref_mut(), enabled)?;
        }
        for (slot, d) in s.validation.iter_mut().zip(data) {
            *slot = run_states(model, plan, &d.validation, store.as_deref_mut(), enabled)?;
        }
        Ok(s)
    }

    /// The training states of examples `idx` of task `t`, laid end to end
    /// as one batch's `[tokens, hidden]`; `None` without a cache.
    pub fn gather(&self, t: super::task::Task, idx: &[usize]) -> Option<Vec<f32>> {
        self.train[t.index()]
            .as_ref()
            .map(|c| idx.iter().flat_map(|&i| c[i].iter().copied()).collect())
    }
}
