//! NAME
//!   checks - header_checks(5) and body_checks tables and their actions
//!
//! DESCRIPTION
//!   [`Checks`] holds the four content inspection tables of cleanup(8):
//!   `header_checks` (primary message headers other than MIME ones),
//!   `mime_header_checks` (MIME headers anywhere: `Content-Type`,
//!   `Content-Transfer-Encoding`, `Content-Disposition`,
//!   `Content-Description`, `Content-ID`, `MIME-Version` in the primary
//!   and nested headers, and every header of a multipart body part),
//!   `nested_header_checks` (the other headers of an attached
//!   `message/rfc822` message) and `body_checks` (every other line,
//!   MIME boundaries included). [`Checks::lookup`] asks the table of a
//!   [`Class`] for one logical header (continuation lines joined by
//!   newlines, as the message has them) or one body line, and parses the
//!   answer with [`parse_action`].
//!
//!   Actions (names case-insensitive): `REJECT [text]` (the reason gets
//!   enhanced status code 5.7.1 unless the text starts with one; 4.x.x
//!   defers), `WARN [text]`, `INFO [text]`, `HOLD [text]`,
//!   `DISCARD [text]`, `PASS [text]` (no more inspection), `STRIP [text]`
//!   (delete the line and log), `IGNORE` (delete silently), `DUNNO` and
//!   `OK` (no action), `PREPEND text`, `REPLACE text`, `REDIRECT
//!   user@domain`, `FILTER transport:destination`, `BCC user@domain`.
//!
//!   [`act_log`] formats Postfix's per-action log line:
//!   `ID: reject: header Subject: x from host[addr]; from=<s> to=<r>
//!   proto=ESMTP helo=<h>: 5.7.1 message content rejected` (`from local`
//!   for local submissions; `proto=`/`helo=` only when the client gave
//!   them; at most 200 bytes of the inspected text, control characters
//!   shown as `?`).
//!
//! DIAGNOSTICS
//!   Postfix's warnings for a bad action (the line is then kept as it
//!   is): `unknown command in header_checks map: X`, `bad PREPEND header
//!   text "x" in header_checks map -- need "headername: headervalue"`,
//!   `bad REDIRECT target "x" in ... map -- need user@domain`, `bad FILTER
//!   command x in header_checks -- need transport:destination`, `bad BCC
//!   address "x" in ... map -- need user@domain`. A table that fails is a
//!   lookup problem: the message is not accepted (try again later).
//!
//! SEE ALSO
//!   header_checks(5), cleanup(8), postconf(5) `header_checks`,
//!   `mime_header_checks`, `nested_header_checks`, `body_checks`.
use crate::headers::header_name;
use crate::mapping::MapError;
use maps::Maps;

/// Which table inspects a piece of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `header_checks`: primary non-MIME headers.
    Header,
    /// `mime_header_checks`: MIME headers.
    Mime,
    /// `nested_header_checks`: headers of attached messages.
    Nested,
    /// `body_checks`: body lines.
    Body,
}

impl Class {
    /// Whether the class inspects headers (PREPEND/REPLACE text must
    /// then be a header).
    pub fn is_header(self) -> bool {
        self != Class::Body
    }

    /// The word in log lines: `header` or `body`.
    pub fn word(self) -> &'static str {
        if self.is_header() {
            "header"
        } else {
            "body"
        }
    }
}

/// One parsed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No action (DUNNO, OK, or a bad action that was warned about).
    Dunno,
    /// Reject the message: the reason with its enhanced status code.
    Reject(String),
    /// Log a warning.
    Warn(String),
    /// Log an info record.
    Info(String),
    /// Put the message on hold.
    Hold(String),
    /// Accept and throw the message away.
    Discard(String),
    /// Stop inspecting the message.
    Pass(String),
    /// Delete the line, logging it.
    Strip(String),
    /// Delete the line silently.
    Ignore,
    /// Put a line before this one.
    Prepend(String),
    /// Replace this line.
    Replace(String),
    /// Send the message to this address instead.
    Redirect(String),
    /// Send the message through this content filter.
    Filter(String),
    /// Add a recipient (NOTIFY=NEVER).
    Bcc(String),
}

