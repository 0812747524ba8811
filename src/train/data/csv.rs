//! CSV (`.csv`, RFC 4180) split into records.

use super::Record;
use crate::error::{Error, Result};
use std::path::Path;

/// Split RFC 4180 CSV into records. Quoted fields may hold commas, doubled
/// quotes (`""` for `"`) and line breaks; records end with `\n` or `\r\n`.
/// Empty lines between records are skipped. A quote inside an unquoted field
/// is kept as it is. An unterminated quoted field is an error naming the line
/// where the field started; text right after a closing quote (other than a
/// comma or the end of the line) is an error too.
pub fn parse_csv(path: &Path, text: &str) -> Result<Vec<Record>> {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut line = 1;
    let mut out = Vec::new();
    while i < n {
        // Blank line between records.
        if b[i] == b'\n' {
            i += 1;
            line += 1;
            continue;
        }
        if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            i += 2;
            line += 1;
            continue;
        }
        let rec_line = line;
        let mut fields = Vec::new();
        loop {
            // One field starting at i. All split points are ASCII bytes, so
            // the slices below are on character boundaries.
            let mut field = String::new();
            if i < n && b[i] == b'"' {
                quoted_field(path, text, &mut i, &mut line, &mut field)?;
                fields.push(field);
                match b.get(i) {
                    None => break,
                    Some(b',') => {
                        i += 1;
                        continue;
                    }
                    Some(b'\n') => {
                        i += 1;
                        line += 1;
                        break;
                    }
                    Some(b'\r') if b.get(i + 1) == Some(&b'\n') => {
                        i += 2;
                        line += 1;
                        break;
                    }
                    Some(_) => return Err(Error::line(
                        path,
                        line,
                        "unexpected character after a closing quote (expected ',' or end of line)",
                    )),
                }
            } else {
                let start = i;
                while i < n && b[i] != b',' && b[i] != b'\n' {
                    i += 1;
                }
                let mut end = i;
                if i < n && b[i] == b'\n' && end > start && b[end - 1] == b'\r' {
                    end -= 1;
                }
                field.push_str(&text[start..end]);
                fields.push(field);
                match b.get(i) {
                    None => break,
                    Some(b',') => {
                        i += 1;
                        if i >= n {
                            // A trailing comma at the end of the file: one
                            // more, empty, field.
                            fields.push(String::new());
                            break;
                        }
                        continue;
                    }
                    _ => {
                        // '\n'
                        i += 1;
                        line += 1;
                        break;
                    }
                }
            }
        }
        out.push(Record {
            line: rec_line,
            fields,
        });
    }
    Ok(out)
}

/// The quoted field opening at `*i` (on the `"`) appended to `field`, `*i`
/// left just after its closing quote and `*line` counting the line breaks
/// inside it. An unterminated field is an error naming the line where it
/// opened.
fn quoted_field(
    path: &Path,
    text: &str,
    i: &mut usize,
    line: &mut usize,
    field: &mut String,
) -> Result<()> {
    let b = text.as_bytes();
    let open_line = *line;
    *i += 1;
    let mut seg = *i;
    loop {
        if *i >= b.len() {
            return Err(Error::line(
                path,
                open_line,
                "unterminated quoted field (the quote opened on this line is never closed)",
            ));
        }
        match b[*i] {
            b'"' => {
                field.push_str(&text[seg..*i]);
                if b.get(*i + 1) == Some(&b'"') {
                    field.push('"');
                    *i += 2;
                    seg = *i;
                } else {
                    *i += 1;
                    return Ok(());
                }
            }
            b'\n' => {
                *line += 1;
                *i += 1;
            }
            _ => *i += 1,
        }
    }
}
