//! Lane-wise reductions: a row is summed in `LANES` interleaved partial sums
//! and the partials are combined in a fixed tree, so the compiler can keep
//! the partials in one vector register (a plain `iter().sum()` is a serial
//! dependency chain it may not reorder). The order depends only on the row
//! length, never on where the row sits.

use crate::isa::madd;

/// Partial sums per reduction: one AVX-512 register of f32.
pub(crate) const LANES: usize = 16;

/// Combine the partials pairwise (fixed order).
#[inline(always)]
fn tree(mut acc: [f32; LANES]) -> f32 {
    let mut w = LANES / 2;
    while w > 0 {
        for l in 0..w {
            acc[l] += acc[l + w];
        }
        w /= 2;
    }
    acc[0]
}

/// Σ f(i) for i < n, lane-wise.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane-indexed on purpose (see module doc)
pub(crate) fn sum_by(n: usize, f: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let full = n / LANES * LANES;
    let mut i = 0;
    while i < full {
        for l in 0..LANES {
            acc[l] += f(i + l);
        }
        i += LANES;
    }
    for l in 0..n - full {
        acc[l] += f(full + l);
    }
    tree(acc)
}

/// Σ f(x) over a slice, lane-wise: the same order as [`sum_by`] with
/// `|i| f(xs[i])`, written over whole blocks so it vectorises.
#[inline(always)]
pub(crate) fn sum_map(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        let c: &[f32; LANES] = c.try_into().expect("LANES floats");
        for l in 0..LANES {
            acc[l] += f(c[l]);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    tree(acc)
}

/// Two sums at once, `(Σ f(x), Σ g(x))`, each in the order of [`sum_map`]:
/// one pass over the row instead of two.
#[inline(always)]
pub(crate) fn sum_map2(xs: &[f32], f: impl Fn(f32) -> f32, g: impl Fn(f32) -> f32) -> (f32, f32) {
    let mut a = [0.0f32; LANES];
    let mut b = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        let c: &[f32; LANES] = c.try_into().expect("LANES floats");
        for l in 0..LANES {
            a[l] += f(c[l]);
            b[l] += g(c[l]);
        }
    }
    for ((x, y), &v) in a.iter_mut().zip(b.iter_mut()).zip(chunks.remainder()) {
        *x += f(v);
        *y += g(v);
    }
    (tree(a), tree(b))
}

/// Σ a[i]·b[i], lane-wise with fused multiply-adds when `FMA`.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
pub(crate) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let full = n / LANES * LANES;
    let mut i = 0;
    while i < full {
        for l in 0..LANES {
            acc[l] = madd::<FMA>(a[i + l], b[i + l], acc[l]);
        }
        i += LANES;
    }
    for l in 0..n - full {
        acc[l] = madd::<FMA>(a[full + l], b[full + l], acc[l]);
    }
    tree(acc)
}

/// max over a non-empty row, lane-wise (max is exact, so order is moot).
#[inline(always)]
pub(crate) fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        let c: &[f32; LANES] = c.try_into().expect("LANES floats");
        for l in 0..LANES {
            acc[l] = if c[l] > acc[l] { c[l] } else { acc[l] };
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a = if v > *a { v } else { *a };
    }
    acc.into_iter()
        .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m })
}
