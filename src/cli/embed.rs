//! `minilm embed`: JSON Lines in, the same lines with an `"embedding"` out.

use super::args::Args;
use super::jsonl::{open_input, JsonlReader};
use super::load_encoder;
use crate::error::{Error, Result};
use std::io::Write;

const HELP: &str = "usage: minilm embed [--input FILE] [--model DIR] [--batch-size N] [--threads N] [--no-normalize] [--allow-empty]

Reads JSON Lines (one object with a \"text\" field per line) from FILE or
standard input and writes each line back with an added \"embedding\" array.";

/// Run `minilm embed`.
pub fn run(argv: &[String]) -> Result<()> {
    let args = Args::parse(
        argv,
        &["input", "model", "batch-size", "threads"],
        &["no-normalize", "allow-empty", "help"],
    )?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    if let Some(p) = args.positional.first() {
        return Err(Error::msg(format!("unexpected argument {p:?}\n{HELP}")));
    }
    let encoder = load_encoder(&args)?;
    let encoder = if args.switch("no-normalize") {
        encoder.with_normalize(false)
    } else {
        encoder
    };
    let (input, name) = open_input(args.value("input"))?;
    let mut reader =
        JsonlReader::new(input, &name, &["embedding"]).allow_empty(args.switch("allow-empty"));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Read a bounded chunk, embed it, write it: memory does not grow with the input.
    loop {
        let chunk = reader.next_chunk(1024)?;
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        let embeddings = encoder.embed(&texts)?;
        for (rec, e) in chunk.iter().zip(&embeddings) {
            let json = serde_json::to_string(e).expect("finite floats serialise");
            writeln!(out, "{}", rec.with_field("embedding", &json))
                .map_err(|e| Error::msg(format!("<stdout>: {e}")))?;
        }
    }
    out.flush()
        .map_err(|e| Error::msg(format!("<stdout>: {e}")))
}
