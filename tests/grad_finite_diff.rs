//! Every hand-written backward against central finite differences, in one
//! table of ops (small random shapes, seeded).
//!
//! Each case is a function `y = f(inputs)` of f32 tensors. The harness draws a
//! random cotangent `r`, takes `L = Σ r·y` (summed in f64), runs the case's
//! backward with `dy = r`, and checks each input's gradient
//!  * element-wise on the largest-gradient element and a few random ones:
//!    `fd_i = (L(x + ε·e_i) − L(x − ε·e_i)) / 2ε`;
//!  * along a random unit direction `v`: `(L(x + εv) − L(x − εv)) / 2ε` against `g·v`;
//!
//! with `|fd − g| ≤ ATOL + RTOL·|g|`. The forward runs in f32, so ε is a
//! compromise between f32 rounding (~1e-7/ε) and truncation (~ε²): ε = 1e-2
//! on inputs of unit scale gives errors of at most ~1e-4 (about 1e-3 relative)
//! here, a tenth of the tolerance (ATOL 5e-4, RTOL 5e-3); a 1 % error in a
//! gradient fails.

#![cfg(feature = "train")]

mod train_common;

use minilm::model::attention::{
    attention_core, attention_core_backward, probs_offsets, Attention, AttentionActs,
};
use minilm::model::dropout::Dropout;
use minilm::model::feed_forward::{FeedForward, FeedForwardActs, FeedForwardGrads};
use minilm::model::forward::{Record, Scratch};
use minilm::model::layer::{Layer, LayerActs, LayerDropout};
use minilm::model::layer_norm::{LayerNorm, LayerNormGrad};
use minilm::model::linear::{Linear, LinearGrad};
use minilm::model::pooling::{
    l2_normalize_rows, l2_normalize_rows_backward, mean_pool, mean_pool_backward,
};
use minilm::model::TokenBatch;
use minilm::train::loss::{cross_entropy_backward, cross_entropy_forward};
use minilm::train::{EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan, Task, TaskBatch};
use minilm::weights::{ParamStore, Tensor};
use minilm_kernels::gelu::{gelu_erf_backward, gelu_erf_inplace};
use minilm_kernels::softmax::{softmax_rows, softmax_rows_backward};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use train_common::{batch_of, random_params, tiny_config, uniform};

const EPS: f32 = 1e-2;
const ATOL: f64 = 5e-4;
const RTOL: f64 = 5e-3;
/// Random elements checked per input, besides the largest-gradient one.
const PICKS: usize = 4;

type Inputs = Vec<(String, Vec<usize>, Vec<f32>)>;
type Forward = Box<dyn Fn(&[Vec<f32>]) -> Vec<f32>>;
type Backward = Box<dyn Fn(&[Vec<f32>], &[f32]) -> Vec<Vec<f32>>>;

/// The attention block's forward as training runs it: output and what the backward needs.
fn attention_train(
    a: &Attention,
    x: &[f32],
    b: &TokenBatch,
    probs: Option<Dropout>,
    output: Option<Dropout>,
) -> (Vec<f32>, AttentionActs) {
    let (mut y, mut acts) = (x.to_vec(), AttentionActs::default());
    let record = Record::Backward(&mut acts);
    a.forward(&mut y, b, &mut Scratch::default(), record, probs, output);
    (y, acts)
}

/// The feed-forward block's forward as training runs it.
fn feed_forward_train(
    f: &FeedForward,
    x: &[f32],
    m: usize,
    dropout: Option<Dropout>,
) -> (Vec<f32>, FeedForwardActs) {
    let (mut y, mut acts) = (x.to_vec(), FeedForwardActs::default());
    let record = Record::Backward(&mut acts);
    f.forward(&mut y, m, &mut Scratch::default(), record, dropout);
    (y, acts)
}

/// A layer's forward as training runs it.
fn layer_train(
    l: &Layer,
    x: &[f32],
    b: &TokenBatch,
    dropout: LayerDropout,
) -> (Vec<f32>, LayerActs) {
    let (mut y, mut acts) = (x.to_vec(), LayerActs::default());
    let record = Record::Backward(&mut acts);
    l.forward(&mut y, b, &mut Scratch::default(), record, dropout);
    (y, acts)
}

