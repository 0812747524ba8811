//! One error type for the whole crate. Every message is a single line that
//! names what was wrong and where: the file, and the line or tensor when known.

use std::fmt;
use std::path::Path;

/// An error with a one-line, user-facing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error not tied to a file.
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
    /// An error about a whole file.
    pub fn file(path: &Path, message: impl fmt::Display) -> Self {
        Error::msg(format!("{}: {message}", path.display()))
    }
    /// An error about one line of a file (1-based line numbers).
    pub fn line(path: &Path, line: usize, message: impl fmt::Display) -> Self {
        Error::msg(format!("{}:{line}: {message}", path.display()))
    }
    /// An error about one tensor of a weights file.
    pub fn tensor(path: &Path, tensor: &str, message: impl fmt::Display) -> Self {
        Error::msg(format!("{}: tensor {tensor}: {message}", path.display()))
    }
    /// An I/O error while reading or writing `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        Error::file(path, err)
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
