//! NAME
//!   agent - deliver one request: destinations, sessions, per-recipient outcomes
//!
//! DESCRIPTION
//!   [`Agent::deliver`] is the handler smtp(8)/lmtp(8) give to
//!   `deliver::agent_serve`. For the request's next hop it tries, in
//!   order, each destination ([`crate::nexthop`]) and each of its
//!   addresses ([`crate::targets`]): a cached session when there is one,
//!   else a new connection, greeting and EHLO; then one transaction
//!   ([`crate::xact`]) for the recipients still open. Each recipient
//!   ends as Postfix decides:
//!
//!   - a 2xx result is reported sent (`status=sent (250 ...)`) and
//!     marked done; a 5xx result bounces at once;
//!   - a 4xx result, a failed connection, a 4xx (or skipped 5xx)
//!     greeting, a lost connection or a timeout keep the recipient for
//!     the next address (the next MX host), and when no address is left
//!     it is deferred with the last reason (`status=deferred (connect to
//!     H[A]:25: Connection refused)`);
//!   - at most `smtp_mx_session_limit` sessions are set up per
//!     destination (connection failures do not count), over at most
//!     `smtp_mx_address_limit` addresses;
//!   - DNS failures: a permanent one bounces (`Host or domain name not
//!     found`, the null MX), a temporary one defers.
//!
//!   Each new connection runs STARTTLS as its TLS policy says
//!   ([`crate::tls_policy`], [`crate::starttls`]); a `may` handshake
//!   failure for mail that waited at least `minimal_backoff_time` between
//!   arrival and this attempt's move into the active queue connects again
//!   to the same server in plain text. Connection caching
//!   (scache) is used only for connections whose TLS level is `none`:
//!   a TLS session cannot be handed to scache, and a plain session must
//!   not stand in for one where TLS is wanted.
//!
//!   The `relay=` field is `host[addr]:port` of the session that gave the
//!   result (with `, conn_use=N` for the N-th transaction on a reused
//!   connection, as Postfix logs it), or `none` when no session was made.
//!   [`deliver::Delivery::connected`] marks the end of connection set-up
//!   for `delays=`.
//!
//! SEE ALSO
//!   smtp(8), doc/PIPELINE.md "Delivery protocol".
use crate::body;
use crate::cache::SessionCache;
use crate::conn::{self, Transport};
use crate::dns::{Hickory, Lookup, Native};
use crate::nexthop::{self, Dest};
use crate::params::Params;
use crate::session::Session;
use crate::starttls::{self, Outcome};
use crate::targets::{self, Lookups, Target};
use crate::tls_policy::{Policy, TlsClient};
use crate::xact::{transaction, Message};
use deliver::{Delivery, Dsn};
use std::time::Duration;
use tls::SecurityLevel;
use util::msg_warn;

/// Everything one agent process keeps between requests.
#[derive(Debug)]
pub struct Agent {
    /// The parameters.
    pub params: Params,
    /// The DNS resolver.
    pub dns: Hickory,
    /// The system resolver.
    pub native: Native,
    /// The connection cache client.
    pub cache: SessionCache,
    /// The TLS policy and engine.
    pub tls: TlsClient,
    /// SMTP AUTH to the server (off by default).
    pub sasl: crate::sasl::SaslClient,
}

/// Why a new session could not be used.
enum Opened {
    /// No connection (`relay=none`).
    ConnectFailed(Dsn),
    /// The server or the TLS policy failed the session.
    Failed(Dsn, String),
    /// `may` handshake failure: try again in plain text.
    RetryPlain,
}

/// The next hop's domain (or host, or socket path) for TLS names.
fn dest_domain(dest: &Dest) -> String {
    match dest {
        Dest::Inet { host, .. } => host.clone(),
        Dest::Unix(path) => path.display().to_string(),
    }
}

/// Per-request bookkeeping.
struct Work {
    /// Positions still without a final result.
    open: Vec<usize>,
    /// Last temporary (or DNS) failure per position, with its relay.
    last: Vec<Option<(Dsn, String)>>,
}

impl Agent {
    /// An agent with `params`, the DNS resolver they name, and the
    /// connection cache when the service exists.
    pub fn new(params: Params) -> Agent {
        let dns = Hickory::new(&params.dns_servers);
        if let Some(p) = dns.problem() {
            msg_warn!("{p}");
        }
        let tls = TlsClient::disabled(params.proto.name());
        Agent {
            params,
            dns,
            native: Native,
            cache: SessionCache::new(),
            tls,
            sasl: crate::sasl::SaslClient::default(),
        }
    }