/// One row of the table.
struct Case {
    name: &'static str,
    /// (name, shape, values) of each differentiable input.
    inputs: Inputs,
    forward: Forward,
    /// Gradient of `Σ dy·f(inputs)` for each input, in order.
    backward: Backward,
}

/// Inputs named after `cfg`'s layer-`l` tensors with the given suffixes, from `params`.
fn take(params: &ParamStore, prefix: &str, suffixes: &[&str]) -> Inputs {
    suffixes
        .iter()
        .map(|s| {
            let n = format!("{prefix}{s}");
            let t = params.get(&n);
            (n, t.shape.clone(), t.data.clone())
        })
        .collect()
}

/// A store with the inputs' current values overriding `base`.
fn with_values(base: &ParamStore, names: &[String], values: &[Vec<f32>]) -> ParamStore {
    let mut s = base.clone();
    for (n, v) in names.iter().zip(values) {
        let shape = s.get(n).shape.clone();
        s.insert(
            n.clone(),
            Tensor {
                shape,
                data: v.clone(),
            },
        );
    }
    s
}

const LAYER_SUFFIXES: [&str; 16] = [
    "attention.self.query.weight",
    "attention.self.query.bias",
    "attention.self.key.weight",
    "attention.self.key.bias",
    "attention.self.value.weight",
    "attention.self.value.bias",
    "attention.output.dense.weight",
    "attention.output.dense.bias",
    "attention.output.LayerNorm.weight",
    "attention.output.LayerNorm.bias",
    "intermediate.dense.weight",
    "intermediate.dense.bias",
    "output.dense.weight",
    "output.dense.bias",
    "output.LayerNorm.weight",
    "output.LayerNorm.bias",
];

