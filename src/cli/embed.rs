//! `minilm embed`: JSON Lines in, the same lines with an `"embedding"` out.

use super::jsonl::{open_input_sized, JsonlReader};
use super::spec::{common, CommandSpec, Opt, Section};
use super::{load_encoder, run_chunk, stream_progress};
use crate::encoder::DEFAULT_BATCH_SIZE;
use crate::error::{Error, Result};
use std::io::Write;

/// The command line of `minilm embed`.
pub fn spec() -> CommandSpec {
    CommandSpec {
        name: "embed",
        summary: "sentence embeddings for JSON Lines input",
        usage: &[],
        positionals: false,
        about: "Reads JSON Lines (one object with a \"text\" field per line) from FILE or
standard input and writes each line back with an added \"embedding\" array.
When standard error is a terminal (and standard output is not), shows lines
done and lines/s there, with a bar and an ETA for a FILE.",
        sections: vec![Section {
            title: "",
            options: vec![
                common::input(),
                common::model(true),
                common::batch_size(),
                common::threads(),
                common::precision(),
                Opt::switch(
                    "no-normalize",
                    "mean-pooled embeddings, not scaled to unit length",
                ),
                common::allow_empty(),
                common::quiet(),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm embed`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    // The batch size is set here, not left to the encoder's default, since
    // the progress steps below must be whole batches.
    let batch = args
        .parsed::<usize>("batch-size")?
        .unwrap_or(DEFAULT_BATCH_SIZE);
    let encoder = load_encoder(&args)?.with_batch_size(batch);
    let encoder = if args.switch("no-normalize") {
        encoder.with_normalize(false)
    } else {
        encoder
    };
    let (input, name, size) = open_input_sized(args.value("input"))?;
    let mut reader =
        JsonlReader::new(input, &name, &["embedding"]).allow_empty(args.switch("allow-empty"));
    let mut progress = stream_progress(&args, "embed", size);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // Read a bounded chunk, embed it, write it: memory does not grow with the input.
    loop {
        let chunk = reader.next_chunk(1024)?;
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|r| r.text.as_str()).collect();
        let tokens = encoder.tokenize(&texts)?;
        let end = reader.bytes_read();
        let embeddings = run_chunk(&chunk, tokens, batch, end, &mut progress, |t| {
            encoder.embed_tokens(t)
        })?;
        for (rec, e) in chunk.iter().zip(&embeddings) {
            let json = serde_json::to_string(e).expect("finite floats serialise");
            writeln!(out, "{}", rec.with_field("embedding", &json))
                .map_err(|e| Error::msg(format!("<stdout>: {e}")))?;
        }
    }
    out.flush()
        .map_err(|e| Error::msg(format!("<stdout>: {e}")))?;
    progress.finish();
    Ok(())
}
