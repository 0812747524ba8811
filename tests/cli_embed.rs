//! `minilm embed` and `minilm similarity` as a user runs them.

mod common;

use common::*;
use std::process::Output;

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn vector(v: &serde_json::Value) -> Vec<f32> {
    v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn embeds_in_order_and_passes_fields_through() {
    let input = b"{\"id\":1,\"text\":\"A man is eating food.\",\"meta\":{\"k\":[1,2.50]}}\n{\"text\":\"A man is eating a piece of bread.\",\"id\":2}\n";
    let out = minilm(&["embed"], input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.starts_with("{\"id\":1,\"text\":\"A man is eating food.\",\"meta\":{\"k\":[1,2.50]},\"embedding\":["), "{text}");
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(l[1]["id"], 2);
    let (a, b) = (vector(&l[0]), vector(&l[1]));
    assert_eq!(a.len(), 384);
    let norm: f32 = a.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-5, "norm² {norm}");
    let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!((cos - 0.755).abs() < 5e-4, "cosine {cos}");
}

#[test]
fn output_matches_library_bit_for_bit() {
    let out = minilm(
        &["embed", "--batch-size", "1", "--no-normalize"],
        b"{\"text\":\"Shortest round-trip floats.\"}\n",
    );
    assert!(out.status.success());
    let got = vector(&lines(&out)[0]);
    let enc = minilm::Encoder::from_dir(real_model_dir())
        .unwrap()
        .with_normalize(false);
    let want = enc
        .embed(&["Shortest round-trip floats."])
        .unwrap()
        .remove(0);
    assert_eq!(
        got, want,
        "printed floats must parse back to the same f32 values"
    );
    let norm: f32 = got.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() > 1e-3, "--no-normalize still normalised");
}

#[test]
fn bad_lines_stop_with_the_line_number() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"{\"text\":\"ok\"}\n{\"text\": oops}\n",
            "<stdin>:2: invalid JSON",
        ),
        (
            b"{\"text\":\"ok\"}\n\n{\"text\":\"ok\"}\n",
            "<stdin>:2: blank line",
        ),
        (b"{\"text\":\"\"}\n", "<stdin>:1: \"text\" is empty"),
        (b"{\"id\":3}\n", "<stdin>:1: missing \"text\" field"),
        (b"{\"text\":\"a\xff\"}\n", "<stdin>:1: invalid UTF-8"),
    ];
    for (input, want) in cases {
        let out = minilm(&["embed"], input);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{want}: {err}");
        assert!(out.stdout.is_empty(), "partial output for {want}");
    }
    let out = minilm(&["embed", "--allow-empty"], b"{\"text\":\"\"}\n");
    assert!(out.status.success());
    assert_eq!(vector(&lines(&out)[0]).len(), 384);
}

#[test]
fn input_file_and_errors_name_it() {
    let dir = temp_dir("cli-input");
    let path = dir.join("in.jsonl");
    std::fs::write(&path, "{\"text\":\"one\"}\n{\"text\":\"two\"}\n[]\n").unwrap();
    let out = minilm(&["embed", "--input", path.to_str().unwrap()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("in.jsonl:3: expected a JSON object"),
        "{err}"
    );
    let out = minilm(
        &["embed", "--input", dir.join("nope.jsonl").to_str().unwrap()],
        b"",
    );
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("nope.jsonl"));
}

#[test]
fn bad_model_folder_is_an_error_not_a_panic() {
    let dir = temp_dir("cli-model");
    let out = minilm(
        &["embed", "--model", dir.join("absent").to_str().unwrap()],
        b"{\"text\":\"x\"}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("absent: model folder not found"), "{err}");
    let out = minilm(&["embed", "--batch-size", "0"], b"");
    assert!(!out.status.success());
    let out = minilm(&["embed", "--bogus"], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option --bogus"));
    assert_eq!(out.status.code(), Some(2), "a wrong command line exits 2");
    let out = minilm(&["embed", "--batch-size", "many"], b"");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unparsable value is a usage error"
    );
}

#[test]
fn similarity_command() {
    let out = minilm(
        &[
            "similarity",
            "A man is eating food.",
            "A man is eating a piece of bread.",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0.7553");
    let out = minilm(&["similarity", "only one"], b"");
    assert!(!out.status.success());
}
