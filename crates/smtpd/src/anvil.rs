//! NAME
//!   anvil - smtpd's client of anvil(8): session count and rate limits
//!
//! SYNOPSIS
//!   ```ignore
//!   server.anvil = smtpd::anvil::Limiter::from_config(&config); // main.rs
//!   // in the session: anvil_connect() before the greeting,
//!   // anvil_mail_refused(rest) in MAIL, anvil_rcpt_refused(rest) in RCPT...
//!   ```
//!
//! DESCRIPTION
//!   Postfix's smtpd asks anvil(8) (protocol: [`global::anvil_proto`],
//!   ident `service:client-address`) how often a client does things, and
//!   refuses what goes over the limits of postconf(5):
//!
//!   - `smtpd_client_connection_count_limit` (simultaneous sessions) and
//!     `smtpd_client_connection_rate_limit` (sessions per
//!     `anvil_rate_time_unit`): instead of the greeting, `421 4.7.0
//!     $myhostname Error: too many connections from ADDR`, logged as
//!     `warning: Connection concurrency limit exceeded: N from
//!     host[addr] for service SERVICE` (or `Connection rate limit
//!     exceeded`), and the session ends;
//!   - `smtpd_client_message_rate_limit` (MAIL commands): `450 4.7.1
//!     Error: too much mail from ADDR`, `warning: Message delivery
//!     request rate limit exceeded: ...`;
//!   - `smtpd_client_recipient_rate_limit` (RCPT commands): `450 4.7.1
//!     Error: too many recipients from ADDR`, `warning: Recipient address
//!     rate limit exceeded: ...`;
//!   - `smtpd_client_new_tls_session_rate_limit` (TLS handshakes that
//!     resume no session): before STARTTLS `454 4.7.0 Error: too many new
//!     TLS sessions from host[addr]` with `warning: Refusing STARTTLS
//!     request ...`; after a handshake that went over, `421 4.7.0
//!     $myhostname Error: too many new TLS sessions from host[addr]` with
//!     `warning: New TLS session rate limit exceeded: ...` and the end of
//!     the session; in wrapper mode the connection is dropped before the
//!     handshake (`warning: Refusing TLS service request ...`);
//!   - `smtpd_client_auth_rate_limit` (AUTH commands): `450 4.7.1 Error:
//!     too many AUTH commands from ADDR`, `warning: AUTH command rate
//!     limit exceeded: ...`.
//!
//!   A limit of 0 means no limit. As in Postfix, a MAIL or RCPT is
//!   counted once its command syntax (`FROM:`/`TO:`) is right, before its
//!   address is parsed; a nested MAIL or a RCPT without MAIL is not
//!   counted. Sessions are always registered (so rates are known) while
//!   any limit is set, which is the default (connection count 50).
//!
//!   Clients in `smtpd_client_event_limit_exceptions` (default
//!   `$mynetworks`), matched by address or by name, and stand-alone
//!   sessions (`sendmail -bs`) are never counted nor limited.
//!
//!   The service is a safeguard, never a dependency: when it cannot be
//!   reached smtpd logs Postfix's warnings (`warning: connect to
//!   private/anvil: ...`, `warning: problem talking to server
//!   private/anvil: ...`), tries once more a second later, and then
//!   serves the client without limits.
//!
//! BUGS
//!   In `smtpd_client_event_limit_exceptions`, network and table
//!   entries are matched against the address and name and domain entries
//!   against the name, each group in its own order; a `!pattern` only
//!   ends the search in its own group.
//!
//! SEE ALSO
//!   anvil(8), postconf(5), Postfix smtpd(8) "CLIENT RATE LIMITING".
use crate::check::lists::{parse_net, DomainList, NetList};
use crate::conn::Outcome;
use crate::session::Session;
use global::anvil_proto as ap;
use global::attr::{self, AttrError, Attrs};
use global::Config;
use std::io;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::msg_warn;