fn cases() -> Vec<Case> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let cfg = tiny_config(3);
    let params = random_params(&cfg, &mut rng);
    let h = cfg.hidden_size;
    let lens = [3usize, 5, 1, 4];
    let batch = batch_of(&lens, &cfg, &mut rng);
    let t = batch.tokens();
    let mut v = Vec::new();

    // Linear: y = x·Wᵀ + b.
    {
        let (m, k, n) = (5, 7, 6);
        let mut ps = ParamStore::default();
        ps.insert(
            "lin.weight",
            Tensor {
                shape: vec![n, k],
                data: uniform(&mut rng, n * k, 0.5),
            },
        );
        ps.insert(
            "lin.bias",
            Tensor {
                shape: vec![n],
                data: uniform(&mut rng, n, 0.5),
            },
        );
        let mut inputs = vec![("x".to_string(), vec![m, k], uniform(&mut rng, m * k, 1.0))];
        inputs.extend(take(&ps, "lin.", &["weight", "bias"]));
        let names: Vec<String> = vec!["lin.weight".into(), "lin.bias".into()];
        let (ps1, n1) = (ps.clone(), names.clone());
        let build =
            move |x: &[Vec<f32>]| Linear::from_store(&with_values(&ps1, &n1, &x[1..]), "lin");
        let build2 = build.clone();
        v.push(Case {
            name: "linear",
            inputs,
            forward: Box::new(move |x| {
                let mut y = vec![0.0; m * n];
                build(x).forward(&x[0], m, minilm_kernels::Epilogue::None, &mut y);
                y
            }),
            backward: Box::new(move |x, dy| {
                let (mut dx, mut dw, mut db) = (vec![0.0; m * k], vec![0.0; n * k], vec![0.0; n]);
                let mut g = [LinearGrad {
                    weight: &mut dw,
                    bias: &mut db,
                }];
                build2(x).backward(&x[0], dy, m, Some(&mut dx[..]), &mut g);
                vec![dx, dw, db]
            }),
        });
    }

    // Linear with three output blocks (the fused Q/K/V layout).
    {
        let (m, k) = (4, 6);
        let pre = ["q", "k", "v"];
        let mut ps = ParamStore::default();
        let mut inputs = vec![("x".to_string(), vec![m, k], uniform(&mut rng, m * k, 1.0))];
        for p in pre {
            ps.insert(
                format!("{p}.weight"),
                Tensor {
                    shape: vec![3, k],
                    data: uniform(&mut rng, 3 * k, 0.5),
                },
            );
            ps.insert(
                format!("{p}.bias"),
                Tensor {
                    shape: vec![3],
                    data: uniform(&mut rng, 3, 0.5),
                },
            );
            inputs.extend(take(&ps, &format!("{p}."), &["weight", "bias"]));
        }
        let names: Vec<String> = inputs[1..].iter().map(|i| i.0.clone()).collect();
        let build = move |x: &[Vec<f32>]| Linear::fused(&with_values(&ps, &names, &x[1..]), &pre);
        let build2 = build.clone();
        v.push(Case {
            name: "linear (3 fused blocks)",
            inputs,
            forward: Box::new(move |x| {
                let mut y = vec![0.0; m * 9];
                build(x).forward(&x[0], m, minilm_kernels::Epilogue::None, &mut y);
                y
            }),
            backward: Box::new(move |x, dy| {
                let mut dx = vec![0.0; m * k];
                let mut bufs: Vec<(Vec<f32>, Vec<f32>)> =
                    (0..3).map(|_| (vec![0.0; 3 * k], vec![0.0; 3])).collect();
                {
                    let mut g: Vec<LinearGrad> = bufs
                        .iter_mut()
                        .map(|(w, b)| LinearGrad { weight: w, bias: b })
                        .collect();
                    build2(x).backward(&x[0], dy, m, Some(&mut dx[..]), &mut g);
                }
                let mut out = vec![dx];
                for (w, b) in bufs {
                    out.push(w);
                    out.push(b);
                }
                out
            }),
        });
    }

    // LayerNorm.
    {
        let (rows, dim) = (4, 8);
        let inputs = vec![
            (
                "x".to_string(),
                vec![rows, dim],
                uniform(&mut rng, rows * dim, 2.0),
            ),
            (
                "gamma".to_string(),
                vec![dim],
                uniform(&mut rng, dim, 0.5)
                    .into_iter()
                    .map(|v| v + 1.0)
                    .collect(),
            ),
            ("beta".to_string(), vec![dim], uniform(&mut rng, dim, 0.5)),
        ];
        let ln = |x: &[Vec<f32>]| LayerNorm {
            gamma: x[1].clone(),
            beta: x[2].clone(),
            eps: 1e-12,
        };
        v.push(Case {
            name: "layer_norm",
            inputs,
            forward: Box::new(move |x| {
                let mut y = vec![0.0; x[0].len()];
                ln(x).forward(&x[0], &mut y, None);
                y
            }),
            backward: Box::new(move |x, dy| {
                let l = ln(x);
                let mut y = vec![0.0; x[0].len()];
                let acts = l.forward_keep(x[0].clone(), &mut y);
                let (mut dx, mut dg, mut db) =
                    (vec![0.0; x[0].len()], vec![0.0; dim], vec![0.0; dim]);
                l.backward(
                    dy,
                    &acts,
                    &mut dx,
                    Some(LayerNormGrad {
                        gamma: &mut dg,
                        beta: &mut db,
                    }),
                );
                vec![dx, dg, db]
            }),
        });
    }

    // erf-GELU.
    v.push(Case {
        name: "gelu_erf",
        inputs: vec![("x".to_string(), vec![32], uniform(&mut rng, 32, 4.0))],
        forward: Box::new(|x| {
            let mut y = x[0].clone();
            gelu_erf_inplace(&mut y);
            y
        }),
        backward: Box::new(|x, dy| {
            let mut dx = vec![0.0; x[0].len()];
            gelu_erf_backward(&x[0], dy, &mut dx);
            vec![dx]
        }),
    });

    // Row softmax.
    v.push(Case {
        name: "softmax_rows",
        inputs: vec![("x".to_string(), vec![3, 7], uniform(&mut rng, 21, 3.0))],
        forward: Box::new(|x| {
            let mut y = x[0].clone();
            softmax_rows(&mut y, 7);
            y
        }),
        backward: Box::new(|x, dy| {
            let mut p = x[0].clone();
            softmax_rows(&mut p, 7);
            let mut dx = vec![0.0; p.len()];
            softmax_rows_backward(&p, dy, 7, &mut dx);
            vec![dx]
        }),
    });

    // Dropout with a fixed mask.
    v.push(Case {
        name: "dropout (fixed mask, p=0.3)",
        inputs: vec![("x".to_string(), vec![40], uniform(&mut rng, 40, 1.0))],
        forward: Box::new(|x| {
            let mut y = x[0].clone();
            Dropout::new(0.3, 99).forward(&mut y, 5);
            y
        }),
        backward: Box::new(|_, dy| {
            let mut dx = dy.to_vec();
            Dropout::new(0.3, 99).backward(&mut dx, 5);
            vec![dx]
        }),
    });

    // Attention core over sequences of different lengths, with and without dropout.
    for (name, drop) in [
        ("attention core (4 sequences)", None),
        ("attention core + dropout", Some(Dropout::new(0.2, 5))),
    ] {
        let heads = cfg.num_heads;
        let b1 = batch.clone();
        let b2 = batch.clone();
        let np = *probs_offsets(&batch, heads).last().unwrap();
        v.push(Case {
            name,
            inputs: vec![(
                "qkv".to_string(),
                vec![t, 3 * h],
                uniform(&mut rng, t * 3 * h, 1.5),
            )],
            forward: Box::new(move |x| {
                let (mut ctx, mut p, mut w) = (vec![0.0; t * h], vec![0.0; np], vec![0.0; t * h]);
                let d = drop.as_ref();
                attention_core(&x[0], &b1, heads, d, &mut ctx, Some(&mut p), &mut w);
                ctx
            }),
            backward: Box::new(move |x, dy| {
                let (mut ctx, mut p, mut w) = (vec![0.0; t * h], vec![0.0; np], vec![0.0; t * h]);
                let d = drop.as_ref();
                attention_core(&x[0], &b2, heads, d, &mut ctx, Some(&mut p), &mut w);
                vec![attention_core_backward(
                    &x[0],
                    &p,
                    dy,
                    &b2,
                    heads,
                    drop.as_ref(),
                )]
            }),
        });
    }

    // Mean pooling.
    {
        let (b1, b2) = (batch.clone(), batch.clone());
        v.push(Case {
            name: "mean_pool",
            inputs: vec![("x".to_string(), vec![t, h], uniform(&mut rng, t * h, 1.0))],
            forward: Box::new(move |x| mean_pool(&x[0], &b1, h)),
            backward: Box::new(move |x, dy| {
                let mut dx = vec![0.0; x[0].len()];
                mean_pool_backward(dy, &b2, h, &mut dx);
                vec![dx]
            }),
        });
    }

    // L2 normalisation.
    v.push(Case {
        name: "l2_normalize",
        inputs: vec![("x".to_string(), vec![3, h], uniform(&mut rng, 3 * h, 1.0))],
        forward: Box::new(move |x| {
            let mut y = x[0].clone();
            l2_normalize_rows(&mut y, h);
            y
        }),
        backward: Box::new(move |x, dy| {
            let mut y = x[0].clone();
            let norms = l2_normalize_rows(&mut y, h);
            let mut dx = vec![0.0; y.len()];
            l2_normalize_rows_backward(&y, &norms, dy, h, &mut dx);
            vec![dx]
        }),
    });

    // Softmax cross-entropy, mean over the batch.
    {
        let labels = vec![2usize, 0, 4, 4, 1];
        let l2 = labels.clone();
        v.push(Case {
            name: "cross_entropy",
            inputs: vec![("logits".to_string(), vec![5, 5], uniform(&mut rng, 25, 3.0))],
            forward: Box::new(move |x| {
                vec![cross_entropy_forward(&x[0], 5, &labels).unwrap().loss as f32]
            }),
            backward: Box::new(move |x, dy| {
                let ce = cross_entropy_forward(&x[0], 5, &l2).unwrap();
                let mut d = vec![0.0; 25];
                cross_entropy_backward(&ce, &l2, dy[0], &mut d);
                vec![d]
            }),
        });
    }

    // Attention block (projections, attention, dropout, residual, LayerNorm).
    {
        let pre = "encoder.layer.1.";
        let suf = &LAYER_SUFFIXES[..10];
        let mut inputs = vec![("x".to_string(), vec![t, h], uniform(&mut rng, t * h, 1.0))];
        inputs.extend(take(&params, pre, suf));
        let names: Vec<String> = inputs[1..].iter().map(|i| i.0.clone()).collect();
        let (ps, c, b) = (params.clone(), cfg.clone(), batch.clone());
        let build = move |x: &[Vec<f32>]| {
            Attention::from_store(
                &with_values(&ps, &names, &x[1..]),
                "encoder.layer.1.attention",
                &c,
            )
        };
        let build2 = build.clone();
        let b2 = b.clone();
        let (dp, dout) = (Some(Dropout::new(0.1, 11)), Some(Dropout::new(0.1, 12)));
        v.push(Case {
            name: "attention block + dropout",
            inputs,
            forward: Box::new(move |x| attention_train(&build(x), &x[0], &b, dp, dout).0),
            backward: Box::new(move |x, dy| {
                let a = build2(x);
                let (_, acts) = attention_train(&a, &x[0], &b2, dp, dout);
                let mut g: Vec<Vec<f32>> = x.iter().map(|v| vec![0.0; v.len()]).collect();
                let (dx, rest) = g.split_first_mut().unwrap();
                let mut it = rest.iter_mut();
                let mut nx = || it.next().unwrap().as_mut_slice();
                let (qw, qb, kw, kb, vw, vb, ow, ob, lg, lb) =
                    (nx(), nx(), nx(), nx(), nx(), nx(), nx(), nx(), nx(), nx());
                let grads = minilm::model::attention::AttentionGrads {
                    query: LinearGrad {
                        weight: qw,
                        bias: qb,
                    },
                    key: LinearGrad {
                        weight: kw,
                        bias: kb,
                    },
                    value: LinearGrad {
                        weight: vw,
                        bias: vb,
                    },
                    output: LinearGrad {
                        weight: ow,
                        bias: ob,
                    },
                    layer_norm: LayerNormGrad {
                        gamma: lg,
                        beta: lb,
                    },
                };
                a.backward(&b2, &acts, dy, Some(dx.as_mut_slice()), Some(grads));
                g
            }),
        });
    }

    // Feed-forward block.
    {
        let pre = "encoder.layer.2.";
        let suf = &LAYER_SUFFIXES[10..];
        let mut inputs = vec![("x".to_string(), vec![t, h], uniform(&mut rng, t * h, 1.0))];
        inputs.extend(take(&params, pre, suf));
        let names: Vec<String> = inputs[1..].iter().map(|i| i.0.clone()).collect();
        let (ps, c) = (params.clone(), cfg.clone());
        let build = move |x: &[Vec<f32>]| {
            FeedForward::from_store(&with_values(&ps, &names, &x[1..]), "encoder.layer.2", &c)
        };
        let build2 = build.clone();
        let d = Some(Dropout::new(0.1, 13));
        v.push(Case {
            name: "feed-forward block + dropout",
            inputs,
            forward: Box::new(move |x| feed_forward_train(&build(x), &x[0], t, d).0),
            backward: Box::new(move |x, dy| {
                let f = build2(x);
                let (_, acts) = feed_forward_train(&f, &x[0], t, d);
                let mut g: Vec<Vec<f32>> = x.iter().map(|v| vec![0.0; v.len()]).collect();
                let (dx, rest) = g.split_first_mut().unwrap();
                let mut it = rest.iter_mut();
                let mut nx = || it.next().unwrap().as_mut_slice();
                let (iw, ib, ow, ob, lg, lb) = (nx(), nx(), nx(), nx(), nx(), nx());
                let grads = FeedForwardGrads {
                    intermediate: LinearGrad {
                        weight: iw,
                        bias: ib,
                    },
                    output: LinearGrad {
                        weight: ow,
                        bias: ob,
                    },
                    layer_norm: LayerNormGrad {
                        gamma: lg,
                        beta: lb,
                    },
                };
                f.backward(&acts, dy, t, dx, Some(grads));
                g
            }),
        });
    }

    // A whole layer, gradients through the model's gradient store.
    {
        let pre = "encoder.layer.0.";
        let mut inputs = vec![("x".to_string(), vec![t, h], uniform(&mut rng, t * h, 1.0))];
        inputs.extend(take(&params, pre, &LAYER_SUFFIXES));
        let names: Vec<String> = inputs[1..].iter().map(|i| i.0.clone()).collect();
        let (ps, c, b) = (params.clone(), cfg.clone(), batch.clone());
        let store = move |x: &[Vec<f32>]| with_values(&ps, &names, &x[1..]);
        let store2 = store.clone();
        let (c2, b2) = (c.clone(), b.clone());
        let dropout = LayerDropout {
            attention_probs: Some(Dropout::new(0.1, 21)),
            attention_output: Some(Dropout::new(0.1, 22)),
            output: Some(Dropout::new(0.1, 23)),
        };
        v.push(Case {
            name: "whole layer + dropout",
            inputs,
            forward: Box::new(move |x| {
                layer_train(&Layer::from_store(&store(x), 0, &c), &x[0], &b, dropout).0
            }),
            backward: Box::new(move |x, dy| {
                let ps = store2(x);
                let layer = Layer::from_store(&ps, 0, &c2);
                let (_, acts) = layer_train(&layer, &x[0], &b2, dropout);
                let plan = Plan::new(c2.num_layers, [0], false, false).unwrap();
                let mut grads = Grads::new(&ps, &plan);
                let mut dx = vec![0.0; x[0].len()];
                layer.backward(&b2, &acts, dy, Some(&mut dx[..]), grads.layer_mut(0));
                let mut out = vec![dx];
                for s in LAYER_SUFFIXES {
                    out.push(
                        grads
                            .get(&format!("encoder.layer.0.{s}"))
                            .unwrap()
                            .data
                            .clone(),
                    );
                }
                out
            }),
        });
    }

    // The whole multi-task step on a tiny 3-layer encoder: plan trains layers
    // 0 and 2 (layer 1 frozen in between) and head B only; loss over both
    // tasks, L2-normalised embeddings, dropout on (fixed seed). Task A enters
    // as cached hidden states.
    {
        let plan = Plan::parse("layers=0,2/heads=b", 3).unwrap();
        let specs = [
            HeadSpec::new("topic", &["x", "y", "z"]),
            HeadSpec::new("sentiment", &["neg", "pos"]),
        ];
        let base = MultiTaskModel::new(&params, &cfg, specs.clone()).unwrap();
        let mut inputs: Inputs = Vec::new();
        for n in plan.trainable_names(h, cfg.intermediate_size) {
            let t = base.params().get(&n);
            inputs.push((n.clone(), t.shape.clone(), t.data.clone()));
        }
        let names: Vec<String> = inputs.iter().map(|i| i.0.clone()).collect();
        let bb = batch_of(&[2, 6, 3], &cfg, &mut rng);
        let (la, lb) = (vec![0usize, 2, 1, 2], vec![1usize, 0, 0]);
        let allp = base.params().clone();
        let (c, ba, pl) = (cfg.clone(), batch.clone(), plan.clone());
        let run = move |x: &[Vec<f32>], want_grads: bool| -> (f32, Vec<Vec<f32>>) {
            let ps = with_values(&allp, &names, x);
            let m = MultiTaskModel::new(&ps, &c, specs.clone())
                .unwrap()
                .with_normalize(true);
            let prefix = m.frozen_prefix(&ba, &pl);
            let batches = [
                TaskBatch {
                    task: Task::A,
                    input: EncoderInput::Hidden {
                        batch: &ba,
                        states: &prefix,
                        layer: pl.first_layer(),
                    },
                    labels: &la,
                },
                TaskBatch {
                    task: Task::B,
                    input: EncoderInput::Tokens(&bb),
                    labels: &lb,
                },
            ];
            let mut grads = Grads::new(m.params(), &pl);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
            let out = m
                .loss_and_grads(&batches, &pl, Mode::Train, &mut rng, &mut grads)
                .unwrap();
            let g = if want_grads {
                names
                    .iter()
                    .map(|n| grads.get(n).unwrap().data.clone())
                    .collect()
            } else {
                vec![]
            };
            (out.loss as f32, g)
        };
        let run2 = run.clone();
        v.push(Case {
            name: "multi-task step (layers 0,2 + head B, normalised)",
            inputs,
            forward: Box::new(move |x| vec![run(x, false).0]),
            backward: Box::new(move |x, dy| {
                run2(x, true)
                    .1
                    .into_iter()
                    .map(|g| g.iter().map(|v| v * dy[0]).collect())
                    .collect()
            }),
        });
    }
    v
}

