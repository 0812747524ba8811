//! The public sentence encoder: text in, 384-d embeddings out.

use crate::config::{BertConfig, PipelineConfig};
use crate::error::{Error, Result};
use crate::model::bert::Scratch;
use crate::model::pooling::{l2_normalize, mean_pool};
use crate::model::{BertModel, TokenBatch};
use crate::precision::Precision;
use crate::tokenize::{Tokenizer, Tokens};
use crate::weights::ParamStore;
use std::path::{Path, PathBuf};

/// Batch size used when none is set: large enough to keep both cores busy in
/// the matrix products, small enough to bound memory (~20 MB of activations).
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// Where the model is looked for when no folder is given: `$MINILM_MODEL`,
/// else `weights/all-MiniLM-L6-v2` under the current directory, else the same
/// folder in the source tree this binary was built from.
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MINILM_MODEL") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("weights/all-MiniLM-L6-v2");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/all-MiniLM-L6-v2")
}

/// Tokenizer + BERT + mean pooling + optional L2 normalisation.
#[derive(Clone)]
pub struct Encoder {
    tokenizer: Tokenizer,
    model: BertModel,
    params: ParamStore,
    pipeline: PipelineConfig,
    batch_size: usize,
    normalize: bool,
}

impl Encoder {
    /// Load a model folder in the sentence-transformers layout: `config.json`,
    /// `model.safetensors`, `tokenizer.json`, and optionally
    /// `sentence_bert_config.json`, `1_Pooling/config.json`, `modules.json`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::from_dir_at(dir, None)
    }

    /// [`Encoder::from_dir`] at `precision` (`None`: the folder's own); the
    /// weights are packed once, in that precision.
    pub fn from_dir_at(dir: impl AsRef<Path>, precision: Option<Precision>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::file(
                dir,
                "model folder not found (run weights/fetch.sh, or pass --model DIR)",
            ));
        }
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        let pipeline = PipelineConfig::from_dir(dir, &config)?;
        let params = ParamStore::load(&dir.join("model.safetensors"), &config)?;
        let precision = precision.unwrap_or(params.precision());
        params
            .check_runs_at(precision)
            .map_err(|e| Error::file(dir, e.message()))?;
        let tokenizer = Tokenizer::from_file(&dir.join("tokenizer.json"), pipeline.max_seq_length)?;
        Ok(Self::build(config, pipeline, params, tokenizer, precision))
    }

    /// Assemble an encoder from already-loaded parts, in the precision the
    /// parameters were stored in (f32, or int8 for an int8 model folder).
    pub fn from_parts(
        config: BertConfig,
        pipeline: PipelineConfig,
        params: ParamStore,
        tokenizer: Tokenizer,
    ) -> Self {
        let precision = params.precision();
        Self::build(config, pipeline, params, tokenizer, precision)
    }

    fn build(
        config: BertConfig,
        pipeline: PipelineConfig,
        params: ParamStore,
        tokenizer: Tokenizer,
        precision: Precision,
    ) -> Self {
        let model = BertModel::from_store_at(&config, &params, precision);
        let normalize = pipeline.normalize;
        Encoder {
            tokenizer,
            model,
            params,
            pipeline,
            batch_size: DEFAULT_BATCH_SIZE,
            normalize,
        }
    }

    /// The configuration, pipeline, parameters and tokenizer this encoder
    /// was built from; its packed copy of the weights is dropped.
    pub fn into_parts(self) -> (BertConfig, PipelineConfig, ParamStore, Tokenizer) {
        let config = self.config().clone();
        (config, self.pipeline, self.params, self.tokenizer)
    }

    /// Sequences per forward pass (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The same encoder with its dense layers in `precision` (see
    /// [`crate::precision`]); the weights are packed again. An int8 model
    /// folder runs only at int8: its f32 weights are gone, so asking for
    /// f32 or bf16 is an error rather than a silent upcast.
    pub fn with_precision(mut self, precision: Precision) -> Result<Self> {
        self.params.check_runs_at(precision)?;
        if precision != self.model.precision {
            self.model = BertModel::from_store_at(self.config(), &self.params, precision);
        }
        Ok(self)
    }

    /// The arithmetic of the dense layers.
    pub fn precision(&self) -> Precision {
        self.model.precision
    }

    /// Whether embeddings are scaled to unit length (default: as the model's
    /// `modules.json` says; on for all-MiniLM-L6-v2).
    pub fn with_normalize(mut self, on: bool) -> Self {
        self.normalize = on;
        self
    }

    /// The BERT model.
    pub fn model(&self) -> &BertModel {
        &self.model
    }
    /// The parameters as loaded, by tensor name.
    pub fn params(&self) -> &ParamStore {
        &self.params
    }
    /// The model's shape.
    pub fn config(&self) -> &BertConfig {
        &self.model.config
    }
    /// The sentence pipeline's settings.
    pub fn pipeline(&self) -> &PipelineConfig {
        &self.pipeline
    }
    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }
    /// Embedding width (384).
    pub fn dim(&self) -> usize {
        self.model.config.hidden_size
    }

    /// Word pieces of each text, truncated to `max_seq_length`.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Tokens>> {
        self.tokenizer.encode_batch(texts)
    }

    /// One embedding per text, in input order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let tokens = self.tokenize(texts)?;
        self.embed_tokens(&tokens)
    }

    /// One embedding per tokenized text, in input order. Texts are grouped
    /// by length into batches of `batch_size`; a text's embedding does not
    /// depend on its batch.
    pub fn embed_tokens(&self, tokens: &[Tokens]) -> Result<Vec<Vec<f32>>> {
        let mut out = vec![Vec::new(); tokens.len()];
        self.embed_each(tokens, |i, v| out[i] = v.to_vec())?;
        Ok(out)
    }

    /// Calls `put(i, embedding of tokens[i])` once per text, batch by batch
    /// (longest texts first, not in input order): the one embedding loop
    /// behind [`Encoder::embed_tokens`] and the `ndarray` feature's arrays.
    pub(crate) fn embed_each(
        &self,
        tokens: &[Tokens],
        mut put: impl FnMut(usize, &[f32]),
    ) -> Result<()> {
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].len()));
        let h = self.dim();
        // Longest batch first: the buffers grow once and are reused.
        let mut scratch = Scratch::default();
        for chunk in order.chunks(self.batch_size) {
            let pooled = self.pool(chunk.iter().map(|&i| &tokens[i]), &mut scratch)?;
            for (&i, v) in chunk.iter().zip(pooled.chunks(h)) {
                put(i, v);
            }
        }
        Ok(())
    }

    /// Pooled (and, if set, normalised) embeddings of one batch, `[rows, hidden]`.
    fn pool<'a>(
        &self,
        seqs: impl Iterator<Item = &'a Tokens>,
        scratch: &mut Scratch,
    ) -> Result<Vec<f32>> {
        let batch = TokenBatch::new(
            seqs.map(|t| (t.ids.as_slice(), t.type_ids.as_slice())),
            self.config(),
        )?;
        let x = self.model.forward_with(&batch, scratch);
        let h = self.dim();
        let mut pooled = mean_pool(&x, &batch, h);
        if self.normalize {
            for v in pooled.chunks_mut(h) {
                l2_normalize(v);
            }
        }
        Ok(pooled)
    }

    /// Tokens of `text` and every hidden state (`num_layers + 1` buffers of
    /// `[tokens, hidden]`: the embeddings output, then each layer's output).
    pub fn hidden_states(&self, text: &str) -> Result<(Tokens, Vec<Vec<f32>>)> {
        let tokens = self.tokenizer.encode(text)?;
        let batch = TokenBatch::new(
            [(tokens.ids.as_slice(), tokens.type_ids.as_slice())],
            self.config(),
        )?;
        let mut hidden = Vec::new();
        self.model.forward(&batch, Some(&mut hidden));
        Ok((tokens, hidden))
    }
}
