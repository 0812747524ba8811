//! The freezing study's report: the Markdown tables (mean ± std, cost,
//! paired differences), the statements about the original write-up's
//! claims, the contrastive rows against the baseline, a tally over the grid,
//! and the SVG plots, all derived from the finished runs (see
//! [`super::study`]).
//!
//! Every seed's K-shot sample (and validation set) is shared by every row of
//! that seed, so rows are compared *paired* by (shots, seed): for a row R and
//! a reference row Q, the differences `d_s = R_s − Q_s` over the seeds both
//! have give a mean and a 95 % confidence interval from the t distribution
//! with n − 1 degrees of freedom ([`Paired`]). "Beats" means that interval
//! lies above zero.

use super::study::{plan_names, planned_runs, RunResult, StudyConfig, BASELINE};
use super::svg::{LinePlot, Series};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The reference fine-tuned row of the paired table, and the row of the
/// original "last2 generalises best" claim.
pub const LAST2: &str = "last2";
const LAST1: &str = "last1";
const HEADS: &str = "heads";
/// What a verdict on fewer than two paired seeds says.
pub const NO_VERDICT: &str = "no verdict yet";

/// Whether a row is one of the contrastive method's (its name starts with
/// `contrastive`, e.g. `contrastive-last2/logreg`).
pub fn is_contrastive(row: &str) -> bool {
    row.starts_with("contrastive")
}

/// Two-sided 95 % quantile of Student's t (its 97.5 % point) with `df`
/// degrees of freedom: a table for df 1–30, above that the Cornish–Fisher
/// expansion around the normal 1.959964 (within 1e-4 of the exact value;
/// it tends to 1.96). `NaN` for df 0.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let (z, v) = (1.959_963_985_f64, df as f64);
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
        }
    }
}

/// Mean and sample standard deviation (n − 1; 0 for a single value).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}

/// The median (`NaN` when empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// What one run is scored on in a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Test macro-F1 of task 0 (A) or 1 (B).
    MacroF1(usize),
    /// Out-of-domain accuracy (task B's head), averaged over the sets.
    Ood,
}

impl Measure {
    /// The run's value; `None` for `Ood` when the run has no out-of-domain
    /// sets.
    pub fn of(self, r: &RunResult) -> Option<f64> {
        match self {
            Measure::MacroF1(t) => r.test_macro_f1.get(t).copied(),
            Measure::Ood => {
                let v: Vec<f64> = r.ood_accuracy.values().copied().collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            }
        }
    }

    /// A long name (`topic macro-F1`, `out-of-domain sentiment acc.`).
    fn label(self, tasks: &[String]) -> String {
        match self {
            Measure::MacroF1(t) => format!("{} macro-F1", tasks[t]),
            Measure::Ood => format!("out-of-domain {} acc.", tasks[1]),
        }
    }

    /// A short name (`topic`, `out-of-domain`).
    fn short(self, tasks: &[String]) -> String {
        match self {
            Measure::MacroF1(t) => tasks[t].clone(),
            Measure::Ood => "out-of-domain".into(),
        }
    }
}

/// Where a paired interval lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The interval lies above zero: the row beats the reference.
    Above,
    /// The interval lies below zero: the reference beats the row.
    Below,
    /// The interval contains zero.
    Unclear,
    /// Fewer than two paired seeds: no interval.
    TooFew,
}

/// A paired comparison: the mean of the per-seed differences, their count
/// and the 95 % t interval of the mean (none below two seeds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Seeds present in both rows.
    pub n: usize,
    /// Mean difference (`NaN` when `n` is 0).
    pub mean: f64,
    /// 95 % confidence interval of the mean difference (`n` ≥ 2).
    pub interval: Option<(f64, f64)>,
}

impl Paired {
    /// From the per-seed differences: mean ± t975(n−1)·s/√n.
    pub fn from_differences(d: &[f64]) -> Paired {
        if d.is_empty() {
            return Paired {
                n: 0,
                mean: f64::NAN,
                interval: None,
            };
        }
        let (m, sd) = mean_std(d);
        let interval = (d.len() >= 2).then(|| {
            let half = t975(d.len() - 1) * sd / (d.len() as f64).sqrt();
            (m - half, m + half)
        });
        Paired {
            n: d.len(),
            mean: m,
            interval,
        }
    }

    /// Where the interval lies relative to zero.
    pub fn verdict(&self) -> Verdict {
        match self.interval {
            None => Verdict::TooFew,
            Some((lo, _)) if lo > 0.0 => Verdict::Above,
            Some((_, hi)) if hi < 0.0 => Verdict::Below,
            Some(_) => Verdict::Unclear,
        }
    }

    /// `+0.031 [+0.012, +0.050] (5)`, in bold when the interval excludes
    /// zero; `+0.031 [n/a] (1)` with one seed; `n/a` with none.
    pub fn cell(&self) -> String {
        match self.interval {
            _ if self.n == 0 => "n/a".into(),
            None => format!("{:+.3} [n/a] ({})", self.mean, self.n),
            Some((lo, hi)) => {
                let core = format!("{:+.3} [{lo:+.3}, {hi:+.3}]", self.mean);
                match self.verdict() {
                    Verdict::Above | Verdict::Below => format!("**{core}** ({})", self.n),
                    _ => format!("{core} ({})", self.n),
                }
            }
        }
    }

