//! GEMM kernel benchmark: GFLOP/s of our `linear` (prepacked weight) and
//! general `sgemm` (packs both operands per call) against
//! `matrixmultiply::sgemm`, on the model's products, plus a plain FMA loop
//! for the fraction of peak.
//!
//!     cargo bench --bench gemm
//!
//! A plain harness (no criterion). Shapes: `x[m, k] · Wᵀ` with W `[n, k]`
//! for (k → n) = 384 → 1152 (fused QKV), 384 → 384, 384 → 1536, 1536 → 384,
//! at m = 1024 and 128; 1 and 2 threads through local rayon pools entered
//! with `minilm_kernels::parallel::install`. `matrixmultiply` is built
//! without its `threading` feature, so it always runs on one thread (its
//! 2-thread rows are a second single-thread measurement).
//!
//! Each figure is the best of 40 batches of ~10 ms, the three
//! implementations interleaved batch by batch (best, not mean: on a shared
//! machine slow batches time other processes).
//! `MINILM_KERNEL=avx512|avx2|portable` picks the instruction-set path.
//! Run without `--bench` (as `cargo test --benches` does) it only checks
//! that one small product agrees with matrixmultiply.

use minilm_kernels::isa::{self, Isa};
use minilm_kernels::parallel;
use minilm_kernels::peak::fma_peak_gflops;
use minilm_kernels::reference::matrixmultiply_sgemm;
use minilm_kernels::{
    linear, linear_bf16, linear_i8, sgemm, Bf16Weight, Epilogue, PackedWeight, QuantWeight,
};
use std::time::Instant;

mod support;
use support::fill;

/// Rounds per table row; each round times one ~10 ms batch of every
/// implementation in turn, and each keeps its best batch. Interleaving gives
/// every implementation the same chances of a quiet moment on a shared
/// machine; the best, not the mean, because slow batches time the other
/// processes rather than the kernel.
const ROUNDS: usize = 40;

/// Best GFLOP/s of each of `fs` (each doing `flops` floating-point
/// operations per call), measured in interleaved batches.
fn gflops_interleaved(flops: f64, fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let mut per_batch = Vec::new();
    for f in fs.iter_mut() {
        f();
        let t = Instant::now();
        let mut reps = 0usize;
        while t.elapsed().as_secs_f64() < 0.01 {
            f();
            reps += 1;
        }
        per_batch.push(((0.01 / (t.elapsed().as_secs_f64() / reps as f64)).ceil() as usize).max(1));
    }
    let mut best = vec![0.0f64; fs.len()];
    for _ in 0..ROUNDS {
        for (i, f) in fs.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..per_batch[i] {
                f();
            }
            best[i] = best[i].max(flops * per_batch[i] as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
    }
    best
}

fn smoke() {
    let (m, k, n) = (37, 100, 70);
    let (x, w) = (fill(m * k, 1), fill(n * k, 2));
    let pw = PackedWeight::new(&w, n, k);
    let mut ours = vec![0.0; m * n];
    linear(&x, m, &pw, None, Epilogue::None, &mut ours);
    let mut theirs = vec![0.0; m * n];
    matrixmultiply_sgemm(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &mut theirs, n, 1);
    for (a, b) in ours.iter().zip(&theirs) {
        assert!((a - b).abs() <= 1e-4, "smoke: {a} vs {b}");
    }
    println!("gemm bench smoke run: ok (run with `cargo bench --bench gemm` for the table)");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        smoke();
        return;
    }
    if std::env::args().any(|a| a == "lowp") {
        lowp_table();
        return;
    }
    let path = isa::current();
    let peak1 = fma_peak_gflops(Isa::Avx512, 2.0).or_else(|| fma_peak_gflops(Isa::Avx2, 2.0));
    // Two threads on two cores: twice the single-core peak.
    let peak2 = peak1.map(|p| 2.0 * p);
    println!("instruction-set path: {}", path.name());
    if let (Some(p1), Some(p2)) = (peak1, peak2) {
        println!(
            "FMA peak (plain {} FMA loop, best 10 ms over 2 s): {p1:.1} GFLOP/s on 1 thread, {p2:.1} on 2 (twice that)",
            if Isa::Avx512.supported() {
                "AVX-512"
            } else {
                "AVX2"
            }
        );
    }
    println!();
    println!("| k → n | m | threads | linear GFLOP/s | sgemm GFLOP/s | matrixmultiply GFLOP/s | linear / mm | linear % of FMA peak |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let shapes = [(384, 1152), (384, 384), (384, 1536), (1536, 384)];
    for &(k, n) in &shapes {
        for &m in &[1024usize, 128] {
            let x = fill(m * k, 3);
            let w = fill(n * k, 4);
            let pw = PackedWeight::new(&w, n, k);
            let flops = 2.0 * (m * n * k) as f64;
            let mut out = vec![0.0f32; m * n];
            for threads in [1usize, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut out2 = out.clone();
                let mut out3 = out.clone();
                // matrixmultiply has no threads of its own (see the header).
                let r = parallel::install(&pool, || {
                    gflops_interleaved(
                        flops,
                        &mut [
                            &mut || linear(&x, m, &pw, None, Epilogue::None, &mut out),
                            &mut || sgemm(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &mut out2, n, 1),
                            &mut || {
                                matrixmultiply_sgemm(
                                    m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &mut out3, n, 1,
                                )
                            },
                        ],
                    )
                });
                let (lin, sg, mm) = (r[0], r[1], r[2]);
                let peak = if threads == 1 { peak1 } else { peak2 };
                let frac = peak
                    .map(|p| format!("{:.0}%", 100.0 * lin / p))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "| {k} → {n} | {m} | {threads} | {lin:.1} | {sg:.1} | {mm:.1} | {:.2}× | {frac} |",
                    lin / mm
                );
            }
        }
    }
    println!();
    lowp_table();
}

