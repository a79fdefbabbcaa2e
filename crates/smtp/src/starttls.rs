//! NAME
//!   starttls - STARTTLS in the smtp/lmtp client (RFC 3207)
//!
//! DESCRIPTION
//!   [`start`] runs right after the greeting and EHLO of a new
//!   connection, with the connection's [`Policy`]:
//!
//!   - level `none`: nothing (with `smtp_tls_note_starttls_offer`, a
//!     server that offers STARTTLS is logged: `Host offered STARTTLS:
//!     [host]`);
//!   - STARTTLS not offered: `may` goes on in plain text; a mandatory
//!     level defers with `4.7.4 TLS is required, but was not offered by
//!     host H[A]`. STARTTLS is never sent when it was not offered;
//!   - a non-2xx reply to STARTTLS: `may` goes on in plain text; a
//!     mandatory level defers with `TLS is required, but host H[A]
//!     refused to start TLS: REPLY` (the reply's status);
//!   - the handshake: the session's plain-text input buffer is thrown
//!     away first (anything the server pipelined behind its 220 reply,
//!     CVE-2011-0411), the transport is replaced by the TLS stream
//!     ([`crate::session::Session::upgrade`]), every feature and AUTH
//!     mechanism is forgotten and EHLO is sent again;
//!   - a certificate that fails the level (checked inside the
//!     handshake by the engine, so no session is cached) defers with
//!     `4.7.5 Server certificate not verified`; any other handshake
//!     failure with `4.7.5 Cannot start TLS: handshake failure`, except
//!     at level `may` for mail that waited at least `minimal_backoff_time`
//!     before this attempt (arrival to the move into the active queue):
//!     then [`Outcome::RetryPlain`] asks the caller to connect again to
//!     the same server without TLS, as Postfix does.
//!
//!   [`TlsTransport`] is the TLS stream as a session
//!   [`crate::conn::Transport`]; it cannot be handed to scache, and after
//!   QUIT it sends close_notify (waiting at most 5 seconds, or
//!   `smtp_quit_timeout` if shorter, for the server's).
//!
//! SEE ALSO
//!   RFC 3207; postconf(5) smtp_tls_security_level, smtp_starttls_timeout,
//!   smtp_tls_servername, smtp_tls_note_starttls_offer.
use crate::conn::Transport;
use crate::params::Params;
use crate::session::{Session, Stage};
use crate::tls_policy::{Policy, TlsClient};
use deliver::Dsn;
use std::cell::Cell;
use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use tls::{client_start, ClientStartProps, SecurityLevel, TlsError, TlsStream};
use util::msg_info;

/// A TLS stream under a session.
#[derive(Debug)]
pub struct TlsTransport<S: tls::engine::Transport + Debug> {
    /// `None` once shut down.
    tls: Option<TlsStream<S>>,
    timeout: Cell<Duration>,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "TLS connection closed")
}

impl<S: tls::engine::Transport + Debug> TlsTransport<S> {
    /// What the handshake negotiated (`None` after the shutdown).
    pub fn info(&self) -> Option<&tls::TlsInfo> {
        self.tls.as_ref().map(TlsStream::info)
    }
}

impl<S: tls::engine::Transport + Debug> Read for TlsTransport<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let t = self.timeout.get();
        let tls = self.tls.as_mut().ok_or_else(closed)?;
        tls.set_timeout(Some(t));
        tls.read(buf)
    }
}

impl<S: tls::engine::Transport + Debug> Write for TlsTransport<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let t = self.timeout.get();
        let tls = self.tls.as_mut().ok_or_else(closed)?;
        tls.set_timeout(Some(t));
        tls.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tls.as_mut().ok_or_else(closed)?.flush()
    }
}

impl<S: tls::engine::Transport + Debug + Send> Transport for TlsTransport<S> {
    fn set_timeout(&self, t: Duration) -> io::Result<()> {
        self.timeout.set(t.max(Duration::from_millis(1)));
        Ok(())
    }
    fn into_fd(self: Box<Self>) -> Option<OwnedFd> {
        None
    }
    /// Send close_notify after QUIT (and wait up to `t` for the
    /// server's), as a TLS client should.
    fn shutdown(&mut self, t: Duration) {
        if let Some(tls) = self.tls.take() {
            drop(tls.stop(t));
        }
    }
}

/// What [`start`] decided.
#[derive(Debug)]
pub enum Outcome {
    /// Go on with this session (over TLS or, when allowed, plain).
    Proceed,
    /// Give up this server for this delivery with this status.
    Fail(Dsn),
    /// `may` handshake failure: connect again without TLS.
    RetryPlain,
}

/// Whether `name` can be sent as SNI (a host name, not an address).
fn sni_name(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.');
    (!n.is_empty() && n.parse::<std::net::IpAddr>().is_err() && n.contains('.'))
        .then(|| n.to_ascii_lowercase())
}

