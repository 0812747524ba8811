//! The freezing study: which trainable surface generalises best from a few
//! labelled examples? Runs every (plan, shots, seed) of a grid, plus a
//! logistic-regression baseline on frozen embeddings, and writes the
//! aggregated results (Markdown, SVG plots, raw JSON).
//!
//! Each finished run is appended to the JSON file at once, and a study
//! started again with the same settings skips the runs already there, so a
//! long study can be stopped and resumed.

use super::contrastive::{fit_heads, tune, ContrastiveConfig, HeadFit};
use super::experiment::{
    evaluate_model, new_model, prepare, run_prepared, Evaluation, ExperimentConfig, Prepared,
};
use super::logreg::LogReg;
use super::metrics::Metrics;
use super::multitask::MultiTaskModel;
use super::prefix::PrefixStore;
use super::split::Split;
use super::task::Task;
use super::trainer::Control;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The name the baseline goes by in the tables.
pub const BASELINE: &str = "logreg";

/// What to run and where to write it.
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// The experiment every run starts from (data files, training settings).
    pub base: ExperimentConfig,
    /// Freezing plans to compare (classification method).
    pub plans: Vec<String>,
    /// Plans of the contrastive method: each gives two rows, one per way of
    /// fitting the heads (`contrastive-PLAN/heads`, `contrastive-PLAN/logreg`),
    /// sharing one stage-1 tuning per (shots, seed).
    pub contrastive_plans: Vec<String>,
    /// The contrastive method's settings (its `head_fit` is ignored: both run).
    pub contrastive: ContrastiveConfig,
    /// Shots per class (`None`: all the training data).
    pub shots: Vec<Option<usize>>,
    /// Seeds (each draws its own sample, heads, shuffling and dropout).
    pub seeds: Vec<u64>,
    /// Also fit the logistic-regression baseline.
    pub baseline: bool,
    /// Epochs when training on all the data (few-shot runs use `base`'s).
    pub full_epochs: usize,
    /// Markdown report.
    pub markdown: PathBuf,
    /// Raw results (one object per run), also the resume state.
    pub json: PathBuf,
    /// Folder of the SVG plots.
    pub plots: PathBuf,
}

/// One finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Plan name, or [`BASELINE`].
    pub plan: String,
    /// Shots per class (`None`: all).
    pub shots: Option<usize>,
    /// Seed.
    pub seed: u64,
    /// Test accuracy of task A and B.
    pub test_accuracy: [f64; 2],
    /// Test macro-F1 of task A and B.
    pub test_macro_f1: [f64; 2],
    /// Accuracy on each out-of-domain set (task B), by set name.
    pub ood_accuracy: BTreeMap<String, f64>,
    /// Seconds of training (and, for the baseline, fitting).
    pub train_seconds: f64,
}

impl RunResult {
    fn key(&self) -> (String, Option<usize>, u64) {
        (self.plan.clone(), self.shots, self.seed)
    }
    fn to_json(&self) -> Value {
        json!({"plan": self.plan, "shots": self.shots, "seed": self.seed, "test_accuracy": self.test_accuracy,
               "test_macro_f1": self.test_macro_f1, "ood_accuracy": self.ood_accuracy, "train_seconds": self.train_seconds})
    }
    fn from_json(v: &Value) -> Option<Self> {
        let pair = |k: &str| -> Option<[f64; 2]> {
            let a = v.get(k)?.as_array()?;
            Some([a.first()?.as_f64()?, a.get(1)?.as_f64()?])
        };
        Some(RunResult {
            plan: v.get("plan")?.as_str()?.to_string(),
            shots: v.get("shots").and_then(Value::as_u64).map(|k| k as usize),
            seed: v.get("seed")?.as_u64()?,
            test_accuracy: pair("test_accuracy")?,
            test_macro_f1: pair("test_macro_f1")?,
            ood_accuracy: v
                .get("ood_accuracy")?
                .as_object()?
                .iter()
                .filter_map(|(k, x)| Some((k.clone(), x.as_f64()?)))
                .collect(),
            train_seconds: v.get("train_seconds")?.as_f64()?,
        })
    }
}

fn settings_json(cfg: &StudyConfig) -> Value {
    let mut v = classify_settings_json(cfg);
    if !cfg.contrastive_plans.is_empty() {
        v["contrastive"] = cfg.contrastive.to_json();
    }
    v
}

