//! A dense layer `y = x·Wᵀ + b` with W in PyTorch's `[out, in]` layout,
//! its weight held in the form the chosen [`Precision`] multiplies with.

use crate::precision::{Precision, QuantTensor};
use crate::weights::ParamStore;
use minilm_kernels::{
    linear, linear_bf16, linear_i8, Bf16Weight, Epilogue, PackedWeight, QuantWeight,
};
#[cfg(feature = "train")]
use minilm_kernels::{matmul, MatMut, MatRef};

/// A weight prepared once for repeated products, in one precision.
#[derive(Clone, Debug)]
pub enum Weight {
    /// f32, packed for the f32 kernel.
    F32(PackedWeight),
    /// bfloat16 (rounded to nearest even), packed for the bf16 kernel.
    Bf16(Bf16Weight),
    /// s8 with one scale per output channel, packed for the int8 kernel.
    Int8(QuantWeight),
}

impl Weight {
    /// Output features.
    pub fn n(&self) -> usize {
        match self {
            Weight::F32(w) => w.n(),
            Weight::Bf16(w) => w.n(),
            Weight::Int8(w) => w.n(),
        }
    }
    /// Input features.
    pub fn k(&self) -> usize {
        match self {
            Weight::F32(w) => w.k(),
            Weight::Bf16(w) => w.k(),
            Weight::Int8(w) => w.k(),
        }
    }
    /// The weight's values as f32 in `[n, k]` layout (the rounded values
    /// for bf16 and int8).
    pub fn to_nk(&self) -> Vec<f32> {
        match self {
            Weight::F32(w) => w.to_nk(),
            Weight::Bf16(w) => w.to_f32(),
            Weight::Int8(w) => w.dequantize(),
        }
    }
    /// The precision it multiplies in.
    pub fn precision(&self) -> Precision {
        match self {
            Weight::F32(_) => Precision::F32,
            Weight::Bf16(_) => Precision::Bf16,
            Weight::Int8(_) => Precision::Int8,
        }
    }
}

/// A dense layer with its weight packed for the matrix kernel.
#[derive(Clone, Debug)]
pub struct Linear {
    /// The weight, packed once.
    pub weight: Weight,
    /// The bias, `[out]`.
    pub bias: Vec<f32>,
}

impl Linear {
    /// Load `{prefix}.weight` and `{prefix}.bias` (f32).
    pub fn from_store(store: &ParamStore, prefix: &str) -> Self {
        Self::fused(store, &[prefix])
    }

    /// Several layers reading the same input, stacked along their outputs
    /// (e.g. query, key and value as one `[3·hidden, hidden]` product), f32.
    pub fn fused(store: &ParamStore, prefixes: &[&str]) -> Self {
        Self::fused_at(store, prefixes, Precision::F32)
    }

    /// [`Linear::fused`] in `precision`. For int8 the s8 rows come from the
    /// store when the model folder holds them, else from quantizing the f32
    /// weight the same way `minilm convert --to int8` does; stacking
    /// per-row quantized blocks is the same as quantizing the stack.
    pub fn fused_at(store: &ParamStore, prefixes: &[&str], precision: Precision) -> Self {
        let (mut w, mut bias, mut k) = (Vec::new(), Vec::new(), 0);
        let (mut q, mut scales) = (Vec::new(), Vec::new());
        for p in prefixes {
            let name = format!("{p}.weight");
            let t = store.get(&name);
            k = t.shape[1];
            bias.extend_from_slice(&store.get(&format!("{p}.bias")).data);
            match (precision, store.quantized(&name)) {
                (Precision::Int8, Some(qt)) => {
                    q.extend_from_slice(&qt.q);
                    scales.extend_from_slice(&qt.scales);
                }
                (Precision::Int8, None) => {
                    let qt = QuantTensor::quantize(&t.data, t.shape[0], k);
                    q.extend_from_slice(&qt.q);
                    scales.extend_from_slice(&qt.scales);
                }
                _ => w.extend_from_slice(&t.data),
            }
        }
        let n = bias.len();
        let weight = match precision {
            Precision::F32 => Weight::F32(PackedWeight::new(&w, n, k)),
            Precision::Bf16 => Weight::Bf16(Bf16Weight::new(&w, n, k)),
            Precision::Int8 => Weight::Int8(QuantWeight::from_quantized(&q, &scales, n, k)),
        };
        Linear { weight, bias }
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.n()
    }

    /// `out[m, out] = epilogue(x[m, in]·Wᵀ + b)`.
    pub fn forward(&self, x: &[f32], m: usize, epilogue: Epilogue<'_>, out: &mut [f32]) {
        let b = Some(self.bias.as_slice());
        match &self.weight {
            Weight::F32(w) => linear(x, m, w, b, epilogue, out),
            Weight::Bf16(w) => linear_bf16(x, m, w, b, epilogue, out),
            Weight::Int8(w) => linear_i8(x, m, w, b, epilogue, out),
        }
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
