//! NAME
//!   error - errors of the queue crate
//!
//! DESCRIPTION
//!   [`QueueError`] tells apart what a caller must handle differently:
//!   an I/O error (retry later), a corrupt file (move it to `corrupt`),
//!   a file still being written (leave it alone), and misuse of the API.
use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// Errors of queue operations.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QueueError {
    /// A system call on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// The file is truncated or garbled; the caller moves it to `corrupt`.
    #[error("{}: corrupt queue file: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is not marked complete (its writer has not finished, or
    /// died before it finished).
    #[error("{}: queue file is not complete", path.display())]
    Incomplete {
        /// The file.
        path: PathBuf,
    },
    /// A queue name with characters other than letters and digits.
    #[error("bad queue name: {0}")]
    BadQueueName(String),
    /// The API was used out of order (a sender after the content, a
    /// recipient index out of range, ...).
    #[error("queue file usage error: {0}")]
    Usage(String),
}

impl QueueError {
    /// Whether this is an I/O error saying the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, QueueError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// Whether the caller should move the file to the `corrupt` queue.
    pub fn is_corrupt(&self) -> bool {
        matches!(self, QueueError::Corrupt { .. })
    }
}

/// Result of queue operations.
pub type Result<T> = std::result::Result<T, QueueError>;

/// Attach `path` to an I/O error.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> QueueError {
    let path = path.into();
    move |source| QueueError::Io { path, source }
}
