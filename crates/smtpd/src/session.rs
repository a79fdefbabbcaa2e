//! NAME
//!   session - one SMTP session: the command loop, state, limits and logs
//!
//! DESCRIPTION
//!   [`serve`] greets the client with `220 $smtpd_banner`, then reads
//!   commands until QUIT, a fatal error, a timeout or the client going
//!   away. Each command is dispatched to its handler (modules
//!   [`crate::cmd`] and [`crate::data`]), which queues replies and
//!   returns an [`Outcome`].
//!
//!   Around the handlers the loop enforces, as Postfix does:
//!   `smtpd_timeout` (`421 4.4.2 host Error: timeout exceeded`, log
//!   `timeout after CMD from host[addr]`); `smtpd_hard_error_limit`
//!   (`421 4.7.0 host Error: too many errors`, log `too many errors after
//!   CMD ...`), with `smtpd_error_sleep_time` once past
//!   `smtpd_soft_error_limit`; `smtpd_junk_command_limit`; invalid UTF-8
//!   (`500 5.5.2 Error: bad UTF-8 syntax`); and the checks of
//!   [`crate::guard`]: non-SMTP commands (header-like lines and
//!   `smtpd_forbidden_commands` end the session with `221 2.7.0 Error: I
//!   can break rules, too. Goodbye.`), bare LF in commands with
//!   `smtpd_forbid_bare_newline = reject` (reply, then hang up), improper
//!   pipelining.
//!
//!   A command counts as an error (toward the limits) and as failed (in
//!   the disconnect line) when its reply is 4XX or 5XX, except the
//!   `452 4.5.3 Error: too many recipients` replies within
//!   `smtpd_recipient_overshoot_limit`, which Postfix counts as neither.
//!
//!   Logs: `connect from host[addr]`, `lost connection after CMD from
//!   host[addr]`, and at the end `disconnect from host[addr] ehlo=1
//!   mail=1 rcpt=0/1 ... commands=N/M` (successful/total per command
//!   that was used).
use crate::chat::{Chat, ChatError};
use crate::check::{Checks, Effects, Facts, Reject};
use crate::cleanup::{Cleanup, CleanupSession, Recipient};
use crate::conn::{Conn, Outcome, Transport};
use crate::peer::Peer;
use crate::received::Clock;
use crate::settings::{BareNewline, Settings};
use maps::{DictFlags, Maps};
use util::{msg_info, msg_warn};

