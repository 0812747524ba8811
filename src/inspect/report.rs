//! What `minilm inspect` prints: per-token, per-layer and per-head summaries
//! of a [`Trace`], as aligned text or as JSON.

use super::trace::Trace;
use serde_json::{json, Value};
use std::fmt::Write;

/// One word piece with its place in the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// Vocabulary id.
    pub id: u32,
    /// The piece as the vocabulary spells it (`##` marks a continuation).
    pub piece: String,
    /// Byte range in the text (`None` for [CLS], [SEP]).
    pub bytes: Option<(usize, usize)>,
    /// Character (Unicode scalar) range in the text (`None` for specials).
    pub chars: Option<(usize, usize)>,
}

/// One task head's output for the traced sentence (`--checkpoint`).
#[derive(Clone, Debug, PartialEq)]
pub struct HeadOutput {
    /// The task's name (e.g. `topic`).
    pub task: String,
    /// Class names, in logit order.
    pub classes: Vec<String>,
    /// `e·Wᵀ + b` of the sentence embedding `e`.
    pub logits: Vec<f32>,
    /// softmax(logits).
    pub probs: Vec<f32>,
}

impl HeadOutput {
    /// A head's output from its logits (the probabilities are computed in f64).
    pub fn new(task: String, classes: Vec<String>, logits: Vec<f32>) -> Self {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let z: f64 = logits.iter().map(|&v| (v as f64 - max).exp()).sum();
        let probs = logits
            .iter()
            .map(|&v| ((v as f64 - max).exp() / z) as f32)
            .collect();
        HeadOutput {
            task,
            classes,
            logits,
            probs,
        }
    }
    /// Index of the most probable class.
    pub fn predicted(&self) -> usize {
        argmax(&self.probs)
    }
}

/// Summaries of one traced sentence.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The word pieces.
    pub pieces: Vec<Piece>,
    /// `‖x_t‖` of every token in every hidden state: index 0 is the
    /// embeddings output, index `n + 1` layer `n`'s output.
    pub hidden_norms: Vec<Vec<f32>>,
    /// Per layer and head: the mean over query tokens of the entropy (nats)
    /// of that token's attention distribution. Uniform attention over `L`
    /// tokens gives `ln L`; attending to one token gives 0.
    pub entropy: Vec<Vec<f32>>,
    /// Per layer, head and token: the index of the token it attends to most.
    pub argmax: Vec<Vec<Vec<usize>>>,
    /// `‖pooled‖` before normalisation.
    pub pooled_norm: f32,
    /// Each token's share of the pooled embedding, see [`pooling_shares`].
    pub shares: Vec<f32>,
    /// The task heads' outputs, when a checkpoint was given (else empty).
    pub heads: Vec<HeadOutput>,
}

/// Each token's share of the mean-pooled embedding `p = Σ_t x_t / L`:
/// `s_t = (x_t/L)·p / ‖p‖²`, the length of its term projected on `p`, in
/// units of `‖p‖`. The shares sum to 1; a negative share pulls the embedding
/// away from its own direction.
pub fn pooling_shares(last: &[f32], pooled: &[f32]) -> Vec<f32> {
    let h = pooled.len();
    let l = last.len() / h;
    let pp: f64 = pooled.iter().map(|&v| v as f64 * v as f64).sum();
    last.chunks(h)
        .map(|x| {
            let dot: f64 = x
                .iter()
                .zip(pooled)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum();
            (dot / l as f64 / pp.max(1e-30)) as f32
        })
        .collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|&a| a as f64 * a as f64).sum::<f64>().sqrt() as f32
}

fn entropy(row: &[f32]) -> f32 {
    -row.iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| p as f64 * (p as f64).ln())
        .sum::<f64>() as f32
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold(0, |best, (i, &p)| if p > row[best] { i } else { best })
}

/// The word pieces of `trace` with byte and character offsets.
pub fn pieces(trace: &Trace) -> Vec<Piece> {
    let t = &trace.tokens;
    let char_at = |b: usize| trace.text.get(..b).map_or(0, |s| s.chars().count());
    (0..t.len())
        .map(|i| {
            let (s, e) = t.offsets[i];
            let special = s == e;
            Piece {
                id: t.ids[i],
                piece: t.pieces[i].clone(),
                bytes: (!special).then_some((s, e)),
                chars: (!special).then(|| (char_at(s), char_at(e))),
            }
        })
        .collect()
}

impl Summary {
    /// Compute every summary of `trace`.
    pub fn of(trace: &Trace) -> Summary {
        let (l, h) = (trace.len(), trace.hidden);
        let hidden_norms = trace
            .hidden_states()
            .iter()
            .map(|s| s.chunks(h).map(norm).collect())
            .collect();
        let mut entropy_all = Vec::new();
        let mut argmax_all = Vec::new();
        for n in 0..trace.layers.len() {
            let (mut ent, mut arg) = (Vec::new(), Vec::new());
            for head in 0..trace.heads {
                let p = trace.probs(n, head);
                ent.push(p.chunks(l).map(entropy).sum::<f32>() / l as f32);
                arg.push(p.chunks(l).map(argmax).collect());
            }
            entropy_all.push(ent);
            argmax_all.push(arg);
        }
        let last = trace
            .layers
            .last()
            .map_or(trace.embeddings.as_slice(), |t| t.output.as_slice());
        Summary {
            pieces: pieces(trace),
            hidden_norms,
            entropy: entropy_all,
            argmax: argmax_all,
            pooled_norm: norm(&trace.pooled),
            shares: pooling_shares(last, &trace.pooled),
            heads: Vec::new(),
        }
    }

