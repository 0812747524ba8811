//! Multi-task training: data, sampling, gradients, the loop, metrics,
//! checkpoints. Built with the `train` feature.

pub mod adamw;
pub mod checkpoint;
pub mod classify;
pub mod contrastive;
pub mod data;
pub mod experiment;
pub mod grads;
pub mod group;
pub mod logreg;
pub mod loss;
pub mod metrics;
pub mod multitask;
pub mod order;
pub mod pair_loss;
pub mod pairs;
pub mod plan;
pub mod predict;
pub mod prefix;
pub mod prepare;
pub mod resume;
pub mod sampler;
pub mod schedule;
pub mod split;
pub mod study;
pub mod study_report;
pub mod svg;
pub mod task;
pub mod trainer;

pub use grads::Grads;
pub use group::ParamGroup;
pub use multitask::{EncoderInput, Mode, MultiTaskModel, StepOutput, TaskBatch, TaskLoss};
pub use plan::Plan;
pub use split::{Split, TaskData};
pub use task::{HeadSpec, Task};
