//! How close bf16 and int8 embeddings are to the exact f32 ones, and what
//! that costs a downstream classifier (docs/performance.md, "Precision"):
//!
//! ```sh
//! cargo run --release --example precision_fidelity            # everything (~5 min on 2 cores)
//! cargo run --release --example precision_fidelity -- --quick # fixtures and corpus only
//! cargo run --release --example precision_fidelity -- --sensitivity # int8 with one kind of layer kept f32
//! ```
//!
//! * cosine of each embedding to the f32 one: min and mean, over the
//!   reference fixture texts (tests/fixtures/embeddings) and the 2,000-line
//!   corpus (benches/corpus/corpus.jsonl);
//! * top-10 nearest-neighbour agreement on the corpus: for each line, the
//!   share of its 10 nearest other lines (by cosine) at f32 that are also
//!   among its 10 nearest at the lower precision, averaged;
//! * downstream: the freezing study's baseline (multinomial logistic
//!   regression, 300 full-batch Adam iterations, on frozen embeddings) fitted
//!   on all of R8's and Rotten Tomatoes' training lines and scored by macro-F1
//!   on their test lines (data/fetch.sh), at each precision.
//!
//! * `--sensitivity`: int8 everywhere, then the word-embedding table or each
//!   kind of dense layer (Q/K/V, attention output, feed-forward input,
//!   feed-forward output) put back to f32 in all six layers: which part's
//!   quantization costs most.
//!
//! Prints one Markdown table per measure.

use minilm::model::embeddings::Embeddings;
use minilm::model::linear::Linear;
use minilm::model::pooling::{l2_normalize, mean_pool};
use minilm::model::{BertModel, TokenBatch};
use minilm::train::data::read_jsonl;
use minilm::train::logreg::LogReg;
use minilm::train::metrics::Metrics;
use minilm::{Encoder, Precision};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cosines(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f64, f64) {
    let c: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(u, v)| u.iter().zip(v).map(|(x, y)| (x * y) as f64).sum())
        .collect();
    let min = c.iter().cloned().fold(f64::INFINITY, f64::min);
    (min, c.iter().sum::<f64>() / c.len() as f64)
}

/// Indices of the `k` nearest other rows of row `i` (unit vectors: by dot product).
fn nearest(e: &[Vec<f32>], i: usize, k: usize) -> Vec<usize> {
    let mut s: Vec<(f32, usize)> = e
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, v)| (v.iter().zip(&e[i]).map(|(x, y)| x * y).sum(), j))
        .collect();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    s.into_iter().take(k).map(|(_, j)| j).collect()
}

fn top10_agreement(exact: &[Vec<f32>], approx: &[Vec<f32>]) -> f64 {
    let n = exact.len();
    let total: usize = (0..n)
        .map(|i| {
            let a = nearest(exact, i, 10);
            let b = nearest(approx, i, 10);
            a.iter().filter(|j| b.contains(j)).count()
        })
        .sum();
    total as f64 / (10 * n) as f64
}

fn fixture_texts() -> Vec<String> {
    let p = root().join("tests/fixtures/embeddings/texts.json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p).expect("fixture texts")).expect("fixture JSON");
    v.as_array()
        .expect("array")
        .iter()
        .map(|t| t["text"].as_str().expect("text").to_string())
        .collect()
}

fn corpus_texts() -> Vec<String> {
    let p = root().join("benches/corpus/corpus.jsonl");
    std::fs::read_to_string(&p)
        .expect("corpus")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("corpus line");
            v["text"].as_str().expect("text").to_string()
        })
        .collect()
}

fn embed(enc: &Encoder, texts: &[String]) -> minilm::Result<Vec<Vec<f32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    enc.embed(&refs)
}

/// Macro-F1 on `test` of a logistic regression fitted on `train`'s embeddings.
fn downstream(enc: &Encoder, train: &Path, test: &Path) -> minilm::Result<f64> {
    let (train, test) = (read_jsonl(train)?, read_jsonl(test)?);
    let labels = train.labels.clone();
    let index = |l: &str| {
        labels
            .iter()
            .position(|x| x == l)
            .expect("test label seen in training")
    };
    let xs = |d: &minilm::train::data::Dataset| -> minilm::Result<(Vec<f32>, Vec<usize>)> {
        let texts: Vec<String> = d.examples.iter().map(|e| e.text.clone()).collect();
        let x = embed(enc, &texts)?.concat();
        Ok((x, d.examples.iter().map(|e| index(&e.label)).collect()))
    };
    let (x, y) = xs(&train)?;
    let (tx, ty) = xs(&test)?;
    let model = LogReg::fit(&x, &y, enc.dim(), labels.len(), 300);
    Ok(Metrics::compute(&labels, &ty, &model.predict(&tx)).macro_f1)
}

