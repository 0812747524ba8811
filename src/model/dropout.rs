//! Inverted dropout with a replayable mask.
//!
//! The mask is never stored: element `i` of a dropout site is kept when a
//! counter-based hash of `(seed, i)` clears the drop probability, so the
//! backward pass replays exactly the forward's mask from the seed alone, any
//! slice of the site can be masked on any thread, and the result does not
//! depend on the thread count. Kept values are scaled by `1/(1−p)`, as
//! `torch.nn.Dropout` does in training mode.

use minilm_kernels::splitmix;

/// One dropout site of one training step: a probability and a seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// Probability of zeroing an element, in `[0, 1)`.
    pub p: f32,
    /// Seed of this site's mask (draw a fresh one per site and step).
    pub seed: u64,
}

impl Dropout {
    /// A site with drop probability `p` and mask seed `seed`.
    pub fn new(p: f32, seed: u64) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "dropout probability {p} is not in [0, 1)"
        );
        Dropout { p, seed }
    }

    /// True when element `i` of the site survives.
    #[inline]
    pub fn keep(&self, i: usize) -> bool {
        // Output i + 1 of the SplitMix64 sequence seeded by the site's seed: a
        // full-period, well-mixed hash; its top 24 bits give a uniform in [0, 1).
        splitmix::unit_f32(splitmix::at(self.seed, (i as u64).wrapping_add(1))) >= self.p
    }

    /// `x[j] ← mask(offset + j) · x[j] / (1 − p)`: elements `offset..` of the site.
    pub fn forward(&self, x: &mut [f32], offset: usize) {
        if self.p == 0.0 {
            return;
        }
        let scale = 1.0 / (1.0 - self.p);
        for (j, v) in x.iter_mut().enumerate() {
            *v = if self.keep(offset + j) {
                *v * scale
            } else {
                0.0
            };
        }
    }

    /// Backward of [`Dropout::forward`], in place on the gradient: the same
    /// mask and scale (the map is linear and diagonal).
    pub fn backward(&self, dy: &mut [f32], offset: usize) {
        self.forward(dy, offset);
    }
}

/// Apply `d` when present (evaluation mode passes `None`).
pub fn maybe_forward(d: Option<&Dropout>, x: &mut [f32], offset: usize) {
    if let Some(d) = d {
        d.forward(x, offset);
    }
}

/// Backward of [`maybe_forward`].
pub fn maybe_backward(d: Option<&Dropout>, dy: &mut [f32], offset: usize) {
    if let Some(d) = d {
        d.backward(dy, offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_rate_and_scale() {
        let d = Dropout::new(0.1, 42);
        let mut x = vec![1.0f32; 100_000];
        d.forward(&mut x, 0);
        let zeros = x.iter().filter(|&&v| v == 0.0).count() as f64 / x.len() as f64;
        assert!((zeros - 0.1).abs() < 0.005, "drop rate {zeros}");
        assert!(x.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
        // Masking a slice at an offset replays the same elements.
        let mut y = vec![1.0f32; 10];
        d.forward(&mut y, 500);
        assert_eq!(&y[..], &x[500..510]);
        // Another seed, another mask.
        let mut z = vec![1.0f32; 1000];
        Dropout::new(0.1, 43).forward(&mut z, 0);
        assert_ne!(&z[..], &x[..1000]);
    }
}
