//! Int8 products (`linear_i8`, `QuantWeight`, `quantize_rows_u8`) on every
//! instruction-set path, over awkward shapes and every epilogue.
//!
//! What is exact and what has a tolerance:
//! * the row quantizer and the integer sums are exact, so they are compared
//!   bit for bit (against a scalar definition, and across paths);
//! * the f32 output against an f64 evaluation of the same formula on the
//!   same integers: the kernel rounds `d → f32`, `s_x·s_w`, their product
//!   and the bias addition, each ≤ 2⁻²⁴ relative, so the error is at most
//!   `4·2⁻²⁴·(|p| + |b|)` with `p` the product term; we allow `1e-6·(|p| +
//!   |b| + |r|)` plus 1e-6 absolute for the f32 GELU (≈ 2e-7 off erf-GELU)
//!   and the residual addition;
//! * against the exact f32-weight product, the quantization error is
//!   bounded element-wise by `Σ_p (|x_p|·s_w/2 + |ŵ_p|·s_x/2)` (each
//!   rounding moves a value by at most half a step), checked as such.

mod common;

use common::{bits, epilogue, epilogue64, for_each_isa, Rng};
use minilm_kernels::isa::{self, Isa};
use minilm_kernels::parallel::with_threads;
use minilm_kernels::qgemm::qgemm_sums;
use minilm_kernels::{linear_i8, linear_i8_serial, quantize_rows_u8, Epilogue, QuantWeight};

/// The row quantizer's definition, scalar (see `qgemm::rows`).
fn quantize_row_def(x: &[f32]) -> (Vec<u8>, f32, i32) {
    if x.iter().any(|v| !v.is_finite()) {
        return (vec![0; x.len()], f32::NAN, 0);
    }
    let lo = x.iter().fold(0.0f32, |a, &v| a.min(v));
    let hi = x.iter().fold(0.0f32, |a, &v| a.max(v));
    let s = (hi - lo) / 255.0;
    if s == 0.0 || !(1.0 / s).is_finite() {
        return (vec![0; x.len()], 1.0, 0);
    }
    let z = ((-lo) / s).round_ties_even().clamp(0.0, 255.0) as i32;
    let inv = 1.0 / s;
    let q = x
        .iter()
        .map(|&v| ((v * inv).round_ties_even() as i32 + z).clamp(0, 255) as u8)
        .collect();
    (q, s, z)
}

/// Rows of every kind: uniform, skewed like post-GELU, one-signed, zero,
/// tiny, with ties, and with NaN / inf.
fn awkward_rows(rng: &mut Rng, k: usize) -> Vec<Vec<f32>> {
    let mut rows = vec![
        rng.vec(k, -1.0, 1.0),
        rng.vec(k, -0.17, 4.0),
        rng.vec(k, 0.5, 3.0),
        rng.vec(k, -3.0, -0.5),
        vec![0.0; k],
        rng.vec(k, -1e-37, 1e-37),
        (0..k).map(|p| (p % 7) as f32 * 0.5 - 1.5).collect(),
        rng.vec(k, -1e6, 1e6),
    ];
    let mut nan = rng.vec(k, -1.0, 1.0);
    nan[k / 2] = f32::NAN;
    rows.push(nan);
    let mut inf = rng.vec(k, -1.0, 1.0);
    inf[k - 1] = f32::INFINITY;
    rows.push(inf);
    rows
}

#[test]
fn row_quantizer_matches_definition_on_every_path() {
    let mut rng = Rng::new(21);
    for k in [1usize, 3, 5, 16, 17, 383, 384, 1536] {
        let rows = awkward_rows(&mut rng, k);
        let x: Vec<f32> = rows.concat();
        let m = rows.len();
        for_each_isa(|isa| {
            let (q, s, z) = quantize_rows_u8(&x, m, k);
            for (i, row) in rows.iter().enumerate() {
                let (wq, ws, wz) = quantize_row_def(row);
                let what = format!("{isa:?} k={k} row {i}");
                assert_eq!(&q[i * k..(i + 1) * k], &wq[..], "{what}: q");
                assert_eq!(s[i].to_bits(), ws.to_bits(), "{what}: scale");
                assert_eq!(z[i], wz, "{what}: zero point");
            }
        });
    }
}

