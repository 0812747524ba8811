//! sgemm and linear against a naive f64 reference, on every instruction-set
//! path, over awkward shapes, strides, transposes, beta and epilogues.
//!
//! Tolerance for a product of depth k with entries in [-1, 1]: each element
//! is an f32 sum of k products in KC-blocks; rounding errors (≤ 2^-24
//! relative each) add like a random walk over partial sums of size ~√k, so
//! the error is ~1e-7·k at most in practice. We allow
//! `atol = 1e-5·√k·scale` (≈ 4e-4 at k = 1537, several times the worst seen)
//! and `rtol = 1e-5`, where `scale` is the magnitude of alpha and beta terms.

mod common;

use common::{assert_close, for_each_isa, gemm_ref, Rng};
use minilm_kernels::gelu::gelu_erf64;
use minilm_kernels::{linear, sgemm, Epilogue, PackedWeight};

fn atol(k: usize) -> f64 {
    1e-5 * (k.max(1) as f64).sqrt()
}

/// Shapes (m, k, n) from {1, 7, 33, 383, 384, 1152, 1536, 1537}, chosen to
/// hit every size in every role while keeping the f64 reference cheap.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 33),
    (7, 1, 1537),
    (33, 33, 33),
    (7, 384, 1152),
    (1, 1536, 384),
    (33, 1537, 7),
    (383, 33, 384),
    (384, 7, 383),
    (1, 1152, 1536),
    (1537, 1, 33),
    (33, 384, 1537),
    (7, 1537, 383),
    (1152, 33, 7),
    (383, 384, 33),
    (1536, 7, 1),
    (33, 1536, 384),
    (384, 384, 384),
];

#[test]
fn sgemm_row_major_all_shapes() {
    let mut rng = Rng::new(1);
    for &(m, k, n) in SHAPES {
        let a = rng.vec(m * k, -1.0, 1.0);
        let b = rng.vec(k * n, -1.0, 1.0);
        let c0 = rng.vec(m * n, -1.0, 1.0);
        let want0 = gemm_ref(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &c0, n, 1);
        let want1 = gemm_ref(m, k, n, 1.0, &a, k, 1, &b, n, 1, 1.0, &c0, n, 1);
        for_each_isa(|isa| {
            let mut c = vec![f32::NAN; m * n];
            sgemm(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &mut c, n, 1);
            assert_close(
                &format!("{isa:?} sgemm {m}x{k}x{n} beta=0"),
                c.iter().copied(),
                &want0,
                atol(k),
                1e-5,
            );
            let mut c = c0.clone();
            sgemm(m, k, n, 1.0, &a, k, 1, &b, n, 1, 1.0, &mut c, n, 1);
            assert_close(
                &format!("{isa:?} sgemm {m}x{k}x{n} beta=1"),
                c.iter().copied(),
                &want1,
                2.0 * atol(k),
                1e-5,
            );
        });
    }
}

/// Every combination of transposed / padded A, B and C, with alpha and beta
/// not in {0, 1}.
#[test]
fn sgemm_strides_and_transposes() {
    let mut rng = Rng::new(2);
    for &(m, k, n) in &[
        (7, 33, 1537),
        (383, 384, 33),
        (33, 1537, 7),
        (1, 384, 1152),
        (1152, 7, 33),
    ] {
        for case in 0..8 {
            let (ta, tb, tc) = (case & 1 != 0, case & 2 != 0, case & 4 != 0);
            let pad = 3;
            // (row stride, column stride, length) for a rows×cols matrix.
            let lay = |rows: usize, cols: usize, t: bool| {
                if t {
                    (1, rows + pad, cols * (rows + pad))
                } else {
                    (cols + pad, 1, rows * (cols + pad))
                }
            };
            let (rsa, csa, la) = lay(m, k, ta);
            let (rsb, csb, lb) = lay(k, n, tb);
            let (rsc, csc, lc) = lay(m, n, tc);
            let a = rng.vec(la, -1.0, 1.0);
            let b = rng.vec(lb, -1.0, 1.0);
            let c0 = rng.vec(lc, -1.0, 1.0);
            let (alpha, beta) = (-0.75f32, 0.5f32);
            let want = gemm_ref(
                m,
                k,
                n,
                alpha as f64,
                &a,
                rsa,
                csa,
                &b,
                rsb,
                csb,
                beta as f64,
                &c0,
                rsc,
                csc,
            );
            for_each_isa(|isa| {
                let mut c = c0.clone();
                sgemm(
                    m, k, n, alpha, &a, rsa, csa, &b, rsb, csb, beta, &mut c, rsc, csc,
                );
                let got = (0..m * n).map(|e| c[(e / n) * rsc + (e % n) * csc]);
                assert_close(
                    &format!("{isa:?} sgemm {m}x{k}x{n} ta={ta} tb={tb} tc={tc}"),
                    got,
                    &want,
                    2.0 * atol(k),
                    1e-5,
                );
                // Padding between rows/columns must be left untouched.
                let touched: std::collections::HashSet<usize> =
                    (0..m * n).map(|e| (e / n) * rsc + (e % n) * csc).collect();
                for (i, (&x, &x0)) in c.iter().zip(&c0).enumerate() {
                    if !touched.contains(&i) {
                        assert_eq!(
                            x.to_bits(),
                            x0.to_bits(),
                            "{isa:?}: padding element {i} changed"
                        );
                    }
                }
            });
        }
    }
}

