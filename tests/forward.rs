//! The one forward per layer (`Layer::forward`) and its records: inference
//! (`Record::Nothing`, fused epilogues), training (`Record::Backward`) and
//! the trace (`Record::Trace`, split epilogues) give the same bits without
//! dropout; each split step equals its fused kernel epilogue bit for bit; a
//! training record keeps nothing the backward does not need.

mod common;

use common::*;
use minilm::model::dropout::Dropout;
use minilm::model::forward::{Record, Scratch};
use minilm::model::layer::{Layer, LayerActs, LayerDropout};
use minilm::model::{BertModel, TokenBatch};
use minilm::precision::Precision;
use minilm_kernels::Epilogue;

const TEXTS: [&str; 3] = [
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "Attention weighs every token of a sentence by every other one, head by head.",
];

fn batch_of_texts(enc: &minilm::Encoder) -> TokenBatch {
    let tokens: Vec<_> = TEXTS
        .iter()
        .map(|t| enc.tokenizer().encode(t).unwrap())
        .collect();
    let seqs = tokens
        .iter()
        .map(|t| (t.ids.as_slice(), t.type_ids.as_slice()));
    TokenBatch::new(seqs, enc.config()).unwrap()
}

/// The embeddings output of the batch: every layer's first input.
fn embedded(model: &BertModel, batch: &TokenBatch) -> Vec<f32> {
    let mut x = vec![0.0; batch.tokens() * model.config.hidden_size];
    model.embeddings.forward(batch, &mut x);
    x
}

/// `layer` over a copy of `x` with `record` built on fresh activations.
fn run(
    layer: &Layer,
    x: &[f32],
    batch: &TokenBatch,
    trace: Option<bool>,
    dropout: LayerDropout,
) -> (Vec<f32>, LayerActs) {
    let (mut y, mut acts) = (x.to_vec(), LayerActs::default());
    let record = match trace {
        None => Record::Nothing,
        Some(false) => Record::Backward(&mut acts),
        Some(true) => Record::Trace(&mut acts),
    };
    layer.forward(&mut y, batch, &mut Scratch::default(), record, dropout);
    (y, acts)
}

fn same(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (d, i) = max_abs_diff(got, want);
    assert!(
        got.iter()
            .zip(want)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "{what}: element {i} differs by {d}"
    );
}

#[test]
fn inference_training_and_trace_records_give_the_same_bits() {
    let enc = real_encoder();
    let model = enc.model();
    let batch = batch_of_texts(enc);
    let none = LayerDropout::default();
    let mut x = embedded(model, &batch);
    for (n, layer) in model.layers.iter().enumerate() {
        let (plain, _) = run(layer, &x, &batch, None, none);
        let (train, kept) = run(layer, &x, &batch, Some(false), none);
        let (traced, all) = run(layer, &x, &batch, Some(true), none);
        same(&format!("layer {n}: training output"), &train, &plain);
        same(&format!("layer {n}: trace output"), &traced, &plain);
        // What both records keep is the same.
        let (ka, ta) = (&kept.attention, &all.attention);
        let (kf, tf) = (&kept.feed_forward, &all.feed_forward);
        for (what, k, t) in [
            ("attention input", &ka.input, &ta.input),
            ("qkv", &ka.qkv, &ta.qkv),
            ("probs", &ka.probs, &ta.probs),
            ("context", &ka.ctx, &ta.ctx),
            (
                "attention LayerNorm input",
                &ka.layer_norm.input,
                &ta.layer_norm.input,
            ),
            ("attention rstd", &ka.layer_norm.rstd, &ta.layer_norm.rstd),
            ("feed-forward input", &kf.input, &tf.input),
            ("pre-GELU", &kf.pre_gelu, &tf.pre_gelu),
            (
                "output LayerNorm input",
                &kf.layer_norm.input,
                &tf.layer_norm.input,
            ),
            ("output rstd", &kf.layer_norm.rstd, &tf.layer_norm.rstd),
        ] {
            assert!(!k.is_empty(), "layer {n}: {what} not kept");
            same(&format!("layer {n}: {what}"), k, t);
        }
        same(&format!("layer {n}: input kept"), &ka.input, &x);
        // Training keeps nothing that only the trace shows.
        assert!(ka.dense.is_empty() && kf.dense.is_empty() && kf.gelu.is_empty());
        x = plain;
    }
}

/// The trace's split steps against the fused epilogues of inference, one
/// kernel call each, at every precision the dense layers run in.
#[test]
fn split_epilogues_equal_the_fused_ones_bit_for_bit() {
    for precision in [Precision::F32, Precision::Bf16, Precision::Int8] {
        let enc = minilm::Encoder::from_dir_at(real_model_dir(), Some(precision)).unwrap();
        let model = enc.model();
        let batch = batch_of_texts(&enc);
        let t = batch.tokens();
        let mut x = embedded(model, &batch);
        for (n, layer) in model.layers.iter().enumerate() {
            let what = |s: &str| format!("{precision:?} layer {n}: {s}");
            let (plain, acts) = run(layer, &x, &batch, Some(true), LayerDropout::default());
            let (a, f) = (&acts.attention, &acts.feed_forward);
            let (att, ffn) = (&layer.attention, &layer.feed_forward);
            // Bias then residual: the kernel's epilogue and the split sum.
            let split: Vec<f32> = a.dense.iter().zip(&a.input).map(|(d, r)| d + r).collect();
            same(
                &what("attention residual split"),
                &split,
                &a.layer_norm.input,
            );
            let mut fused = vec![0.0; split.len()];
            att.output
                .forward(&a.ctx, t, Epilogue::Residual(&a.input), &mut fused);
            same(&what("attention residual fused"), &fused, &split);
            // GELU: the epilogue and gelu_erf_inplace on the kept pre-activation.
            let mut gelu = vec![0.0; f.gelu.len()];
            ffn.intermediate
                .forward(&f.input, t, Epilogue::Gelu, &mut gelu);
            same(&what("GELU fused"), &gelu, &f.gelu);
            let split: Vec<f32> = f.dense.iter().zip(&f.input).map(|(d, r)| d + r).collect();
            same(&what("output residual split"), &split, &f.layer_norm.input);
            let mut fused = vec![0.0; split.len()];
            ffn.output
                .forward(&f.gelu, t, Epilogue::Residual(&f.input), &mut fused);
            same(&what("output residual fused"), &fused, &split);
            let (inference, _) = run(layer, &x, &batch, None, LayerDropout::default());
            same(&what("output"), &plain, &inference);
            x = plain;
        }
    }
}

#[test]
fn dropout_changes_the_training_forward_and_is_recorded() {
    let enc = real_encoder();
    let model = enc.model();
    let batch = batch_of_texts(enc);
    let x = embedded(model, &batch);
    let layer = &model.layers[0];
    let (plain, _) = run(layer, &x, &batch, None, LayerDropout::default());
    let site = |seed| Some(Dropout::new(0.1, seed));
    for dropout in [
        LayerDropout {
            attention_probs: site(1),
            ..Default::default()
        },
        LayerDropout {
            attention_output: site(2),
            ..Default::default()
        },
        LayerDropout {
            output: site(3),
            ..Default::default()
        },
    ] {
        let (y, acts) = run(layer, &x, &batch, Some(false), dropout);
        assert_ne!(y, plain, "{dropout:?} left the output unchanged");
        assert_eq!(acts.attention.probs_dropout, dropout.attention_probs);
        assert_eq!(acts.attention.output_dropout, dropout.attention_output);
        assert_eq!(acts.feed_forward.dropout, dropout.output);
    }
}
