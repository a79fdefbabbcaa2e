//! NAME
//!   data - DATA and BDAT: message content to cleanup
//!
//! DESCRIPTION
//!   DATA (RFC 5321 4.1.1.4): after `354 End data with <CR><LF>.<CR><LF>`
//!   lines are read up to the end-of-data line, dot-unstuffed, converted
//!   from CR LF to LF, and streamed to cleanup behind smtpd's own headers
//!   (PREPEND results, then Received:). Only `<CR><LF>.<CR><LF>` ends the
//!   data: a `.` line after or before a bare LF (`<LF>.<LF>`,
//!   `<LF>.<CR><LF>`, `<CR><LF>.<LF>`) is content, so a message cannot
//!   smuggle a second one past a relay that reads line ends differently
//!   (stand-alone `sendmail -bs` on a terminal is the exception: there
//!   any line end counts). With `smtpd_forbid_bare_newline = reject`, a
//!   message with a bare LF is refused with `550 5.5.2 host Error: bare
//!   <LF> received` (logged `ID: reject: END-OF-MESSAGE from
//!   host[addr]: bare <LF> received; from=<..> to=<first recipient>
//!   ...`); the session goes on.
//!
//!   DATA or BDAT before MAIL is answered `503 5.5.1 Error: need RCPT
//!   command`, inside a transaction without an accepted recipient `554
//!   5.5.1 Error: no valid recipients` (Postfix 3.7's replies).
//!
//!   BDAT (RFC 3030): `BDAT size [LAST]` chunks are read raw (no dot
//!   stuffing), with CR LF converted to LF; each non-last chunk is
//!   answered `250 2.0.0 Ok: N bytes`, the last one `250 2.0.0 Ok: N
//!   bytes queued as ID`. Malformed BDAT cannot be skipped, so it is
//!   answered `521 5.5.4 Syntax: BDAT count [LAST]` and the session
//!   ends. After an error the rest of the chunks are read and refused
//!   with `551 5.0.0 Discarded N bytes after earlier error`.
//!
//!   The envelope carries the access(5) HOLD flag, the last FILTER
//!   (else this server's `content_filter`) and the last REDIRECT to
//!   cleanup, which records them for qmgr.
//!
//!   At the end: `smtpd_end_of_data_restrictions`, a DISCARD action, or
//!   cleanup's verdict; `250 2.0.0 Ok: queued as ID` only when cleanup
//!   answered status 0 (the file is on disk). Content beyond
//!   `message_size_limit` is read and dropped, and answered `552 5.3.4
//!   Error: message file too big` (DATA; log `warning: ID: queue file
//!   size limit exceeded`) or `552 5.3.4 Chunk exceeds message size
//!   limit` (BDAT; log `warning: ID: BDAT request from host[addr]
//!   exceeds message size limit`). Restriction rejects are logged as
//!   `ID: reject: DATA|BDAT|END-OF-MESSAGE from host[addr]: reply;
//!   from=<..> [to=<..>] proto=.. helo=<..>`, with `to=` only for a
//!   single recipient. A refusal by cleanup (header/body_checks, hop
//!   count, size) is logged by cleanup, not here, and its reason is
//!   the reply (see [`cleanup_reply`]).
use crate::chat::ChatError;
use crate::check::{Decision, Effects, Stage};
use crate::conn::Outcome;
use crate::received::{received_header, ReceivedInfo};
use crate::session::{Bdat, Session};
use crate::settings::BareNewline;
use util::msg_warn;

/// The DATA reply for content past `message_size_limit` (Postfix 3.7).
const TOO_BIG: &str = "552 5.3.4 Error: message file too big";
/// The BDAT reply for a chunk that takes the message past the limit.
const CHUNK_TOO_BIG: &str = "552 5.3.4 Chunk exceeds message size limit";

/// Content conversion state shared by DATA and BDAT.
#[derive(Debug, Default)]
pub struct Content {
    /// Bytes of content (LF line ends) seen so far.
    pub size: u64,
    /// A CR ended the previous BDAT piece (maybe half of CR LF).
    pending_cr: bool,
    /// A bare LF was seen.
    pub bare_lf: bool,
    /// The size limit was exceeded.
    pub too_big: bool,
    /// A write to cleanup failed.
    pub write_error: bool,
}