#[test]
fn row_quantizer_error_is_half_a_step_and_zero_is_exact() {
    let mut rng = Rng::new(22);
    let k = 383;
    for row in awkward_rows(&mut rng, k).into_iter().take(8) {
        let (q, s, z) = quantize_rows_u8(&row, 1, k);
        for (p, &v) in row.iter().enumerate() {
            let back = s[0] as f64 * (q[p] as f64 - z[0] as f64);
            let err = (back - v as f64).abs();
            // Half a step, plus the f32 rounding of 1/s and of the step.
            assert!(
                err <= 0.5 * s[0] as f64 * (1.0 + 1e-5),
                "x={v} back={back} s={}",
                s[0]
            );
            if v == 0.0 {
                assert_eq!(q[p] as i32, z[0], "0.0 must map to the zero point");
            }
        }
    }
}

#[test]
fn quant_weight_round_trips_and_follows_the_scheme() {
    let mut rng = Rng::new(23);
    for &(n, k) in &[(1, 1), (17, 3), (5, 383), (48, 384), (49, 5), (384, 1536)] {
        let mut w = rng.vec(n * k, -0.3, 0.3);
        w[..k].fill(0.0); // an all-zero channel
        for_each_isa(|isa| {
            let qw = QuantWeight::quantize(&w, n, k);
            assert_eq!((qw.n(), qw.k()), (n, k));
            let (q, s) = qw.quantized();
            assert_eq!(s[0], 1.0, "{isa:?}: a zero channel has scale 1");
            assert!(q[..k].iter().all(|&v| v == 0));
            for j in 0..n {
                let row = &w[j * k..(j + 1) * k];
                let amax = row.iter().fold(0.0f32, |a, &v| a.max(v.abs()));
                if amax > 0.0 {
                    assert_eq!(s[j], amax / 127.0, "{isa:?} scale of channel {j}");
                }
                for p in 0..k {
                    let want = (row[p] / s[j]).round_ties_even().clamp(-127.0, 127.0) as i8;
                    assert_eq!(q[j * k + p], want, "{isa:?} q[{j}, {p}]");
                }
            }
            // Stored form → weight → stored form is the identity.
            let again = QuantWeight::from_quantized(&q, &s, n, k);
            assert_eq!(again.quantized(), (q.clone(), s.clone()), "{isa:?} {n}x{k}");
            // dequantize is q·scale, within half a step of w.
            let d = qw.dequantize();
            for (e, (&dv, &wv)) in d.iter().zip(&w).enumerate() {
                assert_eq!(dv, q[e] as f32 * s[e / k]);
                // Half a step, plus the rounding of q·scale (≤ 1 ulp of |w|).
                assert!((dv - wv).abs() <= 0.5 * s[e / k] + wv.abs() * f32::EPSILON);
            }
        });
    }
}

#[test]
#[should_panic(
    expected = "QuantWeight::from_quantized: 11 int8 values for a [3, 4] weight (want 12)"
)]
fn from_quantized_with_wrong_value_count_panics() {
    QuantWeight::from_quantized(&[0; 11], &[1.0; 3], 3, 4);
}

#[test]
#[should_panic(expected = "QuantWeight::from_quantized: 2 scales for 3 output channels")]
fn from_quantized_with_wrong_scale_count_panics() {
    QuantWeight::from_quantized(&[0; 12], &[1.0; 2], 3, 4);
}

/// Random u8 activations and full-range i8 weights (including -128).
fn random_ints(rng: &mut Rng, m: usize, n: usize, k: usize) -> (Vec<u8>, Vec<i8>) {
    let q = (0..m * k).map(|_| rng.below(256) as u8).collect();
    let w = (0..n * k)
        .map(|_| (rng.below(256) as i32 - 128) as i8)
        .collect();
    (q, w)
}

