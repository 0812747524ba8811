//! Labelled text: the [`Example`] and [`Dataset`] types and the readers for
//! the formats the project meets (JSON Lines, CSV, TSV, Orange `.tab`, and a
//! JSON array of records).
//!
//! Every reader checks its input and reports the first problem as an
//! [`Error`] naming the file and the 1-based line: bad JSON, a missing text or
//! label field, an empty (or whitespace-only) text, a label outside the given
//! label set, invalid UTF-8, an unterminated quoted field (the line where the
//! field started), or a wrong number of columns. Nothing here panics on bad
//! input.

mod csv;
mod example;
mod format;
mod json_array;
mod jsonl;
mod orange;
mod table;
mod tsv;

pub use csv::parse_csv;
pub use example::{Dataset, Example};
pub use format::Format;
pub use jsonl::{jsonl_line, write_jsonl};
pub use table::Record;
pub use tsv::split_tsv;

use crate::error::{Error, Result};
use example::join_labels;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// How to read a file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// `None`: pick the format from the file's extension.
    pub format: Option<Format>,
    /// Name of the text field (JSON key or column header). In an Orange
    /// `.tab` file it is matched without regard to case.
    pub text_field: String,
    /// Name of the label field. In an Orange `.tab` file the column flagged
    /// `class` is the label, whatever its name.
    pub label_field: String,
    /// When given, every label must be one of these; the dataset's label set
    /// is then exactly this list (sorted).
    pub labels: Option<Vec<String>>,
    /// JSON array only: drop a last record whose text is empty and whose
    /// label is null or missing (the UCI sentiment files end with one).
    pub skip_trailing_empty: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            text_field: "text".to_string(),
            label_field: "label".to_string(),
            labels: None,
            skip_trailing_empty: false,
        }
    }
}

impl ReadOptions {
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
    pub fn fields(mut self, text: &str, label: &str) -> Self {
        self.text_field = text.to_string();
        self.label_field = label.to_string();
        self
    }
    pub fn labels<S: AsRef<str>>(mut self, labels: &[S]) -> Self {
        self.labels = Some(labels.iter().map(|l| l.as_ref().to_string()).collect());
        self
    }
    pub fn skip_trailing_empty(mut self, yes: bool) -> Self {
        self.skip_trailing_empty = yes;
        self
    }
}

/// Read a labelled dataset from `path`.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Dataset> {
    let format = match opts.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes, format, opts)
}

/// Read a JSON Lines file with the default field names `text` and `label`.
pub fn read_jsonl(path: &Path) -> Result<Dataset> {
    read(path, &ReadOptions::default().format(Format::JsonLines))
}

/// Parse `bytes` as `format`; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8], format: Format, opts: &ReadOptions) -> Result<Dataset> {
    let text = decode(path, bytes)?;
    let mut b = Builder::new(path, opts);
    match format {
        Format::JsonLines => jsonl::parse_jsonl(path, text, opts, &mut b)?,
        Format::Csv => {
            let records = parse_csv(path, text)?;
            table::parse_table(path, records, opts, &mut b)?
        }
        Format::Tsv => {
            let records = split_tsv(text);
            table::parse_table(path, records, opts, &mut b)?
        }
        Format::OrangeTab => orange::parse_orange_tab(path, text, opts, &mut b)?,
        Format::JsonArray => json_array::parse_json_array(path, text, opts, &mut b)?,
    }
    b.finish()
}

/// `bytes` as UTF-8 (a leading byte-order mark is dropped), or an error
/// naming the line of the first invalid byte.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = 1 + bytes[..at].iter().filter(|&&c| c == b'\n').count();
        let col = at
            - bytes[..at]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        Error::line(
            path,
            line,
            format!("invalid UTF-8 at byte {col} of the line"),
        )
    })
}

/// Collects examples and checks each one.
pub(super) struct Builder<'a> {
    path: &'a Path,
    labels: Option<BTreeSet<&'a str>>,
    label_list: Option<&'a [String]>,
    examples: Vec<Example>,
}

impl<'a> Builder<'a> {
    fn new(path: &'a Path, opts: &'a ReadOptions) -> Self {
        Builder {
            path,
            labels: opts
                .labels
                .as_ref()
                .map(|l| l.iter().map(String::as_str).collect()),
            label_list: opts.labels.as_deref(),
            examples: Vec::new(),
        }
    }

    /// Check one example read at `line` (`what` prefixes messages, e.g.
    /// "record 3: ") and keep it.
    pub(super) fn push(
        &mut self,
        line: usize,
        what: &str,
        text: String,
        label: String,
    ) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::line(self.path, line, format!("{what}empty text")));
        }
        if label.trim().is_empty() {
            return Err(Error::line(self.path, line, format!("{what}empty label")));
        }
        if let Some(set) = &self.labels {
            if !set.contains(label.as_str()) {
                let known = join_labels(self.label_list.unwrap_or(&[]));
                return Err(Error::line(
                    self.path,
                    line,
                    format!("{what}unknown label {label:?} (expected one of {known})"),
                ));
            }
        }
        self.examples.push(Example { text, label });
        Ok(())
    }

    fn finish(self) -> Result<Dataset> {
        match self.label_list {
            Some(list) => {
                Dataset::with_labels(self.examples, list).map_err(|e| Error::file(self.path, e))
            }
            None => Ok(Dataset::new(self.examples)),
        }
    }
}

/// The lines of `text` with their 1-based numbers; a `\r` before the `\n`
/// is dropped, and a final newline does not start another line.
pub(super) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}
