//! One experiment end to end: read the labelled files, draw the few-shot
//! training sets and the validation sets, train, and evaluate on the data
//! seen in training, the unseen test splits and the out-of-domain sets.
//! `minilm train` and `minilm study` are thin layers over this.

use super::contrastive::{train_two_stage, ContrastiveConfig};
use super::data::{self, Dataset, ReadOptions};
use super::metrics::Metrics;
use super::multitask::MultiTaskModel;
use super::plan::Plan;
use super::predict::predict_classes;
use super::prefix::PrefixStore;
use super::sampler::{holdout, sample_k_per_class_report, Holdout};
use super::split::{Split, TaskData};
use super::task::{HeadSpec, Task};
use super::trainer::{train_with, Control, EpochHook, TrainConfig, TrainReport};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::model::heads::Head;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where one task's data lives and how to read it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFiles {
    /// The task's name (`topic`, `sentiment`).
    pub name: String,
    /// Training pool (the K-shot sample and, without `validation`, the
    /// validation hold-out come from here).
    pub train: PathBuf,
    /// Validation pool; drawn from `train` when absent.
    pub validation: Option<PathBuf>,
    /// Test split (unseen data).
    pub test: Option<PathBuf>,
    /// Out-of-domain evaluation sets, scored with this task's head.
    pub out_of_domain: Vec<PathBuf>,
}

/// How the model learns from the labelled examples.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// Cross-entropy through the heads, the plan's layers training with them.
    Classify,
    /// Contrastive tuning of the plan's layers on pairs, then the heads
    /// fitted on the tuned embeddings ([`super::contrastive`]).
    Contrastive(ContrastiveConfig),
}

/// `minilm train`'s method when none is given: the contrastive method (with
/// logistic-regression heads) on plan `all`, the best of the study at 16
/// shots per class (docs/results.md, docs/training.md).
impl Default for Method {
    fn default() -> Self {
        Method::Contrastive(ContrastiveConfig::default())
    }
}

impl Method {
    /// The plan a run of this method uses when none is given: `all` for the
    /// contrastive method (the study's best at 16 shots), the original
    /// recipe's `last2` for classification.
    pub fn default_plan(&self) -> &'static str {
        match self {
            Method::Classify => super::plan::DEFAULT_PLAN,
            Method::Contrastive(_) => "all",
        }
    }

    /// `classify` or `contrastive`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Classify => "classify",
            Method::Contrastive(_) => "contrastive",
        }
    }
    /// The method and its settings as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Method::Classify => json!({"name": "classify"}),
            Method::Contrastive(c) => json!({"name": "contrastive", "contrastive": c.to_json()}),
        }
    }
}

/// The whole experiment's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentConfig {
    /// Task A's and task B's files.
    pub tasks: [TaskFiles; 2],
    /// Training examples per class (`None`: all of them).
    pub shots: Option<usize>,
    /// Validation examples per class (at most).
    pub val_per_class: usize,
    /// Text and label field names of the input files.
    pub text_field: String,
    /// See `text_field`.
    pub label_field: String,
    /// The training loop's settings (its seed also draws the samples).
    pub train: TrainConfig,
    /// Classification or the contrastive method.
    pub method: Method,
    /// Also score the training sample itself (`seen`); the study, which
    /// reports unseen data only, turns it off.
    pub evaluate_seen: bool,
}

