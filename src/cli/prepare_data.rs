//! `minilm prepare-data`: convert the raw labelled files unpacked by
//! `data/fetch.sh` into JSON Lines (see [`crate::train::prepare`]).

use crate::cli::args::Args;
use crate::error::Result;
use crate::train::prepare;
use std::path::PathBuf;

const USAGE: &str =
    "usage: minilm prepare-data [--raw data/raw] [--out data] [--seed N] [--no-check]

Reads the raw files unpacked by data/fetch.sh and writes r8-train.jsonl,
r8-test.jsonl, rt-train.jsonl, rt-validation.jsonl, rt-test.jsonl,
amazon.jsonl, imdb.jsonl and yelp.jsonl. --seed sets the seed of the Rotten
Tomatoes split by film; --no-check skips the comparison with the published
counts.";

pub fn run(argv: &[String]) -> Result<()> {
    if argv.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let args = Args::parse(argv, &["raw", "out", "seed"], &["no-check"])?;
    if !args.positional.is_empty() {
        return Err(crate::Error::msg(format!(
            "prepare-data takes no positional arguments\n{USAGE}"
        )));
    }
    let raw = PathBuf::from(args.value("raw").unwrap_or("data/raw"));
    let out = PathBuf::from(args.value("out").unwrap_or("data"));
    let seed = args
        .parsed::<u64>("seed")?
        .unwrap_or(prepare::RT_SPLIT_SEED);
    let check = !args.switch("no-check");
    let report = prepare::prepare(&raw, &out, seed, check)?;
    for (path, d) in &report.outputs {
        println!("{}: {}", path.display(), d.summary());
    }
    for note in &report.notes {
        println!("{note}");
    }
    if check {
        println!("counts match the published facts");
    }
    Ok(())
}
