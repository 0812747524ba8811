//! Learning-rate schedule: linear warm-up, then linear decay to zero.

/// Multiplier of the base learning rate at optimizer step `step` (0-based)
/// of `total`, with `warmup` warm-up steps: `(step+1)/warmup` during the
/// warm-up (so the first step already moves), then falling linearly to reach
/// 0 after the last step.
pub fn linear_warmup_decay(step: usize, total: usize, warmup: usize) -> f32 {
    if step < warmup {
        return (step + 1) as f32 / warmup as f32;
    }
    let rest = total.saturating_sub(warmup).max(1);
    (total.saturating_sub(step) as f32 / rest as f32).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        let f: Vec<f32> = (0..6).map(|s| linear_warmup_decay(s, 6, 2)).collect();
        assert_eq!(f, vec![0.5, 1.0, 1.0, 0.75, 0.5, 0.25]);
        assert_eq!(linear_warmup_decay(0, 3, 0), 1.0);
        assert_eq!(linear_warmup_decay(9, 3, 0), 0.0);
    }
}