impl ExperimentConfig {
    /// The default experiment on the fetched data (data/fetch.sh): R8 topics
    /// and Rotten Tomatoes sentiment, 16 shots per class, UCI sentences as
    /// out-of-domain sentiment, trained by [`Method::default`] on its
    /// [`Method::default_plan`].
    pub fn default_in(data_dir: &Path) -> Self {
        let p = |f: &str| data_dir.join(f);
        ExperimentConfig {
            tasks: [
                TaskFiles {
                    name: "topic".into(),
                    train: p("r8-train.jsonl"),
                    validation: None,
                    test: Some(p("r8-test.jsonl")),
                    out_of_domain: vec![],
                },
                TaskFiles {
                    name: "sentiment".into(),
                    train: p("rt-train.jsonl"),
                    validation: Some(p("rt-validation.jsonl")),
                    test: Some(p("rt-test.jsonl")),
                    out_of_domain: vec![p("amazon.jsonl"), p("imdb.jsonl"), p("yelp.jsonl")],
                },
            ],
            shots: Some(16),
            val_per_class: 16,
            text_field: "text".into(),
            label_field: "label".into(),
            train: TrainConfig {
                plan: Method::default().default_plan().to_string(),
                ..TrainConfig::default()
            },
            method: Method::default(),
            evaluate_seen: true,
        }
    }
}

/// One evaluation: which set, which task, its metrics.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// `seen`, `test` or the out-of-domain file's stem (e.g. `amazon`).
    pub set: String,
    /// Which head.
    pub task: Task,
    /// Its metrics.
    pub metrics: Metrics,
}

/// Everything an experiment produced.
pub struct Outcome {
    /// The trained model (best validation state).
    pub model: MultiTaskModel,
    /// The training run.
    pub report: TrainReport,
    /// Seen / test / out-of-domain metrics.
    pub evaluations: Vec<Evaluation>,
    /// Training examples per task.
    pub train_sizes: [usize; 2],
    /// Seconds spent evaluating.
    pub eval_seconds: f64,
}

impl Outcome {
    /// The metrics of `set` under `task`, if evaluated.
    pub fn get(&self, set: &str, task: Task) -> Option<&Metrics> {
        self.evaluations
            .iter()
            .find(|e| e.set == set && e.task == task)
            .map(|e| &e.metrics)
    }

    /// Metrics and timings as JSON.
    pub fn to_json(&self) -> Value {
        let evals: Vec<Value> = self
            .evaluations
            .iter()
            .map(|e| json!({"set": e.set, "task": self.model.spec(e.task).name, "metrics": e.metrics.to_json()}))
            .collect();
        let epochs: Vec<Value> = self
            .report
            .epochs
            .iter()
            .map(|e| json!({"epoch": e.epoch, "train_loss": e.train_loss, "val_macro_f1": e.val_macro_f1, "score": e.score}))
            .collect();
        json!({
            "train_sizes": self.train_sizes,
            "best_epoch": self.report.best_epoch,
            "best_validation_score": self.report.best_score,
            "steps": self.report.steps,
            "train_seconds": self.report.train_seconds,
            "cache_seconds": self.report.cache_seconds,
            "examples_per_second": self.report.examples_per_second,
            "eval_seconds": self.eval_seconds,
            "epochs": epochs,
            "evaluations": evals,
        })
    }
}

/// The data of one task, read, sampled and tokenized.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The task's name and classes (sorted label names of the training pool).
    pub spec: HeadSpec,
    /// Training sample and validation set.
    pub data: TaskData,
    /// The training sample again (evaluated as "seen" data).
    pub seen: Split,
    /// The test split, if any.
    pub test: Option<Split>,
    /// Out-of-domain sets by file stem.
    pub ood: Vec<(String, Split)>,
}

fn read(path: &Path, cfg: &ExperimentConfig, labels: Option<&[String]>) -> Result<Dataset> {
    let mut opts = ReadOptions::default().fields(&cfg.text_field, &cfg.label_field);
    if let Some(l) = labels {
        opts = opts.labels(l);
    }
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        opts = opts.skip_trailing_empty(true);
    }
    if !path.exists() {
        return Err(Error::file(
            path,
            "data file not found (run data/fetch.sh, or pass your own files)",
        ));
    }
    data::read(path, &opts)
}

fn split(encoder: &Encoder, ds: &Dataset, classes: &[String]) -> Result<Split> {
    let texts: Vec<&str> = ds.examples.iter().map(|e| e.text.as_str()).collect();
    Split::new(encoder.tokenizer(), &texts, ds.label_indices(classes)?)
}

