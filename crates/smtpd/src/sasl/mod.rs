//! NAME
//!   sasl - SMTP AUTH (RFC 4954) in smtpd, with Dovecot as authenticator
//!
//! DESCRIPTION
//!   With `smtpd_sasl_auth_enable = yes` and `smtpd_sasl_type = dovecot`
//!   the EHLO reply lists `AUTH mech...` (and `AUTH=mech...` for
//!   `broken_sasl_auth_clients`), and the AUTH command relays the
//!   exchange to the Dovecot auth server at `smtpd_sasl_path`
//!   ([`dovecot`]).
//!
//!   The mechanism list is the server's, less those excluded by
//!   `smtpd_sasl_security_options` (plain sessions) or
//!   `smtpd_sasl_tls_security_options` (once TLS is active, also in
//!   wrapper mode); it is computed again after STARTTLS (TLS_CHANGES
//!   2002/05/24) and the `AUTH=` form is offered again then (2002/05/25).
//!   AUTH is not offered before TLS with `smtpd_tls_auth_only = yes` or
//!   at level encrypt (2000/07/27), and is offered on a plain session
//!   otherwise (2001/09/04). Clients in `smtpd_sasl_exceptions_networks`
//!   are not shown AUTH.
//!
//!   Replies: `235 2.7.0 Authentication successful`, `334 challenge`,
//!   `535 5.7.8 Error: authentication failed: reason` (logged as
//!   `warning: host[addr]: SASL MECH authentication failed: reason,
//!   sasl_username=user`; also for a mechanism the server does not
//!   know, reason `Invalid authentication mechanism`, as Postfix 3.7
//!   with Dovecot answers),
//!   `501 5.7.0 Authentication aborted`, `503 5.5.1 Error:
//!   authentication not enabled`, `503 5.5.1 Error: already
//!   authenticated`, `503 5.5.1 Error: MAIL transaction in progress`,
//!   `504 5.5.4 Encryption required for requested authentication
//!   mechanism`, `454 4.7.0 Temporary authentication failure` when the
//!   auth server cannot be reached. Failures count as errors
//!   (`smtpd_error_sleep_time`, `smtpd_hard_error_limit`).
//!
//!   An auth server that cannot be reached is logged as `warning: SASL:
//!   Connect to Dovecot auth socket 'PATH' failed: ERROR` (Postfix's
//!   words); EHLO then offers no AUTH and AUTH is answered `454 4.7.0
//!   Temporary authentication failure`, whatever the mechanism. Postfix
//!   3.7 instead ends the smtpd process (`fatal: no SASL authentication
//!   mechanisms`), which takes the whole SMTP service down; Postern
//!   keeps serving mail that needs no AUTH.
//!
//! SEE ALSO
//!   RFC 4954, postconf(5), doc/SASL_README.md.
pub mod dovecot;

use crate::check::lists::NetList;
use crate::conn::Outcome;
use crate::session::Session;
use dovecot::{Dovecot, Mech, Step};
use global::Config;
use std::time::Duration;
use util::msg_warn;

/// Which mechanisms a security option list excludes
/// (`smtpd_sasl_security_options`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecOpts {
    /// `noplaintext`.
    pub noplaintext: bool,
    /// `noanonymous`.
    pub noanonymous: bool,
    /// `nodictionary`.
    pub nodictionary: bool,
    /// `noactive`.
    pub noactive: bool,
    /// `mutual_auth`.
    pub mutual_auth: bool,
    /// `forward_secrecy`.
    pub forward_secrecy: bool,
}

impl SecOpts {
    /// Parse a list like `noanonymous, noplaintext`. Unknown words are
    /// logged and ignored.
    pub fn parse(param: &str, value: &str) -> SecOpts {
        let mut o = SecOpts::default();
        for w in util::strings::split_list(value) {
            match w.to_ascii_lowercase().as_str() {
                "noplaintext" => o.noplaintext = true,
                "noanonymous" => o.noanonymous = true,
                "nodictionary" => o.nodictionary = true,
                "noactive" => o.noactive = true,
                "mutual_auth" => o.mutual_auth = true,
                "forward_secrecy" => o.forward_secrecy = true,
                other => msg_warn!("{param}: unknown SASL security option \"{other}\""),
            }
        }
        o
    }

