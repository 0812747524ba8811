//! minilm: all-MiniLM-L6-v2 sentence embeddings in pure Rust.
