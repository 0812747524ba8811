//! The synchronous training loop, whatever the objective: every step asks
//! the [`Objective`] for the loss and gradients of one batch of each task,
//! clips the gradient norm, and takes one AdamW step with a warm-up/decay
//! schedule. After each epoch the objective scores both validation sets and
//! the best state is kept. The loop also resumes a saved [`TrainState`] and
//! stops cleanly when asked ([`Control`]).
//!
//! [`train`] runs it with the classification objective
//! ([`super::classify::Classify`]: cross-entropy through the heads);
//! [`super::contrastive`] runs it with pair losses on the encoder.

use super::adamw::{AdamW, AdamWConfig};
use super::classify::Classify;
use super::grads::Grads;
use super::group::ParamGroup;
use super::multitask::MultiTaskModel;
use super::plan::Plan;
use super::prefix::PrefixStore;
use super::schedule::linear_warmup_decay;
use super::split::TaskData;
use super::task::Task;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::weights::ParamStore;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
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
/// seeded by the seed and the step or pass, see [`super::order::seeded`]).
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

/// What the loop trains: the loss of one step, and the validation score.
/// The loop owns the schedule, clipping, the optimizer, resuming and
/// stopping; an objective owns its batches and its loss.
pub trait Objective {
    /// Optimizer steps in one epoch.
    fn steps_per_epoch(&self) -> usize;
    /// Examples (both tasks) one full step processes, for the progress bar.
    fn examples_per_step(&self) -> usize;
    /// Label of the progress bar.
    fn label(&self) -> String;
    /// Work done once before the first step (e.g. the frozen-prefix
    /// states), with the shared store if the run has one.
    fn prepare(&mut self, model: &MultiTaskModel, store: Option<&mut PrefixStore>) -> Result<()>;
    /// Advance the batch order past one step without computing it (resume).
    fn skip_step(&mut self);
    /// Loss of step `step` with its gradients accumulated into `grads`,
    /// and the number of examples it used.
    fn step(
        &mut self,
        model: &MultiTaskModel,
        step: usize,
        grads: &mut Grads,
    ) -> Result<(f64, usize)>;
    /// Validation score of task A and task B (higher is better); their
    /// mean selects the best epoch.
    fn validate(&mut self, model: &MultiTaskModel) -> Result<[f64; 2]>;
    /// Name of the score in the epoch lines (e.g. `val macro-F1`).
    fn score_name(&self) -> &'static str {
        "val macro-F1"
    }
}

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
    let plan = Plan::parse(&cfg.plan, model.config().num_layers)?;
    let mut objective = Classify::new(data, cfg, &plan)?;
    *model = model.clone().with_normalize(cfg.normalize);
    run_loop(model, &plan, cfg, &mut objective, on_epoch, control)
}

/// The step counts of a run.
#[derive(Clone, Copy, Debug)]
struct Schedule {
    steps_per_epoch: usize,
    total_steps: usize,
    epochs: usize,
    warmup: usize,
}

impl Schedule {
    fn new(cfg: &TrainConfig, steps_per_epoch: usize) -> Self {
        let total_steps = cfg.max_steps.unwrap_or(cfg.epochs * steps_per_epoch);
        Schedule {
            steps_per_epoch,
            total_steps,
            epochs: total_steps.div_ceil(steps_per_epoch.max(1)),
            warmup: (cfg.warmup * total_steps as f32).round() as usize,
        }
    }
}

/// Where a run stands between two steps.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Position {
    /// Optimizer steps taken.
    step: usize,
    /// The 1-based epoch the next step belongs to.
    epoch: usize,
    /// Steps of that epoch already taken.
    epoch_steps: usize,
    /// Sum of those steps' losses.
    epoch_loss: f64,
    /// Training examples processed so far (both tasks).
    examples: usize,
}

impl Position {
    const START: Position = Position {
        step: 0,
        epoch: 1,
        epoch_steps: 0,
        epoch_loss: 0.0,
        examples: 0,
    };
    /// The start of the next epoch.
    fn next_epoch(self) -> Position {
        Position {
            epoch: self.epoch + 1,
            epoch_steps: 0,
            epoch_loss: 0.0,
            ..self
        }
    }
}

/// The loop's mutable state: the model, its optimizer and the record.
struct Run<'a> {
    model: &'a mut MultiTaskModel,
    plan: &'a Plan,
    cfg: &'a TrainConfig,
    sched: Schedule,
    grads: Grads,
    opt: AdamW,
    best: Option<ParamStore>,
    report: TrainReport,
    pos: Position,
}