    /// Whether mechanism `m` is allowed by these options (Dovecot's
    /// `private` mechanisms are never offered).
    pub fn allows(&self, m: &Mech) -> bool {
        let has = |f: &str| m.flags.iter().any(|x| x == f);
        !(has("private")
            || (self.noplaintext && has("plaintext"))
            || (self.noanonymous && has("anonymous"))
            || (self.nodictionary && has("dictionary"))
            || (self.noactive && has("active"))
            || (self.mutual_auth && !has("mutual-auth"))
            || (self.forward_secrecy && !has("forward-secrecy")))
    }
}

/// The SASL parameters of one smtpd process.
#[derive(Debug, Clone, Default)]
pub struct SaslPolicy {
    /// `smtpd_sasl_auth_enable` (and a supported `smtpd_sasl_type`).
    pub enabled: bool,
    /// `smtpd_sasl_path`.
    pub path: String,
    /// `smtpd_sasl_security_options`.
    pub sec: SecOpts,
    /// `smtpd_sasl_tls_security_options`.
    pub tls_sec: SecOpts,
    /// `smtpd_tls_auth_only`.
    pub auth_only: bool,
    /// `broken_sasl_auth_clients`.
    pub broken_clients: bool,
    /// `smtpd_sasl_local_domain` (Dovecot applies its own realms; kept
    /// for the log and documentation).
    pub local_domain: String,
    /// `smtpd_sasl_authenticated_header`.
    pub auth_header: bool,
    /// `smtpd_sasl_exceptions_networks` (raw).
    pub exceptions: String,
    /// `smtpd_timeout`, for each read from the auth server.
    pub timeout: Duration,
    /// `smtpd_sasl_response_limit` in bytes.
    pub response_limit: usize,
}

impl SaslPolicy {
    /// Read the SASL parameters. Errors: AUTH is enabled with an
    /// `smtpd_sasl_type` other than `dovecot`.
    pub fn from_config(cfg: &Config) -> Result<SaslPolicy, String> {
        let e = |e: global::ConfigError| e.to_string();
        let enabled = cfg.get_bool("smtpd_sasl_auth_enable").map_err(e)?;
        let kind = cfg.get("smtpd_sasl_type").map_err(e)?;
        if enabled && !kind.trim().eq_ignore_ascii_case("dovecot") {
            return Err(format!(
                "unsupported SASL server implementation: {}",
                kind.trim()
            ));
        }
        Ok(SaslPolicy {
            enabled,
            path: cfg.get("smtpd_sasl_path").map_err(e)?.trim().to_string(),
            sec: SecOpts::parse(
                "smtpd_sasl_security_options",
                &cfg.get("smtpd_sasl_security_options").map_err(e)?,
            ),
            tls_sec: SecOpts::parse(
                "smtpd_sasl_tls_security_options",
                &cfg.get("smtpd_sasl_tls_security_options").map_err(e)?,
            ),
            auth_only: cfg.get_bool("smtpd_tls_auth_only").map_err(e)?,
            broken_clients: cfg.get_bool("broken_sasl_auth_clients").map_err(e)?,
            local_domain: cfg.get("smtpd_sasl_local_domain").map_err(e)?,
            auth_header: cfg.get_bool("smtpd_sasl_authenticated_header").map_err(e)?,
            exceptions: cfg.get("smtpd_sasl_exceptions_networks").map_err(e)?,
            timeout: Duration::from_secs(cfg.get_time("smtpd_timeout").map_err(e)?.max(1)),
            response_limit: usize::try_from(cfg.get_int("smtpd_sasl_response_limit").map_err(e)?)
                .unwrap_or(12288)
                .max(512),
        })
    }
}

/// The SASL state of one session.
#[derive(Default)]
pub struct SaslState {
    conn: Option<Dovecot>,
    /// The mechanism that succeeded.
    pub method: Option<String>,
    /// The authenticated user.
    pub username: Option<String>,
    /// The `AUTH=` address of the current MAIL command.
    pub sender: Option<String>,
}

impl Session<'_, '_> {
    fn sasl_ready(&self) -> bool {
        let p = &self.srv.sasl;
        let tls = self.chat.tls_info().is_some();
        p.enabled && !self.srv.stand_alone && (tls || (!p.auth_only && !self.srv.tls.enforced()))
    }

