//! `minilm eval --checkpoint DIR`: metrics of a checkpoint on labelled files.

use super::spec::{common, CommandSpec, Opt, Section};
use super::{eval_progress, in_length_order, load_checkpoint};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::train::data::{self, ReadOptions};
use crate::train::metrics::{from_probs, Metrics};
use crate::train::predict::predict_probs;
use crate::train::split::Split;
use crate::train::task::Task;
use crate::train::MultiTaskModel;
use std::path::Path;

/// Texts per forward pass, as [`crate::train::predict::evaluate`] scores.
const EVAL_BATCH: usize = 64;

/// The command line of `minilm eval`.
pub fn spec() -> CommandSpec {
    let read = ReadOptions::default();
    CommandSpec {
        name: "eval",
        summary: "metrics of a checkpoint on labelled files",
        usage: &["--checkpoint DIR --task-a FILES --task-b FILES"],
        positionals: false,
        about: "Scores task A's head on the --task-a files and task B's on the --task-b files
(.jsonl, .csv, .tsv, .tab or .json; one of the two is enough) and prints
accuracy, per-class and macro precision/recall/F1 and the confusion matrix;
--json also writes them. When standard error is a terminal, shows examples
scored / total there with an ETA.",
        sections: vec![Section {
            title: "",
            options: vec![
                common::checkpoint(),
                Opt::value(
                    "task-a",
                    "FILES",
                    "labelled files for task A's head, comma-separated",
                ),
                Opt::value(
                    "task-b",
                    "FILES",
                    "labelled files for task B's head, comma-separated",
                ),
                Opt::value("json", "FILE", "also write the metrics as JSON"),
                Opt::value("text-field", "NAME", "text field or column").default(read.text_field),
                Opt::value("label-field", "NAME", "label field or column")
                    .default(read.label_field),
                common::model(false),
                common::threads(),
                common::precision(),
                common::quiet(),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm eval`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    if args.value("task-a").is_none() && args.value("task-b").is_none() {
        return Err(Error::usage(
            "give --task-a and/or --task-b files (minilm eval --help)",
        ));
    }
    let (tokenizer, model) = load_checkpoint(&args)?;
    let read = ReadOptions::default();
    let mut results = Vec::new();
    for t in Task::ALL {
        let Some(files) = args.value(if t == Task::A { "task-a" } else { "task-b" }) else {
            continue;
        };
        let classes = model.spec(t).classes.clone();
        for f in files.split(',').filter(|s| !s.is_empty()) {
            let path = Path::new(f);
            let mut opts = ReadOptions::default()
                .fields(
                    args.value("text-field").unwrap_or(&read.text_field),
                    args.value("label-field").unwrap_or(&read.label_field),
                )
                .labels(&classes);
            if path.extension().and_then(|e| e.to_str()) == Some("json") {
                opts = opts.skip_trailing_empty(true);
            }
            let ds = data::read(path, &opts)?;
            let texts: Vec<&str> = ds.examples.iter().map(|e| e.text.as_str()).collect();
            let split = Split::new(&tokenizer, &texts, ds.label_indices(&classes)?)?;
            let label = format!("{} {f}", model.spec(t).name);
            let m = score(&model, split, t, &label, !eval_progress(&args))?;
            println!(
                "== {} · {f} · {} examples · accuracy {:.4} · macro-F1 {:.4}\n{}\n",
                model.spec(t).name,
                m.n,
                m.accuracy,
                m.macro_f1,
                m.table()
            );
            results.push(
                serde_json::json!({"task": model.spec(t).name, "file": f, "metrics": m.to_json()}),
            );
        }
    }
    if let Some(j) = args.value("json") {
        let text = serde_json::to_string_pretty(&results).expect("JSON values serialise");
        crate::atomic::write_file(Path::new(j), text.as_bytes())?;
    }
    Ok(())
}

/// The metrics of `task`'s head on `split`, as
/// [`crate::train::predict::evaluate`] computes them (the same batches),
/// with a progress bar labelled `label` on stderr unless `quiet`.
fn score(
    model: &MultiTaskModel,
    split: Split,
    task: Task,
    label: &str,
    quiet: bool,
) -> Result<Metrics> {
    let mut progress = Progress::new(split.len(), label, quiet);
    let mut scored = 0;
    let probs = in_length_order(
        split.tokens,
        EVAL_BATCH,
        |t| predict_probs(model, t, task, EVAL_BATCH),
        |done| {
            scored += done.len();
            progress.update(scored, None);
        },
    )?;
    progress.finish();
    let classes = &model.spec(task).classes;
    let pred = from_probs(&probs.concat(), classes.len());
    Metrics::try_compute(classes, &split.labels, &pred)
}
