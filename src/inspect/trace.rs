//! The inference forward pass of one sentence, keeping every intermediate
//! tensor (math in docs/internals.md).
//!
//! Each layer runs the one forward that inference and training run,
//! [`Layer::forward`], with [`Record::Trace`]: it then keeps the dense
//! outputs before their residual and `gelu(u)` besides what training keeps,
//! and takes the split paths of its two fused epilogues, which give the same
//! bits. Each output is therefore bit-identical to the inference forward's;
//! `tests/inspect.rs` checks it.

use crate::encoder::Encoder;
use crate::error::Result;
use crate::model::forward::{Record, Scratch};
use crate::model::layer::{Layer, LayerActs, LayerDropout};
use crate::model::pooling::{l2_normalize, mean_pool};
use crate::model::TokenBatch;
use crate::tokenize::Tokens;

/// Every intermediate tensor of one layer, row-major, for `L` tokens.
#[derive(Clone, Debug)]
pub struct LayerTrace {
    /// `Q = x·Wqᵀ + bq`, `[L, hidden]`; head `h` is columns `h·d..(h+1)·d`.
    pub query: Vec<f32>,
    /// `K = x·Wkᵀ + bk`, `[L, hidden]`, heads as in `query`.
    pub key: Vec<f32>,
    /// `V = x·Wvᵀ + bv`, `[L, hidden]`, heads as in `query`.
    pub value: Vec<f32>,
    /// `softmax(Q_h·K_hᵀ/√d)` per head, `[heads, L, L]` (row: query token).
    pub probs: Vec<f32>,
    /// Per-head context `P_h·V_h`, heads side by side, `[L, hidden]`.
    pub context: Vec<f32>,
    /// Output projection `context·Woᵀ + bo`, `[L, hidden]`.
    pub attention_dense: Vec<f32>,
    /// Residual sum `x + attention_dense` (the LayerNorm's input), `[L, hidden]`.
    pub attention_residual: Vec<f32>,
    /// `LayerNorm(attention_residual)`: the attention block's output, `[L, hidden]`.
    pub attention_output: Vec<f32>,
    /// FFN pre-activation `u = a·W1ᵀ + b1`, `[L, intermediate]`.
    pub intermediate_pre: Vec<f32>,
    /// `gelu(u)`, `[L, intermediate]`.
    pub intermediate: Vec<f32>,
    /// `gelu(u)·W2ᵀ + b2`, `[L, hidden]`.
    pub output_dense: Vec<f32>,
    /// Residual sum `attention_output + output_dense`, `[L, hidden]`.
    pub output_residual: Vec<f32>,
    /// `LayerNorm(output_residual)`: the layer's output, `[L, hidden]`.
    pub output: Vec<f32>,
}

/// One sentence traced through the whole model.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The input text.
    pub text: String,
    /// Its word pieces (with [CLS] and [SEP]).
    pub tokens: Tokens,
    /// Hidden width (384).
    pub hidden: usize,
    /// Attention heads per layer (12).
    pub heads: usize,
    /// Feed-forward width (1536).
    pub intermediate: usize,
    /// `(word + type) + position`, `[L, hidden]`.
    pub embeddings_sum: Vec<f32>,
    /// `LayerNorm(embeddings_sum)`: the input of layer 0, `[L, hidden]`.
    pub embeddings: Vec<f32>,
    /// Each layer's tensors, in order.
    pub layers: Vec<LayerTrace>,
    /// Mean of the last layer's token states, `[hidden]`.
    pub pooled: Vec<f32>,
    /// `pooled / max(‖pooled‖, 1e-12)`, `[hidden]`.
    pub normalized: Vec<f32>,
}

impl Trace {
    /// Number of tokens `L`.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
    /// True when there are no tokens (never, with [CLS] and [SEP]).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
    /// Hidden states as `output_hidden_states` gives them: the embeddings
    /// output, then each layer's output.
    pub fn hidden_states(&self) -> Vec<&[f32]> {
        std::iter::once(self.embeddings.as_slice())
            .chain(self.layers.iter().map(|l| l.output.as_slice()))
            .collect()
    }
    /// Attention probabilities of `layer`, `head`: `[L, L]`.
    pub fn probs(&self, layer: usize, head: usize) -> &[f32] {
        let l = self.len();
        &self.layers[layer].probs[head * l * l..(head + 1) * l * l]
    }
}

/// Run `text` through `encoder`'s model, keeping every intermediate tensor.
pub fn trace(encoder: &Encoder, text: &str) -> Result<Trace> {
    let tokens = encoder.tokenizer().encode(text)?;
    trace_tokens(encoder, text, tokens)
}

