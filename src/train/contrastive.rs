//! The contrastive method (SetFit-style few-shot training), in two stages.
//!
//! 1. **Tune the encoder on pairs.** The encoder layers of the plan train on
//!    pair batches of both tasks ([`super::pairs`]), one batch of each per
//!    step through the same synchronous loop as classification
//!    ([`super::trainer::run_loop`]), under a pair loss
//!    ([`super::pair_loss`]). The heads do not train. The frozen prefix is
//!    cached, so only the trainable layers run per step. After each epoch
//!    the embeddings are scored by a nearest-class-centroid classifier on
//!    the validation sets, and the best epoch's layers are kept.
//! 2. **Fit the heads** on the tuned, frozen, L2-normalised embeddings:
//!    a logistic regression per task ([`super::logreg`]: its weights become
//!    the head), or the classification loop with only the heads training.
//!
//! The result is an ordinary multi-task model (tuned layers, two heads,
//! `normalize` on): checkpoints, `eval`, `predict` and `inspect` take it as
//! they take a classification run.

use super::grads::Grads;
use super::logreg::LogReg;
use super::metrics::Metrics;
use super::multitask::{EncoderInput, Mode, MultiTaskModel};
use super::order::step_rng;
use super::pair_loss::PairLoss;
use super::pairs::PairBatchOrder;
use super::plan::Plan;
use super::prefix::{PrefixStore, TaskStates};
use super::split::{examples_per_step, steps_per_epoch, Split, TaskData};
use super::task::Task;
use super::trainer::{
    run_loop, train_with, Control, EpochHook, Objective, TrainConfig, TrainReport,
};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::time::Instant;

/// How stage 2 fits the heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadFit {
    /// Logistic regression on the normalised embeddings (L2, λ = 1/n).
    LogReg,
    /// The classification loop, heads only (`TrainConfig`'s epochs and `lr_heads`).
    Train,
}

impl HeadFit {
    /// `logreg` or `train`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "logreg" => Ok(HeadFit::LogReg),
            "train" => Ok(HeadFit::Train),
            other => Err(Error::msg(format!(
                "unknown head fit {other:?} (expected logreg or train)"
            ))),
        }
    }
    /// The name [`HeadFit::parse`] takes.
    pub fn name(self) -> &'static str {
        match self {
            HeadFit::LogReg => "logreg",
            HeadFit::Train => "train",
        }
    }
}

/// The settings of the contrastive method (stage 1, and how stage 2 fits).
#[derive(Clone, Debug, PartialEq)]
pub struct ContrastiveConfig {
    /// The pair loss.
    pub loss: PairLoss,
    /// Pairs per example per epoch (`R`), half positive, half negative.
    pub pairs_per_example: usize,
    /// Stage-1 epochs (passes over the larger task's sample).
    pub epochs: usize,
    /// Stage-1 peak learning rate of the encoder layers.
    pub lr: f32,
    /// Examples per task per stage-1 step.
    pub batch_size: usize,
    /// Stage 2.
    pub head_fit: HeadFit,
}

impl Default for ContrastiveConfig {
    fn default() -> Self {
        ContrastiveConfig {
            loss: PairLoss::Cosine,
            pairs_per_example: 20,
            epochs: 10,
            lr: 5e-5,
            batch_size: 16,
            head_fit: HeadFit::LogReg,
        }
    }
}

impl ContrastiveConfig {
    /// The settings as JSON (checkpoints, study settings).
    pub fn to_json(&self) -> Value {
        let temperature = match self.loss {
            PairLoss::SupCon { temperature } => Some(temperature),
            PairLoss::Cosine => None,
        };
        json!({"loss": self.loss.name(), "temperature": temperature,
               "pairs_per_example": self.pairs_per_example, "epochs": self.epochs,
               "lr": self.lr, "batch_size": self.batch_size, "head_fit": self.head_fit.name()})
    }
}

/// Stage 1's loop settings: the run's, with the contrastive epochs,
/// batch size and learning rate, and a plan without heads.
fn stage1(
    cfg: &TrainConfig,
    c: &ContrastiveConfig,
    num_layers: usize,
) -> Result<(Plan, TrainConfig)> {
    let base = Plan::parse(&cfg.plan, num_layers)?;
    if base.layers().is_empty() {
        return Err(Error::msg(format!(
            "the contrastive method tunes encoder layers; plan {base} trains none (use last1, last2 or all)"
        )));
    }
    if c.batch_size < 2 || c.pairs_per_example == 0 {
        return Err(Error::msg(
            "the contrastive method needs a batch of at least 2 and at least 1 pair per example",
        ));
    }
    let plan = Plan::new(num_layers, base.layers().iter().copied(), false, false)?;
    let loop_cfg = TrainConfig {
        plan: plan.to_string(),
        epochs: c.epochs,
        batch_size: c.batch_size,
        lr_encoder: c.lr,
        lr_heads: 0.0,
        ..cfg.clone()
    };
    Ok((plan, loop_cfg))
}