    /// Deliver the request of `d` (see the module description). Errors:
    /// the queue file content cannot be read (all recipients deferred).
    pub fn deliver(&mut self, d: &mut Delivery<'_>) -> Result<(), Dsn> {
        let req = d.request().clone();
        let env = d.queue_file().envelope();
        let eightbit = env.attr("encoding") == Some("8bit")
            || body::content_is_8bit(d.queue_file()).map_err(|e| {
                Dsn::new(
                    "4.3.0",
                    &format!("mail system error: cannot read message content: {e}"),
                )
            })?;
        let smtputf8 = matches!(
            env.attr(queue::envelope::attr_name::SMTPUTF8),
            Some("1" | "yes" | "true")
        );
        let n = req.recipients.len();
        let mut w = Work {
            open: (0..n).collect(),
            last: vec![None; n],
        };
        let dests = match nexthop::parse(&req.nexthop, self.params.proto, self.params.default_port)
        {
            Ok(d) => d,
            Err(e) => {
                msg_warn!("{}: {e}", req.queue_id.as_str());
                return Err(Dsn::new(
                    "4.3.5",
                    &format!("mail system configuration error: {e}"),
                ));
            }
        };
        for dest in &dests {
            if w.open.is_empty() {
                break;
            }
            self.try_dest(d, &mut w, dest, &req.nexthop, eightbit, smtputf8)?;
        }
        for pos in std::mem::take(&mut w.open) {
            let (dsn, relay) = w.last[pos]
                .clone()
                .unwrap_or_else(|| (Dsn::new("4.4.3", "no usable destination"), "none".into()));
            if dsn.status.class == 5 {
                d.bounce(pos, &relay, &dsn)?;
            } else {
                d.defer(pos, &relay, &dsn)?;
            }
        }
        Ok(())
    }

    /// The TLS policy for server `host` of `dest`. Errors: the deferral.
    fn tls_policy(&self, dest: &Dest, nexthop: &str, host: &str) -> Result<Policy, Dsn> {
        self.tls
            .policy(nexthop, &dest_domain(dest), host)
            .map_err(|why| Dsn::new("4.7.5", &why))
    }

    // reason: the request's context is spread over these arguments once.
    #[allow(clippy::too_many_arguments)]
    fn try_dest(
        &mut self,
        d: &mut Delivery<'_>,
        w: &mut Work,
        dest: &Dest,
        nexthop: &str,
        eightbit: bool,
        smtputf8: bool,
    ) -> Result<(), Dsn> {
        let p = self.params.clone();
        let mut sessions = 0usize;
        let domain = dest_domain(dest);
        let plain_dest = matches!(
            self.tls_policy(dest, nexthop, &domain),
            Ok(Policy {
                level: SecurityLevel::None,
                ..
            })
        );
        if plain_dest && self.cache.wanted(&p, nexthop) {
            if let Some(s) = self.cache.find_dest(&p, dest) {
                sessions += 1;
                self.run_session(d, w, dest, nexthop, s, eightbit, smtputf8, true)?;
            }
        }
        let targets: Vec<(Option<Target>, Option<std::path::PathBuf>)> = match dest {
            Dest::Unix(path) => vec![(None, Some(path.clone()))],
            Dest::Inet { host, port, mx } => {
                let lk = Lookups {
                    dns: p.lookup_dns.then_some(&self.dns as &dyn Lookup),
                    native: p.lookup_native.then_some(&self.native as &dyn Lookup),
                };
                match targets::plan(lk, &p, host, *port, *mx) {
                    Ok(t) => t.into_iter().map(|t| (Some(t), None)).collect(),
                    Err(dsn) => {
                        for &pos in &w.open {
                            w.last[pos] = Some((dsn.clone(), "none".into()));
                        }
                        return Ok(());
                    }
                }
            }
        };
        // Postfix's measure: how long the message waited before this
        // delivery attempt took it into the active queue.
        let age = d
            .request()
            .active
            .duration_since(d.request().arrival)
            .unwrap_or(Duration::ZERO);
        for (target, path) in targets {
            if w.open.is_empty() || (p.mx_session_limit > 0 && sessions >= p.mx_session_limit) {
                break;
            }
            let host = target.as_ref().map_or(domain.clone(), |t| t.name.clone());
            let policy = match self.tls_policy(dest, nexthop, &host) {
                Ok(pol) => pol,
                Err(dsn) => {
                    for &pos in &w.open {
                        w.last[pos] = Some((dsn.clone(), "none".into()));
                    }
                    continue;
                }
            };
            let cacheable = policy.level == SecurityLevel::None;
            let cached = match (&target, &path) {
                _ if !cacheable => None,
                (Some(t), _) if self.cache.wanted(&p, nexthop) => {
                    self.cache.find_endp(&p, &t.addr.to_string(), Some(t.port))
                }
                (None, Some(path)) if self.cache.wanted(&p, nexthop) => {
                    self.cache.find_endp(&p, &path.display().to_string(), None)
                }
                _ => None,
            };
            let session = match cached {
                Some(s) => s,
                None => {
                    let mut pol = policy.clone();
                    let opened = loop {
                        match self.open_session(
                            d,
                            target.as_ref(),
                            path.as_deref(),
                            &pol,
                            age,
                            &domain,
                            nexthop,
                        ) {
                            Ok(s) => break Some(s),
                            // Postfix: retry the same server in plain text once.
                            Err(Opened::RetryPlain) if pol.level != SecurityLevel::None => {
                                pol.level = SecurityLevel::None;
                            }
                            Err(Opened::RetryPlain) => break None,
                            Err(Opened::ConnectFailed(dsn)) => {
                                for &pos in &w.open {
                                    w.last[pos] = Some((dsn.clone(), "none".into()));
                                }
                                break None;
                            }
                            Err(Opened::Failed(dsn, relay)) => {
                                sessions += 1;
                                if dsn.status.class == 5 {
                                    for pos in std::mem::take(&mut w.open) {
                                        d.bounce(pos, &relay, &dsn)?;
                                    }
                                } else {
                                    for &pos in &w.open {
                                        w.last[pos] = Some((dsn.clone(), relay.clone()));
                                    }
                                }
                                break None;
                            }
                        }
                    };
                    let Some(s) = opened else { continue };
                    s
                }
            };
            sessions += 1;
            let plain = !session.tls_on && cacheable;
            self.run_session(d, w, dest, nexthop, session, eightbit, smtputf8, plain)?;
        }
        Ok(())
    }

