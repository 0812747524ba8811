//! Dynamic batching: the HTTP side queues jobs on a bounded channel; one
//! dedicated thread takes every job waiting (up to a token budget, waiting
//! at most `batch_wait` for more), runs them together in padding-free
//! forward passes, and answers each job on its oneshot channel. The kernels
//! use every core inside one pass, so one thread runs the passes.

use super::engine::Engine;
use super::error::ApiError;
use super::metrics::Metrics;
use crate::tokenize::Tokens;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What a job asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Sentence embeddings.
    Embed,
    /// Both tasks' class probabilities.
    Classify,
}

/// What a job gets back: one row per input, in the job's order.
pub enum Output {
    /// Embeddings.
    Embeddings(Vec<Vec<f32>>),
    /// `[input][task][class]` probabilities.
    Probs(Vec<Vec<Vec<f32>>>),
}

/// One request's inputs, queued.
pub struct Job {
    work: Work,
    tokens: Vec<Tokens>,
    queued_at: Instant,
    reply: oneshot::Sender<Result<Output, String>>,
}

/// The sending side: admission control (a bound on queued inputs) and the
/// channel to the batcher thread.
pub struct Queue {
    tx: Mutex<Option<SyncSender<Job>>>,
    max_inputs: usize,
    metrics: Arc<Metrics>,
}

impl Queue {
    /// A queue holding at most `max_inputs` inputs, and its receiving end.
    pub fn new(max_inputs: usize, metrics: Arc<Metrics>) -> (Queue, Receiver<Job>) {
        let (tx, rx) = sync_channel(max_inputs);
        let q = Queue {
            tx: Mutex::new(Some(tx)),
            max_inputs,
            metrics,
        };
        (q, rx)
    }

    /// Queue `tokens`; the receiver gets the answer. A full queue answers
    /// 503 at once (with Retry-After) instead of growing.
    pub fn submit(
        &self,
        work: Work,
        tokens: Vec<Tokens>,
    ) -> Result<oneshot::Receiver<Result<Output, String>>, ApiError> {
        let n = tokens.len();
        let m = &self.metrics;
        let before = m.queued_inputs.fetch_add(n, Relaxed);
        let refuse = |msg: &str| {
            m.queued_inputs.fetch_sub(n, Relaxed);
            ApiError::unavailable("queue_full", msg, 1)
        };
        // A request larger than the whole queue still runs when the queue is
        // empty; otherwise the bound holds.
        if before > 0 && before + n > self.max_inputs {
            return Err(refuse(
                "the server is at capacity (its queue is full); retry after a moment",
            ));
        }
        let (reply, rx) = oneshot::channel();
        let job = Job {
            work,
            tokens,
            queued_at: Instant::now(),
            reply,
        };
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Err(refuse("the server is shutting down"));
        };
        match tx.try_send(job) {
            Ok(()) => {
                m.queued_requests.fetch_add(1, Relaxed);
                Ok(rx)
            }
            Err(TrySendError::Full(_)) => Err(refuse(
                "the server is at capacity (its queue is full); retry after a moment",
            )),
            Err(TrySendError::Disconnected(_)) => Err(refuse("the server is shutting down")),
        }
    }

    /// Stop taking jobs; the batcher finishes those queued, then ends.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// How the batcher cuts batches.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Most word pieces per forward pass.
    pub batch_tokens: usize,
    /// Longest a job waits, from its arrival, for others to join.
    pub batch_wait: Duration,
}

/// Run the batcher on the current thread until the queue is closed and
/// empty.
pub fn run(engine: Engine, rx: Receiver<Job>, policy: Policy, metrics: &Metrics) {
    let mut carry: Option<Job> = None;
    loop {
        let first = match carry.take() {
            Some(j) => j,
            None => match rx.recv() {
                Ok(j) => taken(j, metrics),
                Err(_) => return,
            },
        };
        let deadline = first.queued_at + policy.batch_wait;
        let mut tokens: usize = first.tokens.iter().map(Tokens::len).sum();
        let mut jobs = vec![first];
        while tokens < policy.batch_tokens {
            let next = match rx.try_recv() {
                Ok(j) => j,
                Err(_) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        break;
                    }
                    match rx.recv_timeout(wait) {
                        Ok(j) => j,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            let job = taken(next, metrics);
            let t: usize = job.tokens.iter().map(Tokens::len).sum();
            if tokens + t > policy.batch_tokens {
                carry = Some(job);
                break;
            }
            tokens += t;
            jobs.push(job);
        }
        // A client that has gone (or timed out) no longer waits: skip it.
        jobs.retain(|j| {
            let gone = j.reply.is_closed();
            if gone {
                metrics.abandoned.fetch_add(1, Relaxed);
            }
            !gone
        });
        for work in [Work::Embed, Work::Classify] {
            let group: Vec<Job> = extract(&mut jobs, work);
            if !group.is_empty() {
                run_group(&engine, work, group, policy.batch_tokens, metrics);
            }
        }
    }
}

/// Account for a job leaving the queue.
fn taken(job: Job, metrics: &Metrics) -> Job {
    metrics.queued_inputs.fetch_sub(job.tokens.len(), Relaxed);
    metrics.queued_requests.fetch_sub(1, Relaxed);
    job
}

/// The jobs of one kind, removed from `jobs`.
fn extract(jobs: &mut Vec<Job>, work: Work) -> Vec<Job> {
    let (take, keep): (Vec<Job>, Vec<Job>) = jobs.drain(..).partition(|j| j.work == work);
    *jobs = keep;
    take
}

/// Runs of consecutive items whose lengths add up to at most `budget`
/// (an item longer than the budget runs alone).
pub fn cut(lens: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut sum) = (0, 0);
    for (i, &l) in lens.iter().enumerate() {
        if i > start && sum + l > budget {
            out.push(start..i);
            (start, sum) = (i, 0);
        }
        sum += l;
    }
    if start < lens.len() {
        out.push(start..lens.len());
    }
    out
}

