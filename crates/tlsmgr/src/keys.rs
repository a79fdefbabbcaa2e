//! NAME
//!   keys - session-ticket keys (RFC 5077)
//!
//! DESCRIPTION
//!   tlsmgr makes the ticket keys every smtpd process uses, so a ticket
//!   issued by one process is accepted by any other. With a session
//!   lifetime L (`smtpd_tls_session_cache_timeout`, at least 2 minutes),
//!   as Postfix does:
//!
//!   - the current key encrypts new tickets for L/2 seconds (its
//!     `expires` time); the first request for the current key after that
//!     makes a new one, and the old key becomes the previous key;
//!   - a key found by name (current or previous) decrypts until
//!     `expires` + L/2, so a ticket never outlives L; a key two rotations
//!     old is gone. Asking for a key by name never rotates.
//!
//!   Keys are random bytes from OpenSSL's pool; nothing is written to
//!   disk, so a new tlsmgr (`postfix reload`) starts with new keys.
use tls::mgr_client::{TicketKey, TICKET_NAME_LEN};

/// The current and previous ticket keys.
#[derive(Debug, Default)]
pub struct Keys {
    current: Option<TicketKey>,
    previous: Option<TicketKey>,
    /// Half the session lifetime, seconds: each key's encrypt period and
    /// then its decrypt-only period (0: tickets off).
    half: i64,
}

impl Keys {
    /// Keys for sessions that live `lifetime` seconds (already limited by
    /// `tls::tickets::session_lifetime`; 0 turns tickets off).
    pub fn new(lifetime: i64) -> Keys {
        Keys {
            half: lifetime.max(0) / 2,
            ..Keys::default()
        }
    }

    fn fresh(&self, now: i64) -> Option<TicketKey> {
        let mut keys = [0u8; sys::tls::TICKET_KEYS_LEN];
        openssl::rand::rand_bytes(&mut keys).ok()?;
        Some(TicketKey {
            keys,
            expires: now + self.half - 1,
        })
    }

    /// The key named `name`, or the current key (made or rotated as
    /// needed) when `name` is empty, at `now` (seconds since the epoch).
    /// `None`: tickets are off, the name has the wrong length, or no key
    /// of that name can still decrypt.
    pub fn get(&mut self, name: &[u8], now: i64) -> Option<TicketKey> {
        if self.half <= 0 {
            return None;
        }
        if !name.is_empty() {
            if name.len() != TICKET_NAME_LEN {
                return None;
            }
            return [&self.current, &self.previous]
                .into_iter()
                .flatten()
                .find(|k| k.name() == name)
                .filter(|k| k.expires + self.half > now)
                .cloned();
        }
        if self.current.as_ref().is_none_or(|k| k.expires <= now) {
            let next = self.fresh(now)?;
            self.previous = self.current.replace(next);
        }
        self.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_lookup_by_name() {
        let mut k = Keys::new(200);
        assert!(k.get(&[7; 16], 1000).is_none(), "no keys yet");
        let a = k.get(&[], 1000).unwrap();
        assert_eq!(a.expires, 1099);
        assert_eq!(k.get(&[], 1098).unwrap(), a);
        // A lookup by name never rotates, even after the key stopped
        // encrypting.
        assert_eq!(k.get(a.name(), 1150).unwrap(), a);
        let b = k.get(&[], 1150).unwrap();
        assert_ne!(a.keys, b.keys);
        assert_eq!(b.expires, 1249);
        // The previous key decrypts until its expiry plus half the lifetime.
        assert_eq!(k.get(a.name(), 1198).unwrap(), a);
        assert!(k.get(a.name(), 1199).is_none());
        assert_eq!(k.get(b.name(), 1199).unwrap(), b);
        // Two rotations on, the first key is gone.
        let c = k.get(&[], 1250).unwrap();
        assert!(k.get(a.name(), 1250).is_none());
        assert_eq!(k.get(b.name(), 1250).unwrap(), b);
        assert_eq!(k.get(c.name(), 1250).unwrap(), c);
        assert!(k.get(&[1, 2], 1150).is_none());
        assert!(Keys::new(0).get(&[], 1).is_none());
    }
}
