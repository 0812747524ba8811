//! The study report from synthetic runs (no model): the paired t interval,
//! pairing by seed, missing cells, the contrastive rows, and the plots
//! (K values on the x axis, all-data results in a side panel).

#![cfg(feature = "train")]

use minilm::train::experiment::ExperimentConfig;
use minilm::train::study::{RunResult, StudyConfig};
use minilm::train::study_report::{
    paired, paired_differences, t975, write_report, Measure, Paired, Verdict, NO_VERDICT,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fresh folder under the target directory (kept after the test, so the
/// report and plots can be looked at).
fn out_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("study-report-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A study of `plans` (plus the baseline) writing into `dir`.
fn config(dir: &Path, plans: &[&str], shots: Vec<Option<usize>>, seeds: Vec<u64>) -> StudyConfig {
    StudyConfig {
        base: ExperimentConfig::default_in(Path::new("data")),
        plans: plans.iter().map(|s| s.to_string()).collect(),
        contrastive_plans: Vec::new(),
        contrastive: minilm::train::contrastive::ContrastiveConfig::default(),
        shots,
        seeds,
        baseline: true,
        full_epochs: 1,
        markdown: dir.join("results.md"),
        json: dir.join("runs.json"),
        plots: dir.join("plots"),
    }
}

/// One run with both tasks' macro-F1 (accuracy = macro-F1 + 0.05) and one
/// out-of-domain set.
fn run(plan: &str, shots: Option<usize>, seed: u64, f1: [f64; 2], ood: f64) -> RunResult {
    RunResult {
        plan: plan.into(),
        shots,
        seed,
        test_accuracy: [f1[0] + 0.05, f1[1] + 0.05],
        test_macro_f1: f1,
        ood_accuracy: BTreeMap::from([("amazon".to_string(), ood)]),
        train_seconds: 1.0 + plan.len() as f64,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn t_interval_on_a_known_sample() {
    assert_eq!(t975(1), 12.706);
    assert_eq!(t975(4), 2.776);
    // d: mean 0.03, s = 0.0158114, half width 2.776 · s / √5 = 0.0196292.
    let p = Paired::from_differences(&[0.01, 0.03, 0.02, 0.05, 0.04]);
    assert_eq!(p.n, 5);
    assert!(close(p.mean, 0.03));
    let (lo, hi) = p.interval.unwrap();
    assert!(
        (lo - 0.010_371).abs() < 1e-6 && (hi - 0.049_629).abs() < 1e-6,
        "{lo} {hi}"
    );
    assert_eq!(p.verdict(), Verdict::Above);
    assert_eq!(p.cell(), "**+0.030 [+0.010, +0.050]** (5)");
    // Two seeds: df 1, half width 12.706 · 0.02/√2 · … contains zero.
    let p = Paired::from_differences(&[0.0, 0.02]);
    let (lo, hi) = p.interval.unwrap();
    assert!((hi - lo - 2.0 * 12.706 * 0.01).abs() < 1e-9);
    assert_eq!(p.verdict(), Verdict::Unclear);
    // One seed: no interval.
    let p = Paired::from_differences(&[0.02]);
    assert_eq!((p.interval, p.verdict()), (None, Verdict::TooFew));
    assert_eq!(p.cell(), "+0.020 [n/a] (1)");
}

#[test]
fn paired_means_use_only_seeds_present_in_both_rows() {
    let shots = Some(16);
    let mut runs = Vec::new();
    for seed in 0..5 {
        runs.push(run(
            "last2",
            shots,
            seed,
            [0.80 + 0.01 * seed as f64, 0.6],
            0.7,
        ));
    }
    for seed in [1, 2, 3, 9] {
        runs.push(run(
            "logreg",
            shots,
            seed,
            [0.70 + 0.02 * seed as f64, 0.6],
            0.7,
        ));
    }
    // Another shots value and another row must not leak in.
    runs.push(run("logreg", Some(8), 0, [0.1, 0.1], 0.1));
    runs.push(run("heads", shots, 0, [0.1, 0.1], 0.1));
    let d = paired_differences(&runs, "last2", "logreg", shots, Measure::MacroF1(0));
    let seeds: Vec<u64> = d.iter().map(|x| x.0).collect();
    assert_eq!(seeds, [1, 2, 3]);
    // Paired: 0.09, 0.08, 0.07 → 0.08 (unpaired means would give 0.82 − 0.775 = 0.045).
    let p = paired(&runs, "last2", "logreg", shots, Measure::MacroF1(0));
    assert_eq!(p.n, 3);
    assert!(close(p.mean, 0.08), "{}", p.mean);
    // s = 0.01, half width 4.303 · 0.01/√3 = 0.024843.
    let (lo, hi) = p.interval.unwrap();
    assert!(
        (lo - 0.055_157).abs() < 1e-5 && (hi - 0.104_843).abs() < 1e-5,
        "{lo} {hi}"
    );
    assert!(close(
        paired(&runs, "last2", "logreg", shots, Measure::Ood).mean,
        0.0
    ));

    // The same number in the report's paired table.
    let dir = out_dir("pairing");
    let cfg = config(
        &dir,
        &["heads", "last2"],
        vec![Some(8), shots],
        (0..5).collect(),
    );
    write_report(&cfg, &runs).unwrap();
    let md = std::fs::read_to_string(&cfg.markdown).unwrap();
    assert!(
        md.contains("| last2 | 16 | **+0.080 [+0.055, +0.105]** (3) |"),
        "{md}"
    );
}

#[test]
fn missing_rows_and_seeds_give_no_verdict_rather_than_a_panic() {
    let dir = out_dir("missing");
    let cfg = config(
        &dir,
        &["heads", "last1", "last2"],
        vec![Some(8), Some(16), None],
        vec![0, 1, 2],
    );
    // Nothing finished yet.
    write_report(&cfg, &[]).unwrap();
    let md = std::fs::read_to_string(&cfg.markdown).unwrap();
    assert!(
        md.contains("**Partial: 0 of the 36 planned runs are finished.**"),
        "{md}"
    );

    let mut runs = Vec::new();
    for seed in 0..3 {
        for (i, plan) in ["heads", "last1", "last2", "logreg"].iter().enumerate() {
            let x = 0.7 + 0.01 * i as f64 + 0.003 * seed as f64;
            runs.push(run(plan, Some(8), seed, [x, x - 0.1], x - 0.2));
        }
    }
    // 16 shots: no last2 at all, heads and logreg share one seed only.
    runs.push(run("heads", Some(16), 0, [0.8, 0.7], 0.6));
    runs.push(run("logreg", Some(16), 0, [0.82, 0.7], 0.6));
    runs.push(run("logreg", Some(16), 1, [0.83, 0.7], 0.6));
    // All data: the baseline only.
    runs.push(run("logreg", None, 0, [0.9, 0.8], 0.7));
    write_report(&cfg, &runs).unwrap();
    let md = std::fs::read_to_string(&cfg.markdown).unwrap();
    assert!(
        md.contains("**Partial: 16 of the 36 planned runs are finished.**"),
        "{md}"
    );
    // Paired table: one shared seed → no interval; no last2 → n/a.
    assert!(
        md.contains(
            "| heads | 16 | -0.020 [n/a] (1) | +0.000 [n/a] (1) | +0.000 [n/a] (1) | n/a | n/a |"
        ),
        "{md}"
    );
    // Claims: no paired seeds for last2 − heads at 16 shots, nothing at all data.
    assert!(
        md.contains(&format!("- 16 shots: {NO_VERDICT} (no paired seeds).")),
        "{md}"
    );
    assert!(
        md.contains(&format!("- all data: {NO_VERDICT} (no paired seeds).")),
        "{md}"
    );
    assert!(md.contains(&format!("16 shots, topic macro-F1: best row heads (0.800); heads − logreg {NO_VERDICT} (1 paired seed)")), "{md}");
    // No contrastive rows: no such section.
    assert!(!md.contains("Contrastive rows"), "{md}");
    // At 8 shots the paired numbers exist: last2 − heads = +0.020 exactly on every seed.
    assert!(
        md.contains("- 8 shots: topic macro-F1 **+0.020 [+0.020, +0.020]** (3)"),
        "{md}"
    );
}

/// The contrastive rows' offsets from logreg on topic macro-F1 at 16 shots,
/// per seed: mean +0.035, s = 0.0070711.
const OFFSETS: [f64; 5] = [0.025, 0.035, 0.045, 0.035, 0.035];

#[test]
fn report_covers_contrastive_rows_and_plots_all_data_apart() {
    let dir = out_dir("contrastive");
    let plans = [
        "heads",
        "last1",
        "last2",
        "all",
        "contrastive-last2/heads",
        "contrastive-last2/logreg",
        "contrastive-all/heads",
        "contrastive-all/logreg",
    ];
    let shots = vec![Some(8), Some(16), Some(64), None];
    let cfg = config(&dir, &plans, shots.clone(), (0..5).collect());
    let mut runs = Vec::new();
    for (k, &s) in shots.iter().enumerate() {
        for seed in 0..5u64 {
            let base = 0.75 + 0.05 * k as f64 + 0.004 * seed as f64;
            runs.push(run("logreg", s, seed, [base, base - 0.15], base - 0.1));
            for (i, plan) in plans.iter().enumerate() {
                // Deterministic per-seed wobble.
                let wobble = ((seed * 7 + i as u64 * 3 + k as u64) % 5) as f64 * 0.004 - 0.008;
                let mut x = base - 0.02 + 0.008 * i as f64 + wobble;
                if *plan == "contrastive-last2/logreg" && s == Some(16) {
                    x = base + OFFSETS[seed as usize];
                }
                // contrastive-all/logreg has a single seed at 8 shots.
                if *plan == "contrastive-all/logreg" && s == Some(8) && seed > 0 {
                    continue;
                }
                runs.push(run(plan, s, seed, [x, x - 0.15], x - 0.1));
            }
        }
    }
    write_report(&cfg, &runs).unwrap();
    let md = std::fs::read_to_string(&cfg.markdown).unwrap();
    assert!(
        md.contains("## Contrastive rows against the baseline"),
        "{md}"
    );
    // mean 0.035, half width 2.776 · 0.0070711/√5 = 0.008779.
    assert!(
        md.contains("- 16 shots: contrastive-last2/logreg vs logreg: topic **+0.035 [+0.026, +0.044]** (5), sentiment **+0.035 [+0.026, +0.044]** (5), out-of-domain **+0.035 [+0.026, +0.044]** (5)."),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "- 8 shots: contrastive-all/logreg vs logreg: {NO_VERDICT}"
        )),
        "{md}"
    );
    for row in plans.iter().filter(|p| p.starts_with("contrastive")) {
        assert!(
            md.contains(&format!("| {row} | 16 | ")),
            "paired table lacks {row}"
        );
    }
    // Every image has a caption saying what the points and bars are.
    assert_eq!(md.matches("![").count(), 2);
    assert_eq!(
        md.matches("Points: mean over seeds; bars: ±1 sample standard deviation")
            .count(),
        2
    );
    assert!(!md.contains("more than one std"));

    let svg = std::fs::read_to_string(cfg.plots.join("study-topic-macro-f1.svg")).unwrap();
    assert!(svg.contains("bars: ±1 sample std"), "subtitle");
    // K values on the x axis, all data in the side panel, not as a tick.
    for k in ["8", "16", "64"] {
        assert!(svg.contains(&format!(">{k}</text>")), "tick {k}");
    }
    assert!(svg.contains(">all data</text>"));
    // "all" appears once: the legend entry of the row named all, not a tick.
    assert_eq!(svg.matches(">all</text>").count(), 1);
    assert!(svg.contains("contrastive-all/logreg") && svg.contains("stroke-dasharray"));
    // Nine rows, nine distinct colours.
    let colours: std::collections::BTreeSet<&str> =
        minilm::train::svg::PALETTE[..9].iter().copied().collect();
    assert_eq!(colours.len(), 9);
    for c in colours {
        assert!(svg.contains(c), "colour {c}");
    }
}
