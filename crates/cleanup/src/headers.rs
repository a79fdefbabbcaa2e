//! NAME
//!   headers - process the primary message headers
//!
//! DESCRIPTION
//!   [`Headers`] receives the content lines of the header section one at a
//!   time ([`Headers::line`]) and keeps the processed header text until
//!   the section ends ([`Headers::finish`]), because missing headers are
//!   appended at its end and the hop count must be known before the queue
//!   file's recipients are written. The section ends at the first empty
//!   line or the first line that is neither a header (`name:`) nor a
//!   continuation (leading space or tab).
//!
//!   Per logical header (the line plus its continuation lines), as
//!   Postfix's cleanup does:
//!
//!   - header_checks(5) see it first ([`Headers::line_with`]): it may be
//!     deleted, replaced, or preceded by another line.
//!   - A header longer than `header_size_limit` bytes is cut at the limit
//!     and the excess is discarded.
//!   - `Received:` headers are counted for `hopcount_limit`.
//!   - `Message-ID:` / `Resent-Message-ID:` values are logged as
//!     `ID: message-id=<...>` / `ID: resent-message-id=<...>`.
//!   - Any `Resent-` header makes the added headers `Resent-` ones.
//!   - Headers named in `message_drop_headers` (default `bcc,
//!     content-length, resent-bcc, return-path`) are removed.
//!   - When the message's rewriting context allows it, addresses in
//!     sender headers (From, Sender, Reply-To, Errors-To, Return-Receipt-To,
//!     Disposition-Notification-To, Mail-Followup-To, Resent-From,
//!     Resent-Sender) and recipient headers (To, Cc, Bcc, Apparently-To,
//!     Resent-To, Resent-Cc, Resent-Bcc, Resent-Reply-To) are rewritten to
//!     canonical form and through the canonical maps whose classes include
//!     `header_sender` / `header_recipient`. Display names and comments
//!     are kept.
//!
//!   At the end of the section, when the context allows it (local
//!   submission, `remote_header_rewrite_domain` set, or
//!   `always_add_missing_headers = yes`), missing headers are added in
//!   this order: `(Resent-)Message-Id: <ID@$myhostname>` (Postfix's form
//!   for long queue IDs, logged like a received one), `(Resent-)Date:`
//!   (arrival time), `(Resent-)From:` (the envelope sender, or
//!   `MAILER-DAEMON` for the null sender; with the full name when known,
//!   `Full Name <address>`, quoted when it has special characters, or
//!   `address (Full Name)` with `header_from_format = obsolete`),
//!   and `$undisclosed_recipients_header` when there is no To:, Cc:,
//!   Resent-To: or Resent-Cc:. A message without Message-ID that got none
//!   is logged as `ID: message-id=<>`.
//!
//! SEE ALSO
//!   cleanup(8), postconf(5) `header_size_limit`, `hopcount_limit`,
//!   `message_drop_headers`, `always_add_missing_headers`,
//!   `undisclosed_recipients_header`, `canonical_classes`,
//!   `header_from_format`.
use crate::addrlist;
use crate::inspect::Edit;
use crate::mapping::{AddrMaps, MapError};
use resolve::{Context, Resolver};
use std::time::SystemTime;

/// What the header processor needs to know about the configuration.
#[derive(Debug, Clone, Default)]
pub struct HeaderConfig {
    /// `header_size_limit`, bytes.
    pub size_limit: usize,
    /// `message_drop_headers`, lower case.
    pub drop: Vec<String>,
    /// `always_add_missing_headers`.
    pub always_add: bool,
    /// `undisclosed_recipients_header` (empty: none).
    pub undisclosed: String,
    /// `header_from_format = obsolete`: `From: address (Full Name)`
    /// instead of the standard `From: Full Name <address>`.
    pub from_obsolete: bool,
    /// `myhostname`.
    pub myhostname: String,
    /// header_sender in sender_canonical_classes / canonical_classes.
    pub sender_canon: (bool, bool),
    /// header_recipient in recipient_canonical_classes / canonical_classes.
    pub rcpt_canon: (bool, bool),
}

/// Per-message facts the header processor uses.
#[derive(Debug, Clone)]
pub struct MessageFacts {
    /// Queue ID (log lines, Message-Id).
    pub queue_id: String,
    /// Envelope sender after rewriting (empty: null sender).
    pub sender: String,
    /// Full name for an added From:.
    pub fullname: Option<String>,
    /// Arrival time for an added Date:.
    pub arrival: SystemTime,
    /// Header rewriting context (`None`: headers are not rewritten).
    pub context: Option<Context>,
}

const SENDER_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "errors-to",
    "return-receipt-to",
    "disposition-notification-to",
    "mail-followup-to",
    "resent-from",
    "resent-sender",
];
const RCPT_HEADERS: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "apparently-to",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "resent-reply-to",
];

