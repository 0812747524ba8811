//! Behaviour of the multi-task model and its plans on a tiny random encoder:
//! routing, cached prefixes, what each plan computes, accumulation,
//! determinism, re-packing after an update.

#![cfg(feature = "train")]

mod train_common;

use minilm::model::TokenBatch;
use minilm::train::{EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan, Task, TaskBatch};
use minilm_kernels::parallel;
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;
use train_common::{batch_of, random_params, tiny_config};

struct Setup {
    model: MultiTaskModel,
    a: TokenBatch,
    b: TokenBatch,
    la: Vec<usize>,
    lb: Vec<usize>,
}

fn setup(layers: usize) -> Setup {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let cfg = tiny_config(layers);
    let params = random_params(&cfg, &mut rng);
    let specs = [
        HeadSpec::new("topic", &["earn", "acq", "crude"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    let model = MultiTaskModel::new(&params, &cfg, specs).unwrap();
    let a = batch_of(&[4, 7, 2], &cfg, &mut rng);
    let b = batch_of(&[5, 3], &cfg, &mut rng);
    Setup {
        model,
        a,
        b,
        la: vec![2, 0, 1],
        lb: vec![1, 0],
    }
}

impl Setup {
    fn batches(&self) -> [TaskBatch<'_>; 2] {
        [
            TaskBatch {
                task: Task::A,
                input: EncoderInput::Tokens(&self.a),
                labels: &self.la,
            },
            TaskBatch {
                task: Task::B,
                input: EncoderInput::Tokens(&self.b),
                labels: &self.lb,
            },
        ]
    }
    fn step(&self, plan: &Plan, mode: Mode, seed: u64) -> (f64, Grads) {
        let mut g = Grads::new(self.model.params(), plan);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let out = self
            .model
            .loss_and_grads(&self.batches(), plan, mode, &mut rng, &mut g)
            .unwrap();
        (out.loss, g)
    }
}

fn same(a: &Grads, b: &Grads) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((na, ta), (nb, tb))| na == nb && ta.data == tb.data)
}

#[test]
fn tasks_route_to_their_heads_and_names() {
    let s = setup(3);
    assert_eq!(s.model.task("topic"), Some(Task::A));
    assert_eq!(s.model.task("sentiment"), Some(Task::B));
    assert_eq!(s.model.task("B"), Some(Task::B));
    assert_eq!(s.model.task("weather"), None);
    assert_eq!(s.model.forward(&s.a, Task::A).len(), 3 * 3);
    assert_eq!(s.model.forward(&s.a, Task::B).len(), 3 * 2);
    // The eval-mode step's logits are the inference forward's.
    let out = s.model.loss(&s.batches()).unwrap();
    for (t, b) in [(0, &s.a), (1, &s.b)] {
        let f = s.model.forward(b, out.tasks[t].task);
        let d = f
            .iter()
            .zip(&out.tasks[t].logits)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            d <= 1e-6,
            "task {t}: step logits differ from forward by {d}"
        );
    }
}

#[test]
fn plans_compute_only_what_trains() {
    let s = setup(3);
    let n = 3;
    let frozen = Plan::parse("frozen", n).unwrap();
    let (loss, g) = s.step(&frozen, Mode::Eval, 0);
    assert!(g.is_empty());
    assert_eq!(loss, s.model.loss(&s.batches()).unwrap().loss);

    let (_, g) = s.step(&Plan::parse("heads", n).unwrap(), Mode::Eval, 0);
    let names: Vec<&str> = g.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "head_a.bias",
            "head_a.weight",
            "head_b.bias",
            "head_b.weight"
        ]
    );

    let (_, g) = s.step(&Plan::parse("heads,freeze-a", n).unwrap(), Mode::Eval, 0);
    assert_eq!(
        g.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        ["head_b.bias", "head_b.weight"]
    );

    let (_, g2) = s.step(&Plan::parse("last2", n).unwrap(), Mode::Eval, 0);
    assert_eq!(g2.len(), 36);
    assert!(g2
        .get("encoder.layer.0.attention.self.query.weight")
        .is_none());
    let (_, gall) = s.step(&Plan::parse("all", n).unwrap(), Mode::Eval, 0);
    assert_eq!(gall.len(), 52);
    // Without dropout the shared tensors' gradients do not depend on the plan.
    for (name, t) in g2.iter() {
        assert_eq!(t.data, gall.get(name).unwrap().data, "{name}");
    }
    // A frozen head still passes its task's gradient into the encoder.
    let (_, gf) = s.step(&Plan::parse("last2,freeze-a", n).unwrap(), Mode::Eval, 0);
    assert!(gf.get("head_a.weight").is_none());
    assert_eq!(
        gf.get("encoder.layer.2.output.dense.weight").unwrap().data,
        g2.get("encoder.layer.2.output.dense.weight").unwrap().data
    );
}