/// What an smtpd process keeps between sessions.
pub struct Server {
    /// The parameters.
    pub settings: Settings,
    /// The restrictions and their tables.
    pub checks: Checks,
    /// How messages reach cleanup.
    pub cleanup: Box<dyn Cleanup>,
    /// Dates for Received: headers.
    pub clock: Clock,
    /// Stand-alone mode (`smtpd -S`, `sendmail -bs`).
    pub stand_alone: bool,
    /// `smtpd_forbid_bare_newline_exclusions`.
    pub(crate) bare_lf_exclusions: crate::check::lists::NetList,
    /// Tables in `smtpd_forbidden_commands`.
    pub(crate) forbidden_tables: Vec<Maps>,
    /// STARTTLS, wrapper mode and the TLS engine (off by default).
    pub tls: crate::starttls::TlsPolicy,
    /// The master.cf service name (for log lines).
    pub service: String,
    /// SMTP AUTH (off by default).
    pub sasl: crate::sasl::SaslPolicy,
    /// Client limits through anvil(8) (off unless set: main.rs).
    pub anvil: crate::anvil::Limiter,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("stand_alone", &self.stand_alone)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Build the per-process state from `settings` (before chroot: the
    /// tables are opened here).
    pub fn new(
        settings: Settings,
        checks: Checks,
        cleanup: Box<dyn Cleanup>,
        clock: Clock,
    ) -> Server {
        let bare_lf_exclusions = crate::check::lists::NetList::parse(
            "smtpd_forbid_bare_newline_exclusions",
            &settings.bare_newline_exclusions,
        );
        let forbidden_tables = settings
            .forbidden_commands
            .iter()
            .filter(|c| c.contains(':'))
            .filter_map(|c| match maps::open(c, DictFlags::default()) {
                Ok(d) => Some(Maps::from_dicts("smtpd_forbidden_commands", vec![d])),
                Err(e) => {
                    msg_warn!("smtpd_forbidden_commands: {c}: {e}");
                    None
                }
            })
            .collect();
        Server {
            settings,
            checks,
            cleanup,
            clock,
            stand_alone: false,
            bare_lf_exclusions,
            forbidden_tables,
            tls: crate::starttls::TlsPolicy::default(),
            service: "smtpd".into(),
            sasl: crate::sasl::SaslPolicy::default(),
            anvil: crate::anvil::Limiter::disabled(),
        }
    }
}

/// BDAT progress of the current transaction.
#[derive(Debug, Default)]
pub(crate) struct Bdat {
    /// Bytes received so far.
    pub bytes: u64,
    /// The refusal that will answer LAST (size, write error...).
    pub error: Option<String>,
    /// Content state for CRLF conversion and header detection.
    pub content: crate::data::Content,
}

/// One mail transaction (MAIL to end of data, or RSET).
#[derive(Default)]
pub(crate) struct Tx {
    pub sender: String,
    pub size: u64,
    pub body_8bit: bool,
    pub smtputf8: bool,
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub rcpts: Vec<Recipient>,
    pub rcpt_overshoot: usize,
    pub cleanup: Option<Box<dyn CleanupSession>>,
    pub queue_id: Option<String>,
    pub fx: Effects,
    pub bdat: Option<Bdat>,
    /// Headers are rewritten as local mail (local_header_rewrite_clients).
    pub rewrite_local: bool,
}

/// The state of one SMTP session.
pub struct Session<'c, 's> {
    pub(crate) srv: &'s mut Server,
    pub(crate) chat: Chat<'c>,
    pub(crate) peer: Peer,
    pub(crate) helo: Option<String>,
    pub(crate) esmtp: bool,
    pub(crate) tx: Option<Tx>,
    pub(crate) counts: Vec<(&'static str, u32, u32)>,
    pub(crate) errors: u32,
    pub(crate) junk: u32,
    pub(crate) last: String,
    pub(crate) last_code: u16,
    /// The current command's refusal does not count as an error and the
    /// command counts as successful (Postfix: the handler returned 0),
    /// e.g. `452 too many recipients` within the overshoot limit.
    pub(crate) not_an_error: bool,
    pub(crate) connect_reject: Option<Reject>,
    pub(crate) unauth_pipelining: bool,
    pub(crate) bare_lf: BareNewline,
    pub(crate) data_bytes: Option<u64>,
    pub(crate) sasl: crate::sasl::SaslState,
}

/// Postfix's command table order (for the disconnect line).
const COMMANDS: &[&str] = &[
    "helo", "ehlo", "xclient", "xforward", "starttls", "auth", "mail", "rcpt", "data", "bdat",
    "rset", "noop", "vrfy", "etrn", "quit", "unknown",
];

/// Serve one client on `conn`: the whole session, with its log lines.
pub fn serve(srv: &mut Server, conn: &mut dyn Conn, peer: Peer) {
    let timeout = Some(srv.settings.timeout);
    let chat = match Chat::new(Transport::Plain(conn), timeout) {
        Ok(c) => c,
        Err(e) => {
            msg_warn!("{}: cannot set timeout: {e}", peer.namaddr);
            return;
        }
    };
    let bare_lf = match (srv.settings.bare_newline, peer.ip) {
        (BareNewline::Allow, _) => BareNewline::Allow,
        (mode, Some(ip)) if !srv.bare_lf_exclusions.matches(ip).unwrap_or(false) => mode,
        (mode, None) if !srv.stand_alone => mode,
        _ => BareNewline::Allow,
    };
    let mut s = Session {
        srv,
        chat,
        peer,
        helo: None,
        esmtp: false,
        tx: None,
        counts: COMMANDS.iter().map(|c| (*c, 0, 0)).collect(),
        errors: 0,
        junk: 0,
        last: "CONNECT".into(),
        last_code: 0,
        not_an_error: false,
        connect_reject: None,
        unauth_pipelining: false,
        bare_lf,
        data_bytes: None,
        sasl: crate::sasl::SaslState::default(),
    };
    msg_info!("connect from {}", s.peer.namaddr);
    s.run();
    s.abort_tx();
    s.anvil_disconnect();
    msg_info!("disconnect from {}{}", s.peer.namaddr, s.tally());
}

impl Session<'_, '_> {
    /// Queue a reply line and remember its code (errors count).
    pub(crate) fn reply(&mut self, text: &str) {
        self.last_code = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        self.chat.reply(text);
    }

