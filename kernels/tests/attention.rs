//! The one-head attention kernels (`attention::head_probs`,
//! `attention::head_context`) on every instruction-set path: bit for bit
//! against the `sgemm` + `softmax_rows` composition they replaced, and
//! within a stated tolerance of an f64 reference, on awkward shapes.

mod common;

use common::{assert_close, bits, for_each_isa, Rng};
use minilm_kernels::attention::{head_context, head_probs};
use minilm_kernels::sgemm_serial;
use minilm_kernels::softmax::softmax_rows;

/// (tokens, head width, row stride): one token, fewer tokens than a vector,
/// ragged blocks, more keys than a depth block (KC = 192), the maximum 256,
/// widths that are not a multiple of 16.
const SHAPES: [(usize, usize, usize); 9] = [
    (1, 32, 96),
    (7, 32, 96),
    (16, 32, 1152),
    (17, 32, 96),
    (33, 8, 40),
    (100, 64, 200),
    (193, 32, 96),
    (256, 32, 1152),
    (12, 20, 61),
];

/// The composition the kernels replaced: scores by `sgemm` with Kᵀ as
/// swapped strides, softmax per row, then `sgemm` of P and V.
#[allow(clippy::too_many_arguments)]
fn by_gemm(
    l: usize,
    d: usize,
    scale: f32,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    ld: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut p = vec![0.0f32; l * l];
    sgemm_serial(l, d, l, scale, q, ld, 1, k, 1, ld, 0.0, &mut p, l, 1);
    softmax_rows(&mut p, l);
    let mut out = vec![0.0f32; l * d];
    sgemm_serial(l, l, d, 1.0, &p, l, 1, v, ld, 1, 0.0, &mut out, d, 1);
    (p, out)
}

fn inputs(l: usize, ld: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    // Scores of a few units, as in the model (large enough to exercise the
    // softmax's max subtraction).
    (
        rng.vec(l * ld, -3.0, 3.0),
        rng.vec(l * ld, -3.0, 3.0),
        rng.vec(l * ld, -1.0, 1.0),
    )
}

/// Same bits as `sgemm` + `softmax_rows`, on every path: the kernels keep
/// the GEMM's summation order (an FMA chain per depth block from zero,
/// blocks added in order, scale applied after).
#[test]
fn same_bits_as_the_gemm_composition() {
    for_each_isa(|isa| {
        for (n, &(l, d, ld)) in SHAPES.iter().enumerate() {
            let (q, k, v) = inputs(l, ld, 100 + n as u64);
            let scale = 1.0 / (d as f32).sqrt();
            let (p_ref, o_ref) = by_gemm(l, d, scale, &q, &k, &v, ld);
            let mut p = vec![f32::NAN; l * l];
            head_probs(l, d, scale, &q, &k, ld, &mut p);
            assert_eq!(bits(&p), bits(&p_ref), "{isa:?} probs l={l} d={d}");
            // Context written with a row stride wider than d, around
            // sentinels that must survive.
            let ld_out = d + 3;
            let mut o = vec![7.0f32; l * ld_out];
            head_context(l, d, &p, &v, ld, &mut o, ld_out);
            for i in 0..l {
                assert_eq!(
                    bits(&o[i * ld_out..i * ld_out + d]),
                    bits(&o_ref[i * d..(i + 1) * d]),
                    "{isa:?} context l={l} d={d} row {i}"
                );
                assert!(o[i * ld_out + d..(i + 1) * ld_out]
                    .iter()
                    .all(|&x| x == 7.0));
            }
        }
    });
}

/// Against f64: probabilities within 1e-6 + 1e-5·p (scores of |s| ≲ 30
/// carry ~30·2^-24 absolute error, which e^s turns into a relative error of
/// that size, plus exp's few ulp); each row sums to 1 within 1e-5; the
/// context within 1e-5 + 1e-5·|o| (a convex combination of |v| ≤ 1).
#[test]
fn close_to_f64() {
    for_each_isa(|isa| {
        for (n, &(l, d, ld)) in SHAPES.iter().enumerate() {
            let (q, k, v) = inputs(l, ld, 200 + n as u64);
            let scale = 1.0 / (d as f64).sqrt();
            let mut p_ref = vec![0.0f64; l * l];
            for i in 0..l {
                let s: Vec<f64> = (0..l)
                    .map(|j| {
                        (0..d)
                            .map(|c| q[i * ld + c] as f64 * k[j * ld + c] as f64)
                            .sum::<f64>()
                            * scale
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                for j in 0..l {
                    p_ref[i * l + j] = (s[j] - m).exp() / z;
                }
            }
            let o_ref: Vec<f64> = (0..l * d)
                .map(|e| {
                    let (i, c) = (e / d, e % d);
                    (0..l)
                        .map(|j| p_ref[i * l + j] * v[j * ld + c] as f64)
                        .sum()
                })
                .collect();
            let mut p = vec![0.0f32; l * l];
            head_probs(l, d, scale as f32, &q, &k, ld, &mut p);
            assert_close(
                &format!("{isa:?} probs l={l} d={d}"),
                p.iter().copied(),
                &p_ref,
                1e-6,
                1e-5,
            );
            for row in p.chunks(l) {
                let s: f64 = row.iter().map(|&x| x as f64).sum();
                assert!((s - 1.0).abs() <= 1e-5, "{isa:?}: row sums to {s}");
            }
            let mut o = vec![0.0f32; l * d];
            head_context(l, d, &p, &v, ld, &mut o, d);
            assert_close(
                &format!("{isa:?} context l={l} d={d}"),
                o.iter().copied(),
                &o_ref,
                1e-5,
                1e-5,
            );
        }
    });
}

/// Q and K as column windows of one row (a fused QKV projection): the
/// kernels read only their window, so changing the other columns changes
/// nothing.
#[test]
fn reads_only_its_window() {
    let (l, d, ld) = (9, 32, 96);
    let (mut q, k, v) = inputs(l, ld, 300);
    let mut p1 = vec![0.0f32; l * l];
    head_probs(l, d, 0.2, &q, &k, ld, &mut p1);
    for i in 0..l {
        for c in d..ld {
            q[i * ld + c] = f32::NAN;
        }
    }
    let mut p2 = vec![0.0f32; l * l];
    head_probs(l, d, 0.2, &q, &k, ld, &mut p2);
    assert_eq!(bits(&p1), bits(&p2));
    let mut o = vec![0.0f32; l * d];
    head_context(l, d, &p2, &v, ld, &mut o, d);
    assert!(o.iter().all(|x| x.is_finite()));
}