impl Session<'_, '_> {
    /// Check that a message may start: returns the refusal reply.
    fn data_precheck(&mut self, cmd: &str) -> Option<String> {
        // Postfix asks for RCPT before a transaction, and calls a
        // transaction without accepted recipients "no valid recipients".
        let Some(tx) = self.tx.as_ref() else {
            return Some("503 5.5.1 Error: need RCPT command".into());
        };
        if cmd == "DATA" && tx.bdat.is_some() {
            return Some("503 5.5.1 Error: DATA after BDAT".into());
        }
        if tx.rcpts.is_empty() {
            return Some("554 5.5.1 Error: no valid recipients".into());
        }
        let f = self.facts(cmd);
        let mut fx = Effects::default();
        let d = self.srv.checks.run(Stage::Data, &f, &mut fx);
        let single = self.single_rcpt();
        self.log_effects(&fx, cmd, single.as_deref());
        if let Decision::Reject(r) = d {
            self.log_reject("reject", cmd, &r.reply(), single.as_deref());
            return Some(r.reply());
        }
        if let Some(tx) = self.tx.as_mut() {
            crate::cmd::merge(&mut tx.fx, fx);
        }
        self.start_message().err()
    }

    /// Send the envelope and smtpd's own headers to cleanup.
    fn start_message(&mut self) -> Result<(), String> {
        let protocol = self.received_protocol();
        let protocol_name = self.protocol();
        let date = self.srv.clock.now();
        let auth_line = match (&self.sasl.username, self.srv.sasl.auth_header) {
            (Some(u), true) => Some(format!("(Authenticated sender: {u})")),
            _ => None,
        };
        let st = &self.srv.settings;
        let Some(tx) = self.tx.as_mut() else {
            return Err("503 5.5.1 Error: need MAIL command".into());
        };
        let queue_id = tx.queue_id.clone().unwrap_or_default();
        let single =
            (tx.rcpts.len() == 1).then(|| crate::token::external_form(&tx.rcpts[0].address));
        let mut head = String::new();
        for p in &tx.fx.prepend {
            head.push_str(p);
            head.push('\n');
        }
        head.push_str(&received_header(&ReceivedInfo {
            helo: self.helo.as_deref(),
            name: &self.peer.name,
            rfc_addr: &self.peer.rfc_addr,
            myhostname: &st.myhostname,
            mail_name: &st.mail_name,
            protocol: &protocol,
            queue_id: &queue_id,
            single_rcpt: single.as_deref(),
            tls: match (self.srv.tls.received_header, self.chat.tls_info()) {
                (true, Some(i)) => crate::starttls::received_lines(i, self.srv.tls.ask_ccert),
                _ => Vec::new(),
            }
            .into_iter()
            .chain(auth_line)
            .collect(),
            date: &date,
        }));
        let hold = tx.fx.actions.iter().any(|a| a.0 == "HOLD");
        let last = |kind: &str| {
            tx.fx
                .actions
                .iter()
                .rev()
                .find(|a| a.0 == kind)
                .map(|a| a.1.clone())
        };
        // The last FILTER wins over `content_filter`; a stand-alone
        // server (sendmail -bs) leaves `content_filter` to cleanup, as
        // Postfix's leaves it to pickup.
        let filter =
            last("FILTER").or_else(|| (!self.srv.stand_alone).then(|| st.content_filter.clone()));
        let redirect = last("REDIRECT");
        let env = crate::cleanup::Envelope {
            flags: if hold {
                global::cleanup_client::FLAG_HOLD
            } else {
                0
            },
            sender: tx.sender.clone(),
            recipients: tx.rcpts.clone(),
            envid: tx.envid.clone(),
            ret: tx.ret.clone(),
            log_client: Some(self.peer.namaddr.clone()),
            client_name: Some(self.peer.name.clone()),
            client_address: Some(self.peer.addr.clone()),
            client_port: Some(self.peer.port.clone()),
            helo_name: self.helo.clone(),
            protocol_name: Some(protocol_name),
            rewrite_context: if tx.rewrite_local { "local" } else { "remote" }.into(),
            encoding: Some(if tx.body_8bit { "8bit" } else { "7bit" }.into()),
            smtputf8: tx.smtputf8,
            filter,
            redirect,
            ..crate::cleanup::Envelope::default()
        };
        let Some(c) = tx.cleanup.as_mut() else {
            return Err("451 4.3.0 Error: queue file write error".into());
        };
        let r = c.envelope(&env).and_then(|()| c.write(head.as_bytes()));
        if let Err(e) = r {
            msg_warn!("{queue_id}: {e}");
            return Err("451 4.3.0 Error: queue file write error".into());
        }
        Ok(())
    }