    /// The facts restrictions see now.
    pub(crate) fn facts(&self, state: &str) -> Facts {
        Facts {
            peer: Some(self.peer.clone()),
            helo: self.helo.clone(),
            sender: self.tx.as_ref().map(|t| t.sender.clone()),
            recipient: None,
            etrn_domain: None,
            protocol: self.protocol(),
            state: state.into(),
            queue_id: self.tx.as_ref().and_then(|t| t.queue_id.clone()),
            rcpt_count: self.tx.as_ref().map_or(0, |t| t.rcpts.len()),
            size: self.tx.as_ref().map_or(0, |t| t.size),
            unauth_pipelining: self.unauth_pipelining,
            tls: self.chat.tls_info().cloned(),
            sasl_username: self.sasl.username.clone(),
        }
    }

    /// The protocol name: SMTP or ESMTP (ESMTPS with TLS), UTF8SMTP...
    pub(crate) fn protocol(&self) -> String {
        let base = if self.esmtp { "ESMTP" } else { "SMTP" };
        let tls = if self.chat_is_tls() { "S" } else { "" };
        let auth = if self.esmtp && self.sasl.username.is_some() {
            "A"
        } else {
            ""
        };
        format!("{base}{tls}{auth}")
    }

    fn chat_is_tls(&self) -> bool {
        self.chat.tls_info().is_some()
    }

    /// `; from=<s> to=<r> proto=P helo=<h>` for reject log lines.
    pub(crate) fn log_tail(&self, rcpt: Option<&str>) -> String {
        self.log_tail_from(self.tx.as_ref().map(|t| t.sender.as_str()), rcpt)
    }

    /// [`Session::log_tail`] for a sender that is not (yet) the
    /// transaction's, e.g. a MAIL command being refused.
    fn log_tail_from(&self, sender: Option<&str>, rcpt: Option<&str>) -> String {
        let mut t = String::new();
        if let Some(s) = sender {
            t.push_str(&format!(" from=<{s}>"));
        }
        if let Some(r) = rcpt {
            t.push_str(&format!(" to=<{r}>"));
        }
        t.push_str(&format!(" proto={}", self.protocol()));
        if let Some(h) = &self.helo {
            t.push_str(&format!(" helo=<{h}>"));
        }
        t
    }

    /// The recipient of a transaction with exactly one (Postfix names
    /// it in DATA and END-OF-MESSAGE log lines only then).
    pub(crate) fn single_rcpt(&self) -> Option<String> {
        match self.tx.as_ref().map(|t| t.rcpts.as_slice()) {
            Some([r]) => Some(r.address.clone()),
            _ => None,
        }
    }

    /// Log `ID: reject: CMD from host[addr]: reply; from=<..> ...`.
    pub(crate) fn log_reject(&self, kind: &str, cmd: &str, reply: &str, rcpt: Option<&str>) {
        let id = self
            .tx
            .as_ref()
            .and_then(|t| t.queue_id.clone())
            .unwrap_or_else(|| "NOQUEUE".into());
        msg_info!(
            "{id}: {kind}: {cmd} from {}: {reply};{}",
            self.peer.namaddr,
            self.log_tail(rcpt)
        );
    }

    /// Log the refusal of `MAIL FROM:<sender>` by smtpd itself (size,
    /// lookup errors): `NOQUEUE: reject: MAIL from host[addr]: reply;
    /// from=<sender> proto=.. helo=<..>`.
    pub(crate) fn log_mail_reject(&self, sender: &str, reply: &str) {
        msg_info!(
            "NOQUEUE: reject: MAIL from {}: {reply};{}",
            self.peer.namaddr,
            self.log_tail_from(Some(sender), None)
        );
    }

    /// Log the side effects collected by restrictions.
    pub(crate) fn log_effects(&self, fx: &Effects, cmd: &str, rcpt: Option<&str>) {
        for (kind, text) in &fx.warnings {
            self.log_reject(kind, cmd, text, rcpt);
        }
        for (kind, _, text) in &fx.actions {
            self.log_reject(&kind.to_ascii_lowercase(), cmd, text, rcpt);
        }
    }

    fn count(&mut self, name: &'static str, ok: bool) {
        if let Some(c) = self.counts.iter_mut().find(|c| c.0 == name) {
            c.2 += 1;
            if ok {
                c.1 += 1;
            }
        }
    }

