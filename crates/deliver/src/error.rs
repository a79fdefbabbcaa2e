//! NAME
//!   error - errors of the deliver crate
//!
//! DESCRIPTION
//!   [`DeliverError`] separates a broken peer (protocol), a queue file
//!   problem, and plain I/O, so that callers can log and defer precisely.
use thiserror::Error;

/// Errors of delivery requests, the toolkit, the DSN logs and the bounce client.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The attribute stream failed or carried bad attributes.
    #[error("{0}")]
    Attr(#[from] global::attr::AttrError),
    /// A queue operation failed.
    #[error("{0}")]
    Queue(#[from] queue::QueueError),
    /// A system call failed (`what` says which file or service).
    #[error("{what}: {source}")]
    Io {
        /// The file or service.
        what: String,
        /// The system error.
        source: std::io::Error,
    },
    /// The peer sent something that breaks the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A server (bounce) answered that it failed, with its reason.
    #[error("{0}")]
    Refused(String),
}

impl DeliverError {
    /// Attach `what` to an I/O error.
    pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> DeliverError {
        let what = what.to_string();
        move |source| DeliverError::Io { what, source }
    }
}

/// Result of the deliver crate.
pub type Result<T> = std::result::Result<T, DeliverError>;
