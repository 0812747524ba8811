//! `minilm convert`: a model folder with its weights stored as bf16, f16,
//! f32, or int8 (s8 rows with per-row scales; see [`crate::precision`]).

use super::model_dir;
use super::spec::{common, CommandSpec, Opt, Section};
use crate::error::{Error, Result};
use crate::precision::{is_quantized_tensor, QuantTensor, METADATA_KEY, SCALE_SUFFIX};
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

/// The command line of `minilm convert`.
pub fn spec() -> CommandSpec {
    CommandSpec {
        name: "convert",
        summary: "a copy of the model folder with bf16, f16, f32 or int8 weights",
        usage: &["--to bf16|f16|f32|int8 --out DIR"],
        positionals: false,
        about: "Writes a copy of the model folder to DIR whose model.safetensors stores every
floating-point tensor as bfloat16, IEEE half (f16) or f32 (rounded to nearest
even). The engine widens 16-bit weights to f32 at load and computes in f32.
With --to int8, the dense layers' weights and the word-embedding table are
stored as s8 rows with one f32 scale per row (exactly what --precision int8
computes with), the other tensors as f32; such a folder runs only at
--precision int8 (its default). The folder's storage is recorded in the
safetensors metadata (minilm.precision).
Every other file (config, tokenizer, pooling) is copied unchanged. DIR is
written whole and atomically: a failed write leaves no partial folder. An
existing DIR is replaced, and must then be a model folder (or empty).",
        sections: vec![Section {
            title: "",
            options: vec![
                Opt::value("to", "TYPE", "bf16, f16, f32 or int8 (required)"),
                Opt::value("out", "DIR", "the new model folder (required)"),
                common::model(false),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm convert`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    let dtype = match args.value("to") {
        Some("bf16") => Dtype::BF16,
        Some("f16") => Dtype::F16,
        Some("f32") => Dtype::F32,
        Some("int8") => Dtype::I8,
        Some(other) => {
            return Err(Error::msg(format!(
                "--to {other:?}: expected bf16, f16, f32 or int8"
            )))
        }
        None => return Err(Error::usage("--to is required (minilm convert --help)")),
    };
    let out = Path::new(
        args.value("out")
            .ok_or_else(|| Error::usage("--out DIR is required (minilm convert --help)"))?,
    );
    check_replaceable(out)?;
    let src = model_dir(&args);
    let st_path = src.join("model.safetensors");
    let bytes = std::fs::read(&st_path).map_err(|e| Error::io(&st_path, e))?;
    let converted = convert_safetensors(&bytes, &st_path, dtype)?;
    let mut files = Vec::new();
    read_tree(&src, Path::new(""), &mut files)?;
    files.sort();
    let (converted_len, dst) = (converted.len(), out.join("model.safetensors"));
    files.push((PathBuf::from("model.safetensors"), converted));
    crate::atomic::write_dir(out, &files)?;
    eprintln!(
        "minilm convert: {} ({:.1} MB) -> {} ({:.1} MB, {:?})",
        st_path.display(),
        bytes.len() as f64 / 1e6,
        dst.display(),
        converted_len as f64 / 1e6,
        dtype
    );
    Ok(())
}

/// Every F32/F16/BF16 tensor of a safetensors file re-encoded as `dtype`
/// (`I8`: the tensors [`is_quantized_tensor`] names as s8 rows plus their
/// `…_scale`, the rest as F32); other tensors (e.g. the I64 `position_ids`)
/// and the metadata kept as they are, plus the storage recorded under
/// [`METADATA_KEY`]. A file that already holds s8 tensors is refused: its
/// f32 weights are gone.
pub fn convert_safetensors(bytes: &[u8], path: &Path, dtype: Dtype) -> Result<Vec<u8>> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, view) in st.tensors() {
        let shape = view.shape().to_vec();
        match view.dtype() {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 => {
                let values = crate::weights::widen(view.dtype(), view.data())
                    .map_err(|m| Error::tensor(path, &name, m))?;
                if dtype == Dtype::I8 && is_quantized_tensor(&name) && shape.len() == 2 {
                    let q = QuantTensor::quantize(&values, shape[0], shape[1]);
                    let scale = crate::weights::narrow(Dtype::F32, &q.scales);
                    tensors.push((
                        format!("{name}{SCALE_SUFFIX}"),
                        Dtype::F32,
                        vec![shape[0]],
                        scale,
                    ));
                    let bytes = q.q.iter().map(|&v| v as u8).collect();
                    tensors.push((name, Dtype::I8, shape, bytes));
                } else {
                    let to = if dtype == Dtype::I8 {
                        Dtype::F32
                    } else {
                        dtype
                    };
                    tensors.push((name, to, shape, crate::weights::narrow(to, &values)));
                }
            }
            Dtype::I8 => {
                let m = "this model folder is already int8 (its f32 weights are gone): convert from the f32 folder";
                return Err(Error::tensor(path, &name, m));
            }
            other => tensors.push((name, other, shape, view.data().to_vec())),
        }
    }
    let mut metadata = meta.metadata().clone().unwrap_or_default();
    let recorded = match dtype {
        Dtype::I8 => "int8",
        Dtype::BF16 => "bf16",
        Dtype::F16 => "f16",
        _ => "f32",
    };
    metadata.insert(METADATA_KEY.to_string(), recorded.to_string());
    let views = tensors.iter().map(|(n, dt, shape, data)| {
        let v = safetensors::tensor::TensorView::new(*dt, shape.clone(), data)
            .expect("shape and byte length agree by construction");
        (n.clone(), v)
    });
    safetensors::tensor::serialize(views, Some(metadata))
        .map_err(|e| Error::file(path, format!("cannot serialise: {e}")))
}

/// Refuse to replace `out` when it holds something other than a model
/// folder: [`crate::atomic::write_dir`] replaces the whole folder.
fn check_replaceable(out: &Path) -> Result<()> {
    let non_empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some());
    if non_empty && !out.join("model.safetensors").is_file() {
        return Err(Error::file(
            out,
            "exists and is not a model folder; refusing to replace it",
        ));
    }
    Ok(())
}

/// Read every file under `src.join(rel)` into `files` as (path relative to
/// `src`, bytes), except the top-level `model.safetensors`, which the caller
/// converts. Errors name the source file.
fn read_tree(src: &Path, rel: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) -> Result<()> {
    let dir = src.join(rel);
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let (from, name) = (entry.path(), rel.join(entry.file_name()));
        if from.is_dir() {
            read_tree(src, &name, files)?;
        } else if name != Path::new("model.safetensors") {
            let bytes = std::fs::read(&from).map_err(|e| Error::io(&from, e))?;
            files.push((name, bytes));
        }
    }
    Ok(())
}