/// Whether `text` starts with an enhanced status code (`c.d{1,3}.d{1,3}`
/// with class `c` 2, 4 or 5, followed by white space or the end).
fn dsn_prefix(text: &str) -> Option<&str> {
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    let code = &text[..end];
    let parts: Vec<&str> = code.split('.').collect();
    let ok = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..].iter().all(|p| (1..=3).contains(&p.len()))
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some(code)
}

/// The reason for `REJECT text` (module description). Warns about a
/// code that is neither 4.x.x nor 5.x.x and makes it 4.x.x.
pub fn reject_reason(text: &str) -> String {
    if text.is_empty() {
        return global::cleanup_client::status_reason(global::cleanup_client::STAT_CONT)
            .to_string();
    }
    let mut reason = match dsn_prefix(text) {
        Some(_) => text.to_string(),
        None => format!("5.7.1 {text}"),
    };
    if !reason.starts_with(['4', '5']) {
        util::msg_warn!("bad DSN action in {text} -- need 4.x.x or 5.x.x");
        reason.replace_range(..1, "4");
    }
    reason
}

/// Parse a table answer for content of `class` found in table `map`
/// (the parameter name, for warnings). A bad action is warned about
/// and becomes [`Action::Dunno`].
pub fn parse_action(value: &str, class: Class, map: &str) -> Action {
    let value = value.trim();
    let (cmd, text) = match value.find(char::is_whitespace) {
        Some(i) => (&value[..i], value[i..].trim_start()),
        None => (value, ""),
    };
    let text_s = text.to_string();
    let header_text = |what: &str| {
        if class.is_header() && header_name(text.as_bytes()).is_none() {
            util::msg_warn!(
                "bad {what} header text \"{text}\" in {map} map -- need \"headername: headervalue\""
            );
            return false;
        }
        if text.is_empty() {
            util::msg_warn!("{what} action without text in {map} map");
            return false;
        }
        true
    };
    let address = |what: &str, label: &str| {
        if text.contains('@') {
            true
        } else {
            util::msg_warn!("bad {what} {label} \"{text}\" in {map} map -- need user@domain");
            false
        }
    };
    match cmd.to_ascii_uppercase().as_str() {
        "DUNNO" | "OK" => Action::Dunno,
        "REJECT" => Action::Reject(reject_reason(text)),
        "WARN" => Action::Warn(text_s),
        "INFO" => Action::Info(text_s),
        "HOLD" => Action::Hold(text_s),
        "DISCARD" => Action::Discard(text_s),
        "PASS" => Action::Pass(text_s),
        "STRIP" => Action::Strip(text_s),
        "IGNORE" => Action::Ignore,
        "PREPEND" if header_text("PREPEND") => Action::Prepend(text_s),
        "REPLACE" if header_text("REPLACE") => Action::Replace(text_s),
        "REDIRECT" if address("REDIRECT", "target") => Action::Redirect(text_s),
        "BCC" if address("BCC", "address") => Action::Bcc(text_s),
        "FILTER" if text.contains(':') => Action::Filter(text_s),
        "FILTER" => {
            util::msg_warn!("bad FILTER command {text} in {map} -- need transport:destination");
            Action::Dunno
        }
        "PREPEND" | "REPLACE" | "REDIRECT" | "BCC" => Action::Dunno,
        _ => {
            util::msg_warn!("unknown command in {map} map: {value}");
            Action::Dunno
        }
    }
}

/// The four tables and the inspection limits.
#[derive(Debug)]
pub struct Checks {
    /// `header_checks`.
    pub header: Maps,
    /// `mime_header_checks`.
    pub mime: Maps,
    /// `nested_header_checks`.
    pub nested: Maps,
    /// `body_checks`.
    pub body: Maps,
    /// `body_checks_size_limit`: bytes per body segment that
    /// `body_checks` sees.
    pub body_size_limit: u64,
    /// `disable_mime_input_processing`: no MIME structure; every
    /// primary header is a `header_checks` one, the rest is body.
    pub no_mime: bool,
    /// `line_length_limit`: body lines are inspected in pieces of at
    /// most this many bytes.
    pub line_limit: usize,
}

