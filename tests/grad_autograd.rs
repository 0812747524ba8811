//! Loss and gradients of the multi-task model against PyTorch autograd.
//!
//! The fixture (tests/reference/make_grad_fixture.py) holds two task batches
//! (padded right, with attention masks), the heads the model starts from, the
//! loss `CE_A + CE_B` (each the mean over its batch; dropout off; mean pooling,
//! not normalised) and `grad/<name>` for the trainable tensors of its plan,
//! all computed in f64 by PyTorch and stored as f32. Every stored gradient is
//! compared element by element with `|a − b| ≤ ATOL + RTOL·|ref|`; a table
//! names each tensor's worst element.
//!
//! `MINILM_GRAD_FIXTURE=path` points the main test at another file in the
//! same format. Needs the model at weights/all-MiniLM-L6-v2 (weights/fetch.sh).

#![cfg(feature = "train")]

use minilm::model::TokenBatch;
use minilm::train::{EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan, Task, TaskBatch};
use minilm::weights::{ParamStore, Tensor};
use minilm::Encoder;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-3;

struct Fixture {
    path: PathBuf,
    f32s: BTreeMap<String, Tensor>,
    i64s: HashMap<String, (Vec<usize>, Vec<i64>)>,
    meta: HashMap<String, String>,
}

fn load_fixture(path: &Path) -> Fixture {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (make it with tests/reference/make_grad_fixture.py)",
            path.display()
        )
    });
    let st = SafeTensors::deserialize(&bytes).expect("fixture is not a safetensors file");
    let (_, md) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = md.metadata().clone().unwrap_or_default();
    let mut f32s = BTreeMap::new();
    let mut i64s = HashMap::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        match view.dtype() {
            Dtype::F32 => {
                let data = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                f32s.insert(name, Tensor { shape, data });
            }
            Dtype::I64 => {
                let data = view
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                i64s.insert(name, (shape, data));
            }
            other => panic!("fixture tensor {name}: unexpected dtype {other:?}"),
        }
    }
    Fixture {
        path: path.to_path_buf(),
        f32s,
        i64s,
        meta,
    }
}

impl Fixture {
    fn f32(&self, name: &str) -> &Tensor {
        self.f32s
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.path.display()))
    }
    fn i64(&self, name: &str) -> &(Vec<usize>, Vec<i64>) {
        self.i64s
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name}", self.path.display()))
    }

    /// The padded `[B, L]` ids of one task as a padding-free batch, and its labels.
    fn batch(&self, task: &str, enc: &Encoder) -> (TokenBatch, Vec<usize>) {
        let (shape, ids) = self.i64(&format!("input_ids_{task}"));
        let (_, mask) = self.i64(&format!("attention_mask_{task}"));
        let (_, types) = self.i64(&format!("token_type_ids_{task}"));
        let (b, l) = (shape[0], shape[1]);
        let mut seqs = Vec::new();
        for i in 0..b {
            let row = &mask[i * l..(i + 1) * l];
            let n = row.iter().filter(|&&m| m == 1).count();
            assert!(
                row[..n].iter().all(|&m| m == 1),
                "task {task} row {i}: padding is not on the right"
            );
            let ids: Vec<u32> = ids[i * l..i * l + n].iter().map(|&v| v as u32).collect();
            let tys: Vec<u32> = types[i * l..i * l + n].iter().map(|&v| v as u32).collect();
            seqs.push((ids, tys));
        }
        let batch = TokenBatch::new(
            seqs.iter().map(|(a, b)| (a.as_slice(), b.as_slice())),
            enc.config(),
        )
        .unwrap();
        let labels = self
            .i64(&format!("labels_{task}"))
            .1
            .iter()
            .map(|&v| v as usize)
            .collect();
        (batch, labels)
    }

    /// The plan the gradients were made for: the metadata's, else the layers present.
    fn plan(&self, num_layers: usize) -> Plan {
        if let Some(p) = self.meta.get("plan") {
            return Plan::parse(p, num_layers).unwrap();
        }
        let low = self
            .f32s
            .keys()
            .any(|k| (0..4).any(|l| k.starts_with(&format!("grad/encoder.layer.{l}."))));
        Plan::parse(if low { "all" } else { "last2" }, num_layers).unwrap()
    }

    fn classes(&self, task: &str, n: usize) -> Vec<String> {
        match self
            .meta
            .get(&format!("classes_{task}"))
            .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
        {
            Some(c) if c.len() == n => c,
            _ => (0..n).map(|i| format!("class{i}")).collect(),
        }
    }
}

