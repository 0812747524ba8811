//! `minilm predict --checkpoint DIR`: JSON Lines in; each line back with,
//! for each task, `"<task name>": "<label>"` and
//! `"<task name>_probs": {label: probability}`.

use super::args::Args;
use super::jsonl::{open_input_sized, JsonlReader};
use super::{load_checkpoint, run_chunk, stream_progress};
use crate::error::{Error, Result};
use crate::train::predict::predict_probs_tasks;
use crate::train::task::Task;
use std::io::Write;

const HELP: &str = "usage: minilm predict --checkpoint DIR [--input FILE] [--task NAME] [--model DIR] [--batch-size N] [--threads N] [--precision P] [--allow-empty] [--quiet]

Reads JSON Lines with a \"text\" field and adds each task's predicted label
and class probabilities. --task (a task's name, or A/B) keeps one head only.
When standard error is a terminal (and standard output is not), shows lines
done and lines/s there, with a bar and an ETA for a FILE; --quiet hides it.

  --precision P  f32 (default: exact), bf16 or int8 (faster, approximate;
                 docs/performance.md measures both); an int8 model folder
                 runs only at int8
                 (the checkpoint's layers are quantized the same way)";

/// Run `minilm predict`.
pub fn run(argv: &[String]) -> Result<()> {
    let args = Args::parse(
        argv,
        &[
            "checkpoint",
            "input",
            "task",
            "model",
            "batch-size",
            "threads",
            "precision",
        ],
        &["allow-empty", "quiet", "help"],
    )?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    if let Some(p) = args.positional.first() {
        return Err(Error::usage(format!("unexpected argument {p:?}\n{HELP}")));
    }
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
    let batch = args.parsed::<usize>("batch-size")?.unwrap_or(32).max(1);
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
