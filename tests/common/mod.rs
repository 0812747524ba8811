//! Helpers shared by the integration tests: temporary folders and tiny,
//! randomly initialised model folders that load like the real one.
#![allow(dead_code)]

use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The real model, loaded once per test binary.
pub fn real_encoder() -> &'static minilm::Encoder {
    static E: std::sync::OnceLock<minilm::Encoder> = std::sync::OnceLock::new();
    E.get_or_init(|| minilm::Encoder::from_dir(real_model_dir()).unwrap())
}

/// A labelled split of `(text, class index)` rows, tokenized by the real
/// model's tokenizer.
#[cfg(feature = "train")]
pub fn labelled_split(rows: &[(&str, usize)]) -> minilm::train::Split {
    let texts: Vec<&str> = rows.iter().map(|r| r.0).collect();
    minilm::train::Split::new(
        real_encoder().tokenizer(),
        &texts,
        rows.iter().map(|r| r.1).collect(),
    )
    .unwrap()
}

/// The real model folder (fetched by weights/fetch.sh).
pub fn real_model_dir() -> PathBuf {
    let dir = minilm::default_model_dir();
    assert!(
        dir.join("model.safetensors").exists(),
        "{} is missing: run weights/fetch.sh first",
        dir.display()
    );
    dir
}

/// A fresh, empty temporary folder unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minilm-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Tensors of a tiny BERT (hidden 8, 2 heads, 1 layer) over the real
/// vocabulary, so the real tokenizer works with it.
pub fn tiny_tensors(seed: u64) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let cfg = minilm::config::BertConfig::from_json(&tiny_config()).unwrap();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
    };
    minilm::weights::expected_tensors(&cfg)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let data = if name.ends_with("LayerNorm.weight") {
                vec![1.0; n]
            } else {
                (0..n).map(|_| next()).collect()
            };
            (name, (shape, data))
        })
        .collect()
}

/// The config of [`tiny_tensors`].
pub fn tiny_config() -> serde_json::Value {
    serde_json::json!({
        "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 16, "layer_norm_eps": 1e-12, "vocab_size": 30522,
        "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu"
    })
}

/// Serialise f32 tensors to safetensors bytes.
pub fn to_safetensors(tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, (s, d))| {
            (
                n.clone(),
                s.clone(),
                d.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views = bytes.iter().map(|(n, s, b)| {
        (
            n.clone(),
            TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
        )
    });
    safetensors::tensor::serialize(views, None).unwrap()
}

/// Write a complete tiny model folder (config, weights, the real tokenizer).
pub fn write_tiny_model(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), tiny_config().to_string()).unwrap();
    std::fs::write(
        dir.join("model.safetensors"),
        to_safetensors(&tiny_tensors(1)),
    )
    .unwrap();
    std::fs::copy(
        real_model_dir().join("tokenizer.json"),
        dir.join("tokenizer.json"),
    )
    .unwrap();
}

/// Largest |a − b| and its index.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> (f32, usize) {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .enumerate()
        .fold((0.0, 0), |(m, mi), (i, (x, y))| {
            let d = (x - y).abs();
            if d > m || d.is_nan() {
                (d, i)
            } else {
                (m, mi)
            }
        })
}

/// Run the `minilm` binary on the real model with `stdin` as input (written
/// from a thread, so a command that exits early or writes a lot cannot
/// deadlock); asserts it did not panic.
#[cfg(feature = "cli")]
pub fn minilm(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_minilm"))
        .args(args)
        .env("MINILM_MODEL", real_model_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut input, &stdin);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "panic: {err}");
    out
}

/// Cosine similarity, accumulated in f64.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// A tiny two-topic set (interest rates vs crude oil), class indices 0/1.
pub const TINY_TOPICS: [(&str, usize); 7] = [
    ("The central bank raised interest rates by half a point.", 0),
    ("Bond yields climbed after the rate decision.", 0),
    ("Mortgage rates rose for the third straight week.", 0),
    ("The tanker carried crude oil across the gulf.", 1),
    ("Oil prices fell as OPEC output increased.", 1),
    ("Refineries cut crude purchases this quarter.", 1),
    ("Crude futures slid on weak demand.", 1),
];
/// A tiny sentiment set, 1 = positive.
pub const TINY_SENTIMENT: [(&str, usize); 5] = [
    ("A wonderful, moving film with superb acting.", 1),
    ("I loved every minute of it.", 1),
    ("A dull, tedious mess of a movie.", 0),
    ("I hated it and walked out.", 0),
    ("Boring, predictable and far too long.", 0),
];

/// [`TINY_TOPICS`] and [`TINY_SENTIMENT`] as JSON Lines files `a.jsonl`
/// (labels `interest`/`crude`) and `b.jsonl` (`negative`/`positive`) in `dir`.
pub fn write_tiny_task_files(dir: &Path) -> (PathBuf, PathBuf) {
    let line = |t: &str, l: &str| serde_json::json!({"text": t, "label": l}).to_string() + "\n";
    let write = |name: &str, rows: &[(&str, usize)], names: [&str; 2]| {
        let path = dir.join(name);
        let text: String = rows.iter().map(|(t, l)| line(t, names[*l])).collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    (
        write("a.jsonl", &TINY_TOPICS, ["interest", "crude"]),
        write("b.jsonl", &TINY_SENTIMENT, ["negative", "positive"]),
    )
}

/// The reference fixture texts and their sentence-transformers f32
/// embeddings (tests/fixtures/embeddings, by tests/reference/make_embeddings.py).
pub fn reference_fixtures() -> (Vec<String>, Vec<Vec<f32>>) {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embeddings");
    let texts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("texts.json")).unwrap()).unwrap();
    let texts: Vec<String> = texts
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    let bytes = std::fs::read(dir.join("reference.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let want = (0..texts.len())
        .map(|i| {
            let t = st.tensor(&format!("embedding/{i:03}")).unwrap();
            t.data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()
        })
        .collect();
    (texts, want)
}
