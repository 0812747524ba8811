//! `minilm train`: fine-tune the multi-task model, evaluate it on seen,
//! unseen and out-of-domain data, save the best checkpoint and show a few
//! predictions. With no options it runs the default few-shot experiment on
//! the data fetched by `data/fetch.sh`.

use super::args::Args;
use super::spec::{common, CommandSpec, Opt, Section};
use super::{apply_threads, model_dir};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::sha256::sha256_file;
use crate::train::checkpoint::{self, Meta};
use crate::train::contrastive::{ContrastiveConfig, HeadFit};
use crate::train::experiment::{self, ExperimentConfig, Method, Outcome};
use crate::train::pair_loss::PairLoss;
use crate::train::predict::predict_probs;
use crate::train::resume;
use crate::train::task::Task;
use crate::train::trainer::{Control, TrainConfig, TrainState};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Predictions printed per task after training, unless `--examples`.
const DEFAULT_EXAMPLES: usize = 3;

/// The folder of the default data files, unless `--data`.
const DEFAULT_DATA_DIR: &str = "data";

/// The command line of `minilm train`: every option once, its default
/// from the config types ([`ExperimentConfig::default_in`],
/// [`TrainConfig`], [`ContrastiveConfig`]). All but `--config` and
/// `--resume` may come from a `--config` file; only the options marked
/// `resume` (`--threads`, `--model`, `--quiet`) may come beside `--resume`.
pub fn spec() -> CommandSpec {
    let mut sections = vec![
        data_section(),
        Section {
            title: "sampling",
            options: sampling_options(),
        },
        Section {
            title: "method",
            options: method_options(),
        },
        Section {
            title: "training",
            options: training_options(),
        },
        Section {
            title: "output",
            options: output_options(),
        },
    ];
    for o in sections.iter_mut().flat_map(|s| &mut s.options) {
        o.config = o.name != "config";
    }
    let resumable: Vec<String> = sections
        .iter()
        .flat_map(|s| &s.options)
        .filter(|o| o.resume)
        .map(|o| format!("--{}", o.name))
        .collect();
    sections.push(Section {
        title: "resuming",
        options: vec![Opt::value(
            "resume",
            "OUT",
            format!(
                "continue that run with its own options (only {} may be\ngiven beside it); it ends in the same weights as a run never stopped",
                resumable.join(", ")
            ),
        )],
    });
    CommandSpec {
        name: "train",
        summary: "fine-tune the two-task model (classify, or the contrastive few-shot method)",
        usage: &[],
        positionals: false,
        about: "Trains the two-task model (task A: topic, task B: sentiment) few-shot, keeps
the best epoch by validation score, evaluates it and writes a checkpoint. By
default with the contrastive method on plan all: the study's best at 16 shots
per class (docs/results.md). Data files may be .jsonl, .csv, .tsv, .tab
(Orange) or .json (array).",
        sections,
        footer: "A resume state is written to OUT.resume/ after every epoch and on Ctrl-C
(SIGINT: the run stops before its next step, saves, exits with status 1).",
    }
}

/// `--data` and the files, named after the default experiment's.
fn data_section() -> Section {
    let d = ExperimentConfig::default_in(Path::new(""));
    let [a, b] = &d.tasks;
    let name = |p: &Path| p.display().to_string();
    let file = |p: &Option<PathBuf>| p.as_deref().map(name).unwrap_or_default();
    let ood: Vec<String> = b.out_of_domain.iter().map(|p| name(p)).collect();
    Section {
        title: "data (defaults: the files data/fetch.sh writes, under --data)",
        options: vec![
            Opt::value("data", "DIR", "folder of the default files").default(DEFAULT_DATA_DIR),
            Opt::value("task-a-train", "FILE", "task A training pool").default(name(&a.train)),
            Opt::value("task-a-val", "FILE", "task A validation pool")
                .default("held out of the training pool"),
            Opt::value("task-a-test", "FILE", "task A test split").default(file(&a.test)),
            Opt::value("task-b-train", "FILE", "task B training pool").default(name(&b.train)),
            Opt::value("task-b-val", "FILE", "task B validation pool").default(file(&b.validation)),
            Opt::value("task-b-test", "FILE", "task B test split").default(file(&b.test)),
            Opt::value("ood", "FILE[,FILE…]", "out-of-domain sets for task B")
                .default(ood.join(",")),
            Opt::value("task-a-name", "NAME", "task A's name").default(&a.name),
            Opt::value("task-b-name", "NAME", "task B's name").default(&b.name),
            Opt::value("text-field", "NAME", "text field or column").default(&d.text_field),
            Opt::value("label-field", "NAME", "label field or column").default(&d.label_field),
        ],
    }
}

