//! The `minilm` command line: one file per subcommand; `main.rs` only dispatches.

pub mod args;
