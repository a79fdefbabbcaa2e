//! NAME
//!   starttls - smtpd's TLS policy: STARTTLS, wrapper mode, client certificates
//!
//! DESCRIPTION
//!   [`TlsPolicy::from_config`] runs once per process before chroot and
//!   the privilege drop (the private keys may be readable by root only).
//!   It settles:
//!
//!   - the level: `smtpd_tls_security_level` (none, may, encrypt) when
//!     set; otherwise the legacy `smtpd_enforce_tls` (encrypt) and
//!     `smtpd_use_tls` (may);
//!   - `smtpd_tls_wrappermode` (RFC 8314, port 465): TLS from the first
//!     byte; this alone starts the engine (TLS_CHANGES 2000/12/23);
//!   - `smtpd_tls_ask_ccert`, and `smtpd_tls_req_ccert`, which is only
//!     enforced when TLS is required (level encrypt or wrapper mode);
//!     otherwise smtpd logs `Can't require client certs unless TLS is
//!     required` and only asks (TLS_CHANGES 2000/11/24);
//!   - the engine: [`tls::ServerContext::init`]. When it fails (say an
//!     unreadable key) the reason is logged with the file name and
//!     STARTTLS is answered `454 4.7.0 TLS not available due to local
//!     problem`; the session goes on in clear text (TLS_CHANGES
//!     2000/09/03).
//!
//!   No TLS at all in stand-alone mode (`smtpd -S`, `sendmail -bs`) or
//!   when the process was not started by root or the mail owner: the key
//!   is not read and nothing is logged, as Postfix.
//!
//! SEE ALSO
//!   smtpd(8), postconf(5), RFC 3207, RFC 8314.
use crate::chat::ChatError;
use crate::conn::Outcome;
use crate::session::Session;
use global::Config;
use std::sync::Arc;
use std::time::Duration;
use tls::SecurityLevel;
use util::{msg_info, msg_warn};

/// The TLS side of one smtpd process.
#[derive(Debug, Default)]
pub struct TlsPolicy {
    /// none, may or encrypt (`None` also when TLS is off in this process).
    pub level: Option<SecurityLevel>,
    /// `smtpd_tls_wrappermode`.
    pub wrapper: bool,
    /// A client certificate is requested.
    pub ask_ccert: bool,
    /// A trusted client certificate is required (only with TLS required).
    pub req_ccert: bool,
    /// `smtpd_starttls_timeout`.
    pub starttls_timeout: Duration,
    /// `smtpd_tls_received_header`.
    pub received_header: bool,
    /// The engine; `None` when TLS is off or the engine failed to start.
    pub ctx: Option<Arc<tls::ServerContext>>,
}

/// Whether this process may use TLS: not stand-alone, and started by
/// root or by `mail_owner` (Postfix reads no key otherwise).
pub fn allowed(cfg: &Config, stand_alone: bool) -> bool {
    if stand_alone {
        return false;
    }
    let uid = nix::unistd::getuid();
    if uid.is_root() {
        return true;
    }
    let owner = cfg.get("mail_owner").unwrap_or_default();
    matches!(nix::unistd::User::from_name(&owner), Ok(Some(u)) if u.uid == uid)
}

