//! Delimited files (CSV, TSV): the [`Record`] type and the header-row
//! reading both formats share.

use super::{Builder, ReadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// One row of a delimited file and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

impl Record {
    /// An error naming `path` and this row's line unless it has `width`
    /// fields (the header's count).
    pub fn check_width(&self, path: &Path, width: usize) -> Result<()> {
        if self.fields.len() == width {
            return Ok(());
        }
        Err(Error::line(
            path,
            self.line,
            format!(
                "expected {width} columns (as in the header), found {}",
                self.fields.len()
            ),
        ))
    }
}

/// Header row, then data rows; the text and label columns are found by name.
pub(super) fn parse_table(
    path: &Path,
    records: Vec<Record>,
    opts: &ReadOptions,
    b: &mut Builder,
) -> Result<()> {
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Err(Error::file(path, "empty file (expected a header row)"));
    };
    let names: Vec<&str> = header.fields.iter().map(|f| f.trim()).collect();
    let find = |want: &str, what: &str| {
        names.iter().position(|&h| h == want).ok_or_else(|| {
            Error::line(
                path,
                header.line,
                format!(
                    "missing {what} column {want:?} in the header (columns: {})",
                    names.join(", ")
                ),
            )
        })
    };
    let ti = find(&opts.text_field, "text")?;
    let li = find(&opts.label_field, "label")?;
    let width = names.len();
    for mut rec in it {
        rec.check_width(path, width)?;
        let label = rec.fields[li].trim().to_string();
        let text = std::mem::take(&mut rec.fields[ti]);
        b.push(rec.line, "", text, label)?;
    }
    Ok(())
}
