//! Per-operation costs inside one forward pass: what a sentence pays besides
//! the big products, and how fast the products run when there are only a
//! few rows.
//!
//!     cargo bench --bench ops
//!
//! A plain harness (no criterion). Every figure is the best and the median
//! of 30 batches of ~10 ms (best: the kernel on a quiet moment of a shared
//! machine; median: what it usually gets), at 1 and 2 threads in local
//! rayon pools, each call inside `parallel::enter` as the encoder makes
//! it. Rows:
//!
//! * `enter`: an empty `parallel::enter` (making and dismissing a team);
//! * `tokenize`: one ~12-word sentence through the model's tokenizer
//!   (skipped when `weights/all-MiniLM-L6-v2` is missing);
//! * `linear 16 rows, resident`: `x[16, 384]·Wᵀ` over one 384 → 384 weight,
//!   again and again (0.6 MB packed: it stays in L2);
//! * `linear 16 rows, streamed`: the 24 products of six layers (QKV, output,
//!   FFN in and out, random weights of the model's shapes, 42 MB packed) in
//!   turn, as one sentence runs them: the weights come from memory;
//! * `linear 480 rows`: the feed-forward products of a batch of 32
//!   sentences of 15 tokens, with their bias and GELU or residual epilogues;
//! * `layer_norm`, `softmax`, `gelu`: the elementwise kernels on the sizes a
//!   batch of 32 short sentences gives them;
//! * `attention`: scaled dot-product attention of whole batches (32
//!   sequences of 16 tokens; 4 of 128), 12 heads of 32.
//!
//! GFLOP/s counts 2 flops per multiply-add. With 16 rows each 4-byte weight
//! is used for 32 flops, so the streamed row's GFLOP/s ÷ 8 is the GB/s of
//! weights it reads. Run without `--bench` (as
//! `cargo test --benches` does) it only runs each operation once.

use minilm::config::BertConfig;
use minilm::model::attention::attention_core;
use minilm::model::TokenBatch;
use minilm_kernels::gelu::gelu_erf_inplace;
use minilm_kernels::layer_norm::layer_norm;
use minilm_kernels::parallel;
use minilm_kernels::softmax::softmax_rows;
use minilm_kernels::{linear, Epilogue, PackedWeight};
use std::time::Instant;

mod support;
use support::fill;

const SENTENCE: &str =
    "The new restaurant downtown served a wonderful bowl of spicy ramen yesterday.";
const BATCHES: usize = 30;
const HIDDEN: usize = 384;
const INTER: usize = 1536;
const HEADS: usize = 12;

/// (best, median) seconds per call of `f`, over `BATCHES` batches of ~10 ms
/// (`full`), or one call (smoke run).
fn time_per_call(full: bool, mut f: impl FnMut()) -> (f64, f64) {
    f();
    if !full {
        let t = Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        return (s, s);
    }
    let t = Instant::now();
    let mut reps = 0usize;
    while t.elapsed().as_secs_f64() < 0.01 {
        f();
        reps += 1;
    }
    let per_batch = reps.max(1);
    let mut times: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_secs_f64() / per_batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[0], times[BATCHES / 2])
}

fn config() -> BertConfig {
    BertConfig::from_json(&serde_json::json!({
        "hidden_size": HIDDEN,
        "num_hidden_layers": 6,
        "num_attention_heads": HEADS,
        "intermediate_size": INTER,
        "vocab_size": 30522,
        "max_position_embeddings": 512,
        "type_vocab_size": 2
    }))
    .expect("MiniLM's shape is a valid config")
}

/// A batch of `n` sequences of `len` tokens (ids do not matter here).
fn batch(n: usize, len: usize, cfg: &BertConfig) -> TokenBatch {
    let ids = vec![1u32; len];
    let types = vec![0u32; len];
    TokenBatch::new((0..n).map(|_| (&ids[..], &types[..])), cfg).expect("valid batch")
}

struct Table {
    full: bool,
    threads: usize,
}

impl Table {
    /// Time `f` and print a row; `work` is (amount per call, unit), e.g.
    /// flops as GFLOP/s.
    fn row(&self, name: &str, f: impl FnMut() + Send, rate: Option<(f64, &str, f64)>) {
        let f = f_wrap(f);
        let (best, median) = time_per_call(self.full, || parallel::enter(&f));
        let rate = rate
            .map(|(amount, unit, scale)| {
                format!(
                    "{:.1} | {:.1} {unit}",
                    amount / best / scale,
                    amount / median / scale
                )
            })
            .unwrap_or_else(|| "| ".into());
        println!(
            "| {name} | {} | {:.2} | {:.2} | {rate} |",
            self.threads,
            best * 1e6,
            median * 1e6
        );
    }
}

/// `parallel::enter` takes an `FnOnce + Send`; the timed closure is `FnMut`
/// and called many times, so each call goes through a `Mutex`.
fn f_wrap(f: impl FnMut() + Send) -> impl Fn() + Sync {
    let f = std::sync::Mutex::new(f);
    move || (f.lock().expect("bench closure"))()
}

