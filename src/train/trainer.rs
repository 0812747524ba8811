//! The synchronous multi-task training loop: every step takes one batch of
//! task A and one of task B, sums their weighted cross-entropies, back-
//! propagates through the trainable part of the plan, clips the gradient
//! norm, and takes one AdamW step with a warm-up/decay schedule. After each
//! epoch both validation sets are scored and the best state is kept.

use super::adamw::{AdamW, AdamWConfig};
use super::grads::Grads;
use super::metrics::{from_probs, Metrics};
use super::multitask::{EncoderInput, Mode, MultiTaskModel, TaskBatch};
use super::plan::Plan;
use super::prefix::PrefixStore;
use super::progress::Progress;
use super::schedule::linear_warmup_decay;
use super::task::Task;
use crate::error::{Error, Result};
use crate::model::TokenBatch;
use crate::tokenize::{Tokenizer, Tokens};
use crate::weights::ParamStore;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};
use std::time::Instant;

/// Everything that shapes a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Freezing plan (see [`Plan::parse`]).
    pub plan: String,
    /// Passes over the larger task's training set.
    pub epochs: usize,
    /// Stop after this many optimizer steps, if set (overrides `epochs`).
    pub max_steps: Option<usize>,
    /// Sentences per task per step.
    pub batch_size: usize,
    /// Peak learning rate of the encoder layers.
    pub lr_encoder: f32,
    /// Peak learning rate of the heads.
    pub lr_heads: f32,
    /// AdamW decoupled weight decay (not on biases or LayerNorm).
    pub weight_decay: f32,
    /// Fraction of the steps spent warming up linearly.
    pub warmup: f32,
    /// Clip the global gradient norm to this (0: no clipping).
    pub clip_norm: f32,
    /// Weights of task A's and task B's losses.
    pub loss_weights: [f32; 2],
    /// Seed of shuffling, dropout and head initialisation.
    pub seed: u64,
    /// Dropout in the trainable layers (p from config.json).
    pub dropout: bool,
    /// Compute the frozen prefix once per example and reuse it.
    pub cache_prefix: bool,
    /// L2-normalise sentence embeddings before the heads.
    pub normalize: bool,
    /// No progress output.
    pub quiet: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            plan: super::plan::DEFAULT_PLAN.to_string(),
            epochs: 10,
            max_steps: None,
            batch_size: 16,
            lr_encoder: 5e-5,
            lr_heads: 5e-3,
            weight_decay: 0.01,
            warmup: 0.1,
            clip_norm: 1.0,
            loss_weights: [1.0, 1.0],
            seed: 0,
            dropout: true,
            cache_prefix: true,
            normalize: false,
            quiet: false,
        }
    }
}

impl TrainConfig {
    /// The settings as JSON (for checkpoints and reports).
    pub fn to_json(&self) -> Value {
        json!({
            "plan": self.plan, "epochs": self.epochs, "max_steps": self.max_steps,
            "batch_size": self.batch_size, "lr_encoder": self.lr_encoder, "lr_heads": self.lr_heads,
            "weight_decay": self.weight_decay, "warmup": self.warmup, "clip_norm": self.clip_norm,
            "loss_weights": self.loss_weights, "seed": self.seed, "dropout": self.dropout,
            "cache_prefix": self.cache_prefix, "normalize": self.normalize,
        })
    }
}

/// A tokenized, labelled set of examples for one task.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// Word pieces per example.
    pub tokens: Vec<Tokens>,
    /// Class index per example.
    pub labels: Vec<usize>,
}

