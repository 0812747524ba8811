//! Build script: only does something with the `embed-model` feature, where it
//! bakes a model folder into the library (and so into the `minilm` binary).
//!
//! The folder is `$MINILM_EMBED_DIR` (relative to this crate's root, or
//! absolute), default `weights/all-MiniLM-L6-v2`. It must hold `config.json`,
//! `model.safetensors` (f32, f16 or bf16) and `tokenizer.json`; the optional
//! pipeline files (`sentence_bert_config.json`, `1_Pooling/config.json`,
//! `modules.json`) are embedded when present. A missing folder or file stops
//! the build with a message saying how to get it.

use std::path::{Path, PathBuf};

const REQUIRED: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];
const OPTIONAL: [&str; 3] = [
    "sentence_bert_config.json",
    "1_Pooling/config.json",
    "modules.json",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MINILM_EMBED_DIR");
    if std::env::var_os("CARGO_FEATURE_EMBED_MODEL").is_none() {
        return;
    }
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let dir = match std::env::var_os("MINILM_EMBED_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => root.join(d),
        None => root.join("weights/all-MiniLM-L6-v2"),
    };
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "\n\nfeature `embed-model`: the model folder {} lacks {}.\n\
             Fetch the model first (bash weights/fetch.sh), or point MINILM_EMBED_DIR at a\n\
             model folder (e.g. one written by `minilm convert --to bf16 --out DIR`),\n\
             or build without `--features embed-model`.\n\n",
            dir.display(),
            missing.join(", ")
        );
    }
    let mut code = format!(
        "/// The model folder embedded at build time.\npub const DIR: &str = {:?};\n",
        dir.display().to_string()
    );
    let mut files = Vec::new();
    for f in REQUIRED.iter().chain(&OPTIONAL) {
        let p = dir.join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_file() {
            let abs = p.canonicalize().unwrap_or(p);
            files.push(format!(
                "({f:?}, include_bytes!({:?}) as &[u8])",
                abs.display().to_string()
            ));
        }
    }
    code += &format!(
        "/// (path relative to the folder, bytes) of every embedded file.\n\
         pub static FILES: &[(&str, &[u8])] = &[\n    {}\n];\n",
        files.join(",\n    ")
    );
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("embedded_model.rs");
    std::fs::write(&out, code).expect("write embedded_model.rs");
}
