//! Numeric primitives for minilm. This crate knows nothing of BERT: it offers
//! row-major f32 matrix products, LayerNorm, softmax and erf-GELU over plain
//! slices, and decides in one place ([`parallel`]) when work is worth
//! spreading over threads.
//!
//! Layout conventions: every matrix is a row-major slice. A weight in PyTorch
//! layout `[n, k]` (out × in) is multiplied as `x · Wᵀ`.

pub mod gelu;
pub mod gemm;
pub mod layer_norm;
pub mod parallel;
pub mod softmax;

pub use gemm::{linear, sgemm, Epilogue, PackedWeight};
