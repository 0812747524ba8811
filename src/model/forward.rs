//! What the blocks' one forward shares: what it records ([`Record`]), its
//! reusable buffers ([`Scratch`]) and the projection-dropout-residual step
//! that ends both blocks (`project_residual`).
//!
//! Inference, training and the inspector's trace run the same
//! `Attention::forward`, `FeedForward::forward` and `Layer::forward`; they
//! differ only in the [`Record`] they pass (and training's dropout).

use super::dropout::{maybe_forward, Dropout};
use super::linear::Linear;
use minilm_kernels::Epilogue;

/// What a forward keeps besides its output, in activations of type `A`
/// (`LayerActs`, `AttentionActs`, `FeedForwardActs`).
///
/// The activation types are compiled in every build, not only with `train`
/// or `inspect`: the one forward names them, and inference
/// ([`Record::Nothing`]) never builds one, so the default build pays a branch
/// per block and nothing else.
#[derive(Debug)]
pub enum Record<'a, A> {
    /// Nothing (inference): fused epilogues, every buffer reused from the scratch.
    Nothing,
    /// What the backward needs (training); nothing more is kept.
    Backward(&'a mut A),
    /// That, plus the tensors only the inspector shows: the dense outputs
    /// before their residual and `gelu(u)`.
    Trace(&'a mut A),
}

impl<'a, A> Record<'a, A> {
    /// The activations to fill, unless nothing is recorded.
    pub fn acts(&mut self) -> Option<&mut A> {
        match self {
            Record::Nothing => None,
            Record::Backward(a) | Record::Trace(a) => Some(a),
        }
    }

    /// True for [`Record::Trace`].
    pub fn traces(&self) -> bool {
        matches!(self, Record::Trace(_))
    }

    /// The same kind of record for two parts of `A` (a layer's two blocks).
    pub fn split<B, C>(
        self,
        parts: impl FnOnce(&'a mut A) -> (&'a mut B, &'a mut C),
    ) -> (Record<'a, B>, Record<'a, C>) {
        match self {
            Record::Nothing => (Record::Nothing, Record::Nothing),
            Record::Backward(a) => {
                let (b, c) = parts(a);
                (Record::Backward(b), Record::Backward(c))
            }
            Record::Trace(a) => {
                let (b, c) = parts(a);
                (Record::Trace(b), Record::Trace(c))
            }
        }
    }
}

/// A layer's working buffers, reused across layers, and across the batches
/// of one `Encoder::embed` call (their length only grows, and batches run
/// longest first, so after the first batch nothing is allocated or zeroed
/// again). A buffer that a [`Record`] keeps is moved out into it, and grows
/// back on the next call.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Q, K, V side by side, `[tokens, 3·hidden]`.
    pub(super) qkv: Vec<f32>,
    /// The attention context, `[tokens, hidden]`.
    pub(super) ctx: Vec<f32>,
    /// The attention's head-major buffer, `[tokens, hidden]`.
    pub(super) heads: Vec<f32>,
    /// A LayerNorm's input, `[tokens, hidden]`.
    pub(super) tmp: Vec<f32>,
    /// The feed-forward's wide activation, `[tokens, intermediate]`.
    pub(super) inter: Vec<f32>,
}

/// The first `n` values of `buf`; a shorter one is replaced by `n` zeros
/// (its contents are never read: every forward writes a buffer before
/// reading it). A fresh `vec![0.0; n]` comes zeroed from the allocator,
/// where growing in place would write the zeros (after a record took the
/// buffer, every call of a training forward starts from an empty one).
pub(super) fn fit(buf: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if buf.len() < n {
        *buf = vec![0.0; n];
    }
    &mut buf[..n]
}

/// The first `n` values of `buf`, moved out (for a record); `buf` is left empty.
pub(super) fn take(buf: &mut Vec<f32>, n: usize) -> Vec<f32> {
    let mut v = std::mem::take(buf);
    v.truncate(n);
    v
}

/// `out = residual + dropout(a·Wᵀ + b)` over `m` rows, the end of both
/// blocks before their LayerNorm. `dense`, when given, receives `a·Wᵀ + b`
/// (the trace's `….dense` tensor).
///
/// Two paths, same bits: without dropout and `dense`, the kernel adds the
/// residual in its epilogue (`Epilogue::Residual`, the fast path of
/// inference); otherwise the projection is stored, dropped out, and the
/// residual added after. The kernel adds the bias and then the residual to
/// each output, the same two f32 additions in the same order as the split
/// path, so both give the same bits (`tests/forward.rs` and
/// `tests/inspect.rs` check it on the model).
pub(super) fn project_residual(
    linear: &Linear,
    a: &[f32],
    m: usize,
    residual: &[f32],
    dropout: Option<&Dropout>,
    dense: Option<&mut Vec<f32>>,
    out: &mut [f32],
) {
    if dropout.is_none() && dense.is_none() {
        linear.forward(a, m, Epilogue::Residual(residual), out);
        return;
    }
    linear.forward(a, m, Epilogue::None, out);
    if let Some(d) = dense {
        d.clear();
        d.extend_from_slice(out);
    }
    maybe_forward(dropout, out, 0);
    for (y, &r) in out.iter_mut().zip(residual) {
        *y += r;
    }
}
