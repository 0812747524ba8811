//! Loading and checking `model.safetensors`.
//!
//! Every tensor the encoder needs is checked for presence, dtype, shape and
//! finite values, and copied into an owned f32 buffer: the linear weights are
//! re-packed for the matrix kernel anyway and 16-bit files are widened, so a
//! memory map would save only transient memory (see docs/architecture.md).
//! Tensors the encoder does not use (the pooler, `position_ids`) are ignored.

use crate::config::BertConfig;
use crate::error::{Error, Result};
use crate::precision::{Precision, QuantTensor, METADATA_KEY, SCALE_SUFFIX};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// One named parameter: a shape and row-major f32 values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first (PyTorch order).
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor {
            shape: shape.to_vec(),
            data: vec![0.0; shape.iter().product()],
        }
    }
}

/// Parameters addressed by the model file's tensor names, e.g.
/// `encoder.layer.4.attention.self.query.weight`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamStore {
    tensors: BTreeMap<String, Tensor>,
    /// The s8 rows and scales of the tensors an `int8` model folder stores
    /// quantized; `tensors` holds their f32 values `q · scale`.
    quantized: BTreeMap<String, QuantTensor>,
}

impl ParamStore {
    /// The tensor called `name`. Panics when absent: every name the model
    /// asks for was checked at load time.
    pub fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("parameter {name} was not loaded"))
    }
    /// The tensor called `name`, if present.
    pub fn try_get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }
    /// Mutable access to the tensor called `name`, if present.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Tensor> {
        self.tensors.get_mut(name)
    }
    /// Add or replace a tensor.
    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.tensors.insert(name.into(), t);
    }
    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }
    /// Iterate over (name, tensor), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Iterate over (name, mutable tensor), sorted by name: disjoint borrows
    /// of several tensors at once (e.g. one layer's gradients).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Tensor)> {
        self.tensors.iter_mut().map(|(k, v)| (k.as_str(), v))
    }
    /// Remove and return the tensor called `name`.
    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.tensors.remove(name)
    }
    /// The s8 form of tensor `name` when the model folder stored it so.
    pub fn quantized(&self, name: &str) -> Option<&QuantTensor> {
        self.quantized.get(name)
    }
    /// The precision the model folder was written in: `Int8` when it
    /// stores s8 tensors, else `F32` (F16 and BF16 storage is widened
    /// exactly to f32).
    pub fn precision(&self) -> Precision {
        if self.quantized.is_empty() {
            Precision::F32
        } else {
            Precision::Int8
        }
    }
    /// Whether these parameters can run at `precision`: an int8 store only
    /// at int8 (its f32 weights are gone, so no silent upcast).
    pub fn check_runs_at(&self, precision: Precision) -> Result<()> {
        if self.precision() == Precision::Int8 && precision != Precision::Int8 {
            return Err(Error::msg(format!(
                "this model folder stores int8 weights (minilm convert --to int8): it runs only at \
                 --precision int8, not {precision}; use the f32 folder for {precision}"
            )));
        }
        Ok(())
    }
    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }
    /// True when the store holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Load the encoder's tensors from a safetensors file and check them
    /// against `cfg`. Accepts F32, F16 and BF16 storage (widened to f32).
    pub fn load(path: &Path, cfg: &BertConfig) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path, cfg)
    }

    /// As [`ParamStore::load`], from the file's bytes; `path` only names errors.
    pub fn from_bytes(bytes: &[u8], path: &Path, cfg: &BertConfig) -> Result<Self> {
        refuse_duplicate_names(bytes, path)?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
        let mut store = ParamStore::default();
        for (name, shape) in expected_tensors(cfg) {
            let view = st
                .tensor(&name)
                .or_else(|_| st.tensor(&format!("bert.{name}")))
                .map_err(|_| Error::tensor(path, &name, "missing"))?;
            if view.shape() != shape.as_slice() {
                return Err(Error::tensor(
                    path,
                    &name,
                    format!("shape {:?}, expected {:?}", view.shape(), shape),
                ));
            }
            let data = if view.dtype() == Dtype::I8 {
                let q = read_quantized(&st, &name, &view, path)?;
                let data = q.dequantize();
                store.quantized.insert(name.clone(), q);
                data
            } else {
                widen(view.dtype(), view.data()).map_err(|m| Error::tensor(path, &name, m))?
            };
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(Error::tensor(
                    path,
                    &name,
                    format!("non-finite value {} at flat index {i}", data[i]),
                ));
            }
            store.insert(name, Tensor { shape, data });
        }
        check_recorded_precision(bytes, path, store.precision())?;
        Ok(store)
    }
}

