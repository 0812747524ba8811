//! `minilm convert`: a model folder with its weights stored as bf16, f16 or f32.

use super::args::Args;
use super::model_dir;
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

const HELP: &str = "usage: minilm convert --to bf16|f16|f32 --out DIR [--model DIR]

Writes a copy of the model folder to DIR whose model.safetensors stores every
floating-point tensor as bfloat16, IEEE half (f16) or f32 (rounded to nearest
even). The engine widens 16-bit weights to f32 at load and computes in f32.
Every other file (config, tokenizer, pooling) is copied unchanged.";

/// Run `minilm convert`.
pub fn run(argv: &[String]) -> Result<()> {
    let args = Args::parse(argv, &["to", "out", "model"], &["help"])?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    if let Some(p) = args.positional.first() {
        return Err(Error::msg(format!("unexpected argument {p:?}\n{HELP}")));
    }
    let dtype = match args.value("to") {
        Some("bf16") => Dtype::BF16,
        Some("f16") => Dtype::F16,
        Some("f32") => Dtype::F32,
        Some(other) => {
            return Err(Error::msg(format!(
                "--to {other:?}: expected bf16, f16 or f32"
            )))
        }
        None => return Err(Error::msg(format!("--to is required\n{HELP}"))),
    };
    let out = Path::new(
        args.value("out")
            .ok_or_else(|| Error::msg(format!("--out DIR is required\n{HELP}")))?,
    );
    let src = model_dir(&args);
    let st_path = src.join("model.safetensors");
    let bytes = std::fs::read(&st_path).map_err(|e| Error::io(&st_path, e))?;
    let converted = convert_safetensors(&bytes, &st_path, dtype)?;
    copy_tree(&src, out)?;
    let dst = out.join("model.safetensors");
    std::fs::write(&dst, &converted).map_err(|e| Error::io(&dst, e))?;
    eprintln!(
        "minilm convert: {} ({:.1} MB) -> {} ({:.1} MB, {:?})",
        st_path.display(),
        bytes.len() as f64 / 1e6,
        dst.display(),
        converted.len() as f64 / 1e6,
        dtype
    );
    Ok(())
}

/// Every F32/F16/BF16 tensor of a safetensors file re-encoded as `dtype`;
/// other tensors (e.g. the I64 `position_ids`) and the metadata kept as they are.
pub fn convert_safetensors(bytes: &[u8], path: &Path, dtype: Dtype) -> Result<Vec<u8>> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in st.tensors() {
        let (dt, data) = match view.dtype() {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 => {
                let values = crate::weights::widen(view.dtype(), view.data())
                    .map_err(|m| Error::tensor(path, &name, m))?;
                (dtype, crate::weights::narrow(dtype, &values))
            }
            other => (other, view.data().to_vec()),
        };
        tensors.push((name, dt, view.shape().to_vec(), data));
    }
    let views = tensors.iter().map(|(n, dt, shape, data)| {
        let v = safetensors::tensor::TensorView::new(*dt, shape.clone(), data)
            .expect("shape and byte length agree by construction");
        (n.clone(), v)
    });
    safetensors::tensor::serialize(views, meta.metadata().clone())
        .map_err(|e| Error::file(path, format!("cannot serialise: {e}")))
}

/// Copy every file under `src` to `dst` (creating folders), except
/// `model.safetensors` at the top, which the caller writes.
fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
        let entry = entry.map_err(|e| Error::io(src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if from.is_dir() {
            copy_tree(&from, &to)?;
        } else if entry.file_name() != "model.safetensors" {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
    }
    Ok(())
}
