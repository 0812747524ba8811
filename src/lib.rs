//! minilm: all-MiniLM-L6-v2 sentence embeddings in pure Rust.

pub mod error;

#[cfg(feature = "cli")]
pub mod cli;

#[cfg(feature = "train")]
pub mod train;

pub use error::{Error, Result};
