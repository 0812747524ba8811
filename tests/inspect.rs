//! `minilm inspect` and the `inspect` module: the traced forward against the
//! inference forward, the dump's names and contents, the HTML page's
//! structure, and the command line (also `minilm similarity --input`).

mod common;

use common::*;
use minilm::inspect::{dump, html, trace, Summary};
use minilm_kernels::gelu::gelu_erf64;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::process::Output;

const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";

/// A dump reloaded: name → (shape, values as f32; i64 tensors converted).
fn reload(bytes: &[u8]) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data: Vec<f32> = match view.dtype() {
                safetensors::Dtype::F32 => view
                    .data()
                    .chunks(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                safetensors::Dtype::I64 => view
                    .data()
                    .chunks(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f32)
                    .collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            (name, (view.shape().to_vec(), data))
        })
        .collect()
}

/// `|a − b| <= atol + rtol·|b|` everywhere, naming the tensor and the worst element.
fn assert_close(name: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    let mut worst = (0.0f64, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let excess = (g as f64 - w).abs() - (atol + rtol * w.abs());
        if excess > worst.0 || excess.is_nan() {
            worst = (excess, i);
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= 0.0,
        "{name}: element {i}: got {}, want {} (atol {atol}, rtol {rtol})",
        got[i],
        want[i]
    );
}

fn assert_same(name: &str, got: &[f32], want: &[f32]) {
    let (d, i) = max_abs_diff(got, want);
    assert!(
        d == 0.0,
        "{name}: element {i} differs by {d}: {} vs {}",
        got[i],
        want[i]
    );
}

#[test]
fn trace_matches_the_inference_forward_bit_for_bit() {
    let enc = real_encoder();
    let tr = trace(enc, SENTENCE).unwrap();
    let (tokens, hidden) = enc.hidden_states(SENTENCE).unwrap();
    assert_eq!(tr.tokens, tokens);
    let states = tr.hidden_states();
    assert_eq!(states.len(), hidden.len());
    for (n, (got, want)) in states.iter().zip(&hidden).enumerate() {
        assert_same(&format!("hidden state {n}"), got, want);
    }
    assert_same(
        "normalised embedding",
        &tr.normalized,
        &enc.embed(&[SENTENCE]).unwrap()[0],
    );
}

#[test]
fn dump_reloads_and_reproduces_the_embedding() {
    let enc = real_encoder();
    let tr = trace(enc, SENTENCE).unwrap();
    let dir = temp_dir("inspect-dump");
    let path = dir.join("dump.safetensors");
    dump::write(&tr, &path).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("dump.safetensors")],
        "temporary file left behind"
    );
    let bytes = std::fs::read(&path).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["text"], SENTENCE);
    assert_eq!(meta["format"], "minilm-inspect-dump/1");
    let t = reload(&bytes);

    let (l, h, heads, inter) = (tr.len(), 384, 12, 1536);
    let ids: Vec<f32> = tr.tokens.ids.iter().map(|&i| i as f32).collect();
    assert_eq!(t["input_ids"], (vec![l], ids));
    let mut expected = vec![
        ("embeddings.LayerNorm.input".to_string(), vec![l, h]),
        ("embeddings".to_string(), vec![l, h]),
    ];
    for n in 0..6 {
        let p = format!("encoder.layer.{n}");
        for (name, shape) in [
            ("attention.self.query", vec![l, h]),
            ("attention.self.key", vec![l, h]),
            ("attention.self.value", vec![l, h]),
            ("attention.self.attention_probs", vec![heads, l, l]),
            ("attention.self", vec![l, h]),
            ("attention.output.dense", vec![l, h]),
            ("attention.output.LayerNorm.input", vec![l, h]),
            ("attention", vec![l, h]),
            ("intermediate.dense", vec![l, inter]),
            ("intermediate", vec![l, inter]),
            ("output.dense", vec![l, h]),
            ("output.LayerNorm.input", vec![l, h]),
            ("output", vec![l, h]),
        ] {
            expected.push((format!("{p}.{name}"), shape));
        }
    }
    expected.push(("pooling".into(), vec![h]));
    expected.push(("normalize".into(), vec![h]));
    for (name, shape) in &expected {
        let got = t
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the dump"));
        assert_eq!(&got.0, shape, "{name}: shape");
    }
    assert_eq!(t.len(), expected.len() + 2, "unexpected extra tensors");

    // The last layer's output is `hidden_states`' last entry, and mean
    // pooling + L2 normalisation of it is `Encoder::embed`.
    let (_, hidden) = enc.hidden_states(SENTENCE).unwrap();
    assert_same("embeddings", &t["embeddings"].1, &hidden[0]);
    for n in 0..6 {
        assert_same(
            &format!("encoder.layer.{n}.output"),
            &t[&format!("encoder.layer.{n}.output")].1,
            &hidden[n + 1],
        );
    }
    let last = &t["encoder.layer.5.output"].1;
    let mut pooled = vec![0.0f32; h];
    for row in last.chunks(h) {
        for (p, &v) in pooled.iter_mut().zip(row) {
            *p += v;
        }
    }
    pooled.iter_mut().for_each(|p| *p /= l as f32);
    let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
    let normalized: Vec<f32> = pooled.iter().map(|v| v / norm).collect();
    let embedding = &enc.embed(&[SENTENCE]).unwrap()[0];
    let want: Vec<f64> = embedding.iter().map(|&v| v as f64).collect();
    assert_close(
        "mean-pooled, normalised last layer vs Encoder::embed",
        &normalized,
        &want,
        1e-6,
        1e-5,
    );
    assert_same("normalize vs Encoder::embed", &t["normalize"].1, embedding);
}

