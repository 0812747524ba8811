//! Training-step time of the multi-task model (plan `last2`: layers 4–5 and
//! both heads train), one step = 16 sentences per task drawn from the
//! benchmark corpus (realistic lengths), forward + backward with dropout +
//! AdamW update + re-packing of the trained layers — the same step as
//! `benches/peers/train_step_pytorch.py` measures for PyTorch.
//!
//! Two variants: the frozen prefix (embeddings + layers 0–3) recomputed every
//! step, as PyTorch does, and read from the per-example cache the trainer
//! fills once per run (`TrainConfig::cache_prefix`).
//!
//! ```text
//! cargo bench --bench train_step            # RAYON_NUM_THREADS=1 for one thread
//! ```

use minilm::model::TokenBatch;
use minilm::train::adamw::{AdamW, AdamWConfig};
use minilm::train::{EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan, Task, TaskBatch};
use minilm::Encoder;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

const BATCH: usize = 16;
const WARMUP: usize = 3;
const STEPS: usize = 20;

fn main() -> minilm::Result<()> {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus/corpus.jsonl");
    let text = std::fs::read_to_string(&corpus).map_err(|e| minilm::Error::io(&corpus, e))?;
    let texts: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("corpus line")["text"]
                .as_str()
                .expect("text")
                .to_string()
        })
        .collect();
    let enc = Encoder::from_dir(minilm::default_model_dir())?;
    let cfg = enc.config().clone();
    let plan = Plan::parse("last2", cfg.num_layers)?;
    let specs = [
        HeadSpec::new(
            "topic",
            &[
                "earn", "acq", "crude", "trade", "money-fx", "interest", "ship", "grain",
            ],
        ),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
    // Steps' batches, drawn once: (task, batch, labels) × 2 per step.
    let mut steps = Vec::new();
    let mut tokens = 0usize;
    for _ in 0..WARMUP + STEPS {
        let mut step = Vec::new();
        for (t, classes) in [(Task::A, 8), (Task::B, 2)] {
            let pick: Vec<&str> = texts.sample(&mut rng, BATCH).map(String::as_str).collect();
            let toks = enc.tokenize(&pick)?;
            let batch = TokenBatch::new(
                toks.iter()
                    .map(|t| (t.ids.as_slice(), t.type_ids.as_slice())),
                &cfg,
            )?;
            tokens += batch.tokens();
            let labels: Vec<usize> = (0..BATCH).map(|_| rng.random_range(0..classes)).collect();
            step.push((t, batch, labels));
        }
        steps.push(step);
    }
    println!(
        "training step, plan last2, {BATCH} sentences per task, {} real word pieces per step on average, {} thread(s)\n",
        tokens / (WARMUP + STEPS),
        rayon::current_num_threads()
    );
    println!("| frozen prefix | step median (ms) | step min (ms) | step max (ms) | examples/s (median) | prefix, once per example (ms/step) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for cached in [false, true] {
        let mut model = MultiTaskModel::new(enc.params(), &cfg, specs.clone())?;
        let mut grads = Grads::new(model.params(), &plan);
        let mut opt = AdamW::new(AdamWConfig::default(), &grads);
        let t0 = Instant::now();
        let prefixes: Vec<Vec<Vec<f32>>> = if cached {
            steps
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|(_, b, _)| model.frozen_prefix(b, &plan))
                        .collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let prefix_ms = t0.elapsed().as_secs_f64() * 1e3 / steps.len() as f64;
        let mut times = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let t = Instant::now();
            let batches: Vec<TaskBatch<'_>> = step
                .iter()
                .enumerate()
                .map(|(j, (task, b, labels))| TaskBatch {
                    task: *task,
                    input: if cached {
                        EncoderInput::Hidden {
                            batch: b,
                            states: &prefixes[i][j],
                            layer: plan.first_layer(),
                        }
                    } else {
                        EncoderInput::Tokens(b)
                    },
                    labels,
                })
                .collect();
            grads.zero_grad();
            let mut drng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(i as u64);
            model.loss_and_grads(&batches, &plan, Mode::Train, &mut drng, &mut grads)?;
            opt.step(model.params_mut(), &grads, |n| {
                if n.starts_with("head_") {
                    2e-3
                } else {
                    5e-5
                }
            })?;
            model.refresh(&plan);
            if i >= WARMUP {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        let med = times[times.len() / 2];
        println!(
            "| {} | {med:.1} | {:.1} | {:.1} | {:.1} | {} |",
            if cached {
                "cached"
            } else {
                "recomputed every step"
            },
            times[0],
            times[times.len() - 1],
            2.0 * BATCH as f64 / (med / 1e3),
            if cached {
                format!("{prefix_ms:.1}")
            } else {
                "–".into()
            }
        );
    }
    Ok(())
}