    /// The mechanisms allowed now (after the security options of the
    /// moment), and all the server offers. Connects to the auth server
    /// the first time; a failure is logged and gives empty lists.
    fn sasl_mechs(&mut self) -> (Vec<String>, Vec<String>) {
        if self.sasl.conn.is_none() {
            let p = &self.srv.sasl;
            match Dovecot::connect(&p.path, p.timeout) {
                Ok(d) => self.sasl.conn = Some(d),
                Err(e) => {
                    msg_warn!("SASL: {e}");
                    return (Vec::new(), Vec::new());
                }
            }
        }
        let opts = if self.chat.tls_info().is_some() {
            &self.srv.sasl.tls_sec
        } else {
            &self.srv.sasl.sec
        };
        let all = self
            .sasl
            .conn
            .as_ref()
            .map(|c| c.mechs.clone())
            .unwrap_or_default();
        let ok = all
            .iter()
            .filter(|m| opts.allows(m))
            .map(|m| m.name.clone())
            .collect();
        (ok, all.into_iter().map(|m| m.name).collect())
    }

    /// The EHLO lines for AUTH (`AUTH PLAIN LOGIN`, and `AUTH=PLAIN
    /// LOGIN` with `broken_sasl_auth_clients`), empty when not offered.
    pub(crate) fn sasl_ehlo_lines(&mut self) -> Vec<String> {
        if !self.sasl_ready() || self.srv.settings.discarded("auth") {
            return Vec::new();
        }
        let exc = &self.srv.sasl.exceptions;
        if !exc.trim().is_empty() {
            if let Some(ip) = self.peer.ip {
                let l = NetList::parse("smtpd_sasl_exceptions_networks", exc);
                if l.matches(ip).unwrap_or(false) {
                    return Vec::new();
                }
            }
        }
        let (mechs, _) = self.sasl_mechs();
        if mechs.is_empty() {
            return Vec::new();
        }
        let list = mechs.join(" ");
        let mut out = vec![format!("AUTH {list}")];
        if self.srv.sasl.broken_clients {
            out.push(format!("AUTH={list}"));
        }
        out
    }

    /// Forget the auth server connection and mechanisms (after STARTTLS
    /// the list is computed again, TLS_CHANGES 2002/05/24).
    pub(crate) fn sasl_reset(&mut self) {
        self.sasl = SaslState::default();
    }

    /// The AUTH command.
    pub(crate) fn auth_cmd(&mut self, rest: &str) -> Result<Outcome, crate::chat::ChatError> {
        if !self.sasl_ready() {
            self.reply("503 5.5.1 Error: authentication not enabled");
            return Ok(Outcome::Continue);
        }
        if self.srv.settings.helo_required && self.helo.is_none() {
            self.reply("503 5.5.1 Error: send HELO/EHLO first");
            return Ok(Outcome::Continue);
        }
        if self.tx.is_some() {
            self.reply("503 5.5.1 Error: MAIL transaction in progress");
            return Ok(Outcome::Continue);
        }
        if self.sasl.username.is_some() {
            self.reply("503 5.5.1 Error: already authenticated");
            return Ok(Outcome::Continue);
        }
        let args: Vec<&str> = rest.split_whitespace().collect();
        if args.is_empty() || args.len() > 2 {
            self.reply("501 5.5.4 Syntax: AUTH mechanism");
            return Ok(Outcome::Continue);
        }
        if self.anvil_auth_refused() {
            return Ok(Outcome::Continue);
        }
        let mech = args[0].to_ascii_uppercase();
        let (ok, all) = self.sasl_mechs();
        if self.sasl.conn.is_none() {
            // The auth server cannot be reached (warning logged by
            // sasl_mechs). Postfix 3.7 exits with "fatal: no SASL
            // authentication mechanisms"; a temporary refusal keeps
            // the rest of the service up.
            self.reply("454 4.7.0 Temporary authentication failure");
            return Ok(Outcome::Continue);
        }
        if !ok.contains(&mech) {
            if all.contains(&mech) {
                self.reply("504 5.5.4 Encryption required for requested authentication mechanism");
            } else {
                self.sasl_failed(&mech, "Invalid authentication mechanism", "");
            }
            return Ok(Outcome::Continue);
        }
        let rip = self.peer.ip.map(|i| i.to_string()).unwrap_or_default();
        let secured = self.chat.tls_info().is_some();
        let Some(conn) = self.sasl.conn.as_mut() else {
            self.reply("454 4.7.0 Temporary authentication failure");
            return Ok(Outcome::Continue);
        };
        let mut step = conn.start(&mech, args.get(1).copied(), &rip, secured);
        if step.is_err() {
            // The auth server may have closed an idle connection: one
            // new connection, one more try.
            let p = &self.srv.sasl;
            self.sasl.conn = Dovecot::connect(&p.path, p.timeout).ok();
            if let Some(c) = self.sasl.conn.as_mut() {
                step = c.start(&mech, args.get(1).copied(), &rip, secured);
            }
        }
        let mut id;
        loop {
            let s = match step {
                Ok((i, s)) => {
                    id = i;
                    s
                }
                Err(e) => {
                    msg_warn!("SASL {mech}: {e}");
                    self.sasl.conn = None;
                    self.reply("454 4.7.0 Temporary authentication failure");
                    return Ok(Outcome::Continue);
                }
            };
            match s {
                Step::Ok(user) => {
                    self.sasl.username = Some(user);
                    self.sasl.method = Some(mech);
                    self.reply("235 2.7.0 Authentication successful");
                    return Ok(Outcome::Continue);
                }
                Step::Fail(reason, user) => {
                    self.sasl_failed(&mech, &reason, &user);
                    return Ok(Outcome::Continue);
                }
                Step::Cont(challenge) => {
                    self.chat.reply(&format!("334 {challenge}"));
                    self.chat.flush()?;
                    let limit = self.srv.sasl.response_limit;
                    let (line, _) = self.chat.read_command(limit)?;
                    let resp = String::from_utf8_lossy(&line.bytes).trim().to_string();
                    if resp == "*" {
                        msg_warn!("{}: SASL {mech} authentication aborted", self.peer.namaddr);
                        self.sasl.conn = None;
                        self.reply("501 5.7.0 Authentication aborted");
                        return Ok(Outcome::Continue);
                    }
                    let Some(conn) = self.sasl.conn.as_mut() else {
                        self.reply("454 4.7.0 Temporary authentication failure");
                        return Ok(Outcome::Continue);
                    };
                    step = conn.respond(id, &resp).map(|s| (id, s));
                }
            }
        }
    }