#[test]
fn dump_tensors_follow_from_each_other() {
    // Each tensor recomputed in f64 from the ones before it, by its name:
    // this is what someone lining the dump up with another framework relies on.
    let tr = trace(real_encoder(), SENTENCE).unwrap();
    let t = reload(&dump::to_bytes(&tr).unwrap());
    let (l, h, heads, d) = (tr.len(), 384, 12, 32);
    let mut prev = t["embeddings"].1.clone();
    for n in 0..6 {
        let g = |s: &str| &t[&format!("encoder.layer.{n}.{s}")].1;
        let (q, k, v, p) = (
            g("attention.self.query"),
            g("attention.self.key"),
            g("attention.self.value"),
            g("attention.self.attention_probs"),
        );
        let mut probs = vec![0.0f64; heads * l * l];
        let mut ctx = vec![0.0f64; l * h];
        for hd in 0..heads {
            for i in 0..l {
                let scores: Vec<f64> = (0..l)
                    .map(|j| {
                        (0..d)
                            .map(|c| q[i * h + hd * d + c] as f64 * k[j * h + hd * d + c] as f64)
                            .sum::<f64>()
                            / (d as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::MIN, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                for j in 0..l {
                    probs[(hd * l + i) * l + j] = (scores[j] - m).exp() / z;
                }
                for c in 0..d {
                    ctx[i * h + hd * d + c] = (0..l)
                        .map(|j| p[(hd * l + i) * l + j] as f64 * v[j * h + hd * d + c] as f64)
                        .sum();
                }
            }
        }
        assert_close(&format!("layer {n} attention_probs"), p, &probs, 1e-5, 1e-4);
        assert_close(
            &format!("layer {n} attention.self (context)"),
            g("attention.self"),
            &ctx,
            1e-5,
            1e-4,
        );
        // The residual sums are one f32 addition: exact.
        let sum: Vec<f32> = g("attention.output.dense")
            .iter()
            .zip(&prev)
            .map(|(&a, &b)| a + b)
            .collect();
        assert_same(
            &format!("layer {n} attention.output.LayerNorm.input"),
            g("attention.output.LayerNorm.input"),
            &sum,
        );
        let gelu: Vec<f64> = g("intermediate.dense")
            .iter()
            .map(|&u| gelu_erf64(u as f64))
            .collect();
        assert_close(
            &format!("layer {n} intermediate (GELU)"),
            g("intermediate"),
            &gelu,
            1e-6,
            1e-5,
        );
        let sum: Vec<f32> = g("output.dense")
            .iter()
            .zip(g("attention"))
            .map(|(&a, &b)| a + b)
            .collect();
        assert_same(
            &format!("layer {n} output.LayerNorm.input"),
            g("output.LayerNorm.input"),
            &sum,
        );
        prev = g("output").clone();
    }
}

#[test]
fn summary_is_consistent() {
    let tr = trace(real_encoder(), SENTENCE).unwrap();
    let s = Summary::of(&tr);
    let l = tr.len();
    assert_eq!(s.pieces.len(), l);
    assert_eq!(s.pieces[1].piece, "the");
    assert_eq!(s.pieces[1].chars, Some((0, 3)));
    assert_eq!(s.pieces[0].chars, None);
    let total: f32 = s.shares.iter().sum();
    assert!((total - 1.0).abs() < 1e-5, "pooling shares sum to {total}");
    assert_eq!(s.hidden_norms.len(), 7);
    assert_eq!(s.entropy.len(), 6);
    for (n, ent) in s.entropy.iter().enumerate() {
        assert_eq!(ent.len(), 12);
        for &e in ent {
            assert!(
                (-1e-6..=(l as f32).ln() + 1e-5).contains(&e),
                "layer {n}: entropy {e}"
            );
        }
        for per_head in &s.argmax[n] {
            assert_eq!(per_head.len(), l);
            assert!(per_head.iter().all(|&j| j < l));
        }
    }
    let pooled_norm = tr.pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((s.pooled_norm - pooled_norm).abs() < 1e-5);
    // Characters, not bytes: "é" is two bytes.
    let tr = trace(real_encoder(), "café au lait").unwrap();
    let s = Summary::of(&tr);
    let au = s.pieces.iter().find(|p| p.piece == "au").unwrap();
    assert_eq!((au.bytes, au.chars), (Some((6, 8)), Some((5, 7))));
}

/// Count opening tags `<name` (followed by a space or `>`) and closing tags `</name>`.
fn tag_balance(page: &str, name: &str) -> (usize, usize) {
    let open =
        page.matches(&format!("<{name} ")).count() + page.matches(&format!("<{name}>")).count();
    (open, page.matches(&format!("</{name}>")).count())
}

#[test]
fn html_page_is_self_contained_and_complete() {
    let text = "Tom & Jerry <b>chase</b> \"cheese\".";
    let tr = trace(real_encoder(), text).unwrap();
    let s = Summary::of(&tr);
    let page = html::page(&tr, &s);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.trim_end().ends_with("</html>"));
    for banned in [
        "http://", "https://", "src=", "<link", "@import", "url(", "<iframe", "<img",
    ] {
        assert!(
            !page.contains(banned),
            "the page contains {banned:?}: it must not fetch anything"
        );
    }
    // One SVG per layer and head, each with its layer and head.
    assert_eq!(page.matches("<svg class=\"heatmap\"").count(), 6 * 12);
    for n in 0..6 {
        for h in 0..12 {
            assert!(
                page.contains(&format!("data-layer=\"{n}\" data-head=\"{h}\"")),
                "no heatmap for layer {n} head {h}"
            );
        }
    }
    // Every token, escaped, in the tokenization table; the text escaped in the title.
    for p in &s.pieces {
        let cell = format!(
            "<td class=\"tok\">{}</td>",
            minilm::markup::escape(&p.piece)
        );
        assert!(page.contains(&cell), "token {:?} missing", p.piece);
    }
    assert!(page.contains("<title>minilm inspect: Tom &amp; Jerry &lt;b&gt;chase&lt;/b&gt; &quot;cheese&quot;.</title>"));
    assert!(page.contains(
        "<p class=\"sentence\">Tom &amp; Jerry &lt;b&gt;chase&lt;/b&gt; &quot;cheese&quot;.</p>"
    ));
    for tag in [
        "html", "head", "body", "section", "div", "table", "thead", "tbody", "tr", "svg", "script",
        "style", "title", "p",
    ] {
        let (open, close) = tag_balance(&page, tag);
        assert_eq!(open, close, "<{tag}>: {open} opened, {close} closed");
    }
    assert_eq!(tag_balance(&page, "section").0, 5);
    // The data the script draws from is valid JSON with every head.
    let start = page
        .find("<script type=\"application/json\" id=\"data\">")
        .unwrap();
    let body = &page[start..];
    let json = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let v: serde_json::Value = serde_json::from_str(&json.replace("<\\/", "</")).unwrap();
    assert_eq!(v["probs"].as_array().unwrap().len(), 6);
    assert_eq!(
        v["probs"][5][11].as_array().unwrap().len(),
        tr.len() * tr.len()
    );
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn cli_inspect_prints_an_aligned_report() {
    let text = stdout(&minilm(&["inspect", "A man is eating food."], b""));
    for want in [
        "word pieces (8;",
        "   4  eating    5983      9..15",
        "attention entropy per head",
        "layer 5: the token each token attends to most",
        "pooled embedding norm (before L2 normalisation): ",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn cli_inspect_json_lines_keeps_fields() {
    let out = stdout(&minilm(
        &["inspect", "--json"],
        b"{\"id\":7,\"text\":\"Hello world\"}\n{\"text\":\"Hi\"}\n",
    ));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 7);
    let r = &lines[0]["inspect"];
    assert_eq!(r["tokens"].as_array().unwrap().len(), 4);
    assert_eq!(r["tokens"][2]["piece"], "world");
    assert_eq!(r["tokens"][2]["chars"], serde_json::json!([6, 11]));
    assert_eq!(r["layers"].as_array().unwrap().len(), 6);
    assert_eq!(
        r["layers"][3]["attention_entropy"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    assert_eq!(
        r["layers"][3]["attention_argmax"][11]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert!(r["pooled_norm"].as_f64().unwrap() > 0.0);
    let bad = minilm(&["inspect"], b"{\"text\":\"a\",\"inspect\":1}\n");
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("<stdin>:1: the input already has a \"inspect\" field"));
}

#[test]
fn cli_inspect_writes_page_and_dump() {
    let dir = temp_dir("inspect-cli");
    let page = dir.join("page.html");
    let dump_path = dir.join("d.safetensors");
    let out = minilm(
        &[
            "inspect",
            "--html",
            page.to_str().unwrap(),
            "--dump",
            dump_path.to_str().unwrap(),
            SENTENCE,
        ],
        b"",
    );
    assert!(stdout(&out).is_empty(), "no report without --json");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg class=\"heatmap\""));
    let t = reload(&std::fs::read(&dump_path).unwrap());
    assert_same(
        "dump normalize vs embed",
        &t["normalize"].1,
        &real_encoder().embed(&[SENTENCE]).unwrap()[0],
    );
    let two = minilm(
        &["inspect", "--html", page.to_str().unwrap(), "a", "b"],
        b"",
    );
    assert!(!two.status.success());
    assert!(String::from_utf8_lossy(&two.stderr).contains("--html and --dump take one text, got 2"));
    let missing = minilm(
        &["inspect", "--dump", "/nonexistent-dir/x.safetensors", "a"],
        b"",
    );
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.starts_with("minilm: /nonexistent-dir/"), "{err}");
}

#[test]
fn cli_similarity_json_lines() {
    let input = b"{\"id\":1,\"a\":\"A man is eating food.\",\"b\":\"A man is eating a piece of bread.\"}\n{\"a\":\"x\",\"b\":\"The sky is blue.\",\"z\":[1.50]}\n";
    let out = stdout(&minilm(&["similarity", "--input", "-"], input));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1]
            .starts_with("{\"a\":\"x\",\"b\":\"The sky is blue.\",\"z\":[1.50],\"similarity\":"),
        "{}",
        lines[1]
    );
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["id"], 1);
    let e = real_encoder()
        .embed(&["A man is eating food.", "A man is eating a piece of bread."])
        .unwrap();
    let cos: f32 = e[0].iter().zip(&e[1]).map(|(a, b)| a * b).sum();
    assert!((v["similarity"].as_f64().unwrap() as f32 - cos).abs() < 1e-6);
    let bad = minilm(&["similarity", "--input", "-"], b"{\"a\":\"x\"}\n");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("<stdin>:1: missing \"b\" field"));
}

