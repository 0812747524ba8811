//! erf, exp, GELU, LayerNorm and softmax (forward and backward) against f64
//! references, on every instruction-set path.

mod common;

use common::{assert_close, for_each_isa, Rng};
use minilm_kernels::gelu::{self, erf64, gelu_erf64, gelu_erf_grad64};
use minilm_kernels::{fastmath, layer_norm, softmax};

/// erf: max abs error ≤ 2e-7 on a dense grid over [-6, 6] (erf is ±1 in f32
/// beyond), and exact symmetry.
#[test]
fn erf_max_abs_error() {
    let xs: Vec<f32> = (-300_000..=300_000).map(|i| i as f32 * 2e-5).collect();
    let want: Vec<f64> = xs.iter().map(|&x| erf64(x as f64)).collect();
    for_each_isa(|isa| {
        let mut worst = (0.0f64, 0.0f32);
        for (&x, &w) in xs.iter().zip(&want) {
            let e = (fastmath::erf(x) as f64 - w).abs();
            if e > worst.0 {
                worst = (e, x);
            }
            assert_eq!(fastmath::erf(-x), -fastmath::erf(x));
        }
        eprintln!("{isa:?}: erf max abs error {:e} at {}", worst.0, worst.1);
        assert!(
            worst.0 <= 2e-7,
            "{isa:?}: erf error {:e} at {}",
            worst.0,
            worst.1
        );
        assert_eq!(fastmath::erf(f32::INFINITY), 1.0);
        assert!(fastmath::erf(f32::NAN).is_nan());
    });
}

/// exp: relative error ≤ 3 ulp (3·2^-24) over the range softmax uses.
#[test]
fn exp_relative_error() {
    for_each_isa(|isa| {
        for i in -870_000..=880_000 {
            let x = i as f32 * 1e-4;
            let want = (x as f64).exp();
            let got = fastmath::exp(x) as f64;
            assert!(
                ((got - want) / want).abs() <= 3.0 * 2f64.powi(-24),
                "{isa:?}: exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(fastmath::exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(fastmath::exp(-200.0), 0.0);
    });
}

/// GELU forward and gradient. Forward: |err| ≤ 2e-7·(1 + |x|) (erf's error
/// scaled by x/2, plus f32 rounding of the product). Gradient: same form,
/// the pdf term adds a few ulp.
#[test]
fn gelu_forward_backward() {
    let mut rng = Rng::new(20);
    let mut x = rng.vec(5000, -8.0, 8.0);
    x.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        20.0,
        -20.0,
        1.0,
        -1.0,
        std::f32::consts::SQRT_2,
        -std::f32::consts::SQRT_2,
    ]);
    let dy = rng.vec(x.len(), -1.0, 1.0);
    let dx0 = rng.vec(x.len(), -1.0, 1.0);
    let want_f: Vec<f64> = x.iter().map(|&v| gelu_erf64(v as f64)).collect();
    let want_b: Vec<f64> = x
        .iter()
        .zip(&dy)
        .zip(&dx0)
        .map(|((&v, &g), &d)| d as f64 + g as f64 * gelu_erf_grad64(v as f64))
        .collect();
    for_each_isa(|isa| {
        let mut y = x.clone();
        gelu::gelu_erf_inplace(&mut y);
        for ((&g, &w), &xv) in y.iter().zip(&want_f).zip(&x) {
            let tol = 2e-7 * (1.0 + xv.abs() as f64) + 2f64.powi(-23) * w.abs();
            assert!(
                (g as f64 - w).abs() <= tol,
                "{isa:?}: gelu({xv}) = {g}, want {w}"
            );
        }
        let single: Vec<u32> = x.iter().map(|&v| gelu::gelu_erf(v).to_bits()).collect();
        assert_eq!(
            single,
            common::bits(&y),
            "{isa:?}: scalar gelu_erf differs from the slice kernel"
        );
        let mut dx = dx0.clone();
        gelu::gelu_erf_backward(&x, &dy, &mut dx);
        assert_close(
            &format!("{isa:?} gelu backward"),
            dx.iter().copied(),
            &want_b,
            1e-6,
            1e-6,
        );
    });
}

fn layer_norm_ref(
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut y, mut means, mut rstds) = (vec![], vec![], vec![]);
    for xr in x.chunks(dim) {
        let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
        let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for i in 0..dim {
            y.push((xr[i] as f64 - mean) * rstd * gamma[i] as f64 + beta[i] as f64);
        }
        means.push(mean);
        rstds.push(rstd);
    }
    (y, means, rstds)
}