/// The s8 tensor `name` (a 2-D `view`) with its `{name}_scale` row scales.
fn read_quantized(
    st: &SafeTensors<'_>,
    name: &str,
    view: &safetensors::tensor::TensorView<'_>,
    path: &Path,
) -> Result<QuantTensor> {
    let scale_name = format!("{name}{SCALE_SUFFIX}");
    let rows = view.shape().first().copied().unwrap_or(0);
    if view.shape().len() != 2 {
        return Err(Error::tensor(path, name, "an I8 tensor must be 2-D"));
    }
    let scales = st
        .tensor(&scale_name)
        .or_else(|_| st.tensor(&format!("bert.{scale_name}")))
        .map_err(|_| Error::tensor(path, &scale_name, "missing (an I8 tensor needs its scales)"))?;
    if scales.dtype() != Dtype::F32 || scales.shape() != [rows] {
        return Err(Error::tensor(
            path,
            &scale_name,
            format!(
                "expected F32 [{rows}], found {:?} {:?}",
                scales.dtype(),
                scales.shape()
            ),
        ));
    }
    let scales =
        widen(Dtype::F32, scales.data()).map_err(|m| Error::tensor(path, &scale_name, m))?;
    if let Some(i) = scales.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        let m = format!(
            "scale {} of row {i} is not a positive finite number",
            scales[i]
        );
        return Err(Error::tensor(path, &scale_name, m));
    }
    let q = view.data().iter().map(|&b| b as i8).collect::<Vec<_>>();
    if let Some(i) = q.iter().position(|&v| v == i8::MIN) {
        return Err(Error::tensor(
            path,
            name,
            format!("value -128 at flat index {i} (s8 weights are in [-127, 127])"),
        ));
    }
    Ok(QuantTensor { q, scales })
}

/// When the file's metadata records a precision ([`METADATA_KEY`]), it
/// must agree with the tensors found: a folder that says `int8` but holds
/// float weights (or the reverse) was not written by `minilm convert`.
fn check_recorded_precision(bytes: &[u8], path: &Path, found: Precision) -> Result<()> {
    let Ok((_, meta)) = SafeTensors::read_metadata(bytes) else {
        return Ok(()); // deserialize already accepted the file
    };
    let Some(recorded) = meta.metadata().as_ref().and_then(|m| m.get(METADATA_KEY)) else {
        return Ok(());
    };
    let recorded_int8 = recorded == Precision::Int8.name();
    if recorded_int8 != (found == Precision::Int8) {
        return Err(Error::file(
            path,
            format!(
                "metadata says {METADATA_KEY} = {recorded:?} but the weights are stored as {found}"
            ),
        ));
    }
    Ok(())
}

impl ParamStore {
    /// Every tensor as little-endian F32 in safetensors format, with
    /// optional string metadata.
    pub fn to_safetensors(
        &self,
        metadata: Option<std::collections::HashMap<String, String>>,
    ) -> Vec<u8> {
        self.to_safetensors_as(Dtype::F32, metadata)
    }

    /// Every tensor as little-endian `dtype` in safetensors format: F32, or
    /// F16 / BF16 rounded to nearest even (any other dtype is written as F32).
    pub fn to_safetensors_as(
        &self,
        dtype: Dtype,
        metadata: Option<std::collections::HashMap<String, String>>,
    ) -> Vec<u8> {
        let dtype = match dtype {
            Dtype::F16 | Dtype::BF16 => dtype,
            _ => Dtype::F32,
        };
        let bytes: Vec<(&str, &Tensor, Vec<u8>)> = self
            .iter()
            .map(|(n, t)| (n, t, narrow(dtype, &t.data)))
            .collect();
        let views = bytes.iter().map(|(n, t, b)| {
            let view = safetensors::tensor::TensorView::new(dtype, t.shape.clone(), b)
                .expect("shape and byte length agree by construction");
            (n.to_string(), view)
        });
        safetensors::tensor::serialize(views, metadata)
            .expect("serialising in-memory tensors cannot fail")
    }