/// `--shots` and `--val-per-class`.
fn sampling_options() -> Vec<Opt> {
    let d = ExperimentConfig::default_in(Path::new(""));
    let shots = d.shots.map_or("all".to_string(), |k| k.to_string());
    vec![
        Opt::value("shots", "K|all", "training examples per class").default(shots),
        Opt::value("val-per-class", "N", "validation examples per class").default(d.val_per_class),
    ]
}

/// `--method` and the contrastive method's options.
fn method_options() -> Vec<Opt> {
    let c = ContrastiveConfig::default();
    vec![
        Opt::value(
            "method",
            "NAME",
            "contrastive: tune the plan's layers on pairs (SetFit-style), then\nfit the heads on the tuned embeddings; classify: cross-entropy\nthrough the heads, the plan's layers training with them",
        )
        .default(Method::default().name()),
        Opt::value(
            "pairs-per-example",
            "R",
            "contrastive: pairs per example per epoch, half same-class, half\nother-class",
        )
        .default(c.pairs_per_example),
        Opt::value("stage1-epochs", "N", "contrastive: epochs of pair tuning").default(c.epochs),
        Opt::value(
            "pair-loss",
            "NAME",
            "contrastive: cosine ((cos − target)², as SetFit) or supcon\n(supervised contrastive, τ = 0.07)",
        )
        .default(c.loss.name()),
        Opt::value(
            "lr-stage1",
            "X",
            "contrastive: peak encoder learning rate of stage 1",
        )
        .default(c.lr),
        Opt::value(
            "head-fit",
            "NAME",
            "contrastive: logreg (logistic regression, L2 λ = 1/n) or train\n(the loop, heads only: --epochs, --lr-heads)",
        )
        .default(c.head_fit.name()),
    ]
}

/// The training loop's options.
fn training_options() -> Vec<Opt> {
    let t = TrainConfig::default();
    let plans = format!(
        "{} with contrastive, {} with classify",
        Method::Contrastive(ContrastiveConfig::default()).default_plan(),
        Method::Classify.default_plan()
    );
    vec![
        Opt::value(
            "plan",
            "NAME",
            "frozen|heads|last1|last2|all[,freeze-a|,freeze-b]",
        )
        .default(plans),
        Opt::value("epochs", "N", "passes over the training sample").default(t.epochs),
        Opt::value(
            "max-steps",
            "N",
            "stop after N optimizer steps (default: no limit)",
        ),
        Opt::value("batch-size", "N", "examples per task per step").default(t.batch_size),
        Opt::value(
            "lr-encoder",
            "X",
            "peak learning rate of the encoder layers",
        )
        .default(t.lr_encoder),
        Opt::value("lr-heads", "X", "peak learning rate of the heads").default(t.lr_heads),
        Opt::value("weight-decay", "X", "AdamW's decoupled weight decay").default(t.weight_decay),
        Opt::value(
            "warmup",
            "FRACTION",
            "share of the steps with a rising learning rate",
        )
        .default(t.warmup),
        Opt::value("clip-norm", "X", "global gradient-norm clip (0: off)").default(t.clip_norm),
        Opt::value("loss-weights", "A,B", "weights of the two tasks' losses")
            .default(format!("{},{}", t.loss_weights[0], t.loss_weights[1])),
        Opt::value("seed", "N", "seed of the samples, the order and dropout").default(t.seed),
        Opt::switch("no-dropout", "train without dropout"),
        Opt::switch(
            "no-cache",
            "recompute the frozen layers every step (same result, slower)",
        ),
        Opt::switch("normalize", "heads read L2-normalised embeddings"),
        Opt::value(
            "config",
            "FILE.json",
            "any option above as {\"option-name\": value} (given options win)",
        ),
    ]
}