/// The settings every row shares (all a study without contrastive rows records).
fn classify_settings_json(cfg: &StudyConfig) -> Value {
    json!({"train": cfg.base.train.to_json(), "val_per_class": cfg.base.val_per_class, "full_epochs": cfg.full_epochs,
           "tasks": cfg.base.tasks.iter().map(|t| json!({"name": t.name, "train": t.train, "validation": t.validation,
                    "test": t.test, "ood": t.out_of_domain})).collect::<Vec<_>>()})
}

/// Run the study (skipping runs already in `cfg.json` with the same
/// settings), then write the report. Returns every run's result.
pub fn run(
    encoder: &Encoder,
    cfg: &StudyConfig,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<RunResult>> {
    let settings = settings_json(cfg);
    let mut done = load_runs(cfg)?;
    let names = plan_names(cfg);
    let total = planned_runs(cfg);
    let mut features: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    // Frozen-prefix states of every text any run has met, shared by all runs.
    let mut prefix = PrefixStore::default();
    let mut count = 0;
    for &shots in &cfg.shots {
        for &seed in &cfg.seeds {
            let mut exp = cfg.base.clone();
            exp.shots = shots;
            exp.train.seed = seed;
            exp.train.quiet = true;
            exp.train.epochs = epochs_for(cfg, shots);
            exp.evaluate_seen = false;
            let mut prepared: Option<[Prepared; 2]> = None;
            // Stage-1 tuned models of this (shots, seed), by plan, with their seconds.
            let mut tuned: BTreeMap<String, (MultiTaskModel, f64)> = BTreeMap::new();
            for name in names.iter().filter(|n| is_planned(cfg, n, shots)) {
                count += 1;
                if done.iter().any(|r| r.key() == (name.clone(), shots, seed)) {
                    continue;
                }
                if prepared.is_none() {
                    let mut quiet = |_: &str| {};
                    prepared = Some([
                        prepare(encoder, &exp, Task::A, &mut quiet)?,
                        prepare(encoder, &exp, Task::B, &mut quiet)?,
                    ]);
                }
                let p = prepared.as_ref().expect("prepared above");
                let t0 = Instant::now();
                let result = if name == BASELINE {
                    baseline(encoder, p, &mut features, shots, seed)?
                } else if let Some((plan, fit)) = parse_contrastive_row(cfg, name) {
                    let tuned = match tuned.entry(plan.clone()) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => {
                            v.insert(stage1(encoder, cfg, &exp, p, &plan, &mut prefix)?)
                        }
                    };
                    let (model, stage1_seconds) = (&tuned.0, tuned.1);
                    let mut m = model.clone();
                    let c = ContrastiveConfig {
                        head_fit: fit,
                        ..contrastive_for(cfg, shots)
                    };
                    let data = [p[0].data.clone(), p[1].data.clone()];
                    let s2 = fit_heads(&mut m, &data, &exp.train, &c, &mut |_, _, _, _| Ok(()))?;
                    let mut e = exp.clone();
                    e.train.plan = plan.clone();
                    let (evals, _) = evaluate_model(&m, &e, [&p[0], &p[1]], Some(&mut prefix))?;
                    row_result(name, shots, seed, p, &evals, stage1_seconds + s2)
                } else {
                    let mut e = exp.clone();
                    e.train.plan = name.clone();
                    let o = run_prepared(
                        encoder,
                        &e,
                        [&p[0], &p[1]],
                        &mut |_, _, _, _| Ok(()),
                        Some(&mut prefix),
                    )?;
                    row_result(
                        name,
                        shots,
                        seed,
                        p,
                        &o.evaluations,
                        o.report.train_seconds + o.report.cache_seconds,
                    )
                };
                log(&format!(
                    "[{count}/{total}] {name:<7} shots {:<4} seed {seed}: {} test macro-F1 {:.4}, {} test accuracy {:.4} ({:.0} s)",
                    shots.map_or("all".to_string(), |k| k.to_string()),
                    p[0].spec.name,
                    result.test_macro_f1[0],
                    p[1].spec.name,
                    result.test_accuracy[1],
                    t0.elapsed().as_secs_f64()
                ));
                done.push(result);
                let state = json!({"settings": settings, "runs": done.iter().map(RunResult::to_json).collect::<Vec<_>>()});
                crate::atomic::write_file(
                    &cfg.json,
                    serde_json::to_string_pretty(&state)
                        .expect("JSON")
                        .as_bytes(),
                )?;
            }
        }
    }
    super::study_report::write_report(cfg, &done)?;
    Ok(done)
}