/// How long one request to anvil may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The limits (0 = none), from postconf(5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `smtpd_client_connection_count_limit`.
    pub conn_count: i64,
    /// `smtpd_client_connection_rate_limit`.
    pub conn_rate: i64,
    /// `smtpd_client_message_rate_limit`.
    pub mail_rate: i64,
    /// `smtpd_client_recipient_rate_limit`.
    pub rcpt_rate: i64,
    /// `smtpd_client_new_tls_session_rate_limit`.
    pub newtls_rate: i64,
    /// `smtpd_client_auth_rate_limit`.
    pub auth_rate: i64,
}

impl Limits {
    fn any(&self) -> bool {
        [
            self.conn_count,
            self.conn_rate,
            self.mail_rate,
            self.rcpt_rate,
            self.newtls_rate,
            self.auth_rate,
        ]
        .iter()
        .any(|l| *l > 0)
    }
}

/// `smtpd_client_event_limit_exceptions`: addresses and names.
struct Exceptions {
    nets: NetList,
    names: DomainList,
}

impl Exceptions {
    fn parse(value: &str) -> Exceptions {
        const TITLE: &str = "smtpd_client_event_limit_exceptions";
        let (mut nets, mut names) = (Vec::new(), Vec::new());
        for item in util::strings::split_list(value) {
            let body = item.trim_start_matches('!');
            let table = body.contains(':') && !body.starts_with('[') && parse_net(body).is_none();
            if table {
                nets.push(item.clone());
                names.push(item);
            } else if body.starts_with('/') || parse_net(body).is_some() {
                nets.push(item);
            } else {
                names.push(item);
            }
        }
        Exceptions {
            nets: NetList::parse(TITLE, &nets.join(" ")),
            names: DomainList::parse(TITLE, &names.join(" "), false),
        }
    }

    /// Whether the client is exempt. A failed table lookup (logged by
    /// the list) counts as no match.
    fn matches(&self, peer: &crate::peer::Peer) -> bool {
        if let Some(ip) = peer.ip {
            if self.nets.matches(ip).unwrap_or(false) {
                return true;
            }
        }
        peer.name != "unknown" && self.names.matches(&peer.name).unwrap_or(false)
    }
}

/// The connection to the anvil service.
struct Client {
    path: String,
    conn: Option<UnixStream>,
}

