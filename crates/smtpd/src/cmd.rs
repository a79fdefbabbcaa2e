//! NAME
//!   cmd - HELO, EHLO, MAIL, RCPT, RSET and VRFY
//!
//! DESCRIPTION
//!   The envelope commands, with Postfix's replies:
//!
//!   - HELO/EHLO (RFC 5321 4.1.1.1): `250 $myhostname`, or the EHLO
//!     keyword list PIPELINING SIZE VRFY ETRN ENHANCEDSTATUSCODES 8BITMIME
//!     DSN SMTPUTF8 CHUNKING less `smtpd_discard_ehlo_keywords`; both end
//!     a mail transaction.
//!   - MAIL FROM (RFC 5321, 1870 SIZE, 6152 BODY, 6531 SMTPUTF8, 3461
//!     RET/ENVID): `250 2.1.0 Ok`.
//!   - RCPT TO (RFC 3461 NOTIFY/ORCPT): restrictions, then `250 2.1.5 Ok`;
//!     the first accepted recipient opens the cleanup session and logs
//!     `ID: client=host[addr]`.
//!   - RSET, VRFY (`disable_vrfy_command`, `252 2.0.0 addr`); ETRN is
//!     in [`crate::etrn`].
//!   - MAIL also decides the header rewriting context of the message
//!     (`local_header_rewrite_clients`, [`crate::check::rewrite`]).
//!
//!   With `smtpd_delay_reject = no` the client, HELO and sender
//!   restrictions run at their own command; otherwise at RCPT.
use crate::check::{Decision, Effects, Stage};
use crate::cleanup::Recipient;
use crate::conn::Outcome;
use crate::session::{Session, Tx};
use crate::token::{self, PathError};
use util::{msg_info, msg_warn};

impl Session<'_, '_> {
    pub(crate) fn helo_cmd(&mut self, rest: &str, ehlo: bool) -> Outcome {
        let arg = rest.trim();
        if arg.is_empty() {
            self.reply(if ehlo {
                "501 Syntax: EHLO hostname"
            } else {
                "501 Syntax: HELO hostname"
            });
            return Outcome::Continue;
        }
        if let Some(r) = self.connect_reject.clone() {
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        self.abort_tx();
        let old = (self.helo.take(), self.esmtp);
        self.helo = Some(arg.to_string());
        self.esmtp = ehlo;
        if !self.srv.settings.delay_reject && !self.srv.checks.is_empty(Stage::Helo) {
            let f = self.facts(if ehlo { "EHLO" } else { "HELO" });
            let mut fx = Effects::default();
            let d = self.srv.checks.run(Stage::Helo, &f, &mut fx);
            self.log_effects(&fx, if ehlo { "EHLO" } else { "HELO" }, None);
            if let Decision::Reject(r) = d {
                self.log_reject(
                    "reject",
                    if ehlo { "EHLO" } else { "HELO" },
                    &r.reply(),
                    None,
                );
                (self.helo, self.esmtp) = old;
                self.reply(&r.reply());
                return Outcome::Continue;
            }
        }
        let host = self.srv.settings.myhostname.clone();
        if !ehlo {
            self.reply(&format!("250 {host}"));
            return Outcome::Continue;
        }
        let auth = self.sasl_ehlo_lines();
        let st = &self.srv.settings;
        let mut kws: Vec<String> = Vec::new();
        let mut add = |kw: &str, text: String| {
            if !st.discarded(kw) {
                kws.push(text);
            }
        };
        add("pipelining", "PIPELINING".into());
        add(
            "size",
            if st.message_size_limit > 0 {
                format!("SIZE {}", st.message_size_limit)
            } else {
                "SIZE".into()
            },
        );
        if !st.disable_vrfy {
            add("vrfy", "VRFY".into());
        }
        add("etrn", "ETRN".into());
        if self.srv.tls.offered() && self.chat.tls_info().is_none() {
            add("starttls", "STARTTLS".into());
        }
        for a in auth {
            add("auth", a);
        }
        add("enhancedstatuscodes", "ENHANCEDSTATUSCODES".into());
        add("8bitmime", "8BITMIME".into());
        add("dsn", "DSN".into());
        if st.smtputf8 {
            add("smtputf8", "SMTPUTF8".into());
        }
        add("chunking", "CHUNKING".into());
        let mut lines = vec![host];
        lines.extend(kws);
        let n = lines.len();
        for (i, l) in lines.into_iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            self.chat.reply(&format!("250{sep}{l}"));
        }
        self.last_code = 250;
        Outcome::Continue
    }

