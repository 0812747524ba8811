//! A plain FMA throughput loop: the machine's single-thread peak, to report
//! GEMM speed as a fraction of it (used by the benchmark).

use crate::isa::Isa;
use std::time::Instant;

/// Independent accumulator chains: more than FMA latency × ports (4 × 2).
const CHAINS: usize = 12;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn loop_avx512(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_ps(1.0); CHAINS];
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm512_fmadd_ps(*r, a, b);
        }
    }
    let mut s = _mm512_setzero_ps();
    for r in acc {
        s = _mm512_add_ps(s, r);
    }
    _mm512_reduce_add_ps(s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn loop_avx2(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_ps(1.0); CHAINS];
    let a = _mm256_set1_ps(0.999_999);
    let b = _mm256_set1_ps(1e-7);
    for _ in 0..iters {
        for r in acc.iter_mut() {
            *r = _mm256_fmadd_ps(*r, a, b);
        }
    }
    let mut s = _mm256_setzero_ps();
    for r in acc {
        s = _mm256_add_ps(s, r);
    }
    let mut out = [0.0f32; 8];
    // SAFETY: `out` is 8 writable floats, exactly one unaligned ymm store.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), s) };
    out.iter().sum()
}

/// Peak single-thread GFLOP/s (2 flops per lane per FMA) of `isa`'s FMA,
/// the best ~10 ms run over about `seconds`. `None` for the portable path (no FMA) or
/// an unsupported one.
pub fn fma_peak_gflops(isa: Isa, seconds: f64) -> Option<f64> {
    if !isa.supported() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let (lanes, run): (usize, fn(usize) -> f32) = match isa {
            // SAFETY: checked `isa.supported()` above (avx512f detected).
            Isa::Avx512 => (16, |n| unsafe { loop_avx512(n) }),
            // SAFETY: checked `isa.supported()` above (avx2 and fma detected).
            Isa::Avx2 => (8, |n| unsafe { loop_avx2(n) }),
            Isa::Portable => return None,
        };
        // Calibrate to ~10 ms per run, then keep the best run over `seconds`:
        // on a shared machine slower runs measure the other processes.
        let mut iters = 1 << 12;
        loop {
            let t = Instant::now();
            std::hint::black_box(run(std::hint::black_box(iters)));
            if t.elapsed().as_secs_f64() >= 0.01 {
                break;
            }
            iters *= 2;
        }
        let start = Instant::now();
        let mut best = 0.0f64;
        while start.elapsed().as_secs_f64() < seconds || best == 0.0 {
            let t = Instant::now();
            std::hint::black_box(run(std::hint::black_box(iters)));
            best = best.max((iters * CHAINS * lanes * 2) as f64 / t.elapsed().as_secs_f64() / 1e9);
        }
        Some(best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = seconds;
        None
    }
}
