//! A JSON array of records (`.json`): `[{"text": ..., "label": ...}, ...]`,
//! each error at the line and column of the element.

use super::jsonl::{json_label, json_message, json_text};
use super::{Builder, ReadOptions};
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

/// Byte offset -> 1-based line and column (in bytes).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, c)| c == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line.saturating_sub(1)];
        (line.max(1), offset - start + 1)
    }
}

pub(super) fn parse_json_array(
    path: &Path,
    text: &str,
    opts: &ReadOptions,
    b: &mut Builder,
) -> Result<()> {
    let idx = LineIndex::new(text);
    let records = elements(path, text, &idx)?;
    let n_records = records.len();
    for (k, (start, v)) in records.into_iter().enumerate() {
        let (line, _) = idx.line_col(start);
        let what = format!("record {}: ", k + 1);
        let obj = v
            .as_object()
            .ok_or_else(|| Error::line(path, line, format!("{what}expected a JSON object")))?;
        if opts.skip_trailing_empty && k + 1 == n_records {
            let empty_text =
                matches!(obj.get(&opts.text_field), Some(Value::String(s)) if s.trim().is_empty());
            let no_label = matches!(obj.get(&opts.label_field), None | Some(Value::Null));
            if empty_text && no_label {
                continue;
            }
        }
        let t = json_text(obj.get(&opts.text_field), &opts.text_field)
            .map_err(|m| Error::line(path, line, format!("{what}{m}")))?;
        let l = json_label(obj.get(&opts.label_field), &opts.label_field)
            .map_err(|m| Error::line(path, line, format!("{what}{m}")))?;
        b.push(line, &what, t, l)?;
    }
    Ok(())
}

/// Every element of the array `text` holds, with the byte offset where it
/// starts. All elements are parsed before any is checked, so that the last
/// one can be recognised as the trailing empty record.
fn elements(path: &Path, text: &str, idx: &LineIndex) -> Result<Vec<(usize, Value)>> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    };
    let err_at = |off: usize, msg: String| {
        let (line, col) = idx.line_col(off);
        Error::line(path, line, format!("column {col}: {msg}"))
    };
    let mut i = skip_ws(0);
    if i >= bytes.len() {
        return Err(Error::file(path, "empty file (expected a JSON array)"));
    }
    if bytes[i] != b'[' {
        return Err(err_at(i, "expected a JSON array".to_string()));
    }
    i = skip_ws(i + 1);
    let mut records: Vec<(usize, Value)> = Vec::new();
    if bytes.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            if i >= bytes.len() {
                return Err(err_at(
                    i,
                    "unexpected end of file inside the array".to_string(),
                ));
            }
            let start = i;
            let mut stream =
                serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(v)) => {
                    records.push((start, v));
                    i = start + stream.byte_offset();
                }
                Some(Err(e)) => {
                    let (line0, col0) = idx.line_col(start);
                    let (line, col) = if e.line() <= 1 {
                        (line0, col0 + e.column().saturating_sub(1))
                    } else {
                        (line0 + e.line() - 1, e.column())
                    };
                    return Err(Error::line(
                        path,
                        line,
                        format!("invalid JSON at column {col}: {}", json_message(&e)),
                    ));
                }
                None => {
                    return Err(err_at(
                        i,
                        "unexpected end of file inside the array".to_string(),
                    ))
                }
            }
            i = skip_ws(i);
            match bytes.get(i) {
                Some(b',') => i = skip_ws(i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(_) => {
                    return Err(err_at(
                        i,
                        "expected ',' or ']' after an array element".to_string(),
                    ))
                }
                None => {
                    return Err(err_at(
                        i,
                        "unexpected end of file inside the array".to_string(),
                    ))
                }
            }
        }
    }
    let end = skip_ws(i);
    if end < bytes.len() {
        return Err(err_at(
            end,
            "unexpected characters after the JSON array".to_string(),
        ));
    }
    Ok(records)
}
