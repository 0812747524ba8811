//! `minilm inspect`: what the model does with a text, as a report, a page
//! or a tensor dump (the logic is in `src/inspect/`).

use super::args::Args;
use super::jsonl::{open_input, JsonlReader};
use super::load_encoder;
use super::spec::{common, CommandSpec, Opt, Section};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::inspect::report::HeadOutput;
use crate::inspect::{dump, html, trace, Summary, Trace};
use std::io::Write;
use std::path::Path;

/// The command line of `minilm inspect`.
pub fn spec() -> CommandSpec {
    let mut options = vec![
        Opt::value(
            "input",
            "FILE",
            "JSON Lines with a \"text\" field (default: standard input, when no\nTEXT is given)",
        ),
        Opt::switch(
            "json",
            "one JSON object per text (for JSON Lines input: the input line\nwith an added \"inspect\" object) instead of aligned text",
        ),
        Opt::value(
            "html",
            "FILE",
            "write a self-contained page: tokenization, attention heatmaps of\nevery layer and head, per-token pooling shares, norms (one text)",
        ),
        Opt::value(
            "dump",
            "FILE",
            "write every intermediate tensor of the forward pass as\nsafetensors, named after the Hugging Face modules (one text;\nnames in docs/internals.md)",
        ),
    ];
    if cfg!(feature = "train") {
        options.push(Opt::value(
            "checkpoint",
            "DIR",
            "a checkpoint of `minilm train`: trace its fine-tuned encoder and\nadd each task head's logits and probabilities",
        ));
    }
    options.extend([common::model(true), common::threads(), common::precision()]);
    CommandSpec {
        name: "inspect",
        summary:
            "what the model does with a text: tokens, attention, norms, HTML page, tensor dump",
        usage: &["[TEXT ...]"],
        positionals: true,
        about: "Runs each text through the model and reports, for it:
  word pieces with ids, character offsets and their share of the mean-pooled
  embedding; per layer, each token's hidden-state norm, each head's attention
  entropy and, per head, the token each token attends to most; the pooled
  embedding's norm.
Texts are the arguments, or else JSON Lines with a \"text\" field from FILE
or standard input. With --precision bf16 or int8 the trace shows that
arithmetic instead.",
        sections: vec![Section { title: "", options }],
        footer: "With --html or --dump the report is printed only when --json is given.",
    }
}

/// Computes the task heads' outputs of a traced sentence (none without a checkpoint).
type HeadsFn = Box<dyn Fn(&Trace) -> Vec<HeadOutput>>;

/// The encoder to trace, and the heads: with `--checkpoint DIR`, the
/// checkpoint's fine-tuned encoder and its two heads.
fn load(args: &Args) -> Result<(Encoder, HeadsFn)> {
    #[cfg(feature = "train")]
    if args.value("checkpoint").is_some() {
        use crate::train::Task;
        let (base, model) = super::load_checkpoint_and_base(args)?;
        let encoder = Encoder::from_parts(
            base.config().clone(),
            base.pipeline().clone(),
            model.params().clone(),
            base.tokenizer().clone(),
        );
        let encoder = match super::precision_arg(args)? {
            Some(p) => encoder.with_precision(p)?,
            None => encoder,
        };
        let heads = move |tr: &Trace| -> Vec<HeadOutput> {
            // The heads read the embedding the trainer gave them: pooled, or normalised.
            let e = if model.normalize() {
                &tr.normalized
            } else {
                &tr.pooled
            };
            Task::ALL
                .iter()
                .map(|&t| {
                    let spec = model.spec(t);
                    HeadOutput::new(
                        spec.name.clone(),
                        spec.classes.clone(),
                        model.head(t).forward(e, 1),
                    )
                })
                .collect()
        };
        return Ok((encoder, Box::new(heads)));
    }
    Ok((load_encoder(args)?, Box::new(|_: &Trace| Vec::new())))
}

/// Run `minilm inspect`.
pub fn run(argv: &[String]) -> Result<()> {
    let Some(args) = spec().parse(argv)? else {
        return Ok(());
    };
    if !args.positional.is_empty() && args.value("input").is_some() {
        return Err(Error::usage(
            "give texts as arguments or with --input, not both",
        ));
    }
    if let Some(i) = args.positional.iter().position(|t| t.trim().is_empty()) {
        return Err(Error::msg(format!("text {} is empty", i + 1)));
    }
    let (encoder, heads) = load(&args)?;
    // (text, the JSON Lines record it came from)
    let inputs: Vec<(String, Option<super::jsonl::Record>)> = if args.positional.is_empty() {
        let (input, name) = open_input(args.value("input"))?;
        let mut reader = JsonlReader::new(input, &name, &["inspect"]);
        reader
            .next_chunk(usize::MAX)?
            .into_iter()
            .map(|r| (r.text.clone(), Some(r)))
            .collect()
    } else {
        args.positional.iter().map(|t| (t.clone(), None)).collect()
    };
    if inputs.is_empty() {
        return Err(Error::msg("no text to inspect"));
    }
    let files = args.value("html").is_some() || args.value("dump").is_some();
    if files && inputs.len() != 1 {
        return Err(Error::msg(format!(
            "--html and --dump take one text, got {}",
            inputs.len()
        )));
    }
    let json = args.switch("json");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io_err = |e: std::io::Error| Error::msg(format!("<stdout>: {e}"));
    for (k, (text, record)) in inputs.iter().enumerate() {
        let tr = trace(&encoder, text)?;
        let mut summary = Summary::of(&tr);
        summary.heads = heads(&tr);
        if let Some(p) = args.value("html") {
            write_html(&tr, &summary, Path::new(p))?;
            eprintln!("wrote {p}");
        }
        if let Some(p) = args.value("dump") {
            dump::write(&tr, Path::new(p))?;
            eprintln!("wrote {p} ({} tensors)", tr.named().len() + 2);
        }
        if json {
            let v = summary.to_json(text);
            let line = match record {
                Some(r) => r.with_field("inspect", &v.to_string()),
                None => v.to_string(),
            };
            writeln!(out, "{line}").map_err(io_err)?;
        } else if !files {
            if k > 0 {
                writeln!(out, "\n{}\n", "-".repeat(72)).map_err(io_err)?;
            }
            write!(out, "{}", summary.to_text(text)).map_err(io_err)?;
        }
    }
    out.flush().map_err(io_err)?;
    Ok(())
}

/// Write the page atomically.
fn write_html(tr: &crate::inspect::Trace, summary: &Summary, path: &Path) -> Result<()> {
    crate::atomic::write_file(path, html::page(tr, summary).as_bytes())
}