impl Split {
    /// Tokenize `texts` with their class indices.
    pub fn new(tokenizer: &Tokenizer, texts: &[&str], labels: Vec<usize>) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(Error::msg(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        Ok(Split {
            tokens: tokenizer.encode_batch(texts)?,
            labels,
        })
    }
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Total word pieces.
    pub fn tokens(&self) -> usize {
        self.tokens.iter().map(Tokens::len).sum()
    }
}

/// Training and validation data of one task.
#[derive(Clone, Debug, Default)]
pub struct TaskData {
    /// Seen during training.
    pub train: Split,
    /// Scored after every epoch to pick the best state.
    pub validation: Split,
}

/// One epoch's record.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean total training loss over the epoch's steps.
    pub train_loss: f64,
    /// Validation macro-F1 of task A and task B.
    pub val_macro_f1: [f64; 2],
    /// Mean of the two, the model-selection score.
    pub score: f64,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct TrainReport {
    /// Per epoch.
    pub epochs: Vec<EpochLog>,
    /// Loss of every optimizer step, in order.
    pub step_losses: Vec<f64>,
    /// The epoch whose state was kept (1-based; 0 when nothing trained).
    pub best_epoch: usize,
    /// Its validation score.
    pub best_score: f64,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Wall time of the training loop (excluding the prefix cache), seconds.
    pub train_seconds: f64,
    /// Wall time spent filling the frozen-prefix cache, seconds.
    pub cache_seconds: f64,
    /// Training examples (both tasks) processed per second.
    pub examples_per_second: f64,
}

/// Called after each epoch with the model in its current state, the epoch's
/// log and whether it is the best so far (e.g. to write a checkpoint).
pub type EpochHook<'a> = dyn FnMut(&MultiTaskModel, &EpochLog, bool, &AdamW) -> Result<()> + 'a;

/// Where a run stands between two optimizer steps: with the same data and
/// [`TrainConfig`], enough to continue it exactly (every random draw is
/// seeded by the seed and the step or pass, see [`seeded`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Optimizer steps taken.
    pub step: usize,
    /// The 1-based epoch the next step belongs to.
    pub epoch: usize,
    /// Steps of that epoch already taken.
    pub epoch_steps: usize,
    /// Sum of those steps' losses.
    pub epoch_loss: f64,
    /// Training examples processed so far (both tasks).
    pub examples: usize,
    /// The trained tensors now (heads included).
    pub params: ParamStore,
    /// The AdamW state ([`AdamW::to_store`]).
    pub optimizer: ParamStore,
    /// The best epoch's trained tensors, if an epoch has been scored.
    pub best: Option<ParamStore>,
    /// That epoch (0: none yet) and its score.
    pub best_epoch: usize,
    /// Its validation score (−∞ when none).
    pub best_score: f64,
    /// The finished epochs' logs.
    pub epochs: Vec<EpochLog>,
    /// Every step's loss so far.
    pub step_losses: Vec<f64>,
}

/// Called with the training state to save it (see `Control::save`).
pub type SaveFn<'a> = &'a mut dyn FnMut(&TrainState) -> Result<()>;

/// Resuming and stopping a run: see [`train_with`].
#[derive(Default)]
pub struct Control<'a> {
    /// Continue from this state instead of starting afresh.
    pub resume: Option<TrainState>,
    /// Called with the state at the end of every epoch and when stopped
    /// (e.g. to write a resume checkpoint).
    pub save: Option<SaveFn<'a>>,
    /// Checked before every step; once set, the run saves its state and
    /// stops with an error (e.g. set by a SIGINT handler).
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// Stop (as with `stop`) before taking step `n` (0-based), if set.
    pub stop_before_step: Option<usize>,
    /// Take the frozen-prefix states from (and add them to) this store,
    /// shared with other runs on the same base model, instead of computing
    /// them for this run alone.
    pub prefix: Option<&'a mut PrefixStore>,
}

/// The message of a run stopped by [`Control`]; starts with this.
pub const INTERRUPTED: &str = "training interrupted";

/// Train `model` in place on both tasks; at the end the model holds the
/// state of the best epoch by validation score.
pub fn train(
    model: &mut MultiTaskModel,
    data: &[TaskData; 2],
    cfg: &TrainConfig,
    on_epoch: &mut EpochHook<'_>,
) -> Result<TrainReport> {
    train_with(model, data, cfg, on_epoch, &mut Control::default())
}

