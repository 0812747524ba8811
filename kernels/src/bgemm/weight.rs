//! [`Bf16Weight`]: a bfloat16 weight packed in k-pair panels for the
//! current path's microkernel.

use super::dispatch::{self, BKernel, BPath};
use crate::convert::scalar;
use crate::isa;

/// A weight `W: [n, k]` (PyTorch `[out, in]`) in bfloat16, packed for the
/// current path's microkernel (see the module docs for the layout).
#[derive(Clone, Debug)]
pub struct Bf16Weight {
    n: usize,
    k: usize,
    path: BPath,
    /// Panels of NR channels × ceil(k/2) pairs × 2 bf16.
    data: Vec<u16>,
}

impl Bf16Weight {
    /// Round `w: [n, k]` row-major to bf16 (nearest, ties to even; the
    /// scalar conversion of [`crate::convert::scalar`], so subnormals are
    /// kept). Panics when `w.len() != n·k`.
    pub fn new(w: &[f32], n: usize, k: usize) -> Self {
        assert_eq!(
            w.len(),
            n * k,
            "Bf16Weight::new: expected {n}x{k} elements, got {}",
            w.len()
        );
        let bits: Vec<u16> = w.iter().map(|&v| scalar::f32_to_bf16(v)).collect();
        Self::from_bf16(&bits, n, k)
    }

    /// From bf16 bits `[n, k]` row-major (a bf16 model folder). Panics when
    /// `bits.len() != n·k` (a programming error: the loader checks shapes).
    pub fn from_bf16(bits: &[u16], n: usize, k: usize) -> Self {
        assert_eq!(
            bits.len(),
            n * k,
            "Bf16Weight::from_bf16: {} values for a [{n}, {k}] weight (want {})",
            bits.len(),
            n * k
        );
        Self::pack_for(dispatch::kernel(isa::current()), bits, n, k)
    }

    fn pack_for(kern: &BKernel, bits: &[u16], n: usize, k: usize) -> Self {
        let nr = kern.nr;
        let kp = k.div_ceil(2);
        let mut data = vec![0u16; n.div_ceil(nr) * nr * kp * 2];
        for j in 0..n {
            let panel = (j / nr) * nr * kp * 2;
            for (p, &v) in bits[j * k..(j + 1) * k].iter().enumerate() {
                data[panel + (p / 2) * 2 * nr + (j % nr) * 2 + p % 2] = v;
            }
        }
        Bf16Weight {
            n,
            k,
            path: kern.path,
            data,
        }
    }

    /// Output features.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Input features.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The bf16 bits back in `[n, k]` row-major order.
    pub fn to_bf16(&self) -> Vec<u16> {
        let nr = dispatch::by_path(self.path).nr;
        let (k, kp) = (self.k, self.k.div_ceil(2));
        let mut bits = vec![0u16; self.n * k];
        for j in 0..self.n {
            let panel = (j / nr) * nr * kp * 2;
            for p in 0..k {
                bits[j * k + p] = self.data[panel + (p / 2) * 2 * nr + (j % nr) * 2 + p % 2];
            }
        }
        bits
    }

    /// The weight widened to f32 (exact), `[n, k]` row-major.
    pub fn to_f32(&self) -> Vec<f32> {
        self.to_bf16()
            .into_iter()
            .map(scalar::bf16_to_f32)
            .collect()
    }

    /// This weight packed for `kern` (itself when it already is).
    pub(crate) fn for_kernel(&self, kern: &BKernel) -> std::borrow::Cow<'_, Bf16Weight> {
        if kern.path == self.path {
            std::borrow::Cow::Borrowed(self)
        } else {
            std::borrow::Cow::Owned(Self::pack_for(kern, &self.to_bf16(), self.n, self.k))
        }
    }

    /// Packed panels (see the module docs).
    pub(crate) fn data(&self) -> &[u16] {
        &self.data
    }
}