/// Stage 1: tune the encoder layers of `cfg.plan` on pairs of both tasks'
/// training samples; the model keeps the best epoch's layers (by
/// validation centroid macro-F1). Resumable through `control`.
pub fn tune(
    model: &mut MultiTaskModel,
    data: &[TaskData; 2],
    cfg: &TrainConfig,
    c: &ContrastiveConfig,
    control: &mut Control<'_>,
) -> Result<TrainReport> {
    let (plan, loop_cfg) = stage1(cfg, c, model.config().num_layers)?;
    let mut objective = Contrastive::new(data, &loop_cfg, c, &plan)?;
    run_loop(
        model,
        &plan,
        &loop_cfg,
        &mut objective,
        &mut |_, _, _, _| Ok(()),
        control,
    )
}

/// Stage 2: fit both heads on the model's (tuned, frozen) normalised
/// embeddings; the model is left with `normalize` on. Returns the seconds
/// spent. `on_epoch` sees the epochs of [`HeadFit::Train`].
pub fn fit_heads(
    model: &mut MultiTaskModel,
    data: &[TaskData; 2],
    cfg: &TrainConfig,
    c: &ContrastiveConfig,
    on_epoch: &mut EpochHook<'_>,
) -> Result<f64> {
    let t0 = Instant::now();
    match c.head_fit {
        HeadFit::LogReg => {
            *model = model.clone().with_normalize(true);
            for t in Task::ALL {
                let split = &data[t.index()].train;
                let x = embed_split(model, split, None)?;
                let classes = model.spec(t).classes.len();
                let lr = LogReg::fit(&x, &split.labels, model.config().hidden_size, classes, 300);
                let p = t.head_prefix();
                let params = model.params_mut();
                params.get_mut(&format!("{p}.weight")).expect("head").data = lr.weight;
                params.get_mut(&format!("{p}.bias")).expect("head").data = lr.bias;
            }
            model.refresh_all_heads();
        }
        HeadFit::Train => {
            let heads = TrainConfig {
                plan: "heads".into(),
                normalize: true,
                ..cfg.clone()
            };
            // No shared prefix store: the tuned layers' states are this run's alone.
            train_with(model, data, &heads, on_epoch, &mut Control::default())?;
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// Both stages; the report is stage 1's, its `train_seconds` including
/// stage 2.
pub fn train_two_stage(
    model: &mut MultiTaskModel,
    data: &[TaskData; 2],
    cfg: &TrainConfig,
    c: &ContrastiveConfig,
    on_epoch: &mut EpochHook<'_>,
    control: &mut Control<'_>,
) -> Result<TrainReport> {
    let mut report = tune(model, data, cfg, c, control)?;
    report.train_seconds += fit_heads(model, data, cfg, c, on_epoch)?;
    Ok(report)
}

/// L2-normalised embeddings `[examples, hidden]` of `split` (evaluation
/// mode); with `states = (per-example states, layer)` only the layers from
/// `layer` up run.
pub fn embed_split(
    model: &MultiTaskModel,
    split: &Split,
    states: Option<(&[Vec<f32>], usize)>,
) -> Result<Vec<f32>> {
    let h = model.config().hidden_size;
    let mut order: Vec<usize> = (0..split.len()).collect();
    order.sort_by_key(|&i| split.tokens[i].len());
    let mut out = vec![0.0f32; split.len() * h];
    for chunk in order.chunks(64) {
        let batch = split.batch(chunk, model.config())?;
        let z = match states {
            Some((c, layer)) => {
                let s: Vec<f32> = chunk.iter().flat_map(|&i| c[i].iter().copied()).collect();
                model.embed_input(EncoderInput::Hidden {
                    batch: &batch,
                    states: &s,
                    layer,
                })
            }
            None => model.embed_input(EncoderInput::Tokens(&batch)),
        };
        for (&i, row) in chunk.iter().zip(z.chunks(h)) {
            out[i * h..(i + 1) * h].copy_from_slice(row);
        }
    }
    Ok(out)
}

/// Macro-F1 on `val` of the nearest class centroid of `train` (cosine on
/// normalised embeddings): how well the embeddings separate the classes,
/// without fitting a head.
fn centroid_macro_f1(
    train: (&[f32], &[usize]),
    val: (&[f32], &[usize]),
    dim: usize,
    classes: &[String],
) -> f64 {
    let k = classes.len();
    let mut centroids = vec![0.0f64; k * dim];
    for (x, &y) in train.0.chunks(dim).zip(train.1) {
        for (c, &v) in centroids[y * dim..(y + 1) * dim].iter_mut().zip(x) {
            *c += v as f64;
        }
    }
    let pred: Vec<usize> = val
        .0
        .chunks(dim)
        .map(|x| {
            let score = |c: usize| -> f64 {
                let m = &centroids[c * dim..(c + 1) * dim];
                let norm = m.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                m.iter().zip(x).map(|(a, &b)| a * b as f64).sum::<f64>() / norm
            };
            (0..k).fold(0, |best, c| if score(c) > score(best) { c } else { best })
        })
        .collect();
    Metrics::compute(classes, val.1, &pred).macro_f1
}

/// Stage 1's objective: a pair loss on one pair batch of each task per step.
pub struct Contrastive<'a> {
    data: &'a [TaskData; 2],
    cfg: &'a TrainConfig,
    c: &'a ContrastiveConfig,
    plan: Plan,
    orders: [PairBatchOrder; 2],
    states: TaskStates,
}

impl<'a> Contrastive<'a> {
    /// The objective over `data`, with `cfg`'s batch size, dropout and seed.
    pub fn new(
        data: &'a [TaskData; 2],
        cfg: &'a TrainConfig,
        c: &'a ContrastiveConfig,
        plan: &Plan,
    ) -> Result<Self> {
        for t in Task::ALL {
            if data[t.index()].train.len() < 2 {
                return Err(Error::msg(format!(
                    "task {t}: the contrastive method needs at least 2 training examples"
                )));
            }
        }
        Ok(Contrastive {
            data,
            cfg,
            c,
            plan: plan.clone(),
            orders: [
                PairBatchOrder::new(cfg.seed, Task::A),
                PairBatchOrder::new(cfg.seed, Task::B),
            ],
            states: TaskStates::default(),
        })
    }

    fn states_of<'s>(
        &self,
        which: &'s [Option<Vec<Vec<f32>>>; 2],
        t: Task,
    ) -> Option<(&'s [Vec<f32>], usize)> {
        which[t.index()]
            .as_deref()
            .map(|s| (s, self.plan.first_layer()))
    }
}

impl Objective for Contrastive<'_> {
    fn steps_per_epoch(&self) -> usize {
        steps_per_epoch(self.data, self.cfg.batch_size)
    }

    fn examples_per_step(&self) -> usize {
        examples_per_step(self.data, self.cfg.batch_size)
    }

    fn label(&self) -> String {
        format!("tune {} ({})", self.plan, self.c.loss.name())
    }

    fn prepare(&mut self, model: &MultiTaskModel, store: Option<&mut PrefixStore>) -> Result<()> {
        self.states =
            TaskStates::compute(model, &self.plan, self.data, store, self.cfg.cache_prefix)?;
        Ok(())
    }

    fn skip_step(&mut self) {
        for t in Task::ALL {
            let labels = &self.data[t.index()].train.labels;
            self.orders[t.index()].next(labels, self.cfg.batch_size, self.c.pairs_per_example);
        }
    }

    fn step(
        &mut self,
        model: &MultiTaskModel,
        step: usize,
        grads: &mut Grads,
    ) -> Result<(f64, usize)> {
        let rng = &mut step_rng(self.cfg.seed, step);
        let mode = if self.cfg.dropout {
            Mode::Train
        } else {
            Mode::Eval
        };
        let (mut loss, mut examples) = (0.0, 0);
        for t in Task::ALL {
            let split = &self.data[t.index()].train;
            let pb = self.orders[t.index()].next(
                &split.labels,
                self.cfg.batch_size,
                self.c.pairs_per_example,
            );
            examples += pb.examples.len();
            let batch = split.batch(&pb.examples, model.config())?;
            let labels: Vec<usize> = pb.examples.iter().map(|&i| split.labels[i]).collect();
            let states = self.states.gather(t, &pb.examples);
            let input = match &states {
                Some(s) => EncoderInput::Hidden {
                    batch: &batch,
                    states: s,
                    layer: self.plan.first_layer(),
                },
                None => EncoderInput::Tokens(&batch),
            };
            loss += model.pair_loss_and_grads(
                input,
                &labels,
                &pb.pairs,
                self.c.loss,
                1.0,
                &self.plan,
                mode,
                rng,
                grads,
            )?;
        }
        Ok((loss, examples))
    }

    fn validate(&mut self, model: &MultiTaskModel) -> Result<[f64; 2]> {
        let h = model.config().hidden_size;
        let mut val = [0.0; 2];
        for t in Task::ALL {
            let d = &self.data[t.index()];
            if d.validation.is_empty() {
                continue;
            }
            let train = embed_split(model, &d.train, self.states_of(&self.states.train, t))?;
            let v = embed_split(
                model,
                &d.validation,
                self.states_of(&self.states.validation, t),
            )?;
            val[t.index()] = centroid_macro_f1(
                (&train, &d.train.labels),
                (&v, &d.validation.labels),
                h,
                &model.spec(t).classes,
            );
        }
        Ok(val)
    }

    fn score_name(&self) -> &'static str {
        "val centroid macro-F1"
    }
}