    /// Log Postfix's `warning: Illegal address syntax from host[addr] in
    /// CMD command: <addr>` for the address of `rest` after `kw`.
    fn illegal_address(&self, cmd: &str, rest: &str, kw: &str) {
        let arg = rest.trim_start().get(kw.len()..).unwrap_or("").trim_start();
        let end = match arg.starts_with('<').then(|| arg.find('>')).flatten() {
            Some(gt) => gt + arg[gt..].find([' ', '\t']).unwrap_or(arg.len() - gt),
            None => arg.find([' ', '\t']).unwrap_or(arg.len()),
        };
        msg_warn!(
            "Illegal address syntax from {} in {cmd} command: {}",
            self.peer.namaddr,
            crate::guard::printable(&arg[..end])
        );
    }

    fn need_helo(&mut self) -> bool {
        if self.srv.settings.helo_required && self.helo.is_none() {
            self.reply("503 5.5.1 Error: send HELO/EHLO first");
            return true;
        }
        false
    }

    /// A UTF-8 address without the SMTPUTF8 parameter is refused only
    /// with `smtputf8_enable` and `strict_smtputf8` both on; otherwise it
    /// is accepted as Postfix 3.7 does (checked against Debian's).
    fn non_ascii_needs_utf8(&mut self, addr: &str, utf8: bool) -> bool {
        let s = &self.srv.settings;
        if !addr.is_ascii() && !utf8 && s.smtputf8 && s.strict_smtputf8 {
            self.reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
            return true;
        }
        false
    }

