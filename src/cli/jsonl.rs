//! JSON Lines input for the commands that read texts (`embed`, `predict`):
//! one object per line with a string field `"text"`; every other field is
//! passed through to the output untouched, byte for byte.

use crate::error::{Error, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Longest accepted input line. A longer one is an error, not an
/// out-of-memory abort.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// One input record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line number in the input.
    pub line: usize,
    /// The `"text"` field.
    pub text: String,
    /// The original line without its line terminator.
    pub raw: String,
}

impl Record {
    /// The original object with `"key": value` appended (`value` is JSON).
    pub fn with_field(&self, key: &str, value: &str) -> String {
        let body = self.raw.trim_end();
        let body = &body[..body.len() - 1]; // drop the closing brace (checked by the reader)
        let key = serde_json::to_string(key).expect("a string always serialises");
        format!("{body},{key}:{value}}}")
    }
}

/// Reads records from a file or standard input.
pub struct JsonlReader<R> {
    input: R,
    name: PathBuf,
    line: usize,
    /// Bytes consumed so far, line terminators included.
    bytes: u64,
    allow_empty: bool,
    reserved: Vec<String>,
}

impl<R: BufRead> JsonlReader<R> {
    /// `name` is used in error messages (a path, or `<stdin>`); fields named
    /// in `reserved` may not appear in the input, since the command adds them.
    pub fn new(input: R, name: &Path, reserved: &[&str]) -> Self {
        JsonlReader {
            input,
            name: name.to_path_buf(),
            line: 0,
            bytes: 0,
            allow_empty: false,
            reserved: reserved.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Accept texts that are empty or only whitespace (default: an error).
    pub fn allow_empty(mut self, on: bool) -> Self {
        self.allow_empty = on;
        self
    }

    /// Bytes of the input consumed so far (whole lines, terminators
    /// included); with the input's size, how far through it the reader is.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Up to `n` records; an empty vector at the end of the input.
    pub fn next_chunk(&mut self, n: usize) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.next_record()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }

    /// The next record, or `None` at the end of the input.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        Ok(self.next_strings(&["text"])?.map(|(rec, _)| rec))
    }

