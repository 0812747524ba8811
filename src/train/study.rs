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
use super::svg::{LinePlot, Series};
use super::task::Task;
use super::trainer::Split;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    write_report(cfg, &done)?;
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
    write_report(cfg, &done)?;
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
fn plan_names(cfg: &StudyConfig) -> Vec<String> {
    let mut names = cfg.plans.clone();
    if cfg.baseline {
        names.push(BASELINE.into());
    }
    names
}

/// Mean, std and count of `f` over the runs of one (plan, shots) cell;
/// `None` when it has no runs.
fn stat(
    runs: &[RunResult],
    plan: &str,
    shots: Option<usize>,
    f: &dyn Fn(&RunResult) -> f64,
) -> Option<(f64, f64, usize)> {
    let v: Vec<f64> = runs
        .iter()
        .filter(|r| r.plan == plan && r.shots == shots)
        .map(f)
        .collect();
    (!v.is_empty()).then(|| {
        let (m, sd) = mean_std(&v);
        (m, sd, v.len())
    })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn shots_label(s: Option<usize>) -> String {
    s.map_or("all".into(), |k| k.to_string())
}

/// Write the Markdown report and the plots from `runs`.
pub fn write_report(cfg: &StudyConfig, runs: &[RunResult]) -> Result<()> {
    let task_names: Vec<String> = cfg.base.tasks.iter().map(|t| t.name.clone()).collect();
    let names = plan_names(cfg);
    let cell = |plan: &str, shots: Option<usize>| -> Vec<&RunResult> {
        runs.iter()
            .filter(|r| r.plan == plan && r.shots == shots)
            .collect()
    };
    let fmt = |v: Vec<f64>| -> String {
        if v.is_empty() {
            return "–".into();
        }
        let (m, s) = mean_std(&v);
        format!("{m:.3} ± {s:.3}")
    };
    let mut md = String::new();
    md.push_str("# Results: the freezing study\n\n");
    md.push_str("Generated by `minilm study` (see the command below); do not edit by hand.\n\n");
    let planned = (cfg.plans.len() + usize::from(cfg.baseline)) * cfg.shots.len() * cfg.seeds.len();
    let finished = runs
        .iter()
        .filter(|r| {
            (cfg.plans.contains(&r.plan) || (cfg.baseline && r.plan == BASELINE))
                && cfg.shots.contains(&r.shots)
                && cfg.seeds.contains(&r.seed)
        })
        .count();
    if finished < planned {
        md.push_str(&format!(
            "**Partial: {finished} of the {planned} planned runs are finished.** Cells show how many runs they average; \
             running the command below again resumes the study.\n\n"
        ));
    }
    md.push_str(&format!(
        "Grid: plans {}, shots per class {}, seeds {}; baseline: {}. Cells are mean ± sample standard deviation over seeds; \
         each seed draws its own K-shot sample, validation set, head initialisation, shuffling and dropout. \
         Test sets are the full published/held-out splits; out-of-domain sentiment is scored with task B's head. \
         Every run keeps the epoch with the best validation macro-F1 (mean of both tasks).\n\n",
        cfg.plans.join(", "),
        cfg.shots.iter().map(|s| shots_label(*s)).collect::<Vec<_>>().join(", "),
        cfg.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        if cfg.baseline { "logistic regression on frozen normalised embeddings (L2, λ = 1/n)" } else { "none" }
    ));
    md.push_str(&format!(
        "Training: {} epochs up to 16 shots per class, ⌈{}·16/K⌉ above (about the same number of optimizer steps), {} epoch(s) over the larger task's data when training on all of it (the smaller task cycles); batch {} per task, lr encoder {} / heads {}, \
         warm-up {} then linear decay, weight decay {}, clip {}, dropout {}. \
         `train s` is the median wall-clock time of training (evaluation excluded; logreg: embedding the sample and fitting; \
         the frozen-prefix states are shared by the runs of one study process, so computing them is counted in the \
         first run that needs them) at the thread count the study ran with, on whatever else the \
         machine was doing: a rough cost ratio between plans, not a benchmark.\n\n",
        cfg.base.train.epochs,
        cfg.base.train.epochs,
        cfg.full_epochs,
        cfg.base.train.batch_size,
        cfg.base.train.lr_encoder,
        cfg.base.train.lr_heads,
        cfg.base.train.warmup,
        cfg.base.train.weight_decay,
        cfg.base.train.clip_norm,
        if cfg.base.train.dropout { "on" } else { "off" }
    ));
    let ood_sets: Vec<String> = runs
        .iter()
        .flat_map(|r| r.ood_accuracy.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    md.push_str(&format!(
        "| plan | shots | runs | {a} test acc. | {a} test macro-F1 | {b} test acc. | {b} test macro-F1 | {oods} | train s |\n",
        a = task_names[0],
        b = task_names[1],
        oods = ood_sets.iter().map(|s| format!("{s} acc.")).collect::<Vec<_>>().join(" | ")
    ));
    md.push_str(&format!(
        "|---|---|---|---|---|---|---|{}---|\n",
        "---|".repeat(ood_sets.len())
    ));
    for &shots in &cfg.shots {
        for name in &names {
            let c = cell(name, shots);
            if c.is_empty() {
                continue;
            }
            let oods: Vec<String> = ood_sets
                .iter()
                .map(|s| {
                    fmt(c
                        .iter()
                        .filter_map(|r| r.ood_accuracy.get(s).copied())
                        .collect())
                })
                .collect();
            md.push_str(&format!(
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
                shots_label(shots),
                c.len(),
                fmt(c.iter().map(|r| r.test_accuracy[0]).collect()),
                fmt(c.iter().map(|r| r.test_macro_f1[0]).collect()),
                fmt(c.iter().map(|r| r.test_accuracy[1]).collect()),
                fmt(c.iter().map(|r| r.test_macro_f1[1]).collect()),
                oods.join(" | "),
                median(c.iter().map(|r| r.train_seconds).collect())
            ));
        }
    }
    md.push_str("\n## What the numbers say about the original claims\n\n");
    md.push_str(&claims(cfg, runs, &task_names));
    md.push_str("\n## Over the whole grid\n\n");
    md.push_str(&tally(cfg, runs, &task_names));
    std::fs::create_dir_all(&cfg.plots).map_err(|e| Error::io(&cfg.plots, e))?;
    md.push('\n');
    for (t, tname) in task_names.iter().enumerate() {
        let file = cfg.plots.join(format!("study-{tname}-macro-f1.svg"));
        let mut plot = LinePlot::new(
            format!("{tname}: test macro-F1 against shots per class"),
            "shots per class",
            "test macro-F1",
        );
        plot.x_log = true;
        // "all" sits one step (×4) right of the largest K on the log axis.
        let all_x = cfg.shots.iter().flatten().max().copied().unwrap_or(1) as f64 * 4.0;
        let xs: Vec<(f64, String)> = cfg
            .shots
            .iter()
            .map(|s| (s.map_or(all_x, |k| k as f64), shots_label(*s)))
            .collect();
        plot.x_tick_labels = Some(xs.clone());
        for name in &names {
            let points: Vec<(f64, f64, f64)> = cfg
                .shots
                .iter()
                .zip(&xs)
                .filter_map(|(&s, (x, _))| {
                    let v: Vec<f64> = cell(name, s).iter().map(|r| r.test_macro_f1[t]).collect();
                    (!v.is_empty()).then(|| {
                        let (m, sd) = mean_std(&v);
                        (*x, m, sd)
                    })
                })
                .collect();
            if !points.is_empty() {
                plot.series.push(Series::new(name.clone(), points));
            }
        }
        plot.write(&file)?;
        let rel = relative(&file, cfg.markdown.parent().unwrap_or(Path::new(".")));
        md.push_str(&format!("![{tname} macro-F1 against shots]({rel})\n\n"));
    }
    md.push_str(&format!(
        "Reproduce: `minilm study --plans {} --shots {} --seeds {}{}` (resumable: finished runs are kept in `{}`).\n",
        cfg.plans.join(","),
        cfg.shots.iter().map(|s| shots_label(*s)).collect::<Vec<_>>().join(","),
        cfg.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if cfg.baseline { "" } else { " --no-baseline" },
        cfg.json.display()
    ));
    super::data::write_atomic(&cfg.markdown, md.as_bytes())
}

fn relative(file: &Path, base: &Path) -> String {
    file.strip_prefix(base)
        .unwrap_or(file)
        .display()
        .to_string()
}

/// Statements derived from the numbers, one per claim of the original
/// write-up: last2 generalises best, last1 is unstable, heads alone
/// generalise poorly. "Beats" means by more than the larger of the two
/// standard deviations.
fn claims(cfg: &StudyConfig, runs: &[RunResult], tasks: &[String]) -> String {
    let stat = |plan: &str, shots, f: &dyn Fn(&RunResult) -> f64| stat(runs, plan, shots, f);
    // A verdict needs a spread on both sides: two runs or more each.
    const NO_VERDICT: &str = "fewer than two runs on a side: no verdict yet";
    let mut out = String::new();
    for &shots in &cfg.shots {
        let k = shots_label(shots);
        for (t, tname) in tasks.iter().enumerate() {
            let f = move |r: &RunResult| r.test_macro_f1[t];
            let mut ranked: Vec<(String, f64, f64, usize)> = plan_names(cfg)
                .iter()
                .filter_map(|p| stat(p, shots, &f).map(|(m, s, n)| (p.clone(), m, s, n)))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            if let Some((best, m, s, n)) = ranked.first() {
                let runner = ranked.get(1).map_or(String::new(), |(p, m2, s2, n2)| {
                    let verdict = if *n < 2 || *n2 < 2 {
                        format!(" ({NO_VERDICT})")
                    } else if m - m2 > s.max(*s2) {
                        " by more than one std".to_string()
                    } else {
                        " within one std".to_string()
                    };
                    format!(", ahead of {p} ({m2:.3} ± {s2:.3}){verdict}")
                });
                out.push_str(&format!("- {k} shots, {tname}: best test macro-F1 is {best} ({m:.3} ± {s:.3}){runner}.\n"));
            }
        }
        if let (Some((_, s1, n1)), Some((_, s2, n2))) = (
            stat("last1", shots, &|r| r.test_macro_f1[0]),
            stat("last2", shots, &|r| r.test_macro_f1[0]),
        ) {
            out.push_str(&format!(
                "- {k} shots: spread across seeds of {} macro-F1 — last1 {s1:.3}, last2 {s2:.3} ({}).\n",
                tasks[0],
                if n1 < 2 || n2 < 2 {
                    NO_VERDICT
                } else if s1 > s2 {
                    "last1 varies more"
                } else {
                    "last1 does not vary more than last2"
                }
            ));
        }
        let ood = |r: &RunResult| {
            let v: Vec<f64> = r.ood_accuracy.values().copied().collect();
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        if let (Some((h, hs, hn)), Some((l, ls, ln))) =
            (stat("heads", shots, &ood), stat("last2", shots, &ood))
        {
            out.push_str(&format!(
                "- {k} shots: mean out-of-domain sentiment accuracy — heads {h:.3} ± {hs:.3}, last2 {l:.3} ± {ls:.3} ({}).\n",
                if hn < 2 || ln < 2 {
                    NO_VERDICT
                } else if l - h > hs.max(ls) {
                    "heads-only generalises worse"
                } else if h - l > hs.max(ls) {
                    "heads-only generalises better"
                } else {
                    "no clear difference"
                }
            ));
        }
    }
    out
}

/// Mean and std of one cell's runs, when it has two or more (a spread to
/// compare against).
fn cell_stat(
    runs: &[RunResult],
    plan: &str,
    shots: Option<usize>,
    f: &dyn Fn(&RunResult) -> f64,
) -> Option<(f64, f64)> {
    stat(runs, plan, shots, f).and_then(|(m, s, n)| (n >= 2).then_some((m, s)))
}

/// The claims counted over every (shots, task) cell where the plans compared
/// have two runs or more: how often each holds, and where it fails.
fn tally(cfg: &StudyConfig, runs: &[RunResult], tasks: &[String]) -> String {
    let names = plan_names(cfg);
    let beats = |a: (f64, f64), b: (f64, f64)| a.0 - b.0 > a.1.max(b.1);
    let (mut cells, mut best, mut beaten, mut clear_win) = (0, 0, Vec::new(), 0);
    let (mut l1_cells, mut l1_more) = (0, 0);
    let (mut heads_cells, mut heads_worse, mut heads_better) = (0, 0, 0);
    let (mut base_cells, mut base_beaten) = (0, 0);
    for &shots in &cfg.shots {
        let k = shots_label(shots);
        for (t, tname) in tasks.iter().enumerate() {
            let f = move |r: &RunResult| r.test_macro_f1[t];
            let stats: Vec<(String, (f64, f64))> = names
                .iter()
                .filter_map(|p| Some((p.clone(), cell_stat(runs, p, shots, &f)?)))
                .collect();
            let get = |p: &str| stats.iter().find(|(n, _)| n == p).map(|x| x.1);
            let fine_tuned: Vec<(f64, f64)> = stats
                .iter()
                .filter(|(n, _)| n != BASELINE)
                .map(|x| x.1)
                .collect();
            if let Some(l2) = get("last2") {
                if fine_tuned.len() == cfg.plans.len() && cfg.plans.len() > 1 {
                    cells += 1;
                    let others: Vec<_> = stats.iter().filter(|(n, _)| n != "last2").collect();
                    best += usize::from(others.iter().all(|(_, s)| s.0 <= l2.0));
                    clear_win += usize::from(others.iter().all(|(_, s)| beats(l2, *s)));
                    for (n, s) in &others {
                        if beats(*s, l2) {
                            beaten.push(format!("{n} at {k} shots on {tname}"));
                        }
                    }
                }
                if let Some(l1) = get("last1") {
                    l1_cells += 1;
                    l1_more += usize::from(l1.1 > l2.1);
                }
                if let Some(h) = get("heads") {
                    heads_cells += 1;
                    heads_worse += usize::from(beats(l2, h));
                    heads_better += usize::from(beats(h, l2));
                }
            }
            let top = fine_tuned
                .iter()
                .copied()
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let (Some(b), Some(top)) = (get(BASELINE), top) {
                base_cells += 1;
                base_beaten += usize::from(beats(top, b));
            }
        }
    }
    let mut out = String::new();
    out.push_str(&format!(
        "Counted over the (shots, task) cells where every plan has two runs or more ({cells} cells), on test macro-F1; \
         \"beaten\" means by more than the larger of the two standard deviations.\n\n"
    ));
    out.push_str(&format!(
        "- *last2 generalises best*: last2 has the highest mean (of the plans and the baseline) in {best} of {cells} \
         cells and beats all of them in {clear_win}; it is beaten in {}{}.\n",
        beaten.len(),
        if beaten.is_empty() {
            String::new()
        } else {
            format!(" ({})", beaten.join("; "))
        }
    ));
    out.push_str(&format!(
        "- *last1 is unstable*: last1's spread across seeds exceeds last2's in {l1_more} of {l1_cells} cells.\n"
    ));
    out.push_str(&format!(
        "- *heads alone generalise poorly*: last2 beats heads in {heads_worse} of {heads_cells} cells, heads beats last2 in {heads_better}.\n"
    ));
    if cfg.baseline {
        out.push_str(&format!(
            "- *fine-tuning pays*: the best fine-tuned plan beats the logistic-regression baseline on frozen \
             embeddings in {base_beaten} of {base_cells} cells.\n"
        ));
    }
    out
}
