//! The trainer on a tiny two-task dataset with the real encoder: it learns,
//! it is deterministic, the frozen-prefix cache changes nothing, and a
//! checkpoint round-trips to identical predictions.

mod common;

use common::*;
use minilm::train::checkpoint::{self, Checkpoint, Meta};
use minilm::train::experiment::new_model;
use minilm::train::predict::{evaluate, predict_probs, predict_probs_tasks};
use minilm::train::trainer::{train, TrainConfig, TrainReport};
use minilm::train::{HeadSpec, MultiTaskModel, Plan, Task};
use minilm::train::{Split, TaskData};

/// Earnings, a third topic beside the tiny set's interest and crude rows.
const EARNINGS: [(&str, usize); 3] = [
    ("The company reported record quarterly earnings.", 2),
    ("Net profit per share doubled from last year.", 2),
    ("Revenue and earnings beat analyst forecasts.", 2),
];

/// Three rows of each topic: the tiny set's first six, then earnings.
fn topics() -> Vec<(&'static str, usize)> {
    TINY_TOPICS[..6].iter().chain(&EARNINGS).copied().collect()
}

const SENTIMENT: [(&str, usize); 6] = [
    ("A wonderful, moving film with superb acting.", 1),
    ("I loved every minute of it.", 1),
    ("Brilliant and funny from start to finish.", 1),
    ("A dull, tedious mess of a movie.", 0),
    ("I hated it and walked out.", 0),
    ("Boring, predictable and far too long.", 0),
];

