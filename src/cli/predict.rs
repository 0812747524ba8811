//! `minilm predict --checkpoint DIR`: JSON Lines in; each line back with,
//! for each task, `"<task name>": "<label>"` and
//! `"<task name>_probs": {label: probability}`.

use super::jsonl::{open_input_sized, JsonlReader};
use super::spec::{common, CommandSpec, Opt, Section};
use super::{load_checkpoint, run_chunk, stream_progress};
use crate::error::{Error, Result};
use crate::train::predict::predict_probs_tasks;
use crate::train::task::Task;
use std::io::Write;

/// The command line of `minilm predict`.
pub fn spec() -> CommandSpec {
    CommandSpec {
        name: "predict",
        summary: "both tasks' labels and probabilities for JSON Lines input",
        usage: &["--checkpoint DIR"],
        positionals: false,
        about: "Reads JSON Lines with a \"text\" field and adds each task's predicted label
(\"<task name>\") and class probabilities (\"<task name>_probs\"). When
standard error is a terminal (and standard output is not), shows lines done
and lines/s there, with a bar and an ETA for a FILE.",
        sections: vec![Section {
            title: "",
            options: vec![
                common::checkpoint(),
                common::input(),
                Opt::value("task", "NAME", "keep one head only: a task's name, or A or B"),
                common::model(false),
                common::batch_size(),
                common::threads(),
                Opt {
                    help: "f32 (exact), bf16 or int8 (faster, approximate;\ndocs/performance.md measures both); the checkpoint's layers are\nquantized the same way; an int8 model folder runs only at int8\n(default: the model folder's own)"
                        .into(),
                    ..common::precision()
                },
                common::allow_empty(),
                common::quiet(),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm predict`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    let (tokenizer, model) = load_checkpoint(&args)?;
    let tasks: Vec<Task> = match args.value("task") {
        None => Task::ALL.to_vec(),
        Some(name) => vec![model
            .task(name)
            .or_else(|| Task::from_letter(name))
            .ok_or_else(|| {
                Error::msg(format!(
                    "--task {name:?}: expected {:?}, {:?}, A or B",
                    model.spec(Task::A).name,
                    model.spec(Task::B).name
                ))
            })?],
    };
    let batch = args
        .parsed::<usize>("batch-size")?
        .unwrap_or(crate::encoder::DEFAULT_BATCH_SIZE)
        .max(1);
    let mut reserved: Vec<String> = Vec::new();
    for &t in &tasks {
        let n = &model.spec(t).name;
        reserved.push(n.clone());
        reserved.push(format!("{n}_probs"));
    }
    let reserved_refs: Vec<&str> = reserved.iter().map(String::as_str).collect();
    let (input, name, size) = open_input_sized(args.value("input"))?;
    let mut reader =
        JsonlReader::new(input, &name, &reserved_refs).allow_empty(args.switch("allow-empty"));
    let mut progress = stream_progress(&args, "predict", size);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    loop {
        let chunk = reader.next_chunk(1024)?;
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        let tokens = tokenizer.encode_batch(&texts)?;
        // One encoder pass feeds every requested head: `[text][task][class]`.
        let end = reader.bytes_read();
        let probs = run_chunk(&chunk, tokens, batch, end, &mut progress, |t| {
            Ok(by_text(predict_probs_tasks(&model, t, &tasks, batch)?))
        })?;
        for (rec, per_task) in chunk.iter().zip(&probs) {
            let mut line = rec.raw.clone();
            for (t, p) in tasks.iter().zip(per_task) {
                let spec = model.spec(*t);
                let best = p
                    .iter()
                    .enumerate()
                    .fold(0, |b, (j, &v)| if v > p[b] { j } else { b });
                let map: serde_json::Map<String, serde_json::Value> = spec
                    .classes
                    .iter()
                    .zip(p)
                    .map(|(c, &v)| (c.clone(), serde_json::json!(v)))
                    .collect();
                let rec2 = super::jsonl::Record {
                    line: rec.line,
                    text: String::new(),
                    raw: line,
                };
                line = rec2.with_field(
                    &spec.name,
                    &serde_json::to_string(&spec.classes[best]).expect("strings serialise"),
                );
                let rec3 = super::jsonl::Record {
                    line: rec.line,
                    text: String::new(),
                    raw: line,
                };
                line = rec3.with_field(
                    &format!("{}_probs", spec.name),
                    &serde_json::Value::Object(map).to_string(),
                );
            }
            writeln!(out, "{line}").map_err(|e| Error::msg(format!("<stdout>: {e}")))?;
        }
    }
    out.flush()
        .map_err(|e| Error::msg(format!("<stdout>: {e}")))?;
    progress.finish();
    Ok(())
}

/// Per-task tables `[task][text][class]` regrouped as `[text][task][class]`.
fn by_text(tables: Vec<Vec<Vec<f32>>>) -> Vec<Vec<Vec<f32>>> {
    let texts = tables.first().map_or(0, Vec::len);
    let mut out: Vec<Vec<Vec<f32>>> = (0..texts).map(|_| Vec::new()).collect();
    for table in tables {
        for (row, p) in out.iter_mut().zip(table) {
            row.push(p);
        }
    }
    out
}
