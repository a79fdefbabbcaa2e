//! NAME
//!   mgr_client - the tlsmgr client stub
//!
//! SYNOPSIS
//!   let mgr = MgrClient::new("private/tlsmgr");
//!   if let Some(blob) = mgr.lookup("smtp", &cache_id) { ... }
//!
//! DESCRIPTION
//!   smtpd and smtp reach tlsmgr(8) over `private/tlsmgr` (relative to
//!   `queue_directory`, which is also the chroot) with the attribute
//!   protocol ([`global::attr`]). One request, one reply:
//!
//!   | request  | request attributes                   | reply attributes            |
//!   |----------|--------------------------------------|-----------------------------|
//!   | `lookup` | `cache_type`, `cache_id`             | `status`, `session` (data)  |
//!   | `update` | `cache_type`, `cache_id`, `session`  | `status`                    |
//!   | `delete` | `cache_type`, `cache_id`             | `status`                    |
//!   | `seed`   | `size` (bytes, at most 1024)         | `status`, `seed` (data)     |
//!   | `tktkey` | `keyname` (data; empty = current)    | `status`, `keybuf` (data)   |
//!
//!   `cache_type` is `smtpd`, `smtp` or `lmtp`; `status` is 0 (OK), -1
//!   (bad request, or no cache of that type) or -2 (not found). `session`
//!   is a [`crate::scache`] blob; `keybuf` is a [`TicketKey`].
//!
//!   Failure to reach tlsmgr is never fatal: the caller goes on without
//!   resumption. The first failure in a process logs one warning
//!   (`problem talking to server private/tlsmgr: ...`); later ones are
//!   silent, and the stub retries the connection on each request.
//!
//! SEE ALSO
//!   tlsmgr(8).
use global::attr::{self, Attrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use util::msg_warn;

/// Reply status: success.
pub const STAT_OK: i32 = 0;
/// Reply status: bad request or cache type not enabled.
pub const STAT_ERR: i32 = -1;
/// Reply status: not found.
pub const STAT_FAIL: i32 = -2;

/// Length of a ticket key name.
pub const TICKET_NAME_LEN: usize = 16;

/// One session-ticket key issued by tlsmgr (RFC 5077): `name | hmac |
/// aes` in OpenSSL's 80-byte layout, and when it stops being used for
/// new tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKey {
    /// name (16) + HMAC key (32) + AES key (32).
    pub keys: [u8; sys::tls::TICKET_KEYS_LEN],
    /// Seconds since the epoch after which a newer key is current.
    pub expires: i64,
}

impl TicketKey {
    /// Wire form: the 80 key bytes then `expires` (i64 BE).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.keys.to_vec();
        v.extend_from_slice(&self.expires.to_be_bytes());
        v
    }

    /// Parse the wire form; `None` when the length is wrong.
    pub fn decode(buf: &[u8]) -> Option<TicketKey> {
        let n = sys::tls::TICKET_KEYS_LEN;
        if buf.len() != n + 8 {
            return None;
        }
        let mut keys = [0u8; sys::tls::TICKET_KEYS_LEN];
        keys.copy_from_slice(&buf[..n]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&buf[n..]);
        Some(TicketKey {
            keys,
            expires: i64::from_be_bytes(e),
        })
    }

    /// The key name (first 16 bytes).
    pub fn name(&self) -> &[u8] {
        &self.keys[..TICKET_NAME_LEN]
    }
}

/// A connection to tlsmgr, opened on first use and reopened after errors.
#[derive(Debug)]
pub struct MgrClient {
    path: PathBuf,
    conn: Mutex<Option<UnixStream>>,
    warned: AtomicBool,
    timeout: Duration,
}

impl MgrClient {
    /// A stub for the tlsmgr socket at `path` (normally
    /// `private/tlsmgr`, relative to the queue directory).
    pub fn new(path: impl Into<PathBuf>) -> MgrClient {
        MgrClient {
            path: path.into(),
            conn: Mutex::new(None),
            warned: AtomicBool::new(false),
            timeout: Duration::from_secs(10),
        }
    }