#[test]
fn integer_sums_are_exact_and_identical_on_every_path() {
    let mut rng = Rng::new(24);
    for &(m, k, n) in &[
        (1, 1, 1),
        (2, 3, 17),
        (7, 5, 49),
        (33, 383, 17),
        (100, 384, 97),
        (9, 1536, 48),
        (16, 1537, 9),
    ] {
        let (q, wq) = random_ints(&mut rng, m, n, k);
        let want: Vec<i32> = (0..m * n)
            .map(|e| {
                let (i, j) = (e / n, e % n);
                (0..k)
                    .map(|p| q[i * k + p] as i64 * wq[j * k + p] as i64)
                    .sum::<i64>() as i32
            })
            .collect();
        // Extreme values too: every product at its maximum magnitude.
        let qmax = vec![255u8; m * k];
        let wmin = vec![-128i8; n * k];
        for_each_isa(|isa| {
            let w = QuantWeight::from_quantized(&wq, &vec![1.0; n], n, k);
            assert_eq!(qgemm_sums(&q, m, &w), want, "{isa:?} sums {m}x{k}x{n}");
            let w = QuantWeight::from_quantized(&wmin, &vec![1.0; n], n, k);
            let s = qgemm_sums(&qmax, m, &w);
            assert!(
                s.iter().all(|&v| v == -(255 * 128 * k as i32)),
                "{isa:?} extreme {m}x{k}x{n}"
            );
        });
    }
}

/// The f64 value of `linear_i8`'s formula on its own integers, and the
/// scale of its terms (for the tolerance).
fn formula64(x: &[f32], m: usize, w: &QuantWeight, bias: Option<&[f32]>) -> (Vec<f64>, Vec<f64>) {
    let (n, k) = (w.n(), w.k());
    let (qx, sx, zx) = quantize_rows_u8(x, m, k);
    let (qw, sw) = w.quantized();
    let mut want = vec![0.0; m * n];
    let mut mag = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let d: i64 = (0..k)
                .map(|p| (qx[i * k + p] as i64 - zx[i] as i64) * qw[j * k + p] as i64)
                .sum();
            let p = sx[i] as f64 * sw[j] as f64 * d as f64;
            let b = bias.map_or(0.0, |b| b[j] as f64);
            want[i * n + j] = p + b;
            mag[i * n + j] = p.abs() + b.abs();
        }
    }
    (want, mag)
}

/// Shapes (m, k, n) with every m in {1, 2, 7, 33, 100}, k in {1, 3, 5,
/// 383, 384, 1536} and n in {1, 17, 384, 1536} in some role, edges of
/// every tile width included.
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
    (7, 383, 1),
    (2, 5, 17),
];

