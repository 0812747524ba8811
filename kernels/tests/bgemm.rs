//! Bfloat16 products (`linear_bf16`, `Bf16Weight`) on every
//! instruction-set path, over awkward shapes and every epilogue.
//!
//! Tolerance: the reference is the f64 product of the bf16-rounded
//! operands. Each product of two bf16 values is exact in f32, so the only
//! errors are the k additions of the f32 sum (and the bias addition), each
//! ≤ 2⁻²⁴ relative to a partial sum bounded by `Σ|x_p·w_p|`: the classic
//! bound `(k + 1)·2⁻²⁴·(Σ_p |x_p·w_p| + |b|)`, rigorous whatever the order
//! or the fusing of a path (and `vdpbf16ps` rounds each addition to nearest
//! even like the others; its flush of subnormals does not arise with these
//! inputs). Plus 1e-6 absolute for the f32 GELU and 1e-6 relative for the
//! residual addition.

mod common;

use common::{bits, epilogue, epilogue64, for_each_isa, Rng};
use minilm_kernels::convert::scalar::{bf16_to_f32, f32_to_bf16};
use minilm_kernels::isa::{self, Isa};
use minilm_kernels::parallel::with_threads;
use minilm_kernels::{linear_bf16, linear_bf16_serial, Bf16Weight, Epilogue};

fn round_bf16(v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| bf16_to_f32(f32_to_bf16(x))).collect()
}

#[test]
fn bf16_weight_round_trips() {
    let mut rng = Rng::new(31);
    for &(n, k) in &[(1, 1), (17, 3), (48, 5), (49, 384), (384, 1536)] {
        let w = rng.vec(n * k, -2.0, 2.0);
        let bits16: Vec<u16> = w.iter().map(|&v| f32_to_bf16(v)).collect();
        for_each_isa(|isa| {
            let bw = Bf16Weight::new(&w, n, k);
            assert_eq!((bw.n(), bw.k()), (n, k));
            assert_eq!(bw.to_f32(), round_bf16(&w), "{isa:?} {n}x{k}");
            assert_eq!(
                Bf16Weight::from_bf16(&bits16, n, k).to_bf16(),
                bits16,
                "{isa:?}"
            );
        });
    }
}

#[test]
#[should_panic(expected = "Bf16Weight::from_bf16: 11 values for a [3, 4] weight (want 12)")]
fn from_bf16_with_wrong_length_panics() {
    Bf16Weight::from_bf16(&[0; 11], 3, 4);
}

/// Shapes (m, k, n) with every m in {1, 2, 7, 33, 100}, k in {1, 3, 5,
/// 383, 384, 1536} and n in {1, 17, 384, 1536} in some role.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (2, 3, 17),
    (7, 5, 384),
    (33, 383, 17),
    (100, 384, 1),
    (1, 1536, 1536),
    (2, 384, 1536),
    (7, 1536, 17),
    (33, 1, 384),
    (100, 3, 1536),
    (1, 383, 384),
    (100, 1536, 17),
    (33, 384, 384),
];

#[test]
fn linear_bf16_matches_reference_on_every_path_and_epilogue() {
    let mut rng = Rng::new(32);
    for &(m, k, n) in SHAPES {
        let x = rng.vec(m * k, -1.0, 2.0);
        let s = 1.0 / (k as f32).sqrt();
        let wf = rng.vec(n * k, -s, s);
        let bias = rng.vec(n, -1.0, 1.0);
        let r = rng.vec(m * n, -1.0, 1.0);
        let (xr, wr) = (round_bf16(&x), round_bf16(&wf));
        for_each_isa(|isa| {
            let w = Bf16Weight::new(&wf, n, k);
            for use_bias in [false, true] {
                let b = use_bias.then_some(&bias[..]);
                for epi in 0..3u8 {
                    let mut out = vec![f32::NAN; m * n];
                    linear_bf16(&x, m, &w, b, epilogue(epi, &r), &mut out);
                    for (e, &g) in out.iter().enumerate() {
                        let (i, j) = (e / n, e % n);
                        let (mut exact, mut mag) = (0.0f64, 0.0f64);
                        for p in 0..k {
                            let t = xr[i * k + p] as f64 * wr[j * k + p] as f64;
                            exact += t;
                            mag += t.abs();
                        }
                        let bj = b.map_or(0.0, |b| b[j] as f64);
                        let want = epilogue64(epi, exact + bj, &r, e);
                        let tol = (k + 1) as f64 * 2f64.powi(-24) * (mag + bj.abs())
                            + 1e-6 * (1.0 + r[e].abs() as f64);
                        assert!(
                            (g as f64 - want).abs() <= tol,
                            "{isa:?} m={m} k={k} n={n} bias={use_bias} epi={epi} at {e}: {g} vs {want}"
                        );
                    }
                }
            }
        });
    }
}

