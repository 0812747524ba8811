//! The model the batcher runs: the sentence encoder and, with a checkpoint,
//! the two-task classifier. Loaded on the batcher thread; what the HTTP
//! side needs from it (tokenizer, width, task names) is published as
//! [`Ready`] once loading has finished.

use super::options::Options;
use crate::encoder::{default_model_dir, Encoder};
use crate::error::Result;
use crate::tokenize::{Tokenizer, Tokens};

/// What the HTTP side needs once the model is loaded.
pub struct Ready {
    /// The model's tokenizer (truncating at `max_seq_length`).
    pub tokenizer: Tokenizer,
    /// Embedding width.
    pub dim: usize,
    /// The model's name, echoed as `model` in responses.
    pub model_id: String,
    /// With a checkpoint: each task's name and class names, task A first.
    pub tasks: Option<Vec<(String, Vec<String>)>>,
}

/// The encoder (one forward pass per call) and the optional classifier.
pub struct Engine {
    encoder: Encoder,
    #[cfg(feature = "train")]
    classifier: Option<crate::train::multitask::MultiTaskModel>,
}

impl Engine {
    /// Load the model folder (and checkpoint) that `opts` name.
    pub fn load(opts: &Options) -> Result<(Engine, Ready)> {
        let dir = opts.model.clone().unwrap_or_else(default_model_dir);
        #[cfg(feature = "embed-model")]
        let encoder = if opts.model.is_none() && std::env::var_os("MINILM_MODEL").is_none() {
            let enc = Encoder::embedded()?;
            match opts.precision {
                Some(p) => enc.with_precision(p)?,
                None => enc,
            }
        } else {
            Encoder::from_dir_at(&dir, opts.precision)?
        };
        #[cfg(not(feature = "embed-model"))]
        let encoder = Encoder::from_dir_at(&dir, opts.precision)?;
        // The batcher cuts its batches itself (by tokens): one call, one pass.
        let mut encoder = encoder.with_batch_size(usize::MAX);
        if !opts.normalize {
            encoder = encoder.with_normalize(false);
        }
        let model_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "minilm".into());
        #[cfg(feature = "train")]
        let (classifier, tasks) = match &opts.checkpoint {
            None => (None, None),
            Some(ckpt) => {
                let ckpt_dir = ckpt;
                let ckpt = crate::train::checkpoint::Checkpoint::read(ckpt_dir)?;
                ckpt.check_base(&dir.join("model.safetensors"))?;
                let model = ckpt
                    .into_model(encoder.params(), encoder.config())?
                    .with_precision(encoder.precision())?;
                let tasks = crate::train::task::Task::ALL
                    .iter()
                    .map(|&t| (model.spec(t).name.clone(), model.spec(t).classes.clone()))
                    .collect();
                (Some(model), Some(tasks))
            }
        };
        #[cfg(not(feature = "train"))]
        let tasks = match &opts.checkpoint {
            None => None,
            Some(_) => {
                return Err(crate::Error::msg(
                    "--checkpoint needs a build with the `train` feature",
                ))
            }
        };
        let ready = Ready {
            tokenizer: encoder.tokenizer().clone(),
            dim: encoder.dim(),
            model_id,
            tasks,
        };
        let engine = Engine {
            encoder,
            #[cfg(feature = "train")]
            classifier,
        };
        Ok((engine, ready))
    }

    /// Embeddings of one batch (one forward pass), in order.
    pub fn embed(&self, tokens: &[Tokens]) -> Result<Vec<Vec<f32>>> {
        self.encoder.embed_tokens(tokens)
    }

    /// Both tasks' class probabilities of one batch, `[text][task][class]`.
    #[cfg(feature = "train")]
    pub fn classify(&self, tokens: &[Tokens]) -> Result<Vec<Vec<Vec<f32>>>> {
        let model = self
            .classifier
            .as_ref()
            .ok_or_else(|| crate::Error::msg("no checkpoint loaded"))?;
        let tasks = crate::train::task::Task::ALL;
        let tables =
            crate::train::predict::predict_probs_tasks(model, tokens, &tasks, tokens.len())?;
        let mut out: Vec<Vec<Vec<f32>>> = vec![Vec::new(); tokens.len()];
        for table in tables {
            for (row, p) in out.iter_mut().zip(table) {
                row.push(p);
            }
        }
        Ok(out)
    }
}