#[test]
fn cached_prefix_gives_the_same_step() {
    let s = setup(3);
    let plan = Plan::parse("last1", 3).unwrap();
    let pa = s.model.frozen_prefix(&s.a, &plan);
    let pb = s.model.frozen_prefix(&s.b, &plan);
    let cached = [
        TaskBatch {
            task: Task::A,
            input: EncoderInput::Hidden {
                batch: &s.a,
                states: &pa,
                layer: 2,
            },
            labels: &s.la,
        },
        TaskBatch {
            task: Task::B,
            input: EncoderInput::Hidden {
                batch: &s.b,
                states: &pb,
                layer: 2,
            },
            labels: &s.lb,
        },
    ];
    for mode in [Mode::Eval, Mode::Train] {
        let (loss, g) = s.step(&plan, mode, 9);
        let mut g2 = Grads::new(s.model.params(), &plan);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let out = s
            .model
            .loss_and_grads(&cached, &plan, mode, &mut rng, &mut g2)
            .unwrap();
        assert_eq!(loss, out.loss);
        assert!(
            same(&g, &g2),
            "{mode:?}: cached prefix changed the gradients"
        );
    }
    // Per-example rows of the prefix are the example's alone.
    let single = TokenBatch {
        ids: s.a.ids[4..11].to_vec(),
        type_ids: s.a.type_ids[4..11].to_vec(),
        starts: vec![0, 7],
    };
    assert_eq!(
        s.model.frozen_prefix(&single, &plan),
        pa[4 * 8..11 * 8].to_vec()
    );
    // States that enter above the first trainable layer are refused.
    let late = [TaskBatch {
        task: Task::A,
        input: EncoderInput::Hidden {
            batch: &s.a,
            states: &pa,
            layer: 3,
        },
        labels: &s.la,
    }];
    let mut g = Grads::new(s.model.params(), &plan);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    assert!(s
        .model
        .loss_and_grads(&late, &plan, Mode::Eval, &mut rng, &mut g)
        .is_err());
}

#[test]
fn gradients_accumulate_until_zero_grad() {
    let s = setup(2);
    let plan = Plan::parse("last1", 2).unwrap();
    let (_, once) = s.step(&plan, Mode::Eval, 0);
    let mut g = Grads::new(s.model.params(), &plan);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    for _ in 0..2 {
        s.model
            .loss_and_grads(&s.batches(), &plan, Mode::Eval, &mut rng, &mut g)
            .unwrap();
    }
    for (name, t) in g.iter() {
        let o = once.get(name).unwrap();
        for (a, b) in t.data.iter().zip(&o.data) {
            assert!((a - 2.0 * b).abs() <= 1e-6 * (1.0 + b.abs()), "{name}");
        }
    }
    g.zero_grad();
    assert_eq!(g.global_norm(), 0.0);
}

#[test]
fn dropout_is_seeded_and_thread_count_independent() {
    let s = setup(3);
    let plan = Plan::parse("all", 3).unwrap();
    let (l1, g1) = s.step(&plan, Mode::Train, 5);
    let (l2, g2) = s.step(&plan, Mode::Train, 5);
    assert_eq!(l1, l2);
    assert!(same(&g1, &g2));
    let (l3, _) = s.step(&plan, Mode::Train, 6);
    assert_ne!(l1, l3, "another seed, another mask");
    let (le, _) = s.step(&plan, Mode::Eval, 5);
    assert_ne!(l1, le, "training mode drops");
    let (lt1, gt1) = parallel::with_threads(1, || s.step(&plan, Mode::Train, 5));
    let (lt2, gt2) = parallel::with_threads(2, || s.step(&plan, Mode::Train, 5));
    assert_eq!(lt1, lt2);
    assert!(same(&gt1, &gt2), "gradients depend on the thread count");
}

#[test]
fn refresh_repacks_after_an_update() {
    let mut s = setup(2);
    let plan = Plan::parse("last1", 2).unwrap();
    let before = s.model.forward(&s.a, Task::A);
    let (loss0, g) = s.step(&plan, Mode::Eval, 0);
    // One plain SGD step through the parameter store, then re-pack.
    for (name, t) in g.iter() {
        let p = s.model.params_mut().get_mut(name).unwrap();
        for (w, d) in p.data.iter_mut().zip(&t.data) {
            *w -= 0.05 * d;
        }
    }
    let stale = s.model.forward(&s.a, Task::A);
    assert_eq!(before, stale, "the packed model changes only on refresh");
    s.model.refresh(&plan);
    let after = s.model.loss(&s.batches()).unwrap().loss;
    assert!(after < loss0, "loss {loss0} → {after} after a descent step");
    assert_ne!(before, s.model.forward(&s.a, Task::A));
}