/// Errors that Postfix reports only when the second attempt fails too
/// (the server went away or is not there yet).
fn quiet_first(e: &AttrError) -> bool {
    match e {
        AttrError::Truncated => true,
        AttrError::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::NotFound
                | io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

impl Client {
    fn attempt(&mut self, req: &Attrs) -> Result<Attrs, AttrError> {
        if self.conn.is_none() {
            let s = UnixStream::connect(&self.path).inspect_err(|e| {
                msg_warn!("connect to {}: {e}", self.path);
            })?;
            s.set_read_timeout(Some(TIMEOUT))?;
            s.set_write_timeout(Some(TIMEOUT))?;
            self.conn = Some(s);
        }
        let conn = self.conn.as_mut().ok_or(AttrError::Truncated)?;
        attr::request(conn, req)
    }

    /// Send `req` and read the reply: two attempts a second apart, as
    /// Postfix's attr_clnt. `None` when both failed (warnings logged) or
    /// the server refused the request.
    fn call(&mut self, req: &Attrs) -> Option<Attrs> {
        for attempt in 0..2 {
            match self.attempt(req) {
                Ok(reply) => {
                    let ok = reply.opt_long(ap::ATTR_STATUS).ok().flatten() == Some(ap::STAT_OK);
                    return ok.then_some(reply);
                }
                Err(e) => {
                    self.conn = None;
                    if attempt == 1 || !quiet_first(&e) {
                        let why = match &e {
                            AttrError::Io(io) => io.to_string(),
                            other => other.to_string(),
                        };
                        msg_warn!("problem talking to server {}: {why}", self.path);
                    }
                    if attempt == 0 {
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        }
        None
    }

    /// One request `name` for `ident`; the values of attributes `want`.
    fn ask(&mut self, name: &str, ident: &str, want: &[&str]) -> Option<Vec<i64>> {
        let req = Attrs::new()
            .put_str(ap::ATTR_REQUEST, name)
            .put_str(ap::ATTR_IDENT, ident);
        let reply = self.call(&req)?;
        want.iter().map(|w| reply.long(w).ok()).collect()
    }
}

/// smtpd's limits and its anvil client (see the module description).
pub struct Limiter {
    limits: Limits,
    exceptions: Option<Exceptions>,
    client: Option<Client>,
    /// The ident whose session this process registered.
    registered: Option<String>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .field("enabled", &self.client.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::disabled()
    }
}

impl Limiter {
    /// No limits and no anvil (in-process tests; stand-alone mode).
    pub fn disabled() -> Limiter {
        Limiter {
            limits: Limits::default(),
            exceptions: None,
            client: None,
            registered: None,
        }
    }

    /// The limits of `cfg`, with a client of `private/anvil` (relative
    /// to `queue_directory`) when any limit is set. Bad numbers are
    /// logged and read as 0 (no limit).
    pub fn from_config(cfg: &Config) -> Limiter {
        let int = |name: &str| {
            cfg.get_int(name).unwrap_or_else(|e| {
                msg_warn!("{e}");
                0
            })
        };
        let limits = Limits {
            conn_count: int("smtpd_client_connection_count_limit"),
            conn_rate: int("smtpd_client_connection_rate_limit"),
            mail_rate: int("smtpd_client_message_rate_limit"),
            rcpt_rate: int("smtpd_client_recipient_rate_limit"),
            newtls_rate: int("smtpd_client_new_tls_session_rate_limit"),
            auth_rate: int("smtpd_client_auth_rate_limit"),
        };
        Limiter::with_service(cfg, limits, ap::SERVICE_PATH)
    }

    /// As [`Limiter::from_config`] with explicit `limits` and socket
    /// `path` (tests).
    pub fn with_service(cfg: &Config, limits: Limits, path: &str) -> Limiter {
        if !limits.any() {
            return Limiter::disabled();
        }
        let exceptions = cfg
            .get("smtpd_client_event_limit_exceptions")
            .unwrap_or_else(|e| {
                msg_warn!("{e}");
                String::new()
            });
        Limiter {
            limits,
            exceptions: Some(Exceptions::parse(&exceptions)),
            client: Some(Client {
                path: path.to_string(),
                conn: None,
            }),
            registered: None,
        }
    }
}

/// Over `limit` (0 or less: no limit)?
fn over(value: i64, limit: i64) -> bool {
    limit > 0 && value > limit
}

impl Session<'_, '_> {
    /// The ident of this client when it is counted at all.
    fn anvil_ident(&self) -> Option<String> {
        let a = &self.srv.anvil;
        if self.srv.stand_alone || a.client.is_none() || self.peer.ip.is_none() {
            return None;
        }
        if a.exceptions.as_ref().is_some_and(|x| x.matches(&self.peer)) {
            return None;
        }
        Some(ap::ident(&self.srv.service, &self.peer.addr))
    }

    /// One rate request `name` when `limit` is set; the rate.
    fn anvil_rate(&mut self, name: &str, limit: i64) -> Option<i64> {
        if limit <= 0 {
            return None;
        }
        let ident = self.anvil_ident()?;
        let client = self.srv.anvil.client.as_mut()?;
        client.ask(name, &ident, &[ap::ATTR_RATE]).map(|v| v[0])
    }

    fn anvil_warn(&self, what: &str, value: i64) {
        msg_warn!(
            "{what} limit exceeded: {value} from {} for service {}",
            self.peer.namaddr,
            self.srv.service
        );
    }

    /// Register the session before the greeting. `Close` after `421`
    /// when the client has too many sessions or starts them too fast.
    pub(crate) fn anvil_connect(&mut self) -> Outcome {
        let Some(ident) = self.anvil_ident() else {
            return Outcome::Continue;
        };
        let Some(client) = self.srv.anvil.client.as_mut() else {
            return Outcome::Continue;
        };
        let Some(v) = client.ask(ap::REQ_CONNECT, &ident, &[ap::ATTR_COUNT, ap::ATTR_RATE]) else {
            return Outcome::Continue;
        };
        self.srv.anvil.registered = Some(ident);
        let (count, rate) = (v[0], v[1]);
        let l = self.srv.anvil.limits;
        let what = if over(count, l.conn_count) {
            self.anvil_warn("Connection concurrency", count);
            true
        } else if over(rate, l.conn_rate) {
            self.anvil_warn("Connection rate", rate);
            true
        } else {
            false
        };
        if !what {
            return Outcome::Continue;
        }
        let r = format!(
            "421 4.7.0 {} Error: too many connections from {}",
            self.srv.settings.myhostname, self.peer.addr
        );
        self.reply(&r);
        Outcome::Close
    }

    /// End the session registered by [`Session::anvil_connect`].
    pub(crate) fn anvil_disconnect(&mut self) {
        let a = &mut self.srv.anvil;
        if let (Some(ident), Some(client)) = (a.registered.take(), a.client.as_mut()) {
            client.ask(ap::REQ_DISCONNECT, &ident, &[]);
        }
    }

    /// Count event `req` and refuse the command over `limit`: warning
    /// `WHAT limit exceeded: ...` and `450 4.7.1 Error: PHRASE from ADDR`.
    /// True: refused, reply queued.
    fn anvil_refused(&mut self, req: &str, limit: i64, what: &str, phrase: &str) -> bool {
        match self.anvil_rate(req, limit) {
            Some(rate) if over(rate, limit) => {
                self.anvil_warn(what, rate);
                let r = format!("450 4.7.1 Error: {phrase} from {}", self.peer.addr);
                self.reply(&r);
                true
            }
            _ => false,
        }
    }

    /// In MAIL, before the address is parsed: count the request (when
    /// `rest` starts as `FROM:` does) and refuse it over
    /// `smtpd_client_message_rate_limit`. True: refused, reply queued.
    pub(crate) fn anvil_mail_refused(&mut self, rest: &str) -> bool {
        let limit = self.srv.anvil.limits.mail_rate;
        has_keyword(rest, "FROM:")
            && self.anvil_refused(
                ap::REQ_MESSAGE,
                limit,
                "Message delivery request rate",
                "too much mail",
            )
    }

    /// In RCPT, before the address is parsed: as
    /// [`Session::anvil_mail_refused`] for
    /// `smtpd_client_recipient_rate_limit`.
    pub(crate) fn anvil_rcpt_refused(&mut self, rest: &str) -> bool {
        let limit = self.srv.anvil.limits.rcpt_rate;
        has_keyword(rest, "TO:")
            && self.anvil_refused(
                ap::REQ_RECIPIENT,
                limit,
                "Recipient address rate",
                "too many recipients",
            )
    }

    /// In AUTH, once the command is well-formed: count it and refuse it
    /// over `smtpd_client_auth_rate_limit`. True: refused, reply queued.
    pub(crate) fn anvil_auth_refused(&mut self) -> bool {
        let limit = self.srv.anvil.limits.auth_rate;
        self.anvil_refused(
            ap::REQ_AUTH,
            limit,
            "AUTH command rate",
            "too many AUTH commands",
        )
    }

    /// Whether the new-TLS-session rate is already over the limit
    /// (asked without counting).
    fn anvil_newtls_over(&mut self) -> bool {
        let limit = self.srv.anvil.limits.newtls_rate;
        matches!(self.anvil_rate(ap::REQ_NEWTLS_STATUS, limit), Some(r) if over(r, limit))
    }

    /// Before `220 Ready to start TLS`: refuse STARTTLS with `454` when
    /// the client started too many new TLS sessions. True: refused.
    pub(crate) fn anvil_starttls_refused(&mut self) -> bool {
        if !self.anvil_newtls_over() {
            return false;
        }
        msg_warn!(
            "Refusing STARTTLS request from {} for service {}",
            self.peer.namaddr,
            self.srv.service
        );
        let r = format!(
            "454 4.7.0 Error: too many new TLS sessions from {}",
            self.peer.namaddr
        );
        self.reply(&r);
        true
    }

    /// Before a wrapper-mode handshake: true when the connection must be
    /// dropped (warning logged, nothing sent).
    pub(crate) fn anvil_wrapper_refused(&mut self) -> bool {
        if !self.anvil_newtls_over() {
            return false;
        }
        msg_warn!(
            "Refusing TLS service request from {} for service {}",
            self.peer.namaddr,
            self.srv.service
        );
        true
    }

    /// After a handshake: count a new (not resumed) TLS session; over the
    /// limit, queue `421` and return true (the session must end).
    pub(crate) fn anvil_newtls_exceeded(&mut self) -> bool {
        if self.chat.tls_info().is_some_and(|i| i.resumed) {
            return false;
        }
        let limit = self.srv.anvil.limits.newtls_rate;
        match self.anvil_rate(ap::REQ_NEWTLS, limit) {
            Some(rate) if over(rate, limit) => {
                self.anvil_warn("New TLS session rate", rate);
                let r = format!(
                    "421 4.7.0 {} Error: too many new TLS sessions from {}",
                    self.srv.settings.myhostname, self.peer.namaddr
                );
                self.reply(&r);
                true
            }
            _ => false,
        }
    }
}

/// Whether `rest` starts with `keyword` (`FROM:`/`TO:`, any case,
/// spaces allowed before the colon as Postfix's tokenizer does).
fn has_keyword(rest: &str, keyword: &str) -> bool {
    let word = keyword.trim_end_matches(':');
    let rest = rest.trim_start();
    let Some(head) = rest.get(..word.len()) else {
        return false;
    };
    head.eq_ignore_ascii_case(word) && rest[word.len()..].trim_start().starts_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn cfg(text: &str) -> Config {
        Config::from_text(Path::new("/nonexistent"), text).unwrap()
    }

    #[test]
    fn keywords() {
        assert!(has_keyword("FROM:<a@b>", "FROM:"));
        assert!(has_keyword("from: <a@b>", "FROM:"));
        assert!(has_keyword(" To:<>", "TO:"));
        assert!(!has_keyword("", "FROM:"));
        assert!(!has_keyword("TO:<a@b>", "FROM:"));
        assert!(!has_keyword("FROM<a@b>", "FROM:"));
        assert!(!has_keyword("FRO", "FROM:"));
    }

    #[test]
    fn no_limits_no_client() {
        let c = cfg("smtpd_client_connection_count_limit = 0\n");
        assert!(Limiter::from_config(&c).client.is_none());
        // The default count limit (50) turns the client on.
        assert!(Limiter::from_config(&cfg("")).client.is_some());
        assert!(Limiter::disabled().client.is_none());
    }

    #[test]
    fn limits_are_read() {
        let c = cfg(
            "smtpd_client_connection_rate_limit = 3\nsmtpd_client_message_rate_limit = 4\n\
             smtpd_client_recipient_rate_limit = 5\nsmtpd_client_auth_rate_limit = 6\n\
             smtpd_client_new_tls_session_rate_limit = 7\n",
        );
        let l = Limiter::from_config(&c).limits;
        assert_eq!(
            l,
            Limits {
                conn_count: 50,
                conn_rate: 3,
                mail_rate: 4,
                rcpt_rate: 5,
                newtls_rate: 7,
                auth_rate: 6
            }
        );
        assert!(over(51, 50) && !over(50, 50) && !over(9, 0));
    }

    #[test]
    fn exceptions_match_addresses_and_names() {
        let x = Exceptions::parse("127.0.0.0/8, [::1]/128 .example.com mx.example.net");
        let mut p = crate::peer::Peer::unknown("127.0.0.9".parse().unwrap(), 25);
        assert!(x.matches(&p));
        p = crate::peer::Peer::unknown("192.0.2.1".parse().unwrap(), 25);
        assert!(!x.matches(&p));
        p.name = "a.example.com".into();
        assert!(x.matches(&p));
        p.name = "mx.example.net".into();
        assert!(x.matches(&p));
        p.name = "example.com".into();
        assert!(!x.matches(&p));
        assert!(!Exceptions::parse("").matches(&p));
    }

    #[test]
    fn unreachable_service_is_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anvil");
        let mut c = Client {
            path: path.display().to_string(),
            conn: None,
        };
        assert!(c
            .ask(ap::REQ_CONNECT, "smtp:192.0.2.1", &[ap::ATTR_COUNT])
            .is_none());
    }
}