    /// [`Paired::cell`], or `no verdict yet (n paired seeds)` below two
    /// seeds: for sentences.
    pub fn phrase(&self) -> String {
        if self.n < 2 {
            format!(
                "{NO_VERDICT} ({} paired seed{})",
                self.n,
                if self.n == 1 { "" } else { "s" }
            )
        } else {
            self.cell()
        }
    }
}

/// `(seed, R − Q)` of `measure` for every seed where both `row` and
/// `reference` have a run at `shots` (the first run, should a seed repeat),
/// in seed order.
pub fn paired_differences(
    runs: &[RunResult],
    row: &str,
    reference: &str,
    shots: Option<usize>,
    measure: Measure,
) -> Vec<(u64, f64)> {
    let by_seed = |plan: &str| -> BTreeMap<u64, f64> {
        let mut m = BTreeMap::new();
        for r in runs.iter().filter(|r| r.plan == plan && r.shots == shots) {
            if let Some(v) = measure.of(r) {
                m.entry(r.seed).or_insert(v);
            }
        }
        m
    };
    let q = by_seed(reference);
    by_seed(row)
        .into_iter()
        .filter_map(|(seed, v)| Some((seed, v - q.get(&seed)?)))
        .collect()
}

/// The paired comparison of `row` against `reference` at `shots` on
/// `measure` (see [`paired_differences`]).
pub fn paired(
    runs: &[RunResult],
    row: &str,
    reference: &str,
    shots: Option<usize>,
    measure: Measure,
) -> Paired {
    let d: Vec<f64> = paired_differences(runs, row, reference, shots, measure)
        .into_iter()
        .map(|x| x.1)
        .collect();
    Paired::from_differences(&d)
}

/// `8` or `all`, for table cells.
fn shots_label(s: Option<usize>) -> String {
    s.map_or("all".into(), |k| k.to_string())
}

/// `8 shots` or `all data`, for sentences.
fn shots_phrase(s: Option<usize>) -> String {
    s.map_or("all data".into(), |k| format!("{k} shots"))
}

/// The runs and settings the report is written from, with the row and task
/// names.
struct Report<'a> {
    cfg: &'a StudyConfig,
    runs: &'a [RunResult],
    /// Task A's and B's names.
    tasks: Vec<String>,
    /// Every row in table order ([`plan_names`]).
    rows: Vec<String>,
}

