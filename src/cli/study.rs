//! `minilm study`: the freezing study (plans × shots × seeds, plus a
//! logistic-regression baseline), written to docs/results.md.

use super::args::Args;
use super::train::experiment_config;
use super::{apply_threads, model_dir};
use crate::error::{Error, Result};
use crate::train::contrastive::ContrastiveConfig;
use crate::train::experiment::{ExperimentConfig, Method};
use crate::train::study::{self, StudyConfig};
use std::path::PathBuf;

const HELP: &str = "usage: minilm study [--plans LIST] [--contrastive-plans LIST] [--shots LIST] [--seeds LIST] [--full-epochs N] [--no-baseline] [--report-only]
                    [--report FILE] [--results FILE] [--plots DIR] [train options…]

Trains every plan at every shots-per-class and seed, evaluates on the test and
out-of-domain sets, fits the logistic-regression baseline on the same samples,
and writes mean ± std tables, SVG plots and statements about the original
claims. --contrastive-plans adds the contrastive method on those plans,
two rows each (heads trained, or logistic regression; one stage-1 tuning
shared), with the contrastive options of `minilm train` (--method
contrastive --pair-loss … to change them). Defaults: --plans
heads,last1,last2,all --contrastive-plans last2,all --shots 8,16,64,all
--seeds 0,1,2,3,4 --full-epochs 1 --report docs/results.md
--results docs/study/runs.json --plots docs/study. Resumable: runs already in
the results file (same settings) are skipped; --report-only writes the
report from the runs finished so far. Training options are those of
`minilm train` (--epochs, --lr-heads, data files, …).";

/// Run `minilm study`.
pub fn run(argv: &[String]) -> Result<()> {
    let mut valued: Vec<&str> = vec![
        "plans",
        "contrastive-plans",
        "seeds",
        "full-epochs",
        "report",
        "results",
        "plots",
    ];
    valued.extend(
        super::train::VALUED
            .iter()
            .filter(|v| !["plan", "out", "examples", "config"].contains(v)),
    );
    let mut switches: Vec<&str> = vec!["no-baseline", "report-only"];
    switches.extend(super::train::SWITCHES);
    let args = Args::parse(argv, &valued, &switches)?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    apply_threads(&args)?;
    let base = experiment_config(&args, false)?;
    let list = |k: &str, d: &str| -> Vec<String> {
        args.value(k)
            .unwrap_or(d)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let shots = list("shots", "8,16,64,all")
        .iter()
        .map(|s| {
            if s == "all" {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| Error::msg(format!("--shots: bad value {s:?}")))
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let seeds = list("seeds", "0,1,2,3,4")
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| Error::msg(format!("--seeds: bad value {s:?}")))
        })
        .collect::<Result<Vec<u64>>>()?;
    let cfg = StudyConfig {
        base: ExperimentConfig {
            method: Method::Classify,
            // Rows set their own plans; the base keeps the classification
            // default, so the recorded settings do not depend on `train`'s.
            train: crate::train::trainer::TrainConfig {
                plan: Method::Classify.default_plan().to_string(),
                ..base.train.clone()
            },
            ..base.clone()
        },
        plans: list("plans", "heads,last1,last2,all"),
        contrastive_plans: list("contrastive-plans", "last2,all"),
        contrastive: match &base.method {
            Method::Contrastive(c) => c.clone(),
            Method::Classify => ContrastiveConfig::default(),
        },
        shots,
        seeds,
        baseline: !args.switch("no-baseline"),
        full_epochs: args.parsed("full-epochs")?.unwrap_or(1),
        markdown: PathBuf::from(args.value("report").unwrap_or("docs/results.md")),
        json: PathBuf::from(args.value("results").unwrap_or("docs/study/runs.json")),
        plots: PathBuf::from(args.value("plots").unwrap_or("docs/study")),
    };
    if let Some(dir) = cfg.json.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let quiet = args.switch("quiet");
    if args.switch("report-only") {
        study::report_only(&cfg)?;
        println!("wrote {}", cfg.markdown.display());
        return Ok(());
    }
    let encoder = super::trainable_encoder(&model_dir(&args))?;
    study::run(&encoder, &cfg, &mut |s| {
        if !quiet {
            eprintln!("{s}");
        }
    })?;
    println!("wrote {}", cfg.markdown.display());
    Ok(())
}