/// LayerNorm forward: outputs are O(1) (normalised, gamma ~1); f32 sums of
/// ≤ 1537 values keep mean/var to ~1e-6 relative, so atol 1e-5, rtol 1e-5.
/// A large common offset (1e3) checks the two-pass variance.
#[test]
fn layer_norm_forward_backward() {
    let mut rng = Rng::new(21);
    for &(rows, dim, offset) in &[
        (1, 1, 0.0),
        (3, 7, 0.0),
        (100, 384, 0.0),
        (5, 1537, 1e3),
        (2, 33, -50.0),
    ] {
        let x: Vec<f32> = rng
            .vec(rows * dim, -2.0, 2.0)
            .iter()
            .map(|v| v + offset)
            .collect();
        let gamma = rng.vec(dim, 0.5, 1.5);
        let beta = rng.vec(dim, -0.5, 0.5);
        let eps = 1e-5f32;
        let (want, wmean, wrstd) = layer_norm_ref(&x, dim, &gamma, &beta, eps as f64);
        let dy = rng.vec(rows * dim, -1.0, 1.0);
        // Backward reference in f64 from the reference stats.
        let mut wdx = vec![0.0f64; rows * dim];
        let mut wdg = vec![0.0f64; dim];
        let mut wdb = vec![0.0f64; dim];
        for r in 0..rows {
            let xhat: Vec<f64> = (0..dim)
                .map(|i| (x[r * dim + i] as f64 - wmean[r]) * wrstd[r])
                .collect();
            let g: Vec<f64> = (0..dim)
                .map(|i| dy[r * dim + i] as f64 * gamma[i] as f64)
                .collect();
            let mg = g.iter().sum::<f64>() / dim as f64;
            let mgx = g.iter().zip(&xhat).map(|(a, b)| a * b).sum::<f64>() / dim as f64;
            for i in 0..dim {
                wdx[r * dim + i] = 0.5 + wrstd[r] * (g[i] - mg - xhat[i] * mgx);
                wdg[i] += 0.25 + dy[r * dim + i] as f64 * xhat[i];
                wdb[i] += dy[r * dim + i] as f64;
            }
        }
        for_each_isa(|isa| {
            let what = format!("{isa:?} layer_norm {rows}x{dim} offset {offset}");
            let mut y = vec![f32::NAN; rows * dim];
            let (mut mean, mut rstd) = (vec![0.0; rows], vec![0.0; rows]);
            layer_norm::layer_norm(
                &x,
                dim,
                &gamma,
                &beta,
                eps,
                &mut y,
                Some((&mut mean, &mut rstd)),
            );
            // With offset 1e3, x itself carries f32 rounding of ~6e-5, which
            // the reference sees too; the kernel's error is relative to it.
            assert_close(&what, y.iter().copied(), &want, 1e-5, 1e-5);
            assert_close(&what, mean.iter().copied(), &wmean, 1e-6, 1e-6);
            assert_close(&what, rstd.iter().copied(), &wrstd, 0.0, 1e-5);
            let mut dx = vec![0.5; rows * dim];
            let mut dg = vec![0.25 * rows as f32; dim];
            let mut db = vec![0.0; dim];
            layer_norm::layer_norm_backward(
                &dy, &x, dim, &gamma, &mean, &rstd, &mut dx, &mut dg, &mut db,
            );
            // dx is rstd-scaled: with tiny variance (dim = 1) it is ~0.
            let scale = wrstd.iter().fold(1.0f64, |a, &b| a.max(b.min(1e3)));
            assert_close(
                &format!("{what} dx"),
                dx.iter().copied(),
                &wdx,
                1e-5 * scale,
                1e-4,
            );
            assert_close(
                &format!("{what} dgamma"),
                dg.iter().copied(),
                &wdg,
                1e-5 * rows as f64,
                1e-5,
            );
            assert_close(
                &format!("{what} dbeta"),
                db.iter().copied(),
                &wdb,
                1e-6 * rows as f64,
                1e-6,
            );
        });
    }
}

/// Softmax: probabilities ≤ 1, exp within 3 ulp and a sum of ≤ 1537 terms:
/// atol 1e-7, rtol 2e-6. Large logits check the max subtraction; a fully
/// masked row gives zeros; a partly masked row gives exact zeros there.
#[test]
fn softmax_forward_backward() {
    let mut rng = Rng::new(22);
    for &(rows, cols, spread) in &[
        (1, 1, 1.0),
        (3, 7, 10.0),
        (50, 384, 5.0),
        (4, 1537, 30.0),
        (2, 33, 1000.0),
    ] {
        let x = rng.vec(rows * cols, -spread, spread);
        let mut want = vec![0.0f64; rows * cols];
        for r in 0..rows {
            let xr = &x[r * cols..(r + 1) * cols];
            let max = xr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
            let s: f64 = xr.iter().map(|&v| (v as f64 - max).exp()).sum();
            for j in 0..cols {
                want[r * cols + j] = (x[r * cols + j] as f64 - max).exp() / s;
            }
        }
        let dp = rng.vec(rows * cols, -1.0, 1.0);
        let mut wdx = vec![0.0f64; rows * cols];
        for r in 0..rows {
            let dot: f64 = (0..cols)
                .map(|j| want[r * cols + j] * dp[r * cols + j] as f64)
                .sum();
            for j in 0..cols {
                wdx[r * cols + j] = 1.0 + want[r * cols + j] * (dp[r * cols + j] as f64 - dot);
            }
        }
        for_each_isa(|isa| {
            let what = format!("{isa:?} softmax {rows}x{cols}");
            let mut p = x.clone();
            softmax::softmax_rows(&mut p, cols);
            assert_close(&what, p.iter().copied(), &want, 1e-7, 2e-6);
            let mut dx = vec![1.0; rows * cols];
            softmax::softmax_rows_backward(&p, &dp, cols, &mut dx);
            assert_close(
                &format!("{what} backward"),
                dx.iter().copied(),
                &wdx,
                1e-6,
                1e-5,
            );
        });
    }
    for_each_isa(|isa| {
        let ninf = f32::NEG_INFINITY;
        let mut m = vec![ninf, 0.0, ninf, 0.0, ninf, ninf, ninf, ninf, ninf];
        softmax::softmax_rows(&mut m, 3);
        assert_eq!(
            m,
            vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "{isa:?} masked rows"
        );
    });
}
