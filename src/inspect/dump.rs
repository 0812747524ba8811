//! Every intermediate tensor of a [`Trace`] as one safetensors file, named
//! after the Hugging Face modules (docs/internals.md, "Dump names").

use super::trace::Trace;
use crate::error::{Error, Result};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::HashMap;
use std::path::Path;

/// The dump as safetensors bytes: every tensor of [`Trace::named`] in f32,
/// `input_ids` and `token_type_ids` in i64, and metadata `text`, `pieces`
/// (a JSON array of strings), `format` (`minilm-inspect-dump/1`).
pub fn to_bytes(trace: &Trace) -> Result<Vec<u8>> {
    let named = trace.named();
    let mut bufs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::with_capacity(named.len() + 2);
    let ids = |v: &[u32]| {
        v.iter()
            .flat_map(|&i| (i as i64).to_le_bytes())
            .collect::<Vec<u8>>()
    };
    bufs.push((
        "input_ids".into(),
        Dtype::I64,
        vec![trace.len()],
        ids(&trace.tokens.ids),
    ));
    bufs.push((
        "token_type_ids".into(),
        Dtype::I64,
        vec![trace.len()],
        ids(&trace.tokens.type_ids),
    ));
    for t in named {
        let bytes = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        bufs.push((t.full_name(), Dtype::F32, t.dims().to_vec(), bytes));
    }
    let views = bufs
        .iter()
        .map(|(n, dt, shape, b)| {
            TensorView::new(*dt, shape.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| Error::msg(format!("tensor {n}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([
        ("format".to_string(), "minilm-inspect-dump/1".to_string()),
        ("text".to_string(), trace.text.clone()),
        (
            "pieces".to_string(),
            serde_json::to_string(&trace.tokens.pieces).expect("strings serialise"),
        ),
    ]);
    safetensors::tensor::serialize(views, Some(meta))
        .map_err(|e| Error::msg(format!("cannot serialise the dump: {e}")))
}

/// Write the dump to `path` atomically ([`crate::atomic::write_file`]), so
/// a reader never sees half a file and a failed write leaves nothing.
pub fn write(trace: &Trace, path: &Path) -> Result<()> {
    let bytes = to_bytes(trace)?;
    crate::atomic::write_file(path, &bytes)
}
