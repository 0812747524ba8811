//! Which arithmetic the encoder's dense layers run in.
//!
//! * `f32` (the default): exact to sentence-transformers (about 1e-7).
//! * `bf16`: weights and activations of the four dense layers per encoder
//!   layer rounded to bfloat16, products summed in f32.
//! * `int8`: weights symmetric per output channel (s8, one scale per row of
//!   `W`), activations quantized per token row at run time (u8 with its own
//!   scale and zero point), products summed exactly in i32, then scaled back
//!   to f32. The word-embedding table is stored as s8 per row too.
//!
//! In every precision, embeddings lookup, LayerNorm, the attention products
//! and softmax, GELU, residuals, pooling and normalisation stay f32
//! (docs/performance.md measures why). A model folder written by
//! `minilm convert --to int8` holds s8 weights and scales, records
//! `int8` in its safetensors metadata ([`METADATA_KEY`]), and runs only at
//! `int8`: asking for `f32` or `bf16` there is an error, not a silent upcast
//! of rounded weights.

use crate::error::{Error, Result};
use std::fmt;

/// The safetensors metadata key a model folder's precision is recorded under.
pub const METADATA_KEY: &str = "minilm.precision";

/// Suffix of the f32 tensor of per-row scales beside an s8 tensor
/// (`….weight` → `….weight_scale`).
pub const SCALE_SUFFIX: &str = "_scale";

/// The arithmetic of the dense layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// f32 everywhere: exact.
    #[default]
    F32,
    /// bfloat16 inputs, f32 sums.
    Bf16,
    /// s8 weights, dynamic u8 activations, i32 sums.
    Int8,
}

impl Precision {
    /// Every precision, in the order the help lists them.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::Int8];

    /// The name on the command line and in model metadata.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::Int8 => "int8",
        }
    }

    /// Parse `f32`, `bf16` or `int8`; the error names the accepted values.
    pub fn parse(s: &str) -> Result<Precision> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                Error::usage(format!(
                    "--precision {s:?}: expected one of f32, bf16, int8"
                ))
            })
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tensor stored as s8 rows with one f32 scale per row:
/// `value[r, c] = q[r, c] · scales[r]`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantTensor {
    /// Row-major s8 values in `[-127, 127]`.
    pub q: Vec<i8>,
    /// One scale per row.
    pub scales: Vec<f32>,
}

impl QuantTensor {
    /// Symmetric per-row quantization of `w: [rows, cols]`:
    /// `scale = max|w[r, ·]| / 127` (1 for a zero row), `q = round(w / scale)`
    /// to nearest, ties to even. The one quantizer of the product: at load
    /// (`--precision int8` on an f32 folder) and in `minilm convert --to
    /// int8`, so both give the same bits.
    pub fn quantize(w: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(w.len(), rows * cols, "QuantTensor::quantize: shape");
        let mut q = vec![0i8; w.len()];
        let mut scales = vec![1.0f32; rows];
        if cols == 0 {
            return QuantTensor { q, scales };
        }
        for ((row, qrow), s) in w.chunks(cols).zip(q.chunks_mut(cols)).zip(&mut scales) {
            let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            if max > 0.0 {
                *s = max / 127.0;
            }
            for (o, &v) in qrow.iter_mut().zip(row) {
                *o = (v / *s).round_ties_even().clamp(-127.0, 127.0) as i8;
            }
        }
        QuantTensor { q, scales }
    }

    /// The f32 values `q · scale`, row-major.
    pub fn dequantize(&self) -> Vec<f32> {
        let cols = self.q.len() / self.scales.len().max(1);
        let mut out = Vec::with_capacity(self.q.len());
        for (row, &s) in self.q.chunks(cols.max(1)).zip(&self.scales) {
            out.extend(row.iter().map(|&v| v as f32 * s));
        }
        out
    }
}

/// Whether an `int8` model stores tensor `name` as s8 rows: the dense
/// layers' weights of every encoder layer and the word-embedding table.
/// (Position and token-type tables, LayerNorm and biases stay f32: together
/// under 1 % of the parameters.)
pub fn is_quantized_tensor(name: &str) -> bool {
    let name = name.strip_prefix("bert.").unwrap_or(name);
    name == "embeddings.word_embeddings.weight"
        || (name.starts_with("encoder.layer.")
            && [
                ".query.weight",
                ".key.weight",
                ".value.weight",
                ".dense.weight",
            ]
            .iter()
            .any(|s| name.ends_with(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        for p in Precision::ALL {
            assert_eq!(Precision::parse(p.name()).unwrap(), p);
        }
        let e = Precision::parse("fp16").unwrap_err();
        assert!(e.message().contains("f32, bf16, int8"), "{e}");
        assert_eq!(Precision::default(), Precision::F32);
    }

    #[test]
    fn per_row_quantization_keeps_the_row_maximum_exact() {
        let w = [0.6, -1.0, 0.25, 0.0, 0.0, 0.0, 3.0, 1.2, -0.75];
        let t = QuantTensor::quantize(&w, 3, 3);
        assert_eq!(t.q, vec![76, -127, 32, 0, 0, 0, 127, 51, -32]);
        assert_eq!(t.scales[1], 1.0, "a zero row keeps scale 1");
        let back = t.dequantize();
        for (r, row) in w.chunks(3).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                // Rounding to the nearest step: at most half a step off.
                assert!((back[r * 3 + c] - v).abs() <= t.scales[r] / 2.0 + 1e-7);
            }
        }
        assert!(is_quantized_tensor(
            "encoder.layer.3.attention.self.key.weight"
        ));
        assert!(is_quantized_tensor("encoder.layer.0.output.dense.weight"));
        assert!(!is_quantized_tensor("encoder.layer.0.output.dense.bias"));
        assert!(!is_quantized_tensor(
            "encoder.layer.0.output.LayerNorm.weight"
        ));
        assert!(!is_quantized_tensor(
            "embeddings.position_embeddings.weight"
        ));
    }
}
