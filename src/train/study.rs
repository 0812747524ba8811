//! The freezing study: which trainable surface generalises best from a few
//! labelled examples? Runs every (plan, shots, seed) of a grid, plus a
//! logistic-regression baseline on frozen embeddings, and writes the
//! aggregated results (Markdown, SVG plots, raw JSON).
//!
//! Each finished run is appended to the JSON file at once, and a study
//! started again with the same settings skips the runs already there, so a
//! long study can be stopped and resumed.

use super::experiment::{prepare, run_prepared, ExperimentConfig, Prepared};
use super::logreg::LogReg;
use super::metrics::Metrics;
use super::prefix::PrefixStore;
use super::split::Split;
use super::task::Task;
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
    /// Freezing plans to compare.
    pub plans: Vec<String>,
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
    let total = names.len() * cfg.shots.len() * cfg.seeds.len();
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
            for name in &names {
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
                    let get = |t: Task| {
                        o.get("test", t)
                            .cloned()
                            .unwrap_or_else(|| Metrics::compute(&[], &[], &[]))
                    };
                    RunResult {
                        plan: name.clone(),
                        shots,
                        seed,
                        test_accuracy: [get(Task::A).accuracy, get(Task::B).accuracy],
                        test_macro_f1: [get(Task::A).macro_f1, get(Task::B).macro_f1],
                        ood_accuracy: p[1]
                            .ood
                            .iter()
                            .filter_map(|(n, _)| Some((n.clone(), o.get(n, Task::B)?.accuracy)))
                            .collect(),
                        train_seconds: o.report.train_seconds + o.report.cache_seconds,
                    }
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
                super::data::write_atomic(
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

/// The finished runs in `cfg.json`, if it was written with the same settings.
fn load_runs(cfg: &StudyConfig) -> Result<Vec<RunResult>> {
    let settings = settings_json(cfg);
    let done: Vec<RunResult> = match std::fs::read_to_string(&cfg.json) {
        Ok(text) => {
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| Error::file(&cfg.json, format!("invalid JSON: {e}")))?;
            if v.get("settings") == Some(&settings) {
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
    names
}
