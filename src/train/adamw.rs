//! AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as
//! `torch.optim.AdamW` computes it. Biases and LayerNorm parameters get no
//! weight decay.

use super::grads::Grads;
use crate::error::{Error, Result};
use crate::weights::{ParamStore, Tensor};

/// Hyper-parameters of [`AdamW`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWConfig {
    /// First-moment decay (0.9).
    pub beta1: f32,
    /// Second-moment decay (0.999).
    pub beta2: f32,
    /// Added to the denominator (1e-8).
    pub eps: f32,
    /// Decoupled weight decay (0.01), applied as `p ← p − lr·wd·p`.
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// True for tensors that get weight decay: weights of dense layers and
/// heads, not biases or LayerNorm scales and shifts.
pub fn decays(name: &str) -> bool {
    !(name.ends_with(".bias") || name.contains("LayerNorm"))
}

/// Optimizer state: the step count and both moments of every trained tensor.
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamWConfig,
    step: u64,
    m: ParamStore,
    v: ParamStore,
}

impl AdamW {
    /// Fresh state (zero moments) for the tensors in `grads`.
    pub fn new(config: AdamWConfig, grads: &Grads) -> Self {
        let mut m = ParamStore::default();
        for (name, g) in grads.iter() {
            m.insert(name, Tensor::zeros(&g.shape));
        }
        AdamW {
            config,
            step: 0,
            v: m.clone(),
            m,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every tensor in `grads`; `lr(name)` is the learning rate
    /// of that tensor for this step (schedules and per-group rates are the
    /// caller's).
    pub fn step(
        &mut self,
        params: &mut ParamStore,
        grads: &Grads,
        lr: impl Fn(&str) -> f32,
    ) -> Result<()> {
        self.step += 1;
        let c = &self.config;
        for (name, g) in grads.iter() {
            let p = params
                .get_mut(name)
                .ok_or_else(|| Error::msg(format!("AdamW: no parameter {name}")))?;
            let m = self
                .m
                .get_mut(name)
                .ok_or_else(|| Error::msg(format!("AdamW: no state for {name}")))?;
            let v = self.v.get_mut(name).expect("m and v hold the same names");
            let wd = if decays(name) { c.weight_decay } else { 0.0 };
            update(
                c,
                self.step,
                lr(name),
                wd,
                &mut p.data,
                &g.data,
                &mut m.data,
                &mut v.data,
            );
        }
        Ok(())
    }

    /// The state as tensors (`adamw.m/<name>`, `adamw.v/<name>`, `adamw.step`),
    /// for a checkpoint that training can resume from.
    pub fn to_store(&self) -> ParamStore {
        let mut s = ParamStore::default();
        for (n, t) in self.m.iter() {
            s.insert(format!("adamw.m/{n}"), t.clone());
        }
        for (n, t) in self.v.iter() {
            s.insert(format!("adamw.v/{n}"), t.clone());
        }
        // The step count as an exact f32 pair (high and low 24 bits).
        let hi = (self.step >> 24) as f32;
        let lo = (self.step & 0xff_ffff) as f32;
        s.insert(
            "adamw.step",
            Tensor {
                shape: vec![2],
                data: vec![hi, lo],
            },
        );
        s
    }

    /// Restore the state written by [`AdamW::to_store`]; every tensor of
    /// `grads` must have its moments there.
    pub fn from_store(config: AdamWConfig, grads: &Grads, store: &ParamStore) -> Result<Self> {
        let mut a = AdamW::new(config, grads);
        let step = store
            .try_get("adamw.step")
            .ok_or_else(|| Error::msg("optimizer state has no adamw.step"))?;
        if step.data.len() != 2 {
            return Err(Error::msg("optimizer state: adamw.step must hold 2 values"));
        }
        a.step = ((step.data[0] as u64) << 24) | step.data[1] as u64;
        for (name, g) in grads.iter() {
            for (kind, dst) in [("m", &mut a.m), ("v", &mut a.v)] {
                let key = format!("adamw.{kind}/{name}");
                let t = store
                    .try_get(&key)
                    .ok_or_else(|| Error::msg(format!("optimizer state has no {key}")))?;
                if t.shape != g.shape {
                    return Err(Error::msg(format!(
                        "optimizer state {key}: shape {:?}, expected {:?}",
                        t.shape, g.shape
                    )));
                }
                dst.insert(name, t.clone());
            }
        }
        Ok(a)
    }
}

/// The AdamW update of one tensor at step `t` (1-based), in place:
/// `p ← p·(1 − lr·wd) − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps)`.
#[allow(clippy::too_many_arguments)]
pub fn update(
    c: &AdamWConfig,
    t: u64,
    lr: f32,
    wd: f32,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
) {
    let bc1 = 1.0 - (c.beta1 as f64).powi(t as i32);
    let bc2_sqrt = (1.0 - (c.beta2 as f64).powi(t as i32)).sqrt();
    let (lr, wd) = (lr as f64, wd as f64);
    let step_size = lr / bc1;
    for i in 0..p.len() {
        let gi = g[i];
        m[i] = c.beta1 * m[i] + (1.0 - c.beta1) * gi;
        v[i] = c.beta2 * v[i] + (1.0 - c.beta2) * gi * gi;
        let denom = (v[i] as f64).sqrt() / bc2_sqrt + c.eps as f64;
        p[i] = ((p[i] as f64) * (1.0 - lr * wd) - step_size * m[i] as f64 / denom) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_groups() {
        assert!(decays("encoder.layer.4.attention.self.query.weight"));
        assert!(decays("head_a.weight"));
        assert!(!decays("head_a.bias"));
        assert!(!decays("encoder.layer.5.output.LayerNorm.weight"));
    }

    /// Two steps on one tensor against values worked out by hand with
    /// torch.optim.AdamW's update rule (lr 0.1, wd 0.5, betas 0.9/0.999).
    #[test]
    fn matches_the_torch_update_rule() {
        let c = AdamWConfig::default();
        let (mut p, g) = (vec![1.0f32, -2.0], vec![0.5f32, -0.25]);
        let (mut m, mut v) = (vec![0.0; 2], vec![0.0; 2]);
        // Step 1: p·(1 − 0.05) − 0.1·sign(g) (bias-corrected m/√v = ±1, up to eps).
        update(&c, 1, 0.1, 0.5, &mut p, &g, &mut m, &mut v);
        assert!((p[0] - (0.95 - 0.1)).abs() < 1e-6, "{p:?}");
        assert!((p[1] - (-1.9 + 0.1)).abs() < 1e-6, "{p:?}");
        // Step 2 with the same gradient: m̂/√v̂ is again ±1.
        update(&c, 2, 0.1, 0.5, &mut p, &g, &mut m, &mut v);
        assert!((p[0] - (0.85 * 0.95 - 0.1)).abs() < 1e-6, "{p:?}");
        // m after two steps: 0.1·g·(1 + 0.9) = 0.095.
        assert!((m[0] - 0.095).abs() < 1e-7);
    }
}