/// Read, sample and tokenize task `t`'s data as `cfg` says.
pub fn prepare(
    encoder: &Encoder,
    cfg: &ExperimentConfig,
    t: Task,
    log: &mut dyn FnMut(&str),
) -> Result<Prepared> {
    let files = &cfg.tasks[t.index()];
    let pool = read(&files.train, cfg, None)?;
    let classes = pool.labels.clone();
    if classes.len() < 2 {
        return Err(Error::file(
            &files.train,
            format!("needs at least two labels, found {}", classes.len()),
        ));
    }
    let seed = cfg.train.seed;
    let (pool, val) = match &files.validation {
        Some(v) => {
            let vds = read(v, cfg, Some(&classes))?;
            (
                pool,
                sample_k_per_class_report(&vds, Some(cfg.val_per_class), seed ^ 0x5eed).0,
            )
        }
        None => holdout(&pool, Holdout::PerClass(cfg.val_per_class), seed ^ 0x5eed)?,
    };
    let (train_ds, short) = sample_k_per_class_report(&pool, cfg.shots, seed);
    for s in short {
        log(&format!(
            "note: {} class {:?} has {} training examples, fewer than {} shots; using all",
            files.name, s.label, s.available, s.wanted
        ));
    }
    let test = match &files.test {
        Some(p) => Some(split(encoder, &read(p, cfg, Some(&classes))?, &classes)?),
        None => None,
    };
    let mut ood = Vec::new();
    for p in &files.out_of_domain {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        ood.push((
            stem,
            split(encoder, &read(p, cfg, Some(&classes))?, &classes)?,
        ));
    }
    let train_split = split(encoder, &train_ds, &classes)?;
    log(&format!(
        "{}: {} training examples, {} validation, {} test, {} out-of-domain",
        files.name,
        train_split.len(),
        val.len(),
        test.as_ref().map_or(0, Split::len),
        ood.iter().map(|(_, s)| s.len()).sum::<usize>()
    ));
    Ok(Prepared {
        spec: HeadSpec {
            name: files.name.clone(),
            classes: classes.clone(),
        },
        data: TaskData {
            train: train_split.clone(),
            validation: split(encoder, &val, &classes)?,
        },
        seen: train_split,
        test,
        ood,
    })
}

/// A fresh multi-task model on `encoder`'s weights, heads drawn from `seed`.
pub fn new_model(encoder: &Encoder, specs: [HeadSpec; 2], seed: u64) -> Result<MultiTaskModel> {
    let mut params = encoder.params().clone();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x4ead);
    for (t, spec) in Task::ALL.iter().zip(&specs) {
        let (w, b) = Head::init_params(spec.classes.len(), encoder.dim(), || rng.next_u64());
        params.insert(format!("{}.weight", t.head_prefix()), w);
        params.insert(format!("{}.bias", t.head_prefix()), b);
    }
    MultiTaskModel::new(&params, encoder.config(), specs)
}

/// Run one experiment; `on_epoch` sees every epoch (e.g. to checkpoint),
/// `log` receives progress lines.
pub fn run(
    encoder: &Encoder,
    cfg: &ExperimentConfig,
    on_epoch: &mut EpochHook<'_>,
    log: &mut dyn FnMut(&str),
) -> Result<Outcome> {
    let a = prepare(encoder, cfg, Task::A, log)?;
    let b = prepare(encoder, cfg, Task::B, log)?;
    run_prepared(encoder, cfg, [&a, &b], on_epoch, None)
}

/// As [`run`], resumable and stoppable through `control` (see
/// [`super::trainer::train_with`]).
pub fn run_with(
    encoder: &Encoder,
    cfg: &ExperimentConfig,
    on_epoch: &mut EpochHook<'_>,
    log: &mut dyn FnMut(&str),
    control: &mut Control<'_>,
) -> Result<Outcome> {
    let a = prepare(encoder, cfg, Task::A, log)?;
    let b = prepare(encoder, cfg, Task::B, log)?;
    run_prepared_with(encoder, cfg, [&a, &b], on_epoch, control)
}