    pub(crate) fn mail_cmd(&mut self, rest: &str) -> Outcome {
        if self.need_helo() {
            return Outcome::Continue;
        }
        if self.tx.as_ref().is_some_and(|t| t.bdat.is_some()) {
            self.reply("503 5.5.1 Error: MAIL after BDAT");
            return Outcome::Continue;
        }
        if self.tx.is_some() {
            self.reply("503 5.5.1 Error: nested MAIL command");
            return Outcome::Continue;
        }
        // Postfix decides the header rewriting context before it looks
        // at the address (local_header_rewrite_clients).
        let f = self.facts("MAIL");
        let rewrite_local = match self.srv.checks.rewrite_local(&f, self.srv.stand_alone) {
            Ok(local) => local,
            Err(r) => {
                self.log_reject("reject", "MAIL", &r.reply(), None);
                self.reply(&r.reply());
                return Outcome::Continue;
            }
        };
        if self.anvil_mail_refused(rest) {
            return Outcome::Continue;
        }
        let path = match token::parse_path(rest, "FROM:", self.srv.settings.strict_rfc821) {
            Ok(p) => p,
            Err(PathError::Syntax) => {
                self.reply("501 5.5.4 Syntax: MAIL FROM:<address>");
                return Outcome::Continue;
            }
            Err(_) => {
                self.illegal_address("MAIL", rest, "FROM:");
                self.reply("501 5.1.7 Bad sender address syntax");
                return Outcome::Continue;
            }
        };
        let mut tx = Tx {
            sender: path.addr.clone(),
            rewrite_local,
            ..Tx::default()
        };
        let st = &self.srv.settings;
        let mut auth_param = None;
        for (k, v) in &path.params {
            let v = v.as_deref();
            let bad = match (k.to_ascii_uppercase().as_str(), v) {
                ("SIZE", Some(n)) => match n.parse::<u64>() {
                    Ok(n) => {
                        tx.size = n;
                        None
                    }
                    Err(_) => Some("501 5.5.4 Bad message size syntax".to_string()),
                },
                ("BODY", Some(b))
                    if b.eq_ignore_ascii_case("8BITMIME") && !st.discarded("8bitmime") =>
                {
                    tx.body_8bit = true;
                    None
                }
                ("BODY", Some(b)) if b.eq_ignore_ascii_case("7BIT") => None,
                ("SMTPUTF8", None) if st.smtputf8 && !st.discarded("smtputf8") => {
                    tx.smtputf8 = true;
                    None
                }
                ("RET" | "ENVID", _) if st.discarded("dsn") => {
                    Some("501 5.7.1 DSN support is disabled".into())
                }
                ("RET", Some(r))
                    if r.eq_ignore_ascii_case("FULL") || r.eq_ignore_ascii_case("HDRS") =>
                {
                    if tx.ret.is_some() {
                        Some("501 5.5.4 Bad RET parameter syntax".into())
                    } else {
                        tx.ret = Some(r.to_ascii_lowercase());
                        None
                    }
                }
                ("RET", _) => Some("501 5.5.4 Bad RET parameter syntax".into()),
                ("ENVID", Some(e)) => match token::xtext_decode(e) {
                    Some(d) if tx.envid.is_none() && !d.is_empty() && e.len() <= 100 => {
                        tx.envid = Some(d);
                        None
                    }
                    _ => Some("501 5.5.4 Bad ENVID parameter syntax".into()),
                },
                ("AUTH", Some(a)) => {
                    auth_param = Some(a.to_string());
                    None
                }
                ("AUTH", None) => Some(unsupported(k, v)),
                _ => Some(unsupported(k, v)),
            };
            if let Some(r) = bad {
                self.reply(&r);
                return Outcome::Continue;
            }
        }
        let limit = st.message_size_limit;
        if let Some(r) = self.sasl_mail_param(auth_param.as_deref()) {
            self.reply(&r);
            return Outcome::Continue;
        }
        if self.non_ascii_needs_utf8(&tx.sender, tx.smtputf8) {
            return Outcome::Continue;
        }
        if limit > 0 && tx.size > limit {
            let r = "552 5.3.4 Message size exceeds fixed limit";
            self.log_mail_reject(&tx.sender, r);
            self.reply(r);
            return Outcome::Continue;
        }
        if let Some(r) = self.connect_reject.clone() {
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        self.srv.checks.policy.new_instance();
        self.tx = Some(tx);
        if !self.srv.settings.delay_reject {
            let f = self.facts("MAIL");
            let mut fx = Effects::default();
            for stage in [Stage::Helo, Stage::Sender] {
                if let Decision::Reject(r) = self.srv.checks.run(stage, &f, &mut fx) {
                    self.log_effects(&fx, "MAIL", None);
                    self.log_reject("reject", "MAIL", &r.reply(), None);
                    self.abort_tx();
                    self.reply(&r.reply());
                    return Outcome::Continue;
                }
            }
            self.log_effects(&fx, "MAIL", None);
            if let Some(tx) = self.tx.as_mut() {
                merge(&mut tx.fx, fx);
            }
        }
        self.reply("250 2.1.0 Ok");
        Outcome::Continue
    }

    pub(crate) fn rcpt_cmd(&mut self, rest: &str) -> Outcome {
        if self.need_helo() {
            return Outcome::Continue;
        }
        let Some(tx) = self.tx.as_ref() else {
            self.reply("503 5.5.1 Error: need MAIL command");
            return Outcome::Continue;
        };
        if tx.bdat.is_some() {
            self.reply("503 5.5.1 Error: RCPT after BDAT");
            return Outcome::Continue;
        }
        let utf8 = tx.smtputf8;
        if self.anvil_rcpt_refused(rest) {
            return Outcome::Continue;
        }
        let path = match token::parse_path(rest, "TO:", self.srv.settings.strict_rfc821) {
            Ok(p) if !p.addr.is_empty() => p,
            Err(PathError::Syntax) => {
                self.reply("501 5.5.4 Syntax: RCPT TO:<address>");
                return Outcome::Continue;
            }
            _ => {
                self.illegal_address("RCPT", rest, "TO:");
                self.reply("501 5.1.3 Bad recipient address syntax");
                return Outcome::Continue;
            }
        };
        let mut rcpt = Recipient::new(&path.addr);
        let dsn_off = self.srv.settings.discarded("dsn");
        for (k, v) in &path.params {
            let bad = match (k.to_ascii_uppercase().as_str(), v.as_deref()) {
                ("NOTIFY" | "ORCPT", _) if dsn_off => {
                    Some("501 5.7.1 DSN support is disabled".to_string())
                }
                ("NOTIFY", Some(n)) => match queue::envelope::DsnNotify::parse(n) {
                    Some(m) if rcpt.notify == 0 && m.0 != 0 => {
                        rcpt.notify = m.0;
                        None
                    }
                    _ => Some("501 5.5.4 Error: Bad NOTIFY parameter syntax".into()),
                },
                ("ORCPT", Some(o)) => match o
                    .split_once(';')
                    .and_then(|(t, a)| Some((t, token::xtext_decode(a)?)))
                {
                    Some((t, a)) if rcpt.orcpt.is_none() && !t.is_empty() && !a.is_empty() => {
                        rcpt.orcpt = Some(format!("{t};{a}"));
                        None
                    }
                    _ => Some("501 5.5.4 Error: Bad ORCPT parameter syntax".into()),
                },
                _ => Some(unsupported(k, v.as_deref())),
            };
            if let Some(r) = bad {
                self.reply(&r);
                return Outcome::Continue;
            }
        }
        if self.non_ascii_needs_utf8(&rcpt.address, utf8) {
            return Outcome::Continue;
        }
        let st = &self.srv.settings;
        let count = self.tx.as_ref().map_or(0, |t| t.rcpts.len());
        if count >= st.recipient_limit {
            let over_limit = st.recipient_overshoot_limit;
            // Postfix counts these as errors only past the overshoot
            // limit (smtpd_recipient_overshoot_limit), and logs none.
            if let Some(tx) = self.tx.as_mut() {
                tx.rcpt_overshoot += 1;
                self.not_an_error = tx.rcpt_overshoot <= over_limit;
            }
            self.reply("452 4.5.3 Error: too many recipients");
            return Outcome::Continue;
        }
        if let Some(r) = self.connect_reject.clone() {
            self.log_reject("reject", "RCPT", &r.reply(), Some(&rcpt.address));
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        let mut f = self.facts("RCPT");
        f.recipient = Some(rcpt.address.clone());
        let mut fx = Effects::default();
        let d = self.srv.checks.rcpt(&f, &mut fx);
        self.log_effects(&fx, "RCPT", Some(&rcpt.address));
        if let Decision::Reject(r) = d {
            self.log_reject("reject", "RCPT", &r.reply(), Some(&rcpt.address));
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        if !self.open_cleanup() {
            return Outcome::Continue;
        }
        if let Some(tx) = self.tx.as_mut() {
            merge(&mut tx.fx, fx);
            tx.rcpts.push(rcpt);
        }
        self.reply("250 2.1.5 Ok");
        Outcome::Continue
    }

    /// Open the cleanup session for the current transaction if not yet
    /// open; on failure reply 451 and return false.
    pub(crate) fn open_cleanup(&mut self) -> bool {
        let sasl = self.sasl_log();
        let Some(tx) = self.tx.as_mut() else {
            return false;
        };
        if tx.cleanup.is_some() {
            return true;
        }
        match self.srv.cleanup.open() {
            Ok(c) => {
                let id = c.queue_id().to_string();
                msg_info!("{id}: client={}{}", self.peer.namaddr, sasl);
                tx.queue_id = Some(id);
                tx.cleanup = Some(c);
                true
            }
            Err(e) => {
                msg_warn!("{e}");
                self.reply("451 4.3.0 Error: queue file write error");
                false
            }
        }
    }

    pub(crate) fn rset_cmd(&mut self, rest: &str) -> Outcome {
        if !rest.trim().is_empty() {
            self.reply("501 5.5.4 Syntax: RSET");
            return Outcome::Continue;
        }
        self.abort_tx();
        self.reply("250 2.0.0 Ok");
        Outcome::Continue
    }

    pub(crate) fn vrfy_cmd(&mut self, rest: &str) -> Outcome {
        if self.srv.settings.disable_vrfy {
            self.reply("502 5.5.1 VRFY command is disabled");
            return Outcome::Continue;
        }
        if self.need_helo() {
            return Outcome::Continue;
        }
        let arg = rest.trim();
        if arg.is_empty() {
            let tail = if self.srv.settings.smtputf8 {
                " [SMTPUTF8]"
            } else {
                ""
            };
            self.reply(&format!("501 5.5.4 Syntax: VRFY address{tail}"));
            return Outcome::Continue;
        }
        let addr = arg
            .split([' ', '\t'])
            .next()
            .unwrap_or("")
            .trim_start_matches('<')
            .trim_end_matches('>');
        if addr.is_empty() || addr.chars().any(char::is_control) {
            self.reply("501 5.1.3 Bad recipient address syntax");
            return Outcome::Continue;
        }
        if let Decision::Reject(r) = self.srv.checks.unlisted_recipient(addr) {
            self.log_reject("reject", "VRFY", &r.reply(), Some(addr));
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        self.reply(&format!("252 2.0.0 {arg}"));
        Outcome::Continue
    }
}

/// `555 5.5.4 Unsupported option: NAME[=VALUE]`, as the client sent it.
fn unsupported(k: &str, v: Option<&str>) -> String {
    match v {
        Some(v) => format!("555 5.5.4 Unsupported option: {k}={v}"),
        None => format!("555 5.5.4 Unsupported option: {k}"),
    }
}

/// Add `more` side effects to `into`.
pub(crate) fn merge(into: &mut Effects, more: Effects) {
    into.prepend.extend(more.prepend);
    into.actions.extend(more.actions);
}
