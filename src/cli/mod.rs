//! The `minilm` command line: one file per subcommand; `main.rs` only dispatches.

pub mod args;
pub mod embed;
#[cfg(feature = "inspect")]
pub mod inspect;
pub mod jsonl;
pub mod similarity;
#[cfg(feature = "train")]
pub mod prepare_data;

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

/// The encoder named by `--model DIR` (else `$MINILM_MODEL`, else the
/// default folder), with `--batch-size` and `--threads` applied.
pub fn load_encoder(args: &Args) -> Result<Encoder> {
    apply_threads(args)?;
    let dir = args.value("model").map(Into::into).unwrap_or_else(default_model_dir);
    let mut enc = Encoder::from_dir(&dir)?;
    if let Some(b) = args.parsed::<usize>("batch-size")? {
        if b == 0 {
            return Err(crate::Error::msg("--batch-size must be at least 1"));
        }
        enc = enc.with_batch_size(b);
    }
    Ok(enc)
}
