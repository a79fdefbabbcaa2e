//! NAME
//!   inspect - header_checks(5) and body_checks for one message
//!
//! DESCRIPTION
//!   [`Inspect`] runs the content inspection tables of [`crate::checks`]
//!   over one message as it arrives and keeps what the actions decided:
//!
//!   - primary headers come from [`crate::headers`] one logical header
//!     at a time ([`Inspect::primary`]): MIME headers go to
//!     `mime_header_checks`, the others to `header_checks` (all of them
//!     to `header_checks` with `disable_mime_input_processing = yes`);
//!   - the rest of the content ([`Inspect::body`]) is split into lines
//!     (pieces of at most `line_length_limit` bytes) and followed by
//!     [`crate::mime::MimeState`]: body part headers go to
//!     `mime_header_checks`, headers of attached messages to
//!     `nested_header_checks` (MIME ones to `mime_header_checks`), all
//!     other lines to `body_checks`, at most `body_checks_size_limit`
//!     bytes per body segment (a MIME boundary starts a new segment).
//!
//!   Every action is logged as Postfix logs it ([`crate::checks::act_log`]),
//!   except IGNORE and DUNNO. The edits (IGNORE, STRIP, PREPEND, REPLACE)
//!   are applied to the output text; the decisions (REJECT, DISCARD,
//!   HOLD, FILTER, REDIRECT, BCC) are kept in the public fields for
//!   the session to apply. REJECT, DISCARD and PASS end the inspection of
//!   the message; a table that fails ends it too and is kept in
//!   [`Inspect::error`].
//!
//! SEE ALSO
//!   header_checks(5), cleanup(8).
use crate::checks::{act_log, Action, Checks, Class, LogContext};
use crate::mapping::MapError;
use crate::mime::{header_class, MimeState, Piece};

/// What to do with the inspected text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Keep it.
    Keep,
    /// Delete it (IGNORE, STRIP).
    Drop,
    /// Replace it with this text (REPLACE).
    Replace(Vec<u8>),
    /// Put this line before it (PREPEND).
    Prepend(Vec<u8>),
}

impl Edit {
    /// Append `text` (and a newline when `newline`) as edited to `out`.
    pub fn apply(&self, text: &[u8], newline: bool, out: &mut Vec<u8>) {
        let line = match self {
            Edit::Keep => text,
            Edit::Drop => return,
            Edit::Replace(r) => r,
            Edit::Prepend(p) => {
                out.extend_from_slice(p);
                out.push(b'\n');
                text
            }
        };
        out.extend_from_slice(line);
        if newline {
            out.push(b'\n');
        }
    }
}

/// The inspection state of one message.
#[derive(Debug)]
pub struct Inspect<'a> {
    checks: &'a Checks,
    /// Who sent the message (log lines).
    pub log: LogContext,
    active: bool,
    mime: Option<MimeState>,
    /// REJECT: the reason, enhanced status code first.
    pub reject: Option<String>,
    /// DISCARD.
    pub discard: bool,
    /// HOLD.
    pub hold: bool,
    /// FILTER: `transport:destination` (the last one wins).
    pub filter: Option<String>,
    /// REDIRECT: the address (the last one wins).
    pub redirect: Option<String>,
    /// BCC addresses, in order.
    pub bccs: Vec<String>,
    /// A table failed.
    pub error: Option<MapError>,
    segment: u64,
    pending: Vec<u8>,
    mid_line: bool,
}