/// Where the checkpoint goes, what is printed, and the run's machine.
fn output_options() -> Vec<Opt> {
    vec![
        Opt::value("out", "DIR", "checkpoint folder")
            .default("runs/contrastive-<plan>, or runs/<plan> with classify"),
        Opt::value("examples", "N", "predictions to print per task").default(DEFAULT_EXAMPLES),
        Opt::switch("quiet", "no progress output").resume(),
        common::model(false).resume(),
        common::threads().resume(),
    ]
}

/// Build the experiment from the options (`--shots` is read unless
/// `with_shots` is false, as in the study, which takes a list).
pub fn experiment_config(args: &Args, with_shots: bool) -> Result<ExperimentConfig> {
    let data = PathBuf::from(args.value("data").unwrap_or(DEFAULT_DATA_DIR));
    let mut cfg = ExperimentConfig::default_in(&data);
    let path = |k: &str| args.value(k).map(PathBuf::from);
    let [a, b] = &mut cfg.tasks;
    if let Some(p) = path("task-a-train") {
        a.train = p;
    }
    if let Some(p) = path("task-a-val") {
        a.validation = Some(p);
    }
    if let Some(p) = path("task-a-test") {
        a.test = Some(p);
    }
    if let Some(p) = path("task-b-train") {
        b.train = p;
    }
    if let Some(p) = path("task-b-val") {
        b.validation = Some(p);
    }
    if let Some(p) = path("task-b-test") {
        b.test = Some(p);
    }
    if let Some(o) = args.value("ood") {
        b.out_of_domain = o
            .split(',')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
    }
    if let Some(n) = args.value("task-a-name") {
        a.name = n.to_string();
    }
    if let Some(n) = args.value("task-b-name") {
        b.name = n.to_string();
    }
    if let Some(f) = args.value("text-field") {
        cfg.text_field = f.to_string();
    }
    if let Some(f) = args.value("label-field") {
        cfg.label_field = f.to_string();
    }
    match args.value("shots").filter(|_| with_shots) {
        None => {}
        Some("all") => cfg.shots = None,
        Some(_) => cfg.shots = Some(positive(args, "shots")?),
    }
    if let Some(n) = args.parsed("val-per-class")? {
        cfg.val_per_class = n;
    }
    cfg.method = method(args)?;
    let t = &mut cfg.train;
    t.plan = args
        .value("plan")
        .unwrap_or(cfg.method.default_plan())
        .to_string();
    if args.value("epochs").is_some() {
        t.epochs = positive(args, "epochs")?;
    }
    if args.value("max-steps").is_some() {
        t.max_steps = Some(positive(args, "max-steps")?);
    }
    if args.value("batch-size").is_some() {
        t.batch_size = positive(args, "batch-size")?;
    }
    for (k, dst) in [
        ("lr-encoder", &mut t.lr_encoder),
        ("lr-heads", &mut t.lr_heads),
        ("weight-decay", &mut t.weight_decay),
        ("clip-norm", &mut t.clip_norm),
    ] {
        if let Some(v) = args.parsed::<f32>(k)? {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::msg(format!("--{k} must be a finite number ≥ 0")));
            }
            *dst = v;
        }
    }
    if let Some(w) = args.parsed::<f32>("warmup")? {
        if !(0.0..=1.0).contains(&w) {
            return Err(Error::msg("--warmup must be a fraction in [0, 1]"));
        }
        t.warmup = w;
    }
    if let Some(w) = args.value("loss-weights") {
        let v: Vec<f32> = w
            .split(',')
            .map(|x| x.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| {
                Error::msg(format!("--loss-weights: cannot parse {w:?} (expected A,B)"))
            })?;
        if v.len() != 2 || v.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(Error::msg(format!(
                "--loss-weights: expected two weights ≥ 0, got {w:?}"
            )));
        }
        t.loss_weights = [v[0], v[1]];
    }
    if let Some(s) = args.parsed("seed")? {
        t.seed = s;
    }
    let t = &mut cfg.train;
    t.dropout = !args.switch("no-dropout");
    t.cache_prefix = !args.switch("no-cache");
    t.normalize = args.switch("normalize");
    t.quiet = args.switch("quiet");
    Ok(cfg)
}

