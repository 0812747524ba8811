//! Bit-reproducibility: for one instruction-set path, an output row's bits
//! do not depend on how many rows are in the call, where the row sits, or
//! how many threads run. (Batch invariance and 1-vs-2-thread determinism
//! for the model.)

mod common;

use common::{bits, for_each_isa, Rng};
use minilm_kernels::parallel::with_threads;
use minilm_kernels::{gelu, layer_norm, linear, sgemm, softmax, Epilogue, PackedWeight};

/// `rows` random rows with row `probe` copied into position `at`.
fn batch_with(rng: &mut Rng, rows: usize, k: usize, probe: &[f32], at: usize) -> Vec<f32> {
    let mut x = rng.vec(rows * k, -1.0, 1.0);
    x[at * k..(at + 1) * k].copy_from_slice(probe);
    x
}

#[test]
fn linear_row_bits_independent_of_batch_position_and_threads() {
    let mut rng = Rng::new(10);
    // k = 1537 crosses KC blocks; n = 1152 crosses NC blocks and has an edge.
    for &(k, n) in &[(1537, 1152), (384, 1536), (384, 33)] {
        let w = rng.vec(n * k, -0.05, 0.05);
        let bias = rng.vec(n, -1.0, 1.0);
        let probe = rng.vec(k, -1.0, 1.0);
        for epi in 0..3 {
            for_each_isa(|isa| {
                let pw = PackedWeight::new(&w, n, k);
                let run = |x: &[f32], m: usize, res: &[f32]| {
                    let mut out = vec![0.0; m * n];
                    let e = match epi {
                        0 => Epilogue::None,
                        1 => Epilogue::Gelu,
                        _ => Epilogue::Residual(res),
                    };
                    linear(x, m, &pw, Some(&bias), e, &mut out);
                    out
                };
                let res1 = vec![0.25f32; n];
                let alone = run(&probe, 1, &res1);
                let mut rng = Rng::new(11);
                for &(m, at) in &[(37, 0), (37, 5), (37, 36), (300, 297)] {
                    let x = batch_with(&mut rng, m, k, &probe, at);
                    let res = vec![0.25f32; m * n];
                    for threads in [1, 2] {
                        let out = with_threads(threads, || {
                            minilm_kernels::isa::with_isa(isa, || run(&x, m, &res)).unwrap()
                        });
                        assert_eq!(
                            bits(&out[at * n..(at + 1) * n]),
                            bits(&alone),
                            "{isa:?} k={k} n={n} epi={epi}: row at {at} of {m} with {threads} threads differs from m=1"
                        );
                    }
                }
            });
        }
    }
}

#[test]
fn sgemm_bits_independent_of_shape_and_threads() {
    let mut rng = Rng::new(12);
    // C = A·Bᵀ + C (beta = 1, B transposed as in the backward pass).
    let (k, n) = (1000, 77);
    let b = rng.vec(n * k, -1.0, 1.0);
    let probe = rng.vec(k, -1.0, 1.0);
    let c_probe = rng.vec(n, -1.0, 1.0);
    for_each_isa(|isa| {
        let mut alone = c_probe.clone();
        sgemm(1, k, n, 1.0, &probe, k, 1, &b, 1, k, 1.0, &mut alone, n, 1);
        let mut rng = Rng::new(13);
        for &(m, at) in &[(2, 1), (37, 18), (513, 512)] {
            let a = batch_with(&mut rng, m, k, &probe, at);
            let mut c0 = rng.vec(m * n, -1.0, 1.0);
            c0[at * n..(at + 1) * n].copy_from_slice(&c_probe);
            for threads in [1, 2] {
                let c = with_threads(threads, || {
                    minilm_kernels::isa::with_isa(isa, || {
                        let mut c = c0.clone();
                        sgemm(m, k, n, 1.0, &a, k, 1, &b, 1, k, 1.0, &mut c, n, 1);
                        c
                    })
                    .unwrap()
                });
                assert_eq!(
                    bits(&c[at * n..(at + 1) * n]),
                    bits(&alone),
                    "{isa:?}: sgemm row at {at} of {m}, {threads} threads"
                );
            }
        }
        // A column split (few rows, many columns) keeps the bits too.
        let (m, k2, n2) = (3, 384, 1536);
        let a = rng.vec(m * k2, -1.0, 1.0);
        let b2 = rng.vec(k2 * n2, -1.0, 1.0);
        let outs: Vec<Vec<u32>> = [1, 2]
            .iter()
            .map(|&t| {
                with_threads(t, || {
                    minilm_kernels::isa::with_isa(isa, || {
                        let mut c = vec![0.0; m * n2];
                        sgemm(m, k2, n2, 1.0, &a, k2, 1, &b2, n2, 1, 0.0, &mut c, n2, 1);
                        bits(&c)
                    })
                    .unwrap()
                })
            })
            .collect();
        assert_eq!(outs[0], outs[1], "{isa:?}: column split changed bits");
    });
}

#[test]
fn rowwise_kernels_bits_independent_of_batch_and_threads() {
    let mut rng = Rng::new(14);
    let dim = 384;
    let gamma = rng.vec(dim, 0.5, 1.5);
    let beta = rng.vec(dim, -0.5, 0.5);
    let probe = rng.vec(dim, -3.0, 3.0);
    for_each_isa(|isa| {
        let mut ln1 = vec![0.0; dim];
        layer_norm::layer_norm(&probe, dim, &gamma, &beta, 1e-12, &mut ln1, None);
        let mut sm1 = probe.clone();
        softmax::softmax_rows(&mut sm1, dim);
        let mut g1 = probe.clone();
        gelu::gelu_erf_inplace(&mut g1);
        let mut rng = Rng::new(15);
        // 200 rows × 384 is above the elementwise parallel threshold.
        let (rows, at) = (200, 131);
        let x = batch_with(&mut rng, rows, dim, &probe, at);
        for threads in [1, 2] {
            with_threads(threads, || {
                minilm_kernels::isa::with_isa(isa, || {
                    let mut y = vec![0.0; rows * dim];
                    layer_norm::layer_norm(&x, dim, &gamma, &beta, 1e-12, &mut y, None);
                    assert_eq!(
                        bits(&y[at * dim..(at + 1) * dim]),
                        bits(&ln1),
                        "{isa:?} layer_norm {threads}t"
                    );
                    let mut s = x.clone();
                    softmax::softmax_rows(&mut s, dim);
                    assert_eq!(
                        bits(&s[at * dim..(at + 1) * dim]),
                        bits(&sm1),
                        "{isa:?} softmax {threads}t"
                    );
                    let mut g = x.clone();
                    gelu::gelu_erf_inplace(&mut g);
                    assert_eq!(
                        bits(&g[at * dim..(at + 1) * dim]),
                        bits(&g1),
                        "{isa:?} gelu {threads}t"
                    );
                })
                .unwrap()
            });
        }
    });
}