#[test]
fn sgemm_k_zero_scales_c() {
    for_each_isa(|_| {
        let mut c = [2.0f32, f32::NAN, 4.0];
        sgemm(1, 0, 3, 1.0, &[], 1, 1, &[], 1, 1, 0.5, &mut c[..], 3, 1);
        assert_eq!(c[0], 1.0);
        assert_eq!(c[2], 2.0);
        let mut c = [f32::NAN; 3];
        sgemm(1, 0, 3, 1.0, &[], 1, 1, &[], 1, 1, 0.0, &mut c[..], 3, 1);
        assert_eq!(c, [0.0; 3]);
    });
}

/// The f64 reference of `linear` given the plain product `xw = x·Wᵀ`.
fn linear_ref(
    xw: &[f64],
    m: usize,
    n: usize,
    bias: Option<&[f32]>,
    epi: u8,
    r: &[f32],
) -> Vec<f64> {
    let mut y = xw.to_vec();
    for i in 0..m {
        for j in 0..n {
            let v = &mut y[i * n + j];
            if let Some(b) = bias {
                *v += b[j] as f64;
            }
            match epi {
                1 => *v = gelu_erf64(*v),
                2 => *v += r[i * n + j] as f64,
                _ => {}
            }
        }
    }
    y
}

#[test]
fn linear_all_epilogues() {
    let mut rng = Rng::new(3);
    // The model's shapes and awkward ones.
    let kn = [
        (384, 1152),
        (384, 384),
        (384, 1536),
        (1536, 384),
        (33, 7),
        (1537, 33),
        (7, 1537),
    ];
    for &(k, n) in &kn {
        for &m in &[1usize, 7, 33, 128] {
            let x = rng.vec(m * k, -1.0, 1.0);
            // Weights scaled like a trained layer (outputs of order 1).
            let s = 1.0 / (k as f32).sqrt();
            let w = rng.vec(n * k, -s, s);
            let bias = rng.vec(n, -1.0, 1.0);
            let r = rng.vec(m * n, -1.0, 1.0);
            let xw = gemm_ref(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &[], 0, 0);
            for epi in 0..3u8 {
                for use_bias in [false, true] {
                    let b = use_bias.then_some(&bias[..]);
                    let want = linear_ref(&xw, m, n, b, epi, &r);
                    for_each_isa(|isa| {
                        let pw = PackedWeight::new(&w, n, k);
                        let mut out = vec![f32::NAN; m * n];
                        let e = match epi {
                            0 => Epilogue::None,
                            1 => Epilogue::Gelu,
                            _ => Epilogue::Residual(&r),
                        };
                        linear(&x, m, &pw, b, e, &mut out);
                        // Outputs are O(1): the sgemm bound at scale 1/√k,
                        // plus the f32 GELU's ~2e-7 absolute error.
                        assert_close(
                            &format!("{isa:?} linear m={m} k={k} n={n} epi={epi} bias={use_bias}"),
                            out.iter().copied(),
                            &want,
                            1e-6 + atol(k) / (k as f64).sqrt() * 4.0,
                            1e-5,
                        );
                    });
                }
            }
        }
    }
}

#[test]
fn packed_weight_round_trips() {
    let mut rng = Rng::new(4);
    for &(n, k) in &[(1, 1), (7, 33), (33, 7), (1537, 5), (384, 1536)] {
        let w = rng.vec(n * k, -1.0, 1.0);
        for_each_isa(|isa| {
            let pw = PackedWeight::new(&w, n, k);
            assert_eq!((pw.n(), pw.k()), (n, k));
            assert_eq!(pw.to_nk(), w, "{isa:?} to_nk {n}x{k}");
        });
    }
}

/// A weight packed under one path still multiplies correctly under another.
#[test]
fn packed_weight_used_under_another_path() {
    let mut rng = Rng::new(5);
    let (m, k, n) = (9, 40, 70);
    let x = rng.vec(m * k, -1.0, 1.0);
    let w = rng.vec(n * k, -1.0, 1.0);
    let pw = PackedWeight::new(&w, n, k);
    let want = linear_ref(
        &gemm_ref(m, k, n, 1.0, &x, k, 1, &w, 1, k, 0.0, &[], 0, 0),
        m,
        n,
        None,
        0,
        &[],
    );
    for_each_isa(|isa| {
        let mut out = vec![0.0; m * n];
        linear(&x, m, &pw, None, Epilogue::None, &mut out);
        assert_close(
            &format!("{isa:?} foreign packing"),
            out.iter().copied(),
            &want,
            atol(k),
            1e-5,
        );
    });
}