/// `--method` and the contrastive options (an error if given without it).
fn method(args: &Args) -> Result<Method> {
    const OPTIONS: [&str; 5] = [
        "pairs-per-example",
        "stage1-epochs",
        "pair-loss",
        "lr-stage1",
        "head-fit",
    ];
    let default = Method::default();
    match args.value("method").unwrap_or(default.name()) {
        "classify" => match OPTIONS.iter().find(|k| args.value(k).is_some()) {
            Some(k) => Err(Error::msg(format!("--{k} needs --method contrastive"))),
            None => Ok(Method::Classify),
        },
        "contrastive" => {
            let mut c = ContrastiveConfig::default();
            if args.value("pairs-per-example").is_some() {
                c.pairs_per_example = positive(args, "pairs-per-example")?;
            }
            if args.value("stage1-epochs").is_some() {
                c.epochs = positive(args, "stage1-epochs")?;
            }
            if let Some(l) = args.value("pair-loss") {
                c.loss = PairLoss::parse(l)?;
            }
            if let Some(v) = args.parsed::<f32>("lr-stage1")? {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(Error::msg("--lr-stage1 must be a finite number ≥ 0"));
                }
                c.lr = v;
            }
            if let Some(h) = args.value("head-fit") {
                c.head_fit = HeadFit::parse(h)?;
            }
            c.batch_size = cfg_batch(args)?;
            Ok(Method::Contrastive(c))
        }
        other => Err(Error::msg(format!(
            "--method: unknown method {other:?} (expected classify or contrastive)"
        ))),
    }
}

/// `--batch-size`, or the default.
fn cfg_batch(args: &Args) -> Result<usize> {
    if args.value("batch-size").is_some() {
        positive(args, "batch-size")
    } else {
        Ok(crate::train::trainer::TrainConfig::default().batch_size)
    }
}

fn positive(args: &Args, k: &str) -> Result<usize> {
    match args.parsed::<usize>(k)? {
        Some(n) if n > 0 => Ok(n),
        _ => Err(Error::msg(format!("--{k} must be a positive integer"))),
    }
}

/// Set by Ctrl-C (SIGINT): the trainer saves its state and stops before
/// its next step. A second Ctrl-C exits at once (the resume state on disk is
/// written atomically, so it is the previous one or the new one, whole).
static STOP: AtomicBool = AtomicBool::new(false);

/// Where the resume state of a run writing its checkpoint to `out` goes:
/// the sibling folder `OUT.resume` (the checkpoint folder itself is
/// replaced whole on every save).
pub fn resume_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".resume");
    out.with_file_name(name)
}

/// Run `minilm train`.
pub fn run(argv: &[String]) -> Result<()> {
    let spec = spec();
    let Some(given) = spec.parse(argv)? else {
        return Ok(());
    };
    let Some(out) = given.value("resume") else {
        return run_from(&spec, argv, None);
    };
    if let Some(k) = spec.not_resumable(&given) {
        return Err(Error::usage(format!(
            "--resume continues a run with its own options; --{k} cannot be changed (minilm train --help)"
        )));
    }
    let rdir = resume_dir(Path::new(out));
    let (state, run) = resume::load(&rdir)?;
    let mut args: Vec<String> = run
        .get("args")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
        .ok_or_else(|| Error::file(&rdir.join("resume.json"), "missing run.args"))?;
    // A run saved before `--method` existed was a classification run (the
    // default then); newer runs always record their method.
    if !args.iter().any(|a| a.starts_with("--method")) {
        args.push("--method=classify".into());
    }
    args.extend(spec.resumable_args(&given));
    run_from(&spec, &args, Some((state, run)))
}

/// The options of a run: `--config`'s file first, so options given on
/// the command line win.
fn parse_run_args(spec: &CommandSpec, argv: &[String]) -> Result<Args> {
    let first = spec.parse_again(argv)?;
    let Some(config) = first.value("config") else {
        return Ok(first);
    };
    let mut all = spec.config_args(Path::new(config))?;
    all.extend(argv.iter().cloned());
    spec.parse_again(&all)
}

/// `--out`, or `runs/<plan>` (`runs/contrastive-<plan>` for that method).
fn out_dir(args: &Args, cfg: &ExperimentConfig) -> PathBuf {
    PathBuf::from(
        args.value("out")
            .map(str::to_string)
            .unwrap_or_else(|| match cfg.method {
                Method::Classify => format!("runs/{}", cfg.train.plan),
                Method::Contrastive(_) => format!("runs/contrastive-{}", cfg.train.plan),
            }),
    )
}

/// What a checkpoint's `meta.json` says of a run.
struct RunInfo {
    base_sha: String,
    plan: crate::train::Plan,
    hyper: Value,
}