impl Checks {
    /// Whether any table is configured.
    pub fn any(&self) -> bool {
        !(self.header.is_empty()
            && self.mime.is_empty()
            && self.nested.is_empty()
            && self.body.is_empty())
    }

    /// Whether anything after the primary headers is inspected.
    pub fn inspects_body(&self) -> bool {
        !self.body.is_empty() || !(self.no_mime || self.mime.is_empty() && self.nested.is_empty())
    }

    /// The table of `class`.
    pub fn table(&self, class: Class) -> &Maps {
        match class {
            Class::Header => &self.header,
            Class::Mime => &self.mime,
            Class::Nested => &self.nested,
            Class::Body => &self.body,
        }
    }

    /// Look `content` up in the table of `class`. `Ok(None)`: no match
    /// (empty content never matches). Errors: the table failed (text for
    /// the log after `qid: `).
    pub fn lookup(
        &self,
        class: Class,
        content: &[u8],
        qid: &str,
    ) -> Result<Option<Action>, MapError> {
        let maps = self.table(class);
        if maps.is_empty() || content.is_empty() {
            return Ok(None);
        }
        let key = String::from_utf8_lossy(content);
        match maps.find(&key, false) {
            Ok(Some(v)) => Ok(Some(parse_action(&v, class, maps.title()))),
            Ok(None) => Ok(None),
            Err(e) => Err(MapError::Lookup(format!(
                "{qid}: {} map lookup problem -- message not accepted, try again later ({e})",
                maps.title()
            ))),
        }
    }
}

/// Who sent the message, for [`act_log`].
#[derive(Debug, Clone, Default)]
pub struct LogContext {
    /// Queue ID.
    pub qid: String,
    /// `host[addr]`, or `None` for a local submission.
    pub client: Option<String>,
    /// Envelope sender.
    pub sender: String,
    /// The last envelope recipient, as the client gave it.
    pub rcpt: Option<String>,
    /// SMTP protocol name (`ESMTP`...).
    pub proto: Option<String>,
    /// HELO name.
    pub helo: Option<String>,
}

