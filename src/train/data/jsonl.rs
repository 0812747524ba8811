//! JSON Lines (`.jsonl`): one JSON object per line; also the writer.

use super::{lines, Builder, Example, ReadOptions};
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::Path;

pub(super) fn parse_jsonl(
    path: &Path,
    text: &str,
    opts: &ReadOptions,
    b: &mut Builder,
) -> Result<()> {
    for (n, line) in lines(text) {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| {
            Error::line(
                path,
                n,
                format!(
                    "invalid JSON at column {}: {}",
                    e.column(),
                    json_message(&e)
                ),
            )
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::line(path, n, "expected a JSON object"))?;
        let t = json_text(obj.get(&opts.text_field), &opts.text_field)
            .map_err(|m| Error::line(path, n, m))?;
        let l = json_label(obj.get(&opts.label_field), &opts.label_field)
            .map_err(|m| Error::line(path, n, m))?;
        b.push(n, "", t, l)?;
    }
    Ok(())
}

/// A serde_json error message without serde's own position suffix.
pub(super) fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// The label of a JSON record: a string, or an integer written in decimal.
pub(super) fn json_label(v: Option<&Value>, field: &str) -> std::result::Result<String, String> {
    match v {
        None | Some(Value::Null) => Err(format!("missing label field {field:?}")),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(_) => Err(format!(
            "label field {field:?} must be a string or an integer"
        )),
    }
}

pub(super) fn json_text(v: Option<&Value>, field: &str) -> std::result::Result<String, String> {
    match v {
        None | Some(Value::Null) => Err(format!("missing text field {field:?}")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("text field {field:?} must be a string")),
    }
}

/// One example as a JSON Lines record, `{"text": ..., "label": ...}` (text
/// first), without the newline.
pub fn jsonl_line(e: &Example) -> String {
    format!(
        "{{\"text\":{},\"label\":{}}}",
        Value::String(e.text.clone()),
        Value::String(e.label.clone())
    )
}

/// Write `examples` as JSON Lines, atomically (see [`crate::atomic::write_file`]).
pub fn write_jsonl(path: &Path, examples: &[Example]) -> Result<()> {
    let mut buf = String::new();
    for e in examples {
        buf.push_str(&jsonl_line(e));
        buf.push('\n');
    }
    crate::atomic::write_file(path, buf.as_bytes())
}
