//! Shared test helpers: a deterministic generator, naive f64 references,
//! the tolerance check, and a loop over every instruction-set path.
#![allow(dead_code)]

use minilm_kernels::isa::{self, Isa};
use minilm_kernels::splitmix::{self, SplitMix64};

/// Test inputs drawn from the crate's SplitMix64.
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix64::new(seed))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = splitmix::unit_f32(self.next_u64());
        lo + (hi - lo) * u
    }
    pub fn vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Run `f` once per instruction-set path, forced; paths the CPU lacks are
/// skipped with a message.
pub fn for_each_isa(mut f: impl FnMut(Isa)) {
    for path in Isa::ALL {
        if isa::with_isa(path, || f(path)).is_none() {
            eprintln!(
                "skipping the {} path: not supported by this CPU",
                path.name()
            );
        }
    }
}

/// Naive f64 `alpha·A·B + beta·C` with strides (the reference).
#[allow(clippy::too_many_arguments)]
pub fn gemm_ref(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f64,
    c: &[f32],
    rsc: usize,
    csc: usize,
) -> Vec<f64> {
    let mut out = vec![0.0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a[i * rsa + p * csa] as f64 * b[p * rsb + j * csb] as f64;
            }
            let c0 = if beta == 0.0 {
                0.0
            } else {
                beta * c[i * rsc + j * csc] as f64
            };
            out[i * n + j] = alpha * s + c0;
        }
    }
    out
}

/// Assert `|got − want| ≤ atol + rtol·|want|` element-wise, naming the worst.
pub fn assert_close(
    what: &str,
    got: impl Iterator<Item = f32>,
    want: &[f64],
    atol: f64,
    rtol: f64,
) {
    let mut worst = (0.0f64, 0usize, 0.0f32, 0.0f64);
    let mut count = 0;
    for (i, (g, &w)) in got.zip(want).enumerate() {
        count += 1;
        let err = (g as f64 - w).abs();
        let excess = err - (atol + rtol * w.abs());
        assert!(!g.is_nan() || w.is_nan(), "{what}: NaN at {i} (want {w})");
        if excess > worst.0 {
            worst = (excess, i, g, w);
        }
    }
    assert_eq!(count, want.len(), "{what}: length mismatch");
    assert!(
        worst.0 <= 0.0,
        "{what}: element {} is {} but want {} (|err| {:e} > atol {atol:e} + rtol {rtol:e}·|want|)",
        worst.1,
        worst.2,
        worst.3,
        (worst.2 as f64 - worst.3).abs()
    );
}

/// Bit patterns, for exact comparisons.
pub fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|v| v.to_bits()).collect()
}

/// Which epilogue a test case uses: 0 none, 1 GELU, 2 residual.
pub fn epilogue(epi: u8, r: &[f32]) -> minilm_kernels::Epilogue<'_> {
    match epi {
        0 => minilm_kernels::Epilogue::None,
        1 => minilm_kernels::Epilogue::Gelu,
        _ => minilm_kernels::Epilogue::Residual(r),
    }
}

/// f64 reference of a `linear` epilogue applied to `v` (the product plus
/// bias) at element `e`.
pub fn epilogue64(epi: u8, v: f64, r: &[f32], e: usize) -> f64 {
    match epi {
        0 => v,
        1 => minilm_kernels::gelu::gelu_erf64(v),
        _ => v + r[e] as f64,
    }
}