/// The per-connection properties for the engine.
pub fn props(
    tc: &TlsClient,
    pol: &Policy,
    s: &Session,
    nexthop_domain: &str,
    nexthop_key: &str,
) -> ClientStartProps {
    let servername = match tc.servername.as_str() {
        "" => None,
        "hostname" => sni_name(&s.host),
        "nexthop" => sni_name(nexthop_domain),
        lit => sni_name(lit),
    };
    let fingerprint = pol.level == SecurityLevel::Fingerprint;
    ClientStartProps {
        namaddr: s.relay(),
        nexthop: if nexthop_key.is_empty() {
            nexthop_domain.to_string()
        } else {
            nexthop_key.to_string()
        },
        host: s.host.clone(),
        addr: s.addr.clone(),
        port: s.port.unwrap_or(0),
        servername,
        level: Some(pol.level),
        matches: if fingerprint {
            Vec::new()
        } else {
            pol.matches.clone()
        },
        fingerprints: if fingerprint {
            pol.matches.clone()
        } else {
            Vec::new()
        },
        protocols: pol.protocols.clone(),
        cipher_grade: pol.ciphers.clone(),
        exclude_ciphers: pol.exclude.clone(),
        timeout: tc.starttls_timeout,
        require_trust: pol.require_trust,
    }
}

/// Run STARTTLS on `s` (greeting and EHLO done) under `pol` (see the
/// module description). `age` is how long the message waited before
/// this attempt (arrival to active queue);
/// `nexthop_domain` is the next hop's domain (or host) for name checks,
/// `nexthop_key` the request's next hop (part of the session cache key).
pub fn start(
    tc: &TlsClient,
    pol: &Policy,
    s: &mut Session,
    p: &Params,
    age: Duration,
    nexthop_domain: &str,
    nexthop_key: &str,
) -> Outcome {
    if pol.level == SecurityLevel::None {
        if s.features.starttls && tc.note_starttls_offer {
            msg_info!("Host offered STARTTLS: [{}]", s.host);
        }
        return Outcome::Proceed;
    }
    let mandatory = pol.level.is_mandatory();
    if !s.features.starttls {
        if mandatory {
            return Outcome::Fail(Dsn::new(
                "4.7.4",
                &format!(
                    "TLS is required, but was not offered by host {}",
                    s.namaddr()
                ),
            ));
        }
        return Outcome::Proceed;
    }
    let Some(ctx) = tc.ctx.clone() else {
        if mandatory {
            return Outcome::Fail(Dsn::new("4.7.5", "client TLS configuration problem"));
        }
        return Outcome::Proceed;
    };
    let stage = Stage::Helo("STARTTLS");
    let t = p.timeouts.helo;
    if let Err(e) = s.command("STARTTLS", t) {
        return Outcome::Fail(s.io_failure(&e, stage));
    }
    let r = match s.read_reply(t) {
        Ok(r) => r,
        Err(e) => return Outcome::Fail(s.io_failure(&e, stage)),
    };
    if r.class() != 2 {
        if mandatory {
            let text = format!(
                "TLS is required, but host {} refused to start TLS: {}",
                s.namaddr(),
                r.text()
            );
            let d = s.remote(Dsn::with_status(r.status, &text), Some(&r));
            s.broken = r.class() == 4 || r.class() == 5;
            return Outcome::Fail(d);
        }
        return Outcome::Proceed;
    }
    let props = props(tc, pol, s, nexthop_domain, nexthop_key);
    let tcp = s.port.is_some();
    let mut policy_failed = false;
    let up = s.upgrade(|old| {
        let fd = old
            .into_fd()
            .ok_or_else(|| io::Error::other("transport cannot start TLS"))?;
        let started: Result<Box<dyn Transport>, TlsError> = if tcp {
            client_start(&ctx, TcpStream::from(fd), &props).map(|tls| {
                Box::new(TlsTransport {
                    tls: Some(tls),
                    timeout: Cell::new(t),
                }) as Box<dyn Transport>
            })
        } else {
            client_start(&ctx, UnixStream::from(fd), &props).map(|tls| {
                Box::new(TlsTransport {
                    tls: Some(tls),
                    timeout: Cell::new(t),
                }) as Box<dyn Transport>
            })
        };
        started.map_err(|e| {
            policy_failed = matches!(e, TlsError::Policy(_));
            io::Error::other(e.to_string())
        })
    });
    if up.is_err() {
        s.broken = true;
        if policy_failed {
            return Outcome::Fail(Dsn::new("4.7.5", "Server certificate not verified"));
        }
        if pol.level == SecurityLevel::May && age >= tc.min_backoff {
            return Outcome::RetryPlain;
        }
        return Outcome::Fail(Dsn::new("4.7.5", "Cannot start TLS: handshake failure"));
    }
    s.tls_on = true;
    match s.ehlo(p) {
        Ok(None) => Outcome::Proceed,
        Ok(Some(r)) => {
            s.broken = true;
            let verb = match s.proto {
                crate::params::Proto::Lmtp => "LHLO",
                crate::params::Proto::Smtp => "EHLO",
            };
            Outcome::Fail(s.said(&r, Stage::Helo(verb)))
        }
        Err(d) => Outcome::Fail(d),
    }
}

#[cfg(test)]
mod tests;
