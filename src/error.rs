//! One error type for the whole crate. Every message is a single line that
//! names what was wrong and where: the file, and the line or tensor when known.

use std::fmt;
use std::path::Path;

/// What kind of failure an [`Error`] is, for callers that act on it
/// (never parse the message for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line was wrong: an unknown option, a missing or
    /// unparsable value, an unexpected argument.
    Usage,
    /// A file could not be read or written ([`Error::path`] names it).
    Io,
    /// A line of an input file is invalid ([`Error::path`] and
    /// [`Error::line_number`] say where).
    Parse,
    /// A model file is invalid: a tensor missing or of the wrong shape,
    /// dtype or values ([`Error::path`] names the file).
    Model,
    /// A whole file's content is invalid (no single line to blame), e.g. a
    /// configuration or a folder that is not what was asked for.
    File,
    /// A run was stopped on request (Ctrl-C, a step limit); its state was
    /// saved for `--resume`.
    Interrupted,
    /// Anything else: shapes, data, states the library was asked to reach.
    Other,
}

/// An error with a one-line, user-facing message, its [`ErrorKind`], and
/// the file and line it is about when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<std::path::PathBuf>,
    line: Option<usize>,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: ErrorKind, message: String, path: Option<&Path>, line: Option<usize>) -> Self {
        Error {
            kind,
            message,
            path: path.map(Path::to_path_buf),
            line,
        }
    }
    /// An error not tied to a file.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Other, message.into(), None, None)
    }
    /// A wrong command line ([`ErrorKind::Usage`]).
    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message.into(), None, None)
    }
    /// A run stopped on request ([`ErrorKind::Interrupted`]).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Interrupted, message.into(), None, None)
    }
    /// An error about a whole file ([`ErrorKind::File`]).
    pub fn file(path: &Path, message: impl fmt::Display) -> Self {
        let m = format!("{}: {message}", path.display());
        Error::new(ErrorKind::File, m, Some(path), None)
    }
    /// An error about one line of a file, 1-based ([`ErrorKind::Parse`]).
    pub fn line(path: &Path, line: usize, message: impl fmt::Display) -> Self {
        let m = format!("{}:{line}: {message}", path.display());
        Error::new(ErrorKind::Parse, m, Some(path), Some(line))
    }
    /// An error about one tensor of a weights file ([`ErrorKind::Model`]).
    pub fn tensor(path: &Path, tensor: &str, message: impl fmt::Display) -> Self {
        let m = format!("{}: tensor {tensor}: {message}", path.display());
        Error::new(ErrorKind::Model, m, Some(path), None)
    }
    /// An I/O error while reading or writing `path` ([`ErrorKind::Io`]).
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let m = format!("{}: {err}", path.display());
        Error::new(ErrorKind::Io, m, Some(path), None)
    }
    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
    /// The 1-based line of [`Error::path`] the error is about, if any.
    pub fn line_number(&self) -> Option<usize> {
        self.line
    }
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// Whether a run was stopped on request.
    pub fn is_interrupted(&self) -> bool {
        self.kind == ErrorKind::Interrupted
    }
    /// The message, without any prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_constructor_gives_its_kind_and_location() {
        let p = Path::new("data/x.jsonl");
        let e = Error::line(p, 7, "no \"text\" field");
        assert_eq!(e.kind(), ErrorKind::Parse);
        assert_eq!((e.path(), e.line_number()), (Some(p), Some(7)));
        assert_eq!(e.to_string(), "data/x.jsonl:7: no \"text\" field");
        let e = Error::tensor(p, "w", "missing");
        assert_eq!(
            (e.kind(), e.path(), e.line_number()),
            (ErrorKind::Model, Some(p), None)
        );
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(Error::io(p, io).kind(), ErrorKind::Io);
        assert_eq!(Error::file(p, "bad").kind(), ErrorKind::File);
        assert_eq!(Error::usage("--x").kind(), ErrorKind::Usage);
        assert_eq!(Error::msg("x").path(), None);
        assert!(Error::interrupted("stop").is_interrupted());
    }
}
