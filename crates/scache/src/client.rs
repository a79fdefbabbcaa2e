//! NAME
//!   client - the scache client stub of the delivery agents
//!
//! SYNOPSIS
//!   ```ignore
//!   let mut c = Client::new("private/scache");
//!   c.save_endp(ttl, "smtp:192.0.2.1:25", "prop", sock.as_fd());
//!   let found = c.find_endp("smtp:192.0.2.1:25");
//!   ```
//!
//! DESCRIPTION
//!   [`Client`] connects to the cache service on first use and keeps the
//!   connection for the life of the agent process; when the service is
//!   unreachable or a call fails, the call logs a warning and reports
//!   nothing cached, and the next call tries to connect again. The cache
//!   is an optimisation: its failure never affects delivery.
//!
//!   Every call waits at most [`TIMEOUT`] for the service.
//!
//! SEE ALSO
//!   [`crate::proto`], scache(8).
use crate::proto::{self, FIND_DEST, FIND_ENDP, SAVE_DEST, SAVE_ENDP};
use global::attr::Attrs;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;
use util::msg_warn;

/// How long one request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A socket found in the cache.
#[derive(Debug)]
pub struct Found {
    /// The destination's property (empty for endpoint lookups).
    pub dest_prop: String,
    /// The endpoint's property.
    pub endp_prop: String,
    /// The connected socket.
    pub fd: OwnedFd,
}

/// The client stub (see the module description).
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    conn: Option<UnixStream>,
}

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

impl Client {
    /// A client of the service at `path` (normally `private/scache`,
    /// relative to `queue_directory`). Does not connect yet.
    pub fn new(path: impl Into<PathBuf>) -> Client {
        Client {
            path: path.into(),
            conn: None,
        }
    }

    fn call(
        &mut self,
        req: &Attrs,
        fd: Option<BorrowedFd<'_>>,
    ) -> io::Result<(Attrs, Option<OwnedFd>)> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.path)?;
            s.set_read_timeout(Some(TIMEOUT))?;
            s.set_write_timeout(Some(TIMEOUT))?;
            self.conn = Some(s);
        }
        let result = (|| {
            let s = self
                .conn
                .as_mut()
                .ok_or_else(|| io::Error::other("not connected"))?;
            proto::send(s, req, fd)?;
            proto::recv(s)?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "service closed the connection",
                )
            })
        })();
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    fn call_or_warn(
        &mut self,
        req: &Attrs,
        fd: Option<BorrowedFd<'_>>,
    ) -> Option<(Attrs, Option<OwnedFd>)> {
        match self.call(req, fd) {
            Ok(r) => Some(r),
            Err(e) => {
                msg_warn!("connection cache {}: {e}", self.path.display());
                None
            }
        }
    }

    /// Hand socket `fd` of endpoint `label` to the cache for `ttl`.
    /// Returns whether the cache took it.
    pub fn save_endp(
        &mut self,
        ttl: Duration,
        label: &str,
        prop: &str,
        fd: BorrowedFd<'_>,
    ) -> bool {
        let req = Attrs::new()
            .put_str("request", SAVE_ENDP)
            .put_int("ttl", ttl_secs(ttl))
            .put_str("label", label)
            .put_str("prop", prop);
        matches!(self.call_or_warn(&req, Some(fd)), Some((a, _)) if a.int("status").ok() == Some(0))
    }

    /// Take a cached socket of endpoint `label`.
    pub fn find_endp(&mut self, label: &str) -> Option<Found> {
        let req = Attrs::new()
            .put_str("request", FIND_ENDP)
            .put_str("label", label);
        let (a, fd) = self.call_or_warn(&req, None)?;
        if a.int("status").ok() != Some(0) {
            return None;
        }
        Some(Found {
            dest_prop: String::new(),
            endp_prop: a.opt_str("prop").ok().flatten().unwrap_or("").to_string(),
            fd: fd?,
        })
    }

    /// Point destination `label` at endpoint `endp` for `ttl`.
    pub fn save_dest(&mut self, ttl: Duration, label: &str, prop: &str, endp: &str) -> bool {
        let req = Attrs::new()
            .put_str("request", SAVE_DEST)
            .put_int("ttl", ttl_secs(ttl))
            .put_str("label", label)
            .put_str("prop", prop)
            .put_str("endp_label", endp);
        matches!(self.call_or_warn(&req, None), Some((a, _)) if a.int("status").ok() == Some(0))
    }

    /// Take a cached socket for destination `label`.
    pub fn find_dest(&mut self, label: &str) -> Option<Found> {
        let req = Attrs::new()
            .put_str("request", FIND_DEST)
            .put_str("label", label);
        let (a, fd) = self.call_or_warn(&req, None)?;
        if a.int("status").ok() != Some(0) {
            return None;
        }
        let get = |n: &str| a.opt_str(n).ok().flatten().unwrap_or("").to_string();
        Some(Found {
            dest_prop: get("prop"),
            endp_prop: get("endp_prop"),
            fd: fd?,
        })
    }
}
