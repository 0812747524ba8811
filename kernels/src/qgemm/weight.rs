//! [`QuantWeight`]: an int8 weight, symmetric per output channel, packed
//! in k-quad panels for the current path's microkernel.

use super::dispatch::{self, QKernel, QPath};
use crate::isa;

/// Largest depth: the zero-point-corrected sum `Σ_p (qx − zx)·qw` must fit
/// an i32 (|term| ≤ 255·128, so k ≤ 2³¹ / 32640 = 65793).
pub const MAX_K: usize = 1 << 16;

/// A weight `W: [n, k]` (PyTorch `[out, in]`) quantized to int8 with one
/// scale per output channel, packed for the current path's microkernel
/// (see the module docs for the layout), with each channel's Σ_p qw[j, p]
/// precomputed for the zero-point correction.
#[derive(Clone, Debug)]
pub struct QuantWeight {
    n: usize,
    k: usize,
    path: QPath,
    /// Panels of NR channels × ceil(k/4) quads × 4 bytes.
    data: Vec<i8>,
    /// Channel scales, zero-padded to whole panels.
    scales: Vec<f32>,
    /// Channel sums Σ_p qw[j, p], zero-padded to whole panels.
    colsum: Vec<i32>,
}

impl QuantWeight {
    /// Quantize `w: [n, k]` row-major: `scale_j = max_p |w[j, p]| / 127`
    /// (an all-zero row gets scale 1.0 and q = 0; a row holding a NaN or an
    /// infinity gets scale NaN and q = 0, so its outputs are NaN), and
    /// `q = round-half-to-even(w / scale_j)`, in [-127, 127].
    ///
    /// Panics when `w.len() != n·k` or `k > MAX_K` (programming errors).
    pub fn quantize(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(
            w.len(),
            n * k,
            "QuantWeight::quantize: expected {n}x{k} elements, got {}",
            w.len()
        );
        let mut q = vec![0i8; n * k];
        let mut scales = vec![0.0f32; n];
        for (j, (row, qr)) in w
            .chunks_exact(k.max(1))
            .zip(q.chunks_exact_mut(k.max(1)))
            .enumerate()
            .take(n)
        {
            scales[j] = quantize_channel(row, qr);
        }
        Self::from_quantized(&q, &scales, n, k)
    }

    /// From stored int8 values `q: [n, k]` row-major and per-channel scales
    /// `[n]` (a model folder written by `convert --to int8`). Values may use
    /// the full i8 range.
    ///
    /// Panics with a message naming the lengths when `q.len() != n·k` or
    /// `scales.len() != n`, or when `k > MAX_K`: the caller (the model
    /// loader) checks tensor shapes first, so this is a programming error.
    pub fn from_quantized(q: &[i8], scales: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(
            q.len(),
            n * k,
            "QuantWeight::from_quantized: {} int8 values for a [{n}, {k}] weight (want {})",
            q.len(),
            n * k
        );
        assert_eq!(
            scales.len(),
            n,
            "QuantWeight::from_quantized: {} scales for {n} output channels",
            scales.len()
        );
        assert!(k <= MAX_K, "QuantWeight: depth {k} exceeds MAX_K = {MAX_K}");
        Self::pack_for(dispatch::kernel(isa::current()), q, scales, n, k)
    }

    pub(crate) fn pack_for(kern: &QKernel, q: &[i8], scales: &[f32], n: usize, k: usize) -> Self {
        let nr = kern.nr;
        let kq = k.div_ceil(4);
        let n_pad = n.div_ceil(nr) * nr;
        let mut data = vec![0i8; n_pad * kq * 4];
        let mut colsum = vec![0i32; n_pad];
        for j in 0..n {
            let panel = (j / nr) * nr * kq * 4;
            let row = &q[j * k..(j + 1) * k];
            for (p, &v) in row.iter().enumerate() {
                data[panel + (p / 4) * 4 * nr + (j % nr) * 4 + p % 4] = v;
            }
            colsum[j] = row.iter().map(|&v| v as i32).sum();
        }
        let mut s = scales.to_vec();
        s.resize(n_pad, 0.0);
        QuantWeight {
            n,
            k,
            path: kern.path,
            data,
            scales: s,
            colsum,
        }
    }

    /// Output channels.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Back to (`[n, k]` int8 row-major, `[n]` scales), for saving.
    pub fn quantized(&self) -> (Vec<i8>, Vec<f32>) {
        let nr = dispatch::by_path(self.path).nr;
        let (k, kq) = (self.k, self.k.div_ceil(4));
        let mut q = vec![0i8; self.n * k];
        for j in 0..self.n {
            let panel = (j / nr) * nr * kq * 4;
            for p in 0..k {
                q[j * k + p] = self.data[panel + (p / 4) * 4 * nr + (j % nr) * 4 + p % 4];
            }
        }
        (q, self.scales[..self.n].to_vec())
    }

    /// The dequantized weight `q · scale`, `[n, k]` row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let (q, s) = self.quantized();
        q.iter()
            .enumerate()
            .map(|(e, &v)| v as f32 * s[e / self.k.max(1)])
            .collect()
    }

    /// This weight packed for `kern` (itself when it already is).
    pub(crate) fn for_kernel(&self, kern: &QKernel) -> std::borrow::Cow<'_, QuantWeight> {
        if kern.path == self.path {
            std::borrow::Cow::Borrowed(self)
        } else {
            let (q, s) = self.quantized();
            std::borrow::Cow::Owned(Self::pack_for(kern, &q, &s, self.n, self.k))
        }
    }

    /// Packed panels (see the module docs).
    pub(crate) fn data(&self) -> &[i8] {
        &self.data
    }
    /// Channel scales, padded to whole panels.
    pub(crate) fn scales(&self) -> &[f32] {
        &self.scales
    }
    /// Channel sums, padded to whole panels.
    pub(crate) fn colsum(&self) -> &[i32] {
        &self.colsum
    }
}

/// Quantize one channel into `q`; returns its scale.
fn quantize_channel(row: &[f32], q: &mut [i8]) -> f32 {
    if row.iter().any(|v| !v.is_finite()) {
        q.fill(0);
        return f32::NAN;
    }
    let amax = row.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    if amax == 0.0 {
        q.fill(0);
        return 1.0;
    }
    let scale = amax / 127.0;
    if scale == 0.0 {
        // |w| < 127 · 2⁻¹⁴⁹: nothing an int8 weight can tell from zero.
        q.fill(0);
        return 1.0;
    }
    for (d, &v) in q.iter_mut().zip(row) {
        *d = (v / scale).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    scale
}
