//! minilm: all-MiniLM-L6-v2 sentence embeddings in pure Rust.
//!
//! ```no_run
//! let encoder = minilm::Encoder::from_dir("weights/all-MiniLM-L6-v2")?;
//! let e = encoder.embed(&["A man is eating food.", "A man is eating a piece of bread."])?;
//! let cosine: f32 = e[0].iter().zip(&e[1]).map(|(a, b)| a * b).sum();
//! println!("{cosine:.3}");
//! # Ok::<(), minilm::Error>(())
//! ```

#[cfg(feature = "ndarray")]
pub mod arrays;
pub mod atomic;
pub mod config;
#[cfg(feature = "embed-model")]
pub mod embedded;
pub mod encoder;
pub mod error;
#[cfg(any(feature = "train", feature = "inspect"))]
pub mod markup;
pub mod model;
pub mod precision;
pub mod progress;
pub mod sha256;
pub mod tokenize;
pub mod weights;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "inspect")]
pub mod inspect;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "train")]
pub mod train;

pub use encoder::{default_model_dir, Encoder};
pub use error::{Error, Result};
pub use precision::Precision;
