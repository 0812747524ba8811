//! The contrastive method end to end on tiny data with the real model:
//! stage 1 trains only the plan's layers; a run stopped and resumed ends in
//! the bits of one never stopped; stage 2's logistic regression becomes the
//! heads; and the CLI's checkpoint works with `eval`, `predict` and
//! `inspect` as a classification checkpoint does.

#![cfg(feature = "train")]

mod common;

use common::*;
use minilm::train::contrastive::{fit_heads, tune, ContrastiveConfig, HeadFit};
use minilm::train::experiment::new_model;
use minilm::train::pair_loss::PairLoss;
use minilm::train::trainer::{Control, TrainConfig, TrainState};
use minilm::train::{HeadSpec, MultiTaskModel, ParamGroup, TaskData};

fn data() -> [TaskData; 2] {
    [
        TaskData {
            train: labelled_split(&TINY_TOPICS),
            validation: labelled_split(&TINY_TOPICS[2..5]),
        },
        TaskData {
            train: labelled_split(&TINY_SENTIMENT),
            validation: labelled_split(&TINY_SENTIMENT[1..4]),
        },
    ]
}

fn model() -> MultiTaskModel {
    let specs = [
        HeadSpec::new("topic", &["interest", "crude"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    new_model(real_encoder(), specs, 3).unwrap()
}

fn config() -> TrainConfig {
    TrainConfig {
        plan: "last1".into(),
        quiet: true,
        seed: 9,
        ..TrainConfig::default()
    }
}

/// 2 steps per epoch (7 examples, batches of 4), 3 epochs, dropout on.
fn contrastive(loss: PairLoss) -> ContrastiveConfig {
    ContrastiveConfig {
        loss,
        pairs_per_example: 4,
        epochs: 3,
        lr: 1e-4,
        batch_size: 4,
        head_fit: HeadFit::LogReg,
    }
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn stage1_trains_only_the_plan_layers_and_resumes_exactly() {
    for loss in [PairLoss::Cosine, PairLoss::SupCon { temperature: 0.07 }] {
        let c = contrastive(loss);
        let base = model();
        let mut straight = model();
        let report = tune(
            &mut straight,
            &data(),
            &config(),
            &c,
            &mut Control::default(),
        )
        .unwrap();
        assert_eq!(report.steps, 6, "{loss:?}");
        assert!(report.step_losses.iter().all(|l| l.is_finite() && *l > 0.0));
        let mut changed = 0;
        for (name, t) in base.params().iter() {
            let same = same_bits(&t.data, &straight.params().get(name).data);
            match ParamGroup::of(name) {
                ParamGroup::Layer(5) => changed += usize::from(!same),
                _ => assert!(
                    same,
                    "{loss:?}: {name} changed, but stage 1 trains layer 5 only"
                ),
            }
        }
        assert!(
            changed > 10,
            "{loss:?}: only {changed} tensors of layer 5 moved"
        );

        // Stopped before step 3, resumed from the saved state.
        let mut saved: Vec<TrainState> = Vec::new();
        let mut save = |s: &TrainState| {
            saved.push(s.clone());
            Ok(())
        };
        let mut stopped = model();
        let mut control = Control {
            save: Some(&mut save),
            stop_before_step: Some(3),
            ..Control::default()
        };
        let err = tune(&mut stopped, &data(), &config(), &c, &mut control).unwrap_err();
        drop(control);
        assert!(err.is_interrupted(), "{err}");
        let state = saved.pop().unwrap();
        assert_eq!(state.step, 3);
        let mut resumed = model();
        let mut control = Control {
            resume: Some(state),
            ..Control::default()
        };
        let r2 = tune(&mut resumed, &data(), &config(), &c, &mut control).unwrap();
        assert_eq!(r2.step_losses, report.step_losses, "{loss:?}");
        for (name, t) in straight.params().iter() {
            assert!(
                same_bits(&t.data, &resumed.params().get(name).data),
                "{loss:?}: {name} differs after resuming"
            );
        }
    }
}

#[test]
fn stage2_logreg_becomes_the_heads_and_classifies_the_sample() {
    let c = contrastive(PairLoss::Cosine);
    let mut m = model();
    tune(&mut m, &data(), &config(), &c, &mut Control::default()).unwrap();
    fit_heads(&mut m, &data(), &config(), &c, &mut |_, _, _, _| Ok(())).unwrap();
    assert!(m.normalize());
    // The logistic regression separates the training sample (7 and 5
    // sentences in 384 dimensions): the heads, applied by the ordinary
    // prediction path, must reproduce its labels.
    for (t, d) in minilm::train::Task::ALL.iter().zip(data()) {
        let probs = minilm::train::predict::predict_probs(&m, &d.train.tokens, *t, 4).unwrap();
        let pred: Vec<usize> = probs
            .iter()
            .map(|p| if p[1] > p[0] { 1 } else { 0 })
            .collect();
        assert_eq!(pred, d.train.labels, "task {t}");
    }
}

#[cfg(feature = "cli")]
#[test]
fn cli_checkpoint_works_with_eval_predict_and_inspect() {
    let dir = temp_dir("contrastive-cli");
    let (a, b) = write_tiny_task_files(&dir);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out_dir = dir.join("ckpt");
    let run = |args: &[&str], stdin: &[u8]| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_minilm"))
            .args(args)
            .env("MINILM_MODEL", real_model_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        &[
            "train",
            "--method",
            "contrastive",
            "--plan",
            "last1",
            "--stage1-epochs",
            "2",
            "--pairs-per-example",
            "4",
            "--batch-size",
            "4",
            "--shots",
            "3",
            "--val-per-class",
            "1",
            "--task-a-train",
            a,
            "--task-a-test",
            a,
            "--task-b-train",
            b,
            "--task-b-val",
            b,
            "--task-b-test",
            b,
            "--ood",
            b,
            "--examples",
            "0",
            "--threads",
            "1",
            "--quiet",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["normalize"], true);
    assert_eq!(meta["hyperparameters"]["method"]["name"], "contrastive");
    let ckpt = out_dir.to_str().unwrap();
    let out = run(
        &["eval", "--checkpoint", ckpt, "--task-a", a, "--task-b", b],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &["predict", "--checkpoint", ckpt],
        b"{\"text\": \"Oil prices rose sharply.\"}\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("topic") && line.contains("sentiment"),
        "{line}"
    );
    let out = run(
        &["inspect", "--checkpoint", ckpt, "Oil prices rose sharply."],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Options of the contrastive method with the classification method are refused.
    let out = run(
        &["train", "--method", "classify", "--pair-loss", "supcon"],
        b"",
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("--method contrastive"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `minilm train`'s default is the study's best at 16 shots: the contrastive
/// method with logistic-regression heads on plan `all`; classification keeps
/// the original recipe's `last2`.
#[test]
fn the_default_run_is_contrastive_on_all() {
    use minilm::train::experiment::{ExperimentConfig, Method};
    let cfg = ExperimentConfig::default_in(std::path::Path::new("data"));
    match &cfg.method {
        Method::Contrastive(c) => assert_eq!(c.head_fit, HeadFit::LogReg),
        Method::Classify => panic!("the default method is classify"),
    }
    assert_eq!(cfg.train.plan, "all");
    assert_eq!(Method::Classify.default_plan(), "last2");
}