/// The study's result of a trained model's evaluations.
fn row_result(
    name: &str,
    shots: Option<usize>,
    seed: u64,
    p: &[Prepared; 2],
    evals: &[Evaluation],
    train_seconds: f64,
) -> RunResult {
    let get = |set: &str, t: Task| {
        evals
            .iter()
            .find(|e| e.set == set && e.task == t)
            .map(|e| e.metrics.clone())
    };
    let test = |t: Task| get("test", t).unwrap_or_else(|| Metrics::compute(&[], &[], &[]));
    RunResult {
        plan: name.to_string(),
        shots,
        seed,
        test_accuracy: [test(Task::A).accuracy, test(Task::B).accuracy],
        test_macro_f1: [test(Task::A).macro_f1, test(Task::B).macro_f1],
        ood_accuracy: p[1]
            .ood
            .iter()
            .filter_map(|(n, _)| Some((n.clone(), get(n, Task::B)?.accuracy)))
            .collect(),
        train_seconds,
    }
}

/// The (plan, head fit) of a contrastive row of this study.
fn parse_contrastive_row(cfg: &StudyConfig, name: &str) -> Option<(String, HeadFit)> {
    cfg.contrastive_plans.iter().find_map(|p| {
        CONTRASTIVE_FITS
            .into_iter()
            .find(|&f| contrastive_row(p, f) == name)
            .map(|f| (p.clone(), f))
    })
}

/// The contrastive settings at `shots`: stage-1 epochs scaled above 16
/// shots as the classification epochs are ([`epochs_for`]).
fn contrastive_for(cfg: &StudyConfig, shots: Option<usize>) -> ContrastiveConfig {
    let e = cfg.contrastive.epochs;
    ContrastiveConfig {
        epochs: match shots {
            Some(k) if k > 16 => (e * 16).div_ceil(k).max(1),
            None => cfg.full_epochs,
            Some(_) => e,
        },
        ..cfg.contrastive.clone()
    }
}

/// Stage 1 of the contrastive method on `plan` for one (shots, seed): a
/// fresh model (heads drawn from the seed) with its layers tuned, and the
/// seconds it took (prefix states from the shared store included).
fn stage1(
    encoder: &Encoder,
    cfg: &StudyConfig,
    exp: &ExperimentConfig,
    p: &[Prepared; 2],
    plan: &str,
    prefix: &mut PrefixStore,
) -> Result<(MultiTaskModel, f64)> {
    let mut model = new_model(
        encoder,
        [p[0].spec.clone(), p[1].spec.clone()],
        exp.train.seed,
    )?;
    let mut train = exp.train.clone();
    train.plan = plan.to_string();
    let data = [p[0].data.clone(), p[1].data.clone()];
    let control = &mut Control {
        prefix: Some(prefix),
        ..Control::default()
    };
    let shots = exp.shots;
    let r = tune(
        &mut model,
        &data,
        &train,
        &contrastive_for(cfg, shots),
        control,
    )?;
    Ok((model, r.train_seconds + r.cache_seconds))
}

/// The finished runs in `cfg.json`, if it was written with the same settings.
fn load_runs(cfg: &StudyConfig) -> Result<Vec<RunResult>> {
    let settings = settings_json(cfg);
    let done: Vec<RunResult> = match std::fs::read_to_string(&cfg.json) {
        Ok(text) => {
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| Error::file(&cfg.json, format!("invalid JSON: {e}")))?;
            // Runs saved before the contrastive rows were added keep their
            // settings (those rows' settings are then added on the next save).
            let stored = v.get("settings");
            let older = stored.is_some_and(|s| s.get("contrastive").is_none())
                && stored == Some(&classify_settings_json(cfg));
            if stored == Some(&settings) || older {
                v.get("runs")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(RunResult::from_json).collect())
                    .unwrap_or_default()
            } else {
                // Never overwrite finished runs made with other settings.
                return Err(Error::file(
                    &cfg.json,
                    "holds runs made with other settings (training options, data files, \
                     validation size or --full-epochs); use those settings to resume it, or \
                     --results (and --report, --plots) to start another study elsewhere",
                ));
            }
        }
        Err(_) => Vec::new(),
    };
    Ok(done)
}

/// Write the report from the runs finished so far, without running any.
pub fn report_only(cfg: &StudyConfig) -> Result<Vec<RunResult>> {
    let done = load_runs(cfg)?;
    super::study_report::write_report(cfg, &done)?;
    Ok(done)
}