fn loss_of(case: &Case, x: &[Vec<f32>], r: &[f32]) -> f64 {
    let y = (case.forward)(x);
    assert_eq!(y.len(), r.len(), "{}: output size changed", case.name);
    y.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

#[test]
fn backward_matches_finite_differences() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12345);
    let mut failures = Vec::new();
    println!("central differences, ε = {EPS:e}; pass when |fd − g| ≤ {ATOL:e} + {RTOL:e}·|g|");
    println!(
        "{:<48} {:<40} {:>10} {:>10}  worst check",
        "case", "input", "worst err", "tol.x"
    );
    for case in cases() {
        let x: Vec<Vec<f32>> = case.inputs.iter().map(|i| i.2.clone()).collect();
        let y = (case.forward)(&x);
        let r = uniform(&mut rng, y.len(), 1.0);
        let grads = (case.backward)(&x, &r);
        assert_eq!(
            grads.len(),
            x.len(),
            "{}: one gradient per input",
            case.name
        );
        for (j, (name, shape, _)) in case.inputs.iter().enumerate() {
            let g = &grads[j];
            assert_eq!(g.len(), x[j].len(), "{} / {name}: gradient size", case.name);
            let mut worst = (0.0f64, 0.0f64, String::new());
            let mut check = |label: String, fd: f64, an: f64| {
                let err = (fd - an).abs();
                let ratio = err / (ATOL + RTOL * an.abs());
                if ratio > worst.1 || !ratio.is_finite() {
                    worst = (
                        err,
                        ratio,
                        format!("{label}: fd {fd:+.6e} vs backward {an:+.6e}"),
                    );
                }
            };
            // Element-wise: the largest-gradient element and a few random ones.
            let big = (0..g.len())
                .max_by(|&a, &b| g[a].abs().total_cmp(&g[b].abs()))
                .unwrap();
            let mut picks = vec![big];
            picks.extend(
                (0..PICKS.min(g.len())).map(|_| (rng.next_u64() % g.len() as u64) as usize),
            );
            for &i in &picks {
                let mut xp = x.clone();
                xp[j][i] += EPS;
                let lp = loss_of(&case, &xp, &r);
                xp[j][i] = x[j][i] - EPS;
                let lm = loss_of(&case, &xp, &r);
                check(
                    format!("elem {i}"),
                    (lp - lm) / (2.0 * EPS as f64),
                    g[i] as f64,
                );
            }
            // A random direction of unit length, so that ε is the step's size.
            let mut dir = uniform(&mut rng, g.len(), 1.0);
            let norm = dir.iter().map(|v| v * v).sum::<f32>().sqrt();
            dir.iter_mut().for_each(|v| *v /= norm);
            let (mut xp, mut xm) = (x.clone(), x.clone());
            for i in 0..dir.len() {
                xp[j][i] += EPS * dir[i];
                xm[j][i] -= EPS * dir[i];
            }
            let fd = (loss_of(&case, &xp, &r) - loss_of(&case, &xm, &r)) / (2.0 * EPS as f64);
            let an: f64 = g.iter().zip(&dir).map(|(&a, &b)| a as f64 * b as f64).sum();
            check("direction".to_string(), fd, an);
            let mark = if worst.1 > 1.0 { "   FAIL" } else { "" };
            println!(
                "{:<48} {:<40} {:>10.2e} {:>10.3}  {}{mark}",
                case.name,
                format!("{name} {shape:?}"),
                worst.0,
                worst.1,
                worst.2
            );
            if worst.1 > 1.0 || !worst.1.is_finite() {
                failures.push(format!("{} / {name}: {}", case.name, worst.2));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "gradient checks failed:\n{}",
        failures.join("\n")
    );
}