    /// Send one request; `None` (after one warning per process) when
    /// tlsmgr cannot be reached or answers garbage.
    pub fn request(&self, req: &Attrs) -> Option<Attrs> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            if guard.is_none() {
                match UnixStream::connect(&self.path) {
                    Ok(s) => {
                        let _ = s.set_read_timeout(Some(self.timeout));
                        let _ = s.set_write_timeout(Some(self.timeout));
                        *guard = Some(s);
                    }
                    Err(e) => {
                        self.warn(&util::strings::strip_os_error(&e.to_string()));
                        return None;
                    }
                }
            }
            let stream = guard.as_mut()?;
            match attr::request(stream, req) {
                Ok(reply) => return Some(reply),
                Err(e) => {
                    *guard = None;
                    if attempt == 1 {
                        self.warn(&e.to_string());
                    }
                }
            }
        }
        None
    }

    fn warn(&self, why: &str) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            msg_warn!("problem talking to server {}: {why}", self.path.display());
        }
    }

    fn status(reply: &Attrs) -> i32 {
        reply.int("status").unwrap_or(STAT_ERR)
    }

    /// Look up `cache_id` in cache `cache_type`; the blob when found.
    pub fn lookup(&self, cache_type: &str, cache_id: &str) -> Option<Vec<u8>> {
        let r = self.request(
            &Attrs::new()
                .put_str("request", "lookup")
                .put_str("cache_type", cache_type)
                .put_str("cache_id", cache_id),
        )?;
        if Self::status(&r) != STAT_OK {
            return None;
        }
        r.data("session").ok()
    }

    /// Store `blob` under `cache_id`. Returns whether tlsmgr stored it.
    pub fn update(&self, cache_type: &str, cache_id: &str, blob: &[u8]) -> bool {
        self.request(
            &Attrs::new()
                .put_str("request", "update")
                .put_str("cache_type", cache_type)
                .put_str("cache_id", cache_id)
                .put_data("session", blob),
        )
        .is_some_and(|r| Self::status(&r) == STAT_OK)
    }

    /// Remove `cache_id`. Returns whether tlsmgr answered OK.
    pub fn delete(&self, cache_type: &str, cache_id: &str) -> bool {
        self.request(
            &Attrs::new()
                .put_str("request", "delete")
                .put_str("cache_type", cache_type)
                .put_str("cache_id", cache_id),
        )
        .is_some_and(|r| Self::status(&r) == STAT_OK)
    }

    /// Ask for `size` random bytes (`tls_daemon_random_bytes`).
    pub fn seed(&self, size: usize) -> Option<Vec<u8>> {
        let r = self.request(
            &Attrs::new()
                .put_str("request", "seed")
                .put_int("size", size as i64),
        )?;
        (Self::status(&r) == STAT_OK)
            .then(|| r.data("seed").ok())
            .flatten()
    }

    /// The ticket key named `name`, or the current one when `name` is
    /// `None`.
    pub fn tktkey(&self, name: Option<&[u8]>) -> Option<TicketKey> {
        let r = self.request(
            &Attrs::new()
                .put_str("request", "tktkey")
                .put_data("keyname", name.unwrap_or_default()),
        )?;
        if Self::status(&r) != STAT_OK {
            return None;
        }
        TicketKey::decode(&r.data("keybuf").ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_key_wire_form() {
        let mut keys = [0u8; sys::tls::TICKET_KEYS_LEN];
        keys[0] = 7;
        let k = TicketKey {
            keys,
            expires: 12345,
        };
        let w = k.encode();
        assert_eq!(TicketKey::decode(&w), Some(k.clone()));
        assert_eq!(k.name()[0], 7);
        assert!(TicketKey::decode(&w[1..]).is_none());
    }

    #[test]
    fn unreachable_tlsmgr_is_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let mgr = MgrClient::new(dir.path().join("tlsmgr"));
        assert!(mgr.lookup("smtpd", "abc").is_none());
        assert!(!mgr.update("smtpd", "abc", b"x"));
        assert!(mgr.tktkey(None).is_none());
        assert!(mgr.warned.load(Ordering::Relaxed));
    }
}
