//! Numeric primitives for minilm. This crate knows nothing of BERT: it offers
//! row-major f32 matrix products (and int8 / bf16 ones: [`qgemm`],
//! [`bgemm`]), LayerNorm, softmax and erf-GELU over plain slices, and decides in one place ([`parallel`]) when work is worth
//! spreading over threads.
//!
//! Layout conventions: every matrix is a row-major slice. A weight in PyTorch
//! layout `[n, k]` (out × in) is multiplied as `x · Wᵀ`.
//!
//! Instruction sets: each kernel has an AVX-512, an AVX2+FMA and a portable
//! path, chosen once at run time ([`isa`]; `MINILM_KERNEL` forces one). For
//! one path, results are bit-identical whatever the batch size, a row's
//! position, or the number of threads.
//!
//! `unsafe` lives only in this crate: the SIMD microkernels, the raw output
//! pointer shared by GEMM tasks, and calls of `#[target_feature]` functions
//! after the feature check. Every unsafe block states why it is sound.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod attention;
pub mod bgemm;
pub mod convert;
pub mod fastmath;
pub mod gelu;
pub mod gemm;
pub mod isa;
mod lanes;
pub mod layer_norm;
pub mod matrix;
pub mod parallel;
#[doc(hidden)]
pub mod peak;
pub mod qgemm;
#[cfg(feature = "reference")]
#[doc(hidden)]
pub mod reference;
pub mod softmax;
pub mod splitmix;
mod team;
mod tiles;

pub use bgemm::{linear_bf16, linear_bf16_serial, Bf16Weight};
pub use gemm::{linear, linear_serial, sgemm, sgemm_serial, Epilogue, PackedWeight};
pub use isa::Isa;
pub use matrix::{matmul, matmul_serial, MatMut, MatRef};
pub use qgemm::{linear_i8, linear_i8_serial, quantize_rows_u8, QuantWeight};