    /// The protocol name for Received: (UTF8SMTP forms when SMTPUTF8).
    fn received_protocol(&self) -> String {
        let p = self.protocol();
        if self.tx.as_ref().is_some_and(|t| t.smtputf8) {
            format!("UTF8{}", p.trim_start_matches('E'))
        } else {
            p
        }
    }

    /// Pass content to cleanup unless over the limit or failed.
    fn emit(&mut self, content: &mut Content, bytes: &[u8]) {
        content.size += bytes.len() as u64;
        let limit = self.srv.settings.message_size_limit;
        if limit > 0 && content.size > limit {
            content.too_big = true;
        }
        if content.too_big || content.write_error {
            return;
        }
        if let Some(c) = self.tx.as_mut().and_then(|t| t.cleanup.as_mut()) {
            if let Err(e) = c.write(bytes) {
                msg_warn!("write to cleanup: {e}");
                content.write_error = true;
            }
        }
    }

    pub(crate) fn data_cmd(&mut self, rest: &str) -> Result<Outcome, ChatError> {
        if !rest.trim().is_empty() {
            self.reply("501 5.5.4 Syntax: DATA");
            return Ok(Outcome::Continue);
        }
        if let Some(r) = self.data_precheck("DATA") {
            self.reply(&r);
            return Ok(Outcome::Continue);
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>");
        self.data_bytes = Some(0);
        let mut content = Content::default();
        let limit = self.srv.settings.line_limit;
        let loose = self.srv.stand_alone;
        let mut line_start = true;
        let mut prev_crlf = true;
        loop {
            let line = self.chat.read_line(limit)?;
            let ending = if !line.eol {
                0
            } else if line.crlf {
                2
            } else {
                1
            };
            let seen = self.data_bytes.unwrap_or(0) + line.bytes.len() as u64 + ending;
            self.data_bytes = Some(seen);
            if line_start && line.eol && line.bytes == b"." && ((line.crlf && prev_crlf) || loose) {
                break;
            }
            let bare = line.eol && !line.crlf;
            if bare {
                content.bare_lf = true;
            }
            let mut bytes: &[u8] = &line.bytes;
            if line_start && bytes.first() == Some(&b'.') {
                bytes = &bytes[1..];
            }
            let mut out = bytes.to_vec();
            if line.eol {
                out.push(b'\n');
            }
            self.emit(&mut content, &out);
            if line.eol {
                prev_crlf = line.crlf;
            }
            line_start = line.eol;
        }
        self.data_bytes = None;
        self.last = "END-OF-MESSAGE".into();
        self.finish_message(content, None);
        Ok(Outcome::Continue)
    }

    /// End of message: restrictions, discard, cleanup's verdict, reply.
    /// `bdat_total`: the BDAT byte count for the reply.
    fn finish_message(&mut self, content: Content, bdat_total: Option<u64>) {
        let st = &self.srv.settings;
        let id = self.tx.as_ref().and_then(|t| t.queue_id.clone());
        let id = id.unwrap_or_else(|| "NOQUEUE".into());
        let refusal = if content.bare_lf && self.bare_lf == BareNewline::Reject {
            // Logged with the first recipient, as Postfix does.
            let first = self
                .tx
                .as_ref()
                .and_then(|t| t.rcpts.first())
                .map(|r| r.address.clone());
            self.log_reject(
                "reject",
                "END-OF-MESSAGE",
                "bare <LF> received",
                first.as_deref(),
            );
            Some(format!(
                "{} 5.5.2 {} Error: bare <LF> received",
                st.bare_newline_code, st.myhostname
            ))
        } else if content.too_big {
            msg_warn!("{id}: queue file size limit exceeded");
            Some(TOO_BIG.to_string())
        } else if content.write_error {
            Some("451 4.3.0 Error: queue file write error".to_string())
        } else {
            None
        };
        let refusal = refusal.or_else(|| {
            let mut f = self.facts("END-OF-MESSAGE");
            f.size = content.size;
            let mut fx = Effects::default();
            let d = self.srv.checks.run(Stage::EndOfData, &f, &mut fx);
            let single = self.single_rcpt();
            self.log_effects(&fx, "END-OF-MESSAGE", single.as_deref());
            match d {
                Decision::Reject(r) => {
                    let r = r.reply();
                    self.log_reject("reject", "END-OF-MESSAGE", &r, single.as_deref());
                    Some(r)
                }
                _ => None,
            }
        });
        if let Some(r) = refusal {
            self.reply(&r);
            self.abort_tx();
            return;
        }
        let Some(mut tx) = self.tx.take() else { return };
        let id = tx.queue_id.clone().unwrap_or_default();
        let queued = |n: Option<u64>| match n {
            Some(n) => format!("250 2.0.0 Ok: {n} bytes queued as {id}"),
            None => format!("250 2.0.0 Ok: queued as {id}"),
        };
        if tx.fx.actions.iter().any(|a| a.0 == "DISCARD") {
            // Dropping the unfinished cleanup session removes the file.
            tx.cleanup = None;
            self.reply(&queued(bdat_total));
            return;
        }
        let Some(c) = tx.cleanup.take() else {
            self.reply("451 4.3.0 Error: queue file write error");
            return;
        };
        match c.finish() {
            Ok(v) if v.status == 0 => self.reply(&queued(bdat_total)),
            Ok(v) => {
                // cleanup logs its own refusals; Postfix's smtpd adds none.
                self.reply(&cleanup_reply(v.status, &v.reason));
            }
            Err(e) => {
                msg_warn!("{id}: {e}");
                self.reply("451 4.3.0 Error: queue file write error");
            }
        }
    }

    pub(crate) fn bdat_cmd(&mut self, rest: &str) -> Result<Outcome, ChatError> {
        let mut words = rest.split_whitespace();
        let count = words.next().and_then(|c| {
            c.parse::<u64>()
                .ok()
                .filter(|_| c.bytes().all(|b| b.is_ascii_digit()))
        });
        let last = match words.next() {
            None => Some(false),
            Some(w) if w.eq_ignore_ascii_case("LAST") => Some(true),
            Some(_) => None,
        };
        let (Some(count), Some(last), None) = (count, last, words.next()) else {
            self.reply("521 5.5.4 Syntax: BDAT count [LAST]");
            return Ok(Outcome::Close);
        };
        if self.srv.settings.discarded("chunking") {
            self.reply("521 5.5.1 Error: command not implemented");
            return Ok(Outcome::Close);
        }
        let first = self.tx.as_ref().is_some_and(|t| t.bdat.is_none());
        let earlier = self
            .tx
            .as_ref()
            .and_then(|t| t.bdat.as_ref())
            .and_then(|b| b.error.clone());
        let refusal = if earlier.is_some() {
            None
        } else if first || self.tx.is_none() {
            self.data_precheck("BDAT")
        } else {
            None
        };
        if let Some(r) = refusal {
            // Read and drop the chunk, then refuse it.
            self.data_bytes = Some(0);
            self.chat.read_exact_into(count, &mut |_| {})?;
            self.data_bytes = None;
            if let Some(tx) = self.tx.as_mut() {
                if !last {
                    tx.bdat = Some(Bdat {
                        error: Some(r.clone()),
                        ..Bdat::default()
                    });
                }
            }
            if last {
                self.abort_tx();
            }
            self.reply(&r);
            return Ok(Outcome::Continue);
        }
        if count == 0 && !last {
            self.reply("551 5.7.1 Null BDAT request");
            return Ok(Outcome::Continue);
        }
        let mut bdat = self
            .tx
            .as_mut()
            .and_then(|t| t.bdat.take())
            .unwrap_or_default();
        self.data_bytes = Some(bdat.bytes);
        let mut chunk = Vec::with_capacity(usize::try_from(count.min(1 << 20)).unwrap_or(0));
        let mut converted = Vec::new();
        let mut remaining = count;
        while remaining > 0 {
            let take = remaining.min(1 << 20);
            chunk.clear();
            self.chat
                .read_exact_into(take, &mut |b| chunk.extend_from_slice(b))?;
            remaining -= take;
            bdat.bytes += take;
            self.data_bytes = Some(bdat.bytes);
            if bdat.error.is_none() {
                converted.clear();
                crlf_to_lf(&mut bdat.content, &chunk, &mut converted);
                let mut content = std::mem::take(&mut bdat.content);
                self.emit(&mut content, &converted);
                bdat.content = content;
            }
        }
        self.data_bytes = None;
        if bdat.error.is_some() {
            let r = format!("551 5.0.0 Discarded {count} bytes after earlier error");
            if last {
                self.abort_tx();
            } else if let Some(tx) = self.tx.as_mut() {
                tx.bdat = Some(bdat);
            }
            self.reply(&r);
            return Ok(Outcome::Continue);
        }
        if bdat.content.too_big {
            let id = self.tx.as_ref().and_then(|t| t.queue_id.clone());
            msg_warn!(
                "{}: BDAT request from {} exceeds message size limit",
                id.as_deref().unwrap_or("NOQUEUE"),
                self.peer.namaddr
            );
            if last {
                self.abort_tx();
            } else {
                bdat.error = Some(CHUNK_TOO_BIG.into());
                if let Some(tx) = self.tx.as_mut() {
                    tx.bdat = Some(bdat);
                }
            }
            self.reply(CHUNK_TOO_BIG);
            return Ok(Outcome::Continue);
        }
        if !last {
            if let Some(tx) = self.tx.as_mut() {
                tx.bdat = Some(bdat);
            }
            self.reply(&format!("250 2.0.0 Ok: {count} bytes"));
            return Ok(Outcome::Continue);
        }
        if bdat.content.pending_cr {
            bdat.content.pending_cr = false;
            let mut content = std::mem::take(&mut bdat.content);
            self.emit(&mut content, b"\r");
            bdat.content = content;
        }
        self.last = "END-OF-MESSAGE".into();
        let total = bdat.bytes;
        self.finish_message(bdat.content, Some(total));
        Ok(Outcome::Continue)
    }
}

/// Convert CR LF to LF across chunk boundaries; a bare LF is kept (and
/// noted), a lone CR is kept.
pub fn crlf_to_lf(state: &mut Content, input: &[u8], out: &mut Vec<u8>) {
    for &b in input {
        if state.pending_cr {
            state.pending_cr = false;
            if b == b'\n' {
                out.push(b'\n');
                continue;
            }
            out.push(b'\r');
        }
        match b {
            b'\r' => state.pending_cr = true,
            b'\n' => {
                state.bare_lf = true;
                out.push(b'\n');
            }
            _ => out.push(b),
        }
    }
}

/// The reply for a non-zero cleanup status, as Postfix's smtpd words
/// it: a size or hop-count refusal has a fixed text (`552 5.3.4 Error:
/// message file too big`, `554 5.4.0 Error: too many hops`); a content
/// refusal (header/body_checks) quotes cleanup's reason as is (`550
/// 5.7.1 text`, 451 when its status code is 4.X.X); the others read
/// `code dsn Error: text`.
pub fn cleanup_reply(status: i32, reason: &str) -> String {
    if status & 4 != 0 {
        return TOO_BIG.into();
    }
    if status & 16 != 0 {
        return "554 5.4.0 Error: too many hops".into();
    }
    let (dsn, text) = crate::check::access::split_dsn(reason);
    let (code, dflt_dsn, dflt_text) = if status & 64 != 0 {
        (451, "4.7.1", "Service unavailable - try again later")
    } else if status & 8 != 0 {
        (550, "5.7.1", "message content rejected")
    } else if status & 32 != 0 {
        (550, "5.1.0", "recipient address rejected")
    } else {
        (451, "4.3.0", "queue file write error")
    };
    let dsn = dsn.unwrap_or_else(|| dflt_dsn.to_string());
    let code = if dsn.starts_with('4') && code >= 500 {
        451
    } else {
        code
    };
    if status & 8 != 0 && !text.is_empty() {
        return format!("{code} {dsn} {text}");
    }
    let text = if text.is_empty() {
        dflt_text.to_string()
    } else {
        text
    };
    format!("{code} {dsn} Error: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_conversion_spans_chunks() {
        let mut st = Content::default();
        let mut out = Vec::new();
        crlf_to_lf(&mut st, b"a\r", &mut out);
        crlf_to_lf(&mut st, b"\nb\rc\n", &mut out);
        assert_eq!(out, b"a\nb\rc\n");
        assert!(st.bare_lf);
    }

    #[test]
    fn cleanup_replies() {
        assert_eq!(
            cleanup_reply(4, "5.3.4 Message file too big"),
            "552 5.3.4 Error: message file too big"
        );
        assert_eq!(
            cleanup_reply(2, ""),
            "451 4.3.0 Error: queue file write error"
        );
        assert_eq!(
            cleanup_reply(16, "5.4.6 Too many hops"),
            "554 5.4.0 Error: too many hops"
        );
        assert_eq!(
            cleanup_reply(8, "5.7.1 no bad subjects"),
            "550 5.7.1 no bad subjects"
        );
        assert_eq!(cleanup_reply(8, "4.7.0 try later"), "451 4.7.0 try later");
        assert_eq!(
            cleanup_reply(8, ""),
            "550 5.7.1 Error: message content rejected"
        );
    }
}