/// As [`train`], resumable: `control.resume` continues a saved state (the
/// run then ends in the same bits as one never stopped), `control.save`
/// receives the state after every epoch and on a stop.
pub fn train_with(
    model: &mut MultiTaskModel,
    data: &[TaskData; 2],
    cfg: &TrainConfig,
    on_epoch: &mut EpochHook<'_>,
    control: &mut Control<'_>,
) -> Result<TrainReport> {
    let config = model.config().clone();
    let plan = Plan::parse(&cfg.plan, config.num_layers)?;
    for t in Task::ALL {
        if data[t.index()].train.is_empty() {
            return Err(Error::msg(format!("task {t} has no training examples")));
        }
    }
    if cfg.batch_size == 0 {
        return Err(Error::msg("batch size must be at least 1"));
    }
    *model = model.clone().with_normalize(cfg.normalize);
    let n_max = data.iter().map(|d| d.train.len()).max().unwrap_or(0);
    let steps_per_epoch = n_max.div_ceil(cfg.batch_size);
    let total_steps = cfg.max_steps.unwrap_or(cfg.epochs * steps_per_epoch);
    let epochs = total_steps.div_ceil(steps_per_epoch.max(1));
    let warmup = (cfg.warmup * total_steps as f32).round() as usize;
    let mut grads = Grads::new(model.params(), &plan);
    let adamw_config = AdamWConfig {
        weight_decay: cfg.weight_decay,
        ..Default::default()
    };
    let mut opt = AdamW::new(adamw_config.clone(), &grads);
    let mut report = TrainReport {
        epochs: Vec::new(),
        step_losses: Vec::new(),
        best_epoch: 0,
        best_score: f64::NEG_INFINITY,
        steps: 0,
        train_seconds: 0.0,
        cache_seconds: 0.0,
        examples_per_second: 0.0,
    };
    if plan.is_frozen() || total_steps == 0 {
        return Ok(report);
    }

    // Frozen-prefix cache: layers below the first trainable one never change.
    let first = plan.first_layer();
    let t0 = Instant::now();
    let use_cache = cfg.cache_prefix && first > 0;
    let mut cached = |split: &Split| -> Result<Option<Vec<Vec<f32>>>> {
        match (use_cache, control.prefix.as_deref_mut()) {
            (false, _) => Ok(None),
            (true, Some(store)) => store.states(model, &plan, split).map(Some),
            (true, None) => prefix_cache(model, &plan, split).map(Some),
        }
    };
    let cache = [cached(&data[0].train)?, cached(&data[1].train)?];
    let val_cache = [cached(&data[0].validation)?, cached(&data[1].validation)?];
    report.cache_seconds = t0.elapsed().as_secs_f64();

    let mut orders = [
        BatchOrder::new(cfg.seed, Task::A),
        BatchOrder::new(cfg.seed, Task::B),
    ];
    let mut best: Option<ParamStore> = None;
    // The bar counts examples (both tasks); the last batch of an order may be short.
    let per_step: usize = data.iter().map(|d| d.train.len().min(cfg.batch_size)).sum();
    let mut progress = Progress::new(total_steps * per_step, &format!("train {plan}"), cfg.quiet);
    let start = Instant::now();
    let mut examples = 0usize;
    let mut step = 0;
    let (mut first_epoch, mut resumed_epoch) = (1, None);
    if let Some(st) = control.resume.take() {
        if st.step > total_steps || st.epoch_steps >= steps_per_epoch.max(1) {
            return Err(Error::msg(format!(
                "cannot resume at step {} of a run of {total_steps} steps ({steps_per_epoch} per epoch): different data or settings",
                st.step
            )));
        }
        let want = trained_tensors(model, &plan);
        for (name, t) in want.iter() {
            match st.params.try_get(name) {
                Some(p) if p.shape == t.shape => model.params_mut().insert(name, p.clone()),
                _ => {
                    return Err(Error::msg(format!(
                        "resume state: tensor {name} missing or of another shape"
                    )))
                }
            }
        }
        model.refresh(&plan);
        opt = AdamW::from_store(adamw_config, &grads, &st.optimizer)?;
        if opt.steps() != st.step as u64 {
            return Err(Error::msg(format!(
                "resume state: optimizer at step {}, state at step {}",
                opt.steps(),
                st.step
            )));
        }
        // Replay the batch orders (cheap: index shuffles only).
        for _ in 0..st.step {
            for t in Task::ALL {
                orders[t.index()].next(&data[t.index()].train, cfg.batch_size);
            }
        }
        step = st.step;
        examples = st.examples;
        first_epoch = st.epoch;
        resumed_epoch = Some((st.epoch_loss, st.epoch_steps));
        best = st.best;
        report.best_epoch = st.best_epoch;
        report.best_score = st.best_score;
        report.epochs = st.epochs;
        report.step_losses = st.step_losses;
        progress.update(examples, None);
    }
    let state = |model: &MultiTaskModel,
                 opt: &AdamW,
                 best: &Option<ParamStore>,
                 report: &TrainReport,
                 (step, epoch, epoch_steps, epoch_loss, examples): (
        usize,
        usize,
        usize,
        f64,
        usize,
    )| {
        TrainState {
            step,
            epoch,
            epoch_steps,
            epoch_loss,
            examples,
            params: trained_tensors(model, &plan),
            optimizer: opt.to_store(),
            best: best.clone(),
            best_epoch: report.best_epoch,
            best_score: report.best_score,
            epochs: report.epochs.clone(),
            step_losses: report.step_losses.clone(),
        }
    };
    for epoch in first_epoch..=epochs {
        let (mut epoch_loss, mut epoch_steps) = resumed_epoch.take().unwrap_or((0.0, 0));
        while epoch_steps < steps_per_epoch && step < total_steps {
            let stop = control
                .stop
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
                || control.stop_before_step == Some(step);
            if stop {
                if let Some(save) = control.save.as_mut() {
                    let pos = (step, epoch, epoch_steps, epoch_loss, examples);
                    save(&state(model, &opt, &best, &report, pos))?;
                }
                progress.finish();
                return Err(Error::msg(format!(
                    "{INTERRUPTED} before step {} of {total_steps}",
                    step + 1
                )));
            }
            grads.zero_grad();
            let mut batches = Vec::new();
            for t in Task::ALL {
                let split = &data[t.index()].train;
                let idx = orders[t.index()].next(split, cfg.batch_size);
                examples += idx.len();
                batches.push((t, idx));
            }
            let prepared: Vec<(TokenBatch, Option<Vec<f32>>, Vec<usize>)> = batches
                .iter()
                .map(|(t, idx)| {
                    let split = &data[t.index()].train;
                    let batch = token_batch(model, split, idx)?;
                    let states = cache[t.index()]
                        .as_ref()
                        .map(|c| idx.iter().flat_map(|&i| c[i].iter().copied()).collect());
                    Ok((
                        batch,
                        states,
                        idx.iter().map(|&i| split.labels[i]).collect(),
                    ))
                })
                .collect::<Result<_>>()?;
            let task_batches: Vec<TaskBatch<'_>> = batches
                .iter()
                .zip(&prepared)
                .map(|((t, _), (batch, states, labels))| TaskBatch {
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
            let mode = if cfg.dropout { Mode::Train } else { Mode::Eval };
            let loss = weighted_loss_and_grads(
                model,
                &task_batches,
                cfg.loss_weights,
                &plan,
                mode,
                &mut step_rng(cfg.seed, step),
                &mut grads,
            )?;
            let norm = grads.global_norm();
            if !loss.is_finite() || !norm.is_finite() {
                return Err(Error::msg(format!(
                    "step {}: loss {loss} / gradient norm {norm} is not finite; training stopped (the last checkpoint is intact)",
                    step + 1,
                )));
            }
            if cfg.clip_norm > 0.0 && norm > cfg.clip_norm as f64 {
                grads.scale((cfg.clip_norm as f64 / norm) as f32);
            }
            let f = linear_warmup_decay(step, total_steps, warmup);
            let (lr_e, lr_h) = (cfg.lr_encoder * f, cfg.lr_heads * f);
            opt.step(model.params_mut(), &grads, |name| {
                if name.starts_with("head_") {
                    lr_h
                } else {
                    lr_e
                }
            })?;
            model.refresh(&plan);
            report.step_losses.push(loss);
            epoch_loss += loss;
            epoch_steps += 1;
            step += 1;
            progress.update(examples, Some(loss));
        }
        let val = [
            validation_f1(
                model,
                &data[0].validation,
                Task::A,
                val_cache[0].as_deref(),
                first,
            )?,
            validation_f1(
                model,
                &data[1].validation,
                Task::B,
                val_cache[1].as_deref(),
                first,
            )?,
        ];
        let score = (val[0] + val[1]) / 2.0;
        let log = EpochLog {
            epoch,
            train_loss: epoch_loss / epoch_steps.max(1) as f64,
            val_macro_f1: val,
            score,
        };
        let is_best = score > report.best_score;
        if is_best {
            report.best_score = score;
            report.best_epoch = epoch;
            best = Some(trained_tensors(model, &plan));
        }
        progress.println(&format!(
            "epoch {epoch:>3}/{epochs}  loss {:.4}  val macro-F1 {}: {:.4}  {}: {:.4}{}",
            log.train_loss,
            model.spec(Task::A).name,
            val[0],
            model.spec(Task::B).name,
            val[1],
            if is_best { "  (best)" } else { "" }
        ));
        on_epoch(model, &log, is_best, &opt)?;
        report.epochs.push(log);
        if let Some(save) = control.save.as_mut() {
            save(&state(
                model,
                &opt,
                &best,
                &report,
                (step, epoch + 1, 0, 0.0, examples),
            ))?;
        }
    }
    progress.finish();
    report.steps = step;
    report.train_seconds = start.elapsed().as_secs_f64();
    report.examples_per_second = examples as f64 / report.train_seconds.max(1e-9);
    if let Some(b) = best {
        for (name, t) in b.iter() {
            model.params_mut().insert(name, t.clone());
        }
        model.refresh(&plan);
    }
    Ok(report)
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

/// Copies of the tensors `plan` trains (heads included).
fn trained_tensors(model: &MultiTaskModel, plan: &Plan) -> ParamStore {
    let c = model.config();
    let mut s = ParamStore::default();
    for name in plan.trainable_names(c.hidden_size, c.intermediate_size) {
        s.insert(name.clone(), model.params().get(&name).clone());
    }
    s
}

/// Predicted class of every example of `split` under `task`'s head
/// (evaluation mode). With `cache = (states, layer)` — each example's hidden
/// states at the input of layer `layer`, as [`prefix_cache`] computes them —
/// only the layers from `layer` up run.
pub fn predict_classes(
    model: &MultiTaskModel,
    split: &Split,
    task: Task,
    cache: Option<(&[Vec<f32>], usize)>,
) -> Result<Vec<usize>> {
    let classes = model.spec(task).classes.len();
    let Some((c, layer)) = cache else {
        return Ok(from_probs(
            &predict_probs(model, &split.tokens, task, 64)?.concat(),
            classes,
        ));
    };
    let mut order: Vec<usize> = (0..split.len()).collect();
    order.sort_by_key(|&i| split.tokens[i].len());
    let mut pred = vec![0; split.len()];
    for chunk in order.chunks(64) {
        let batch = token_batch(model, split, chunk)?;
        let states: Vec<f32> = chunk.iter().flat_map(|&i| c[i].iter().copied()).collect();
        let labels: Vec<usize> = chunk.iter().map(|&i| split.labels[i]).collect();
        let input = EncoderInput::Hidden {
            batch: &batch,
            states: &states,
            layer,
        };
        let out = model.loss(&[TaskBatch {
            task,
            input,
            labels: &labels,
        }])?;
        for (&i, p) in chunk.iter().zip(from_probs(&out.tasks[0].logits, classes)) {
            pred[i] = p;
        }
    }
    Ok(pred)
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
        let batch = token_batch(model, split, &rows)?;
        let states = model.frozen_prefix(&batch, plan);
        for (k, &j) in chunk.iter().enumerate() {
            out[j] = states[batch.range(k).start * h..batch.range(k).end * h].to_vec();
        }
    }
    Ok(out)
}

fn token_batch(model: &MultiTaskModel, split: &Split, idx: &[usize]) -> Result<TokenBatch> {
    TokenBatch::new(
        idx.iter().map(|&i| {
            (
                split.tokens[i].ids.as_slice(),
                split.tokens[i].type_ids.as_slice(),
            )
        }),
        model.config(),
    )
}

/// Every random draw of a run comes from a generator seeded by the run's
/// seed and a position (the step, or a task's pass over its data), never
/// from one long-lived stream: a run can then be resumed at any step and
/// continue exactly as if it had not stopped.
fn seeded(seed: u64, stream: u64, index: u64) -> Xoshiro256PlusPlus {
    // SplitMix64-style mixing of the three numbers into one seed.
    let mut z = seed
        ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ index.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// The dropout generator of optimizer step `step`.
fn step_rng(seed: u64, step: usize) -> Xoshiro256PlusPlus {
    seeded(seed, 1, step as u64)
}

/// Shuffled batches of one task, grouped by length: each pass over the data
/// is a fresh shuffle (seeded by the run's seed, the task and the pass), cut
/// into windows of 8 batches that are sorted by length and batched, then the
/// batches are shuffled. The smaller task simply asks for more batches than
/// it has and starts a new pass (it cycles).
struct BatchOrder {
    seed: u64,
    task: Task,
    pass: u64,
    batches: Vec<Vec<usize>>,
}

impl BatchOrder {
    fn new(seed: u64, task: Task) -> Self {
        BatchOrder {
            seed,
            task,
            pass: 0,
            batches: Vec::new(),
        }
    }

    fn next(&mut self, split: &Split, batch_size: usize) -> Vec<usize> {
        if self.batches.is_empty() {
            let rng = &mut seeded(self.seed, 2 + self.task.index() as u64, self.pass);
            self.pass += 1;
            let mut idx: Vec<usize> = (0..split.len()).collect();
            idx.shuffle(rng);
            let mut batches = Vec::new();
            for window in idx.chunks_mut(batch_size * 8) {
                window.sort_by_key(|&i| split.tokens[i].len());
                batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
            }
            batches.shuffle(rng);
            batches.reverse(); // popped from the end
            self.batches = batches;
        }
        self.batches
            .pop()
            .expect("a non-empty split gives at least one batch")
    }
}

/// Validation macro-F1 of `task`'s head; with `cache` (hidden states at
/// the input of layer `layer`), only the layers from `layer` up run.
fn validation_f1(
    model: &MultiTaskModel,
    split: &Split,
    task: Task,
    cache: Option<&[Vec<f32>]>,
    layer: usize,
) -> Result<f64> {
    if split.is_empty() {
        return Ok(0.0);
    }
    let pred = predict_classes(model, split, task, cache.map(|c| (c, layer)))?;
    let classes = &model.spec(task).classes;
    Ok(Metrics::compute(classes, &split.labels, &pred).macro_f1)
}

/// Class probabilities `softmax(logits)` of every tokenized text under
/// `task`'s head (evaluation mode), in input order.
pub fn predict_probs(
    model: &MultiTaskModel,
    tokens: &[Tokens],
    task: Task,
    batch_size: usize,
) -> Result<Vec<Vec<f32>>> {
    Ok(predict_probs_tasks(model, tokens, &[task], batch_size)?
        .pop()
        .expect("one task in, one out"))
}

/// [`predict_probs`] for several heads at once: one encoder pass per batch,
/// every head applied to the same sentence embeddings. Returns one
/// `[texts][classes]` table per task, in the order of `tasks`.
pub fn predict_probs_tasks(
    model: &MultiTaskModel,
    tokens: &[Tokens],
    tasks: &[Task],
    batch_size: usize,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].len()));
    let mut out = vec![vec![Vec::new(); tokens.len()]; tasks.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch = TokenBatch::new(
            chunk
                .iter()
                .map(|&i| (tokens[i].ids.as_slice(), tokens[i].type_ids.as_slice())),
            model.config(),
        )?;
        let pooled = model.embed(&batch);
        for (&task, probs) in tasks.iter().zip(out.iter_mut()) {
            let classes = model.spec(task).classes.len();
            let logits = model.head(task).forward(&pooled, batch.len());
            for (&i, z) in chunk.iter().zip(logits.chunks(classes)) {
                probs[i] = softmax(z);
            }
        }
    }
    Ok(out)
}

/// Softmax of one row of logits, computed in f64.
pub fn softmax(z: &[f32]) -> Vec<f32> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = z.iter().map(|&v| (v as f64 - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

/// Metrics of `task`'s head on a split.
pub fn evaluate(model: &MultiTaskModel, split: &Split, task: Task) -> Result<Metrics> {
    let probs = predict_probs(model, &split.tokens, task, 64)?;
    let classes = &model.spec(task).classes;
    let pred = from_probs(&probs.concat(), classes.len());
    Metrics::try_compute(classes, &split.labels, &pred)
}
