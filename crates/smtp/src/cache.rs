//! NAME
//!   cache - keep and reuse sessions through scache(8)
//!
//! DESCRIPTION
//!   After a transaction on a healthy connection the agent may hand the
//!   socket to scache(8) instead of saying QUIT ([`SessionCache::save`]),
//!   and the next delivery to the same destination or address takes it
//!   back ([`SessionCache::find_dest`], [`SessionCache::find_endp`]),
//!   checks it with RSET, and skips greeting and EHLO.
//!
//!   When to cache: `smtp_connection_cache_on_demand = yes` caches every
//!   healthy session (Postfix asks the queue manager whether the
//!   destination has a backlog; Postern's qmgr does not tell yet, and the
//!   short `smtp_connection_cache_time_limit` keeps idle sessions cheap);
//!   otherwise only destinations listed in
//!   `smtp_connection_cache_destinations` (next-hop text as in the
//!   request, with or without brackets and port) are cached. A session
//!   is not cached again once it was used
//!   `smtp_connection_reuse_count_limit` times (0 = no limit) or is older
//!   than `smtp_connection_reuse_time_limit`. Only plain sockets are
//!   cached (a TLS transport cannot be handed over).
//!
//!   The endpoint property stores what a reused session must know: host
//!   name, address, port, creation time, use count and the EHLO
//!   features.
//!
//!   Caching is off when `private/scache` does not exist (no scache
//!   service in master.cf).
//!
//! SEE ALSO
//!   scache(8), postconf(5) `smtp_connection_cache_on_demand`,
//!   `smtp_connection_cache_destinations`, `smtp_connection_reuse_count_limit`,
//!   `smtp_connection_reuse_time_limit`, `smtp_connection_cache_time_limit`.
use crate::nexthop::Dest;
use crate::params::{Params, Proto};
use crate::session::{Features, Session};
use std::net::TcpStream;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The scache client of one agent process.
#[derive(Debug)]
pub struct SessionCache {
    client: Option<scache::Client>,
}

/// The socket path of the cache service, relative to `queue_directory`.
pub const SCACHE_PATH: &str = "private/scache";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Encode what a reused session needs.
pub fn encode_prop(s: &Session) -> String {
    let f = &s.features;
    let age = s.created.elapsed().as_secs();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}{}{}{}{}{}{}\t{}\t{}",
        s.host,
        s.addr,
        s.port.map_or(String::new(), |p| p.to_string()),
        now_secs().saturating_sub(age),
        s.reuse_count,
        if f.esmtp { "E" } else { "" },
        if f.pipelining { "P" } else { "" },
        if f.eightbitmime { "8" } else { "" },
        if f.smtputf8 { "U" } else { "" },
        if f.dsn { "D" } else { "" },
        if f.chunking { "C" } else { "" },
        if f.enhanced_codes { "X" } else { "" },
        f.size.map_or(String::new(), |n| n.to_string()),
        f.auth.join(" "),
    )
}

/// Rebuild a session over `fd` from its property; `None` when malformed.
pub fn decode_session(fd: OwnedFd, prop: &str, proto: Proto, unix: bool) -> Option<Session> {
    let parts: Vec<&str> = prop.split('\t').collect();
    if parts.len() != 8 {
        return None;
    }
    let port = if parts[2].is_empty() {
        None
    } else {
        Some(parts[2].parse().ok()?)
    };
    let created_secs: u64 = parts[3].parse().ok()?;
    let io: Box<dyn crate::conn::Transport> = if unix {
        Box::new(UnixStream::from(fd))
    } else {
        Box::new(TcpStream::from(fd))
    };
    let mut s = Session::new(io, proto, parts[0], parts[1], port);
    let age = now_secs().saturating_sub(created_secs);
    s.created = Instant::now()
        .checked_sub(Duration::from_secs(age))
        .unwrap_or_else(Instant::now);
    s.reuse_count = parts[4].parse().ok()?;
    let fl = parts[5];
    s.features = Features {
        esmtp: fl.contains('E'),
        pipelining: fl.contains('P'),
        eightbitmime: fl.contains('8'),
        smtputf8: fl.contains('U'),
        dsn: fl.contains('D'),
        chunking: fl.contains('C'),
        enhanced_codes: fl.contains('X'),
        size: if parts[6].is_empty() {
            None
        } else {
            parts[6].parse().ok()
        },
        starttls: false,
        auth: parts[7].split_whitespace().map(str::to_string).collect(),
    };
    Some(s)
}