    /// ` ehlo=1 mail=1 ... commands=N` (or `N/M`).
    fn tally(&self) -> String {
        let mut out = String::new();
        let (mut ok, mut total) = (0, 0);
        for (name, good, all) in &self.counts {
            if *all == 0 {
                continue;
            }
            ok += good;
            total += all;
            if good == all {
                out.push_str(&format!(" {name}={good}"));
            } else {
                out.push_str(&format!(" {name}={good}/{all}"));
            }
        }
        if ok == total && total > 0 {
            out.push_str(&format!(" commands={total}"));
        } else {
            out.push_str(&format!(" commands={ok}/{total}"));
        }
        out
    }

    /// Forget the current transaction (RSET, HELO, end of session):
    /// dropping the cleanup session makes cleanup remove its file.
    pub(crate) fn abort_tx(&mut self) {
        self.tx = None;
    }

    fn run(&mut self) {
        if self.srv.stand_alone || !self.srv.settings.delay_reject {
            self.connect_checks();
        }
        let mut first = if self.srv.tls.wrapper {
            self.wrapper_start()
        } else {
            Ok(Outcome::Continue)
        };
        if matches!(first, Ok(Outcome::Continue)) {
            first = Ok(self.anvil_connect());
        }
        if matches!(first, Ok(Outcome::Continue)) {
            let banner = format!("220 {}", self.srv.settings.banner);
            self.reply(&banner);
        }
        loop {
            let step = match std::mem::replace(&mut first, Ok(Outcome::Continue)) {
                Ok(Outcome::Continue) => match self.step() {
                    Ok(Outcome::UpgradeTls) => {
                        self.sasl_reset();
                        self.upgrade()
                    }
                    other => other,
                },
                done => done,
            };
            match step {
                Ok(Outcome::Continue) | Ok(Outcome::UpgradeTls) => {}
                Ok(Outcome::Close) => {
                    let _ = self.chat.flush();
                    let t = self.srv.tls.starttls_timeout;
                    self.chat.transport().stop_tls(t);
                    return;
                }
                Err(ChatError::Timeout) => {
                    let r = format!(
                        "421 4.4.2 {} Error: timeout exceeded",
                        self.srv.settings.myhostname
                    );
                    self.reply(&r);
                    let _ = self.chat.flush();
                    msg_info!("timeout after {} from {}", self.where_(), self.peer.namaddr);
                    return;
                }
                Err(ChatError::Eof) => {
                    msg_info!(
                        "lost connection after {} from {}",
                        self.where_(),
                        self.peer.namaddr
                    );
                    return;
                }
                Err(ChatError::Io(e)) => {
                    msg_info!(
                        "lost connection after {} from {}: {e}",
                        self.where_(),
                        self.peer.namaddr
                    );
                    return;
                }
            }
        }
    }

    /// Wrapper mode (RFC 8314): TLS before the greeting. Without a
    /// working engine the connection is dropped with Postfix's warning.
    fn wrapper_start(&mut self) -> Result<Outcome, ChatError> {
        if self.srv.tls.ctx.is_none() {
            msg_warn!(
                "Wrapper-mode request dropped from {} for service {}. \
                 TLS context initialization failed. For details see earlier warnings in your logs.",
                self.peer.namaddr,
                self.srv.service
            );
            return Ok(Outcome::Close);
        }
        if self.anvil_wrapper_refused() {
            return Ok(Outcome::Close);
        }
        self.start_tls()
    }

    fn where_(&self) -> String {
        match self.data_bytes {
            Some(n) => format!("{} ({n} bytes)", self.last),
            None => self.last.clone(),
        }
    }

    fn connect_checks(&mut self) {
        if self.srv.checks.is_empty(crate::check::Stage::Client) {
            return;
        }
        let f = self.facts("CONNECT");
        let mut fx = Effects::default();
        if let crate::check::Decision::Reject(r) =
            self.srv
                .checks
                .run(crate::check::Stage::Client, &f, &mut fx)
        {
            self.log_reject("reject", "CONNECT", &r.reply(), None);
            self.connect_reject = Some(r);
        }
        self.log_effects(&fx, "CONNECT", None);
    }

