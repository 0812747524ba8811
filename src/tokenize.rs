//! Word-piece tokenization with the model's own `tokenizer.json`.
//!
//! The file ships with truncation at 128 and padding to a fixed 128 tokens;
//! sentence-transformers overrides both, and so do we: truncation at the
//! pipeline's `max_seq_length` ([CLS] and [SEP] included) and no padding,
//! since the encoder runs padding-free.

use crate::error::{Error, Result};
use std::path::Path;
use tokenizers::{PostProcessor, TruncationDirection, TruncationParams, TruncationStrategy};

/// One tokenized text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    /// Word-piece ids, starting with [CLS] and ending with [SEP].
    pub ids: Vec<u32>,
    /// Token type (segment) ids; all 0 for a single sentence.
    pub type_ids: Vec<u32>,
    /// The word pieces as strings.
    pub pieces: Vec<String>,
    /// Byte range of each piece in the input text ((0, 0) for special tokens).
    pub offsets: Vec<(usize, usize)>,
}

impl Tokens {
    /// Number of word pieces.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// True when there are no word pieces (never the case with special tokens).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The model's tokenizer, configured as sentence-transformers uses it.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    max_len: usize,
}

impl Tokenizer {
    /// Load `tokenizer.json` and set truncation at `max_len` word pieces.
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path, max_len)
    }

    /// As [`Tokenizer::from_file`], from the file's bytes; `path` names errors.
    pub fn from_bytes(bytes: &[u8], path: &Path, max_len: usize) -> Result<Self> {
        let mut inner = tokenizers::Tokenizer::from_bytes(bytes)
            .map_err(|e| Error::file(path, format!("cannot load tokenizer: {e}")))?;
        let specials = inner
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        if max_len <= specials {
            return Err(Error::file(
                path,
                format!("max_seq_length {max_len} leaves no room for text"),
            ));
        }
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| Error::file(path, format!("cannot set truncation: {e}")))?;
        inner.with_padding(None);
        Ok(Tokenizer { inner, max_len })
    }

    /// The truncation length, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Tokenize a batch of texts (in parallel for large batches).
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Tokens>> {
        let encs = self
            .inner
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::msg(format!("tokenization failed: {e}")))?;
        Ok(encs
            .into_iter()
            .map(|e| Tokens {
                ids: e.get_ids().to_vec(),
                type_ids: e.get_type_ids().to_vec(),
                pieces: e.get_tokens().to_vec(),
                offsets: e.get_offsets().to_vec(),
            })
            .collect())
    }

    /// Tokenize one text.
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        Ok(self.encode_batch(&[text])?.remove(0))
    }
}
