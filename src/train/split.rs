//! Labelled, tokenized examples: one task's split, and a task's training
//! and validation splits together.

use crate::config::BertConfig;
use crate::error::{Error, Result};
use crate::model::TokenBatch;
use crate::tokenize::{Tokenizer, Tokens};

/// A tokenized, labelled set of examples for one task.
#[derive(Clone, Debug, Default)]
pub struct Split {
    /// Word pieces per example.
    pub tokens: Vec<Tokens>,
    /// Class index per example.
    pub labels: Vec<usize>,
}

impl Split {
    /// Tokenize `texts` with their class indices.
    pub fn new(tokenizer: &Tokenizer, texts: &[&str], labels: Vec<usize>) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(Error::msg(format!(
                "{} texts but {} labels",
                texts.len(),
                labels.len()
            )));
        }
        Ok(Split {
            tokens: tokenizer.encode_batch(texts)?,
            labels,
        })
    }
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Total word pieces.
    pub fn tokens(&self) -> usize {
        self.tokens.iter().map(Tokens::len).sum()
    }
    /// The examples `idx` (in that order) as one padding-free batch.
    pub fn batch(&self, idx: &[usize], config: &BertConfig) -> Result<TokenBatch> {
        TokenBatch::new(
            idx.iter().map(|&i| {
                (
                    self.tokens[i].ids.as_slice(),
                    self.tokens[i].type_ids.as_slice(),
                )
            }),
            config,
        )
    }
}

/// Training and validation data of one task.
#[derive(Clone, Debug, Default)]
pub struct TaskData {
    /// Seen during training.
    pub train: Split,
    /// Scored after every epoch to pick the best state.
    pub validation: Split,
}

/// Steps in one epoch: batches of `batch_size` over the larger task's
/// training split (the smaller task cycles).
pub fn steps_per_epoch(data: &[TaskData; 2], batch_size: usize) -> usize {
    let n_max = data.iter().map(|d| d.train.len()).max().unwrap_or(0);
    n_max.div_ceil(batch_size.max(1))
}

/// Examples of both tasks in a full step (the last batch of an order may be short).
pub fn examples_per_step(data: &[TaskData; 2], batch_size: usize) -> usize {
    data.iter().map(|d| d.train.len().min(batch_size)).sum()
}