    /// Read and run one command.
    fn step(&mut self) -> Result<Outcome, ChatError> {
        let st = &self.srv.settings;
        if self.errors >= st.hard_error_limit {
            let r = format!("421 4.7.0 {} Error: too many errors", st.myhostname);
            msg_info!(
                "too many errors after {} from {}",
                self.where_(),
                self.peer.namaddr
            );
            self.reply(&r);
            return Ok(Outcome::Close);
        }
        if self.errors >= st.soft_error_limit && !st.error_sleep.is_zero() {
            self.chat.flush()?;
            std::thread::sleep(st.error_sleep);
        }
        let limit = st.line_limit;
        let (line, _truncated) = self.chat.read_command(limit)?;
        if !line.crlf && self.bare_lf == BareNewline::Reject {
            self.bare_newline_command();
            return Ok(Outcome::Close);
        }
        let Ok(text) = String::from_utf8(line.bytes) else {
            self.reply("500 5.5.2 Error: bad UTF-8 syntax");
            self.errors += 1;
            self.count("unknown", false);
            return Ok(Outcome::Continue);
        };
        let text = text.trim_end_matches([' ', '\t']).to_string();
        let (verb, rest) = match text.find([' ', '\t']) {
            Some(i) => (&text[..i], &text[i + 1..]),
            None => (text.as_str(), ""),
        };
        if verb.is_empty() {
            self.reply("500 5.5.2 Error: bad syntax");
            self.errors += 1;
            return Ok(Outcome::Continue);
        }
        let upper = verb.to_ascii_uppercase();
        let name = COMMANDS
            .iter()
            .copied()
            .find(|c| c.eq_ignore_ascii_case(&upper) && *c != "unknown")
            .unwrap_or("unknown");
        if name != "unknown" {
            self.last = upper.clone();
        } else if self.non_smtp_command(verb, &text) {
            self.count(name, false);
            return Ok(Outcome::Close);
        }
        if self.check_pipelining(name) {
            self.reply("554 5.5.0 Error: SMTP protocol synchronization");
            self.count(name, false);
            return Ok(Outcome::Close);
        }
        // Postfix's junk commands: NOOP, RSET, VRFY and ETRN (an unknown
        // command is an error by itself); each one past
        // smtpd_junk_command_limit + 1 also counts as an error.
        if matches!(name, "noop" | "rset" | "vrfy" | "etrn") {
            if self.junk > self.srv.settings.junk_limit {
                self.errors += 1;
            }
            self.junk += 1;
        }
        self.last_code = 0;
        self.not_an_error = false;
        if self.srv.tls.enforced()
            && !self.chat_is_tls()
            && !matches!(
                name,
                "helo" | "ehlo" | "starttls" | "noop" | "quit" | "unknown"
            )
        {
            self.reply("530 5.7.0 Must issue a STARTTLS command first");
            self.errors += 1;
            self.count(name, false);
            return Ok(Outcome::Continue);
        }
        let rest = rest.to_string();
        let outcome = match self.dispatch(name, &rest) {
            Ok(o) => o,
            Err(e) => {
                self.count(name, false);
                return Err(e);
            }
        };
        let failed = self.last_code >= 400 && !self.not_an_error;
        let ok = self.last_code > 0 && !failed;
        if failed && self.last_code != 421 && name != "unknown" {
            self.errors += 1;
        }
        self.count(name, ok);
        Ok(outcome)
    }

    fn dispatch(&mut self, name: &str, rest: &str) -> Result<Outcome, ChatError> {
        Ok(match name {
            "helo" => self.helo_cmd(rest, false),
            "ehlo" => self.helo_cmd(rest, true),
            "mail" => self.mail_cmd(rest),
            "rcpt" => self.rcpt_cmd(rest),
            "data" => return self.data_cmd(rest),
            "bdat" => return self.bdat_cmd(rest),
            "rset" => self.rset_cmd(rest),
            "noop" => {
                self.reply("250 2.0.0 Ok");
                Outcome::Continue
            }
            "vrfy" => self.vrfy_cmd(rest),
            "etrn" => self.etrn_cmd(rest),
            "quit" => {
                self.reply("221 2.0.0 Bye");
                Outcome::Close
            }
            "starttls" => self.starttls_cmd(rest),
            "xclient" => self.xclient_cmd("XCLIENT", rest),
            "xforward" => self.xclient_cmd("XFORWARD", rest),
            "auth" => return self.auth_cmd(rest),
            _ => {
                self.reply("500 5.5.2 Error: command not recognized");
                self.errors += 1;
                Outcome::Continue
            }
        })
    }
}
