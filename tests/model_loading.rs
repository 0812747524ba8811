//! A broken model folder gives a one-line error naming the file (and the
//! tensor), never a panic.

mod common;

use common::*;
use minilm::Encoder;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::Path;

fn load_err(dir: &Path) -> String {
    match Encoder::from_dir(dir) {
        Ok(_) => panic!("{} loaded, expected an error", dir.display()),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "error is not one line: {s}");
            s
        }
    }
}

#[test]
fn tiny_model_loads_and_embeds() {
    let dir = temp_dir("tiny-ok");
    write_tiny_model(&dir);
    let enc = Encoder::from_dir(&dir).unwrap();
    let e = enc.embed(&["hello world", ""]).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].len(), 8);
    let norm: f32 = e[0].iter().map(|v| v * v).sum();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[test]
fn missing_folder_and_files() {
    let dir = temp_dir("missing");
    let gone = dir.join("nope");
    assert!(load_err(&gone).contains("nope: model folder not found"));
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        let d = dir.join(file.replace('.', "-"));
        write_tiny_model(&d);
        std::fs::remove_file(d.join(file)).unwrap();
        let e = load_err(&d);
        assert!(e.contains(file), "{file}: {e}");
    }
}

#[test]
fn malformed_config() {
    let cases: &[(&str, &str)] = &[
        ("{not json", "invalid JSON"),
        ("", "invalid JSON"),
        ("[1, 2]", "missing field"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let d = temp_dir(&format!("cfg-{i}"));
        write_tiny_model(&d);
        std::fs::write(d.join("config.json"), text).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("config.json") && e.contains(needle),
            "{text:?}: {e}"
        );
    }
    let mut fields = vec![
        ("num_attention_heads", serde_json::json!(0), "out of range"),
        ("num_attention_heads", serde_json::json!(3), "not divisible"),
        ("hidden_act", serde_json::json!("relu"), "hidden_act"),
    ];
    for (i, (field, value, needle)) in fields.drain(..).enumerate() {
        let d = temp_dir(&format!("cfgf-{i}"));
        write_tiny_model(&d);
        let mut cfg = tiny_config();
        cfg[field] = value;
        std::fs::write(d.join("config.json"), cfg.to_string()).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("config.json") && e.contains(needle),
            "{field}: {e}"
        );
    }
}

#[test]
fn broken_safetensors() {
    let good = to_safetensors(&tiny_tensors(1));
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut huge_header = good.clone();
    huge_header[..8].copy_from_slice(&(good.len() as u64 * 2).to_le_bytes());
    let mut not_json = good.clone();
    not_json[8] = b'#';
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero-byte", Vec::new()),
        ("truncated-data", good[..good.len() - 100].to_vec()),
        ("truncated-header", good[..8 + header_len / 2].to_vec()),
        ("header-too-long", huge_header),
        ("header-not-json", not_json),
    ];
    for (name, bytes) in cases {
        let d = temp_dir(&format!("st-{name}"));
        write_tiny_model(&d);
        std::fs::write(d.join("model.safetensors"), bytes).unwrap();
        let e = load_err(&d);
        assert!(
            e.contains("model.safetensors") && e.contains("not a valid safetensors file"),
            "{name}: {e}"
        );
    }
}

#[test]
fn wrong_tensors() {
    let name = "encoder.layer.0.attention.self.key.weight";
    // Missing tensor.
    let mut t = tiny_tensors(1);
    t.remove(name);
    check_tensor_error("st-missing", &common::to_safetensors(&t), name, "missing");
    // Wrong shape.
    let mut t = tiny_tensors(1);
    t.get_mut(name).unwrap().0 = vec![4, 16];
    check_tensor_error(
        "st-shape",
        &common::to_safetensors(&t),
        name,
        "shape [4, 16], expected [8, 8]",
    );
    // Non-finite values.
    let mut t = tiny_tensors(1);
    t.get_mut(name).unwrap().1[5] = f32::NAN;
    check_tensor_error(
        "st-nan",
        &common::to_safetensors(&t),
        name,
        "non-finite value NaN at flat index 5",
    );
    let mut t = tiny_tensors(1);
    t.get_mut(name).unwrap().1[0] = f32::INFINITY;
    check_tensor_error(
        "st-inf",
        &common::to_safetensors(&t),
        name,
        "non-finite value inf",
    );
    // Wrong dtype: the same bytes declared as I32.
    let t = tiny_tensors(1);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = t
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
        let dtype = if n == name { Dtype::I32 } else { Dtype::F32 };
        (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap())
    });
    let st = safetensors::tensor::serialize(views, None).unwrap();
    check_tensor_error(
        "st-dtype",
        &st,
        name,
        "dtype I32, expected F32, F16 or BF16",
    );
}

fn check_tensor_error(tag: &str, bytes: &[u8], tensor: &str, needle: &str) {
    let d = temp_dir(tag);
    write_tiny_model(&d);
    std::fs::write(d.join("model.safetensors"), bytes).unwrap();
    let e = load_err(&d);
    assert!(
        e.contains("model.safetensors")
            && e.contains(&format!("tensor {tensor}"))
            && e.contains(needle),
        "{tag}: {e}"
    );
}

#[test]
fn bad_pipeline_files() {
    let d = temp_dir("pool");
    write_tiny_model(&d);
    std::fs::create_dir_all(d.join("1_Pooling")).unwrap();
    std::fs::write(
        d.join("1_Pooling/config.json"),
        r#"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
    )
    .unwrap();
    assert!(load_err(&d).contains("only mean pooling"));
    let d = temp_dir("sbert");
    write_tiny_model(&d);
    std::fs::write(
        d.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 100000}"#,
    )
    .unwrap();
    assert!(load_err(&d).contains("max_seq_length 100000"));
    let d = temp_dir("tok");
    write_tiny_model(&d);
    std::fs::write(d.join("tokenizer.json"), "{}").unwrap();
    assert!(load_err(&d).contains("tokenizer.json: cannot load tokenizer"));
}
