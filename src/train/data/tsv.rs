//! TSV (`.tsv`): tab-separated, one record per line, no quoting.

use super::{lines, Record};

/// Split tab-separated text into records (no quoting); blank lines are
/// skipped.
pub fn split_tsv(text: &str) -> Vec<Record> {
    lines(text)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| Record {
            line: n,
            fields: l.split('\t').map(str::to_string).collect(),
        })
        .collect()
}