/// [`trace`] of already tokenized text.
pub fn trace_tokens(encoder: &Encoder, text: &str, tokens: Tokens) -> Result<Trace> {
    let cfg = encoder.config();
    let model = encoder.model();
    let batch = TokenBatch::new([(tokens.ids.as_slice(), tokens.type_ids.as_slice())], cfg)?;
    let (l, h, heads) = (batch.tokens(), cfg.hidden_size, cfg.num_heads);

    let mut embeddings_sum = vec![0.0; l * h];
    model.embeddings.sum(&batch, &mut embeddings_sum);
    let mut embeddings = vec![0.0; l * h];
    model
        .embeddings
        .layer_norm
        .forward(&embeddings_sum, &mut embeddings, None);

    let mut layers = Vec::with_capacity(model.layers.len());
    let mut x = embeddings.clone();
    let mut scratch = Scratch::default();
    for layer in &model.layers {
        layers.push(trace_layer(layer, &mut x, &batch, &mut scratch));
    }
    let pooled = mean_pool(&x, &batch, h);
    let mut normalized = pooled.clone();
    l2_normalize(&mut normalized);
    Ok(Trace {
        text: text.to_string(),
        tokens,
        hidden: h,
        heads,
        intermediate: cfg.intermediate_size,
        embeddings_sum,
        embeddings,
        layers,
        pooled,
        normalized,
    })
}

/// Run `layer` over `x` in place with [`Record::Trace`], and lay out what it kept.
fn trace_layer(layer: &Layer, x: &mut [f32], batch: &TokenBatch, s: &mut Scratch) -> LayerTrace {
    let mut acts = LayerActs::default();
    let record = Record::Trace(&mut acts);
    layer.forward(x, batch, s, record, LayerDropout::default());
    let LayerActs {
        attention: att,
        feed_forward: ffn,
    } = acts;
    let h = att.ctx.len() / batch.tokens().max(1);
    let split = |part: usize| -> Vec<f32> {
        att.qkv
            .chunks(3 * h)
            .flat_map(|row| &row[part * h..(part + 1) * h])
            .copied()
            .collect()
    };
    LayerTrace {
        query: split(0),
        key: split(1),
        value: split(2),
        probs: att.probs,
        context: att.ctx,
        attention_dense: att.dense,
        attention_residual: att.layer_norm.input,
        attention_output: ffn.input,
        intermediate_pre: ffn.pre_gelu,
        intermediate: ffn.gelu,
        output_dense: ffn.dense,
        output_residual: ffn.layer_norm.input,
        output: x.to_vec(),
    }
}

/// One named tensor of a [`Trace`].
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    /// Name after the Hugging Face module that outputs it (docs/internals.md, "Dump names").
    pub name: &'static str,
    /// Layer index for `encoder.layer.{N}.…` names, substituted into `name`.
    pub layer: Option<usize>,
    /// Shape, row-major.
    pub shape: [usize; 3],
    /// Number of used dimensions of `shape` (1, 2 or 3).
    pub rank: usize,
    /// The values.
    pub data: &'a [f32],
}

impl Named<'_> {
    /// The full name, with the layer index filled in.
    pub fn full_name(&self) -> String {
        match self.layer {
            Some(n) => format!("encoder.layer.{n}.{}", self.name),
            None => self.name.to_string(),
        }
    }
    /// The used dimensions of the shape.
    pub fn dims(&self) -> &[usize] {
        &self.shape[..self.rank]
    }
}

impl Trace {
    /// Every tensor in forward order, named after the Hugging Face modules
    /// (`BertModel` of `transformers`, then sentence-transformers' `Pooling`
    /// and `Normalize`) whose output it is.
    pub fn named(&self) -> Vec<Named<'_>> {
        let (l, h) = (self.len(), self.hidden);
        let mat = |name: &'static str, layer: Option<usize>, cols: usize, data| Named {
            name,
            layer,
            shape: [l, cols, 0],
            rank: 2,
            data,
        };
        let mut out = vec![
            mat(
                "embeddings.LayerNorm.input",
                None,
                h,
                self.embeddings_sum.as_slice(),
            ),
            mat("embeddings", None, h, self.embeddings.as_slice()),
        ];
        for (n, t) in self.layers.iter().enumerate() {
            let n = Some(n);
            out.push(mat("attention.self.query", n, h, &t.query));
            out.push(mat("attention.self.key", n, h, &t.key));
            out.push(mat("attention.self.value", n, h, &t.value));
            out.push(Named {
                name: "attention.self.attention_probs",
                layer: n,
                shape: [self.heads, l, l],
                rank: 3,
                data: &t.probs,
            });
            out.push(mat("attention.self", n, h, &t.context));
            out.push(mat("attention.output.dense", n, h, &t.attention_dense));
            out.push(mat(
                "attention.output.LayerNorm.input",
                n,
                h,
                &t.attention_residual,
            ));
            out.push(mat("attention", n, h, &t.attention_output));
            out.push(mat(
                "intermediate.dense",
                n,
                self.intermediate,
                &t.intermediate_pre,
            ));
            out.push(mat("intermediate", n, self.intermediate, &t.intermediate));
            out.push(mat("output.dense", n, h, &t.output_dense));
            out.push(mat("output.LayerNorm.input", n, h, &t.output_residual));
            out.push(mat("output", n, h, &t.output));
        }
        out.push(Named {
            name: "pooling",
            layer: None,
            shape: [h, 0, 0],
            rank: 1,
            data: &self.pooled,
        });
        out.push(Named {
            name: "normalize",
            layer: None,
            shape: [h, 0, 0],
            rank: 1,
            data: &self.normalized,
        });
        out
    }
}
