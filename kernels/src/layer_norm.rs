//! LayerNorm over the last dimension:
//! `y = (x − mean) · rstd · gamma + beta`, `rstd = 1/√(var + eps)` with the
//! biased variance, as PyTorch computes it. Statistics by the corrected
//! two-pass method, so a large common offset cannot cancel the variance
//! away; lane-wise f32 sums vectorise.

use crate::isa::{self, madd, multiversion};
use crate::lanes;
use crate::parallel;

#[inline(always)]
fn ln_rows_generic<const FMA: bool>(
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    mut stats: Option<(&mut [f32], &mut [f32])>,
) {
    let inv_dim = 1.0 / dim as f32;
    for (r, (xr, yr)) in x
        .chunks_exact(dim)
        .zip(out.chunks_exact_mut(dim))
        .enumerate()
    {
        // Corrected two-pass (Chan, Golub & LeVeque 1983): a rough mean m1,
        // then the residual mean d and the variance from x − m1, which is
        // exact for x near m1, so a large common offset costs no accuracy.
        let m1 = lanes::sum_map(xr, |v| v) * inv_dim;
        let (d, sq) = lanes::sum_map2(
            xr,
            |v| v - m1,
            |v| {
                let c = v - m1;
                c * c
            },
        );
        let d = d * inv_dim;
        let var = (sq * inv_dim - d * d).max(0.0);
        let rstd = 1.0 / (var + eps).sqrt();
        for (((y, &x), &g), &b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
            *y = madd::<FMA>(((x - m1) - d) * rstd, g, b);
        }
        let mean = m1 + d;
        if let Some((m, s)) = stats.as_mut() {
            m[r] = mean;
            s[r] = rstd;
        }
    }
}

multiversion!(fn ln_rows(
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    stats: Option<(&mut [f32], &mut [f32])>,
) = ln_rows_generic);

/// Normalise each row of `x: [rows, dim]` into `out`. When `stats` is given,
/// the per-row mean and rstd are written there for the backward pass.
pub fn layer_norm(
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    stats: Option<(&mut [f32], &mut [f32])>,
) {
    assert_eq!(x.len(), out.len());
    assert!(dim > 0 && x.len().is_multiple_of(dim));
    assert!(gamma.len() == dim && beta.len() == dim);
    let rows = x.len() / dim;
    if let Some((m, s)) = &stats {
        assert!(
            m.len() >= rows && s.len() >= rows,
            "layer_norm: stats shorter than {rows} rows"
        );
    }
    let isa = isa::current();
    if !parallel::worth_parallel_elementwise(x.len()) || rows < 2 {
        ln_rows(isa, x, dim, gamma, beta, eps, out, stats);
        return;
    }
    // Whole rows per task: each row's result does not depend on the split.
    let rows_per = rows.div_ceil(parallel::threads_here() * 4).max(1);
    let chunk = rows_per * dim;
    let parts = x.chunks(chunk).zip(out.chunks_mut(chunk));
    match stats {
        Some((m, s)) => {
            let stats = m[..rows]
                .chunks_mut(rows_per)
                .zip(s[..rows].chunks_mut(rows_per));
            parallel::for_each_item(parts.zip(stats).collect(), |((xc, yc), (mc, sc))| {
                ln_rows(isa, xc, dim, gamma, beta, eps, yc, Some((mc, sc)))
            })
        }
        None => parallel::for_each_item(parts.collect(), |(xc, yc)| {
            ln_rows(isa, xc, dim, gamma, beta, eps, yc, None)
        }),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ln_backward_generic<const FMA: bool>(
    dy: &[f32],
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    mean: &[f32],
    rstd: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let inv_dim = 1.0 / dim as f32;
    let rows = x.len() / dim;
    for r in 0..rows {
        let (dyr, xr) = (&dy[r * dim..(r + 1) * dim], &x[r * dim..(r + 1) * dim]);
        let dxr = &mut dx[r * dim..(r + 1) * dim];
        let (mu, rs) = (mean[r], rstd[r]);
        let mean_g = lanes::sum_by(dim, |i| dyr[i] * gamma[i]) * inv_dim;
        let mean_gx = lanes::sum_by(dim, |i| dyr[i] * gamma[i] * ((xr[i] - mu) * rs)) * inv_dim;
        for i in 0..dim {
            let xhat = (xr[i] - mu) * rs;
            let g = dyr[i] * gamma[i];
            dgamma[i] = madd::<FMA>(dyr[i], xhat, dgamma[i]);
            dbeta[i] += dyr[i];
            dxr[i] = madd::<FMA>(rs, g - mean_g - xhat * mean_gx, dxr[i]);
        }
    }
}

multiversion!(#[allow(clippy::too_many_arguments)] fn ln_backward(
    dy: &[f32],
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    mean: &[f32],
    rstd: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) = ln_backward_generic);

/// Backward of [`layer_norm`]: accumulates into `dx`, `dgamma`, `dbeta`.
///
/// With `xhat = (x − mean)·rstd` and `g = dy·gamma`:
/// `dx = rstd · (g − mean(g) − xhat · mean(g·xhat))`. Serial over rows
/// because every row adds into `dgamma` and `dbeta`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    dy: &[f32],
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    mean: &[f32],
    rstd: &[f32],
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    assert!(dy.len() == x.len() && dx.len() == x.len());
    assert!(dim > 0 && x.len().is_multiple_of(dim));
    let rows = x.len() / dim;
    assert!(gamma.len() == dim && dgamma.len() == dim && dbeta.len() == dim);
    assert!(mean.len() >= rows && rstd.len() >= rows);
    ln_backward(
        isa::current(),
        dy,
        x,
        dim,
        gamma,
        mean,
        rstd,
        dx,
        dgamma,
        dbeta,
    );
}