impl<'a> Inspect<'a> {
    /// Inspection of one message with `checks`; `header_size_limit`
    /// bounds the headers collected in the body.
    pub fn new(checks: &'a Checks, log: LogContext, header_size_limit: usize) -> Inspect<'a> {
        Inspect {
            checks,
            log,
            active: true,
            mime: (!checks.no_mime).then(|| MimeState::new(header_size_limit)),
            reject: None,
            discard: false,
            hold: false,
            filter: None,
            redirect: None,
            bccs: Vec::new(),
            error: None,
            segment: 0,
            pending: Vec::new(),
            mid_line: false,
        }
    }

    /// Look `content` up in the table of `class` and carry out the
    /// action (module description).
    fn act(&mut self, class: Class, content: &[u8]) -> Edit {
        if !self.active {
            return Edit::Keep;
        }
        let action = match self.checks.lookup(class, content, &self.log.qid) {
            Ok(Some(a)) => a,
            Ok(None) => return Edit::Keep,
            Err(e) => {
                self.error = Some(e);
                self.active = false;
                return Edit::Keep;
            }
        };
        let log = |what: &str, text: &str| {
            util::msg_info!("{}", act_log(&self.log, what, class, content, text));
        };
        match action {
            Action::Dunno => Edit::Keep,
            Action::Reject(reason) => {
                log("reject", &reason);
                self.reject = Some(reason);
                self.active = false;
                Edit::Keep
            }
            Action::Warn(t) => {
                log("warning", &t);
                Edit::Keep
            }
            Action::Info(t) => {
                log("info", &t);
                Edit::Keep
            }
            Action::Hold(t) => {
                log("hold", &t);
                self.hold = true;
                Edit::Keep
            }
            Action::Discard(t) => {
                log("discard", &t);
                self.discard = true;
                self.active = false;
                Edit::Keep
            }
            Action::Pass(t) => {
                log("pass", &t);
                self.active = false;
                Edit::Keep
            }
            Action::Strip(t) => {
                log("strip", &t);
                Edit::Drop
            }
            Action::Ignore => Edit::Drop,
            Action::Prepend(t) => {
                log("prepend", &t);
                Edit::Prepend(t.into_bytes())
            }
            Action::Replace(t) => {
                log("replace", &t);
                Edit::Replace(t.into_bytes())
            }
            Action::Redirect(t) => {
                log("redirect", &t);
                self.redirect = Some(t);
                Edit::Keep
            }
            Action::Filter(t) => {
                log("filter", &t);
                self.filter = Some(t);
                Edit::Keep
            }
            Action::Bcc(t) => {
                log("bcc", &t);
                self.bccs.push(t);
                Edit::Keep
            }
        }
    }

    /// One logical primary header (continuation lines joined by
    /// newlines): what to do with it.
    pub fn primary(&mut self, header: &[u8]) -> Edit {
        let name = crate::headers::header_name(header).unwrap_or("");
        let class = match &mut self.mime {
            Some(m) => {
                m.primary_header(header);
                header_class(name, false)
            }
            None => Class::Header,
        };
        self.act(class, header)
    }

    /// The primary headers have ended.
    pub fn start_body(&mut self) {
        if let Some(m) = self.mime.as_mut() {
            m.start_body();
        }
    }

    /// Body content bytes (any split): the text to write, edited, is
    /// appended to `out`.
    pub fn body(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        let limit = self.checks.line_limit.max(1);
        while !chunk.is_empty() {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(nl) if self.pending.len() + nl <= limit => {
                    self.pending.extend_from_slice(&chunk[..nl]);
                    chunk = &chunk[nl + 1..];
                    let line = std::mem::take(&mut self.pending);
                    self.line(&line, true, out);
                    self.mid_line = false;
                }
                _ => {
                    let room = limit - self.pending.len();
                    let take = room.min(chunk.len());
                    self.pending.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.pending.len() >= limit {
                        let piece = std::mem::take(&mut self.pending);
                        self.line(&piece, false, out);
                        self.mid_line = true;
                    }
                }
            }
        }
    }

    /// The content has ended: the text still held back goes to `out`.
    pub fn body_end(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.line(&rest, false, out);
        }
        if let Some(m) = self.mime.as_mut() {
            for p in m.finish() {
                self.piece(p, true, out);
            }
        }
    }

    /// One body line or piece of a long line.
    fn line(&mut self, line: &[u8], newline: bool, out: &mut Vec<u8>) {
        let pieces = match &mut self.mime {
            Some(m) if newline && !self.mid_line => m.line(line),
            // A piece of a long line is body text.
            Some(m) => {
                let mut v = m.finish();
                v.push(Piece::Body(line.to_vec()));
                v
            }
            None => vec![Piece::Body(line.to_vec())],
        };
        let n = pieces.len();
        for (i, p) in pieces.into_iter().enumerate() {
            // Only the last piece is the current line; the others are
            // complete headers held back before it.
            let nl = if i + 1 == n && !matches!(p, Piece::Header(..)) {
                newline
            } else {
                true
            };
            self.piece(p, nl, out);
        }
    }

    fn piece(&mut self, p: Piece, newline: bool, out: &mut Vec<u8>) {
        let (edit, text) = match p {
            Piece::Header(class, h) => (self.act(class, &h), h),
            Piece::Boundary(l) => {
                self.segment = 0;
                (self.body_check(&l), l)
            }
            Piece::Body(l) => (self.body_check(&l), l),
        };
        edit.apply(&text, newline, out);
    }

    fn body_check(&mut self, line: &[u8]) -> Edit {
        if self.segment >= self.checks.body_size_limit {
            return Edit::Keep;
        }
        self.segment += line.len() as u64 + 1;
        self.act(Class::Body, line)
    }
}