impl RunInfo {
    fn meta(&self, model: &crate::train::MultiTaskModel, metrics: Value, step: u64) -> Meta {
        Meta {
            base_model_sha256: self.base_sha.clone(),
            plan: self.plan.to_string(),
            heads: [model.spec(Task::A).clone(), model.spec(Task::B).clone()],
            normalize: model.normalize(),
            hyperparameters: self.hyper.clone(),
            metrics,
            step,
        }
    }
}

/// Ctrl-C sets [`STOP`]; a second one exits at once.
fn install_stop_handler() {
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nminilm: interrupted; saving the resume state before the next step (Ctrl-C again: exit now)");
    });
}

fn run_from(
    spec: &CommandSpec,
    argv: &[String],
    resume: Option<(TrainState, Value)>,
) -> Result<()> {
    let args = parse_run_args(spec, argv)?;
    apply_threads(&args)?;
    let cfg = experiment_config(&args, true)?;
    let out = out_dir(&args, &cfg);
    let shown: usize = args.parsed("examples")?.unwrap_or(DEFAULT_EXAMPLES);
    let dir = model_dir(&args);
    let quiet = cfg.train.quiet;
    let say = |s: &str| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    say(&format!("loading model from {}", dir.display()));
    let encoder = super::trainable_encoder(&dir)?;
    let info = RunInfo {
        base_sha: sha256_file(&dir.join("model.safetensors"))?,
        plan: crate::train::Plan::parse(&cfg.train.plan, encoder.config().num_layers)?,
        hyper: serde_json::json!({"train": cfg.train.to_json(), "method": cfg.method.to_json(), "shots": cfg.shots, "val_per_class": cfg.val_per_class}),
    };
    let rdir = resume_dir(&out);
    // The method is recorded explicitly, so a resume means the same run
    // even if the default method changes.
    let mut saved_args = argv.to_vec();
    if args.value("method").is_none() {
        saved_args.push(format!("--method={}", cfg.method.name()));
    }
    let run_json = serde_json::json!({"args": saved_args, "base_model_sha256": info.base_sha});
    let mut control = Control::default();
    let mut saved = false;
    if let Some((state, run)) = resume {
        if run.get("base_model_sha256").and_then(Value::as_str) != Some(info.base_sha.as_str()) {
            return Err(Error::file(
                &rdir,
                format!(
                    "resume state was made with another base model than {}",
                    dir.display()
                ),
            ));
        }
        say(&format!(
            "resuming at step {} (epoch {})",
            state.step, state.epoch
        ));
        saved = state.best.is_some();
        control.resume = Some(state);
    }
    install_stop_handler();
    control.stop = Some(&STOP);
    let mut save_state = |st: &TrainState| resume::save(&rdir, st, &run_json);
    control.save = Some(&mut save_state);
    let mut on_epoch = |model: &crate::train::MultiTaskModel,
                        log: &crate::train::trainer::EpochLog,
                        best: bool,
                        _opt: &crate::train::adamw::AdamW|
     -> Result<()> {
        if best {
            let metrics = serde_json::json!({"epoch": log.epoch, "val_macro_f1": log.val_macro_f1, "score": log.score});
            checkpoint::save(&out, model, &info.plan, &info.meta(model, metrics, 0), None)?;
            saved = true;
        }
        Ok(())
    };
    let mut log = |s: &str| say(s);
    let outcome = match experiment::run_with(&encoder, &cfg, &mut on_epoch, &mut log, &mut control)
    {
        Err(e) if e.is_interrupted() => {
            return Err(Error::msg(format!(
                "{e}; state saved to {}; continue with: minilm train --resume {}",
                rdir.display(),
                out.display()
            )))
        }
        r => r?,
    };
    drop(control);
    // Finished: the resume state has served its purpose.
    let _ = std::fs::remove_dir_all(&rdir);
    // A contrastive run's heads exist only once stage 2 is done: its
    // checkpoint is written here, not at its stage-1 epochs.
    saved |= outcome.report.steps > 0;
    if saved {
        // Rewrite the best checkpoint's metadata with the final evaluation.
        let meta = info.meta(
            &outcome.model,
            outcome.to_json(),
            outcome.report.steps as u64,
        );
        checkpoint::save(&out, &outcome.model, &info.plan, &meta, None)?;
    }
    print_outcome(&outcome);
    if saved {
        println!("\ncheckpoint: {}", out.display());
    }
    print_examples(&encoder, &outcome, &cfg, shown)?;
    Ok(())
}

