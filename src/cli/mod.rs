//! The `minilm` command line: one file per subcommand; `main.rs` only dispatches.

pub mod args;
pub mod convert;
pub mod embed;
#[cfg(feature = "train")]
pub mod eval;
#[cfg(feature = "inspect")]
pub mod inspect;
pub mod jsonl;
#[cfg(feature = "train")]
pub mod predict;
#[cfg(feature = "train")]
pub mod prepare_data;
#[cfg(feature = "serve")]
pub mod serve;
pub mod similarity;
pub mod spec;
#[cfg(feature = "train")]
pub mod study;
#[cfg(feature = "train")]
pub mod train;

use crate::encoder::{default_model_dir, Encoder};
use crate::error::Result;
use crate::progress::{progress_enabled, StreamProgress};
use crate::tokenize::Tokens;
use args::Args;
use jsonl::Record;
use std::io::IsTerminal;

/// One command of the `minilm` binary: its option table and its entry
/// point (given the arguments after its name).
pub struct Command {
    /// The command's table ([`spec::CommandSpec`]): name, summary, options.
    pub spec: fn() -> spec::CommandSpec,
    /// Runs it.
    pub run: fn(&[String]) -> Result<()>,
}

/// The commands this build has, in `minilm --help` order.
pub fn commands() -> Vec<Command> {
    let mut out = Vec::new();
    out.extend([
        Command {
            spec: embed::spec,
            run: embed::run,
        },
        Command {
            spec: similarity::spec,
            run: similarity::run,
        },
        Command {
            spec: convert::spec,
            run: convert::run,
        },
    ]);
    #[cfg(feature = "inspect")]
    out.push(Command {
        spec: inspect::spec,
        run: inspect::run,
    });
    #[cfg(feature = "train")]
    out.extend([
        Command {
            spec: train::spec,
            run: train::run,
        },
        Command {
            spec: eval::spec,
            run: eval::run,
        },
        Command {
            spec: predict::spec,
            run: predict::run,
        },
        Command {
            spec: study::spec,
            run: study::run,
        },
    ]);
    #[cfg(feature = "serve")]
    out.push(Command {
        spec: crate::serve::options::spec,
        run: serve::run,
    });
    #[cfg(feature = "train")]
    out.push(Command {
        spec: prepare_data::spec,
        run: prepare_data::run,
    });
    out
}

/// Texts per progress step of `embed`, `predict` and `eval`, rounded up to
/// whole batches.
pub const STEP_TEXTS: usize = 64;

/// Apply `--threads N` (else `RAYON_NUM_THREADS`, else every core).
pub fn apply_threads(args: &Args) -> Result<()> {
    if let Some(n) = args.parsed::<usize>("threads")? {
        if n == 0 {
            return Err(crate::Error::msg("--threads must be at least 1"));
        }
        minilm_kernels::parallel::set_threads(n).map_err(crate::Error::msg)?;
    }
    Ok(())
}

/// `--precision f32|bf16|int8`, if given (see [`crate::precision`]).
pub fn precision_arg(args: &Args) -> Result<Option<crate::Precision>> {
    args.value("precision")
        .map(crate::Precision::parse)
        .transpose()
}

/// The model folder named by `--model DIR`, else `$MINILM_MODEL`, else the
/// default folder.
pub fn model_dir(args: &Args) -> std::path::PathBuf {
    args.value("model")
        .map(Into::into)
        .unwrap_or_else(default_model_dir)
}

/// The encoder named by `--model DIR` (else `$MINILM_MODEL`, else the model
/// built into the binary with the `embed-model` feature, else the default
/// folder), with `--batch-size` and `--threads` applied.
pub fn load_encoder(args: &Args) -> Result<Encoder> {
    apply_threads(args)?;
    let precision = precision_arg(args)?;
    #[cfg(feature = "embed-model")]
    let mut enc = if args.value("model").is_none() && std::env::var_os("MINILM_MODEL").is_none() {
        let enc = Encoder::embedded()?;
        match precision {
            Some(p) => enc.with_precision(p)?,
            None => enc,
        }
    } else {
        Encoder::from_dir_at(model_dir(args), precision)?
    };
    #[cfg(not(feature = "embed-model"))]
    let mut enc = Encoder::from_dir_at(model_dir(args), precision)?;
    if let Some(b) = args.parsed::<usize>("batch-size")? {
        if b == 0 {
            return Err(crate::Error::msg("--batch-size must be at least 1"));
        }
        enc = enc.with_batch_size(b);
    }
    Ok(enc)
}

/// The f32 encoder of model folder `dir` for training: an int8 folder is
/// refused here, before any work (its f32 weights are gone).
#[cfg(feature = "train")]
pub fn trainable_encoder(dir: &std::path::Path) -> Result<Encoder> {
    let encoder = Encoder::from_dir(dir)?;
    if encoder.params().precision() != crate::Precision::F32 {
        return Err(crate::Error::file(
            dir,
            "stores int8 weights (minilm convert --to int8); training needs the f32 model folder",
        ));
    }
    Ok(encoder)
}

