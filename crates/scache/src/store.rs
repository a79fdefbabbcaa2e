//! NAME
//!   store - the in-memory connection cache of scache(8)
//!
//! DESCRIPTION
//!   [`Store`] keeps endpoint entries (label -> sockets with properties)
//!   and destination entries (label -> endpoint label with a property),
//!   each with an expiry time. Expired entries are dropped (their sockets
//!   closed) whenever the store is used ([`Store::expire`]). Taking a
//!   socket removes it; the newest socket of an endpoint is handed out
//!   first. A destination whose endpoint has no socket left answers
//!   "not found" and stays until it expires (a later save may refill it).
//!
//!   At most [`MAX_PER_ENDPOINT`] sockets are kept per endpoint; saving
//!   more closes the oldest.
//!
//! SEE ALSO
//!   scache(8).
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Most sockets kept for one endpoint.
pub const MAX_PER_ENDPOINT: usize = 20;

#[derive(Debug)]
struct Conn {
    fd: OwnedFd,
    prop: String,
    expires: Instant,
}

#[derive(Debug, Clone)]
struct Dest {
    endp: String,
    prop: String,
    expires: Instant,
}

/// The cache (see the module description).
#[derive(Debug, Default)]
pub struct Store {
    endps: HashMap<String, Vec<Conn>>,
    dests: HashMap<String, Dest>,
}

/// Counts for the statistics log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Destination entries.
    pub dests: usize,
    /// Cached sockets.
    pub conns: usize,
}

impl Store {
    /// An empty cache.
    pub fn new() -> Store {
        Store::default()
    }

    /// Drop every entry that expired at `now` (closing its sockets).
    pub fn expire(&mut self, now: Instant) {
        for conns in self.endps.values_mut() {
            conns.retain(|c| c.expires > now);
        }
        self.endps.retain(|_, v| !v.is_empty());
        self.dests.retain(|_, d| d.expires > now);
    }

    /// Keep socket `fd` for endpoint `label` for `ttl`.
    pub fn save_endp(&mut self, now: Instant, ttl: Duration, label: &str, prop: &str, fd: OwnedFd) {
        let conns = self.endps.entry(label.to_string()).or_default();
        if conns.len() >= MAX_PER_ENDPOINT {
            conns.remove(0);
        }
        conns.push(Conn {
            fd,
            prop: prop.to_string(),
            expires: now + ttl,
        });
    }

    /// Take a socket of endpoint `label`: `(prop, fd)`.
    pub fn find_endp(&mut self, now: Instant, label: &str) -> Option<(String, OwnedFd)> {
        self.expire(now);
        let conns = self.endps.get_mut(label)?;
        let c = conns.pop()?;
        if conns.is_empty() {
            self.endps.remove(label);
        }
        Some((c.prop, c.fd))
    }

    /// Point destination `label` at endpoint `endp` for `ttl`.
    pub fn save_dest(&mut self, now: Instant, ttl: Duration, label: &str, prop: &str, endp: &str) {
        self.dests.insert(
            label.to_string(),
            Dest {
                endp: endp.to_string(),
                prop: prop.to_string(),
                expires: now + ttl,
            },
        );
    }

    /// Take a socket of the endpoint that destination `label` points at:
    /// `(dest_prop, endp_prop, fd)`.
    pub fn find_dest(&mut self, now: Instant, label: &str) -> Option<(String, String, OwnedFd)> {
        self.expire(now);
        let d = self.dests.get(label)?.clone();
        let (endp_prop, fd) = self.find_endp(now, &d.endp)?;
        Some((d.prop, endp_prop, fd))
    }

    /// How much is cached.
    pub fn counts(&self) -> Counts {
        Counts {
            dests: self.dests.len(),
            conns: self.endps.values().map(Vec::len).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn fd() -> OwnedFd {
        OwnedFd::from(UnixStream::pair().unwrap().0)
    }

    #[test]
    fn save_find_expire() {
        let t0 = Instant::now();
        let mut s = Store::new();
        s.save_endp(t0, Duration::from_secs(2), "smtp:1.2.3.4:25", "p1", fd());
        s.save_dest(
            t0,
            Duration::from_secs(2),
            "smtp:example.com",
            "d",
            "smtp:1.2.3.4:25",
        );
        let (dp, ep, _) = s.find_dest(t0, "smtp:example.com").unwrap();
        assert_eq!((dp.as_str(), ep.as_str()), ("d", "p1"));
        // Taken: nothing left for the endpoint, the destination stays.
        assert!(s.find_dest(t0, "smtp:example.com").is_none());
        assert_eq!(s.counts(), Counts { dests: 1, conns: 0 });
        s.save_endp(t0, Duration::from_secs(2), "smtp:1.2.3.4:25", "p2", fd());
        assert!(s
            .find_endp(t0 + Duration::from_secs(3), "smtp:1.2.3.4:25")
            .is_none());
        assert_eq!(s.counts(), Counts::default());
    }

    #[test]
    fn newest_first_and_bounded() {
        let t0 = Instant::now();
        let mut s = Store::new();
        for i in 0..(MAX_PER_ENDPOINT + 3) {
            s.save_endp(t0, Duration::from_secs(9), "e", &i.to_string(), fd());
        }
        assert_eq!(s.counts().conns, MAX_PER_ENDPOINT);
        assert_eq!(
            s.find_endp(t0, "e").unwrap().0,
            (MAX_PER_ENDPOINT + 2).to_string()
        );
    }
}
