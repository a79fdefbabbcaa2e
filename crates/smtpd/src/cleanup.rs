//! NAME
//!   cleanup - how smtpd hands a message to the cleanup service
//!
//! DESCRIPTION
//!   The session talks to cleanup through the [`Cleanup`] trait, so the
//!   in-process tests use a fake that keeps messages in memory and the
//!   daemon uses [`SocketCleanup`], which speaks the cleanup protocol of
//!   doc/PIPELINE.md through `global::cleanup_client` on `public/cleanup`
//!   (relative to the queue directory, where the skeleton has put us):
//!
//!   1. connect; read `queue_id=ID` (the file exists in `incoming`);
//!   2. send the envelope as one attribute list ([`Envelope::attrs`]);
//!   3. send the content with LF line endings in length-prefixed chunks
//!      (at most 1 MiB each), then a `0` chunk;
//!   4. read `status=N reason=... queue_id=ID`; status 0 means the file is
//!      complete on disk, and only then does smtpd say `250 ... queued`.
//!
//! DIAGNOSTICS
//!   A connection or protocol failure is a [`CleanupError`]; the session
//!   answers `451 4.3.0 Error: queue file write error` and logs why.
use global::cleanup_client as client;
use thiserror::Error;

/// A failure talking to cleanup.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CleanupError {
    /// The cleanup client failed (connect, I/O, protocol).
    #[error("{0}")]
    Client(client::CleanupError),
    /// A test double failed.
    #[error("{0}")]
    Other(String),
}

/// The envelope as cleanup takes it (PIPELINE.md step 2).
pub use client::Submission as Envelope;
/// One recipient of the envelope.
pub use client::SubmitRecipient as Recipient;

/// cleanup's verdict on one message (step 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// 0 = queued; else CLEANUP_STAT_* bits.
    pub status: i32,
    /// `5.3.4 Message file too big` etc. (empty when queued).
    pub reason: String,
}

/// Opens cleanup sessions.
pub trait Cleanup: Send {
    /// Start one message; the session knows its queue ID at once.
    fn open(&mut self) -> Result<Box<dyn CleanupSession>, CleanupError>;
}

/// One message being written by cleanup.
pub trait CleanupSession: Send {
    /// The queue ID cleanup assigned.
    fn queue_id(&self) -> &str;
    /// Send the envelope; once, before any content.
    fn envelope(&mut self, env: &Envelope) -> Result<(), CleanupError>;
    /// Send content bytes (LF line endings).
    fn write(&mut self, data: &[u8]) -> Result<(), CleanupError>;
    /// End the content and wait for the verdict.
    fn finish(self: Box<Self>) -> Result<Verdict, CleanupError>;
}

/// The real cleanup service, through `global::cleanup_client`
/// (`public/cleanup`, else `private/cleanup`, relative to the queue
/// directory; every read and write bounded by `ipc_timeout`).
#[derive(Debug, Clone)]
pub struct SocketCleanup {
    /// The configuration (for `ipc_timeout`).
    pub config: global::Config,
}

struct SocketSession(client::CleanupSession);

impl Cleanup for SocketCleanup {
    fn open(&mut self) -> Result<Box<dyn CleanupSession>, CleanupError> {
        let s = client::CleanupSession::open_config(&self.config).map_err(CleanupError::Client)?;
        Ok(Box::new(SocketSession(s)))
    }
}

impl CleanupSession for SocketSession {
    fn queue_id(&self) -> &str {
        self.0.queue_id()
    }

    fn envelope(&mut self, env: &Envelope) -> Result<(), CleanupError> {
        self.0.envelope(env).map_err(CleanupError::Client)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), CleanupError> {
        self.0.write_content(data).map_err(CleanupError::Client)
    }

    fn finish(self: Box<Self>) -> Result<Verdict, CleanupError> {
        match self.0.finish() {
            Ok(_) => Ok(Verdict {
                status: 0,
                reason: String::new(),
            }),
            Err(client::CleanupError::Rejected { status, reason }) => {
                Ok(Verdict { status, reason })
            }
            Err(e) => Err(CleanupError::Client(e)),
        }
    }
}
