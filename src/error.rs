//! Errors. Every error that reaches the user names the input it came from and says
//! what was wrong in one line; `main` prints it as `rdiff: INPUT: PROBLEM` and exits 2.

use std::fmt;
use std::io;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error with the name of the input (file, directory, or `-`) it concerns.
#[derive(Debug)]
pub struct Error {
    /// The input as the user named it, or empty when the error concerns no input.
    pub input: String,
    pub kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The compressed stream ended before its last frame/member was complete.
    #[error("truncated {format} stream after {offset} bytes")]
    TruncatedCompressed { format: &'static str, offset: u64 },
    /// The decompressor rejected the data.
    #[error("corrupt {format} stream near byte {offset}: {message}")]
    CorruptCompressed {
        format: &'static str,
        offset: u64,
        message: String,
    },
    /// The tar stream is malformed.
    #[error("{0}")]
    Tar(#[from] crate::source::tar::TarError),
    /// The (decompressed) stream does not start with a tar header.
    #[error("{}", not_tar(.looks, *.short, .compressed))]
    NotTar {
        /// What its first bytes look like (`text`, `an ELF binary`), if anything known.
        looks: Option<&'static str>,
        /// Its length, when it is shorter than one 512-byte header.
        short: Option<u64>,
        /// The compression it was decoded from (`gzip`), if any.
        compressed: Option<&'static str>,
    },
    /// The user asked for something that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// A resource limit was hit.
    #[error("{0}")]
    Limit(String),
    /// Content read a second time did not have the digest of its first read.
    #[error("{0}")]
    Changed(String),
    /// Anything else, already phrased.
    #[error("{0}")]
    Other(String),
}

/// `not a tar archive: text, gzip-compressed, 26 bytes`: said once, with what the
/// bytes look like.
fn not_tar(looks: &Option<&'static str>, short: Option<u64>, compressed: &Option<&str>) -> String {
    let mut parts = vec![looks.unwrap_or("no tar header at its start").to_string()];
    parts.extend(compressed.map(|c| format!("{c}-compressed")));
    match short {
        Some(n) if looks.is_none() => {
            parts[0] = format!("{n} bytes, less than one 512-byte header");
        }
        Some(n) => parts.push(format!("{n} bytes")),
        None => {}
    }
    format!("not a tar archive: {}", parts.join(", "))
}

impl Error {
    pub fn new(input: impl Into<String>, kind: impl Into<ErrorKind>) -> Self {
        Error {
            input: input.into(),
            kind: kind.into(),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::new("", ErrorKind::Usage(msg.into()))
    }

    pub fn other(input: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::new(input, ErrorKind::Other(msg.into()))
    }

    /// Unwrap io errors that carry one of our own kinds (decompressor errors travel
    /// through `io::Read` as `io::Error::other(ErrorKind)`).
    pub fn from_io(input: impl Into<String>, err: io::Error) -> Self {
        Error::new(input, ErrorKind::from_io(err))
    }
}

impl ErrorKind {
    pub fn from_io(err: io::Error) -> Self {
        if err.get_ref().is_some_and(|e| e.is::<ErrorKind>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<ErrorKind>().expect("checked above");
        }
        if err
            .get_ref()
            .is_some_and(|e| e.is::<crate::source::tar::TarError>())
        {
            let inner = err.into_inner().expect("checked above");
            return ErrorKind::Tar(*inner.downcast().expect("checked above"));
        }
        ErrorKind::Io(err)
    }

    /// Wrap this kind in an `io::Error` so it can cross an `io::Read` boundary.
    pub fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.input.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.input, self.kind)
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_kinds_survive_io_roundtrip() {
        let io = ErrorKind::TruncatedCompressed {
            format: "zstd",
            offset: 1234567,
        }
        .into_io();
        let e = Error::from_io("b.tar.zst", io);
        assert_eq!(
            e.to_string(),
            "b.tar.zst: truncated zstd stream after 1234567 bytes"
        );
    }
}