/// The name of header line `line` (without the colon), or `None` when
/// it is not a header: 1 or more printable ASCII characters other than
/// `:`, optional white space, then `:`.
pub fn header_name(line: &[u8]) -> Option<&str> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let end = name
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    let name = &name[..end];
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
        return None;
    }
    std::str::from_utf8(name).ok()
}

/// The header section processor.
#[derive(Debug)]
pub struct Headers<'a> {
    cfg: &'a HeaderConfig,
    facts: MessageFacts,
    /// The logical header being collected.
    cur: Vec<u8>,
    truncated: bool,
    out: Vec<u8>,
    seen: Vec<String>,
    resent: bool,
    /// `Received:` headers seen.
    pub hops: usize,
    done: bool,
}

impl<'a> Headers<'a> {
    /// A processor for one message.
    pub fn new(cfg: &'a HeaderConfig, facts: MessageFacts) -> Headers<'a> {
        Headers {
            cfg,
            facts,
            cur: Vec::new(),
            truncated: false,
            out: Vec::new(),
            seen: Vec::new(),
            resent: false,
            hops: 0,
            done: false,
        }
    }

    /// Whether the header section has ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feed one content line (without its newline). Returns `false` when
    /// the line is not part of the header section: the section has ended
    /// and the caller must call [`Headers::finish`] and then write the
    /// line as body. Errors: a mapping failed.
    pub fn line(&mut self, r: &Resolver, m: &AddrMaps, line: &[u8]) -> Result<bool, MapError> {
        self.line_with(r, m, line, &mut |_| Edit::Keep)
    }

    /// [`Headers::line`] with header_checks(5): `check` sees each logical
    /// header before anything else is done with it and says what to do
    /// with it (a deleted header is not seen by the rest of cleanup; a
    /// replaced one is processed as if the message had it).
    pub fn line_with(
        &mut self,
        r: &Resolver,
        m: &AddrMaps,
        line: &[u8],
        check: &mut dyn FnMut(&[u8]) -> Edit,
    ) -> Result<bool, MapError> {
        if self.done {
            return Ok(false);
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if continuation && !self.cur.is_empty() {
            if !self.truncated {
                self.cur.push(b'\n');
                self.cur.extend_from_slice(line);
                self.limit();
            }
            return Ok(true);
        }
        self.flush(r, m, check)?;
        if line.is_empty() || header_name(line).is_none() {
            self.done = true;
            return Ok(false);
        }
        self.cur.extend_from_slice(line);
        self.limit();
        Ok(true)
    }

    fn limit(&mut self) {
        if self.cfg.size_limit > 0 && self.cur.len() > self.cfg.size_limit {
            self.cur.truncate(self.cfg.size_limit);
            self.truncated = true;
        }
    }

    fn log_id(&self, what: &str, value: &str) {
        let v: Vec<&str> = value.split_whitespace().collect();
        util::msg_info!("{}: {what}={}", self.facts.queue_id, v.join(" "));
    }

    /// Process the collected logical header.
    fn flush(
        &mut self,
        r: &Resolver,
        m: &AddrMaps,
        check: &mut dyn FnMut(&[u8]) -> Edit,
    ) -> Result<(), MapError> {
        if self.cur.is_empty() {
            return Ok(());
        }
        let mut header = std::mem::take(&mut self.cur);
        self.truncated = false;
        match check(&header) {
            Edit::Keep => {}
            Edit::Drop => return Ok(()),
            Edit::Replace(t) => header = t,
            Edit::Prepend(t) => {
                self.out.extend_from_slice(&t);
                self.out.push(b'\n');
            }
        }
        let Some(name) = header_name(&header).map(str::to_ascii_lowercase) else {
            return Ok(());
        };
        let colon = header.iter().position(|&b| b == b':').unwrap_or(0);
        let value = String::from_utf8_lossy(&header[colon + 1..]).into_owned();
        match name.as_str() {
            "received" => self.hops += 1,
            "message-id" => self.log_id("message-id", &value),
            "resent-message-id" => self.log_id("resent-message-id", &value),
            _ => {}
        }
        if name.starts_with("resent-") {
            self.resent = true;
        }
        self.seen.push(name.clone());
        if self.cfg.drop.contains(&name) {
            return Ok(());
        }
        let sender = SENDER_HEADERS.contains(&name.as_str());
        let rcpt = RCPT_HEADERS.contains(&name.as_str());
        if let (Some(ctx), true) = (self.facts.context, sender || rcpt) {
            if let Some(new) = self.rewrite_value(r, m, ctx, &value, sender)? {
                self.out.extend_from_slice(&header[..=colon]);
                self.out.extend_from_slice(new.as_bytes());
                self.out.push(b'\n');
                return Ok(());
            }
        }
        self.out.extend_from_slice(&header);
        self.out.push(b'\n');
        Ok(())
    }

    fn rewrite_value(
        &self,
        r: &Resolver,
        m: &AddrMaps,
        ctx: Context,
        value: &str,
        sender: bool,
    ) -> Result<Option<String>, MapError> {
        let (own, common) = if sender {
            self.cfg.sender_canon
        } else {
            self.cfg.rcpt_canon
        };
        let own_maps = if sender {
            &m.sender_canonical
        } else {
            &m.recipient_canonical
        };
        let qid = &self.facts.queue_id;
        let mut err = None;
        let new = addrlist::replace(value, |addr| {
            let mut a = r.rewrite(ctx, addr);
            let mut step = |maps, on: bool, a: &str| -> Option<String> {
                if !on || err.is_some() {
                    return Some(a.to_string());
                }
                m.canonical(r, maps, a, qid).map_err(|e| err = Some(e)).ok()
            };
            a = step(own_maps, own, &a)?;
            a = step(&m.canonical, common, &a)?;
            Some(a)
        });
        match err {
            Some(e) => Err(e),
            None => Ok(new),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.seen.iter().any(|s| s == name)
    }

    /// End the header section: add missing headers (module description)
    /// and return the header text, each line ending in a newline.
    /// Errors: a mapping of the last header failed.
    pub fn finish(self, r: &Resolver, m: &AddrMaps) -> Result<Vec<u8>, MapError> {
        self.finish_with(r, m, &mut |_| Edit::Keep)
    }

    /// [`Headers::finish`] with header_checks(5) for the last header
    /// (see [`Headers::line_with`]).
    pub fn finish_with(
        mut self,
        r: &Resolver,
        m: &AddrMaps,
        check: &mut dyn FnMut(&[u8]) -> Edit,
    ) -> Result<Vec<u8>, MapError> {
        self.flush(r, m, check)?;
        let add = self.facts.context.is_some() || self.cfg.always_add;
        let prefix = if self.resent { "Resent-" } else { "" };
        let lower = |n: &str| format!("{}{n}", prefix.to_ascii_lowercase());
        let qid = self.facts.queue_id.clone();
        if add && !self.has(&lower("message-id")) {
            let id = format!("{qid}@{}", self.cfg.myhostname);
            self.out
                .extend_from_slice(format!("{prefix}Message-Id: <{id}>\n").as_bytes());
            let what = if self.resent {
                "resent-message-id"
            } else {
                "message-id"
            };
            util::msg_info!("{qid}: {what}=<{id}>");
            self.seen.push(lower("message-id"));
        }
        if !self.has("message-id") {
            util::msg_info!("{qid}: message-id=<>");
        }
        if add && !self.has(&lower("date")) {
            let date = global::date::mail_date(self.facts.arrival);
            self.out
                .extend_from_slice(format!("{prefix}Date: {date}\n").as_bytes());
        }
        if add && !self.has(&lower("from")) {
            let addr = if self.facts.sender.is_empty() {
                "MAILER-DAEMON"
            } else {
                &self.facts.sender
            };
            let addr = addrlist::quote_local(addr);
            let name = self
                .facts
                .fullname
                .as_deref()
                .filter(|n| !self.facts.sender.is_empty() && !n.trim().is_empty());
            let mut from = match name {
                None => format!("{prefix}From: {addr}"),
                Some(n) if self.cfg.from_obsolete => {
                    format!("{prefix}From: {addr} ({})", comment_text(n))
                }
                Some(n) => format!("{prefix}From: {} <{addr}>", phrase_text(n)),
            };
            from.push('\n');
            self.out.extend_from_slice(from.as_bytes());
        }
        let visible = ["to", "resent-to", "cc", "resent-cc"]
            .iter()
            .any(|h| self.has(h));
        if add && !visible && !self.cfg.undisclosed.is_empty() {
            if header_name(self.cfg.undisclosed.as_bytes()).is_some() {
                self.out.extend_from_slice(self.cfg.undisclosed.as_bytes());
                self.out.push(b'\n');
            } else {
                util::msg_warn!(
                    "bad undisclosed_recipients_header header text \"{}\" -- need \"headername: headervalue\"",
                    self.cfg.undisclosed
                );
            }
        }
        Ok(self.out)
    }
}

/// A full name as an RFC 5322 display name: as it is when it has no
/// special characters, else quoted (`"Doe, John"`, with `"` and `\`
/// escaped), as Postfix writes it; line breaks become spaces.
fn phrase_text(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let specials = |c: char| "()<>[]:;@\\,.\"".contains(c);
    if !name.chars().any(specials) {
        return name;
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A full name made safe inside `( )`: parentheses and backslashes are
/// escaped, line breaks become spaces.
fn comment_text(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
