//! `minilm study`: the freezing study (plans × shots × seeds, plus a
//! logistic-regression baseline), written to docs/results.md.

use super::spec::{CommandSpec, Opt, Section};
use super::train::experiment_config;
use super::{apply_threads, model_dir};
use crate::error::{Error, Result};
use crate::train::contrastive::ContrastiveConfig;
use crate::train::experiment::{ExperimentConfig, Method};
use crate::train::study::{self, StudyConfig};
use std::path::PathBuf;

/// Plans of the classification rows, unless `--plans`.
const PLANS: &str = "heads,last1,last2,all";
/// Plans of the contrastive rows, unless `--contrastive-plans`.
const CONTRASTIVE_PLANS: &str = "last2,all";
/// Shots per class, unless `--shots`.
const SHOTS: &str = "8,16,64,all";
/// Seeds, unless `--seeds`.
const SEEDS: &str = "0,1,2,3,4";
/// Epochs of the runs on all the data, unless `--full-epochs`.
const FULL_EPOCHS: usize = 1;
/// Where the report goes, unless `--report`.
const REPORT: &str = "docs/results.md";
/// Where the runs are kept, unless `--results`.
const RESULTS: &str = "docs/study/runs.json";
/// Where the plots go, unless `--plots`.
const PLOTS: &str = "docs/study";

/// The command line of `minilm study`: its own options, then `minilm
/// train`'s (from its table) but those the study sets itself.
pub fn spec() -> CommandSpec {
    let own = vec![
        Opt::value("plans", "LIST", "plans of the classification rows").default(PLANS),
        Opt::value(
            "contrastive-plans",
            "LIST",
            "plans of the contrastive rows, two rows each (heads trained, or\nlogistic regression; one stage-1 tuning shared)",
        )
        .default(CONTRASTIVE_PLANS),
        Opt::value("shots", "LIST", "training examples per class (numbers or all)").default(SHOTS),
        Opt::value("seeds", "LIST", "seeds of the samples").default(SEEDS),
        Opt::value("full-epochs", "N", "epochs of the runs on all the data (shots all)")
            .default(FULL_EPOCHS),
        Opt::switch("no-baseline", "skip the logistic-regression baseline"),
        Opt::switch("report-only", "write the report from the runs finished so far"),
        Opt::value("report", "FILE", "the Markdown report").default(REPORT),
        Opt::value("results", "FILE", "the runs, kept as they finish").default(RESULTS),
        Opt::value("plots", "DIR", "the SVG plots").default(PLOTS),
    ];
    let mut sections = vec![Section {
        title: "study",
        options: own,
    }];
    let train = super::train::spec();
    let set_here = ["plan", "out", "examples", "config", "resume", "shots"];
    sections.extend(train.sections_without(&set_here));
    CommandSpec {
        name: "study",
        summary: "the few-shot study: plans × shots × seeds, baseline, report",
        usage: &[],
        positionals: false,
        about: "Trains every plan at every shots-per-class and seed, evaluates on the test and
out-of-domain sets, fits the logistic-regression baseline on the same samples,
and writes mean ± std tables, SVG plots and statements about the original
claims. The contrastive rows use the contrastive options below (--pair-loss
…). Resumable: runs already in the results file (same settings) are
skipped.",
        sections,
        footer: "",
    }
}

/// Run `minilm study`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
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
    let shots = list("shots", SHOTS)
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
    let seeds = list("seeds", SEEDS)
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
        plans: list("plans", PLANS),
        contrastive_plans: list("contrastive-plans", CONTRASTIVE_PLANS),
        contrastive: match &base.method {
            Method::Contrastive(c) => c.clone(),
            Method::Classify => ContrastiveConfig::default(),
        },
        shots,
        seeds,
        baseline: !args.switch("no-baseline"),
        full_epochs: args.parsed("full-epochs")?.unwrap_or(FULL_EPOCHS),
        markdown: PathBuf::from(args.value("report").unwrap_or(REPORT)),
        json: PathBuf::from(args.value("results").unwrap_or(RESULTS)),
        plots: PathBuf::from(args.value("plots").unwrap_or(PLOTS)),
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
