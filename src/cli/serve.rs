//! `minilm serve`: the OpenAI-compatible embedding server (docs/serving.md).

use crate::error::Result;
use crate::serve::options::{spec, Options};

/// Run `minilm serve`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    crate::serve::run(Options::from_args(&args)?)
}