impl TlsPolicy {
    /// Read the TLS parameters and start the engine. `allowed` is
    /// [`allowed`]'s answer. Errors: a bad parameter value (the caller
    /// makes it fatal).
    pub fn from_config(cfg: &Config, allowed: bool) -> Result<TlsPolicy, String> {
        if !allowed {
            return Ok(TlsPolicy::default());
        }
        let e = |x: global::ConfigError| x.to_string();
        let spec = cfg.get("smtpd_tls_security_level").map_err(e)?;
        let level = if !spec.trim().is_empty() {
            match SecurityLevel::parse(&spec)? {
                l @ (SecurityLevel::None | SecurityLevel::May | SecurityLevel::Encrypt) => l,
                other => {
                    msg_warn!(
                        "invalid smtpd_tls_security_level value \"{}\": using \"encrypt\"",
                        other.name()
                    );
                    SecurityLevel::Encrypt
                }
            }
        } else if cfg.get_bool("smtpd_enforce_tls").map_err(e)? {
            SecurityLevel::Encrypt
        } else if cfg.get_bool("smtpd_use_tls").map_err(e)? {
            SecurityLevel::May
        } else {
            SecurityLevel::None
        };
        let wrapper = cfg.get_bool("smtpd_tls_wrappermode").map_err(e)?;
        let mut p = TlsPolicy {
            level: Some(level),
            wrapper,
            starttls_timeout: Duration::from_secs(
                cfg.get_time("smtpd_starttls_timeout").map_err(e)?.max(1),
            ),
            received_header: cfg.get_bool("smtpd_tls_received_header").map_err(e)?,
            ..TlsPolicy::default()
        };
        if level == SecurityLevel::None && !wrapper {
            return Ok(p);
        }
        let required = wrapper || level == SecurityLevel::Encrypt;
        let ask = cfg.get_bool("smtpd_tls_ask_ccert").map_err(e)?;
        let req = cfg.get_bool("smtpd_tls_req_ccert").map_err(e)?;
        if req && !required {
            msg_warn!("Can't require client certs unless TLS is required");
        }
        p.req_ccert = req && required;
        p.ask_ccert = ask || req;
        let mut params =
            tls::TlsServerParams::from_config(cfg, "smtpd", required).map_err(|x| x.to_string())?;
        params.ask_ccert = p.ask_ccert;
        match tls::ServerContext::init(&params) {
            Ok(ctx) => p.ctx = Some(Arc::new(ctx)),
            Err(x) => msg_warn!("{x}: disabling TLS support"),
        }
        Ok(p)
    }

    /// Whether STARTTLS is offered and accepted (level may or encrypt).
    pub fn offered(&self) -> bool {
        matches!(
            self.level,
            Some(SecurityLevel::May) | Some(SecurityLevel::Encrypt)
        )
    }

    /// Whether commands other than HELO, EHLO, STARTTLS, NOOP and QUIT
    /// need TLS first (`530 5.7.0 Must issue a STARTTLS command first`).
    pub fn enforced(&self) -> bool {
        self.level == Some(SecurityLevel::Encrypt)
    }
}

impl Session<'_, '_> {
    /// STARTTLS (RFC 3207): `501 5.5.4 Syntax: STARTTLS` with an
    /// argument, `554 5.5.1 Error: TLS already active`, `502 5.5.1 Error:
    /// command not implemented` when TLS is off (or the keyword is
    /// discarded), `454 4.7.0 TLS not available due to local problem`
    /// when the engine could not start, else `220 2.0.0 Ready to start
    /// TLS` and [`Outcome::UpgradeTls`].
    pub(crate) fn starttls_cmd(&mut self, rest: &str) -> Outcome {
        let text = if !rest.trim().is_empty() {
            "501 5.5.4 Syntax: STARTTLS"
        } else if self.chat.tls_info().is_some() {
            "554 5.5.1 Error: TLS already active"
        } else if !self.srv.tls.offered() || self.srv.settings.discarded("starttls") {
            "502 5.5.1 Error: command not implemented"
        } else if self.srv.tls.ctx.is_none() {
            "454 4.7.0 TLS not available due to local problem"
        } else if self.anvil_starttls_refused() {
            return Outcome::Continue;
        } else {
            self.reply("220 2.0.0 Ready to start TLS");
            return Outcome::UpgradeTls;
        };
        self.reply(text);
        Outcome::Continue
    }

