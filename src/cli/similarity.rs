//! `minilm similarity A B`: cosine similarity of two texts; or, with
//! `--input`, of the `"a"` and `"b"` texts of each JSON Lines record.

use super::jsonl::{open_input, JsonlReader};
use super::load_encoder;
use super::spec::{common, CommandSpec, Opt, Section};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use std::io::Write;

/// The command line of `minilm similarity`.
pub fn spec() -> CommandSpec {
    CommandSpec {
        name: "similarity",
        summary: "cosine similarity of a text with others (or of JSON Lines pairs)",
        usage: &["TEXT_A TEXT_B [TEXT ...]", "--input FILE"],
        positionals: true,
        about: "Prints the cosine similarity of TEXT_A with each following text.

With --input (FILE, or - for standard input), reads JSON Lines with two
string fields \"a\" and \"b\" and writes each line back with an added
\"similarity\" (the cosine of the two normalised embeddings); every other
field is kept as it was.",
        sections: vec![Section {
            title: "",
            options: vec![
                Opt::value(
                    "input",
                    "FILE",
                    "JSON Lines pairs {\"a\": …, \"b\": …} (FILE, or - for standard input)",
                ),
                common::allow_empty(),
                common::model(true),
                common::batch_size(),
                common::threads(),
                common::precision(),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm similarity`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    if let Some(input) = args.value("input") {
        if let Some(p) = args.positional.first() {
            return Err(Error::usage(format!(
                "unexpected argument {p:?} with --input"
            )));
        }
        let encoder = load_encoder(&args)?.with_normalize(true);
        return run_jsonl(&encoder, input, args.switch("allow-empty"));
    }
    if args.positional.len() < 2 {
        return Err(Error::usage(
            "need at least two texts (minilm similarity --help)",
        ));
    }
    if let Some(i) = args.positional.iter().position(|t| t.trim().is_empty()) {
        return Err(Error::msg(format!("text {} is empty", i + 1)));
    }
    let encoder = load_encoder(&args)?.with_normalize(true);
    let texts: Vec<&str> = args.positional.iter().map(String::as_str).collect();
    let e = encoder.embed(&texts)?;
    for (t, v) in texts[1..].iter().zip(&e[1..]) {
        let cos = dot(&e[0], v);
        if texts.len() == 2 {
            println!("{cos:.4}");
        } else {
            println!("{cos:.4}\t{t}");
        }
    }
    Ok(())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The JSON Lines form: chunk by chunk, so memory does not grow with the input.
fn run_jsonl(encoder: &Encoder, input: &str, allow_empty: bool) -> Result<()> {
    let (input, name) = open_input(Some(input))?;
    let mut reader = JsonlReader::new(input, &name, &["similarity"]).allow_empty(allow_empty);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io_err = |e: std::io::Error| Error::msg(format!("<stdout>: {e}"));
    loop {
        let mut chunk = Vec::new();
        while chunk.len() < 512 {
            match reader.next_strings(&["a", "b"])? {
                Some(r) => chunk.push(r),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk
            .iter()
            .flat_map(|(_, v)| v.iter().map(String::as_str))
            .collect();
        let e = encoder.embed(&texts)?;
        for ((rec, _), pair) in chunk.iter().zip(e.chunks(2)) {
            let cos = dot(&pair[0], &pair[1]);
            let value = serde_json::to_string(&cos).expect("a finite float serialises");
            writeln!(out, "{}", rec.with_field("similarity", &value)).map_err(io_err)?;
        }
    }
    out.flush().map_err(io_err)
}
