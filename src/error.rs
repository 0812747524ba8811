//! One error type for the whole crate. Every message is a single line that
//! names what was wrong and where: the file, and the line or tensor when known.

use std::fmt;
use std::path::Path;

/// What kind of failure an [`Error`] is, for callers that act on it
/// (never parse the message for that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file could not be read or written, or its content is invalid.
    File,
    /// A run was stopped on request (Ctrl-C, a step limit); its state was
    /// saved for `--resume`.
    Interrupted,
    /// Anything else: bad arguments, shapes, data.
    Other,
}

/// An error with a one-line, user-facing message and its [`ErrorKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error not tied to a file.
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }
    /// A run stopped on request ([`ErrorKind::Interrupted`]).
    pub fn interrupted(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Interrupted,
            message: message.into(),
        }
    }
    /// An error about a whole file.
    pub fn file(path: &Path, message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::File,
            message: format!("{}: {message}", path.display()),
        }
    }
    /// An error about one line of a file (1-based line numbers).
    pub fn line(path: &Path, line: usize, message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::File,
            message: format!("{}:{line}: {message}", path.display()),
        }
    }
    /// An error about one tensor of a weights file.
    pub fn tensor(path: &Path, tensor: &str, message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::File,
            message: format!("{}: tensor {tensor}: {message}", path.display()),
        }
    }
    /// An I/O error while reading or writing `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        Error::file(path, err)
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