    /// The next record whose string fields `fields` are all present and
    /// checked like `"text"` (e.g. `"a"` and `"b"` for `similarity --input`);
    /// returns the record (its `text` is the first field) and the fields'
    /// values in order. `None` at the end of the input.
    pub fn next_strings(&mut self, fields: &[&str]) -> Result<Option<(Record, Vec<String>)>> {
        let mut buf = Vec::new();
        let n = std::io::Read::take(&mut self.input, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(&self.name, e))?;
        if n == 0 {
            return Ok(None);
        }
        self.bytes += n as u64;
        self.line += 1;
        let line = self.line;
        if buf.len() > MAX_LINE_BYTES {
            return Err(self.err(
                line,
                format!("line is longer than {} MiB", MAX_LINE_BYTES >> 20),
            ));
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let raw = String::from_utf8(buf).map_err(|e| {
            self.err(
                line,
                format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
            )
        })?;
        if raw.trim().is_empty() {
            let want = fields
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            let s = if fields.len() == 1 { "" } else { "s" };
            return Err(self.err(
                line,
                format!("blank line (expected a JSON object with a {want} field{s})"),
            ));
        }
        let value: serde_json::Value =
            serde_json::from_str(&raw).map_err(|e| self.err(line, format!("invalid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| self.err(line, "expected a JSON object"))?;
        let mut values = Vec::with_capacity(fields.len());
        for &name in fields {
            let text = match obj.get(name) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => {
                    return Err(self.err(line, format!("{name:?} must be a string, found {other}")))
                }
                None => return Err(self.err(line, format!("missing {name:?} field"))),
            };
            if !self.allow_empty && text.trim().is_empty() {
                return Err(self.err(
                    line,
                    format!("{name:?} is empty (use --allow-empty to embed it anyway)"),
                ));
            }
            values.push(text);
        }
        if let Some(k) = self.reserved.iter().find(|k| obj.contains_key(k.as_str())) {
            return Err(self.err(line, format!("the input already has a {k:?} field")));
        }
        let text = values.first().cloned().unwrap_or_default();
        Ok(Some((Record { line, text, raw }, values)))
    }

    fn err(&self, line: usize, msg: impl std::fmt::Display) -> Error {
        Error::line(&self.name, line, msg)
    }
}

/// Open `--input FILE`, or standard input when absent.
pub fn open_input(path: Option<&str>) -> Result<(Box<dyn BufRead>, PathBuf)> {
    open_input_sized(path).map(|(input, name, _)| (input, name))
}

/// [`open_input`], with the input's size in bytes when known: a regular
/// file's length; `None` for standard input, pipes and devices.
pub fn open_input_sized(path: Option<&str>) -> Result<(Box<dyn BufRead>, PathBuf, Option<u64>)> {
    match path {
        None | Some("-") => Ok((
            Box::new(std::io::BufReader::new(std::io::stdin())),
            PathBuf::from("<stdin>"),
            None,
        )),
        Some(p) => {
            let path = PathBuf::from(p);
            let f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            Ok((
                Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
                path,
                size,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str) -> Result<Vec<Record>> {
        let mut r = JsonlReader::new(input.as_bytes(), Path::new("in.jsonl"), &["embedding"]);
        r.next_chunk(usize::MAX)
    }

    #[test]
    fn passes_fields_through() {
        let recs =
            read_all("{\"id\": 7, \"text\": \"hi\", \"x\": [1.50]}\r\n{\"text\":\"b\"}").unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].text, "hi");
        assert_eq!(
            recs[0].with_field("embedding", "[1]"),
            "{\"id\": 7, \"text\": \"hi\", \"x\": [1.50],\"embedding\":[1]}"
        );
        assert_eq!(recs[1].line, 2);
    }

    #[test]
    fn counts_bytes_consumed() {
        let input = "{\"text\":\"a\"}\r\n{\"text\":\"bc\"}\n{\"text\":\"d\"}";
        let mut r = JsonlReader::new(input.as_bytes(), Path::new("in.jsonl"), &[]);
        assert_eq!(r.bytes_read(), 0);
        r.next_record().unwrap();
        assert_eq!(r.bytes_read(), 14);
        r.next_chunk(10).unwrap();
        assert_eq!(r.bytes_read(), input.len() as u64);
    }

    #[test]
    fn sizes_files_not_stdin() {
        let dir = std::env::temp_dir().join(format!("minilm-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("in.jsonl");
        std::fs::write(&file, "{\"text\":\"a\"}\n").unwrap();
        let (_, _, size) = open_input_sized(file.to_str()).unwrap();
        assert_eq!(size, Some(13));
        assert_eq!(open_input_sized(Some("-")).unwrap().2, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            ("{\"text\":\"a\"}\n\n", "in.jsonl:2: blank line"),
            ("{\"text\":\"a\"}\n{\"text\":", "in.jsonl:2: invalid JSON"),
            ("[1]", "in.jsonl:1: expected a JSON object"),
            ("{\"txt\":\"a\"}", "in.jsonl:1: missing \"text\""),
            ("{\"text\":3}", "in.jsonl:1: \"text\" must be a string"),
            ("{\"text\":\"  \"}", "in.jsonl:1: \"text\" is empty"),
            (
                "{\"text\":\"a\",\"embedding\":1}",
                "in.jsonl:1: the input already has",
            ),
        ];
        for (input, want) in cases {
            let e = read_all(input).unwrap_err().to_string();
            assert!(e.starts_with(want), "{input:?}: {e}");
        }
        let bad_utf8: &[u8] = b"{\"text\":\"\xff\"}";
        let e = JsonlReader::new(bad_utf8, Path::new("in.jsonl"), &[])
            .next_record()
            .unwrap_err();
        assert!(
            e.to_string().starts_with("in.jsonl:1: invalid UTF-8"),
            "{e}"
        );
    }
}