/// The endpoint label of a session.
pub fn endp_label(proto: Proto, addr: &str, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{}:{addr}:{p}", proto.name()),
        None => format!("{}:unix:{addr}", proto.name()),
    }
}

impl SessionCache {
    /// A cache client when the service exists, else a cache that never
    /// holds anything.
    pub fn new() -> SessionCache {
        let client = Path::new(SCACHE_PATH)
            .exists()
            .then(|| scache::Client::new(SCACHE_PATH));
        SessionCache { client }
    }

    /// A cache that never holds anything.
    pub fn disabled() -> SessionCache {
        SessionCache { client: None }
    }

    /// Whether sessions for `nexthop` should be cached.
    pub fn wanted(&self, p: &Params, nexthop: &str) -> bool {
        if self.client.is_none() {
            return false;
        }
        if p.cache_on_demand {
            return true;
        }
        let bare = nexthop
            .trim_start_matches('[')
            .split([']', ':'])
            .next()
            .unwrap_or(nexthop);
        p.cache_destinations
            .iter()
            .any(|d| d.eq_ignore_ascii_case(nexthop) || d.eq_ignore_ascii_case(bare))
    }

    /// A cached session for destination `dest`, checked with RSET.
    pub fn find_dest(&mut self, p: &Params, dest: &Dest) -> Option<Session> {
        let c = self.client.as_mut()?;
        let found = c.find_dest(&dest.cache_label(p.proto))?;
        let unix = matches!(dest, Dest::Unix(_));
        checked(
            decode_session(found.fd, &found.endp_prop, p.proto, unix)?,
            p,
        )
    }

    /// A cached session to `addr`/`port` (`None` port: a socket path).
    pub fn find_endp(&mut self, p: &Params, addr: &str, port: Option<u16>) -> Option<Session> {
        let c = self.client.as_mut()?;
        let found = c.find_endp(&endp_label(p.proto, addr, port))?;
        checked(
            decode_session(found.fd, &found.endp_prop, p.proto, port.is_none())?,
            p,
        )
    }

    /// Hand `s` to the cache for destination `dest`, or say QUIT when the
    /// session cannot or should not be kept.
    pub fn save_or_quit(&mut self, p: &Params, dest: &Dest, nexthop: &str, mut s: Session) {
        let reusable = !s.broken
            && (p.reuse_count_limit == 0 || s.reuse_count < p.reuse_count_limit)
            && s.created.elapsed() < p.reuse_time_limit;
        if !reusable || !self.wanted(p, nexthop) {
            s.quit(p);
            return;
        }
        let prop = encode_prop(&s);
        let endp = endp_label(p.proto, &s.addr, s.port);
        let Some(io) = s.into_transport() else { return };
        let Some(fd) = io.into_fd() else { return };
        let Some(c) = self.client.as_mut() else {
            return;
        };
        if c.save_endp(p.cache_time_limit, &endp, &prop, fd.as_fd()) {
            c.save_dest(p.cache_time_limit, &dest.cache_label(p.proto), "", &endp);
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache::new()
    }
}

fn checked(mut s: Session, p: &Params) -> Option<Session> {
    s.rset(p).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_round_trip() {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut s = Session::new(
            Box::new(a),
            Proto::Smtp,
            "mx.example",
            "192.0.2.1",
            Some(25),
        );
        s.features = Features {
            esmtp: true,
            pipelining: true,
            size: Some(1000),
            dsn: true,
            auth: vec!["PLAIN".into()],
            ..Features::default()
        };
        s.reuse_count = 3;
        let prop = encode_prop(&s);
        let (c, _d) = UnixStream::pair().unwrap();
        let r = decode_session(OwnedFd::from(c), &prop, Proto::Smtp, true).unwrap();
        assert_eq!(
            (r.host.as_str(), r.addr.as_str(), r.port, r.reuse_count),
            ("mx.example", "192.0.2.1", Some(25), 3)
        );
        assert_eq!(r.features, s.features);
        assert_eq!(
            endp_label(Proto::Lmtp, "private/x", None),
            "lmtp:unix:private/x"
        );
    }
}