/// Unit embeddings of `texts` through `model` (the encoder's tokenizer),
/// batches of 32 in input order.
fn embed_with(enc: &Encoder, model: &BertModel, texts: &[String]) -> minilm::Result<Vec<Vec<f32>>> {
    let h = enc.dim();
    let mut out = Vec::new();
    for chunk in texts.chunks(32) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let tokens = enc.tokenize(&refs)?;
        let batch = TokenBatch::new(
            tokens
                .iter()
                .map(|t| (t.ids.as_slice(), t.type_ids.as_slice())),
            enc.config(),
        )?;
        let pooled = mean_pool(&model.forward(&batch, None), &batch, h);
        for v in pooled.chunks(h) {
            let mut v = v.to_vec();
            l2_normalize(&mut v);
            out.push(v);
        }
    }
    Ok(out)
}

/// Fidelity of int8 with one kind of dense layer back in f32.
fn sensitivity(base: &Encoder, fixtures: &[String], corpus: &[String]) -> minilm::Result<()> {
    let (cfg, params) = (base.config(), base.params());
    let exact = BertModel::from_store_at(cfg, params, Precision::F32);
    let (exact_f, exact_c) = (
        embed_with(base, &exact, fixtures)?,
        embed_with(base, &exact, corpus)?,
    );
    println!("| int8, except in f32 | fixtures min cos | fixtures mean cos | corpus min cos | corpus mean cos |");
    println!("|---|---|---|---|---|");
    for kind in [
        "(none)",
        "word-embedding table",
        "Q/K/V",
        "attention output",
        "feed-forward input",
        "feed-forward output",
    ] {
        let mut model = BertModel::from_store_at(cfg, params, Precision::Int8);
        if kind == "word-embedding table" {
            model.embeddings = Embeddings::from_store_at(params, cfg, Precision::F32);
        }
        for (l, layer) in model.layers.iter_mut().enumerate() {
            let p = format!("encoder.layer.{l}");
            let f32_linear = |names: &[String]| {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                Linear::fused_at(params, &refs, Precision::F32)
            };
            match kind {
                "Q/K/V" => {
                    let qkv = ["query", "key", "value"].map(|n| format!("{p}.attention.self.{n}"));
                    layer.attention.qkv = f32_linear(&qkv);
                }
                "attention output" => {
                    layer.attention.output = f32_linear(&[format!("{p}.attention.output.dense")])
                }
                "feed-forward input" => {
                    layer.feed_forward.intermediate =
                        f32_linear(&[format!("{p}.intermediate.dense")])
                }
                "feed-forward output" => {
                    layer.feed_forward.output = f32_linear(&[format!("{p}.output.dense")])
                }
                _ => {}
            }
        }
        let (fmin, fmean) = cosines(&exact_f, &embed_with(base, &model, fixtures)?);
        let (cmin, cmean) = cosines(&exact_c, &embed_with(base, &model, corpus)?);
        println!("| {kind} | {fmin:.5} | {fmean:.5} | {cmin:.5} | {cmean:.5} |");
    }
    Ok(())
}

fn main() -> minilm::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let base = Encoder::from_dir(minilm::default_model_dir())?;
    let encoders: Vec<(Precision, Encoder)> = Precision::ALL
        .into_iter()
        .map(|p| Ok((p, base.clone().with_precision(p)?)))
        .collect::<minilm::Result<_>>()?;
    let (fixtures, corpus) = (fixture_texts(), corpus_texts());
    if std::env::args().any(|a| a == "--sensitivity") {
        return sensitivity(&base, &fixtures, &corpus);
    }
    let exact_f = embed(&encoders[0].1, &fixtures)?;
    let exact_c = embed(&encoders[0].1, &corpus)?;
    println!("| precision | fixtures min cos | fixtures mean cos | corpus min cos | corpus mean cos | corpus top-10 NN agreement |");
    println!("|---|---|---|---|---|---|");
    for (p, enc) in &encoders[1..] {
        let (fmin, fmean) = cosines(&exact_f, &embed(enc, &fixtures)?);
        let approx = embed(enc, &corpus)?;
        let (cmin, cmean) = cosines(&exact_c, &approx);
        let agree = top10_agreement(&exact_c, &approx);
        println!("| {p} | {fmin:.5} | {fmean:.5} | {cmin:.5} | {cmean:.5} | {agree:.4} |");
    }
    println!(
        "\n({} fixture texts, {} corpus lines)",
        fixtures.len(),
        corpus.len()
    );
    if quick {
        return Ok(());
    }
    let data = root().join("data");
    println!("\n| precision | R8 macro-F1 | Rotten Tomatoes macro-F1 |");
    println!("|---|---|---|");
    for (p, enc) in &encoders {
        let r8 = downstream(
            enc,
            &data.join("r8-train.jsonl"),
            &data.join("r8-test.jsonl"),
        )?;
        let rt = downstream(
            enc,
            &data.join("rt-train.jsonl"),
            &data.join("rt-test.jsonl"),
        )?;
        println!("| {p} | {r8:.4} | {rt:.4} |");
    }
    println!("\n(logistic regression on frozen embeddings, all training lines, test split)");
    Ok(())
}
