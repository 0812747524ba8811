//! The `minilm` command line: one file per subcommand; `main.rs` only dispatches.

pub mod args;
pub mod convert;
pub mod embed;
#[cfg(feature = "train")]
pub mod eval;
#[cfg(feature = "inspect")]
pub mod inspect;
pub mod jsonl;
#[cfg(feature = "train")]
pub mod predict;
#[cfg(feature = "train")]
pub mod prepare_data;
pub mod similarity;
#[cfg(feature = "train")]
pub mod study;
#[cfg(feature = "train")]
pub mod train;

use crate::encoder::{default_model_dir, Encoder};
use crate::error::Result;
use args::Args;

/// Apply `--threads N` (else `RAYON_NUM_THREADS`, else every core).
pub fn apply_threads(args: &Args) -> Result<()> {
    if let Some(n) = args.parsed::<usize>("threads")? {
        if n == 0 {
            return Err(crate::Error::msg("--threads must be at least 1"));
        }
        minilm_kernels::parallel::set_threads(n).map_err(crate::Error::msg)?;
    }
    Ok(())
}

/// The model folder named by `--model DIR`, else `$MINILM_MODEL`, else the
/// default folder.
pub fn model_dir(args: &Args) -> std::path::PathBuf {
    args.value("model")
        .map(Into::into)
        .unwrap_or_else(default_model_dir)
}

/// The encoder named by `--model DIR` (else `$MINILM_MODEL`, else the model
/// built into the binary with the `embed-model` feature, else the default
/// folder), with `--batch-size` and `--threads` applied.
pub fn load_encoder(args: &Args) -> Result<Encoder> {
    apply_threads(args)?;
    #[cfg(feature = "embed-model")]
    let mut enc = if args.value("model").is_none() && std::env::var_os("MINILM_MODEL").is_none() {
        Encoder::embedded()?
    } else {
        Encoder::from_dir(model_dir(args))?
    };
    #[cfg(not(feature = "embed-model"))]
    let mut enc = Encoder::from_dir(model_dir(args))?;
    if let Some(b) = args.parsed::<usize>("batch-size")? {
        if b == 0 {
            return Err(crate::Error::msg("--batch-size must be at least 1"));
        }
        enc = enc.with_batch_size(b);
    }
    Ok(enc)
}

/// The base model's tokenizer and the multi-task model of `--checkpoint DIR`
/// (see [`load_checkpoint_and_base`]). The base `Encoder` is dropped once
/// the model is built: keeping it would hold a second copy of every weight
/// (plain and packed, ~180 MB).
#[cfg(feature = "train")]
pub fn load_checkpoint(
    args: &Args,
) -> Result<(crate::tokenize::Tokenizer, crate::train::MultiTaskModel)> {
    let (ckpt, dir) = read_checkpoint(args)?;
    let encoder = Encoder::from_dir(&dir)?;
    ckpt.check_base(&dir.join("model.safetensors"))?;
    let (config, _, params, tokenizer) = encoder.into_parts();
    let model = ckpt.apply_to(params, &config)?;
    Ok((tokenizer, model))
}

/// The base encoder and the multi-task model of `--checkpoint DIR` applied
/// over it; refuses a checkpoint made for another base model.
#[cfg(feature = "train")]
pub fn load_checkpoint_and_base(args: &Args) -> Result<(Encoder, crate::train::MultiTaskModel)> {
    let (ckpt, dir) = read_checkpoint(args)?;
    let encoder = Encoder::from_dir(&dir)?;
    ckpt.check_base(&dir.join("model.safetensors"))?;
    let model = ckpt.into_model(encoder.params(), encoder.config())?;
    Ok((encoder, model))
}

/// The checkpoint of `--checkpoint DIR` and the base model folder (the
/// caller loads it, then checks the checkpoint against it); also applies
/// `--threads`.
#[cfg(feature = "train")]
fn read_checkpoint(
    args: &Args,
) -> Result<(crate::train::checkpoint::Checkpoint, std::path::PathBuf)> {
    let ckpt = args
        .value("checkpoint")
        .ok_or_else(|| crate::Error::msg("--checkpoint DIR is required"))?;
    let ckpt = crate::train::checkpoint::Checkpoint::read(std::path::Path::new(ckpt))?;
    apply_threads(args)?;
    Ok((ckpt, model_dir(args)))
}
