//! `minilm train`: fine-tune the multi-task model, evaluate it on seen,
//! unseen and out-of-domain data, save the best checkpoint and show a few
//! predictions. With no options it runs the default few-shot experiment on
//! the data fetched by `data/fetch.sh`.

use super::args::Args;
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
use crate::train::trainer::{Control, TrainState};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

const HELP: &str = "usage: minilm train [options]

Trains the two-task model (task A: topic, task B: sentiment) few-shot, keeps
the best epoch by validation score, evaluates it and writes a checkpoint. By
default with the contrastive method on plan all: the study's best at 16 shots
per class (docs/results.md).

data (defaults: the files data/fetch.sh writes under --data):
  --data DIR               folder of the default files (data)
  --task-a-train FILE      task A training pool (r8-train.jsonl)
  --task-a-val FILE        task A validation pool (default: held out of the training pool)
  --task-a-test FILE       task A test split (r8-test.jsonl)
  --task-b-train FILE      (rt-train.jsonl)   --task-b-val FILE (rt-validation.jsonl)
  --task-b-test FILE       (rt-test.jsonl)
  --ood FILE[,FILE…]       out-of-domain sets for task B (amazon/imdb/yelp.jsonl)
  --task-a-name NAME       (topic)            --task-b-name NAME (sentiment)
  --text-field NAME        (text)             --label-field NAME (label)
  files may be .jsonl, .csv, .tsv, .tab (Orange) or .json (array)
sampling:
  --shots K|all            training examples per class (16)
  --val-per-class N        validation examples per class (16)
method:
  --method NAME            contrastive: tune the plan's layers on pairs
                           (SetFit-style), then fit the heads on the tuned
                           embeddings; classify: cross-entropy through the heads,
                           the plan's layers training with them (contrastive)
  --pairs-per-example R    contrastive: pairs per example per epoch, half
                           same-class, half other-class (20)
  --stage1-epochs N        contrastive: epochs of pair tuning (10)
  --pair-loss NAME         contrastive: cosine ((cos − target)², as SetFit) or
                           supcon (supervised contrastive, τ = 0.07) (cosine)
  --lr-stage1 X            contrastive: peak encoder learning rate of stage 1 (5e-5)
  --head-fit NAME          contrastive: logreg (logistic regression, L2 λ = 1/n) or
                           train (the loop, heads only: --epochs, --lr-heads) (logreg)