/// One compared tensor: the worst element by the tolerance ratio.
struct Row {
    name: String,
    shape: Vec<usize>,
    max_abs: f64,
    /// max over elements of |a−b| / (ATOL + RTOL·|ref|); ≤ 1 passes.
    ratio: f64,
    idx: usize,
    got: f32,
    want: f32,
    /// |a−b| / max|ref|: error relative to the tensor's scale.
    scaled: f64,
}

fn compare(name: &str, got: &[f32], want: &Tensor) -> Row {
    assert_eq!(
        got.len(),
        want.data.len(),
        "{name}: {} values, reference has {}",
        got.len(),
        want.data.len()
    );
    let scale = want.data.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    let mut row = Row {
        name: name.to_string(),
        shape: want.shape.clone(),
        max_abs: 0.0,
        ratio: 0.0,
        idx: 0,
        got: 0.0,
        want: 0.0,
        scaled: 0.0,
    };
    for (i, (&a, &b)) in got.iter().zip(&want.data).enumerate() {
        let err = (a as f64 - b as f64).abs();
        let r = if err.is_nan() {
            f64::INFINITY
        } else {
            err / (ATOL + RTOL * (b as f64).abs())
        };
        row.max_abs = row.max_abs.max(err);
        if r > row.ratio || i == 0 {
            row.ratio = r;
            row.idx = i;
            row.got = a;
            row.want = b;
        }
    }
    row.scaled = row.max_abs / scale.max(1e-30);
    row
}

fn unravel(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        idx[d] = i % n.max(1);
        i /= n.max(1);
    }
    format!("{idx:?}")
}

fn group(name: &str) -> &'static str {
    if name.starts_with("head_") {
        "heads"
    } else if name.contains("LayerNorm") {
        "LayerNorm"
    } else if name.contains("attention") {
        "attention"
    } else if name.contains("intermediate") || name.contains("output.dense") {
        "FFN"
    } else {
        "other"
    }
}

/// Load the fixture at `path`, run the step, compare; panics naming every failure.
fn check_fixture(path: &Path) {
    let enc = Encoder::from_dir(minilm::default_model_dir()).unwrap_or_else(|e| {
        panic!("{e} (the autograd check needs the model: run weights/fetch.sh)")
    });
    let fx = load_fixture(path);
    let cfg = enc.config().clone();
    let mut params: ParamStore = enc.params().clone();
    for n in [
        "head_a.weight",
        "head_a.bias",
        "head_b.weight",
        "head_b.bias",
    ] {
        params.insert(n, fx.f32(n).clone());
    }
    let na = fx.f32("head_a.bias").data.len();
    let nb = fx.f32("head_b.bias").data.len();
    let specs = [
        HeadSpec {
            name: "topic".into(),
            classes: fx.classes("a", na),
        },
        HeadSpec {
            name: "sentiment".into(),
            classes: fx.classes("b", nb),
        },
    ];
    let model = MultiTaskModel::new(&params, &cfg, specs).unwrap();
    let plan = fx.plan(cfg.num_layers);
    let (batch_a, labels_a) = fx.batch("a", &enc);
    let (batch_b, labels_b) = fx.batch("b", &enc);
    let batches = [
        TaskBatch {
            task: Task::A,
            input: EncoderInput::Tokens(&batch_a),
            labels: &labels_a,
        },
        TaskBatch {
            task: Task::B,
            input: EncoderInput::Tokens(&batch_b),
            labels: &labels_b,
        },
    ];
    let mut grads = Grads::new(model.params(), &plan);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    let out = model
        .loss_and_grads(&batches, &plan, Mode::Eval, &mut rng, &mut grads)
        .unwrap();

    println!(
        "fixture {} (plan {plan}), tolerance |a−b| ≤ {ATOL:e} + {RTOL:e}·|ref|",
        fx.path.display()
    );
    let mut rows = Vec::new();
    let want_loss = fx.f32("loss");
    rows.push(compare("loss", &[out.loss as f32], want_loss));
    for (key, t) in [("logits_a", 0), ("logits_b", 1)] {
        if let Some(w) = fx.f32s.get(key) {
            rows.push(compare(key, &out.tasks[t].logits, w));
        }
    }
    for (key, b) in [("pooled_a", &batch_a), ("pooled_b", &batch_b)] {
        if let Some(w) = fx.f32s.get(key) {
            rows.push(compare(key, &model.embed(b), w));
        }
    }
    let mut checked = 0;
    for (key, want) in fx.f32s.iter().filter(|(k, _)| k.starts_with("grad/")) {
        let name = &key["grad/".len()..];
        let got = grads
            .get(name)
            .unwrap_or_else(|| panic!("plan {plan} computes no gradient for {name}"));
        rows.push(compare(name, &got.data, want));
        checked += 1;
    }
    assert!(checked > 0, "{}: no grad/* tensors", fx.path.display());
    // Every gradient the plan trains must be finite, stored or not.
    for (name, g) in grads.iter() {
        assert!(
            g.data.iter().all(|v| v.is_finite()),
            "{name}: non-finite gradient"
        );
    }

    println!(
        "{:<52} {:>14} {:>10} {:>8} {:>9}  worst element (ours vs ref)",
        "tensor", "shape", "max|a−b|", "tol.x", "/max|ref|"
    );
    let mut worst_by_group: BTreeMap<&str, (f64, String)> = BTreeMap::new();
    for r in &rows {
        println!(
            "{:<52} {:>14} {:>10.2e} {:>8.3} {:>9.1e}  {} {:+.6e} vs {:+.6e}{}",
            r.name,
            format!("{:?}", r.shape),
            r.max_abs,
            r.ratio,
            r.scaled,
            unravel(r.idx, &r.shape),
            r.got,
            r.want,
            if r.ratio > 1.0 { "   FAIL" } else { "" }
        );
        // Tensors whose exact gradient is zero (the key bias: softmax ignores a
        // constant shift of the scores) have no scale to be relative to.
        let zero_ref = r.max_abs <= ATOL && r.scaled > 1.0;
        if r.name.contains('.') && !zero_ref {
            let e = worst_by_group
                .entry(group(&r.name))
                .or_insert((0.0, String::new()));
            if r.scaled > e.0 {
                *e = (r.scaled, r.name.clone());
            }
        }
    }
    println!("worst max|a−b|/max|ref| per group (tensors whose reference is all ≈0 left out):");
    for (g, (e, n)) in &worst_by_group {
        println!("  {g:<10} {e:.2e}  ({n})");
    }
    println!(
        "loss: ours {:.9} ref {:.9}; {checked} gradient tensors checked",
        out.loss, want_loss.data[0]
    );
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.ratio > 1.0)
        .map(|r| r.name.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "outside tolerance: {failed:?} (see the table above)"
    );
}

