//! Looking inside the model: a traced forward pass that keeps every
//! intermediate tensor ([`trace`]), summaries of it as text or JSON
//! ([`report`]), a self-contained HTML page ([`html`]) and a safetensors dump
//! named after the Hugging Face modules ([`dump`]). Built with the `inspect`
//! feature; the `minilm inspect` command is `src/cli/inspect.rs`.

pub mod dump;
pub mod html;
pub mod report;
pub mod trace;

pub use report::Summary;
pub use trace::{trace, Trace};