/// Without GELU, every path gives the same bits (exact products, the same
/// addition order; no subnormals here).
#[test]
fn linear_bf16_paths_give_identical_bits() {
    let mut rng = Rng::new(33);
    let (m, k, n) = (33, 385, 100);
    let x = rng.vec(m * k, -1.0, 3.0);
    let wf = rng.vec(n * k, -0.1, 0.1);
    let bias = rng.vec(n, -1.0, 1.0);
    let r = rng.vec(m * n, -1.0, 1.0);
    for epi in [0u8, 2] {
        let mut first: Option<Vec<u32>> = None;
        for_each_isa(|isa| {
            let w = Bf16Weight::new(&wf, n, k);
            let mut out = vec![0.0; m * n];
            linear_bf16(&x, m, &w, Some(&bias), epilogue(epi, &r), &mut out);
            match &first {
                None => first = Some(bits(&out)),
                Some(f) => assert_eq!(&bits(&out), f, "{isa:?} epi={epi} differs"),
            }
        });
    }
}

#[test]
fn linear_bf16_row_bits_independent_of_batch_position_and_threads() {
    let mut rng = Rng::new(34);
    for &(k, n) in &[(384, 1152), (1536, 384), (383, 17)] {
        let wf = rng.vec(n * k, -0.05, 0.05);
        let bias = rng.vec(n, -1.0, 1.0);
        let probe = rng.vec(k, -1.0, 2.0);
        for epi in 0..3u8 {
            for_each_isa(|isa| {
                let w = Bf16Weight::new(&wf, n, k);
                let run = |x: &[f32], m: usize, res: &[f32], serial: bool| {
                    let mut out = vec![0.0; m * n];
                    let f = if serial {
                        linear_bf16_serial
                    } else {
                        linear_bf16
                    };
                    f(x, m, &w, Some(&bias), epilogue(epi, res), &mut out);
                    out
                };
                let alone = run(&probe, 1, &vec![0.25; n], true);
                for &(m, at) in &[(2, 1), (37, 0), (37, 36), (100, 57)] {
                    let mut x = rng.vec(m * k, -1.0, 1.0);
                    x[at * k..(at + 1) * k].copy_from_slice(&probe);
                    let res = vec![0.25f32; m * n];
                    let serial = run(&x, m, &res, true);
                    for threads in [1, 2] {
                        let out = with_threads(threads, || {
                            isa::with_isa(isa, || run(&x, m, &res, false)).unwrap()
                        });
                        assert_eq!(
                            bits(&out),
                            bits(&serial),
                            "{isa:?} k={k} n={n} m={m} threads={threads}"
                        );
                    }
                    assert_eq!(
                        bits(&serial[at * n..(at + 1) * n]),
                        bits(&alone),
                        "{isa:?} k={k} n={n} epi={epi}: row {at} of {m} differs from m=1"
                    );
                }
            });
        }
    }
}

/// A weight packed under one path multiplies the same under another, and
/// degenerate shapes work.
#[test]
fn foreign_packing_and_degenerate_shapes() {
    let mut rng = Rng::new(35);
    let (m, k, n) = (9, 40, 70);
    let x = rng.vec(m * k, -1.0, 1.0);
    let wf = rng.vec(n * k, -1.0, 1.0);
    let w = Bf16Weight::new(&wf, n, k);
    let mut want = vec![0.0; m * n];
    isa::with_isa(Isa::Portable, || {
        linear_bf16(&x, m, &w, None, Epilogue::None, &mut want)
    })
    .unwrap();
    for_each_isa(|isa| {
        let mut out = vec![0.0; m * n];
        linear_bf16(&x, m, &w, None, Epilogue::None, &mut out);
        assert_eq!(bits(&out), bits(&want), "{isa:?} foreign packing");
        linear_bf16(&[], 0, &w, None, Epilogue::None, &mut []);
        let w0 = Bf16Weight::new(&[], 3, 0);
        let mut out = vec![f32::NAN; 6];
        linear_bf16(
            &[],
            2,
            &w0,
            Some(&[1.0, 2.0, 3.0]),
            Epilogue::None,
            &mut out,
        );
        assert_eq!(out, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0], "{isa:?} k = 0");
    });
}
