//! `minilm`: dispatch to one subcommand.

use minilm::cli;

const USAGE: &str = "usage: minilm <command> [options]

commands:
  embed        sentence embeddings for JSON Lines input
  similarity   cosine similarity of a text with others (or of JSON Lines pairs)
  convert      a copy of the model folder with bf16 / f16 weights
  inspect      what the model does with a text: tokens, attention, norms, HTML page, tensor dump
  prepare-data convert the raw labelled data (data/fetch.sh) to JSON Lines
";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprint!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let result = match cmd.as_str() {
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        #[cfg(feature = "train")]
        "prepare-data" => cli::prepare_data::run(rest),
        "embed" => cli::embed::run(rest),
        "similarity" => cli::similarity::run(rest),
        "convert" => cli::convert::run(rest),
        #[cfg(feature = "train")]
        "train" => cli::train::run(rest),
        #[cfg(feature = "train")]
        "eval" => cli::eval::run(rest),
        #[cfg(feature = "train")]
        "predict" => cli::predict::run(rest),
        #[cfg(feature = "train")]
        "study" => cli::study::run(rest),
        #[cfg(feature = "inspect")]
        "inspect" => cli::inspect::run(rest),
        other => Err(minilm::Error::msg(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    };
    if let Err(e) = result {
        eprintln!("minilm: {e}");
        std::process::exit(1);
    }
}
