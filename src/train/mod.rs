//! Multi-task training: data, sampling, gradients, the loop, metrics,
//! checkpoints. Built with the `train` feature.

pub mod data;
pub mod prepare;
pub mod sampler;