    /// Every tensor of a safetensors file (F32, F16 or BF16, widened), with
    /// no expectation about names or shapes; `path` names errors.
    pub fn from_safetensors_any(bytes: &[u8], path: &Path) -> Result<Self> {
        refuse_duplicate_names(bytes, path)?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
        let mut store = ParamStore::default();
        for (name, view) in st.tensors() {
            let data =
                widen(view.dtype(), view.data()).map_err(|m| Error::tensor(path, &name, m))?;
            if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                return Err(Error::tensor(
                    path,
                    &name,
                    format!("non-finite value {} at flat index {i}", data[i]),
                ));
            }
            store.insert(
                name,
                Tensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(store)
    }
}

/// Decode little-endian F32, F16 or BF16 bytes to f32. The 16-bit formats
/// are widened by `minilm_kernels::convert` (F16C / SIMD where present).
pub(crate) fn widen(dtype: Dtype, bytes: &[u8]) -> std::result::Result<Vec<f32>, String> {
    use minilm_kernels::convert;
    let halves = || -> Vec<u16> {
        bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    };
    match dtype {
        Dtype::F32 => Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Dtype::BF16 => {
            let h = halves();
            let mut out = vec![0.0; h.len()];
            convert::bf16_to_f32(&h, &mut out);
            Ok(out)
        }
        Dtype::F16 => {
            let h = halves();
            let mut out = vec![0.0; h.len()];
            convert::f16_to_f32(&h, &mut out);
            Ok(out)
        }
        other => Err(format!("dtype {other:?}, expected F32, F16 or BF16")),
    }
}

/// Encode f32 values as little-endian `dtype` (F32, F16 or BF16; the 16-bit
/// formats round to nearest even, out-of-range values become ±inf).
pub(crate) fn narrow(dtype: Dtype, data: &[f32]) -> Vec<u8> {
    use minilm_kernels::convert;
    let mut h = vec![0u16; data.len()];
    match dtype {
        Dtype::BF16 => convert::f32_to_bf16(data, &mut h),
        Dtype::F16 => convert::f32_to_f16(data, &mut h),
        _ => return data.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
    h.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A header naming one tensor twice is refused: the safetensors parser
/// keeps the last entry silently, so which data a name gets would depend on
/// the order of the entries. Only scans: a header that is not JSON is left
/// to the parser's error.
fn refuse_duplicate_names(bytes: &[u8], path: &Path) -> Result<()> {
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .unwrap_or(0);
    let Some(json) = bytes.get(8..8usize.saturating_add(n)) else {
        return Ok(());
    };
    if serde_json::from_slice::<serde_json::Value>(json).map_or(true, |v| !v.is_object()) {
        return Ok(()); // not a JSON object: the parser's error says so
    }
    // The keys of the top-level object: strings at depth 1 in key position.
    let (mut depth, mut i, mut key_next) = (0usize, 0usize, false);
    let mut seen = std::collections::HashSet::new();
    while i < json.len() {
        match json[i] {
            b'{' | b'[' => {
                depth += 1;
                key_next = depth == 1 && json[i] == b'{';
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => key_next = true,
            b'"' => {
                let start = i;
                i += 1;
                while i < json.len() && json[i] != b'"' {
                    i += if json[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && key_next {
                    key_next = false;
                    if let Some(raw) = json.get(start..=i) {
                        if let Ok(key) = serde_json::from_slice::<String>(raw) {
                            if !seen.insert(key.clone()) {
                                let m = "duplicate name in the header";
                                return Err(Error::tensor(path, &key, m));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// IEEE binary16 to f32, exact for every input (normals, subnormals, inf, NaN).
pub fn f16_to_f32(h: u16) -> f32 {
    minilm_kernels::convert::scalar::f16_to_f32(h)
}

/// Names and shapes of every tensor the encoder reads.
pub fn expected_tensors(cfg: &BertConfig) -> Vec<(String, Vec<usize>)> {
    let (h, f) = (cfg.hidden_size, cfg.intermediate_size);
    let mut v = vec![
        (
            "embeddings.word_embeddings.weight".to_string(),
            vec![cfg.vocab_size, h],
        ),
        (
            "embeddings.position_embeddings.weight".to_string(),
            vec![cfg.max_position_embeddings, h],
        ),
        (
            "embeddings.token_type_embeddings.weight".to_string(),
            vec![cfg.type_vocab_size, h],
        ),
        ("embeddings.LayerNorm.weight".to_string(), vec![h]),
        ("embeddings.LayerNorm.bias".to_string(), vec![h]),
    ];
    for l in 0..cfg.num_layers {
        for (suffix, shape) in layer_tensors(h, f) {
            v.push((format!("encoder.layer.{l}.{suffix}"), shape));
        }
    }
    v
}

/// The 16 tensors of one encoder layer (suffixes after `encoder.layer.N.`).
pub fn layer_tensors(h: usize, f: usize) -> Vec<(&'static str, Vec<usize>)> {
    vec![
        ("attention.self.query.weight", vec![h, h]),
        ("attention.self.query.bias", vec![h]),
        ("attention.self.key.weight", vec![h, h]),
        ("attention.self.key.bias", vec![h]),
        ("attention.self.value.weight", vec![h, h]),
        ("attention.self.value.bias", vec![h]),
        ("attention.output.dense.weight", vec![h, h]),
        ("attention.output.dense.bias", vec![h]),
        ("attention.output.LayerNorm.weight", vec![h]),
        ("attention.output.LayerNorm.bias", vec![h]),
        ("intermediate.dense.weight", vec![f, h]),
        ("intermediate.dense.bias", vec![f]),
        ("output.dense.weight", vec![h, f]),
        ("output.dense.bias", vec![h]),
        ("output.LayerNorm.weight", vec![h]),
        ("output.LayerNorm.bias", vec![h]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_is_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }
}