    /// The summaries as JSON (see `minilm inspect --help` for the fields).
    pub fn to_json(&self, text: &str) -> Value {
        let tokens: Vec<Value> = self
            .pieces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "index": i, "id": p.id, "piece": p.piece,
                    "bytes": p.bytes.map(|(s, e)| [s, e]),
                    "chars": p.chars.map(|(s, e)| [s, e]),
                    "pooling_share": self.shares[i],
                })
            })
            .collect();
        let layers: Vec<Value> = (0..self.entropy.len())
            .map(|n| {
                json!({
                    "layer": n,
                    "hidden_norm": self.hidden_norms[n + 1],
                    "attention_entropy": self.entropy[n],
                    "attention_argmax": self.argmax[n],
                })
            })
            .collect();
        let mut v = json!({
            "text": text,
            "tokens": tokens,
            "embeddings_norm": self.hidden_norms[0],
            "layers": layers,
            "pooled_norm": self.pooled_norm,
        });
        if !self.heads.is_empty() {
            let heads: Vec<Value> = self
                .heads
                .iter()
                .map(|h| {
                    json!({
                        "task": h.task, "classes": h.classes, "logits": h.logits,
                        "probabilities": h.probs, "predicted": h.classes[h.predicted()],
                    })
                })
                .collect();
            v["heads"] = Value::Array(heads);
        }
        v
    }

    /// The summaries as aligned plain text.
    pub fn to_text(&self, text: &str) -> String {
        let mut s = String::new();
        let l = self.pieces.len();
        let w = self
            .pieces
            .iter()
            .map(|p| p.piece.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            s,
            "text: {}",
            serde_json::to_string(text).expect("a string serialises")
        );
        let _ = writeln!(
            s,
            "\nword pieces ({l}; chars = character offsets in the text):"
        );
        let _ = writeln!(
            s,
            "{:>4}  {:<w$}  {:>6}  {:>9}  {:>7}",
            "#", "piece", "id", "chars", "share"
        );
        for (i, p) in self.pieces.iter().enumerate() {
            let chars = p
                .chars
                .map_or("-".to_string(), |(a, b)| format!("{a}..{b}"));
            let _ = writeln!(
                s,
                "{i:>4}  {:<w$}  {:>6}  {chars:>9}  {:>7.3}",
                p.piece, p.id, self.shares[i]
            );
        }
        let _ = writeln!(s, "(share: the token's part of the mean-pooled embedding, (x_t/L)·p/‖p‖²; the shares sum to 1)");

        let layers = self.entropy.len();
        let _ = writeln!(s, "\nhidden-state norm ‖x_t‖ per token (emb = embeddings output, Ln = output of layer n):");
        let _ = write!(s, "{:>4}  {:<w$}  {:>6}", "#", "piece", "emb");
        for n in 0..layers {
            let _ = write!(s, "  {:>6}", format!("L{n}"));
        }
        s.push('\n');
        for (i, p) in self.pieces.iter().enumerate() {
            let _ = write!(s, "{i:>4}  {:<w$}", p.piece);
            for norms in &self.hidden_norms {
                let _ = write!(s, "  {:>6.2}", norms[i]);
            }
            s.push('\n');
        }

        let heads = self.entropy.first().map_or(0, Vec::len);
        let _ = writeln!(
            s,
            "\nattention entropy per head (nats, mean over query tokens; uniform over {l} tokens = {:.2}, one token = 0):",
            (l as f32).ln()
        );
        let _ = write!(s, "{:>5}", "layer");
        for hd in 0..heads {
            let _ = write!(s, "  {:>5}", format!("h{hd}"));
        }
        s.push('\n');
        for (n, ent) in self.entropy.iter().enumerate() {
            let _ = write!(s, "{n:>5}");
            for e in ent {
                let _ = write!(s, "  {e:>5.2}");
            }
            s.push('\n');
        }

        for (n, arg) in self.argmax.iter().enumerate() {
            let _ = writeln!(
                s,
                "\nlayer {n}: the token each token attends to most, per head (token index):"
            );
            let _ = write!(s, "{:>4}  {:<w$}", "#", "piece");
            for hd in 0..heads {
                let _ = write!(s, "  {:>3}", format!("h{hd}"));
            }
            s.push('\n');
            for (i, p) in self.pieces.iter().enumerate() {
                let _ = write!(s, "{i:>4}  {:<w$}", p.piece);
                for per_head in arg {
                    let _ = write!(s, "  {:>3}", per_head[i]);
                }
                s.push('\n');
            }
        }
        let _ = writeln!(
            s,
            "\npooled embedding norm (before L2 normalisation): {:.4}",
            self.pooled_norm
        );
        for head in &self.heads {
            let cw = head
                .classes
                .iter()
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(5)
                .max(5);
            let _ = writeln!(
                s,
                "\nhead {:?} (predicted: {}):",
                head.task,
                head.classes[head.predicted()]
            );
            let _ = writeln!(
                s,
                "  {:<cw$}  {:>9}  {:>11}",
                "class", "logit", "probability"
            );
            for ((c, l), p) in head.classes.iter().zip(&head.logits).zip(&head.probs) {
                let _ = writeln!(s, "  {c:<cw$}  {l:>9.4}  {p:>11.4}");
            }
        }
        s
    }
}