training:
  --plan NAME              frozen|heads|last1|last2|all[,freeze-a|,freeze-b]
                           (all with contrastive, last2 with classify)
  --epochs N (10)  --max-steps N  --batch-size N per task (16)
  --lr-encoder X (5e-5)  --lr-heads X (5e-3)  --weight-decay X (0.01)
  --warmup FRACTION (0.1)  --clip-norm X (1.0, 0 = off)  --loss-weights A,B (1,1)
  --seed N (0)  --no-dropout  --no-cache  --normalize
  --config FILE.json       any of the options above as {\"option-name\": value}
output:
  --out DIR                checkpoint folder (runs/contrastive-<plan>, runs/<plan>)
  --examples N             predictions to print per task (3)
  --quiet                  no progress output
  --model DIR  --threads N
resuming:
  a resume state is written to OUT.resume/ after every epoch and on Ctrl-C
  (SIGINT: the run stops before its next step, saves, exits with status 1)
  --resume OUT             continue that run with its own options (only
                           --threads and --quiet may be given beside it); it
                           ends in the same weights as a run never stopped";

pub(crate) const VALUED: &[&str] = &[
    "data",
    "task-a-train",
    "task-a-val",
    "task-a-test",
    "task-b-train",
    "task-b-val",
    "task-b-test",
    "ood",
    "task-a-name",
    "task-b-name",
    "text-field",
    "label-field",
    "shots",
    "val-per-class",
    "plan",
    "epochs",
    "max-steps",
    "batch-size",
    "lr-encoder",
    "lr-heads",
    "weight-decay",
    "warmup",
    "clip-norm",
    "loss-weights",
    "seed",
    "method",
    "pairs-per-example",
    "stage1-epochs",
    "pair-loss",
    "lr-stage1",
    "head-fit",
    "config",
    "out",
    "examples",
    "model",
    "threads",
];
pub(crate) const SWITCHES: &[&str] = &["no-dropout", "no-cache", "normalize", "quiet", "help"];

/// Parse `--config FILE.json` into extra command-line arguments (given
/// options win over the file's).
fn config_args(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| Error::file(path, format!("invalid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::file(path, "expected a JSON object of options"))?;
    let mut out = Vec::new();
    for (k, val) in obj {
        let k = k.trim_start_matches("--");
        if SWITCHES.contains(&k) {
            match val.as_bool() {
                Some(true) => out.push(format!("--{k}")),
                Some(false) => {}
                None => {
                    return Err(Error::file(
                        path,
                        format!("option {k:?} must be true or false"),
                    ))
                }
            }
        } else if VALUED.contains(&k) && k != "config" {
            let s = match val {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    return Err(Error::file(
                        path,
                        format!("option {k:?}: unsupported value {other}"),
                    ))
                }
            };
            out.push(format!("--{k}={s}"));
        } else {
            return Err(Error::file(path, format!("unknown option {k:?}")));
        }
    }
    Ok(out)
}

/// Build the experiment from the options (`--shots` is read unless
/// `with_shots` is false, as in the study, which takes a list).
pub fn experiment_config(args: &Args, with_shots: bool) -> Result<ExperimentConfig> {
    let data = PathBuf::from(args.value("data").unwrap_or("data"));
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

/// `--resume DIR` taken out of `argv` (the rest is parsed as usual).
fn take_resume(argv: &[String]) -> Result<(Option<String>, Vec<String>)> {
    let (mut dir, mut rest) = (None, Vec::new());
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.push(a.clone());
            rest.extend(it.by_ref().cloned());
            break;
        } else if a == "--resume" {
            dir = Some(
                it.next()
                    .cloned()
                    .ok_or_else(|| Error::msg("--resume needs a value"))?,
            );
        } else if let Some(d) = a.strip_prefix("--resume=") {
            dir = Some(d.to_string());
        } else {
            rest.push(a.clone());
        }
    }
    Ok((dir, rest))
}

/// Run `minilm train`.
pub fn run(argv: &[String]) -> Result<()> {
    let (resume, argv) = take_resume(argv)?;
    let Some(out) = resume else {
        return run_from(&argv, None);
    };
    let rdir = resume_dir(Path::new(&out));
    let (state, run) = resume::load(&rdir)?;
    let saved: Vec<String> = run
        .get("args")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect())
        .ok_or_else(|| Error::file(&rdir.join("resume.json"), "missing run.args"))?;
    let given = Args::parse(&argv, VALUED, SWITCHES)?;
    let mut args = saved;
    // A run saved before `--method` existed was a classification run (the
    // default then); newer runs always record their method.
    if !args.iter().any(|a| a.starts_with("--method")) {
        args.push("--method=classify".into());
    }
    for (k, v) in [
        ("threads", given.value("threads")),
        ("model", given.value("model")),
    ] {
        if let Some(v) = v {
            args.push(format!("--{k}={v}"));
        }
    }
    if given.switch("quiet") {
        args.push("--quiet".into());
    }
    if let Some(extra) = argv.iter().find(|a| {
        !["--threads", "--model", "--quiet"]
            .iter()
            .any(|k| a.starts_with(k))
            && given.value("threads").is_none_or(|v| v != a.as_str())
            && given.value("model").is_none_or(|v| v != a.as_str())
    }) {
        return Err(Error::msg(format!(
            "--resume continues a run with its own options; {extra:?} cannot be changed (only --threads, --model, --quiet)"
        )));
    }
    run_from(&args, Some((state, run)))
}

/// The options of a run: `None` when `--help` was answered. `--config`'s
/// file comes first, so options given on the command line win.
fn parse_run_args(argv: &[String]) -> Result<Option<Args>> {
    let first = Args::parse(argv, VALUED, SWITCHES)?;
    if first.switch("help") {
        println!("{HELP}");
        return Ok(None);
    }
    if let Some(p) = first.positional.first() {
        return Err(Error::usage(format!("unexpected argument {p:?}\n{HELP}")));
    }
    Ok(Some(match first.value("config") {
        Some(c) => {
            let mut all = config_args(Path::new(c))?;
            all.extend(argv.iter().cloned());
            Args::parse(&all, VALUED, SWITCHES)?
        }
        None => first,
    }))
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

fn run_from(argv: &[String], resume: Option<(TrainState, Value)>) -> Result<()> {
    let Some(args) = parse_run_args(argv)? else {
        return Ok(());
    };
    apply_threads(&args)?;
    let cfg = experiment_config(&args, true)?;
    let out = out_dir(&args, &cfg);
    let shown: usize = args.parsed("examples")?.unwrap_or(3);
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
