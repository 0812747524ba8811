//! Task heads: one linear classifier per task on the pooled sentence
//! embedding, `logits = pooled·Wᵀ + b`, stored as `head_a.*` / `head_b.*`.

use super::linear::{Linear, LinearGrad};
use crate::weights::{ParamStore, Tensor};
use minilm_kernels::Epilogue;

/// A linear classifier with its task's name and class names.
#[derive(Clone, Debug)]
pub struct Head {
    /// Tensor prefix in the parameter store (`head_a`, `head_b`).
    pub prefix: String,
    /// The task's name (e.g. `topic`).
    pub task_name: String,
    /// Class names, in logit order.
    pub classes: Vec<String>,
    /// `{prefix}.weight: [classes, hidden]`, `{prefix}.bias: [classes]`.
    pub linear: Linear,
}

impl Head {
    /// Load `{prefix}.weight` and `{prefix}.bias` from `store`.
    pub fn from_store(
        store: &ParamStore,
        prefix: &str,
        task_name: &str,
        classes: &[String],
    ) -> Self {
        Head {
            prefix: prefix.to_string(),
            task_name: task_name.to_string(),
            classes: classes.to_vec(),
            linear: Linear::from_store(store, prefix),
        }
    }

    /// Initial parameters as `torch.nn.Linear` draws them: weight and bias
    /// uniform in `±1/√hidden`, from `next_u64` (any seeded generator).
    pub fn init_params(
        classes: usize,
        hidden: usize,
        mut next_u64: impl FnMut() -> u64,
    ) -> (Tensor, Tensor) {
        let bound = 1.0 / (hidden as f64).sqrt();
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    let u = (next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    ((2.0 * u - 1.0) * bound) as f32
                })
                .collect()
        };
        let w = draw(classes * hidden);
        let b = draw(classes);
        (
            Tensor {
                shape: vec![classes, hidden],
                data: w,
            },
            Tensor {
                shape: vec![classes],
                data: b,
            },
        )
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.linear.out_features()
    }

    /// `logits: [rows, classes]` of `pooled: [rows, hidden]`.
    pub fn forward(&self, pooled: &[f32], rows: usize) -> Vec<f32> {
        let mut logits = vec![0.0; rows * self.num_classes()];
        self.linear
            .forward(pooled, rows, Epilogue::None, &mut logits);
        logits
    }

    /// Backward: `dpooled += dlogits·W` when given; `grad` (a trainable head)
    /// accumulates dW and db.
    pub fn backward(
        &self,
        pooled: &[f32],
        dlogits: &[f32],
        rows: usize,
        dpooled: Option<&mut [f32]>,
        grad: Option<LinearGrad<'_>>,
    ) {
        let mut grads: Vec<LinearGrad<'_>> = grad.into_iter().collect();
        self.linear
            .backward(pooled, dlogits, rows, dpooled, &mut grads);
    }
}
