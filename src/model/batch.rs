//! A padding-free batch: the token ids of several sequences laid end to end.

use crate::config::BertConfig;
use crate::error::{Error, Result};

/// Sequences concatenated token by token, with their boundaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenBatch {
    /// Word-piece ids of all sequences, end to end.
    pub ids: Vec<u32>,
    /// Token type ids, aligned with `ids`.
    pub type_ids: Vec<u32>,
    /// `starts[i]..starts[i + 1]` are the tokens of sequence `i`
    /// (`starts.len()` is the number of sequences plus one).
    pub starts: Vec<usize>,
}

impl TokenBatch {
    /// Build a batch from per-sequence (ids, type ids), checking every id
    /// against the model's vocabulary, type and position tables.
    pub fn new<'a, I>(seqs: I, cfg: &BertConfig) -> Result<Self>
    where
        I: IntoIterator<Item = (&'a [u32], &'a [u32])>,
    {
        let mut b = TokenBatch {
            starts: vec![0],
            ..Default::default()
        };
        for (n, (ids, types)) in seqs.into_iter().enumerate() {
            if ids.len() != types.len() {
                return Err(Error::msg(format!(
                    "sequence {n}: {} ids but {} type ids",
                    ids.len(),
                    types.len()
                )));
            }
            if ids.is_empty() {
                return Err(Error::msg(format!("sequence {n} has no tokens")));
            }
            if ids.len() > cfg.max_position_embeddings {
                return Err(Error::msg(format!(
                    "sequence {n} has {} tokens, more than the model's {} positions",
                    ids.len(),
                    cfg.max_position_embeddings
                )));
            }
            if let Some(&id) = ids.iter().find(|&&i| i as usize >= cfg.vocab_size) {
                return Err(Error::msg(format!(
                    "sequence {n}: token id {id} is outside the vocabulary"
                )));
            }
            if let Some(&t) = types.iter().find(|&&t| t as usize >= cfg.type_vocab_size) {
                return Err(Error::msg(format!(
                    "sequence {n}: token type {t} is outside the model's types"
                )));
            }
            b.ids.extend_from_slice(ids);
            b.type_ids.extend_from_slice(types);
            b.starts.push(b.ids.len());
        }
        Ok(b)
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
    /// True when the batch holds no sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Total number of tokens.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }
    /// Token range of sequence `i`.
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.starts[i]..self.starts[i + 1]
    }
    /// The first token of each sequence, then the token count: sequence `i`
    /// is `starts()[i]..starts()[i + 1]`.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }
    /// Iterate over the token ranges of all sequences.
    pub fn ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.starts.windows(2).map(|w| w[0]..w[1])
    }
}
