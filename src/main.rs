//! `minilm`: dispatch to one subcommand.

use minilm::cli;

/// The commands this build has, with one line each.
const COMMANDS: &[(&str, &str, bool)] = &[
    ("embed", "sentence embeddings for JSON Lines input", true),
    (
        "similarity",
        "cosine similarity of a text with others (or of JSON Lines pairs)",
        true,
    ),
    (
        "convert",
        "a copy of the model folder with bf16 / f16 weights",
        true,
    ),
    (
        "inspect",
        "what the model does with a text: tokens, attention, norms, HTML page, tensor dump",
        cfg!(feature = "inspect"),
    ),
    (
        "train",
        "fine-tune the two-task model (classify, or the contrastive few-shot method)",
        cfg!(feature = "train"),
    ),
    (
        "eval",
        "metrics of a checkpoint on labelled files",
        cfg!(feature = "train"),
    ),
    (
        "predict",
        "both tasks' labels and probabilities for JSON Lines input",
        cfg!(feature = "train"),
    ),
    (
        "study",
        "the few-shot study: plans × shots × seeds, baseline, report",
        cfg!(feature = "train"),
    ),
    (
        "serve",
        "an OpenAI-compatible embedding server (POST /v1/embeddings)",
        cfg!(feature = "serve"),
    ),
    (
        "prepare-data",
        "convert the raw labelled data (data/fetch.sh) to JSON Lines",
        cfg!(feature = "train"),
    ),
];

fn usage() -> String {
    let mut s = String::from("usage: minilm <command> [options]   (minilm <command> --help for its options)\n\ncommands:\n");
    for (name, what, built) in COMMANDS {
        if *built {
            s.push_str(&format!("  {name:<13}{what}\n"));
        }
    }
    s.push_str("\n  --version    the version\n");
    s
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        eprint!("{}", usage());
        std::process::exit(2);
    };
    let rest = &argv[1..];
    let result = match cmd.as_str() {
        "-h" | "--help" | "help" => {
            print!("{}", usage());
            Ok(())
        }
        "-V" | "--version" => {
            println!("minilm {}", env!("CARGO_PKG_VERSION"));
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
        #[cfg(feature = "serve")]
        "serve" => cli::serve::run(rest),
        other => Err(minilm::Error::usage(format!(
            "unknown command {other:?}\n{}",
            usage()
        ))),
    };
    if let Err(e) = result {
        eprintln!("minilm: {e}");
        // 2 for a wrong command line (as for no command at all), 1 otherwise.
        let usage = e.kind() == minilm::error::ErrorKind::Usage;
        std::process::exit(if usage { 2 } else { 1 });
    }
}