    /// Connect to `target` (or `path`), read the greeting, say EHLO and
    /// run STARTTLS as `pol` says.
    // reason: the connection's context is spread over these arguments once.
    #[allow(clippy::too_many_arguments)]
    fn open_session(
        &self,
        d: &mut Delivery<'_>,
        target: Option<&Target>,
        path: Option<&std::path::Path>,
        pol: &Policy,
        age: Duration,
        domain: &str,
        nexthop: &str,
    ) -> Result<Session, Opened> {
        let p = &self.params;
        let mut s = self.connect(target, path).map_err(Opened::ConnectFailed)?;
        d.connected();
        if let Err(dsn) = s.handshake(p) {
            return Err(Opened::Failed(dsn, s.relay()));
        }
        match starttls::start(&self.tls, pol, &mut s, p, age, domain, nexthop) {
            Outcome::Proceed => match self.sasl.authenticate(&mut s, p, nexthop, domain) {
                Ok(()) => Ok(s),
                Err(dsn) => {
                    s.quit(p);
                    Err(Opened::Failed(dsn, s.relay()))
                }
            },
            Outcome::RetryPlain => Err(Opened::RetryPlain),
            Outcome::Fail(dsn) => {
                s.quit(p);
                Err(Opened::Failed(dsn, s.relay()))
            }
        }
    }

    fn connect(
        &self,
        target: Option<&Target>,
        path: Option<&std::path::Path>,
    ) -> Result<Session, Dsn> {
        let p = &self.params;
        if let Some(path) = path {
            let s = conn::connect_unix(path)?;
            let io: Box<dyn Transport> = Box::new(s);
            return Ok(Session::new(
                io,
                p.proto,
                &p.myhostname,
                &path.display().to_string(),
                None,
            ));
        }
        let t = target.ok_or_else(|| Dsn::new("4.3.0", "internal error: no target"))?;
        let shown = format!("{}[{}]:{}", t.name, t.addr, t.port);
        let bind = conn::bind_for(t.addr, &p.bind_address, &p.bind_address6);
        let s = conn::connect_inet(t.addr, t.port, bind, p.timeouts.connect, &shown)?;
        Ok(Session::new(
            Box::new(s),
            p.proto,
            &t.name,
            &t.addr.to_string(),
            Some(t.port),
        ))
    }

    // reason: the session's context is spread over these arguments once.
    #[allow(clippy::too_many_arguments)]
    fn run_session(
        &mut self,
        d: &mut Delivery<'_>,
        w: &mut Work,
        dest: &Dest,
        nexthop: &str,
        mut s: Session,
        eightbit: bool,
        smtputf8: bool,
        cacheable: bool,
    ) -> Result<(), Dsn> {
        let p = self.params.clone();
        let req = d.request().clone();
        let open = std::mem::take(&mut w.open);
        let rcpts: Vec<&deliver::RequestRecipient> =
            open.iter().map(|&i| &req.recipients[i]).collect();
        let msg = Message {
            qf: d.queue_file(),
            sender: &req.sender,
            envid: req.envid.as_deref(),
            ret: req.ret,
            size: d.queue_file().message_size(),
            eightbit,
            smtputf8,
        };
        let results = transaction(&mut s, &p, &msg, &rcpts);
        let relay = if s.reuse_count > 1 {
            format!("{}, conn_use={}", s.relay(), s.reuse_count)
        } else {
            s.relay()
        };
        for (&pos, dsn) in open.iter().zip(results) {
            match dsn.status.class {
                2 => d.sent(pos, &relay, &dsn)?,
                5 => d.bounce(pos, &relay, &dsn)?,
                _ => {
                    w.last[pos] = Some((dsn, relay.clone()));
                    w.open.push(pos);
                }
            }
        }
        if cacheable {
            self.cache.save_or_quit(&p, dest, nexthop, s);
        } else {
            s.quit(&p);
        }
        Ok(())
    }
}