#[test]
fn linear_i8_matches_its_formula_on_every_path_and_epilogue() {
    let mut rng = Rng::new(25);
    for &(m, k, n) in SHAPES {
        // Skewed rows (post-GELU-like) and weights scaled like a layer.
        let x = rng.vec(m * k, -0.17, 2.0);
        let s = 1.0 / (k as f32).sqrt();
        let wf = rng.vec(n * k, -s, s);
        let bias = rng.vec(n, -1.0, 1.0);
        let r = rng.vec(m * n, -1.0, 1.0);
        for_each_isa(|isa| {
            let w = QuantWeight::quantize(&wf, n, k);
            for use_bias in [false, true] {
                let b = use_bias.then_some(&bias[..]);
                let (want, mag) = formula64(&x, m, &w, b);
                for epi in 0..3u8 {
                    let mut out = vec![f32::NAN; m * n];
                    linear_i8(&x, m, &w, b, epilogue(epi, &r), &mut out);
                    for (e, &g) in out.iter().enumerate() {
                        let want = epilogue64(epi, want[e], &r, e);
                        let tol = 1e-6 * (mag[e] + r[e].abs() as f64) + 1e-6;
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

#[test]
fn linear_i8_error_against_f32_weights_is_within_the_quantization_bound() {
    let mut rng = Rng::new(26);
    for &(m, k, n) in &[(7, 384, 384), (33, 1536, 17), (2, 383, 1536)] {
        let x = rng.vec(m * k, -0.17, 3.0);
        let s = 1.0 / (k as f32).sqrt();
        let wf = rng.vec(n * k, -s, s);
        let w = QuantWeight::quantize(&wf, n, k);
        let (_, sw) = w.quantized();
        let wd = w.dequantize();
        let (_, sx, _) = quantize_rows_u8(&x, m, k);
        let mut out = vec![0.0; m * n];
        linear_i8(&x, m, &w, None, Epilogue::None, &mut out);
        for i in 0..m {
            for j in 0..n {
                let (mut exact, mut bound) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let (xv, wv) = (x[i * k + p] as f64, wf[j * k + p] as f64);
                    exact += xv * wv;
                    bound += xv.abs() * sw[j] as f64 / 2.0
                        + (wd[j * k + p] as f64).abs() * sx[i] as f64 / 2.0;
                }
                let got = out[i * n + j] as f64;
                assert!(
                    (got - exact).abs() <= bound * (1.0 + 1e-5) + 1e-6,
                    "m={m} k={k} n={n} ({i}, {j}): {got} vs {exact}, bound {bound}"
                );
            }
        }
    }
}

/// Without GELU (whose f32 evaluation is per path) every path gives the
/// same bits: the sums are exact and the rest is the same IEEE operations.
#[test]
fn linear_i8_paths_give_identical_bits() {
    let mut rng = Rng::new(27);
    let (m, k, n) = (33, 385, 100);
    let x = rng.vec(m * k, -1.0, 3.0);
    let wf = rng.vec(n * k, -0.1, 0.1);
    let bias = rng.vec(n, -1.0, 1.0);
    let r = rng.vec(m * n, -1.0, 1.0);
    for epi in [0u8, 2] {
        let mut first: Option<Vec<u32>> = None;
        for_each_isa(|isa| {
            let w = QuantWeight::quantize(&wf, n, k);
            let mut out = vec![0.0; m * n];
            linear_i8(&x, m, &w, Some(&bias), epilogue(epi, &r), &mut out);
            match &first {
                None => first = Some(bits(&out)),
                Some(f) => assert_eq!(&bits(&out), f, "{isa:?} epi={epi} differs"),
            }
        });
    }
}

#[test]
fn linear_i8_row_bits_independent_of_batch_position_and_threads() {
    let mut rng = Rng::new(28);
    for &(k, n) in &[(384, 1152), (1536, 384), (383, 17)] {
        let wf = rng.vec(n * k, -0.05, 0.05);
        let bias = rng.vec(n, -1.0, 1.0);
        let probe = rng.vec(k, -0.17, 2.0);
        for epi in 0..3u8 {
            for_each_isa(|isa| {
                let w = QuantWeight::quantize(&wf, n, k);
                let run = |x: &[f32], m: usize, res: &[f32], serial: bool| {
                    let mut out = vec![0.0; m * n];
                    let f = if serial { linear_i8_serial } else { linear_i8 };
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

/// A weight quantized under one path multiplies the same under another
/// (it is repacked), and degenerate shapes work.
#[test]
fn foreign_packing_and_degenerate_shapes() {
    let mut rng = Rng::new(29);
    let (m, k, n) = (9, 40, 70);
    let x = rng.vec(m * k, -1.0, 1.0);
    let wf = rng.vec(n * k, -1.0, 1.0);
    let w = QuantWeight::quantize(&wf, n, k);
    let mut want = vec![0.0; m * n];
    isa::with_isa(Isa::Portable, || {
        linear_i8(&x, m, &w, None, Epilogue::None, &mut want)
    })
    .unwrap();
    for_each_isa(|isa| {
        let mut out = vec![0.0; m * n];
        linear_i8(&x, m, &w, None, Epilogue::None, &mut out);
        assert_eq!(bits(&out), bits(&want), "{isa:?} foreign packing");
        // m = 0: nothing to do; k = 0: the output is the bias.
        linear_i8(&[], 0, &w, None, Epilogue::None, &mut []);
        let w0 = QuantWeight::quantize(&[], 3, 0);
        let mut out = vec![f32::NAN; 6];
        linear_i8(
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

/// A row holding NaN gives NaN outputs in that row only.
#[test]
fn non_finite_row_gives_nan_row() {
    let (m, k, n) = (3, 20, 5);
    let mut x = vec![0.5f32; m * k];
    x[k + 3] = f32::NAN;
    let w = QuantWeight::quantize(&vec![0.1; n * k], n, k);
    for_each_isa(|isa| {
        let mut out = vec![0.0; m * n];
        linear_i8(&x, m, &w, None, Epilogue::None, &mut out);
        assert!(out[n..2 * n].iter().all(|v| v.is_nan()), "{isa:?}");
        assert!(
            out[..n]
                .iter()
                .chain(&out[2 * n..])
                .all(|v| (v - 1.0).abs() < 0.01),
            "{isa:?}"
        );
    });
}