fn run(full: bool, threads: usize, tok: Option<&minilm::tokenize::Tokenizer>) {
    let t = Table { full, threads };
    let cfg = config();

    t.row("enter (empty)", || {}, None);
    if let Some(tok) = tok {
        t.row(
            "tokenize one sentence",
            || {
                std::hint::black_box(tok.encode(SENTENCE).expect("tokenizes"));
            },
            None,
        );
    }

    // 16-row products: one 0.6 MB weight again and again, then six layers'.
    let x = fill(16 * INTER, 1);
    let mut out = vec![0.0f32; 16 * INTER];
    let resident = PackedWeight::new(&fill(HIDDEN * HIDDEN, 2), HIDDEN, HIDDEN);
    let flops = 2.0 * (16 * HIDDEN * HIDDEN) as f64;
    t.row(
        "linear 16 rows, resident 384→384",
        || {
            linear(
                &x[..16 * HIDDEN],
                16,
                &resident,
                None,
                Epilogue::None,
                &mut out[..16 * HIDDEN],
            )
        },
        Some((flops, "GFLOP/s", 1e9)),
    );
    let shapes = [
        (HIDDEN, 3 * HIDDEN),
        (HIDDEN, HIDDEN),
        (HIDDEN, INTER),
        (INTER, HIDDEN),
    ];
    let layers: Vec<PackedWeight> = (0..6)
        .flat_map(|l| shapes.iter().map(move |&(k, n)| (l, k, n)))
        .map(|(l, k, n)| PackedWeight::new(&fill(n * k, 10 + l as u64 * 4 + k as u64), n, k))
        .collect();
    let flops: f64 = layers
        .iter()
        .map(|w| 2.0 * (16 * w.n() * w.k()) as f64)
        .sum();
    let stream = || {
        for w in &layers {
            linear(
                &x[..16 * w.k()],
                16,
                w,
                None,
                Epilogue::None,
                &mut out[..16 * w.n()],
            );
        }
    };
    t.row(
        "linear 16 rows, streamed 6 layers",
        stream,
        Some((flops, "GFLOP/s", 1e9)),
    );

    // A batch of 32 sentences of 15 tokens through the feed-forward block's
    // products, with their epilogues.
    let m = 480;
    let xb = fill(m * INTER, 11);
    let mut yb = vec![0.0f32; m * INTER];
    let res = fill(m * HIDDEN, 12);
    let (w_in, w_out) = (&layers[2], &layers[3]);
    let (b_in, b_out) = (fill(INTER, 13), fill(HIDDEN, 14));
    let flops = 2.0 * (m * HIDDEN * INTER) as f64;
    t.row(
        "linear 480 rows 384→1536, no epilogue",
        || linear(&xb[..m * HIDDEN], m, w_in, None, Epilogue::None, &mut yb),
        Some((flops, "GFLOP/s", 1e9)),
    );
    t.row(
        "linear 480 rows 384→1536 + GELU",
        || {
            linear(
                &xb[..m * HIDDEN],
                m,
                w_in,
                Some(&b_in),
                Epilogue::Gelu,
                &mut yb,
            )
        },
        Some((flops, "GFLOP/s", 1e9)),
    );
    t.row(
        "linear 480 rows 1536→384 + residual",
        || {
            linear(
                &xb,
                m,
                w_out,
                Some(&b_out),
                Epilogue::Residual(&res),
                &mut yb[..m * HIDDEN],
            )
        },
        Some((flops, "GFLOP/s", 1e9)),
    );

    // Elementwise kernels on a batch of 32 sentences of 16 tokens.
    let rows = 512;
    let xs = fill(rows * HIDDEN, 3);
    let (gamma, beta) = (fill(HIDDEN, 4), fill(HIDDEN, 5));
    let mut ys = vec![0.0f32; rows * HIDDEN];
    t.row(
        "layer_norm [512, 384]",
        || layer_norm(&xs, HIDDEN, &gamma, &beta, 1e-12, &mut ys, None),
        Some(((rows * HIDDEN) as f64, "Melem/s", 1e6)),
    );
    let mut h = fill(rows * INTER, 6);
    let h0 = h.clone();
    t.row(
        "gelu [512, 1536]",
        || {
            h.copy_from_slice(&h0);
            gelu_erf_inplace(&mut h);
        },
        Some(((rows * INTER) as f64, "Melem/s", 1e6)),
    );
    for len in [16usize, 128] {
        let n = 32 * HEADS * len * len;
        let mut s = fill(n, 7);
        let s0 = s.clone();
        t.row(
            &format!("softmax 32·12 heads, {len}×{len}"),
            || {
                s.copy_from_slice(&s0);
                softmax_rows(&mut s, len);
            },
            Some((n as f64, "Melem/s", 1e6)),
        );
    }
    for (n, len) in [(32usize, 16usize), (4, 128)] {
        let b = batch(n, len, &cfg);
        let qkv = fill(n * len * 3 * HIDDEN, 8);
        let mut ctx = vec![0.0f32; n * len * HIDDEN];
        let mut by_head = ctx.clone();
        let flops = 2.0 * 2.0 * (n * len * len * HIDDEN) as f64;
        t.row(
            &format!("attention {n} seqs × {len} tokens"),
            || attention_core(&qkv, &b, HEADS, None, &mut ctx, None, &mut by_head),
            Some((flops, "GFLOP/s", 1e9)),
        );
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let dir = minilm::default_model_dir();
    let tok = minilm::tokenize::Tokenizer::from_file(&dir.join("tokenizer.json"), 256).ok();
    if tok.is_none() {
        eprintln!(
            "ops bench: no tokenizer in {} (run weights/fetch.sh); tokenize row skipped",
            dir.display()
        );
    }
    println!(
        "instruction-set path: {}",
        minilm_kernels::isa::current().name()
    );
    println!();
    println!("| operation | threads | best µs/call | median µs/call | best rate | median rate |");
    println!("|---|---:|---:|---:|---:|---:|");
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        parallel::install(&pool, || run(full, threads, tok.as_ref()));
    }
    if !full {
        println!("ops bench smoke run: ok (run with `cargo bench --bench ops` for the table)");
    }
}