/// Postfix's action log line (module description): `action` is the
/// word after the queue ID (`reject`, `warning`, ...), `content` the
/// inspected text, `text` the optional text after the colon.
pub fn act_log(ctx: &LogContext, action: &str, class: Class, content: &[u8], text: &str) -> String {
    let shown: String = String::from_utf8_lossy(&content[..content.len().min(200)])
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let mut line = format!("{}: {action}: {} {shown} from ", ctx.qid, class.word());
    match &ctx.client {
        Some(c) => line.push_str(c),
        None => line.push_str("local"),
    }
    line.push_str(&format!("; from=<{}>", ctx.sender));
    if let Some(r) = &ctx.rcpt {
        line.push_str(&format!(" to=<{r}>"));
    }
    if let Some(p) = &ctx.proto {
        line.push_str(&format!(" proto={p}"));
    }
    if let Some(h) = &ctx.helo {
        line.push_str(&format!(" helo=<{h}>"));
    }
    if !text.is_empty() {
        line.push_str(": ");
        line.push_str(text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_as_postfix_reads_them() {
        let p = |v: &str| parse_action(v, Class::Header, "header_checks");
        assert_eq!(
            p("REJECT"),
            Action::Reject("5.7.1 message content rejected".into())
        );
        assert_eq!(p("reject go away"), Action::Reject("5.7.1 go away".into()));
        assert_eq!(
            p("REJECT 5.7.0 go away"),
            Action::Reject("5.7.0 go away".into())
        );
        assert_eq!(
            p("REJECT 4.7.0 later"),
            Action::Reject("4.7.0 later".into())
        );
        assert_eq!(
            p("REJECT 6.1.1 weird"),
            Action::Reject("5.7.1 6.1.1 weird".into())
        );
        assert_eq!(p("REJECT 2.0.0 odd"), Action::Reject("4.0.0 odd".into()));
        assert_eq!(p("WARN"), Action::Warn(String::new()));
        assert_eq!(p("warn  some text "), Action::Warn("some text".into()));
        assert_eq!(p("HOLD x"), Action::Hold("x".into()));
        assert_eq!(p("DISCARD"), Action::Discard(String::new()));
        assert_eq!(p("IGNORE"), Action::Ignore);
        assert_eq!(p("OK"), Action::Dunno);
        assert_eq!(p("DUNNO"), Action::Dunno);
        assert_eq!(p("INFO i"), Action::Info("i".into()));
        assert_eq!(p("PASS"), Action::Pass(String::new()));
        assert_eq!(p("STRIP s"), Action::Strip("s".into()));
        assert_eq!(p("PREPEND X-A: 1"), Action::Prepend("X-A: 1".into()));
        assert_eq!(p("PREPEND not a header"), Action::Dunno);
        assert_eq!(
            p("REPLACE Subject: new"),
            Action::Replace("Subject: new".into())
        );
        assert_eq!(p("REPLACE nope"), Action::Dunno);
        assert_eq!(p("REDIRECT a@b"), Action::Redirect("a@b".into()));
        assert_eq!(p("REDIRECT nobody"), Action::Dunno);
        assert_eq!(p("BCC a@b"), Action::Bcc("a@b".into()));
        assert_eq!(p("BCC nobody"), Action::Dunno);
        assert_eq!(
            p("FILTER smtp:[127.0.0.1]:10025"),
            Action::Filter("smtp:[127.0.0.1]:10025".into())
        );
        assert_eq!(p("FILTER nocolon"), Action::Dunno);
        assert_eq!(p("FROBNICATE x"), Action::Dunno);
        // Body lines may be prepended with any text.
        assert_eq!(
            parse_action("PREPEND >>x", Class::Body, "body_checks"),
            Action::Prepend(">>x".into())
        );
    }

    #[test]
    fn log_lines_match_postfix() {
        let mut ctx = LogContext {
            qid: "4QID".into(),
            client: Some("unknown[127.0.0.1]".into()),
            sender: "s@example.org".into(),
            rcpt: Some("u@localhost".into()),
            proto: Some("ESMTP".into()),
            helo: Some("h.example".into()),
        };
        assert_eq!(
            act_log(&ctx, "reject", Class::Header, b"Subject: buy viagra", "5.7.1 message content rejected"),
            "4QID: reject: header Subject: buy viagra from unknown[127.0.0.1]; from=<s@example.org> \
             to=<u@localhost> proto=ESMTP helo=<h.example>: 5.7.1 message content rejected"
        );
        assert_eq!(
            act_log(
                &ctx,
                "warning",
                Class::Header,
                b"Subject: folded\n  viagra",
                ""
            ),
            "4QID: warning: header Subject: folded?  viagra from unknown[127.0.0.1]; \
             from=<s@example.org> to=<u@localhost> proto=ESMTP helo=<h.example>"
        );
        ctx.client = None;
        ctx.proto = None;
        ctx.helo = None;
        assert_eq!(
            act_log(&ctx, "warning", Class::Body, &[b'x'; 300], "t"),
            format!(
                "4QID: warning: body {} from local; from=<s@example.org> to=<u@localhost>: t",
                "x".repeat(200)
            )
        );
    }

    #[test]
    fn lookups_use_the_whole_logical_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hc");
        std::fs::write(&p, "/^Subject: .*viagra/ REJECT\n/^X-Body/ WARN\n").unwrap();
        let spec = format!("regexp:{}", p.display());
        let open = |n: &str, v: &str| Maps::open(n, v, maps::DictFlags::default()).unwrap();
        let c = Checks {
            header: open("header_checks", &spec),
            mime: open("mime_header_checks", &spec),
            nested: open("nested_header_checks", ""),
            body: open("body_checks", ""),
            body_size_limit: 51200,
            no_mime: false,
            line_limit: 2048,
        };
        assert!(c.any());
        assert!(c.inspects_body());
        let hit = c
            .lookup(Class::Header, b"Subject: folded\n\tviagra", "Q")
            .unwrap();
        assert_eq!(
            hit,
            Some(Action::Reject("5.7.1 message content rejected".into()))
        );
        assert_eq!(
            c.lookup(Class::Header, b"Subject: hello", "Q").unwrap(),
            None
        );
        assert_eq!(
            c.lookup(Class::Nested, b"Subject: viagra", "Q").unwrap(),
            None
        );
        assert_eq!(c.lookup(Class::Body, b"", "Q").unwrap(), None);
    }
}
