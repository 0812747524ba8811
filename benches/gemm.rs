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
//! without its `threading` feature, so it always runs on one thread: its
//! 2-thread rows repeat the single-thread figure.
//!
//! Each figure is the best of 25 timed batches of ≥ 20 ms after a warm-up
//! (best, not mean: on a shared machine slow batches time other processes).
//! `MINILM_KERNEL=avx512|avx2|portable` picks the instruction-set path.
//! Run without `--bench` (as `cargo test --benches` does) it only checks
//! that one small product agrees with matrixmultiply.

use minilm_kernels::isa::{self, Isa};
use minilm_kernels::parallel;
use minilm_kernels::peak::fma_peak_gflops;
use minilm_kernels::reference::matrixmultiply_sgemm;
use minilm_kernels::{linear, sgemm, Epilogue, PackedWeight};
use std::time::Instant;

/// Deterministic filler in [-1, 1) (no rand needed).
fn fill(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Timed batches per figure; the best is kept, because on a shared machine
/// the slower batches measure other processes, not the kernel.
const BATCHES: usize = 25;

/// Best GFLOP/s of `f` (which does `flops` floating-point operations).
fn gflops(flops: f64, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    let mut reps = 0usize;
    while t.elapsed().as_secs_f64() < 0.02 {
        f();
        reps += 1;
    }
    let per_batch = ((0.02 / (t.elapsed().as_secs_f64() / reps as f64)).ceil() as usize).max(1);
    let mut best = 0.0f64;
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        best = best.max(flops * per_batch as f64 / t.elapsed().as_secs_f64() / 1e9);
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
    let path = isa::current();
    let peak1 = fma_peak_gflops(Isa::Avx512, 0.3).or_else(|| fma_peak_gflops(Isa::Avx2, 0.3));
    // Two-thread peak: the same loop on both threads at once.
    let peak2 = peak1.map(|_| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.broadcast(|_| {
            fma_peak_gflops(Isa::Avx512, 0.3)
                .or_else(|| fma_peak_gflops(Isa::Avx2, 0.3))
                .unwrap()
        })
        .iter()
        .sum::<f64>()
    });
    println!("instruction-set path: {}", path.name());
    if let (Some(p1), Some(p2)) = (peak1, peak2) {
        println!(
            "FMA peak (plain {} FMA loop): {p1:.1} GFLOP/s on 1 thread, {p2:.1} on 2",
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
    let mut mm_cache = std::collections::HashMap::new();
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
                let (lin, sg) = parallel::install(&pool, || {
                    let lin = gflops(flops, || linear(&x, m, &pw, None, Epilogue::None, &mut out));
                    let sg = gflops(flops, || {
                        sgemm(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &mut out, n, 1)
                    });
                    (lin, sg)
                });
                let mm = *mm_cache.entry((k, n, m)).or_insert_with(|| {
                    gflops(flops, || {
                        matrixmultiply_sgemm(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &mut out, n, 1)
                    })
                });
                let peak = if threads == 1 { peak1 } else { peak2 };
                let frac = peak
                    .map(|p| format!("{:.0}%", 100.0 * lin / p))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "| {k} → {n} | {m} | {threads} | {lin:.1} | {sg:.1} | {mm:.1}{} | {:.2}× | {frac} |",
                    if threads == 2 { " (1 thread)" } else { "" },
                    lin / mm
                );
            }
        }
    }
}
