//! LayerNorm over the last dimension:
//! `y = (x − mean) · rstd · gamma + beta`, `rstd = 1/√(var + eps)` with the
//! biased variance, as PyTorch computes it.

/// Normalise each row of `x: [rows, dim]` into `out`. When `stats` is given,
/// the per-row mean and rstd are written there for the backward pass.
pub fn layer_norm(
    x: &[f32],
    dim: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    out: &mut [f32],
    mut stats: Option<(&mut [f32], &mut [f32])>,
) {
    assert_eq!(x.len(), out.len());
    assert!(dim > 0 && x.len() % dim == 0);
    assert!(gamma.len() == dim && beta.len() == dim);
    for (r, (xr, yr)) in x.chunks(dim).zip(out.chunks_mut(dim)).enumerate() {
        let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
        let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
        let rstd = 1.0 / (var + eps as f64).sqrt();
        for i in 0..dim {
            yr[i] = (((xr[i] as f64 - mean) * rstd) as f32) * gamma[i] + beta[i];
        }
        if let Some((m, s)) = stats.as_mut() {
            m[r] = mean as f32;
            s[r] = rstd as f32;
        }
    }
}

/// Backward of [`layer_norm`]: accumulates into `dx`, `dgamma`, `dbeta`.
///
/// With `xhat = (x − mean)·rstd` and `g = dy·gamma`:
/// `dx = rstd · (g − mean(g) − xhat · mean(g·xhat))`.
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
    for (r, ((dyr, xr), dxr)) in dy.chunks(dim).zip(x.chunks(dim)).zip(dx.chunks_mut(dim)).enumerate() {
        let (mu, rs) = (mean[r], rstd[r]);
        let mut mean_g = 0.0f64;
        let mut mean_gx = 0.0f64;
        for i in 0..dim {
            let xhat = (xr[i] - mu) * rs;
            let g = dyr[i] * gamma[i];
            mean_g += g as f64;
            mean_gx += (g * xhat) as f64;
            dgamma[i] += dyr[i] * xhat;
            dbeta[i] += dyr[i];
        }
        let mean_g = (mean_g / dim as f64) as f32;
        let mean_gx = (mean_gx / dim as f64) as f32;
        for i in 0..dim {
            let xhat = (xr[i] - mu) * rs;
            let g = dyr[i] * gamma[i];
            dxr[i] += rs * (g - mean_g - xhat * mean_gx);
        }
    }
}
