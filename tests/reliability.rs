//! Hand-made bad inputs, end to end: every one gives a one-line error that
//! names the file (and the tensor or line), a non-zero exit and no panic;
//! and embeddings are bit-identical on 1 and 2 threads.
//! (More cases: tests/model_loading.rs, tests/cli_embed.rs, tests/data_readers.rs.)

mod common;

use common::*;
use minilm::Encoder;
use std::path::Path;
use std::process::Output;

/// The tiny model's `model.safetensors` split into its header and data.
fn tiny_parts() -> (serde_json::Map<String, serde_json::Value>, Vec<u8>) {
    let good = to_safetensors(&tiny_tensors(1));
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&good[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), good[8 + n..].to_vec())
}

/// Raw safetensors bytes: 8-byte little-endian header length, header, data.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

fn load_err(tag: &str, st: &[u8]) -> String {
    let d = temp_dir(tag);
    write_tiny_model(&d);
    std::fs::write(d.join("model.safetensors"), st).unwrap();
    match Encoder::from_dir(&d) {
        Ok(_) => panic!("{tag}: loaded, expected an error"),
        Err(e) => {
            let s = e.to_string();
            assert!(
                !s.contains('\n') && s.contains("model.safetensors"),
                "{tag}: {s}"
            );
            s
        }
    }
}

const KEY: &str = "encoder.layer.0.attention.self.key.weight";
const QUERY: &str = "encoder.layer.0.attention.self.query.weight";

#[test]
fn crafted_safetensors_headers() {
    let (h, data) = tiny_parts();
    let text = |h: &serde_json::Map<String, serde_json::Value>| {
        serde_json::Value::Object(h.clone()).to_string()
    };
    // Offsets past the end of the data.
    let mut past = h.clone();
    let end = data.len() as u64;
    past[KEY]["data_offsets"] = serde_json::json!([end, end + 256]);
    let e = load_err("raw-past-end", &raw(&text(&past), &data));
    assert!(e.contains("not a valid safetensors file"), "{e}");
    // Two tensors overlapping: the key weight pointing into the query weight.
    let mut overlap = h.clone();
    overlap[KEY]["data_offsets"] = h[QUERY]["data_offsets"].clone();
    let e = load_err("raw-overlap", &raw(&text(&overlap), &data));
    assert!(e.contains("not a valid safetensors file"), "{e}");
    // A name given twice, the duplicate first (the parser would keep the
    // valid last entry) or last (it would point into another tensor).
    let body = text(&h);
    let entry = serde_json::json!({"dtype": "F32", "shape": [8, 8], "data_offsets": h[QUERY]["data_offsets"]});
    let first = format!("{{\"{KEY}\":{entry},{}", &body[1..]);
    let last = format!("{},\"{KEY}\":{entry}}}", &body[..body.len() - 1]);
    for (tag, header) in [("raw-duplicate-first", first), ("raw-duplicate-last", last)] {
        let e = load_err(tag, &raw(&header, &data));
        assert!(
            e.contains(&format!("tensor {KEY}: duplicate name in the header")),
            "{tag}: {e}"
        );
    }
    // Header length larger than the file; header length 0; absurd length.
    for (tag, len) in [
        ("raw-len-big", body.len() as u64 + 1_000_000),
        ("raw-len-zero", 0),
        ("raw-len-max", u64::MAX),
    ] {
        let mut b = raw(&body, &data);
        b[..8].copy_from_slice(&len.to_le_bytes());
        let e = load_err(tag, &b);
        assert!(e.contains("not a valid safetensors file"), "{tag}: {e}");
    }
    // Shape disagreeing with the byte range (rank and count).
    let mut shape = h.clone();
    shape[KEY]["shape"] = serde_json::json!([8, 9]);
    let e = load_err("raw-shape-bytes", &raw(&text(&shape), &data));
    assert!(e.contains("not a valid safetensors file"), "{e}");
    // Unknown dtype name.
    let mut dtype = h.clone();
    dtype[KEY]["dtype"] = serde_json::json!("Q4");
    let e = load_err("raw-dtype-name", &raw(&text(&dtype), &data));
    assert!(e.contains("not a valid safetensors file"), "{e}");
    // NUL bytes and invalid UTF-8 in the header.
    let e = load_err("raw-nul", &raw("{\"a\0\":{}}", &data));
    assert!(e.contains("not a valid safetensors file"), "{e}");
    let mut bad = raw(&body, &data);
    bad[10] = 0xff;
    let e = load_err("raw-utf8", &bad);
    assert!(e.contains("not a valid safetensors file"), "{e}");
}

#[test]
fn absurd_config_fields() {
    let cases: &[(&str, serde_json::Value, &str)] = &[
        ("hidden_size", serde_json::json!(0), "out of range"),
        ("hidden_size", serde_json::json!(1u64 << 40), "out of range"),
        (
            "num_hidden_layers",
            serde_json::json!(-1),
            "non-negative integer",
        ),
        (
            "vocab_size",
            serde_json::json!("many"),
            "non-negative integer",
        ),
        (
            "intermediate_size",
            serde_json::json!(1.5),
            "non-negative integer",
        ),
    ];
    for (i, (field, value, needle)) in cases.iter().enumerate() {
        let d = temp_dir(&format!("absurd-{i}"));
        write_tiny_model(&d);
        let mut cfg = tiny_config();
        cfg[*field] = value.clone();
        std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
        let e = Encoder::from_dir(&d).err().expect("loaded").to_string();
        assert!(
            e.contains("config.json") && e.contains(needle),
            "{field}={value}: {e}"
        );
    }
    // A field missing.
    let d = temp_dir("absurd-missing");
    write_tiny_model(&d);
    let mut cfg = tiny_config();
    cfg.as_object_mut().unwrap().remove("num_attention_heads");
    std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
    let e = Encoder::from_dir(&d).err().expect("loaded").to_string();
    assert!(
        e.contains("config.json") && e.contains("num_attention_heads"),
        "{e}"
    );
}

fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{needle}: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

#[test]
fn cli_refuses_bad_model_files() {
    let d = temp_dir("cli-bad-model");
    write_tiny_model(&d);
    std::fs::write(d.join("model.safetensors"), b"").unwrap();
    let out = minilm(
        &["embed", "--model", d.to_str().unwrap()],
        b"{\"text\":\"x\"}\n",
    );
    fails_with(&out, "model.safetensors: not a valid safetensors file");
    let mut t = tiny_tensors(1);
    t.get_mut(KEY).unwrap().1[3] = f32::INFINITY;
    std::fs::write(d.join("model.safetensors"), to_safetensors(&t)).unwrap();
    let out = minilm(
        &["embed", "--model", d.to_str().unwrap()],
        b"{\"text\":\"x\"}\n",
    );
    fails_with(
        &out,
        &format!("tensor {KEY}: non-finite value inf at flat index 3"),
    );
    write_tiny_model(&d);
    let mut cfg = tiny_config();
    cfg["num_attention_heads"] = serde_json::json!(3);
    std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
    let out = minilm(
        &["embed", "--model", d.to_str().unwrap()],
        b"{\"text\":\"x\"}\n",
    );
    fails_with(&out, "config.json");
}

#[test]
fn cli_hostile_text_input() {
    // NUL bytes: a JSON escape is a valid (if odd) text; a raw NUL inside a
    // string is invalid JSON.
    let out = minilm(&["embed"], b"{\"text\":\"a\\u0000b\"}\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = minilm(&["embed"], b"{\"text\":\"ok\"}\n{\"text\":\"a\0b\"}\n");
    fails_with(&out, "<stdin>:2: invalid JSON");
    let out = minilm(&["embed"], b"\0\0\0\n");
    fails_with(&out, "<stdin>:1: invalid JSON");
    // Invalid UTF-8 in a file names the file and line.
    let dir = temp_dir("cli-hostile");
    let p = dir.join("bad.jsonl");
    std::fs::write(&p, b"{\"text\":\"fine\"}\n{\"text\":\"caf\xe9\"}\n").unwrap();
    let out = minilm(&["embed", "--input", p.to_str().unwrap()], b"");
    fails_with(&out, "bad.jsonl:2: invalid UTF-8");
    // A single 1 MB line: truncated to 256 word pieces and embedded.
    let word = "lorem ";
    let long = format!("{{\"text\":\"{}\"}}\n", word.repeat((1 << 20) / word.len()));
    assert!(long.len() > 1 << 20);
    let out = minilm(&["embed"], long.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // 100k empty-ish lines: the first one stops the run with its line number.
    let many = "{\"text\":\" \"}\n".repeat(100_000);
    let out = minilm(&["embed"], many.as_bytes());
    fails_with(&out, "<stdin>:1: \"text\" is empty");
    let out = minilm(&["embed"], "\n".repeat(100_000).as_bytes());
    fails_with(&out, "<stdin>:1: blank line");
    // …and the same lines through the training data reader, which skips
    // blank lines: one example, read without trouble.
    let p = dir.join("blank.jsonl");
    std::fs::write(
        &p,
        "{\"text\":\"a\",\"label\":\"x\"}\n".to_string() + &"\t \n".repeat(100_000),
    )
    .unwrap();
    assert_eq!(minilm::train::data::read_jsonl(&p).unwrap().len(), 1);
}

#[test]
fn cli_refuses_a_checkpoint_for_another_base_model() {
    // The recorded sha256 is not even hex (and not ASCII: the message must
    // not slice it mid-character).
    let d = temp_dir("cli-other-base");
    let empty = minilm::weights::ParamStore::default().to_safetensors(None);
    std::fs::write(
        d.join("meta.json"),
        serde_json::json!({"format": "minilm-checkpoint/1", "base_model_sha256": format!("a{}", "é".repeat(40)),
            "plan": "heads", "tasks": {"a": {"name": "a", "classes": ["x", "y"]}, "b": {"name": "b", "classes": ["x", "y"]}},
            "trained_sha256": minilm::sha256::sha256_hex(&empty)}).to_string(),
    )
    .unwrap();
    std::fs::write(d.join("trained.safetensors"), empty).unwrap();
    let out = minilm(
        &["predict", "--checkpoint", d.to_str().unwrap()],
        b"{\"text\":\"x\"}\n",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(d.file_name().unwrap().to_str().unwrap())
            && err.contains("another base model")
            || err.contains("trained on base model"),
        "{err}"
    );
}

#[test]
fn embeddings_bit_identical_on_one_and_two_threads() {
    let enc = Encoder::from_dir(real_model_dir()).unwrap();
    let texts: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "Sentence number {i} talks about {} things.",
                "many ".repeat(i % 7)
            )
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let one = minilm_kernels::parallel::with_threads(1, || enc.embed(&refs).unwrap());
    let two = minilm_kernels::parallel::with_threads(2, || enc.embed(&refs).unwrap());
    let again = minilm_kernels::parallel::with_threads(2, || enc.embed(&refs).unwrap());
    for (i, ((a, b), c)) in one.iter().zip(&two).zip(&again).enumerate() {
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "text {i}: 1 vs 2 threads"
        );
        assert!(
            b.iter().zip(c).all(|(x, y)| x.to_bits() == y.to_bits()),
            "text {i}: run to run"
        );
    }
    let _ = Path::new("");
}
