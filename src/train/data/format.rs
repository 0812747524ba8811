//! The file formats the readers understand, named by extension or by the
//! `--format`-style strings `jsonl`, `csv`, `tsv`, `tab` and `json`.

use crate::error::{Error, Result};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A file format the readers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.jsonl`: one JSON object per line.
    JsonLines,
    /// `.csv`: RFC 4180, with a header row.
    Csv,
    /// `.tsv`: tab-separated, header row, no quoting.
    Tsv,
    /// `.tab`: Orange's tab format (three header lines, then data).
    OrangeTab,
    /// `.json`: one JSON array of objects.
    JsonArray,
}

impl Format {
    /// The format named by the file's extension.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        ext.parse().map_err(|_| {
            Error::file(path, "cannot tell the format from the extension (expected .jsonl, .csv, .tsv, .tab or .json)")
        })
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "tab" => Ok(Format::OrangeTab),
            "json" => Ok(Format::JsonArray),
            other => Err(Error::msg(format!(
                "unknown data format {other:?} (expected jsonl, csv, tsv, tab or json)"
            ))),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::JsonLines => "jsonl",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::OrangeTab => "tab",
            Format::JsonArray => "json",
        })
    }
}
