//! Orange's tab format (`.tab`): three header lines, then tab-separated data.

use super::{lines, Builder, ReadOptions};
use crate::error::{Error, Result};
use std::path::Path;

/// Orange `.tab`: line 1 holds the column names, line 2 their types, line 3
/// their flags (`class` marks the label column). An empty (or tabs-only)
/// line right after the header is skipped, as are blank lines later on.
pub(super) fn parse_orange_tab(
    path: &Path,
    text: &str,
    opts: &ReadOptions,
    b: &mut Builder,
) -> Result<()> {
    let mut it = lines(text);
    let mut header: Vec<Vec<&str>> = Vec::new();
    for k in 1..=3 {
        match it.next() {
            Some((_, l)) => header.push(l.split('\t').collect()),
            None => {
                return Err(Error::line(
                    path,
                    k,
                    "the Orange .tab header needs three lines (names, types, flags)",
                ))
            }
        }
    }
    let names: Vec<&str> = header[0].iter().map(|s| s.trim()).collect();
    let width = names.len();
    let flags = &header[2];
    let li = flags
        .iter()
        .position(|f| f.split_whitespace().any(|w| w == "class"))
        .or_else(|| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&opts.label_field))
        })
        .ok_or_else(|| {
            Error::line(
                path,
                3,
                format!(
                    "no column is flagged \"class\" and none is named {:?}",
                    opts.label_field
                ),
            )
        })?;
    let ti = names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&opts.text_field))
        .or(if width == 2 { Some(1 - li) } else { None })
        .ok_or_else(|| {
            Error::line(
                path,
                1,
                format!(
                    "missing text column {:?} (columns: {})",
                    opts.text_field,
                    names.join(", ")
                ),
            )
        })?;
    if ti == li {
        return Err(Error::line(
            path,
            1,
            "the text column is also the class column",
        ));
    }
    for (n, l) in it {
        if l.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = l.split('\t').collect();
        if fields.len() != width {
            return Err(Error::line(
                path,
                n,
                format!(
                    "expected {width} tab-separated columns, found {}",
                    fields.len()
                ),
            ));
        }
        b.push(n, "", fields[ti].to_string(), fields[li].trim().to_string())?;
    }
    Ok(())
}
