//! A dense layer `y = x·Wᵀ + b` with W in PyTorch's `[out, in]` layout.

use crate::weights::ParamStore;
use minilm_kernels::{linear, Epilogue, PackedWeight};
#[cfg(feature = "train")]
use minilm_kernels::{matmul, MatMut, MatRef};

/// A dense layer with its weight packed for the matrix kernel.
#[derive(Clone, Debug)]
pub struct Linear {
    /// The weight, packed once.
    pub weight: PackedWeight,
    /// The bias, `[out]`.
    pub bias: Vec<f32>,
}

impl Linear {
    /// Load `{prefix}.weight` and `{prefix}.bias`.
    pub fn from_store(store: &ParamStore, prefix: &str) -> Self {
        Self::fused(store, &[prefix])
    }

    /// Several layers reading the same input, stacked along their outputs
    /// (e.g. query, key and value as one `[3·hidden, hidden]` product).
    pub fn fused(store: &ParamStore, prefixes: &[&str]) -> Self {
        let mut w = Vec::new();
        let mut bias = Vec::new();
        let mut k = 0;
        for p in prefixes {
            let t = store.get(&format!("{p}.weight"));
            k = t.shape[1];
            w.extend_from_slice(&t.data);
            bias.extend_from_slice(&store.get(&format!("{p}.bias")).data);
        }
        Linear {
            weight: PackedWeight::new(&w, bias.len(), k),
            bias,
        }
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.n()
    }

    /// `out[m, out] = epilogue(x[m, in]·Wᵀ + b)`.
    pub fn forward(&self, x: &[f32], m: usize, epilogue: Epilogue<'_>, out: &mut [f32]) {
        linear(x, m, &self.weight, Some(&self.bias), epilogue, out);
    }
}

/// Gradient buffers of one dense layer (or of one block of output rows of a
/// fused layer): `weight: [out, in]`, `bias: [out]`, accumulated into.
#[cfg(feature = "train")]
pub struct LinearGrad<'a> {
    /// dL/dW, PyTorch layout `[out, in]`.
    pub weight: &'a mut [f32],
    /// dL/db, `[out]`.
    pub bias: &'a mut [f32],
}

#[cfg(feature = "train")]
impl Linear {
    /// Backward of [`Linear::forward`] (with `Epilogue::None`) over `m` rows,
    /// accumulating: `dx += dy·W`, and per block of output rows
    /// `dW_b += dy_bᵀ·x`, `db_b += Σ_rows dy_b`. `grads` lists consecutive
    /// blocks of the outputs (several for a fused layer such as Q/K/V, empty
    /// for a frozen layer); `dx = None` skips the input gradient.
    pub fn backward(
        &self,
        x: &[f32],
        dy: &[f32],
        m: usize,
        dx: Option<&mut [f32]>,
        grads: &mut [LinearGrad<'_>],
    ) {
        let (n, k) = (self.weight.n(), self.weight.k());
        assert!(
            x.len() == m * k && dy.len() == m * n,
            "Linear::backward: shapes"
        );
        if let Some(dx) = dx {
            assert_eq!(dx.len(), m * k);
            let w = self.weight.to_nk();
            // dx[m, k] += dy[m, n] · W[n, k]
            let (dy, w) = (MatRef::new(dy, m, n), MatRef::new(&w, n, k));
            matmul(1.0, dy, w, 1.0, MatMut::new(dx, m, k));
        }
        let mut row = 0;
        for g in grads.iter_mut() {
            let rows = g.bias.len();
            assert!(
                g.weight.len() == rows * k && row + rows <= n,
                "Linear::backward: gradient block shapes"
            );
            // dW_b[rows, k] += dy_bᵀ · x, dy_b = dy[:, row..row+rows].
            let dy_b = MatRef::strided(&dy[row..], m, rows, n, 1);
            let x = MatRef::new(x, m, k);
            matmul(1.0, dy_b.t(), x, 1.0, MatMut::new(g.weight, rows, k));
            // db in f64, rows in order: deterministic and accurate for long batches.
            let mut acc = vec![0.0f64; rows];
            for r in dy.chunks(n) {
                for (a, &v) in acc.iter_mut().zip(&r[row..row + rows]) {
                    *a += v as f64;
                }
            }
            for (b, a) in g.bias.iter_mut().zip(acc) {
                *b += a as f32;
            }
            row += rows;
        }
    }
}