fn print_outcome(o: &Outcome) {
    let r = &o.report;
    println!(
        "\ntrained {} steps in {:.1} s ({:.1} examples/s; prefix cache {:.1} s), best epoch {} (validation score {:.4})",
        r.steps, r.train_seconds, r.examples_per_second, r.cache_seconds, r.best_epoch, r.best_score
    );
    for e in &o.evaluations {
        println!(
            "\n== {} · {} · {} examples · accuracy {:.4} · macro-F1 {:.4}\n{}",
            o.model.spec(e.task).name,
            e.set,
            e.metrics.n,
            e.metrics.accuracy,
            e.metrics.macro_f1,
            e.metrics.table()
        );
    }
}

fn print_examples(encoder: &Encoder, o: &Outcome, cfg: &ExperimentConfig, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    println!("\nsome predictions on unseen data:");
    for t in Task::ALL {
        let Some(test) = &cfg.tasks[t.index()].test else {
            continue;
        };
        let ds = crate::train::data::read(
            test,
            &crate::train::data::ReadOptions::default().fields(&cfg.text_field, &cfg.label_field),
        )?;
        let picks: Vec<&crate::train::data::Example> = ds
            .examples
            .iter()
            .step_by((ds.len() / n).max(1))
            .take(n)
            .collect();
        let texts: Vec<&str> = picks.iter().map(|e| e.text.as_str()).collect();
        let tokens = encoder.tokenize(&texts)?;
        let probs = predict_probs(&o.model, &tokens, t, 32)?;
        let spec = o.model.spec(t);
        for (e, p) in picks.iter().zip(&probs) {
            let (best, conf) =
                p.iter()
                    .enumerate()
                    .fold((0, 0.0f32), |m, (i, &v)| if v > m.1 { (i, v) } else { m });
            let short: String = e.text.chars().take(90).collect();
            let ell = if e.text.chars().count() > 90 {
                "…"
            } else {
                ""
            };
            println!(
                "  {}: {:<10} ({:.2}; true {:<10}) {short}{ell}",
                spec.name, spec.classes[best], conf, e.label
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_and_config_file_agree_with_the_command_line() {
        let spec = spec();
        // No option given: the experiment is the config types' default.
        let none = spec.parse_again(&[]).unwrap();
        let cfg = experiment_config(&none, true).unwrap();
        let default = ExperimentConfig::default_in(Path::new(DEFAULT_DATA_DIR));
        assert_eq!(cfg.train.to_json(), default.train.to_json());
        assert_eq!(cfg.method.to_json(), default.method.to_json());
        assert_eq!(
            (cfg.shots, cfg.val_per_class),
            (default.shots, default.val_per_class)
        );
        // Every option but --config and --resume may come from the file, and
        // the same settings from the file and from the command line agree.
        for o in spec.options() {
            assert_eq!(
                o.config,
                !["config", "resume"].contains(&o.name),
                "--{}",
                o.name
            );
        }
        let dir = std::env::temp_dir().join(format!("minilm-train-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.json");
        std::fs::write(
            &file,
            r#"{"epochs": 3, "lr-heads": 0.01, "no-dropout": true, "loss-weights": [1, 2], "method": "classify"}"#,
        )
        .unwrap();
        let from_file = parse_run_args(&spec, &s(&["--config", file.to_str().unwrap()])).unwrap();
        let given = spec
            .parse_again(&s(&[
                "--epochs",
                "3",
                "--lr-heads",
                "0.01",
                "--no-dropout",
                "--loss-weights",
                "1,2",
                "--method",
                "classify",
            ]))
            .unwrap();
        let (a, b) = (
            experiment_config(&from_file, true).unwrap(),
            experiment_config(&given, true).unwrap(),
        );
        assert_eq!(a.train.to_json(), b.train.to_json());
        assert_eq!(a.method.to_json(), b.method.to_json());
        // A given option wins over the file's.
        let both = parse_run_args(
            &spec,
            &s(&["--config", file.to_str().unwrap(), "--epochs", "5"]),
        )
        .unwrap();
        assert_eq!(experiment_config(&both, true).unwrap().train.epochs, 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
