//! `minilm similarity A B`: cosine similarity of two texts.

use super::args::Args;
use super::load_encoder;
use crate::error::{Error, Result};

const HELP: &str = "usage: minilm similarity TEXT_A TEXT_B [TEXT ...] [--model DIR] [--threads N]

Prints the cosine similarity of TEXT_A with each following text.";

/// Run `minilm similarity`.
pub fn run(argv: &[String]) -> Result<()> {
    let args = Args::parse(argv, &["model", "threads", "batch-size"], &["help"])?;
    if args.switch("help") {
        println!("{HELP}");
        return Ok(());
    }
    if args.positional.len() < 2 {
        return Err(Error::msg(format!("need at least two texts\n{HELP}")));
    }
    if let Some(i) = args.positional.iter().position(|t| t.trim().is_empty()) {
        return Err(Error::msg(format!("text {} is empty", i + 1)));
    }
    let encoder = load_encoder(&args)?.with_normalize(true);
    let texts: Vec<&str> = args.positional.iter().map(String::as_str).collect();
    let e = encoder.embed(&texts)?;
    for (t, v) in texts[1..].iter().zip(&e[1..]) {
        let cos: f32 = e[0].iter().zip(v).map(|(a, b)| a * b).sum();
        if texts.len() == 2 {
            println!("{cos:.4}");
        } else {
            println!("{cos:.4}\t{t}");
        }
    }
    Ok(())
}
