//! NAME
//!   queue - the Postern mail queue
//!
//! SYNOPSIS
//!   use queue::{QueueDir, QueueWriter, QueueFile, Recipient};
//!
//!   let qdir = QueueDir::from_config(&config)?;
//!   let mut w = QueueWriter::create(&qdir, queue::INCOMING)?;   // cleanup
//!   w.set_sender("alice@example.com")?;
//!   w.add_recipient(&Recipient::new("bob@example.org"))?;
//!   w.write_content(message)?;
//!   let id = w.commit()?;                                    // durable
//!
//!   for id in qdir.scan(queue::INCOMING)? { ... }            // qmgr
//!   let mut qf = QueueFile::open(&qdir, queue::INCOMING, &id?)?;
//!   qf.move_to(queue::ACTIVE)?;
//!   qf.mark_done(0)?;
//!
//! DESCRIPTION
//!   The queue directories under `queue_directory` and their hashing
//!   ([`dir`]), long queue IDs ([`id`]), the queue file format
//!   ([`record`], [`envelope`], [`parse`]; `doc/QUEUE_FORMAT.md`),
//!   durable creation ([`writer`]) and reading and in-place updates
//!   ([`file`]).
//!
//!   The guarantees the daemons build on: a file is complete only when
//!   [`QueueWriter::commit`] has returned (mode 0700, fsynced, directory
//!   fsynced); a file cut short or garbled is reported as corrupt, never
//!   as a message; a recipient marked done stays done across a crash.
//!
//! SEE ALSO
//!   postconf(5) `queue_directory`, `hash_queue_names`,
//!   `hash_queue_depth`, `enable_long_queue_ids`.
#![forbid(unsafe_code)]

pub mod dir;
pub mod envelope;
pub mod error;
pub mod file;
pub mod id;
pub mod maildrop;
pub mod parse;
pub mod record;
pub mod writer;

pub use dir::{
    QueueDir, Scan, ACTIVE, ALL_QUEUES, BOUNCE, CORRUPT, DEFER, DEFERRED, FLUSH, HOLD, INCOMING,
    MAILDROP, MESSAGE_QUEUES, SAVED, TRACE,
};
pub use envelope::{DsnNotify, DsnRet, Envelope, Recipient};
pub use error::{QueueError, Result};
pub use file::QueueFile;
pub use id::QueueId;
pub use writer::{QueueWriter, MODE_EXPIRE, MODE_READY, MODE_WRITING};

#[cfg(test)]
mod tests;
