//! The contrastive method's pair losses and their gradients, against
//! PyTorch autograd and by finite differences.
//!
//! The fixture (tests/reference/make_pair_grad_fixture.py) holds 7 sentences
//! of 3 classes (padded right), 10 labelled pairs, the two losses —
//! sentence-transformers' cosine-similarity loss on the pairs, and the
//! supervised contrastive loss (τ = 0.07) over the 7 — and, for each loss,
//! the gradients of 19 tensors of layers 0, 4 and 5, computed in f64 by
//! PyTorch (dropout off) and stored as f32. A layer's gradient does not
//! depend on which other layers train, so one file checks plans `last1`,
//! `last2` and `all`: each compares the stored tensors of its layers.
//! Tolerance: `|a − b| ≤ 1e-5·max|ref| + 1e-7 + 1e-3·|ref|` per element — the
//! classification check's 1e-3 relative term, with the absolute term scaled
//! to the tensor (SupCon's gradients are ~14× the cosine loss's: 1/τ).

#![cfg(feature = "train")]

use minilm::model::TokenBatch;
use minilm::train::pair_loss::{cosine_loss, supcon_loss, Pair, PairLoss};
use minilm::train::{EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan};
use minilm::Encoder;
use rand::SeedableRng;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

const RTOL: f64 = 1e-3;
const ATOL_SCALE: f64 = 1e-5;
/// For tensors whose exact gradient is zero (the key bias: softmax ignores a
/// constant shift of its scores), f32 rounding of terms of order 0.1.
const ATOL_FLOOR: f64 = 1e-7;

struct Fixture {
    f32s: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    i64s: BTreeMap<String, (Vec<usize>, Vec<i64>)>,
}

fn load() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/grad_pairs.safetensors");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (committed; regenerate with tests/reference/make_pair_grad_fixture.py)",
            path.display()
        )
    });
    let st = SafeTensors::deserialize(&bytes).expect("fixture is a safetensors file");
    let (mut f32s, mut i64s) = (BTreeMap::new(), BTreeMap::new());
    for (name, v) in st.tensors() {
        let shape = v.shape().to_vec();
        match v.dtype() {
            Dtype::F32 => {
                let d = v
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()));
                f32s.insert(name, (shape, d.collect()));
            }
            Dtype::I64 => {
                let d = v
                    .data()
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()));
                i64s.insert(name, (shape, d.collect()));
            }
            other => panic!("fixture tensor {name}: unexpected dtype {other:?}"),
        }
    }
    Fixture { f32s, i64s }
}

impl Fixture {
    fn f32(&self, n: &str) -> &[f32] {
        &self
            .f32s
            .get(n)
            .unwrap_or_else(|| panic!("fixture has no {n}"))
            .1
    }
    fn i64(&self, n: &str) -> &(Vec<usize>, Vec<i64>) {
        self.i64s
            .get(n)
            .unwrap_or_else(|| panic!("fixture has no {n}"))
    }
    /// The padded sentences as one padding-free batch.
    fn batch(&self, enc: &Encoder) -> TokenBatch {
        let (shape, ids) = self.i64("input_ids");
        let (_, mask) = self.i64("attention_mask");
        let (_, types) = self.i64("token_type_ids");
        let (b, l) = (shape[0], shape[1]);
        let seqs: Vec<(Vec<u32>, Vec<u32>)> = (0..b)
            .map(|i| {
                let n = mask[i * l..(i + 1) * l].iter().filter(|&&m| m == 1).count();
                let cut = |v: &[i64]| v[i * l..i * l + n].iter().map(|&x| x as u32).collect();
                (cut(ids), cut(types))
            })
            .collect();
        TokenBatch::new(
            seqs.iter().map(|(a, t)| (a.as_slice(), t.as_slice())),
            enc.config(),
        )
        .unwrap()
    }
    fn labels(&self) -> Vec<usize> {
        self.i64("labels").1.iter().map(|&v| v as usize).collect()
    }
    fn pairs(&self) -> Vec<Pair> {
        let idx = &self.i64("pairs").1;
        idx.chunks(2)
            .zip(self.f32("targets"))
            .map(|(ab, &target)| Pair {
                a: ab[0] as usize,
                b: ab[1] as usize,
                target,
            })
            .collect()
    }
}

/// Worst tolerance ratio of `got` against `want` (≤ 1 passes).
fn ratio(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    got.iter()
        .zip(want)
        .map(|(&a, &b)| {
            let err = (a as f64 - b as f64).abs();
            if err.is_nan() {
                f64::INFINITY
            } else {
                err / (ATOL_SCALE * scale + ATOL_FLOOR + RTOL * (b as f64).abs())
            }
        })
        .fold(0.0, f64::max)
}