/// Int8 and bf16 products against f32 `linear` (the same prepacked-weight
/// product), at the model's shapes: m = 1280 rows (a batch of 32 sentences
/// of ~40 tokens) and m = 16 (one short sentence). GFLOP/s-equivalent: 2·m·n·k
/// over the time, quantization / conversion of the activations included.
/// Run alone with `cargo bench --bench gemm -- lowp` (also part of the full
/// table run).
fn lowp_table() {
    println!("instruction-set path: {}", isa::current().name());
    println!();
    println!("| k → n | m | threads | f32 GFLOP/s | int8 GFLOP/s | bf16 GFLOP/s | int8 / f32 | bf16 / f32 |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &(k, n) in &[(384, 1152), (384, 384), (384, 1536), (1536, 384)] {
        for &m in &[1280usize, 16] {
            // Activations skewed like post-GELU rows.
            let x: Vec<f32> = fill(m * k, 3)
                .iter()
                .map(|v| v.abs() * 2.0 - 0.17)
                .collect();
            let w = fill(n * k, 4);
            let pw = PackedWeight::new(&w, n, k);
            let qw = QuantWeight::quantize(&w, n, k);
            let bw = Bf16Weight::new(&w, n, k);
            let flops = 2.0 * (m * n * k) as f64;
            let (mut o1, mut o2, mut o3) = (
                vec![0.0f32; m * n],
                vec![0.0f32; m * n],
                vec![0.0f32; m * n],
            );
            for threads in [1usize, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let r = parallel::install(&pool, || {
                    gflops_interleaved(
                        flops,
                        &mut [
                            &mut || linear(&x, m, &pw, None, Epilogue::None, &mut o1),
                            &mut || linear_i8(&x, m, &qw, None, Epilogue::None, &mut o2),
                            &mut || linear_bf16(&x, m, &bw, None, Epilogue::None, &mut o3),
                        ],
                    )
                });
                println!(
                    "| {k} → {n} | {m} | {threads} | {:.1} | {:.1} | {:.1} | {:.2}× | {:.2}× |",
                    r[0],
                    r[1],
                    r[2],
                    r[1] / r[0],
                    r[2] / r[0]
                );
            }
        }
    }
}
