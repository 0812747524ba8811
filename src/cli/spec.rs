//! One declarative table per command: each option's name, kind (value or
//! switch), help, default, and whether a `--config` file and `--resume` may
//! carry it. From the table come the parser's list of known options (with
//! its "did you mean" hint), the whole `--help` text, the `--config` reader
//! and the `--resume` check, so an option is written once. Defaults are
//! taken from the config types (`TrainConfig::default()` and friends) when
//! a command builds its table, never typed into help text.
//!
//! In-house rather than `clap`: it is a few hundred lines with no
//! dependency (the size-constrained `cli` build carries no argument
//! crate), and the two things this CLI needs beyond parsing (the JSON
//! `--config` reader and the `--resume` whitelist) read the same table.

use super::args::Args;
use crate::error::{Error, Result};
use serde_json::Value;
use std::fmt::Display;
use std::path::Path;

/// One option of a command.
#[derive(Clone, Debug)]
pub struct Opt {
    /// Its name without the leading `--`.
    pub name: &'static str,
    /// `Some(metavariable)` (like `N`, `FILE`) for an option taking a value;
    /// `None` for a switch.
    pub value: Option<&'static str>,
    /// What it does (word-wrapped in `--help`).
    pub help: String,
    /// The value used when it is not given, as shown in `--help`.
    pub default: Option<String>,
    /// A `--config FILE.json` may set it (key: the option's name).
    pub config: bool,
    /// It may be given beside `--resume` (everything else is the run's own).
    pub resume: bool,
}

impl Opt {
    /// An option taking a value shown as `metavar`.
    pub fn value(name: &'static str, metavar: &'static str, help: impl Into<String>) -> Opt {
        Opt {
            name,
            value: Some(metavar),
            help: help.into(),
            default: None,
            config: false,
            resume: false,
        }
    }

    /// A boolean switch.
    pub fn switch(name: &'static str, help: impl Into<String>) -> Opt {
        Opt {
            value: None,
            ..Opt::value(name, "", help)
        }
    }

    /// With its default shown in `--help`.
    pub fn default(mut self, value: impl Display) -> Opt {
        self.default = Some(value.to_string());
        self
    }

    /// Readable from a `--config` file.
    pub fn config(mut self) -> Opt {
        self.config = true;
        self
    }

    /// Allowed beside `--resume`.
    pub fn resume(mut self) -> Opt {
        self.resume = true;
        self
    }

