//! The classification objective: every step takes one batch of task A and
//! one of task B, routes each through its head and sums their weighted
//! cross-entropies (the original recipe). Validation: each head's macro-F1.

use super::grads::Grads;
use super::multitask::{EncoderInput, Mode, MultiTaskModel, TaskBatch};
use super::order::{step_rng, BatchOrder};
use super::plan::Plan;
use super::predict::validation_f1;
use super::prefix::{PrefixStore, TaskStates};
use super::split::{examples_per_step, steps_per_epoch, TaskData};
use super::task::Task;
use super::trainer::{Objective, TrainConfig};
use crate::error::{Error, Result};
use crate::model::TokenBatch;
use rand::rngs::Xoshiro256PlusPlus;

/// Cross-entropy of both heads on shuffled, length-grouped batches.
pub struct Classify<'a> {
    data: &'a [TaskData; 2],
    cfg: &'a TrainConfig,
    plan: Plan,
    orders: [BatchOrder; 2],
    /// Frozen-prefix states of each task's training and validation split.
    states: TaskStates,
}

impl<'a> Classify<'a> {
    /// The objective over `data` with `cfg`'s batch size, loss weights,
    /// dropout and seed, training what `plan` trains.
    pub fn new(data: &'a [TaskData; 2], cfg: &'a TrainConfig, plan: &Plan) -> Result<Self> {
        for t in Task::ALL {
            if data[t.index()].train.is_empty() {
                return Err(Error::msg(format!("task {t} has no training examples")));
            }
        }
        if cfg.batch_size == 0 {
            return Err(Error::msg("batch size must be at least 1"));
        }
        Ok(Classify {
            data,
            cfg,
            plan: plan.clone(),
            orders: [
                BatchOrder::new(cfg.seed, Task::A),
                BatchOrder::new(cfg.seed, Task::B),
            ],
            states: TaskStates::default(),
        })
    }

    /// One task's batch: token ids, the cached states if any, the labels.
    fn prepare_batch(
        &self,
        model: &MultiTaskModel,
        t: Task,
        idx: &[usize],
    ) -> Result<(TokenBatch, Option<Vec<f32>>, Vec<usize>)> {
        let split = &self.data[t.index()].train;
        let batch = split.batch(idx, model.config())?;
        let states = self.states.gather(t, idx);
        Ok((
            batch,
            states,
            idx.iter().map(|&i| split.labels[i]).collect(),
        ))
    }
}

impl Objective for Classify<'_> {
    fn steps_per_epoch(&self) -> usize {
        steps_per_epoch(self.data, self.cfg.batch_size)
    }

    fn examples_per_step(&self) -> usize {
        examples_per_step(self.data, self.cfg.batch_size)
    }

    fn label(&self) -> String {
        format!("train {}", self.plan)
    }

    fn prepare(&mut self, model: &MultiTaskModel, store: Option<&mut PrefixStore>) -> Result<()> {
        self.states =
            TaskStates::compute(model, &self.plan, self.data, store, self.cfg.cache_prefix)?;
        Ok(())
    }

    fn skip_step(&mut self) {
        for t in Task::ALL {
            self.orders[t.index()].next(&self.data[t.index()].train, self.cfg.batch_size);
        }
    }

    fn step(
        &mut self,
        model: &MultiTaskModel,
        step: usize,
        grads: &mut Grads,
    ) -> Result<(f64, usize)> {
        let mut examples = 0;
        let mut prepared = Vec::new();
        for t in Task::ALL {
            let idx = self.orders[t.index()].next(&self.data[t.index()].train, self.cfg.batch_size);
            examples += idx.len();
            prepared.push((t, self.prepare_batch(model, t, &idx)?));
        }
        let first = self.plan.first_layer();
        let task_batches: Vec<TaskBatch<'_>> = prepared
            .iter()
            .map(|(t, (batch, states, labels))| TaskBatch {
                task: *t,
                input: match states {
                    Some(s) => EncoderInput::Hidden {
                        batch,
                        states: s,
                        layer: first,
                    },
                    None => EncoderInput::Tokens(batch),
                },
                labels,
            })
            .collect();
        let mode = if self.cfg.dropout {
            Mode::Train
        } else {
            Mode::Eval
        };
        let loss = weighted_loss_and_grads(
            model,
            &task_batches,
            self.cfg.loss_weights,
            &self.plan,
            mode,
            &mut step_rng(self.cfg.seed, step),
            grads,
        )?;
        Ok((loss, examples))
    }

    fn validate(&mut self, model: &MultiTaskModel) -> Result<[f64; 2]> {
        let first = self.plan.first_layer();
        let mut val = [0.0; 2];
        for t in Task::ALL {
            val[t.index()] = validation_f1(
                model,
                &self.data[t.index()].validation,
                t,
                self.states.validation[t.index()].as_deref(),
                first,
            )?;
        }
        Ok(val)
    }
}

/// `w_A·CE_A + w_B·CE_B` of a step, with its gradients accumulated into
/// `grads`. Unit weights are one pass; otherwise task A's gradients are
/// scaled by `w_A/w_B` before task B's are added, and the sum by `w_B`.
#[allow(clippy::too_many_arguments)]
fn weighted_loss_and_grads(
    model: &MultiTaskModel,
    batches: &[TaskBatch<'_>],
    weights: [f32; 2],
    plan: &Plan,
    mode: Mode,
    rng: &mut Xoshiro256PlusPlus,
    grads: &mut Grads,
) -> Result<f64> {
    if weights == [1.0, 1.0] {
        return Ok(model.loss_and_grads(batches, plan, mode, rng, grads)?.loss);
    }
    let [wa, wb] = weights;
    let la = model
        .loss_and_grads(&batches[..1], plan, mode, rng, grads)?
        .loss;
    let lb = if wb > 0.0 {
        grads.scale(wa / wb);
        let lb = model
            .loss_and_grads(&batches[1..], plan, mode, rng, grads)?
            .loss;
        grads.scale(wb);
        lb
    } else {
        grads.scale(wa);
        model.loss(&batches[1..])?.loss
    };
    Ok(wa as f64 * la + wb as f64 * lb)
}