impl Report<'_> {
    /// The runs of one (row, shots) cell.
    fn cell(&self, row: &str, shots: Option<usize>) -> Vec<&RunResult> {
        self.runs
            .iter()
            .filter(|r| r.plan == row && r.shots == shots)
            .collect()
    }

    /// Whether `row` is a row of this study.
    fn has(&self, row: &str) -> bool {
        self.rows.iter().any(|r| r == row)
    }

    /// `row` against `reference` at `shots` on `m`, paired by seed.
    fn paired(&self, row: &str, reference: &str, shots: Option<usize>, m: Measure) -> Paired {
        paired(self.runs, row, reference, shots, m)
    }

    /// The values of `m` in one cell.
    fn values(&self, row: &str, shots: Option<usize>, m: Measure) -> Vec<f64> {
        self.cell(row, shots)
            .iter()
            .filter_map(|r| m.of(r))
            .collect()
    }

    /// Both tasks' test macro-F1, then out-of-domain accuracy.
    fn measures(&self) -> [Measure; 3] {
        [Measure::MacroF1(0), Measure::MacroF1(1), Measure::Ood]
    }

    /// The title, the partial-study note, the grid and the training settings.
    fn header(&self) -> String {
        let (cfg, mut md) = (self.cfg, String::new());
        md.push_str("# Results: freezing plans and the contrastive method, few-shot\n\n");
        md.push_str(
            "Generated by `minilm study` (see the command below); do not edit by hand.\n\n",
        );
        let planned = planned_runs(cfg);
        let finished = self
            .runs
            .iter()
            .filter(|r| {
                self.has(&r.plan) && cfg.shots.contains(&r.shots) && cfg.seeds.contains(&r.seed)
            })
            .count();
        if finished < planned {
            let _ = write!(
                md,
                "**Partial: {finished} of the {planned} planned runs are finished.** Cells \
                 show how many runs they average; running the command below again resumes the \
                 study.\n\n"
            );
        }
        let _ = write!(
            md,
            "Grid: rows {}; shots per class {}; seeds {}; baseline: {}. Each seed draws one \
             K-shot sample and validation set, shared by every row of that seed, so rows are \
             compared paired by (shots, seed); the seed also sets the head initialisation, \
             shuffling and dropout. Test sets are the full published/held-out splits; \
             out-of-domain sentiment is scored with task B's head. Every run keeps the epoch \
             with the best validation macro-F1 (mean of both tasks).\n\n",
            self.rows.join(", "),
            cfg.shots
                .iter()
                .map(|s| shots_label(*s))
                .collect::<Vec<_>>()
                .join(", "),
            cfg.seeds
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if cfg.baseline {
                "logistic regression on frozen normalised embeddings (L2, λ = 1/n)"
            } else {
                "none"
            }
        );
        let t = &cfg.base.train;
        let _ = write!(
            md,
            "Training: {} epochs up to 16 shots per class, ⌈{}·16/K⌉ above (about the same \
             number of optimizer steps), {} epoch(s) over the larger task's data when training \
             on all of it (the smaller task cycles); batch {} per task, lr encoder {} / heads \
             {}, warm-up {} then linear decay, weight decay {}, clip {}, dropout {}.\n\n",
            t.epochs,
            t.epochs,
            cfg.full_epochs,
            t.batch_size,
            t.lr_encoder,
            t.lr_heads,
            t.warmup,
            t.weight_decay,
            t.clip_norm,
            if t.dropout { "on" } else { "off" }
        );
        if !cfg.contrastive_plans.is_empty() {
            let c = &cfg.contrastive;
            let _ = write!(
                md,
                "Contrastive rows (`contrastive-PLAN/…`, the SetFit-style method; few-shot K only, not all the data): stage 1 tunes PLAN's encoder layers on pair batches of both tasks, {} epochs (scaled above 16 shots as above), batch {} examples per task, {} pairs per example (half same-class, half other-class), {} loss, lr {}, the warm-up, decay, clip and dropout above; the epoch with the best validation nearest-centroid macro-F1 is kept. Stage 2 fits the heads on the tuned, normalised embeddings: `/heads` by the loop above (heads only), `/logreg` by the baseline's logistic regression. Both rows share one stage-1 run per (shots, seed), and each row's cost includes it.\n\n",
                c.epochs,
                c.batch_size,
                c.pairs_per_example,
                c.loss.name(),
                c.lr
            );
        }
        md
    }

    /// The out-of-domain set names met in any run.
    fn ood_sets(&self) -> Vec<String> {
        let sets: BTreeSet<String> = self
            .runs
            .iter()
            .flat_map(|r| r.ood_accuracy.keys().cloned())
            .collect();
        sets.into_iter().collect()
    }

    /// The table of mean ± sample std over seeds, every row at every shots
    /// value that has runs.
    fn main_table(&self) -> String {
        let fmt = |v: Vec<f64>| -> String {
            if v.is_empty() {
                return "–".into();
            }
            let (m, s) = mean_std(&v);
            format!("{m:.3} ± {s:.3}")
        };
        let (a, b, sets) = (&self.tasks[0], &self.tasks[1], self.ood_sets());
        let mut md = String::from(
            "## Mean and spread over seeds\n\nCells are mean ± sample standard deviation over \
             seeds (a spread, not a confidence interval: for comparisons see the paired \
             differences below).\n\n",
        );
        let _ = writeln!(
            md,
            "| row | shots | runs | {a} test acc. | {a} test macro-F1 | {b} test acc. | {b} test macro-F1 | {} |",
            sets.iter().map(|s| format!("{s} acc.")).collect::<Vec<_>>().join(" | ")
        );
        let _ = writeln!(
            md,
            "|---|---|---|---|---|---|---|{}",
            "---|".repeat(sets.len())
        );
        for &shots in &self.cfg.shots {
            for row in &self.rows {
                let c = self.cell(row, shots);
                if c.is_empty() {
                    continue;
                }
                let oods: Vec<String> = sets
                    .iter()
                    .map(|s| {
                        fmt(c
                            .iter()
                            .filter_map(|r| r.ood_accuracy.get(s).copied())
                            .collect())
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "| {row} | {} | {} | {} | {} | {} | {} | {} |",
                    shots_label(shots),
                    c.len(),
                    fmt(c.iter().map(|r| r.test_accuracy[0]).collect()),
                    fmt(c.iter().map(|r| r.test_macro_f1[0]).collect()),
                    fmt(c.iter().map(|r| r.test_accuracy[1]).collect()),
                    fmt(c.iter().map(|r| r.test_macro_f1[1]).collect()),
                    oods.join(" | ")
                );
            }
        }
        md
    }

    /// Median training seconds of one cell, `None` when it has no runs.
    fn cost(&self, row: &str, shots: Option<usize>) -> Option<f64> {
        let c = self.cell(row, shots);
        (!c.is_empty()).then(|| median(c.iter().map(|r| r.train_seconds).collect()))
    }

    /// The cost table: median training seconds per run, row × shots, with
    /// the ratio to the baseline's at the same shots.
    fn cost_table(&self) -> String {
        let mut md = String::from(
            "## Cost\n\nMedian wall-clock seconds of training per run (evaluation excluded; \
             logreg: embedding the sample and fitting; the frozen-prefix states are shared by \
             the runs of one study process, so computing them is counted in the first run \
             that needs them), and in brackets the ratio to logreg's at the same shots, at the \
             thread count the study ran with, on whatever else the machine was doing: a rough \
             cost ratio between rows, not a benchmark.\n\n",
        );
        let shots = &self.cfg.shots;
        let _ = writeln!(
            md,
            "| row | {} |",
            shots
                .iter()
                .map(|s| shots_label(*s))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(md, "|---|{}", "---|".repeat(shots.len()));
        let secs = |x: f64| {
            if x >= 10.0 {
                format!("{x:.0} s")
            } else {
                format!("{x:.1} s")
            }
        };
        let ratio = |r: f64| match r {
            r if r >= 10.0 => format!("{r:.0}×"),
            r if r >= 1.0 => format!("{r:.1}×"),
            r => format!("{r:.2}×"),
        };
        for row in &self.rows {
            let cells: Vec<String> = shots
                .iter()
                .map(|&k| match (self.cost(row, k), self.cost(BASELINE, k)) {
                    (None, _) => "–".into(),
                    (Some(x), Some(b)) if row != BASELINE && b > 0.0 => {
                        format!("{} ({})", secs(x), ratio(x / b))
                    }
                    (Some(x), _) => secs(x),
                })
                .collect();
            let _ = writeln!(md, "| {row} | {} |", cells.join(" | "));
        }
        md
    }

    /// The paired-differences table: every row but the baseline, at every
    /// shots value, against logreg (both tasks' macro-F1 and out-of-domain
    /// accuracy) and against last2 (both tasks' macro-F1).
    fn paired_table(&self) -> String {
        let mut md = String::from("## Paired differences\n\n");
        let mut cols: Vec<(&str, Measure)> = Vec::new();
        if self.has(BASELINE) {
            cols.extend(self.measures().map(|m| (BASELINE, m)));
        }
        if self.has(LAST2) {
            cols.extend([(LAST2, Measure::MacroF1(0)), (LAST2, Measure::MacroF1(1))]);
        }
        if cols.is_empty() {
            md.push_str("No reference row (logreg, last2) in this study: no paired differences.\n");
            return md;
        }
        md.push_str(
            "Row minus reference, paired by seed: the mean difference, its 95 % confidence \
             interval from the t distribution with n − 1 degrees of freedom, and (n) the seeds \
             both rows have. **Bold**: the interval excludes zero. `[n/a]`: fewer than two \
             paired seeds. Out-of-domain accuracy is averaged over the out-of-domain sets \
             first.\n\n",
        );
        let heads: Vec<String> = cols
            .iter()
            .map(|(q, m)| format!("{} − {q}", m.label(&self.tasks)))
            .collect();
        let _ = writeln!(md, "| row | shots | {} |", heads.join(" | "));
        let _ = writeln!(md, "|---|---|{}", "---|".repeat(cols.len()));
        for &shots in &self.cfg.shots {
            for row in self.rows.iter().filter(|r| *r != BASELINE) {
                if self.cell(row, shots).is_empty() {
                    continue;
                }
                let cells: Vec<String> = cols
                    .iter()
                    .map(|&(q, m)| {
                        if row == q {
                            "(reference)".into()
                        } else {
                            self.paired(row, q, shots, m).cell()
                        }
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "| {row} | {} | {} |",
                    shots_label(shots),
                    cells.join(" | ")
                );
            }
        }
        md
    }

    /// The claims section: the original write-up's three claims and
    /// "fine-tuning pays", with paired numbers.
    fn claims(&self) -> String {
        let mut md = String::from("## What the numbers say about the original claims\n\n");
        md.push_str(
            "\"Beats\" means the paired 95 % interval of the difference lies above zero; \"no \
             clear difference\" that it contains zero (the paired table gives the \
             intervals).\n\n",
        );
        md.push_str(&self.claim_last2_best());
        md.push_str(&self.claim_last1_unstable());
        md.push_str(&self.claim_heads_poor());
        md.push_str(&self.claim_fine_tuning_pays());
        md
    }

    /// The non-contrastive rows other than `row`: the rows of the original
    /// comparison.
    fn rivals(&self, row: &str) -> Vec<&String> {
        self.rows
            .iter()
            .filter(|r| *r != row && !is_contrastive(r))
            .collect()
    }

    /// Claim 1, per (shots, task): which rows last2 beats, which beat it.
    fn claim_last2_best(&self) -> String {
        let mut md = String::from("### 1. \"last2 generalises best\"\n\n");
        if !self.has(LAST2) {
            md.push_str("last2 is not a row of this study.\n\n");
            return md;
        }
        md.push_str(
            "last2 against every other freezing plan and the baseline (contrastive rows are \
             compared below), test macro-F1, last2 − row:\n\n",
        );
        for &shots in &self.cfg.shots {
            for t in 0..2 {
                let m = Measure::MacroF1(t);
                let (mut beats, mut beaten, mut unclear, mut few) =
                    (vec![], vec![], vec![], vec![]);
                for r in self.rivals(LAST2) {
                    let p = self.paired(LAST2, r, shots, m);
                    let item = format!("{r} ({:+.3})", p.mean);
                    match p.verdict() {
                        Verdict::Above => beats.push(item),
                        Verdict::Below => beaten.push(item),
                        Verdict::Unclear => unclear.push(item),
                        Verdict::TooFew => few.push(r.clone()),
                    }
                }
                let mut parts = Vec::new();
                for (words, v) in [
                    ("beats", &beats),
                    ("is beaten by", &beaten),
                    ("shows no clear difference from", &unclear),
                ] {
                    if !v.is_empty() {
                        parts.push(format!("{words} {}", v.join(", ")));
                    }
                }
                if !few.is_empty() {
                    parts.push(format!("{NO_VERDICT} against {}", few.join(", ")));
                }
                let verdict = if !beaten.is_empty() {
                    "the claim **fails** here"
                } else if !beats.is_empty() && unclear.is_empty() && few.is_empty() {
                    "the claim **holds** here"
                } else {
                    "the claim is not shown here"
                };
                let _ = writeln!(
                    md,
                    "- {}, {}: last2 {}: {verdict}.",
                    shots_phrase(shots),
                    m.label(&self.tasks),
                    parts.join("; ")
                );
            }
        }
        md.push('\n');
        md
    }

    /// Claim 2, per (shots, task): sample std over seeds of last1 and last2
    /// (a spread comparison, not a test).
    fn claim_last1_unstable(&self) -> String {
        let mut md = String::from("### 2. \"last1 is unstable\"\n\n");
        if !self.has(LAST1) || !self.has(LAST2) {
            md.push_str("last1 or last2 is not a row of this study.\n\n");
            return md;
        }
        md.push_str(
            "A spread comparison, not a paired test: the sample standard deviation of test \
             macro-F1 over seeds, last1 against last2. With a handful of seeds these standard \
             deviations are themselves rough estimates.\n\n",
        );
        for &shots in &self.cfg.shots {
            for t in 0..2 {
                let m = Measure::MacroF1(t);
                let (v1, v2) = (self.values(LAST1, shots, m), self.values(LAST2, shots, m));
                if v1.is_empty() && v2.is_empty() {
                    continue;
                }
                let (s1, s2) = (mean_std(&v1).1, mean_std(&v2).1);
                let verdict = if v1.len() < 2 || v2.len() < 2 {
                    NO_VERDICT.to_string()
                } else if s1 > s2 {
                    format!("last1 varies more ({:.1}× last2's)", s1 / s2.max(1e-12))
                } else {
                    "last1 does not vary more than last2".into()
                };
                let _ = writeln!(
                    md,
                    "- {}, {}: std last1 {s1:.3} ({} runs), last2 {s2:.3} ({} runs): {verdict}.",
                    shots_phrase(shots),
                    m.label(&self.tasks),
                    v1.len(),
                    v2.len()
                );
            }
        }
        md.push('\n');
        md
    }

    /// Claim 3, per shots: last2 − heads, paired, on both tasks' macro-F1
    /// and out-of-domain accuracy.
    fn claim_heads_poor(&self) -> String {
        let mut md = String::from("### 3. \"heads alone generalise poorly\"\n\n");
        if !self.has(HEADS) || !self.has(LAST2) {
            md.push_str("heads or last2 is not a row of this study.\n\n");
            return md;
        }
        md.push_str("last2 − heads, paired by seed:\n\n");
        for &shots in &self.cfg.shots {
            let ps: Vec<(Measure, Paired)> = self
                .measures()
                .into_iter()
                .map(|m| (m, self.paired(LAST2, HEADS, shots, m)))
                .collect();
            if ps.iter().all(|(_, p)| p.n == 0) {
                let _ = writeln!(
                    md,
                    "- {}: {NO_VERDICT} (no paired seeds).",
                    shots_phrase(shots)
                );
                continue;
            }
            let count = |v: Verdict| ps.iter().filter(|(_, p)| p.verdict() == v).count();
            let judged = ps
                .iter()
                .filter(|(_, p)| p.verdict() != Verdict::TooFew)
                .count();
            let verdict = match (count(Verdict::Above), count(Verdict::Below)) {
                _ if judged == 0 => NO_VERDICT.to_string(),
                (0, 0) => "no clear difference".into(),
                (a, 0) => format!("last2 beats heads on {a} of {judged}"),
                (0, b) => format!("heads beats last2 on {b} of {judged}"),
                (a, b) => format!("mixed: last2 ahead on {a}, heads on {b}, of {judged}"),
            };
            let parts: Vec<String> = ps
                .iter()
                .map(|(m, p)| format!("{} {}", m.label(&self.tasks), p.phrase()))
                .collect();
            let _ = writeln!(
                md,
                "- {}: {}: {verdict}.",
                shots_phrase(shots),
                parts.join(", ")
            );
        }
        md.push('\n');
        md
    }

    /// The non-baseline row with the highest mean of `m` at `shots`, with
    /// that mean.
    fn best_row(&self, shots: Option<usize>, m: Measure) -> Option<(&String, f64)> {
        self.rows
            .iter()
            .filter(|r| *r != BASELINE)
            .filter_map(|r| {
                let v = self.values(r, shots, m);
                (!v.is_empty()).then(|| (r, mean_std(&v).0))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// "Fine-tuning pays", per (shots, task): the best row by mean against
    /// logreg, paired.
    fn claim_fine_tuning_pays(&self) -> String {
        let mut md = String::from("### Does fine-tuning pay?\n\n");
        if !self.has(BASELINE) {
            md.push_str("The baseline did not run in this study.\n\n");
            return md;
        }
        md.push_str(
            "Per cell, the row with the highest mean test macro-F1 (any row but the baseline) \
             minus logreg, paired. The row is picked by its mean, which flatters it a little \
             (the best of several noisy means).\n\n",
        );
        for &shots in &self.cfg.shots {
            for t in 0..2 {
                let m = Measure::MacroF1(t);
                let Some((best, mean)) = self.best_row(shots, m) else {
                    continue;
                };
                let p = self.paired(best, BASELINE, shots, m);
                let verdict = match p.verdict() {
                    Verdict::Above => "pays",
                    Verdict::Below => "logreg is better still",
                    Verdict::Unclear => "no clear gain",
                    Verdict::TooFew => NO_VERDICT,
                };
                let _ = writeln!(
                    md,
                    "- {}, {}: best row {best} ({mean:.3}); {best} − logreg {}: {verdict}.",
                    shots_phrase(shots),
                    m.label(&self.tasks),
                    p.phrase()
                );
            }
        }
        md.push('\n');
        md
    }

    /// The contrastive rows against logreg, one statement per (shots, row)
    /// that has runs; empty when there are no contrastive rows or no
    /// baseline.
    fn contrastive(&self) -> String {
        let rows: Vec<&String> = self.rows.iter().filter(|r| is_contrastive(r)).collect();
        if rows.is_empty() {
            return String::new();
        }
        let mut md = String::from("## Contrastive rows against the baseline\n\n");
        if !self.has(BASELINE) {
            md.push_str("The baseline did not run in this study: no comparison.\n\n");
            return md;
        }
        md.push_str(
            "Row − logreg, paired by seed: test macro-F1 of each task, and out-of-domain accuracy.\n\n",
        );
        for &shots in &self.cfg.shots {
            for row in rows.iter().filter(|r| !self.cell(r, shots).is_empty()) {
                let ps: Vec<(Measure, Paired)> = self
                    .measures()
                    .into_iter()
                    .map(|m| (m, self.paired(row, BASELINE, shots, m)))
                    .collect();
                let body = if ps.iter().all(|(_, p)| p.n < 2) {
                    format!("{NO_VERDICT} (fewer than two seeds paired with logreg)")
                } else {
                    ps.iter()
                        .map(|(m, p)| format!("{} {}", m.short(&self.tasks), p.phrase()))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(md, "- {}: {row} vs logreg: {body}.", shots_phrase(shots));
            }
        }
        md.push('\n');
        md
    }

    /// Counts of paired verdicts of `row` against `reference` over every
    /// (shots, measure) cell: `[above, below, unclear, too few]`.
    fn verdicts(&self, row: &str, reference: &str, measures: &[Measure]) -> [usize; 4] {
        let mut c = [0; 4];
        for &shots in &self.cfg.shots {
            for &m in measures {
                if self.cell(row, shots).is_empty() {
                    continue;
                }
                c[match self.paired(row, reference, shots, m).verdict() {
                    Verdict::Above => 0,
                    Verdict::Below => 1,
                    Verdict::Unclear => 2,
                    Verdict::TooFew => 3,
                }] += 1;
            }
        }
        c
    }

    /// The tally over the grid: per row, how many (shots, measure) cells it
    /// beats / trails / ties logreg and last2 in, then the claims counted.
    fn tally(&self) -> String {
        let mut md = String::from("## Over the whole grid\n\n");
        let refs: Vec<&str> = [BASELINE, LAST2]
            .into_iter()
            .filter(|q| self.has(q))
            .collect();
        if refs.is_empty() {
            md.push_str("No reference row (logreg, last2) in this study.\n");
            return md;
        }
        let ms = self.measures();
        let _ = write!(
            md,
            "Counted over the (shots, measure) cells — measures: {} — by the paired 95 % \
             interval of row − reference: above zero / below zero / containing zero / fewer \
             than two paired seeds.\n\n",
            ms.map(|m| m.label(&self.tasks)).join(", ")
        );
        let _ = writeln!(
            md,
            "| row | {} |",
            refs.iter()
                .map(|q| format!("vs {q}: above / below / unclear / too few"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(md, "|---|{}", "---|".repeat(refs.len()));
        for row in &self.rows {
            let cells: Vec<String> = refs
                .iter()
                .map(|q| {
                    if row == q {
                        "(reference)".into()
                    } else {
                        let c = self.verdicts(row, q, &ms);
                        format!("{} / {} / {} / {}", c[0], c[1], c[2], c[3])
                    }
                })
                .collect();
            let _ = writeln!(md, "| {row} | {} |", cells.join(" | "));
        }
        md.push('\n');
        md.push_str(&self.tally_claims());
        md
    }

    /// The claims counted over the (shots, task) cells.
    fn tally_claims(&self) -> String {
        let mut md = String::new();
        let (mut cells, mut holds, mut fails) = (0, 0, Vec::new());
        let (mut spread_cells, mut l1_more) = (0, 0);
        let (mut pay_cells, mut pays, mut base_better) = (0, 0, 0);
        for &shots in &self.cfg.shots {
            for t in 0..2 {
                let m = Measure::MacroF1(t);
                let ps: Vec<(&String, Paired)> = self
                    .rivals(LAST2)
                    .into_iter()
                    .map(|r| (r, self.paired(LAST2, r, shots, m)))
                    .collect();
                if self.has(LAST2) && !ps.is_empty() && ps.iter().all(|(_, p)| p.n >= 2) {
                    cells += 1;
                    holds += usize::from(ps.iter().all(|(_, p)| p.verdict() == Verdict::Above));
                    for (r, p) in ps.iter().filter(|(_, p)| p.verdict() == Verdict::Below) {
                        fails.push(format!(
                            "by {r} at {} on {} ({r} − last2 {:+.3})",
                            shots_phrase(shots),
                            self.tasks[t],
                            -p.mean
                        ));
                    }
                }
                let (v1, v2) = (self.values(LAST1, shots, m), self.values(LAST2, shots, m));
                if v1.len() >= 2 && v2.len() >= 2 {
                    spread_cells += 1;
                    l1_more += usize::from(mean_std(&v1).1 > mean_std(&v2).1);
                }
                if let Some((best, _)) = self.best_row(shots, m).filter(|_| self.has(BASELINE)) {
                    let v = self.paired(best, BASELINE, shots, m).verdict();
                    pay_cells += usize::from(v != Verdict::TooFew);
                    pays += usize::from(v == Verdict::Above);
                    base_better += usize::from(v == Verdict::Below);
                }
            }
        }
        if self.has(LAST2) {
            let _ = writeln!(
                md,
                "- *last2 generalises best* (test macro-F1, against every other freezing plan \
                 and the baseline, in the {cells} (shots, task) cells where every comparison \
                 has two paired seeds or more): last2 beats all of them in {holds}; it is \
                 beaten in {} comparison(s){}.",
                fails.len(),
                if fails.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", fails.join("; "))
                }
            );
        }
        if self.has(LAST1) && self.has(LAST2) {
            let _ = writeln!(
                md,
                "- *last1 is unstable* (spread comparison, no test): last1's sample std of \
                 test macro-F1 exceeds last2's in {l1_more} of {spread_cells} cells."
            );
        }
        if self.has(HEADS) && self.has(LAST2) {
            let c = self.verdicts(LAST2, HEADS, &self.measures());
            let _ = writeln!(
                md,
                "- *heads alone generalise poorly*: last2 beats heads in {} of {} (shots, \
                 measure) cells, heads beats last2 in {}, no clear difference in {}.",
                c[0],
                c[0] + c[1] + c[2],
                c[1],
                c[2]
            );
        }
        if self.has(BASELINE) {
            let _ = writeln!(
                md,
                "- *fine-tuning pays*: the best row by mean beats logreg in {pays} of \
                 {pay_cells} (shots, task) cells; logreg beats it in {base_better}."
            );
        }
        md
    }

    /// One plot per task: test macro-F1 against the few-shot K values, and
    /// each row's all-data result in a side panel. Returns the Markdown
    /// (images and captions).
    fn plots(&self) -> Result<String> {
        let cfg = self.cfg;
        std::fs::create_dir_all(&cfg.plots).map_err(|e| Error::io(&cfg.plots, e))?;
        let mut md = String::from("## Plots\n\n");
        let has_all = cfg.shots.contains(&None);
        let all_note = if has_all {
            "; the \"all data\" panel on the right shows each row's mean (with ±1 std) when \
             trained on all the training data, which is not a K value"
        } else {
            ""
        };
        let dashed_note = if self.rows.iter().any(|r| is_contrastive(r)) {
            " Dashed lines, hollow markers: contrastive rows."
        } else {
            ""
        };
        for (t, tname) in self.tasks.iter().enumerate() {
            let file = cfg.plots.join(format!("study-{tname}-macro-f1.svg"));
            self.plot(t, has_all).write(&file)?;
            let rel = relative(&file, cfg.markdown.parent().unwrap_or(Path::new(".")));
            let _ = write!(
                md,
                "![{tname} macro-F1 against shots]({rel})\n\n*{tname} test macro-F1. Points: \
                 mean over seeds; bars: ±1 sample standard deviation over seeds (a spread, not \
                 a confidence interval: see the paired table). The x axis holds the few-shot \
                 K values only{all_note}.{dashed_note}*\n\n"
            );
        }
        Ok(md)
    }

    /// The plot of task `t`: one series per row (dashed for contrastive
    /// rows), all-data results in the side panel when `has_all`.
    fn plot(&self, t: usize, has_all: bool) -> LinePlot {
        let tname = &self.tasks[t];
        let mut plot = LinePlot::new(
            format!("{tname}: test macro-F1 against shots per class"),
            "shots per class (K)",
            "test macro-F1",
        );
        plot.subtitle = "points: mean over seeds · bars: ±1 sample std over seeds".into();
        plot.x_log = true;
        let ks: Vec<usize> = self.cfg.shots.iter().flatten().copied().collect();
        plot.x_tick_labels = Some(ks.iter().map(|&k| (k as f64, k.to_string())).collect());
        if has_all {
            plot.side_label = Some("all data".into());
        }
        let m = Measure::MacroF1(t);
        let stat = |row: &str, shots| {
            let v = self.values(row, shots, m);
            (!v.is_empty()).then(|| mean_std(&v))
        };
        for row in &self.rows {
            let points: Vec<(f64, f64, f64)> = ks
                .iter()
                .filter_map(|&k| stat(row, Some(k)).map(|(mean, sd)| (k as f64, mean, sd)))
                .collect();
            let side = if has_all { stat(row, None) } else { None };
            if points.is_empty() && side.is_none() {
                continue;
            }
            let mut s = Series::new(row.clone(), points);
            s.dashed = is_contrastive(row);
            s.side = side;
            plot.series.push(s);
        }
        plot
    }

    /// The command that reproduces (or resumes) the study.
    fn reproduce(&self) -> String {
        let cfg = self.cfg;
        format!(
            "Reproduce: `minilm study --plans {} --contrastive-plans {} --shots {} --seeds {}{}` (resumable: finished runs are kept in `{}`).\n",
            cfg.plans.join(","),
            if cfg.contrastive_plans.is_empty() { "\"\"".to_string() } else { cfg.contrastive_plans.join(",") },
            cfg.shots.iter().map(|s| shots_label(*s)).collect::<Vec<_>>().join(","),
            cfg.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
            if cfg.baseline { "" } else { " --no-baseline" },
            cfg.json.display()
        )
    }
}

/// Write the Markdown report and the plots from `runs`: header, mean ± std
/// table, cost, paired differences, claims, contrastive rows, tally, plots.
pub fn write_report(cfg: &StudyConfig, runs: &[RunResult]) -> Result<()> {
    let report = Report {
        cfg,
        runs,
        tasks: cfg.base.tasks.iter().map(|t| t.name.clone()).collect(),
        rows: plan_names(cfg),
    };
    let sections = [
        report.header(),
        report.main_table(),
        report.cost_table(),
        report.paired_table(),
        report.claims(),
        report.contrastive(),
        report.tally(),
        report.plots()?,
        report.reproduce(),
    ];
    let md = sections
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end())
        .collect::<Vec<_>>()
        .join("\n\n")
        + "\n";
    crate::atomic::write_file(&cfg.markdown, md.as_bytes())
}

/// `file` relative to `base` when under it, else as given.
fn relative(file: &Path, base: &Path) -> String {
    file.strip_prefix(base)
        .unwrap_or(file)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert_eq!(t975(1), 12.706);
        assert_eq!(t975(4), 2.776);
        assert_eq!(t975(30), 2.042);
        assert!(t975(0).is_nan());
        // Past the table: 2.0395 (df 31), 2.0211 (df 40), 1.9840 (df 100).
        assert!((t975(31) - 2.0395).abs() < 2e-4, "{}", t975(31));
        assert!((t975(40) - 2.0211).abs() < 2e-4, "{}", t975(40));
        assert!((t975(100) - 1.9840).abs() < 2e-4, "{}", t975(100));
        assert!((t975(1_000_000) - 1.96).abs() < 1e-3);
        // Decreasing in df across the table's end.
        assert!(t975(31) < t975(30) && t975(32) < t975(31));
    }

    #[test]
    fn interval_of_a_known_sample() {
        // d = 1..5: mean 3, s = √2.5, half width 2.776·√2.5/√5 = 1.96292.
        let p = Paired::from_differences(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(p.n, 5);
        assert!((p.mean - 3.0).abs() < 1e-12);
        let (lo, hi) = p.interval.unwrap();
        assert!(
            (lo - 1.037_08).abs() < 1e-4 && (hi - 4.962_92).abs() < 1e-4,
            "{lo} {hi}"
        );
        assert_eq!(p.verdict(), Verdict::Above);
        assert_eq!(p.cell(), "**+3.000 [+1.037, +4.963]** (5)");
        // Two values straddling zero: unclear, not bold.
        let p = Paired::from_differences(&[-0.01, 0.03]);
        assert_eq!(p.verdict(), Verdict::Unclear);
        assert_eq!(p.cell(), "+0.010 [-0.244, +0.264] (2)");
        let p = Paired::from_differences(&[-0.02, -0.03, -0.025]);
        assert_eq!(p.verdict(), Verdict::Below);
        // One value: no interval; none: n/a.
        let p = Paired::from_differences(&[0.5]);
        assert_eq!(
            (p.verdict(), p.cell()),
            (Verdict::TooFew, "+0.500 [n/a] (1)".into())
        );
        assert!(p.phrase().starts_with(NO_VERDICT));
        assert_eq!(Paired::from_differences(&[]).cell(), "n/a");
    }

    #[test]
    fn median_and_spread() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_std(&[1.0]), (1.0, 0.0));
        assert!(is_contrastive("contrastive-all/heads") && !is_contrastive("last2"));
    }
}