/// Run the jobs of one kind: every input, longest first, in passes of at
/// most `budget` tokens; then each job gets its rows back in its order.
fn run_group(engine: &Engine, work: Work, mut jobs: Vec<Job>, budget: usize, metrics: &Metrics) {
    // (job, position) of each input, longest first (stable among equals).
    let mut order: Vec<(usize, usize)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(j, job)| (0..job.tokens.len()).map(move |p| (j, p)))
        .collect();
    order.sort_by_key(|&(j, p)| std::cmp::Reverse(jobs[j].tokens[p].len()));
    let empty = || Tokens {
        ids: Vec::new(),
        type_ids: Vec::new(),
        pieces: Vec::new(),
        offsets: Vec::new(),
    };
    let sorted: Vec<Tokens> = order
        .iter()
        .map(|&(j, p)| std::mem::replace(&mut jobs[j].tokens[p], empty()))
        .collect();
    let lens: Vec<usize> = sorted.iter().map(Tokens::len).collect();
    let mut rows: Vec<Vec<Option<Output1>>> = jobs
        .iter()
        .map(|j| (0..j.tokens.len()).map(|_| None).collect())
        .collect();
    let mut failure: Option<String> = None;
    for range in cut(&lens, budget) {
        let batch = &sorted[range.clone()];
        metrics.batch_inputs.observe(batch.len() as f64);
        let t: usize = lens[range.clone()].iter().sum();
        metrics.batch_tokens.observe(t as f64);
        metrics.tokens.fetch_add(t as u64, Relaxed);
        metrics.inputs.fetch_add(batch.len() as u64, Relaxed);
        let result = match work {
            Work::Embed => engine
                .embed(batch)
                .map(|v| v.into_iter().map(Output1::Embedding).collect::<Vec<_>>()),
            Work::Classify => classify(engine, batch),
        };
        match result {
            Ok(out) => {
                for (&(j, p), row) in order[range].iter().zip(out) {
                    rows[j][p] = Some(row);
                }
            }
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    for (job, rows) in jobs.into_iter().zip(rows) {
        let answer = match &failure {
            Some(e) => Err(e.clone()),
            None => Ok(collect(rows)),
        };
        // The client may have gone meanwhile; nothing to do then.
        let _ = job.reply.send(answer);
    }
}

/// One input's result.
enum Output1 {
    Embedding(Vec<f32>),
    Probs(Vec<Vec<f32>>),
}

/// One job's rows, all present, as its [`Output`].
fn collect(rows: Vec<Option<Output1>>) -> Output {
    let rows = rows.into_iter().map(|r| r.expect("every input ran"));
    let mut emb = Vec::new();
    let mut probs = Vec::new();
    for r in rows {
        match r {
            Output1::Embedding(v) => emb.push(v),
            Output1::Probs(p) => probs.push(p),
        }
    }
    if probs.is_empty() {
        Output::Embeddings(emb)
    } else {
        Output::Probs(probs)
    }
}

#[cfg(feature = "train")]
fn classify(engine: &Engine, batch: &[Tokens]) -> crate::Result<Vec<Output1>> {
    Ok(engine
        .classify(batch)?
        .into_iter()
        .map(Output1::Probs)
        .collect())
}

#[cfg(not(feature = "train"))]
fn classify(_: &Engine, _: &[Tokens]) -> crate::Result<Vec<Output1>> {
    Err(crate::Error::msg(
        "classification needs the `train` feature",
    ))
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn cuts_runs_within_the_budget() {
        assert!(cut(&[], 10).is_empty());
        assert_eq!(cut(&[4, 4, 4, 3], 10), vec![0..2, 2..4]);
        assert_eq!(cut(&[12, 3, 3], 10), vec![0..1, 1..3]);
        assert_eq!(cut(&[5, 5], 10), vec![0..2]);
    }
}
