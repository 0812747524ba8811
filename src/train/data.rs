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

use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::Path;
use std::str::FromStr;

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub label: String,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Example {
        Example {
            text: text.into(),
            label: label.into(),
        }
    }
}

/// A list of examples and the sorted names of its labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub examples: Vec<Example>,
    /// Sorted, without duplicates. Either the labels that occur in
    /// `examples`, or a label set given by the caller (which may hold labels
    /// that no example carries).
    pub labels: Vec<String>,
}

impl Dataset {
    /// A dataset whose label names are the ones that occur in `examples`.
    pub fn new(examples: Vec<Example>) -> Dataset {
        let labels: BTreeSet<&str> = examples.iter().map(|e| e.label.as_str()).collect();
        let labels = labels.into_iter().map(str::to_string).collect();
        Dataset { examples, labels }
    }

    /// A dataset with a fixed label set; an example whose label is not in
    /// `labels` is an error.
    pub fn with_labels(examples: Vec<Example>, labels: &[String]) -> Result<Dataset> {
        let set: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
        if let Some(e) = examples.iter().find(|e| !set.contains(e.label.as_str())) {
            return Err(Error::msg(format!(
                "unknown label {:?} (expected one of {})",
                e.label,
                join_labels(labels)
            )));
        }
        let labels = set.into_iter().map(str::to_string).collect();
        Ok(Dataset { examples, labels })
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The index in `labels` of each example's label, in example order. An
    /// example whose label is not in `labels` is an error.
    pub fn label_indices(&self, labels: &[String]) -> Result<Vec<usize>> {
        let index: BTreeMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        self.examples
            .iter()
            .enumerate()
            .map(|(i, e)| {
                index.get(e.label.as_str()).copied().ok_or_else(|| {
                    Error::msg(format!(
                        "example {}: label {:?} is not one of {}",
                        i + 1,
                        e.label,
                        join_labels(labels)
                    ))
                })
            })
            .collect()
    }

    /// The index in `self.labels` of each example's label.
    pub fn own_label_indices(&self) -> Vec<usize> {
        let index: BTreeMap<&str, usize> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        // Every example's label is in `self.labels` by construction; an
        // example added by hand afterwards with another label maps to the
        // end of the list rather than panicking.
        self.examples
            .iter()
            .map(|e| {
                index
                    .get(e.label.as_str())
                    .copied()
                    .unwrap_or(self.labels.len())
            })
            .collect()
    }

    /// How many examples carry each label, for every name in `self.labels`
    /// (zero included), in label order.
    pub fn label_counts(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> =
            self.labels.iter().map(|l| (l.as_str(), 0)).collect();
        for e in &self.examples {
            *counts.entry(e.label.as_str()).or_insert(0) += 1;
        }
        counts
            .into_iter()
            .map(|(l, n)| (l.to_string(), n))
            .collect()
    }

    /// `N examples (a 12, b 30)`, for logs.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .label_counts()
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        format!("{} examples ({})", self.len(), parts.join(", "))
    }
}

fn join_labels(labels: &[String]) -> String {
    let v: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
    v.join(", ")
}

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
        Format::JsonLines => parse_jsonl(path, text, opts, &mut b)?,
        Format::Csv => {
            let records = parse_csv(path, text)?;
            parse_table(path, records, opts, &mut b)?
        }
        Format::Tsv => {
            let records = split_tsv(text);
            parse_table(path, records, opts, &mut b)?
        }
        Format::OrangeTab => parse_orange_tab(path, text, opts, &mut b)?,
        Format::JsonArray => parse_json_array(path, text, opts, &mut b)?,
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
struct Builder<'a> {
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
    fn push(&mut self, line: usize, what: &str, text: String, label: String) -> Result<()> {
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
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// A serde_json error message without serde's own position suffix.
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// The label of a JSON record: a string, or an integer written in decimal.
fn json_label(v: Option<&Value>, field: &str) -> std::result::Result<String, String> {
    match v {
        None | Some(Value::Null) => Err(format!("missing label field {field:?}")),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        Some(_) => Err(format!(
            "label field {field:?} must be a string or an integer"
        )),
    }
}

fn json_text(v: Option<&Value>, field: &str) -> std::result::Result<String, String> {
    match v {
        None | Some(Value::Null) => Err(format!("missing text field {field:?}")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("text field {field:?} must be a string")),
    }
}

fn parse_jsonl(path: &Path, text: &str, opts: &ReadOptions, b: &mut Builder) -> Result<()> {
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

fn parse_json_array(path: &Path, text: &str, opts: &ReadOptions, b: &mut Builder) -> Result<()> {
    let idx = LineIndex::new(text);
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
    // Parse every element first, remembering where it started, so that the
    // last one can be recognised as the trailing empty record.
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

/// One row of a delimited file and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

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
                let open_line = line;
                i += 1;
                let mut seg = i;
                loop {
                    if i >= n {
                        return Err(Error::line(path, open_line, "unterminated quoted field (the quote opened on this line is never closed)"));
                    }
                    match b[i] {
                        b'"' => {
                            field.push_str(&text[seg..i]);
                            if b.get(i + 1) == Some(&b'"') {
                                field.push('"');
                                i += 2;
                                seg = i;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        b'\n' => {
                            line += 1;
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
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

/// Header row, then data rows; the text and label columns are found by name.
fn parse_table(
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
        if rec.fields.len() != width {
            return Err(Error::line(
                path,
                rec.line,
                format!(
                    "expected {width} columns (as in the header), found {}",
                    rec.fields.len()
                ),
            ));
        }
        let label = rec.fields[li].trim().to_string();
        let text = std::mem::take(&mut rec.fields[ti]);
        b.push(rec.line, "", text, label)?;
    }
    Ok(())
}

/// Orange `.tab`: line 1 holds the column names, line 2 their types, line 3
/// their flags (`class` marks the label column). An empty (or tabs-only)
/// line right after the header is skipped, as are blank lines later on.
fn parse_orange_tab(path: &Path, text: &str, opts: &ReadOptions, b: &mut Builder) -> Result<()> {
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