    /// Start TLS on the connection: after STARTTLS (the `220` reply is
    /// flushed first, then every byte the client sent behind STARTTLS
    /// is discarded: CVE-2011-0411) or before the greeting in wrapper
    /// mode. Returns `Continue` once TLS is on; `Close` after `421 4.7.1
    /// ... Error: No client certificate presented` (or `Client
    /// certificate not trusted`) when `smtpd_tls_req_ccert` applies.
    /// Errors: the handshake failed (logged by the engine); the caller
    /// logs `lost connection after CMD`.
    pub(crate) fn start_tls(&mut self) -> Result<Outcome, ChatError> {
        let Some(ctx) = self.srv.tls.ctx.clone() else {
            return Err(ChatError::Eof);
        };
        self.chat.flush()?;
        self.chat.discard_input();
        let props = tls::ServerStartProps {
            namaddr: &self.peer.namaddr,
            timeout: self.srv.tls.starttls_timeout,
        };
        let io = Some(self.srv.settings.timeout);
        if self.chat.transport().start_tls(&ctx, &props, io).is_err() {
            return Err(ChatError::Eof);
        }
        if self.anvil_newtls_exceeded() {
            return Ok(Outcome::Close);
        }
        let (present, trusted) = self
            .chat
            .tls_info()
            .map_or((false, false), |i| (i.peer_cert_present, i.peer_trusted));
        if self.srv.tls.req_ccert && !trusted {
            let why = if present {
                "Client certificate not trusted"
            } else {
                "No client certificate presented"
            };
            msg_info!("NOQUEUE: abort: TLS from {}: {why}", self.peer.namaddr);
            let r = format!("421 4.7.1 {} Error: {why}", self.srv.settings.myhostname);
            self.reply(&r);
            self.errors += 1;
            return Ok(Outcome::Close);
        }
        Ok(Outcome::Continue)
    }

    /// After STARTTLS: the handshake, then forget HELO/EHLO and the
    /// transaction (RFC 3207 section 4.2).
    pub(crate) fn upgrade(&mut self) -> Result<Outcome, ChatError> {
        let r = self.start_tls();
        if !matches!(r, Ok(Outcome::Continue)) {
            // The command failed after all: `starttls=0/1` as Postfix.
            if let Some(c) = self.counts.iter_mut().find(|c| c.0 == "starttls") {
                c.1 = c.1.saturating_sub(1);
            }
        }
        self.helo = None;
        self.esmtp = false;
        self.abort_tx();
        r
    }
}

/// The TLS comment lines of the `Received:` header (without the leading
/// tab): `(using ... )` and the client-certificate comment. As Postfix,
/// the client signature (when the client presented a certificate) goes
/// on its own continuation line after the server's.
pub fn received_lines(info: &tls::TlsInfo, requested: bool) -> Vec<String> {
    let using = tls::log::received_using(info);
    let using = match using.find(" client-signature ") {
        Some(i) if !using[..i].ends_with('\t') => {
            format!("{}\n\t{}", &using[..i], &using[i..])
        }
        _ => using,
    };
    vec![using, tls::log::received_client_cert(info, requested)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_text(std::path::Path::new("/nonexistent"), text).unwrap()
    }

    #[test]
    fn client_signature_gets_its_own_line() {
        let info = tls::TlsInfo {
            protocol: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_usebits: 256,
            cipher_algbits: 256,
            kex: Some("X25519".into()),
            server_signature: Some("RSA-PSS (2048 bits)".into()),
            server_digest: Some("SHA256".into()),
            client_signature: Some("RSA-PSS (2048 bits)".into()),
            client_digest: Some("SHA256".into()),
            ..Default::default()
        };
        let l = received_lines(&info, false);
        assert_eq!(
            l[0],
            "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\
             \t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n\
             \t client-signature RSA-PSS (2048 bits) client-digest SHA256)"
        );
        assert_eq!(l[1], "(No client certificate requested)");
    }

    #[test]
    fn legacy_parameters_and_the_level() {
        let p = TlsPolicy::from_config(&cfg("smtpd_use_tls = yes\n"), false).unwrap();
        assert_eq!(p.level, None, "not allowed: TLS off");
        let p = TlsPolicy::from_config(&cfg(""), true).unwrap();
        assert_eq!(p.level, Some(SecurityLevel::None));
        assert!(p.ctx.is_none());
    }
}