/// Train and evaluate on already prepared data; with `prefix`, the
/// frozen-prefix states of training and evaluation come from a store shared
/// with other runs on the same base model.
pub fn run_prepared(
    encoder: &Encoder,
    cfg: &ExperimentConfig,
    data: [&Prepared; 2],
    on_epoch: &mut EpochHook<'_>,
    prefix: Option<&mut PrefixStore>,
) -> Result<Outcome> {
    let control = &mut Control {
        prefix,
        ..Control::default()
    };
    run_prepared_with(encoder, cfg, data, on_epoch, control)
}

/// As [`run_prepared`], with a [`Control`].
pub fn run_prepared_with(
    encoder: &Encoder,
    cfg: &ExperimentConfig,
    [a, b]: [&Prepared; 2],
    on_epoch: &mut EpochHook<'_>,
    control: &mut Control<'_>,
) -> Result<Outcome> {
    let mut model = new_model(encoder, [a.spec.clone(), b.spec.clone()], cfg.train.seed)?;
    let data = [a.data.clone(), b.data.clone()];
    let report = match &cfg.method {
        Method::Classify => train_with(&mut model, &data, &cfg.train, on_epoch, control)?,
        Method::Contrastive(c) => {
            train_two_stage(&mut model, &data, &cfg.train, c, on_epoch, control)?
        }
    };
    let prefix = control.prefix.as_deref_mut();
    let (evaluations, eval_seconds) = evaluate_model(&model, cfg, [a, b], prefix)?;
    Ok(Outcome {
        model,
        report,
        evaluations,
        train_sizes: [a.seen.len(), b.seen.len()],
        eval_seconds,
    })
}

/// Score a trained model on what `cfg` evaluates (seen, test and
/// out-of-domain sets); returns the evaluations and the seconds spent.
/// With `prefix`, the states below `cfg.train.plan`'s first layer come from
/// the shared store: the model's layers there must be the base model's.
pub fn evaluate_model(
    model: &MultiTaskModel,
    cfg: &ExperimentConfig,
    [a, b]: [&Prepared; 2],
    mut prefix: Option<&mut PrefixStore>,
) -> Result<(Vec<Evaluation>, f64)> {
    let t0 = Instant::now();
    let mut evaluations = Vec::new();
    let plan = Plan::parse(&cfg.train.plan, model.config().num_layers)?;
    let first = plan.first_layer();
    // Without a store, evaluation runs the whole encoder (a per-run cache
    // of a set scored once would not pay). With one, the states below the
    // plan's first layer are the base model's under either method.
    let mut score = |t: Task, split: &Split| -> Result<Metrics> {
        let classes = &model.spec(t).classes;
        let pred = match prefix.as_deref_mut() {
            Some(store) if first > 0 => {
                let states = store.states(model, &plan, split)?;
                predict_classes(model, split, t, Some((&states, first)))?
            }
            _ => predict_classes(model, split, t, None)?,
        };
        Metrics::try_compute(classes, &split.labels, &pred)
    };
    for (t, p) in [(Task::A, a), (Task::B, b)] {
        if cfg.evaluate_seen {
            evaluations.push(Evaluation {
                set: "seen".into(),
                task: t,
                metrics: score(t, &p.seen)?,
            });
        }
        if let Some(s) = &p.test {
            evaluations.push(Evaluation {
                set: "test".into(),
                task: t,
                metrics: score(t, s)?,
            });
        }
        for (name, s) in &p.ood {
            evaluations.push(Evaluation {
                set: name.clone(),
                task: t,
                metrics: score(t, s)?,
            });
        }
    }
    Ok((evaluations, t0.elapsed().as_secs_f64()))
}