    /// Log and answer a failed AUTH as Postfix 3.7 does with Dovecot:
    /// `warning: host[addr]: SASL MECH authentication failed: REASON,
    /// sasl_username=USER` and `535 5.7.8 Error: authentication failed:
    /// REASON`; an empty reason reads `(reason unavailable)`, an empty
    /// user `(unavailable)`.
    fn sasl_failed(&mut self, mech: &str, reason: &str, user: &str) {
        let reason = if reason.is_empty() {
            "(reason unavailable)"
        } else {
            reason
        };
        let user = if user.is_empty() {
            "(unavailable)"
        } else {
            user
        };
        msg_warn!(
            "{}: SASL {mech} authentication failed: {reason}, sasl_username={user}",
            self.peer.namaddr
        );
        self.reply(&format!("535 5.7.8 Error: authentication failed: {reason}"));
    }

    /// The MAIL FROM `AUTH=` parameter (RFC 4954 5): remembered only
    /// for an authenticated client; `<>` means none. Returns an error
    /// reply for a bad xtext value.
    pub(crate) fn sasl_mail_param(&mut self, value: Option<&str>) -> Option<String> {
        self.sasl.sender = None;
        let value = value?;
        if !self.srv.sasl.enabled || self.sasl.username.is_none() {
            return None;
        }
        match crate::token::xtext_decode(value) {
            Some(v) if v == "<>" => None,
            Some(v) => {
                self.sasl.sender = Some(v);
                None
            }
            None => Some("501 5.5.4 Syntax: MAIL FROM:<address>".into()),
        }
    }

    /// `, sasl_method=M, sasl_username=U[, sasl_sender=S]` for the
    /// `client=` log line (empty when not authenticated).
    pub(crate) fn sasl_log(&self) -> String {
        let (Some(m), Some(u)) = (&self.sasl.method, &self.sasl.username) else {
            return String::new();
        };
        let mut s = format!(", sasl_method={m}, sasl_username={u}");
        if let Some(snd) = &self.sasl.sender {
            s.push_str(&format!(", sasl_sender={snd}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mech(name: &str, flags: &[&str]) -> Mech {
        Mech {
            name: name.into(),
            flags: flags.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn security_options_filter_mechanisms() {
        let plain = mech("PLAIN", &["plaintext"]);
        let anon = mech("ANONYMOUS", &["anonymous"]);
        let cram = mech("CRAM-MD5", &["dictionary", "active"]);
        let o = SecOpts::parse("x", "noanonymous");
        assert!(o.allows(&plain) && !o.allows(&anon) && o.allows(&cram));
        let o = SecOpts::parse("x", "noanonymous, noplaintext");
        assert!(!o.allows(&plain) && o.allows(&cram));
        let o = SecOpts::parse("x", "");
        assert!(o.allows(&anon));
        assert!(!o.allows(&mech("X", &["private"])));
    }
}