fn model(enc: &Encoder) -> MultiTaskModel {
    let specs = [
        HeadSpec::new("topic", &["earn", "crude", "trade"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    MultiTaskModel::new(enc.params(), enc.config(), specs).unwrap()
}

fn check(loss: PairLoss, key: &str, prefix: &str) {
    let enc = Encoder::from_dir(minilm::default_model_dir())
        .unwrap_or_else(|e| panic!("{e} (run weights/fetch.sh)"));
    let fx = load();
    let model = model(&enc);
    let batch = fx.batch(&enc);
    let labels = fx.labels();
    let pairs = fx.pairs();
    // The embeddings themselves first.
    let z = model.embed_input(EncoderInput::Tokens(&batch));
    let r = ratio(&z, fx.f32("embeddings"));
    assert!(r <= 1.0, "embeddings: tolerance ratio {r:.3}");
    let n = enc.config().num_layers;
    let mut checked = 0;
    for plan_name in ["last1", "last2", "all"] {
        let base = Plan::parse(plan_name, n).unwrap();
        let plan = Plan::new(n, base.layers().iter().copied(), false, false).unwrap();
        let mut grads = Grads::new(model.params(), &plan);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
        let value = model
            .pair_loss_and_grads(
                EncoderInput::Tokens(&batch),
                &labels,
                &pairs,
                loss,
                1.0,
                &plan,
                Mode::Eval,
                &mut rng,
                &mut grads,
            )
            .unwrap();
        let want = fx.f32(key)[0] as f64;
        assert!(
            (value - want).abs() <= 1e-5 * want.abs().max(1e-3),
            "{plan_name}: loss {value} vs PyTorch {want}"
        );
        let mut here = 0;
        for (k, (_, want)) in fx.f32s.iter().filter(|(k, _)| k.starts_with(prefix)) {
            let name = &k[prefix.len()..];
            let Some(g) = grads.get(name) else {
                // Stored for a layer this plan does not train.
                let layer: usize = name.split('.').nth(2).unwrap().parse().unwrap();
                assert!(
                    !plan.trains_layer(layer),
                    "{plan_name}: no gradient for {name}"
                );
                continue;
            };
            let r = ratio(&g.data, want);
            println!("{plan_name:<6} {name:<52} tolerance ratio {r:.3}");
            assert!(
                r <= 1.0,
                "{plan_name}: {name} outside tolerance (ratio {r:.3})"
            );
            here += 1;
        }
        assert!(here > 0, "{plan_name}: no stored gradient checked");
        checked += here;
    }
    // last1: 12 tensors of layer 5; last2: + 4 of layer 4; all: + 3 of layer 0.
    assert_eq!(
        checked,
        12 + 16 + 19,
        "stored gradients checked over the three plans"
    );
}

#[test]
fn cosine_loss_matches_autograd() {
    check(PairLoss::Cosine, "loss_cosine", "grad_cosine/");
}

#[test]
fn supcon_loss_matches_autograd() {
    check(
        PairLoss::SupCon { temperature: 0.07 },
        "loss_supcon",
        "grad_supcon/",
    );
}

/// A loss of embeddings `z`, adding its gradient into the second argument when given.
type LossOfZ<'a> = &'a dyn Fn(&[f32], Option<&mut [f32]>) -> f64;

/// Central differences of a loss of `z` against its analytic gradient.
fn finite_difference(f: LossOfZ<'_>, z: &[f32]) {
    let mut analytic = vec![0.0f32; z.len()];
    f(z, Some(&mut analytic));
    let eps = 1e-3f32;
    let mut worst = 0.0f64;
    for i in 0..z.len() {
        let (mut p, mut m) = (z.to_vec(), z.to_vec());
        p[i] += eps;
        m[i] -= eps;
        let h = (p[i] - m[i]) as f64; // the step f32 actually took
        let numeric = (f(&p, None) - f(&m, None)) / h;
        let err = (numeric - analytic[i] as f64).abs() / (1e-3 + numeric.abs());
        worst = worst.max(err);
    }
    assert!(
        worst < 2e-3,
        "finite differences disagree: worst relative error {worst:.2e}"
    );
}

fn random_unit_rows(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    use rand::RngExt;
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut z: Vec<f32> = (0..rows * dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    for r in z.chunks_mut(dim) {
        let n = r.iter().map(|a| a * a).sum::<f32>().sqrt();
        r.iter_mut().for_each(|a| *a /= n);
    }
    z
}

#[test]
fn cosine_loss_gradient_by_finite_differences() {
    let z = random_unit_rows(5, 6, 1);
    let pairs = [
        Pair {
            a: 0,
            b: 1,
            target: 1.0,
        },
        Pair {
            a: 0,
            b: 2,
            target: 0.0,
        },
        Pair {
            a: 3,
            b: 4,
            target: 1.0,
        },
        Pair {
            a: 3,
            b: 4,
            target: 1.0,
        },
        Pair {
            a: 2,
            b: 2,
            target: 1.0,
        },
    ];
    finite_difference(&|z, dz| cosine_loss(z, 6, &pairs, 1.0, dz).unwrap(), &z);
}

#[test]
fn supcon_loss_gradient_by_finite_differences() {
    let z = random_unit_rows(6, 5, 2);
    let labels = [0, 1, 0, 2, 1, 2];
    // A mild temperature keeps the f32 central differences well conditioned.
    finite_difference(
        &|z, dz| supcon_loss(z, 5, &labels, 0.5, 1.0, dz).unwrap(),
        &z,
    );
    // An anchor without a positive is left out, not a NaN.
    let lone = [0, 1, 0, 2, 1, 1];
    finite_difference(&|z, dz| supcon_loss(z, 5, &lone, 0.5, 1.0, dz).unwrap(), &z);
}
