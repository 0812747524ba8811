//! The BERT encoder of all-MiniLM-L6-v2, written out layer by layer.
//!
//! Activations are contiguous row-major `[tokens, hidden]` buffers over the
//! real tokens of a whole batch, concatenated ([`TokenBatch`]): the linear
//! layers never see padding, and attention runs per sequence on its own
//! length, which is exactly what a padded, masked batch computes.

pub mod attention;
pub mod batch;
pub mod bert;
pub mod dropout;
pub mod embeddings;
pub mod feed_forward;
pub mod forward;
#[cfg(feature = "train")]
pub mod heads;
pub mod layer;
pub mod layer_norm;
pub mod linear;
pub mod pooling;

pub use batch::TokenBatch;
pub use bert::BertModel;