impl Run<'_> {
    /// The state to save for a resume.
    fn state(&self, pos: Position) -> TrainState {
        TrainState {
            step: pos.step,
            epoch: pos.epoch,
            epoch_steps: pos.epoch_steps,
            epoch_loss: pos.epoch_loss,
            examples: pos.examples,
            params: trained_tensors(self.model, self.plan),
            optimizer: self.opt.to_store(),
            best: self.best.clone(),
            best_epoch: self.report.best_epoch,
            best_score: self.report.best_score,
            epochs: self.report.epochs.clone(),
            step_losses: self.report.step_losses.clone(),
        }
    }

    /// Continue from a saved state: its tensors, optimizer, record and the
    /// objective's batch order replayed up to its step.
    fn resume(&mut self, st: TrainState, objective: &mut dyn Objective) -> Result<()> {
        let Schedule {
            steps_per_epoch,
            total_steps,
            ..
        } = self.sched;
        if st.step > total_steps || st.epoch_steps >= steps_per_epoch.max(1) {
            return Err(Error::msg(format!(
                "cannot resume at step {} of a run of {total_steps} steps ({steps_per_epoch} per epoch): different data or settings",
                st.step
            )));
        }
        for (name, t) in trained_tensors(self.model, self.plan).iter() {
            match st.params.try_get(name) {
                Some(p) if p.shape == t.shape => self.model.params_mut().insert(name, p.clone()),
                _ => {
                    return Err(Error::msg(format!(
                        "resume state: tensor {name} missing or of another shape"
                    )))
                }
            }
        }
        self.model.refresh(self.plan);
        self.opt = AdamW::from_store(adamw_config(self.cfg), &self.grads, &st.optimizer)?;
        if self.opt.steps() != st.step as u64 {
            return Err(Error::msg(format!(
                "resume state: optimizer at step {}, state at step {}",
                self.opt.steps(),
                st.step
            )));
        }
        // Replay the batch orders (cheap: index shuffles only).
        for _ in 0..st.step {
            objective.skip_step();
        }
        self.pos = Position {
            step: st.step,
            epoch: st.epoch,
            epoch_steps: st.epoch_steps,
            epoch_loss: st.epoch_loss,
            examples: st.examples,
        };
        self.best = st.best;
        self.report.best_epoch = st.best_epoch;
        self.report.best_score = st.best_score;
        self.report.epochs = st.epochs;
        self.report.step_losses = st.step_losses;
        Ok(())
    }

    /// One optimizer step: the objective's loss and gradients, a finite
    /// check, clipping, the scheduled learning rates, AdamW.
    fn step(&mut self, objective: &mut dyn Objective) -> Result<f64> {
        self.grads.zero_grad();
        let step = self.pos.step;
        let (loss, examples) = objective.step(self.model, step, &mut self.grads)?;
        self.pos.examples += examples;
        let norm = self.grads.global_norm();
        if !loss.is_finite() || !norm.is_finite() {
            return Err(Error::msg(format!(
                "step {}: loss {loss} / gradient norm {norm} is not finite; training stopped (the last checkpoint is intact)",
                step + 1,
            )));
        }
        let clip = self.cfg.clip_norm;
        if clip > 0.0 && norm > clip as f64 {
            self.grads.scale((clip as f64 / norm) as f32);
        }
        let f = linear_warmup_decay(step, self.sched.total_steps, self.sched.warmup);
        let (lr_e, lr_h) = (self.cfg.lr_encoder * f, self.cfg.lr_heads * f);
        self.opt
            .step(self.model.params_mut(), &self.grads, |name| {
                if ParamGroup::of(name).is_head() {
                    lr_h
                } else {
                    lr_e
                }
            })?;
        self.model.refresh(self.plan);
        self.report.step_losses.push(loss);
        self.pos.epoch_loss += loss;
        self.pos.epoch_steps += 1;
        self.pos.step += 1;
        Ok(loss)
    }

    /// Score the epoch just finished, keep the best state, log and hand the
    /// epoch to the hooks.
    fn end_epoch(
        &mut self,
        objective: &mut dyn Objective,
        progress: &Progress,
        on_epoch: &mut EpochHook<'_>,
        control: &mut Control<'_>,
    ) -> Result<()> {
        let Position {
            epoch,
            epoch_steps,
            epoch_loss,
            ..
        } = self.pos;
        let val = objective.validate(self.model)?;
        let score = (val[0] + val[1]) / 2.0;
        let log = EpochLog {
            epoch,
            train_loss: epoch_loss / epoch_steps.max(1) as f64,
            val_macro_f1: val,
            score,
        };
        let is_best = score > self.report.best_score;
        if is_best {
            self.report.best_score = score;
            self.report.best_epoch = epoch;
            self.best = Some(trained_tensors(self.model, self.plan));
        }
        progress.println(&format!(
            "epoch {epoch:>3}/{}  loss {:.4}  {} {}: {:.4}  {}: {:.4}{}",
            self.sched.epochs,
            log.train_loss,
            objective.score_name(),
            self.model.spec(Task::A).name,
            val[0],
            self.model.spec(Task::B).name,
            val[1],
            if is_best { "  (best)" } else { "" }
        ));
        on_epoch(self.model, &log, is_best, &self.opt)?;
        self.report.epochs.push(log);
        self.pos = self.pos.next_epoch();
        if let Some(save) = control.save.as_mut() {
            save(&self.state(self.pos))?;
        }
        Ok(())
    }

    /// Whether the run must stop before its next step.
    fn stop_requested(&self, control: &Control<'_>) -> bool {
        control.stop.is_some_and(|s| s.load(Ordering::SeqCst))
            || control.stop_before_step == Some(self.pos.step)
    }

    /// Put the best epoch's tensors back into the model.
    fn restore_best(&mut self) {
        if let Some(b) = self.best.take() {
            for (name, t) in b.iter() {
                self.model.params_mut().insert(name, t.clone());
            }
            self.model.refresh(self.plan);
        }
    }
}

