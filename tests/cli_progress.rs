//! Progress of `minilm embed`, `predict` and `eval` on standard error: none
//! when stderr is not a terminal (here, a pipe), `--quiet` accepted by all
//! three, and the output unchanged by the steps progress is counted in.
//! (The line format and the on/off rule: unit tests in src/progress.rs.)

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `n` texts of varied lengths (equal lengths too), so that the length
/// sort and its ties matter.
fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "Sentence number {i} says {}",
                "quite a few more words ".repeat(i % 17)
            )
        })
        .collect()
}

/// The texts as JSON Lines, with an `"id"` and, if given, a label each.
fn jsonl(texts: &[String], labels: &[&str]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut v = serde_json::json!({"id": i, "text": t});
            if !labels.is_empty() {
                v["label"] = labels[i % labels.len()].into();
            }
            v.to_string() + "\n"
        })
        .collect()
}

/// Writes `content` to `name` in `dir`; returns its path.
fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Asserts success and nothing at all on stderr; returns stdout.
fn silent_stdout(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.is_empty(), "stderr is a pipe, yet: {err:?}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn embed_is_silent_on_a_pipe_even_after_the_two_second_delay() {
    // Input arrives in two parts, past the 2 s a display waits for: with a
    // terminal this run would draw its line; on a pipe nothing is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_minilm"))
        .args(["embed", "--threads", "1"])
        .env("MINILM_MODEL", real_model_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        input.write_all(b"{\"text\":\"first\"}\n").unwrap();
        input.flush().unwrap();
        std::thread::sleep(minilm::progress::SHOW_AFTER + Duration::from_millis(500));
        input.write_all(b"{\"text\":\"second\"}\n").unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(silent_stdout(&out).lines().count(), 2);
}

#[test]
fn quiet_is_an_option_of_embed_predict_and_eval() {
    for cmd in ["embed", "predict", "eval"] {
        let out = minilm(&[cmd, "--quiet", "--help"], b"");
        let help = silent_stdout(&out);
        assert!(help.contains("\n  --quiet "), "{cmd} --help: {help}");
        assert!(help.contains("terminal"), "{cmd} --help: {help}");
    }
    let out = minilm(
        &["embed", "--quiet", "--threads", "1"],
        b"{\"text\":\"hi\"}\n",
    );
    assert_eq!(silent_stdout(&out).lines().count(), 1);
}

#[test]
fn embed_output_is_the_librarys_bit_for_bit_across_progress_steps() {
    // 150 texts, batches of 2: the progress steps (64 texts) split the
    // chunk; every batch must still hold the texts one call would give it.
    let texts = texts(150);
    let dir = temp_dir("progress-embed");
    let file = write(&dir, "in.jsonl", &jsonl(&texts, &[]));
    let args = ["--batch-size", "2", "--threads", "1"];
    let from_file = minilm(
        &[
            &["embed", "--quiet", "--input", file.to_str().unwrap()],
            &args[..],
        ]
        .concat(),
        b"",
    );
    let from_stdin = minilm(
        &[&["embed"], &args[..]].concat(),
        jsonl(&texts, &[]).as_bytes(),
    );
    let out = silent_stdout(&from_file);
    assert_eq!(out, silent_stdout(&from_stdin));
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let want = real_encoder()
        .clone()
        .with_batch_size(2)
        .embed(&refs)
        .unwrap();
    assert_eq!(out.lines().count(), want.len());
    for (i, (line, w)) in out.lines().zip(&want).enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], i);
        let got: Vec<f32> = v["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(&got, w, "line {i}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "train")]
mod with_checkpoint {
    use super::*;
    use minilm::train::checkpoint::{self, Checkpoint, Meta};
    use minilm::train::predict::{evaluate, predict_probs_tasks};
    use minilm::train::{HeadSpec, MultiTaskModel, Plan, Split, Task};

    /// A heads-only checkpoint over the real model in `dir/ckpt`, and the
    /// model as read back from it.
    fn heads_checkpoint(dir: &Path) -> (PathBuf, MultiTaskModel) {
        let enc = real_encoder();
        let specs = [
            HeadSpec::new("topic", &["x", "y", "z"]),
            HeadSpec::new("sentiment", &["negative", "positive"]),
        ];
        let model = MultiTaskModel::new(enc.params(), enc.config(), specs.clone()).unwrap();
        let meta = Meta {
            base_model_sha256: minilm::sha256::sha256_file(
                &real_model_dir().join("model.safetensors"),
            )
            .unwrap(),
            plan: "heads".into(),
            heads: specs,
            normalize: false,
            hyperparameters: serde_json::json!({}),
            metrics: serde_json::json!({}),
            step: 1,
        };
        let ckpt = dir.join("ckpt");
        let plan = Plan::parse("heads", 6).unwrap();
        checkpoint::save(&ckpt, &model, &plan, &meta, None).unwrap();
        let model = Checkpoint::read(&ckpt)
            .unwrap()
            .into_model(enc.params(), enc.config())
            .unwrap();
        (ckpt, model)
    }

    #[test]
    fn predict_and_eval_are_silent_and_unchanged() {
        let dir = temp_dir("progress-ckpt");
        let (ckpt, model) = heads_checkpoint(&dir);
        let ckpt = ckpt.to_str().unwrap();
        let texts = texts(150);
        let file = write(&dir, "in.jsonl", &jsonl(&texts, &["x", "y", "z"]));
        let file = file.to_str().unwrap();
        let tokens = real_encoder()
            .tokenize(&texts.iter().map(String::as_str).collect::<Vec<_>>())
            .unwrap();

        // predict: the probabilities of one call over all texts.
        let args = ["predict", "--checkpoint", ckpt, "--batch-size", "2"];
        let out = minilm(
            &[&args[..], &["--input", file, "--threads", "1"]].concat(),
            b"",
        );
        let out = silent_stdout(&out);
        let quiet = minilm(
            &[&args[..], &["--input", file, "--threads", "1", "--quiet"]].concat(),
            b"",
        );
        assert_eq!(out, silent_stdout(&quiet));
        let want = predict_probs_tasks(&model, &tokens, &Task::ALL, 2).unwrap();
        assert_eq!(out.lines().count(), texts.len());
        for (i, line) in out.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for (t, table) in Task::ALL.into_iter().zip(&want) {
                let spec = model.spec(t);
                let probs = &v[format!("{}_probs", spec.name)];
                for (c, &p) in spec.classes.iter().zip(&table[i]) {
                    assert_eq!(probs[c].as_f64().unwrap() as f32, p, "line {i} {c}");
                }
            }
        }

        // eval: the same report as evaluate() over the whole split.
        let out = minilm(
            &[
                "eval",
                "--checkpoint",
                ckpt,
                "--task-a",
                file,
                "--threads",
                "1",
            ],
            b"",
        );
        let labels = (0..texts.len()).map(|i| i % 3).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let split = Split::new(real_encoder().tokenizer(), &refs, labels).unwrap();
        let m = evaluate(&model, &split, Task::A).unwrap();
        let want = format!(
            "== topic · {file} · {} examples · accuracy {:.4} · macro-F1 {:.4}\n{}\n\n",
            m.n,
            m.accuracy,
            m.macro_f1,
            m.table()
        );
        assert_eq!(silent_stdout(&out), want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