/// The base model's tokenizer and the multi-task model of `--checkpoint DIR`
/// (see [`load_checkpoint_and_base`]). The base `Encoder` is dropped once
/// the model is built: keeping it would hold a second copy of every weight
/// (plain and packed, ~180 MB).
#[cfg(feature = "train")]
pub fn load_checkpoint(
    args: &Args,
) -> Result<(crate::tokenize::Tokenizer, crate::train::MultiTaskModel)> {
    let (ckpt, dir) = read_checkpoint(args)?;
    let encoder = Encoder::from_dir(&dir)?;
    ckpt.check_base(&dir.join("model.safetensors"))?;
    let (config, _, params, tokenizer) = encoder.into_parts();
    let model = ckpt.apply_to(params, &config)?;
    // An int8 base folder runs at int8 unless told otherwise (then refused).
    let precision = precision_arg(args)?.unwrap_or(model.params().precision());
    let model = model.with_precision(precision)?;
    Ok((tokenizer, model))
}

/// The base encoder and the multi-task model of `--checkpoint DIR` applied
/// over it; refuses a checkpoint made for another base model.
#[cfg(feature = "train")]
pub fn load_checkpoint_and_base(args: &Args) -> Result<(Encoder, crate::train::MultiTaskModel)> {
    let (ckpt, dir) = read_checkpoint(args)?;
    let encoder = Encoder::from_dir(&dir)?;
    ckpt.check_base(&dir.join("model.safetensors"))?;
    let model = ckpt.into_model(encoder.params(), encoder.config())?;
    Ok((encoder, model))
}

/// The checkpoint of `--checkpoint DIR` and the base model folder (the
/// caller loads it, then checks the checkpoint against it); also applies
/// `--threads`.
#[cfg(feature = "train")]
fn read_checkpoint(
    args: &Args,
) -> Result<(crate::train::checkpoint::Checkpoint, std::path::PathBuf)> {
    let ckpt = args
        .value("checkpoint")
        .ok_or_else(|| crate::Error::msg("--checkpoint DIR is required"))?;
    let ckpt = crate::train::checkpoint::Checkpoint::read(std::path::Path::new(ckpt))?;
    apply_threads(args)?;
    Ok((ckpt, model_dir(args)))
}

/// The progress line of `embed` and `predict` (`label`) for an input of
/// `size` bytes (`None`: unknown). Shown only when stderr is a terminal,
/// without `--quiet`, and when stdout is not a terminal too (the output
/// lines would break it up).
pub fn stream_progress(args: &Args, label: &str, size: Option<u64>) -> StreamProgress {
    let show = progress_enabled(args.switch("quiet"), std::io::stderr().is_terminal())
        && !std::io::stdout().is_terminal();
    StreamProgress::new(label, size, show)
}

/// Whether `eval` shows its progress bar: stderr a terminal, no `--quiet`.
pub fn eval_progress(args: &Args) -> bool {
    progress_enabled(args.switch("quiet"), std::io::stderr().is_terminal())
}

/// `run` over `tokens` in the batches one call over all of them would
/// make — longest first, stable order among equal lengths, `batch` at a
/// time — but called a few whole batches (about [`STEP_TEXTS`] texts) at a
/// time, with `on_step` given the input indices of each step once done.
/// Every batch holds the same texts as in the single call, so the results
/// (returned in input order) are bit-for-bit the same. The steps run in
/// a `spread` order, so that the count of texts done keeps pace with the
/// work done and a rate or ETA from it is fair.
pub fn in_length_order<T>(
    tokens: Vec<Tokens>,
    batch: usize,
    mut run: impl FnMut(&[Tokens]) -> Result<Vec<T>>,
    mut on_step: impl FnMut(&[usize]),
) -> Result<Vec<T>> {
    let mut pairs: Vec<(usize, Tokens)> = tokens.into_iter().enumerate().collect();
    pairs.sort_by_key(|(_, t)| std::cmp::Reverse(t.len()));
    let (order, sorted): (Vec<usize>, Vec<Tokens>) = pairs.into_iter().unzip();
    let batch = batch.max(1);
    let step = batch * STEP_TEXTS.div_ceil(batch);
    let mut out: Vec<Option<T>> = (0..order.len()).map(|_| None).collect();
    let steps: Vec<(&[usize], &[Tokens])> = order.chunks(step).zip(sorted.chunks(step)).collect();
    for (idx, toks) in spread(steps.len()).map(|k| steps[k]) {
        for (&i, v) in idx.iter().zip(run(toks)?) {
            out[i] = Some(v);
        }
        on_step(idx);
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("run returns one result per text"))
        .collect())
}