fn adamw_config(cfg: &TrainConfig) -> AdamWConfig {
    AdamWConfig {
        weight_decay: cfg.weight_decay,
        ..Default::default()
    }
}

/// Run `objective` on `model` under `plan` with the loop settings of `cfg`
/// (epochs or steps, learning rates, schedule, clipping, seed); at the end
/// the model holds the state of the best epoch by validation score.
pub fn run_loop(
    model: &mut MultiTaskModel,
    plan: &Plan,
    cfg: &TrainConfig,
    objective: &mut dyn Objective,
    on_epoch: &mut EpochHook<'_>,
    control: &mut Control<'_>,
) -> Result<TrainReport> {
    let sched = Schedule::new(cfg, objective.steps_per_epoch());
    let grads = Grads::new(model.params(), plan);
    let opt = AdamW::new(adamw_config(cfg), &grads);
    let mut run = Run {
        model,
        plan,
        cfg,
        sched,
        grads,
        opt,
        best: None,
        report: TrainReport {
            epochs: Vec::new(),
            step_losses: Vec::new(),
            best_epoch: 0,
            best_score: f64::NEG_INFINITY,
            steps: 0,
            train_seconds: 0.0,
            cache_seconds: 0.0,
            examples_per_second: 0.0,
        },
        pos: Position::START,
    };
    if plan.is_frozen() || sched.total_steps == 0 {
        return Ok(run.report);
    }
    let t0 = Instant::now();
    objective.prepare(run.model, control.prefix.as_deref_mut())?;
    run.report.cache_seconds = t0.elapsed().as_secs_f64();
    let total_examples = sched.total_steps * objective.examples_per_step();
    let mut progress = Progress::new(total_examples, &objective.label(), cfg.quiet);
    let start = Instant::now();
    if let Some(st) = control.resume.take() {
        run.resume(st, objective)?;
        progress.update(run.pos.examples, None);
    }
    while run.pos.epoch <= sched.epochs {
        while run.pos.epoch_steps < sched.steps_per_epoch && run.pos.step < sched.total_steps {
            if run.stop_requested(control) {
                if let Some(save) = control.save.as_mut() {
                    save(&run.state(run.pos))?;
                }
                progress.finish();
                return Err(Error::interrupted(format!(
                    "training interrupted before step {} of {}",
                    run.pos.step + 1,
                    sched.total_steps
                )));
            }
            let loss = run.step(objective)?;
            progress.update(run.pos.examples, Some(loss));
        }
        run.end_epoch(objective, &progress, on_epoch, control)?;
    }
    progress.finish();
    run.report.steps = run.pos.step;
    run.report.train_seconds = start.elapsed().as_secs_f64();
    run.report.examples_per_second = run.pos.examples as f64 / run.report.train_seconds.max(1e-9);
    run.restore_best();
    Ok(run.report)
}

/// Copies of the tensors `plan` trains (heads included).
pub(crate) fn trained_tensors(model: &MultiTaskModel, plan: &Plan) -> ParamStore {
    let c = model.config();
    let mut s = ParamStore::default();
    for name in plan.trainable_names(c.hidden_size, c.intermediate_size) {
        s.insert(name.clone(), model.params().get(&name).clone());
    }
    s
}