fn specs() -> [HeadSpec; 2] {
    [
        HeadSpec::new("topic", &["interest", "crude", "earn"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ]
}

fn split(rows: &[(&str, usize)]) -> Split {
    labelled_split(rows)
}

fn data() -> [TaskData; 2] {
    [
        TaskData {
            train: split(&topics()),
            validation: split(&topics()[..3]),
        },
        TaskData {
            train: split(&SENTIMENT),
            validation: split(&SENTIMENT[..2]),
        },
    ]
}

fn config(plan: &str) -> TrainConfig {
    TrainConfig {
        plan: plan.into(),
        epochs: 6,
        batch_size: 4,
        lr_encoder: 1e-4,
        lr_heads: 2e-2,
        quiet: true,
        seed: 7,
        ..TrainConfig::default()
    }
}

/// A model after one epoch of `last2` (its heads and layers 4–5 trained).
fn one_epoch_last2() -> MultiTaskModel {
    run(
        "last2",
        TrainConfig {
            epochs: 1,
            ..config("last2")
        },
    )
    .0
}

fn run(plan: &str, cfg: TrainConfig) -> (MultiTaskModel, TrainReport) {
    let mut model = new_model(real_encoder(), specs(), cfg.seed).unwrap();
    let _ = plan;
    let report = train(&mut model, &data(), &cfg, &mut |_, _, _, _| Ok(())).unwrap();
    (model, report)
}

#[test]
fn learns_and_fits_the_training_data() {
    let (model, report) = run("last2", config("last2"));
    let first = report.step_losses[..3].iter().sum::<f64>() / 3.0;
    let n = report.step_losses.len();
    let last = report.step_losses[n - 3..].iter().sum::<f64>() / 3.0;
    assert!(
        last < 0.5 * first,
        "loss did not fall: first steps {first:.4}, last steps {last:.4}"
    );
    let d = data();
    for t in Task::ALL {
        let m = evaluate(&model, &d[t.index()].train, t).unwrap();
        assert_eq!(
            m.accuracy,
            1.0,
            "task {t} does not fit its training data:\n{}",
            m.table()
        );
    }
}

#[test]
fn same_seed_same_loss_curve_and_cache_changes_nothing() {
    let (_, a) = run("last2", config("last2"));
    let (_, b) = run("last2", config("last2"));
    assert_eq!(a.step_losses, b.step_losses, "same seed, different losses");
    let (_, c) = run(
        "last2",
        TrainConfig {
            cache_prefix: false,
            ..config("last2")
        },
    );
    assert_eq!(
        a.step_losses, c.step_losses,
        "the frozen-prefix cache changed the losses"
    );
    let (_, d) = run(
        "last2",
        TrainConfig {
            seed: 8,
            ..config("last2")
        },
    );
    assert_ne!(a.step_losses, d.step_losses, "the seed has no effect");
}

#[test]
fn every_plan_trains_only_its_tensors() {
    let base = new_model(real_encoder(), specs(), 7).unwrap();
    for name in ["frozen", "heads", "last1", "all", "last2,freeze-a"] {
        let (model, report) = run(
            name,
            TrainConfig {
                epochs: 1,
                ..config(name)
            },
        );
        let plan = Plan::parse(name, 6).unwrap();
        let trained = plan.trainable_names(384, 1536);
        for (tensor, t) in model.params().iter() {
            let before = base.params().get(tensor);
            let changed = before.data != t.data;
            assert_eq!(
                changed,
                trained.iter().any(|n| n == tensor),
                "plan {name}: tensor {tensor} changed = {changed}"
            );
        }
        assert_eq!(
            report.steps == 0,
            name == "frozen",
            "plan {name}: {} steps",
            report.steps
        );
    }
}

#[test]
fn checkpoint_round_trip_gives_identical_predictions() {
    let (model, _) = run(
        "last2",
        TrainConfig {
            epochs: 2,
            ..config("last2")
        },
    );
    let dir = temp_dir("ckpt");
    let ckpt_dir = dir.join("run");
    let base_sha =
        minilm::sha256::sha256_file(&real_model_dir().join("model.safetensors")).unwrap();
    let meta = Meta {
        base_model_sha256: base_sha,
        plan: "last2".into(),
        heads: specs(),
        normalize: false,
        hyperparameters: serde_json::json!({}),
        metrics: serde_json::json!({}),
        step: 3,
    };
    let plan = Plan::parse("last2", 6).unwrap();
    checkpoint::save(&ckpt_dir, &model, &plan, &meta, None).unwrap();
    // Saving again replaces the checkpoint in one piece.
    checkpoint::save(&ckpt_dir, &model, &plan, &meta, None).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "temporary folders left behind: {leftovers:?}"
    );

    let ck = Checkpoint::read(&ckpt_dir).unwrap();
    assert_eq!(ck.meta, meta);
    ck.check_base(&real_model_dir().join("model.safetensors"))
        .unwrap();
    let loaded = ck
        .into_model(real_encoder().params(), real_encoder().config())
        .unwrap();
    let texts = [
        "Oil output rose.",
        "What a delightful film.",
        "Earnings per share fell.",
    ];
    let tokens = real_encoder().tokenize(&texts).unwrap();
    for t in Task::ALL {
        assert_eq!(
            predict_probs(&model, &tokens, t, 8).unwrap(),
            predict_probs(&loaded, &tokens, t, 8).unwrap(),
            "task {t}: predictions differ after reload"
        );
    }
    // Both heads from one encoder pass (what `minilm predict` does) give the
    // same bits as one pass per head.
    let both = predict_probs_tasks(&loaded, &tokens, &[Task::B, Task::A], 2).unwrap();
    assert_eq!(
        both[0],
        predict_probs(&loaded, &tokens, Task::B, 8).unwrap()
    );
    assert_eq!(
        both[1],
        predict_probs(&loaded, &tokens, Task::A, 8).unwrap()
    );

    // Another base model is refused; a corrupted tensor file is detected.
    let other = dir.join("other.safetensors");
    std::fs::write(&other, b"not the base model").unwrap();
    let e = ck.check_base(&other).unwrap_err().to_string();
    assert!(e.contains("checkpoint was trained on base model"), "{e}");
    let st = ckpt_dir.join("trained.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    std::fs::write(&st, bytes).unwrap();
    let e = Checkpoint::read(&ckpt_dir).unwrap_err().to_string();
    assert!(
        e.contains("trained.safetensors") && e.contains("do not match the sha256"),
        "{e}"
    );
}

#[test]
fn failed_checkpoint_write_leaves_the_previous_one() {
    let dir = temp_dir("ckpt-fail");
    let good = dir.join("ckpt");
    checkpoint::write_dir_atomically(&good, &[("a.txt", b"first".to_vec())]).unwrap();
    // A file name that cannot be created makes the write fail half-way.
    let r = checkpoint::write_dir_atomically(
        &good,
        &[("b.txt", b"second".to_vec()), ("no/such/dir.txt", vec![])],
    );
    assert!(r.is_err());
    assert_eq!(std::fs::read(good.join("a.txt")).unwrap(), b"first");
    assert!(!good.join("b.txt").exists());
}

#[test]
fn evaluation_from_cached_prefix_equals_full_forward() {
    use minilm::train::predict::predict_classes;
    use minilm::train::prefix::prefix_cache;
    let model = one_epoch_last2();
    let d = data();
    for name in ["last1", "last2", "heads"] {
        let plan = Plan::parse(name, 6).unwrap();
        for t in Task::ALL {
            let split = &d[t.index()].train;
            let states = prefix_cache(&model, &plan, split).unwrap();
            let cached =
                predict_classes(&model, split, t, Some((&states, plan.first_layer()))).unwrap();
            let full = predict_classes(&model, split, t, None).unwrap();
            assert_eq!(cached, full, "plan {name}, task {t}");
            let probs = predict_probs(&model, &split.tokens, t, 3).unwrap();
            assert_eq!(probs.len(), split.len());
        }
    }
}

#[test]
fn shared_prefix_store_gives_the_per_run_cache_bits_and_computes_each_text_once() {
    use minilm::train::prefix::prefix_cache;
    use minilm::train::prefix::PrefixStore;
    use minilm::train::Split;
    let model = one_epoch_last2();
    let d = data();
    let a = &d[Task::A.index()].train;
    // A split repeating its first example: the store keeps one copy.
    let mut tokens = a.tokens.clone();
    tokens.push(a.tokens[0].clone());
    let mut labels = a.labels.clone();
    labels.push(a.labels[0]);
    let doubled = Split { tokens, labels };
    let mut store = PrefixStore::default();
    let mut expected = 0;
    for name in ["last2", "last1", "heads"] {
        let plan = Plan::parse(name, 6).unwrap();
        let fresh = prefix_cache(&model, &plan, a).unwrap();
        let stored = store.states(&model, &plan, &doubled).unwrap();
        expected += a.len();
        assert_eq!(
            store.len(),
            expected,
            "plan {name}: one state per text and layer"
        );
        assert_eq!(&stored[..a.len()], &fresh[..], "plan {name}");
        assert_eq!(stored[a.len()], fresh[0]);
        // Asking again computes nothing and gives the same bits.
        assert_eq!(store.states(&model, &plan, a).unwrap(), fresh);
        assert_eq!(store.len(), expected);
    }
}
