//! The encoder against sentence-transformers: token ids, per-layer hidden
//! states and final embeddings for every fixture text
//! (tests/fixtures/embeddings, written by tests/reference/make_embeddings.py).
//!
//! Tolerances: hidden states atol 1e-4 (six layers of f32 products with a
//! different summation order than PyTorch's; observed worst ≈ 1e-5), final
//! unit-length embeddings max |Δ| ≤ 1e-5 and cosine ≥ 0.99999.

mod common;

use common::*;
use minilm::Encoder;
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;
use std::sync::OnceLock;

struct Fixture {
    texts: Vec<(String, String)>,
    bytes: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embeddings");
        let texts: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("texts.json")).unwrap()).unwrap();
        let texts = texts
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["text"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        Fixture {
            texts,
            bytes: std::fs::read(dir.join("reference.safetensors")).unwrap(),
        }
    })
}

/// The model folder, or with the `embed-model` feature the model built into
/// the library (`cargo test --features embed-model --test embeddings_reference`;
/// the tolerances are those of an f32 model, so embed the f32 folder).
fn encoder() -> &'static Encoder {
    static E: OnceLock<Encoder> = OnceLock::new();
    E.get_or_init(|| {
        #[cfg(feature = "embed-model")]
        return Encoder::embedded().unwrap();
        #[cfg(not(feature = "embed-model"))]
        Encoder::from_dir(real_model_dir()).unwrap()
    })
}

fn tensor_f32(st: &SafeTensors, name: &str) -> Option<Vec<f32>> {
    let t = st.tensor(name).ok()?;
    assert_eq!(t.dtype(), Dtype::F32, "{name}");
    Some(
        t.data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
    )
}

fn tensor_ids(st: &SafeTensors, name: &str) -> Vec<u32> {
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), Dtype::I64, "{name}");
    t.data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32)
        .collect()
}

#[test]
fn fixture_is_broad() {
    let f = fixture();
    assert!(f.texts.len() >= 120, "only {} texts", f.texts.len());
    let st = SafeTensors::deserialize(&f.bytes).unwrap();
    let long = (0..f.texts.len())
        .filter(|i| tensor_ids(&st, &format!("ids/{i:03}")).len() == 256)
        .count();
    assert!(
        long >= 3,
        "only {long} texts reach the 256-token truncation"
    );
    assert!(f.texts.iter().any(|(_, t)| t.is_empty()), "no empty string");
}

#[test]
fn token_ids_equal_sentence_transformers() {
    let f = fixture();
    let st = SafeTensors::deserialize(&f.bytes).unwrap();
    let texts: Vec<&str> = f.texts.iter().map(|(_, t)| t.as_str()).collect();
    let tokens = encoder().tokenize(&texts).unwrap();
    let mut bad = Vec::new();
    for (i, ((name, _), tok)) in f.texts.iter().zip(&tokens).enumerate() {
        let want = tensor_ids(&st, &format!("ids/{i:03}"));
        if tok.ids != want {
            let at = tok
                .ids
                .iter()
                .zip(&want)
                .position(|(a, b)| a != b)
                .unwrap_or(tok.ids.len().min(want.len()));
            bad.push(format!(
                "{name}: lengths {} vs {}, first difference at {at}",
                tok.ids.len(),
                want.len()
            ));
        }
    }
    assert!(bad.is_empty(), "token ids differ:\n{}", bad.join("\n"));
}

#[test]
fn embeddings_match_sentence_transformers() {
    let f = fixture();
    let st = SafeTensors::deserialize(&f.bytes).unwrap();
    let texts: Vec<&str> = f.texts.iter().map(|(_, t)| t.as_str()).collect();
    let enc = encoder();
    let got = enc.embed(&texts).unwrap();
    let raw = enc.clone().with_normalize(false).embed(&texts).unwrap();
    let (mut worst, mut worst_cos) = ((0.0f32, String::new()), (1.0f64, String::new()));
    for (i, (name, _)) in f.texts.iter().enumerate() {
        let want = tensor_f32(&st, &format!("embedding/{i:03}")).unwrap();
        let (d, at) = max_abs_diff(&got[i], &want);
        let c = cosine(&got[i], &want);
        assert!(
            d <= 1e-5 && c >= 0.99999,
            "{name}: max |Δ| {d:.3e} at [{at}] (ours {}, reference {}), cosine {c:.7}",
            got[i][at],
            want[at]
        );
        if d > worst.0 {
            worst = (d, name.clone());
        }
        if c < worst_cos.0 {
            worst_cos = (c, name.clone());
        }
        // Every committed text has its un-normalised embedding too.
        let want_raw = tensor_f32(&st, &format!("embedding_raw/{i:03}"))
            .unwrap_or_else(|| panic!("fixture has no embedding_raw/{i:03} ({name})"));
        let (d, at) = max_abs_diff(&raw[i], &want_raw);
        assert!(
            d <= 1e-4 + 1e-4 * want_raw[at].abs(),
            "{name}: un-normalised max |Δ| {d:.3e} at [{at}]"
        );
    }
    eprintln!(
        "worst max |Δ| {:.3e} ({}), worst cosine {:.8} ({})",
        worst.0, worst.1, worst_cos.0, worst_cos.1
    );
}

#[test]
fn hidden_states_match_per_layer() {
    let f = fixture();
    let st = SafeTensors::deserialize(&f.bytes).unwrap();
    let mut checked = 0;
    for (i, (name, text)) in f.texts.iter().enumerate() {
        if tensor_f32(&st, &format!("hidden/{i:03}/0")).is_none() {
            continue;
        }
        let (_, hidden) = encoder().hidden_states(text).unwrap();
        assert_eq!(hidden.len(), 7);
        for (layer, h) in hidden.iter().enumerate() {
            let want = tensor_f32(&st, &format!("hidden/{i:03}/{layer}")).unwrap();
            let (d, at) = max_abs_diff(h, &want);
            assert!(
                d <= 1e-4,
                "{name}: hidden state {layer}: max |Δ| {d:.3e} at token {} dim {} (ours {}, reference {})",
                at / 384,
                at % 384,
                h[at],
                want[at]
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} texts have hidden states");
}

#[test]
fn batch_invariance() {
    let enc = encoder();
    let short = "A quick brown fox.";
    let long = "word ".repeat(600);
    assert_eq!(enc.tokenize(&[long.as_str()]).unwrap()[0].len(), 256);
    let alone = enc.embed(&[short]).unwrap().remove(0);
    for bs in [1, 2, 3, 32] {
        let e = enc.clone().with_batch_size(bs);
        let mixed = e
            .embed(&[
                long.as_str(),
                short,
                "Another one, of middling length, for company.",
            ])
            .unwrap();
        let (d, at) = max_abs_diff(&alone, &mixed[1]);
        assert!(d <= 1e-6, "batch size {bs}: max |Δ| {d:.3e} at [{at}]");
    }
}

#[test]
fn known_similarity() {
    let e = encoder()
        .embed(&["A man is eating food.", "A man is eating a piece of bread."])
        .unwrap();
    let c = cosine(&e[0], &e[1]);
    assert!((c - 0.755).abs() < 5e-4, "cosine {c}");
}
