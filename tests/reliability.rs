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

/// The names in `dir`, sorted (hidden temporaries included).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file under `dir` as a relative path, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            out.extend(tree(&p).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

#[test]
fn atomic_write_failures_name_the_destination_and_leave_nothing() {
    use minilm::atomic::{write_dir, write_file};
    let d = temp_dir("atomic-fail");
    // A parent that is a regular file fails for root too.
    let blocker = d.join("blocker");
    std::fs::write(&blocker, b"keep").unwrap();
    let page = blocker.join("p.html");
    let e = write_file(&page, b"<html>").unwrap_err().to_string();
    assert!(e.starts_with(&page.display().to_string()), "{e}");
    let out = blocker.join("m");
    let e = write_dir(&out, &[("config.json", b"{}")])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&out.display().to_string()), "{e}");
    assert_eq!(names(&d), ["blocker"]);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"keep");
    // A folder write failing half-way (a file where a subfolder must go):
    // the error names the destination file, the old folder stays as it was.
    let m = d.join("m");
    write_dir(&m, &[("old.txt", b"old")]).unwrap();
    let files: [(&str, &[u8]); 3] = [("a.txt", b"a"), ("a.txt/b", b"b"), ("c.txt", b"c")];
    let e = write_dir(&m, &files).unwrap_err().to_string();
    assert!(
        e.starts_with(&m.join("a.txt/b").display().to_string()),
        "{e}"
    );
    assert!(!e.contains(".m."), "names a temporary: {e}");
    assert_eq!(tree(&m), ["old.txt"]);
    // Names escaping the folder, and a file where the folder should be.
    assert!(write_dir(&m, &[("../x", b"x")]).is_err());
    assert!(write_dir(&blocker, &[("x", b"x")]).is_err());
    assert_eq!(names(&d), ["blocker", "m"]);
    // A file replaced in place leaves no temporary either.
    write_file(&d.join("f.txt"), b"one").unwrap();
    write_file(&d.join("f.txt"), b"two").unwrap();
    assert_eq!(std::fs::read(d.join("f.txt")).unwrap(), b"two");
    assert_eq!(names(&d), ["blocker", "f.txt", "m"]);
}

#[test]
fn atomic_write_dir_replaces_a_folder_whole() {
    let d = temp_dir("atomic-replace");
    let m = d.join("m");
    std::fs::create_dir_all(m.join("sub")).unwrap();
    std::fs::write(m.join("stale.txt"), b"stale").unwrap();
    std::fs::write(m.join("sub/old.txt"), b"old").unwrap();
    let files = vec![
        (std::path::PathBuf::from("config.json"), b"{}".to_vec()),
        ("1_Pooling/config.json".into(), b"{\"pool\":1}".to_vec()),
    ];
    minilm::atomic::write_dir(&m, &files).unwrap();
    assert_eq!(tree(&m), ["1_Pooling/config.json", "config.json"]);
    assert_eq!(
        std::fs::read(m.join("1_Pooling/config.json")).unwrap(),
        b"{\"pool\":1}"
    );
    assert_eq!(names(&d), ["m"]);
}

#[test]
fn cli_convert_failures_name_the_destination_and_leave_no_partial_folder() {
    let d = temp_dir("convert-fail");
    let src = d.join("src");
    write_tiny_model(&src);
    std::fs::create_dir_all(src.join("1_Pooling")).unwrap();
    std::fs::write(src.join("1_Pooling/config.json"), b"{}").unwrap();
    let convert = |out: &Path| {
        let (s, o) = (src.to_str().unwrap(), out.to_str().unwrap());
        minilm(&["convert", "--to", "bf16", "--model", s, "--out", o], b"")
    };
    // Into a place that cannot hold a folder: names the destination.
    std::fs::write(d.join("blocker"), b"").unwrap();
    let out = d.join("blocker/m");
    fails_with(&convert(&out), &out.display().to_string());
    // Works, and then replaces its own output whole.
    let good = d.join("good");
    let r = convert(&good);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(tree(&good), tree(&src));
    std::fs::write(good.join("extra.txt"), b"").unwrap();
    assert!(convert(&good).status.success());
    assert_eq!(tree(&good), tree(&src));
    // Refuses to replace a folder that is not a model folder.
    std::fs::create_dir_all(d.join("notes")).unwrap();
    std::fs::write(d.join("notes/todo.txt"), b"keep").unwrap();
    fails_with(&convert(&d.join("notes")), "not a model folder");
    assert_eq!(tree(&d.join("notes")), ["todo.txt"]);
    assert_eq!(names(&d), ["blocker", "good", "notes", "src"]);
}

#[test]
fn cli_convert_failing_half_way_keeps_the_old_folder() {
    // A source file whose path fits PATH_MAX (4096) under the source folder
    // but not under the (long) destination: the write fails after the other
    // files are written, whoever runs the test.
    let d = temp_dir("convert-half");
    let src = d.join("s");
    write_tiny_model(&src);
    let deep: String = (0..18).map(|_| format!("z{}/", "a".repeat(199))).collect();
    let rel = format!("{deep}f.txt");
    std::fs::create_dir_all(src.join(&deep)).unwrap();
    std::fs::write(src.join(&rel), b"deep").unwrap();
    let parent = d.join("b".repeat(250)).join("b".repeat(250));
    let out = parent.join("m");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("model.safetensors"), b"old").unwrap();
    let (s, o) = (src.to_str().unwrap(), out.to_str().unwrap());
    let r = minilm(&["convert", "--to", "f16", "--model", s, "--out", o], b"");
    fails_with(&r, &out.join(&rel).display().to_string());
    assert!(!String::from_utf8_lossy(&r.stderr).contains(".m."));
    assert_eq!(tree(&out), ["model.safetensors"]);
    assert_eq!(
        std::fs::read(out.join("model.safetensors")).unwrap(),
        b"old"
    );
    assert_eq!(names(&parent), ["m"]);
    // A source file that cannot be read is named as the source.
    #[cfg(unix)]
    {
        std::fs::remove_dir_all(src.join("z".to_string() + &"a".repeat(199))).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), src.join("dangling")).unwrap();
        let short = d.join("short");
        let r = minilm(
            &[
                "convert",
                "--to",
                "f16",
                "--model",
                s,
                "--out",
                short.to_str().unwrap(),
            ],
            b"",
        );
        fails_with(&r, &src.join("dangling").display().to_string());
        assert!(!short.exists());
    }
}
