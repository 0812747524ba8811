//! Every head of every sequence of a packed batch: the scheduling around
//! [`head_probs`] and [`head_context`] (the (sequence, head) tasks, the
//! thread-local room for probabilities that are not kept, the parallel or
//! serial choice, the head-major output buffer). Sequences are given by
//! their start rows, `starts[s]..starts[s + 1]`, so this knows nothing of
//! tokens or BERT.

use super::{head_context, head_probs};
use crate::parallel;
use std::cell::Cell;
use std::ops::Range;

/// The row range of each sequence.
fn ranges(starts: &[usize]) -> impl Iterator<Item = Range<usize>> + '_ {
    starts.windows(2).map(|w| w[0]..w[1])
}

/// Offsets of each (sequence, head) probability matrix in a buffer that holds
/// them all: sequence `s` with `L` rows owns `heads · L²` values, `[heads, L, L]`.
pub fn probs_offsets(starts: &[usize], heads: usize) -> Vec<usize> {
    let mut off = vec![0];
    for r in ranges(starts) {
        let l = r.len();
        off.push(off.last().unwrap() + heads * l * l);
    }
    off
}

/// `run(sequence, head)` for every (sequence, head) pair, results in that
/// order (sequence-major), on the team when `flops_per_pair · Σ L²` pays
/// for it (a backward pass's per-head work, for instance).
pub fn map_heads<T: Send>(
    starts: &[usize],
    heads: usize,
    flops_per_pair: usize,
    run: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    let n = starts.len().saturating_sub(1);
    let tasks: Vec<(usize, usize)> = (0..n)
        .flat_map(|s| (0..heads).map(move |h| (s, h)))
        .collect();
    let flops: usize = ranges(starts)
        .map(|r| r.len() * r.len() * flops_per_pair)
        .sum();
    if parallel::worth_parallel(flops) {
        parallel::map(tasks.len(), |i| run(tasks[i].0, tasks[i].1))
    } else {
        tasks.iter().map(|&(s, h)| run(s, h)).collect()
    }
}

/// A transform of one head's probabilities before they weight V (dropout),
/// given the offset of the matrix in the all-heads buffer.
pub type ProbsTransform<'a> = &'a (dyn Fn(&mut [f32], usize) + Sync);

thread_local! {
    /// Per-thread room for one head's probabilities when they are not kept.
    static PROBS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// One (sequence, head) task: its output block (head-major, see
/// [`multi_head`]) and, when kept, its probabilities.
struct HeadTask<'a> {
    seq: usize,
    head: usize,
    out: &'a mut [f32],
    probs: Option<&'a mut [f32]>,
}

/// Attention of every head of every sequence of a packed batch (sequence
/// `s` is rows `starts[s]..starts[s + 1]`): `softmax(Q·Kᵀ/√d)` kept in
/// `probs` when given (laid out as [`probs_offsets`] says), `transform` (if
/// any) applied to a copy, which then weights V. `qkv: [tokens, 3·hidden]`
/// holds Q, K, V side by side; `ctx: [tokens, hidden]` receives each head's
/// context in its columns. Runs the (sequence, head) tasks on the team when
/// the work pays for it.
///
/// Each task writes its context into its own contiguous block of a
/// head-major buffer (`[heads, tokens, d]`: head `h` of sequence `s` owns
/// rows `r.start..r.end` of head `h`'s slab), so tasks borrow disjoint
/// slices; that buffer (`by_head`, as long as `ctx`, contents ignored) is
/// then laid out as `[tokens, hidden]` in `ctx`.
pub fn multi_head(
    qkv: &[f32],
    starts: &[usize],
    heads: usize,
    ctx: &mut [f32],
    probs: Option<&mut [f32]>,
    transform: Option<ProbsTransform<'_>>,
    by_head: &mut [f32],
) {
    let n = starts.len().saturating_sub(1);
    let t = starts.last().copied().unwrap_or(0);
    if t == 0 {
        return;
    }
    let hidden = ctx.len() / t;
    let d = hidden / heads;
    let stride = 3 * hidden;
    let scale = 1.0 / (d as f32).sqrt();
    let offsets = probs_offsets(starts, heads);
    assert_eq!(
        by_head.len(),
        t * hidden,
        "attention: head-major buffer size"
    );
    // Output blocks, in memory order (head, then sequence).
    let mut outs: Vec<Option<&mut [f32]>> = Vec::with_capacity(heads * n);
    let mut rest = &mut by_head[..];
    for _ in 0..heads {
        for r in ranges(starts) {
            let (block, tail) = rest.split_at_mut(r.len() * d);
            outs.push(Some(block));
            rest = tail;
        }
    }
    // Probability blocks, in memory order (sequence, then head).
    let mut kept: Vec<Option<&mut [f32]>> = Vec::new();
    if let Some(buf) = probs {
        let mut rest = &mut buf[..*offsets.last().unwrap()];
        for r in ranges(starts) {
            for _ in 0..heads {
                let (block, tail) = rest.split_at_mut(r.len() * r.len());
                kept.push(Some(block));
                rest = tail;
            }
        }
    }
    let tasks: Vec<HeadTask<'_>> = (0..n)
        .flat_map(|s| (0..heads).map(move |h| (s, h)))
        .map(|(s, h)| HeadTask {
            seq: s,
            head: h,
            out: outs[h * n + s].take().expect("one block per task"),
            probs: kept.get_mut(s * heads + h).and_then(Option::take),
        })
        .collect();
    let run = |task: HeadTask<'_>| {
        let (s, h) = (task.seq, task.head);
        let r = starts[s]..starts[s + 1];
        let l = r.len();
        let base = r.start * stride + h * d;
        let (q, k, v) = (
            &qkv[base..],
            &qkv[base + hidden..],
            &qkv[base + 2 * hidden..],
        );
        let mut own = Vec::new();
        let p = match task.probs {
            Some(p) => p,
            None => {
                own = PROBS.with(Cell::take);
                own.resize(l * l, 0.0);
                &mut own[..]
            }
        };
        head_probs(l, d, scale, q, k, stride, p);
        match transform {
            Some(f) => {
                let mut pd = p.to_vec();
                f(&mut pd, offsets[s] + h * l * l);
                head_context(l, d, &pd, v, stride, task.out, d);
            }
            None => head_context(l, d, p, v, stride, task.out, d),
        }
        if own.capacity() > 0 {
            PROBS.with(|c| c.set(own));
        }
    };
    let flops: usize = ranges(starts).map(|r| r.len() * r.len() * hidden * 2).sum();
    if parallel::worth_parallel(flops) {
        parallel::for_each_item(tasks, run);
    } else {
        tasks.into_iter().for_each(run);
    }
    // [heads, tokens, d] → [tokens, hidden].
    for (h, slab) in by_head.chunks_exact(t * d).enumerate() {
        for (row, src) in ctx.chunks_exact_mut(hidden).zip(slab.chunks_exact(d)) {
            row[h * d..(h + 1) * d].copy_from_slice(src);
        }
    }
}