/// Logistic regression on the frozen, normalised sentence embeddings of the
/// same K-shot sample. Embeddings of the evaluation sets are computed once.
fn baseline(
    encoder: &Encoder,
    p: &[Prepared; 2],
    features: &mut BTreeMap<String, Vec<f32>>,
    shots: Option<usize>,
    seed: u64,
) -> Result<RunResult> {
    let mut fit_seconds = 0.0;
    let dim = encoder.dim();
    let embed = |s: &Split| -> Result<Vec<f32>> { Ok(encoder.embed_tokens(&s.tokens)?.concat()) };
    let mut fetch = |key: String, s: &Split| -> Result<Vec<f32>> {
        if let Some(f) = features.get(&key) {
            return Ok(f.clone());
        }
        let f = embed(s)?;
        features.insert(key, f.clone());
        Ok(f)
    };
    let mut acc = [0.0; 2];
    let mut f1 = [0.0; 2];
    let mut ood = BTreeMap::new();
    for t in Task::ALL {
        let pt = &p[t.index()];
        let classes = &pt.spec.classes;
        // Timed: embedding the training sample and fitting (the evaluation
        // sets' embeddings are computed once per study and shared).
        let t0 = Instant::now();
        let model = LogReg::fit(&embed(&pt.seen)?, &pt.seen.labels, dim, classes.len(), 300);
        fit_seconds += t0.elapsed().as_secs_f64();
        if let Some(test) = &pt.test {
            let m = Metrics::compute(
                classes,
                &test.labels,
                &model.predict(&fetch(format!("{t}/test"), test)?),
            );
            acc[t.index()] = m.accuracy;
            f1[t.index()] = m.macro_f1;
        }
        for (name, s) in &pt.ood {
            let m = Metrics::compute(
                classes,
                &s.labels,
                &model.predict(&fetch(format!("{t}/{name}"), s)?),
            );
            ood.insert(name.clone(), m.accuracy);
        }
    }
    Ok(RunResult {
        plan: BASELINE.into(),
        shots,
        seed,
        test_accuracy: acc,
        test_macro_f1: f1,
        ood_accuracy: ood,
        train_seconds: fit_seconds,
    })
}

/// Epochs of a run: the base count up to 16 shots per class, then scaled
/// down so that every few-shot run gets about the same number of optimizer
/// steps (`ceil(epochs·16/K)`); `full_epochs` on all the data.
pub fn epochs_for(cfg: &StudyConfig, shots: Option<usize>) -> usize {
    let e = cfg.base.train.epochs;
    match shots {
        None => cfg.full_epochs,
        Some(k) if k > 16 => (e * 16).div_ceil(k).max(1),
        Some(_) => e,
    }
}

/// The plans, then the baseline if it runs: the rows of every table.
pub(crate) fn plan_names(cfg: &StudyConfig) -> Vec<String> {
    let mut names = cfg.plans.clone();
    if cfg.baseline {
        names.push(BASELINE.into());
    }
    for p in &cfg.contrastive_plans {
        for fit in CONTRASTIVE_FITS {
            names.push(contrastive_row(p, fit));
        }
    }
    names
}

/// Whether row `name` runs at `shots`: every row at every few-shot K; the
/// contrastive rows not on all the data (pairs are a few-shot method; on
/// the whole training sets they would cost hours per run).
pub(crate) fn is_planned(cfg: &StudyConfig, name: &str, shots: Option<usize>) -> bool {
    shots.is_some() || parse_contrastive_row(cfg, name).is_none()
}

/// How many runs the grid has.
pub(crate) fn planned_runs(cfg: &StudyConfig) -> usize {
    let per_seed: usize = cfg
        .shots
        .iter()
        .map(|&s| {
            plan_names(cfg)
                .iter()
                .filter(|n| is_planned(cfg, n, s))
                .count()
        })
        .sum();
    per_seed * cfg.seeds.len()
}

/// Both ways of fitting the heads after contrastive tuning, in row order.
const CONTRASTIVE_FITS: [HeadFit; 2] = [HeadFit::Train, HeadFit::LogReg];

/// The row name of the contrastive method on `plan` with heads fitted by `fit`.
pub fn contrastive_row(plan: &str, fit: HeadFit) -> String {
    let f = match fit {
        HeadFit::Train => "heads",
        HeadFit::LogReg => "logreg",
    };
    format!("contrastive-{plan}/{f}")
}