    /// The left column of `--help`: `--name METAVAR`.
    fn label(&self) -> String {
        match self.value {
            Some(m) => format!("--{} {m}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// A titled group of options in `--help`.
#[derive(Clone, Debug)]
pub struct Section {
    /// Heading (empty: none).
    pub title: &'static str,
    /// Its options, in `--help` order.
    pub options: Vec<Opt>,
}

/// Everything about one command's command line.
#[derive(Clone, Debug)]
pub struct CommandSpec {
    /// The command's name (`minilm NAME`).
    pub name: &'static str,
    /// One line for `minilm --help`.
    pub summary: &'static str,
    /// What follows `minilm NAME` on each usage line, before `[options]`
    /// (positional arguments or required options; empty: nothing).
    pub usage: &'static [&'static str],
    /// Whether positional arguments are accepted.
    pub positionals: bool,
    /// The paragraphs after the usage lines.
    pub about: &'static str,
    /// The options, grouped.
    pub sections: Vec<Section>,
    /// A paragraph after the options (empty: none).
    pub footer: &'static str,
}

/// Column where the help of an option starts.
const HELP_COLUMN: usize = 27;

impl CommandSpec {
    /// Every option, sections in order, `--help` last.
    pub fn options(&self) -> impl Iterator<Item = &Opt> {
        self.sections.iter().flat_map(|s| &s.options)
    }

    /// The option called `name`.
    pub fn find(&self, name: &str) -> Option<&Opt> {
        self.options().find(|o| o.name == name)
    }

    /// The command's options minus those named in `drop`, in one section
    /// per section of this command (for a command that takes another's
    /// options, as `study` takes `train`'s).
    pub fn sections_without(&self, drop: &[&str]) -> Vec<Section> {
        self.sections
            .iter()
            .map(|s| Section {
                title: s.title,
                options: s
                    .options
                    .iter()
                    .filter(|o| !drop.contains(&o.name))
                    .cloned()
                    .collect(),
            })
            .filter(|s| !s.options.is_empty())
            .collect()
    }

    /// Parse `argv` (after the command's name). `Ok(None)`: `--help` was
    /// given and answered. Unknown options, and positional arguments of a
    /// command that takes none, are usage errors.
    pub fn parse(&self, argv: &[String]) -> Result<Option<Args>> {
        let args = self.parse_raw(argv)?;
        if args.switch("help") {
            println!("{}", self.help());
            return Ok(None);
        }
        self.check_positionals(&args)?;
        Ok(Some(args))
    }

    /// [`CommandSpec::parse`] of arguments known not to ask for help (a
    /// command line already parsed once, with a config file's options
    /// added): `--help` among them is read as a plain switch.
    pub fn parse_again(&self, argv: &[String]) -> Result<Args> {
        let args = self.parse_raw(argv)?;
        self.check_positionals(&args)?;
        Ok(args)
    }

    /// Positional arguments are an error unless the command takes them.
    fn check_positionals(&self, args: &Args) -> Result<()> {
        match args.positional.first() {
            Some(p) if !self.positionals => Err(Error::usage(format!(
                "unexpected argument {p:?} (minilm {} --help lists the options)",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    /// The options of `argv` by the table (and `--help`), unchecked.
    fn parse_raw(&self, argv: &[String]) -> Result<Args> {
        let valued: Vec<&str> = self
            .options()
            .filter(|o| o.value.is_some())
            .map(|o| o.name)
            .collect();
        let mut switches: Vec<&str> = self
            .options()
            .filter(|o| o.value.is_none())
            .map(|o| o.name)
            .collect();
        switches.push("help");
        Args::parse(argv, &valued, &switches)
    }

    /// The `--help` text.
    pub fn help(&self) -> String {
        let mut s = String::new();
        let lines: &[&str] = if self.usage.is_empty() {
            &[""]
        } else {
            self.usage
        };
        for (i, u) in lines.iter().enumerate() {
            let lead = if i == 0 { "usage:" } else { "      " };
            let u = if u.is_empty() {
                String::new()
            } else {
                format!("{u} ")
            };
            s.push_str(&format!("{lead} minilm {} {u}[options]\n", self.name));
        }
        if !self.about.is_empty() {
            s.push_str(&format!("\n{}\n", self.about.trim_end()));
        }
        for section in &self.sections {
            let title = if section.title.is_empty() {
                "options"
            } else {
                section.title
            };
            s.push_str(&format!("\n{title}:\n"));
            for o in &section.options {
                push_option(&mut s, o);
            }
        }
        s.push('\n');
        push_option(&mut s, &Opt::switch("help", "this help"));
        if !self.footer.is_empty() {
            s.push_str(&format!("\n{}\n", self.footer.trim_end()));
        }
        s.truncate(s.trim_end().len());
        s
    }

    /// The options a JSON `--config` file sets, as command-line arguments
    /// (to be placed before the given ones, which then win). Keys are the
    /// options' names (a leading `--` is allowed); switches take
    /// true/false, lists an array or a comma-separated string.
    pub fn config_args(&self, path: &Path) -> Result<Vec<String>> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Error::file(path, format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::file(path, "expected a JSON object of options"))?;
        let mut out = Vec::new();
        for (key, val) in obj {
            let k = key.trim_start_matches("--");
            let opt = self
                .find(k)
                .filter(|o| o.config)
                .ok_or_else(|| Error::file(path, format!("unknown option {k:?}")))?;
            if opt.value.is_none() {
                match val.as_bool() {
                    Some(true) => out.push(format!("--{k}")),
                    Some(false) => {}
                    None => {
                        return Err(Error::file(
                            path,
                            format!("option {k:?} must be true or false"),
                        ))
                    }
                }
                continue;
            }
            let s = match val {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    return Err(Error::file(
                        path,
                        format!("option {k:?}: unsupported value {other}"),
                    ))
                }
            };
            out.push(format!("--{k}={s}"));
        }
        Ok(out)
    }

    /// The given options that may not be given beside `--resume` (by the
    /// table's `resume` marks), first one only.
    pub fn not_resumable<'a>(&self, args: &'a Args) -> Option<&'a str> {
        args.given()
            .find(|n| *n != "resume" && !self.find(n).is_some_and(|o| o.resume))
    }

    /// The given options allowed beside `--resume`, as arguments again.
    pub fn resumable_args(&self, args: &Args) -> Vec<String> {
        args.given()
            .filter(|n| *n != "resume" && self.find(n).is_some_and(|o| o.resume))
            .map(|n| match args.value(n) {
                Some(v) => format!("--{n}={v}"),
                None => format!("--{n}"),
            })
            .collect()
    }
}

/// Width `--help` wraps option help to.
const HELP_WIDTH: usize = 80;

/// One option's lines of `--help`: label, then its help and default
/// word-wrapped from [`HELP_COLUMN`] to [`HELP_WIDTH`] (starting on the next
/// line if the label is too long).
fn push_option(s: &mut String, o: &Opt) {
    let label = format!("  {}", o.label());
    let mut text = o.help.clone();
    if let Some(d) = &o.default {
        text.push_str(&format!(" (default: {d})"));
    }
    let mut lines = wrap(&text, HELP_WIDTH - HELP_COLUMN).into_iter();
    if label.chars().count() + 1 > HELP_COLUMN {
        s.push_str(&label);
        s.push('\n');
    } else {
        let first = lines.next().unwrap_or_default();
        s.push_str(&format!("{label:<HELP_COLUMN$}{first}\n"));
    }
    for line in lines {
        s.push_str(&format!("{:HELP_COLUMN$}{line}\n", ""));
    }
}

/// `text`'s words in lines of at most `width` characters (a longer word
/// gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// Options several commands share, written once.
pub mod common {
    use super::Opt;
    use crate::encoder::DEFAULT_BATCH_SIZE;

    /// `--model DIR` of a command that loads the model as
    /// [`crate::cli::load_encoder`] does (`builtin`: the model built into an
    /// `embed-model` binary comes before the default folder) or as the
    /// trainer does (always a folder).
    pub fn model(builtin: bool) -> Opt {
        let help = if builtin && cfg!(feature = "embed-model") {
            "model folder (else $MINILM_MODEL, else the model built into this\nbinary)"
        } else {
            "model folder (else $MINILM_MODEL, else weights/all-MiniLM-L6-v2)"
        };
        Opt::value("model", "DIR", help)
    }

    /// `--threads N`.
    pub fn threads() -> Opt {
        Opt::value(
            "threads",
            "N",
            "threads of the forward passes (else $RAYON_NUM_THREADS, else every core)",
        )
    }

    /// `--precision P`.
    pub fn precision() -> Opt {
        Opt::value(
            "precision",
            "P",
            "f32 (exact), bf16 or int8 (faster, approximate;\ndocs/performance.md measures both); an int8 model folder runs\nonly at int8 (default: the model folder's own)",
        )
    }

    /// `--batch-size N` of the inference commands.
    pub fn batch_size() -> Opt {
        Opt::value("batch-size", "N", "texts per forward pass").default(DEFAULT_BATCH_SIZE)
    }

    /// `--quiet` of the commands that show progress.
    pub fn quiet() -> Opt {
        Opt::switch(
            "quiet",
            "no progress on standard error (shown only when it is a terminal)",
        )
    }

    /// `--input FILE` of the JSON Lines commands.
    pub fn input() -> Opt {
        Opt::value(
            "input",
            "FILE",
            "JSON Lines input, one object with a \"text\" field per line\n(default: standard input)",
        )
    }

    /// `--allow-empty`.
    pub fn allow_empty() -> Opt {
        Opt::switch(
            "allow-empty",
            "accept empty texts (embedded as [CLS] [SEP]) instead of an error",
        )
    }

    /// `--checkpoint DIR`.
    pub fn checkpoint() -> Opt {
        Opt::value(
            "checkpoint",
            "DIR",
            "a checkpoint folder written by minilm train",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CommandSpec {
        CommandSpec {
            name: "demo",
            summary: "a demo",
            usage: &["TEXT"],
            positionals: false,
            about: "Does things.",
            sections: vec![Section {
                title: "",
                options: vec![
                    Opt::value("epochs", "N", "passes").default(10).config(),
                    Opt::value("threads", "N", "threads").config().resume(),
                    Opt::switch("quiet", "silence\nsecond line")
                        .config()
                        .resume(),
                    Opt::value("a-very-long-option-name", "VALUE", "long"),
                ],
            }],
            footer: "The end.",
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn help_is_generated_from_the_table() {
        let h = spec().help();
        assert!(h.starts_with("usage: minilm demo TEXT [options]\n\nDoes things.\n\noptions:\n"));
        assert!(
            h.contains("\n  --epochs N               passes (default: 10)\n"),
            "{h}"
        );
        assert!(
            h.contains("\n  --quiet                  silence second line\n"),
            "{h}"
        );
        assert!(
            h.contains("\n  --a-very-long-option-name VALUE\n                           long\n"),
            "{h}"
        );
        assert!(
            h.contains("\n\n  --help                   this help\n"),
            "{h}"
        );
        assert!(h.lines().all(|l| l.chars().count() <= HELP_WIDTH), "{h}");
        assert!(h.ends_with("\n\nThe end."), "{h}");
    }

    #[test]
    fn wrap_fills_lines_up_to_the_width() {
        assert_eq!(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
        assert_eq!(wrap("aaaaaaa b", 5), ["aaaaaaa", "b"]);
        assert_eq!(wrap("", 5), [""]);
    }

    #[test]
    fn parse_knows_the_table_and_suggests() {
        let a = spec()
            .parse(&s(&["--epochs=3", "--quiet"]))
            .unwrap()
            .unwrap();
        assert_eq!(a.value("epochs"), Some("3"));
        assert!(a.switch("quiet"));
        let e = spec().parse(&s(&["--epoch", "3"])).unwrap_err();
        assert!(e.to_string().contains("did you mean --epochs?"), "{e}");
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        let e = spec().parse(&s(&["stray"])).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        assert!(spec().parse(&s(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn resume_marks_decide_what_may_come_beside_it() {
        let spec = spec();
        let a = spec
            .parse(&s(&["--threads", "2", "--quiet"]))
            .unwrap()
            .unwrap();
        assert_eq!(spec.not_resumable(&a), None);
        assert_eq!(spec.resumable_args(&a), s(&["--threads=2", "--quiet"]));
        let a = spec
            .parse(&s(&["--threads", "2", "--epochs", "3"]))
            .unwrap()
            .unwrap();
        assert_eq!(spec.not_resumable(&a), Some("epochs"));
    }

    #[test]
    fn config_files_set_the_marked_options_only() {
        let dir = std::env::temp_dir().join(format!("minilm-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.json");
        std::fs::write(&p, r#"{"epochs": 4, "--quiet": true, "threads": "2"}"#).unwrap();
        let args = spec().config_args(&p).unwrap();
        // Keys in serde_json's order (sorted).
        assert_eq!(args, s(&["--quiet", "--epochs=4", "--threads=2"]));
        std::fs::write(&p, r#"{"a-very-long-option-name": "x"}"#).unwrap();
        let e = spec().config_args(&p).unwrap_err();
        assert!(e.to_string().contains("unknown option"), "{e}");
        std::fs::write(&p, r#"{"quiet": 3}"#).unwrap();
        assert!(spec().config_args(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
