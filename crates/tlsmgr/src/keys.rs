//! NAME
//!   keys - session-ticket keys (RFC 5077)
//!
//! DESCRIPTION
//!   tlsmgr makes the ticket keys every smtpd process uses, so a ticket
//!   issued by one process is accepted by any other. A key is current for
//!   `smtpd_tls_session_cache_timeout` seconds, then a new one is made;
//!   the previous key stays available by name for another period, so
//!   tickets made just before a rotation still decrypt where the engine
//!   asks by name. Keys are random bytes from OpenSSL's pool; nothing is
//!   written to disk.
use tls::mgr_client::{TicketKey, TICKET_NAME_LEN};

/// The current and previous ticket keys.
#[derive(Debug, Default)]
pub struct Keys {
    current: Option<TicketKey>,
    previous: Option<TicketKey>,
    /// Key lifetime in seconds (0: tickets off).
    pub lifetime: i64,
}

impl Keys {
    /// Keys that rotate every `lifetime` seconds.
    pub fn new(lifetime: i64) -> Keys {
        Keys {
            lifetime,
            ..Keys::default()
        }
    }

    fn fresh(&self, now: i64) -> Option<TicketKey> {
        let mut keys = [0u8; sys::tls::TICKET_KEYS_LEN];
        openssl::rand::rand_bytes(&mut keys).ok()?;
        Some(TicketKey {
            keys,
            expires: now + self.lifetime,
        })
    }

    /// The key named `name`, or the current key (made or rotated as
    /// needed) when `name` is empty. `None`: tickets are off, or no such
    /// key any more.
    pub fn get(&mut self, name: &[u8], now: i64) -> Option<TicketKey> {
        if self.lifetime <= 0 {
            return None;
        }
        let stale = match &self.current {
            Some(k) => k.expires <= now,
            None => true,
        };
        if stale {
            let next = self.fresh(now)?;
            self.previous = self.current.replace(next);
        }
        if name.is_empty() {
            return self.current.clone();
        }
        if name.len() != TICKET_NAME_LEN {
            return None;
        }
        [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find(|k| k.name() == name && k.expires + self.lifetime > now)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_and_lookup_by_name() {
        let mut k = Keys::new(100);
        let a = k.get(&[], 1000).unwrap();
        assert_eq!(a.expires, 1100);
        assert_eq!(k.get(&[], 1050).unwrap(), a);
        let b = k.get(&[], 1100).unwrap();
        assert_ne!(a.keys, b.keys);
        assert_eq!(k.get(a.name(), 1150).unwrap(), a);
        assert_eq!(k.get(b.name(), 1150).unwrap(), b);
        assert!(k.get(&[1, 2], 1150).is_none());
        assert!(Keys::new(0).get(&[], 1).is_none());
    }
}