use rand::SeedableRng;

#[test]
fn last2_matches_autograd() {
    let path = std::env::var_os("MINILM_GRAD_FIXTURE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grad_last2.safetensors")
        });
    check_fixture(&path);
}

/// Plan `all` (every layer trains): checks the tensors the committed subset
/// file stores (the full file would be ~43 MB). A missing file fails.
#[test]
fn all_matches_autograd() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grad_all_subset.safetensors");
    check_fixture(&path);
}

/// The real model's step, dropout on, gives the same bits on 1 and 2 threads
/// (work is split only over independent outputs).
#[test]
fn step_is_thread_count_independent() {
    let enc = Encoder::from_dir(minilm::default_model_dir())
        .unwrap_or_else(|e| panic!("{e} (run weights/fetch.sh)"));
    let fx = load_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grad_last2.safetensors"),
    );
    let specs = [
        HeadSpec::new("topic", &["a", "b", "c", "d", "e", "f", "g", "h"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    let model = MultiTaskModel::new(enc.params(), enc.config(), specs).unwrap();
    let plan = Plan::parse("last2", enc.config().num_layers).unwrap();
    let (batch_a, labels_a) = fx.batch("a", &enc);
    let (batch_b, labels_b) = fx.batch("b", &enc);
    let run = || {
        let batches = [
            TaskBatch {
                task: Task::A,
                input: EncoderInput::Tokens(&batch_a),
                labels: &labels_a,
            },
            TaskBatch {
                task: Task::B,
                input: EncoderInput::Tokens(&batch_b),
                labels: &labels_b,
            },
        ];
        let mut grads = Grads::new(model.params(), &plan);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(77);
        let out = model
            .loss_and_grads(&batches, &plan, Mode::Train, &mut rng, &mut grads)
            .unwrap();
        (out.loss, grads)
    };
    let (l1, g1) = minilm_kernels::parallel::with_threads(1, run);
    let (l2, g2) = minilm_kernels::parallel::with_threads(2, run);
    assert_eq!(l1, l2);
    for ((n, a), (_, b)) in g1.iter().zip(g2.iter()) {
        assert!(
            a.data == b.data,
            "{n}: gradients differ between 1 and 2 threads"
        );
    }
}