/// An order of `n` steps sorted longest first that mixes long and short
/// ones evenly all along (longest first would make the early rate low and
/// the ETA far too long): `(n/2 + k·p) mod n` for `k = 0..n`, the stride
/// `p` prime to `n` and near `0.618·n` (a golden-ratio sequence).
fn spread(n: usize) -> impl Iterator<Item = usize> {
    let mut p = ((n as f64 * 0.618).round() as usize).max(1);
    while gcd(p, n) > 1 {
        p += 1;
    }
    (0..n).map(move |k| (n / 2 + k * p) % n)
}

/// Greatest common divisor (Euclid).
fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// [`in_length_order`] over one chunk of JSON Lines records and their
/// tokens, advancing `progress` after each step by its lines and bytes
/// (each line's length plus its newline, capped at `end_bytes`, the
/// reader's count after the chunk, which the count is set to at the end).
pub fn run_chunk<T>(
    chunk: &[Record],
    tokens: Vec<Tokens>,
    batch: usize,
    end_bytes: u64,
    progress: &mut StreamProgress,
    run: impl FnMut(&[Tokens]) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let (mut lines, mut bytes) = (progress.lines(), progress.bytes());
    let out = in_length_order(tokens, batch, run, |done| {
        lines += done.len();
        let step: u64 = done.iter().map(|&i| chunk[i].raw.len() as u64 + 1).sum();
        bytes = (bytes + step).min(end_bytes);
        progress.update(lines, bytes);
    })?;
    progress.update(lines, end_bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(len: usize) -> Tokens {
        Tokens {
            ids: vec![0; len],
            type_ids: vec![0; len],
            pieces: Vec::new(),
            offsets: Vec::new(),
        }
    }

    #[test]
    fn every_command_table_is_whole_and_its_help_fits() {
        let mut names = std::collections::BTreeSet::new();
        for c in commands() {
            let spec = (c.spec)();
            assert!(names.insert(spec.name), "two commands named {}", spec.name);
            let help = spec.help();
            let mut opts = std::collections::BTreeSet::new();
            for o in spec.options() {
                assert!(opts.insert(o.name), "{}: --{} twice", spec.name, o.name);
                assert!(
                    help.contains(&format!("\n  --{} ", o.name)),
                    "{}: --{} missing from --help",
                    spec.name,
                    o.name
                );
            }
            for line in help.lines() {
                assert!(line.chars().count() <= 80, "{}: {line:?}", spec.name);
            }
        }
    }

    #[test]
    fn length_order_steps_are_whole_batches_of_the_single_call() {
        let lens = [3, 9, 1, 9, 4, 4, 7, 2, 8, 5];
        let tokens: Vec<Tokens> = lens.iter().map(|&l| toks(l)).collect();
        let mut calls: Vec<Vec<usize>> = Vec::new();
        let mut steps: Vec<Vec<usize>> = Vec::new();
        // Each result is the text's length, so the order can be checked.
        let out = in_length_order(
            tokens,
            3,
            |t| {
                calls.push(t.iter().map(Tokens::len).collect());
                Ok(t.iter().map(Tokens::len).collect())
            },
            |idx| steps.push(idx.to_vec()),
        )
        .unwrap();
        assert_eq!(out, lens);
        // 64 rounded up to batches of 3 → steps of 66: one call here.
        assert_eq!(calls, vec![vec![9, 9, 8, 7, 5, 4, 4, 3, 2, 1]]);
        assert_eq!(steps, vec![vec![1, 3, 8, 6, 9, 4, 5, 0, 7, 2]]);
    }

    #[test]
    fn length_order_splits_long_inputs_at_batch_boundaries() {
        let tokens: Vec<Tokens> = (0..150).map(|i| toks(1 + (i * 37) % 50)).collect();
        let mut sizes = Vec::new();
        let mut seen = 0;
        let out = in_length_order(
            tokens.clone(),
            5,
            |t| {
                sizes.push(t.len());
                Ok(t.to_vec())
            },
            |idx| seen += idx.len(),
        )
        .unwrap();
        assert_eq!(out, tokens);
        // The middle step, the longest, then the shortest.
        assert_eq!(sizes, vec![65, 65, 20]);
        assert_eq!(seen, 150);
    }

    #[test]
    fn spread_visits_every_step_once_mixing_lengths() {
        for n in 0..200 {
            let mut order: Vec<usize> = spread(n).collect();
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        let order: Vec<usize> = spread(16).collect();
        assert_eq!(
            order,
            [8, 3, 14, 9, 4, 15, 10, 5, 0, 11, 6, 1, 12, 7, 2, 13]
        );
        // Every stretch of 8 of 100 steps averages near the middle (49.5).
        let order: Vec<usize> = spread(100).collect();
        for w in order.windows(8) {
            let mean = w.iter().sum::<usize>() as f64 / 8.0;
            assert!((mean - 49.5).abs() < 10.0, "{w:?}");
        }
    }
}
