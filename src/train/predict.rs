//! Prediction with a trained multi-task model: class probabilities and
//! classes of tokenized texts, and metrics on a labelled split.

use super::metrics::{from_probs, Metrics};
use super::multitask::{EncoderInput, MultiTaskModel, TaskBatch};
use super::split::Split;
use super::task::Task;
use crate::error::Result;
use crate::model::TokenBatch;
use crate::tokenize::Tokens;

/// Predicted class of every example of `split` under `task`'s head
/// (evaluation mode). With `cache = (states, layer)` — each example's hidden
/// states at the input of layer `layer`, as [`super::prefix::prefix_cache`] computes them —
/// only the layers from `layer` up run.
pub fn predict_classes(
    model: &MultiTaskModel,
    split: &Split,
    task: Task,
    cache: Option<(&[Vec<f32>], usize)>,
) -> Result<Vec<usize>> {
    let classes = model.spec(task).classes.len();
    let Some((c, layer)) = cache else {
        return Ok(from_probs(
            &predict_probs(model, &split.tokens, task, 64)?.concat(),
            classes,
        ));
    };
    let mut order: Vec<usize> = (0..split.len()).collect();
    order.sort_by_key(|&i| split.tokens[i].len());
    let mut pred = vec![0; split.len()];
    for chunk in order.chunks(64) {
        let batch = split.batch(chunk, model.config())?;
        let states: Vec<f32> = chunk.iter().flat_map(|&i| c[i].iter().copied()).collect();
        let labels: Vec<usize> = chunk.iter().map(|&i| split.labels[i]).collect();
        let input = EncoderInput::Hidden {
            batch: &batch,
            states: &states,
            layer,
        };
        let out = model.loss(&[TaskBatch {
            task,
            input,
            labels: &labels,
        }])?;
        for (&i, p) in chunk.iter().zip(from_probs(&out.tasks[0].logits, classes)) {
            pred[i] = p;
        }
    }
    Ok(pred)
}

/// Validation macro-F1 of `task`'s head; with `cache` (hidden states at
/// the input of layer `layer`), only the layers from `layer` up run.
pub(crate) fn validation_f1(
    model: &MultiTaskModel,
    split: &Split,
    task: Task,
    cache: Option<&[Vec<f32>]>,
    layer: usize,
) -> Result<f64> {
    if split.is_empty() {
        return Ok(0.0);
    }
    let pred = predict_classes(model, split, task, cache.map(|c| (c, layer)))?;
    let classes = &model.spec(task).classes;
    Ok(Metrics::compute(classes, &split.labels, &pred).macro_f1)
}

/// Class probabilities `softmax(logits)` of every tokenized text under
/// `task`'s head (evaluation mode), in input order.
pub fn predict_probs(
    model: &MultiTaskModel,
    tokens: &[Tokens],
    task: Task,
    batch_size: usize,
) -> Result<Vec<Vec<f32>>> {
    Ok(predict_probs_tasks(model, tokens, &[task], batch_size)?
        .pop()
        .expect("one task in, one out"))
}

/// [`predict_probs`] for several heads at once: one encoder pass per batch,
/// every head applied to the same sentence embeddings. Returns one
/// `[texts][classes]` table per task, in the order of `tasks`.
pub fn predict_probs_tasks(
    model: &MultiTaskModel,
    tokens: &[Tokens],
    tasks: &[Task],
    batch_size: usize,
) -> Result<Vec<Vec<Vec<f32>>>> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].len()));
    let mut out = vec![vec![Vec::new(); tokens.len()]; tasks.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch = TokenBatch::new(
            chunk
                .iter()
                .map(|&i| (tokens[i].ids.as_slice(), tokens[i].type_ids.as_slice())),
            model.config(),
        )?;
        let pooled = model.embed(&batch);
        for (&task, probs) in tasks.iter().zip(out.iter_mut()) {
            let classes = model.spec(task).classes.len();
            let logits = model.head(task).forward(&pooled, batch.len());
            for (&i, z) in chunk.iter().zip(logits.chunks(classes)) {
                probs[i] = softmax(z);
            }
        }
    }
    Ok(out)
}

/// Softmax of one row of logits, computed in f64.
pub fn softmax(z: &[f32]) -> Vec<f32> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = z.iter().map(|&v| (v as f64 - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| (v / s) as f32).collect()
}

/// Metrics of `task`'s head on a split.
pub fn evaluate(model: &MultiTaskModel, split: &Split, task: Task) -> Result<Metrics> {
    let probs = predict_probs(model, &split.tokens, task, 64)?;
    let classes = &model.spec(task).classes;
    let pred = from_probs(&probs.concat(), classes.len());
    Metrics::try_compute(classes, &split.labels, &pred)
}