#[cfg(feature = "train")]
#[test]
fn cli_inspect_checkpoint_adds_heads_of_the_fine_tuned_model() {
    use minilm::model::TokenBatch;
    use minilm::train::checkpoint::{self, Meta};
    use minilm::train::{HeadSpec, MultiTaskModel, Plan, Task};
    let enc = real_encoder();
    let specs = [
        HeadSpec::new("topic", &["world", "sports", "business"]),
        HeadSpec::new("sentiment", &["negative", "positive"]),
    ];
    let mut model = MultiTaskModel::new(enc.params(), enc.config(), specs.clone()).unwrap();
    // "Fine-tune" the last layer: with the base weights the logits would differ.
    let bias = model
        .params_mut()
        .get_mut("encoder.layer.5.output.dense.bias")
        .unwrap();
    bias.data.iter_mut().step_by(3).for_each(|v| *v += 0.5);
    model.refresh_all();
    let plan = Plan::parse("last1", 6).unwrap();
    let meta = Meta {
        base_model_sha256: minilm::sha256::sha256_file(&real_model_dir().join("model.safetensors"))
            .unwrap(),
        plan: "last1".into(),
        heads: specs,
        normalize: false,
        hyperparameters: serde_json::json!({}),
        metrics: serde_json::json!({}),
        step: 1,
    };
    let dir = temp_dir("inspect-ckpt");
    let ckpt = dir.join("ckpt");
    checkpoint::save(&ckpt, &model, &plan, &meta, None).unwrap();

    let out = stdout(&minilm(
        &[
            "inspect",
            "--json",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            SENTENCE,
        ],
        b"",
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let heads = v["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 2);
    let tokens = enc.tokenize(&[SENTENCE]).unwrap();
    let batch = TokenBatch::new(
        [(tokens[0].ids.as_slice(), tokens[0].type_ids.as_slice())],
        enc.config(),
    )
    .unwrap();
    for (head, t) in heads.iter().zip(Task::ALL) {
        assert_eq!(head["task"], model.spec(t).name.as_str());
        let want: Vec<f64> = model.forward(&batch, t).iter().map(|&x| x as f64).collect();
        let got: Vec<f32> = head["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_close(
            &format!("{} logits vs MultiTaskModel::forward", head["task"]),
            &got,
            &want,
            1e-5,
            1e-5,
        );
        // ... and not what the base encoder would give.
        let base = model
            .head(t)
            .forward(&trace(enc, SENTENCE).unwrap().pooled, 1);
        assert!(
            max_abs_diff(&base, &got).0 > 1e-3,
            "the checkpoint's encoder was not used"
        );
        let p: f64 = head["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-5, "probabilities sum to {p}");
    }
    let text = stdout(&minilm(
        &["inspect", "--checkpoint", ckpt.to_str().unwrap(), SENTENCE],
        b"",
    ));
    assert!(text.contains("head \"sentiment\" (predicted: "), "{text}");
    let page = dir.join("p.html");
    let _ = stdout(&minilm(
        &[
            "inspect",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--html",
            page.to_str().unwrap(),
            SENTENCE,
        ],
        b"",
    ));
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("<h2>6. Task heads</h2>"));
}
