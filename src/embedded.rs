//! The model built into the library by the `embed-model` feature (see
//! `build.rs`): one binary, no folder beside it.

use crate::config::{BertConfig, PipelineConfig};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::tokenize::Tokenizer;
use crate::weights::ParamStore;
use std::path::{Path, PathBuf};

mod files {
    include!(concat!(env!("OUT_DIR"), "/embedded_model.rs"));
}

/// The folder the embedded model was read from at build time.
pub const SOURCE_DIR: &str = files::DIR;

/// The bytes of an embedded file (path relative to the model folder).
pub fn file(name: &str) -> Option<&'static [u8]> {
    files::FILES.iter().find(|(n, _)| *n == name).map(|f| f.1)
}

/// Total size of the embedded files in bytes.
pub fn size() -> usize {
    files::FILES.iter().map(|f| f.1.len()).sum()
}

/// The name errors give an embedded file: `<embedded>/config.json`.
fn label(name: &str) -> PathBuf {
    Path::new("<embedded>").join(name)
}

fn json(name: &str) -> Result<Option<(serde_json::Value, PathBuf)>> {
    let Some(bytes) = file(name) else {
        return Ok(None);
    };
    let path = label(name);
    let v = serde_json::from_slice(bytes)
        .map_err(|e| Error::file(&path, format!("invalid JSON: {e}")))?;
    Ok(Some((v, path)))
}

impl Encoder {
    /// The encoder of the model built into this binary (`embed-model`
    /// feature), checked exactly as [`Encoder::from_dir`] checks a folder.
    pub fn embedded() -> Result<Self> {
        let (v, path) = json("config.json")?.expect("build.rs requires config.json");
        let config = BertConfig::from_json(&v).map_err(|m| Error::file(&path, m))?;
        let pipeline = PipelineConfig::from_sources(&config, json)?;
        let model = file("model.safetensors").expect("build.rs requires model.safetensors");
        let params = ParamStore::from_bytes(model, &label("model.safetensors"), &config)?;
        let tok = file("tokenizer.json").expect("build.rs requires tokenizer.json");
        let tokenizer =
            Tokenizer::from_bytes(tok, &label("tokenizer.json"), pipeline.max_seq_length)?;
        Ok(Self::from_parts(config, pipeline, params, tokenizer))
    }
}
