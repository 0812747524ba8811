//! The exact GELU, `gelu(x) = x · Φ(x) = x/2 · (1 + erf(x/√2))`, and its
//! derivative `gelu'(x) = Φ(x) + x·φ(x)`.
//!
//! The kernels evaluate Φ with the fast f32 erf of [`crate::fastmath`]
//! (exact erf form, not the tanh approximation); the f64 functions here are
//! the references they are tested against.

use crate::fastmath;
use crate::isa::{self, madd, multiversion};
use crate::parallel;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// erf in double precision (Abramowitz–Stegun 7.1.26 is not enough here:
/// this uses the series for small |x| and a continued fraction for erfc).
pub fn erf64(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x; // (at zero the series' stopping test would never fire)
    }
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
            if add.abs() <= 1e-17 * sum.abs() {
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

/// gelu(x) in double precision: the reference the fast kernels are tested
/// against.
pub fn gelu_erf64(x: f64) -> f64 {
    0.5 * x * (1.0 + erf64(x * FRAC_1_SQRT_2))
}

/// d gelu / dx in double precision (reference).
pub fn gelu_erf_grad64(x: f64) -> f64 {
    let cdf = 0.5 * (1.0 + erf64(x * FRAC_1_SQRT_2));
    let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
    cdf + x * pdf
}

/// gelu(x) = x·Φ(x) in f32 on the current instruction-set path.
#[inline(always)]
fn gelu_generic<const FMA: bool>(x: f32) -> f32 {
    x * fastmath::normal_cdf::<FMA>(x)
}

/// gelu'(x) = Φ(x) + x·φ(x) in f32.
#[inline(always)]
fn gelu_grad_generic<const FMA: bool>(x: f32) -> f32 {
    madd::<FMA>(
        x,
        fastmath::normal_pdf::<FMA>(x),
        fastmath::normal_cdf::<FMA>(x),
    )
}

#[inline(always)]
fn gelu_one_generic<const FMA: bool>(x: f32) -> f32 {
    gelu_generic::<FMA>(x)
}
#[inline(always)]
fn gelu_grad_one_generic<const FMA: bool>(x: f32) -> f32 {
    gelu_grad_generic::<FMA>(x)
}
#[inline(always)]
fn gelu_slice_generic<const FMA: bool>(xs: &mut [f32]) {
    for v in xs {
        *v = gelu_generic::<FMA>(*v);
    }
}
#[inline(always)]
fn gelu_backward_generic<const FMA: bool>(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((d, &g), &xv) in dx.iter_mut().zip(dy).zip(x) {
        *d = madd::<FMA>(g, gelu_grad_generic::<FMA>(xv), *d);
    }
}

multiversion!(fn gelu_one(x: f32) -> f32 = gelu_one_generic);
multiversion!(fn gelu_grad_one(x: f32) -> f32 = gelu_grad_one_generic);
#[inline(always)]
fn gelu_rows_generic<const FMA: bool>(rows: &mut [&mut [f32]]) {
    for r in rows.iter_mut() {
        gelu_slice_generic::<FMA>(r);
    }
}

multiversion!(fn gelu_slice(xs: &mut [f32]) = gelu_slice_generic);
multiversion!(pub(crate) fn gelu_rows(rows: &mut [&mut [f32]]) = gelu_rows_generic);
multiversion!(fn gelu_backward_slice(x: &[f32], dy: &[f32], dx: &mut [f32]) = gelu_backward_generic);

/// Rows of this many elements or more are split across threads.
const PAR_CHUNK: usize = 1 << 14;

/// gelu(x) for one value (the same bits as [`gelu_erf_inplace`] gives it).
pub fn gelu_erf(x: f32) -> f32 {
    gelu_one(isa::current(), x)
}

/// d gelu / dx at x.
pub fn gelu_erf_grad(x: f32) -> f32 {
    gelu_grad_one(isa::current(), x)
}

/// Apply gelu to every element in place.
pub fn gelu_erf_inplace(xs: &mut [f32]) {
    let isa = isa::current();
    if parallel::worth_parallel_elementwise(xs.len()) {
        parallel::for_each_item(xs.chunks_mut(PAR_CHUNK).collect(), |c| gelu_slice(isa, c));
    } else {
        gelu_slice(isa, xs);
    }
}

/// `dx += dy · gelu'(x)` elementwise (backward of [`gelu_erf_inplace`]).
pub fn gelu_erf_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(x.len() == dy.len() && x.len() == dx.len());
    let isa = isa::current();
    if parallel::worth_parallel_elementwise(x.len()) {
        let parts = dx
            .chunks_mut(PAR_CHUNK)
            .zip(x.chunks(PAR_CHUNK).zip(dy.chunks(PAR_CHUNK)));
        parallel::for_each_item(parts.collect(), |(d, (xc, g))| {
            gelu_backward_slice(isa, xc, g, d)
        });
    } else {
        gelu_backward_slice(isa, x, dy, dx);
    }
}
