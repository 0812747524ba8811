//! One training step (forward + backward, dropout on) of the multi-task
//! model on `N` sentences per task, to measure time and peak memory:
//!
//! ```text
//! cargo build --release --example train_step
//! /usr/bin/time -v target/release/examples/train_step last2 16
//! ```
//!
//! Arguments: plan (default `last2`), sentences per task (default 16).
//! Prints the step's loss, its time, the activation memory the plan keeps
//! (counted from the saved buffers' sizes, see docs/training.md), and the
//! process's peak RSS (VmHWM) before and after the step.

#[cfg(feature = "train")]
mod step {
    use minilm::model::TokenBatch;
    use minilm::train::{
        EncoderInput, Grads, HeadSpec, Mode, MultiTaskModel, Plan, Task, TaskBatch,
    };
    use minilm::Encoder;
    use rand::SeedableRng;
    use std::time::Instant;

    const SUBJECTS: [&str; 8] = [
        "The company",
        "Shares of the small shipping group",
        "Crude oil futures",
        "The central bank",
        "Analysts at the brokerage",
        "Grain exporters in the region",
        "The new film",
        "The director's latest thriller",
    ];
    const VERBS: [&str; 8] = [
        "reported a sharp rise in quarterly profit",
        "agreed to acquire a rival for cash",
        "fell after the cartel signalled higher output",
        "raised interest rates by a quarter point",
        "was praised by critics for its moving score",
        "dragged on far too long and bored the audience",
        "halted trade at the port for a third day",
        "cut its dividend amid weak demand",
    ];
    const TAILS: [&str; 4] = [
        ".",
        ", according to a statement released on Monday.",
        ", while officials said talks would continue next week despite the strike at the main container terminal.",
        " in a surprise move that left investors, traders and most of the market's seasoned observers scrambling to revise their forecasts for the rest of the year.",
    ];

    fn peak_rss_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .unwrap_or("0")
                        .parse()
                        .unwrap_or(0)
                })
            })
            .unwrap_or(0)
    }

    pub fn main() -> minilm::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let plan_name = args.first().map(String::as_str).unwrap_or("last2");
        let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);

        let enc = Encoder::from_dir(minilm::default_model_dir())?;
        let cfg = enc.config().clone();
        let plan = Plan::parse(plan_name, cfg.num_layers)?;
        let specs = [
            HeadSpec::new(
                "topic",
                &[
                    "earn", "acq", "crude", "trade", "money-fx", "interest", "ship", "grain",
                ],
            ),
            HeadSpec::new("sentiment", &["negative", "positive"]),
        ];
        let model = MultiTaskModel::new(enc.params(), &cfg, specs)?;
        let texts = |offset: usize| -> Vec<String> {
            (0..n)
                .map(|i| {
                    let j = i + offset;
                    format!(
                        "{} {}{}",
                        SUBJECTS[j % 8],
                        VERBS[(j / 8 + j) % 8],
                        TAILS[(j * 7 + 3) % 4]
                    )
                })
                .collect()
        };
        let mut batches = Vec::new();
        for (t, off) in [(Task::A, 0), (Task::B, 5)] {
            let tx = texts(off);
            let refs: Vec<&str> = tx.iter().map(String::as_str).collect();
            let toks = enc.tokenize(&refs)?;
            let batch = TokenBatch::new(
                toks.iter()
                    .map(|t| (t.ids.as_slice(), t.type_ids.as_slice())),
                &cfg,
            )?;
            let labels: Vec<usize> = (0..n).map(|i| i % model.spec(t).classes.len()).collect();
            batches.push((t, batch, labels));
        }
        // `enc` stays alive: the memory before the step is then steady, and the
        // step's own working memory shows on top of it in the high-water mark.

        let (h, f, heads) = (cfg.hidden_size, cfg.intermediate_size, cfg.num_heads);
        let layers = cfg.num_layers - plan.first_layer();
        for (t, b, _) in &batches {
            // Saved per layer: 8·H + F + 4 floats per token, plus heads·L² per sequence.
            let per_layer: usize = b.tokens() * (8 * h + f + 4)
                + b.ranges().map(|r| heads * r.len() * r.len()).sum::<usize>();
            println!(
                "task {t}: {} sequences, {} tokens (longest {}); activations kept: {layers} layers × {:.2} MB = {:.2} MB",
                b.len(),
                b.tokens(),
                b.ranges().map(|r| r.len()).max().unwrap_or(0),
                per_layer as f64 * 4.0 / 1e6,
                (layers * per_layer) as f64 * 4.0 / 1e6
            );
        }

        let task_batches: Vec<TaskBatch> = batches
            .iter()
            .map(|(t, b, l)| TaskBatch {
                task: *t,
                input: EncoderInput::Tokens(b),
                labels: l,
            })
            .collect();
        let mut grads = Grads::new(model.params(), &plan);
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
        let before = peak_rss_kb();
        let t0 = Instant::now();
        let out = model.loss_and_grads(&task_batches, &plan, Mode::Train, &mut rng, &mut grads)?;
        let dt = t0.elapsed();
        let after = peak_rss_kb();
        println!(
            "plan {plan}: loss {:.6} (A {:.4}, B {:.4}); {} gradient tensors, |g| = {:.4e}; step {:.3} s",
            out.loss,
            out.tasks[0].loss,
            out.tasks[1].loss,
            grads.len(),
            grads.global_norm(),
            dt.as_secs_f64()
        );
        println!(
            "peak RSS (VmHWM): {:.1} MB before the step, {:.1} MB after: the step added {:.1} MB",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after - before) as f64 / 1024.0
        );
        drop(enc);
        Ok(())
    }
}

#[cfg(feature = "train")]
fn main() -> minilm::Result<()> {
    step::main()
}

#[cfg(not(feature = "train"))]
fn main() {
    eprintln!("train_step needs the `train` feature");
}
