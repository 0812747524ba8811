//! Training faults and resuming: a run stopped mid-epoch (or at an epoch's
//! end) and resumed from its saved state ends in exactly the bits of a run
//! never stopped; a non-finite loss stops the run with an error naming the
//! step and leaves the checkpoints on disk untouched; a training step is
//! bit-identical on 1 and 2 threads.

mod common;

use common::*;
use minilm::train::checkpoint::{self, Meta};
use minilm::train::experiment::new_model;
use minilm::train::resume;
use minilm::train::trainer::{train_with, Control, TrainConfig, TrainReport, TrainState};
use minilm::train::{Split, TaskData};

/// How the trainer words a stop (the CLI's message starts the same way).
const INTERRUPTED: &str = "training interrupted";
use minilm::train::{HeadSpec, MultiTaskModel, Plan, Task};
use std::path::Path;

fn split(rows: &[(&str, usize)]) -> Split {
    labelled_split(rows)
}

fn data() -> [TaskData; 2] {
    [
        TaskData {
            train: split(&TINY_TOPICS),
            validation: split(&TINY_TOPICS[2..5]),
        },
        TaskData {
            train: split(&TINY_SENTIMENT),
            validation: split(&TINY_SENTIMENT[1..4]),
        },
    ]
}

fn specs() -> [HeadSpec; 2] {
    [
        HeadSpec::new("topic", &["interest", "crude"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ]
}

/// 3 steps per epoch (7 examples, batches of 3), 4 epochs, dropout on.
fn config() -> TrainConfig {
    TrainConfig {
        plan: "last1".into(),
        epochs: 4,
        batch_size: 3,
        lr_encoder: 1e-4,
        lr_heads: 2e-2,
        quiet: true,
        seed: 11,
        ..TrainConfig::default()
    }
}

fn model() -> MultiTaskModel {
    new_model(real_encoder(), specs(), config().seed).unwrap()
}

/// Run with `control`; also returns every state handed to `save`.
fn run(
    model: &mut MultiTaskModel,
    resume: Option<TrainState>,
    stop_before_step: Option<usize>,
) -> (minilm::Result<TrainReport>, Vec<TrainState>) {
    let mut states = Vec::new();
    let mut save = |s: &TrainState| {
        states.push(s.clone());
        Ok(())
    };
    let mut control = Control {
        resume,
        save: Some(&mut save),
        stop: None,
        stop_before_step,
        prefix: None,
    };
    let r = train_with(
        model,
        &data(),
        &config(),
        &mut |_, _, _, _| Ok(()),
        &mut control,
    );
    drop(control);
    (r, states)
}

fn assert_same_params(a: &MultiTaskModel, b: &MultiTaskModel, what: &str) {
    let mut n = 0;
    for (name, t) in a.params().iter() {
        let u = b.params().get(name);
        let same = t.shape == u.shape
            && t.data
                .iter()
                .zip(&u.data)
                .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{what}: tensor {name} differs");
        n += 1;
    }
    assert_eq!(n, b.params().len());
}

#[test]
fn resumed_run_ends_in_the_same_bits() {
    let mut straight = model();
    let (r, states) = run(&mut straight, None, None);
    let straight_report = r.unwrap();
    assert_eq!(straight_report.steps, 12);
    assert_eq!(states.len(), 4, "one state per epoch");
    assert!(straight_report.best_epoch >= 1);

    // Stopped mid-epoch 3 (before step 8 of 12); the state goes through the
    // files on disk.
    let mut first = model();
    let (r, saved) = run(&mut first, None, Some(7));
    let err = r.unwrap_err();
    assert!(err.is_interrupted(), "{err}");
    let e = err.to_string();
    assert!(
        e.starts_with(INTERRUPTED) && e.contains("before step 8 of 12"),
        "{e}"
    );
    let stop = saved.last().unwrap().clone();
    assert_eq!((stop.step, stop.epoch, stop.epoch_steps), (7, 3, 1));
    let dir = temp_dir("resume-state").join("run.resume");
    resume::save(&dir, &stop, &serde_json::json!({"args": ["--seed", "11"]})).unwrap();
    let (loaded, run_obj) = resume::load(&dir).unwrap();
    assert_eq!(
        loaded, stop,
        "resume state does not round-trip through the files"
    );
    assert_eq!(run_obj["args"][1], "11");

    let mut resumed = model();
    let (r, _) = run(&mut resumed, Some(loaded), None);
    let resumed_report = r.unwrap();
    assert_same_params(&straight, &resumed, "stopped at step 7, resumed");
    assert_eq!(resumed_report.step_losses, straight_report.step_losses);
    assert_eq!(resumed_report.epochs, straight_report.epochs);
    assert_eq!(resumed_report.best_epoch, straight_report.best_epoch);

    // Resumed from the end of epoch 2 (a state saved by the straight run).
    let mut resumed = model();
    let (r, _) = run(&mut resumed, Some(states[1].clone()), None);
    r.unwrap();
    assert_same_params(&straight, &resumed, "resumed after epoch 2");
}

#[test]
fn corrupt_or_mismatched_resume_state_is_refused() {
    let mut m = model();
    let (r, saved) = run(&mut m, None, Some(2));
    assert!(r.is_err());
    let dir = temp_dir("resume-corrupt").join("x.resume");
    resume::save(&dir, saved.last().unwrap(), &serde_json::Value::Null).unwrap();
    let st = dir.join("state.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(&st, bytes).unwrap();
    let e = resume::load(&dir).unwrap_err().to_string();
    assert!(
        e.contains("state.safetensors") && e.contains("do not match the sha256"),
        "{e}"
    );
    let e = resume::load(&dir.join("absent")).unwrap_err().to_string();
    assert!(e.contains("absent") && e.contains("no resume state"), "{e}");
    // A state from a run with other settings (here: a step beyond the run).
    let mut bad = saved.last().unwrap().clone();
    bad.step = 1000;
    let (r, _) = run(&mut model(), Some(bad), None);
    assert!(r
        .unwrap_err()
        .to_string()
        .contains("cannot resume at step 1000"));
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn non_finite_loss_stops_with_the_step_and_leaves_checkpoints_intact() {
    let base = temp_dir("nan-run");
    let (best_dir, resume_dir) = (base.join("best"), base.join("best.resume"));
    // Epoch 1 trains normally and is checkpointed (best and resume state)…
    let mut m = model();
    let (r, saved) = run(&mut m, None, Some(3));
    assert!(r.is_err());
    let plan = Plan::parse("last1", 6).unwrap();
    let meta = Meta {
        base_model_sha256: "0".repeat(64),
        plan: plan.to_string(),
        heads: specs(),
        normalize: false,
        hyperparameters: serde_json::Value::Null,
        metrics: serde_json::Value::Null,
        step: 3,
    };
    checkpoint::save(&best_dir, &m, &plan, &meta, None).unwrap();
    let state = saved.last().unwrap().clone();
    resume::save(&resume_dir, &state, &serde_json::Value::Null).unwrap();
    let (before_best, before_resume) = (tree(&best_dir), tree(&resume_dir));

    // …then a parameter turns NaN: the next step stops the run.
    let mut poisoned = state.clone();
    let head = poisoned
        .params
        .names()
        .find(|n| n.starts_with("head_"))
        .unwrap()
        .to_string();
    poisoned.params.get_mut(&head).unwrap().data[0] = f32::NAN;
    let mut saves = 0;
    let mut save = |s: &TrainState| {
        saves += 1;
        resume::save(&resume_dir, s, &serde_json::Value::Null)
    };
    let mut control = Control {
        resume: Some(poisoned),
        save: Some(&mut save),
        stop: None,
        stop_before_step: None,
        prefix: None,
    };
    let mut hook = |m: &MultiTaskModel, _: &_, best: bool, _: &_| {
        if best {
            checkpoint::save(&best_dir, m, &plan, &meta, None)?;
        }
        Ok(())
    };
    let e = train_with(&mut model(), &data(), &config(), &mut hook, &mut control)
        .unwrap_err()
        .to_string();
    drop(control);
    assert!(
        e.contains("step 4:") && e.contains("not finite") && e.contains("training stopped"),
        "{e}"
    );
    assert_eq!(saves, 0, "a non-finite state was saved");
    assert!(tree(&best_dir) == before_best, "best checkpoint changed");
    assert!(tree(&resume_dir) == before_resume, "resume state changed");
}

#[test]
fn training_is_bit_identical_on_one_and_two_threads() {
    let go = || {
        let mut m = model();
        let cfg = TrainConfig {
            epochs: 1,
            ..config()
        };
        let r =
            minilm::train::trainer::train(&mut m, &data(), &cfg, &mut |_, _, _, _| Ok(())).unwrap();
        (m, r.step_losses)
    };
    let (m1, l1) = minilm_kernels::parallel::with_threads(1, go);
    let (m2, l2) = minilm_kernels::parallel::with_threads(2, go);
    assert_eq!(
        l1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        l2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_same_params(&m1, &m2, "1 vs 2 threads");
    let _ = Task::A;
}

/// `minilm train` on two tiny JSON Lines files, writing to `out`.
fn train_cmd(dir: &Path, out: &Path) -> std::process::Command {
    let (a, b) = write_tiny_task_files(dir);
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_minilm"));
    c.arg("train");
    for (k, v) in [("task-a", &a), ("task-b", &b)] {
        for s in ["train", "val", "test"] {
            c.arg(format!("--{k}-{s}")).arg(v);
        }
    }
    c.args([
        "--ood",
        b.to_str().unwrap(),
        "--shots",
        "all",
        "--val-per-class",
        "2",
    ]);
    c.args([
        "--method",
        "classify",
        "--plan",
        "last1",
        "--no-cache",
        "--epochs",
        "6",
        "--batch-size",
        "2",
        "--seed",
        "5",
    ]);
    c.args([
        "--examples",
        "0",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    c.env("MINILM_MODEL", real_model_dir());
    c
}

#[test]
fn cli_sigint_saves_state_and_resume_matches_an_uninterrupted_run() {
    use std::io::BufRead;
    let dir = temp_dir("cli-sigint");
    let (straight, stopped) = (dir.join("straight"), dir.join("stopped"));
    let out = train_cmd(&dir, &straight).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = train_cmd(&dir, &stopped)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    // Interrupt once the first epoch is logged.
    loop {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap() == 0 {
            break;
        }
        log += &l;
        if l.contains("epoch   1/") {
            let kill = std::process::Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(kill.success());
            break;
        }
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    log += &rest;
    let status = child.wait().unwrap();
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(status.code(), Some(1), "not stopped by SIGINT: {log}");
    assert!(
        log.contains(INTERRUPTED) && log.contains("--resume"),
        "{log}"
    );
    let rdir = dir.join("stopped.resume");
    let (state, _) = resume::load(&rdir).unwrap();
    assert!(
        state.step >= 3 && state.step < 18,
        "stopped at step {}",
        state.step
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_minilm"))
        .args([
            "train",
            "--resume",
            stopped.to_str().unwrap(),
            "--threads",
            "1",
        ])
        .env("MINILM_MODEL", real_model_dir())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && e.contains(&format!("resuming at step {}", state.step)),
        "{e}"
    );
    let a = std::fs::read(straight.join("trained.safetensors")).unwrap();
    let b = std::fs::read(stopped.join("trained.safetensors")).unwrap();
    assert!(
        a == b,
        "resumed run's weights differ from the uninterrupted run's"
    );
    assert!(
        !rdir.exists(),
        "resume state left behind after a finished run"
    );
    // Nothing left to resume: an I/O-side error naming the folder.
    let minilm = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_minilm"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = minilm(&["train", "--resume", stopped.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(1)
            && e.contains("stopped.resume")
            && e.contains("no resume state"),
        "{e}"
    );
    // Options other than --threads/--model/--quiet beside --resume: a usage
    // error, before any file is read.
    let out = minilm(&[
        "train",
        "--resume",
        stopped.to_str().unwrap(),
        "--epochs",
        "9",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(2) && e.contains("--epochs cannot be changed"),
        "{e}"
    );
}
