//! `minilm prepare-data`: convert the raw labelled files unpacked by
//! `data/fetch.sh` into JSON Lines (see [`crate::train::prepare`]).

use crate::cli::spec::{CommandSpec, Opt, Section};
use crate::error::Result;
use crate::train::prepare;
use std::path::PathBuf;

/// Where `data/fetch.sh` unpacks the raw files.
const RAW_DIR: &str = "data/raw";
/// Where the JSON Lines files go.
const OUT_DIR: &str = "data";

/// The command line of `minilm prepare-data`.
pub fn spec() -> CommandSpec {
    CommandSpec {
        name: "prepare-data",
        summary: "convert the raw labelled data (data/fetch.sh) to JSON Lines",
        usage: &[],
        positionals: false,
        about: "Reads the raw files unpacked by data/fetch.sh and writes r8-train.jsonl,
r8-test.jsonl, rt-train.jsonl, rt-validation.jsonl, rt-test.jsonl,
amazon.jsonl, imdb.jsonl and yelp.jsonl.",
        sections: vec![Section {
            title: "",
            options: vec![
                Opt::value("raw", "DIR", "the raw files").default(RAW_DIR),
                Opt::value("out", "DIR", "where the JSON Lines files go").default(OUT_DIR),
                Opt::value("seed", "N", "seed of the Rotten Tomatoes split by film")
                    .default(prepare::RT_SPLIT_SEED),
                Opt::switch("no-check", "skip the comparison with the published counts"),
            ],
        }],
        footer: "",
    }
}

/// Run `minilm prepare-data`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    let raw = PathBuf::from(args.value("raw").unwrap_or(RAW_DIR));
    let out = PathBuf::from(args.value("out").unwrap_or(OUT_DIR));
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
