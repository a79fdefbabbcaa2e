//! NAME
//!   bounce_client - client stub of the bounce service
//!
//! SYNOPSIS
//!   `let b = BounceClient::from_config(&config);`
//!   `b.flush(queue::ACTIVE, &id)?;`   // DSN for every record in bounce/ID
//!   `b.warn(queue::ACTIVE, &id)?;`    // delay warning from defer/ID
//!   `b.expire(queue::ACTIVE, &id)?;`  // bounce what is still pending
//!   `b.trace(queue::ACTIVE, &id)?;`   // delivery report from trace/ID
//!
//! DESCRIPTION
//!   One request per connection to `private/bounce` (relative to the
//!   current directory, which is `queue_directory` in every daemon):
//!   `request=flush|warn|expire|trace`, `queue_name=` (where the queue file is
//!   now), `queue_id=`. The service answers `status=0`, or `status=1`
//!   with `reason=` (doc/PIPELINE.md "bounce protocol").
//!
//!   The connection and the wait for the answer are bounded by
//!   `ipc_timeout` (postconf(5)).
//!
//! DIAGNOSTICS
//!   [`DeliverError::Io`] when the service cannot be reached,
//!   [`DeliverError::Refused`] with the server's reason for `status=1`,
//!   [`DeliverError::Attr`] for a broken reply. The caller keeps the
//!   message and tries again later (qmgr defers it).
use crate::error::{DeliverError, Result};
use global::attr::{self, Attrs};
use global::Config;
use queue::QueueId;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the bounce service listens, relative to `queue_directory`.
pub const BOUNCE_SERVICE: &str = "private/bounce";

/// A client of the bounce service.
#[derive(Debug, Clone)]
pub struct BounceClient {
    path: PathBuf,
    timeout: Duration,
}

impl BounceClient {
    /// A client of the service at `path` with an I/O `timeout`.
    pub fn new(path: impl Into<PathBuf>, timeout: Duration) -> BounceClient {
        BounceClient {
            path: path.into(),
            timeout,
        }
    }

    /// The client of `private/bounce` with `ipc_timeout` (default 3600s
    /// when the value is malformed).
    pub fn from_config(cfg: &Config) -> BounceClient {
        let t = cfg.get_time("ipc_timeout").unwrap_or(3600).max(1);
        BounceClient::new(BOUNCE_SERVICE, Duration::from_secs(t))
    }

    /// The service path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn call(&self, request: &str, queue_name: &str, id: &QueueId) -> Result<()> {
        let what = format!("connect to {}", self.path.display());
        let mut s = UnixStream::connect(&self.path).map_err(DeliverError::io(&what))?;
        s.set_read_timeout(Some(self.timeout))
            .map_err(DeliverError::io(&what))?;
        s.set_write_timeout(Some(self.timeout))
            .map_err(DeliverError::io(&what))?;
        let req = Attrs::new()
            .put_str("request", request)
            .put_str("queue_name", queue_name)
            .put_str("queue_id", id.as_str());
        let reply = attr::request(&mut s, &req)?;
        match reply.int("status")? {
            0 => Ok(()),
            _ => Err(DeliverError::Refused(
                reply
                    .opt_str("reason")?
                    .unwrap_or("bounce service failed")
                    .to_string(),
            )),
        }
    }

    /// Send the non-delivery notice for every record of `bounce/ID` and
    /// remove that log. `queue_name` is where the queue file is.
    pub fn flush(&self, queue_name: &str, id: &QueueId) -> Result<()> {
        self.call("flush", queue_name, id)
    }

    /// Send a delay warning from `defer/ID` (which stays).
    pub fn warn(&self, queue_name: &str, id: &QueueId) -> Result<()> {
        self.call("warn", queue_name, id)
    }

    /// The message is too old: bounce every pending recipient with its
    /// last reason from `defer/ID`, then send as for flush.
    pub fn expire(&self, queue_name: &str, id: &QueueId) -> Result<()> {
        self.call("expire", queue_name, id)
    }

    /// Send the delivery report (DSN NOTIFY=SUCCESS) for the records of
    /// `trace/ID` and remove that log.
    pub fn trace(&self, queue_name: &str, id: &QueueId) -> Result<()> {
        self.call("trace", queue_name, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use global::attr::{AttrReader, AttrWriter};
    use std::os::unix::net::UnixListener;

    #[test]
    fn requests_and_replies() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("bounce");
        let l = UnixListener::bind(&p).unwrap();
        let srv = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for status in [0, 1] {
                let (c, _) = l.accept().unwrap();
                let a = AttrReader::new(&c).read().unwrap().unwrap();
                seen.push(format!(
                    "{} {} {}",
                    a.str("request").unwrap(),
                    a.str("queue_name").unwrap(),
                    a.str("queue_id").unwrap()
                ));
                let mut r = Attrs::new().put_int("status", status);
                if status == 1 {
                    r = r.put_str("reason", "4.3.0 cleanup unavailable");
                }
                AttrWriter::new(&c).write(&r).unwrap();
            }
            seen
        });
        let b = BounceClient::new(&p, Duration::from_secs(5));
        let id = QueueId::from_parts(1_700_000_000, 1, 1);
        b.flush("active", &id).unwrap();
        let e = b.expire("deferred", &id).unwrap_err();
        assert_eq!(e.to_string(), "4.3.0 cleanup unavailable");
        let seen = srv.join().unwrap();
        assert_eq!(seen[0], format!("flush active {}", id.as_str()));
        assert_eq!(seen[1], format!("expire deferred {}", id.as_str()));
        let gone = BounceClient::new(t.path().join("nobody"), Duration::from_secs(1));
        assert!(matches!(
            gone.warn("active", &id),
            Err(DeliverError::Io { .. })
        ));
    }
}
