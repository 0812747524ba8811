//! The exact GELU, `gelu(x) = x · Φ(x) = x/2 · (1 + erf(x/√2))`, and its
//! derivative `gelu'(x) = Φ(x) + x·φ(x)`.

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// erf in double precision (Abramowitz–Stegun 7.1.26 is not enough here:
/// this uses the series for small |x| and a continued fraction for erfc).
pub fn erf64(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 2.5 {
        // erf(x) = 2/√π · Σ (-1)^n x^(2n+1) / (n! (2n+1))
        let x2 = ax * ax;
        let mut term = ax;
        let mut sum = ax;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if ax < 6.0 {
        // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) (Lentz)
        let mut f = ax;
        let tiny = 1e-300;
        let mut c = ax;
        let mut d = 0.0;
        for i in 1..200 {
            let an = i as f64 / 2.0;
            d = ax + an * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = ax + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - (-ax * ax).exp() / (f * std::f64::consts::PI.sqrt())
    } else {
        1.0
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// gelu(x) for one value.
pub fn gelu_erf(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + erf64(x * FRAC_1_SQRT_2))) as f32
}

/// d gelu / dx at x.
pub fn gelu_erf_grad(x: f32) -> f32 {
    let x = x as f64;
    let cdf = 0.5 * (1.0 + erf64(x * FRAC_1_SQRT_2));
    let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
    (cdf + x * pdf) as f32
}

/// Apply gelu to every element in place.
pub fn gelu_erf_inplace(xs: &mut [f32]) {
    for v in xs {
        *v = gelu_erf(*v);
    }
}

/// `dx += dy · gelu'(x)` elementwise (backward of [`gelu_erf_inplace`]).
pub fn gelu_erf_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(x.len() == dy.len() && x.len() == dx.len());
    for ((d, &g), &xv) in dx.iter_mut().zip(dy).zip(x) {
        *d += g * gelu_erf_grad(xv);
    }
}
