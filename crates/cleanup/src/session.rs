//! NAME
//!   session - one cleanup client: envelope, content, queue file, verdict
//!
//! DESCRIPTION
//!   [`serve`] runs the server side of doc/PIPELINE.md's cleanup
//!   protocol on one connection:
//!
//!   1. create the queue file in `incoming` and send `queue_id=ID`;
//!   2. read the envelope; rewrite the sender (canonical form, then
//!      `sender_canonical_maps` and `canonical_maps` per the classes
//!      parameters) and each recipient (canonical form, the recipient
//!      canonical maps, then `virtual_alias_maps`), dropping duplicate
//!      recipients; write sender, attributes and DSN fields;
//!   3. read the content chunks: the header section goes through
//!      [`crate::headers`]; at its end the recipients are written (done,
//!      when the message is bounced for too many hops), then the headers,
//!      then the body as it arrives;
//!   4. commit the file (fsync, complete mark) and answer `status=0`;
//!      otherwise remove it and answer the status bits and reason. The
//!      content is always read to its end so the client hears the answer.
//!   5. wake qmgr (`public/qmgr`, request `I`); a failure is a warning.
//!
//!   Limits: more than `message_size_limit` content bytes is status 4
//!   (`5.3.4 message file too big`); `hopcount_limit` or more
//!   `Received:` headers is status 16 (`5.4.0 too many hops`). When the
//!   client set flag 1 (bounce: pickup, local), both are bounced instead
//!   ([`crate::bounced`]): the message is queued with every recipient
//!   done and a `bounce/ID` record each, so qmgr has bounce(8) return it
//!   to the sender (an oversized message is kept up to the limit). No
//!   recipients is status 32.
//!
//!   Flag 4 (hold) puts the finished file in the `hold` queue instead.
//!
//!   Routing requests are kept as `A` records for qmgr, written after
//!   the content (`verdict`): `filter=` (the
//!   client's `filter` attribute; when it sends none and the message is
//!   not a notification, `content_filter`) and `redirect=` (the client's
//!   access(5) REDIRECT address). With a redirect the first recipient is
//!   replaced by the redirect address in canonical form (keeping its
//!   original address for `orig_to=`), and the others are written done:
//!   one copy goes to the redirect address, as with Postfix.
//!
//! DIAGNOSTICS
//!   Postfix's warnings: `ID: queue file size limit exceeded`, map lookup
//!   problems (status 2 or 64, the client tries again later), bad
//!   envelope or content framing (status 1), queue file write errors
//!   (status 2). A client that disconnects early is logged and its file
//!   removed.
use crate::headers::{Headers, MessageFacts};
use crate::inspect::{Edit, Inspect};
use crate::mapping::MapError;
use crate::protocol::{envelope_limits, skip_list, ChunkReader, Envelope};
use crate::settings::State;
use global::attr::{AttrError, AttrReader, AttrWriter, Attrs};
use global::cleanup_client::{
    status_reason, FLAG_BOUNCE, FLAG_HOLD, STAT_BAD, STAT_DEFER, STAT_HOPS, STAT_RCPT, STAT_SIZE,
    STAT_WRITE,
};
use queue::{QueueWriter, Recipient};
use resolve::Context;
use std::collections::HashSet;
use std::io::{BufReader, Cursor, Read, Write};
use util::msg_warn;

/// Errors found so far: status bits and the first reason.
#[derive(Debug, Default)]
pub(crate) struct Errs {
    status: i32,
    reason: Option<String>,
}

impl Errs {
    pub(crate) fn add(&mut self, bit: i32, reason: Option<String>) {
        self.status |= bit;
        if self.reason.is_none() {
            self.reason = reason;
        }
    }

    pub(crate) fn map(&mut self, e: &MapError) {
        msg_warn!("{}", e.text());
        match e {
            MapError::Lookup(_) => self.add(STAT_WRITE, None),
            MapError::Limit(_) => self.add(STAT_DEFER, Some("4.6.0 Alias expansion error".into())),
        }
    }

    fn reason(&self) -> String {
        self.reason
            .clone()
            .unwrap_or_else(|| status_reason(self.status).to_string())
    }
}

/// The message being received.
pub(crate) struct Message<'a> {
    pub(crate) state: &'a State,
    pub(crate) qid: String,
    pub(crate) w: QueueWriter,
    pub(crate) env: Envelope,
    pub(crate) rcpts: Vec<Recipient>,
    pub(crate) facts: MessageFacts,
    pub(crate) errs: Errs,
    size: u64,
    /// Partial header line carried between chunks.
    pending: Vec<u8>,
    in_body: bool,
    /// Too many hops, bounce flag set: recipients are written done.
    pub(crate) hop_bounce: bool,
    /// Too big, bounce flag set: the content stops at the limit and the
    /// recipients are marked done when the file is complete.
    pub(crate) size_bounce: bool,
    headers: Option<Headers<'a>>,
    /// header_checks(5) and body_checks (`None`: not for this message).
    pub(crate) inspect: Option<Inspect<'a>>,
    /// A content REJECT with the bounce flag set: the reason; the
    /// message is bounced instead.
    pub(crate) content_bounce: Option<String>,
    /// The recipients are in the queue file.
    pub(crate) rcpts_written: bool,
    /// A REDIRECT after the recipients were written: the redirect
    /// recipient is an extracted one and the others are marked done.
    pub(crate) late_redirect: bool,
}

/// Serve one client on `stream` (module description).
pub fn serve<S: Read + Write>(state: &State, stream: &mut S) {
    let w = match QueueWriter::create(&state.qdir, queue::INCOMING) {
        Ok(w) => w,
        Err(e) => {
            msg_warn!("queue file create: {e}");
            return;
        }
    };
    let qid = w.id().to_string();
    if let Err(e) = AttrWriter::new(&mut *stream).write(&Attrs::new().put_str("queue_id", &qid)) {
        msg_warn!("{qid}: send queue ID: {e}");
        return;
    }
    let limits = envelope_limits(state.settings.message_size_limit);
    let mut reader = AttrReader::with_limits(&mut *stream, limits);
    let attrs = match reader.read() {
        Ok(Some(a)) => a,
        // The client went away (an SMTP client that quit after RCPT):
        // nothing to say, as with Postfix.
        Ok(None) => return,
        Err(AttrError::TooManyAttrs(_) | AttrError::TooLarge(_)) => {
            let buffered = reader.buffered().to_vec();
            drop(reader);
            return reject_large_envelope(stream, &qid, buffered);
        }
        Err(e) => {
            msg_warn!("{qid}: read envelope: {e}");
            return;
        }
    };
    let buffered = reader.buffered().to_vec();
    let mut errs = Errs::default();
    let env = Envelope::from_attrs(&attrs).unwrap_or_else(|e| {
        msg_warn!("{qid}: message rejected: bad envelope: {e}");
        errs.add(STAT_BAD, None);
        Envelope {
            context: Context::Local,
            ..Envelope::default()
        }
    });
    let facts = MessageFacts {
        queue_id: qid.clone(),
        sender: String::new(),
        fullname: env.fullname.clone(),
        arrival: w.id().time(),
        context: header_context(state, env.context),
    };
    let mut m = Message {
        state,
        qid,
        w,
        env,
        rcpts: Vec::new(),
        facts,
        errs,
        size: 0,
        pending: Vec::new(),
        in_body: false,
        hop_bounce: false,
        size_bounce: false,
        headers: None,
        inspect: None,
        content_bounce: None,
        rcpts_written: false,
        late_redirect: false,
    };
    let last_rcpt = m.env.rcpts.last().map(|r| r.addr.clone());
    m.envelope();
    m.headers = Some(Headers::new(&state.settings.headers, m.facts.clone()));
    m.inspect = m.new_inspect(last_rcpt);
    let mut chunks = ChunkReader::new(BufReader::new(Cursor::new(buffered).chain(&mut *stream)));
    let mut buf = Vec::new();
    loop {
        match chunks.next_chunk(&mut buf) {
            Ok(true) => m.content(&buf),
            Ok(false) => break,
            // A client that goes away says nothing more (as Postfix).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return,
            Err(e) => {
                msg_warn!("{}: read message content: {e}", m.qid);
                return;
            }
        }
    }
    drop(chunks);
    let reply = m.finish();
    let qid = reply.str("queue_id").unwrap_or_default().to_string();
    let queued = reply.int("status").ok() == Some(0);
    if let Err(e) = AttrWriter::new(&mut *stream).write(&reply) {
        msg_warn!("{qid}: send status: {e}");
    }
    if queued {
        let p = std::path::Path::new("public/qmgr");
        if let Err(e) = global::trigger::send(p, &[global::trigger::QMGR_SCAN_INCOMING]) {
            msg_warn!("unable to trigger {}: {e}", p.display());
        }
    }
}

/// The envelope is past the bounds of [`envelope_limits`]: read the
/// rest of the input and answer that the message is too big (postconf(5):
/// `message_size_limit` counts envelope information). The queue file is
/// removed when the writer is dropped.
fn reject_large_envelope<S: Read + Write>(stream: &mut S, qid: &str, buffered: Vec<u8>) {
    msg_warn!("{qid}: queue file size limit exceeded");
    let mut input = BufReader::new(Cursor::new(buffered).chain(&mut *stream));
    let drained = skip_list(&mut input).and_then(|()| {
        let mut chunks = ChunkReader::new(&mut input);
        let mut buf = Vec::new();
        while chunks.next_chunk(&mut buf)? {}
        Ok(())
    });
    if let Err(e) = drained {
        msg_warn!("{qid}: read message content: {e}");
        return;
    }
    drop(input);
    let reply = Attrs::new()
        .put_int("status", i64::from(STAT_SIZE))
        .put_str("reason", status_reason(STAT_SIZE))
        .put_str("queue_id", qid);
    if let Err(e) = AttrWriter::new(&mut *stream).write(&reply) {
        msg_warn!("{qid}: send status: {e}");
    }
}

/// The header rewriting context: local mail always; remote mail only
/// when `remote_header_rewrite_domain` is set.
fn header_context(state: &State, ctx: Context) -> Option<Context> {
    match ctx {
        Context::Local => Some(Context::Local),
        Context::Remote => state.resolver.rewrites_remote().then_some(Context::Remote),
    }
}

impl Message<'_> {
    fn ok(&self) -> bool {
        self.errs.status == 0
    }

    pub(crate) fn write_err(&mut self, e: &queue::QueueError) {
        if self.errs.status & STAT_WRITE == 0 {
            msg_warn!("{}: queue file write error: {e}", self.qid);
        }
        self.errs.add(STAT_WRITE, None);
    }

    /// Rewrite and map the envelope; write sender, attributes, DSN.
    fn envelope(&mut self) {
        if !self.ok() {
            return;
        }
        let (r, maps, set) = (&self.state.resolver, &self.state.maps, &self.state.settings);
        let mut sender = String::new();
        if !self.env.sender.is_empty() {
            sender = r.rewrite(Context::Local, &self.env.sender);
            for (on, table) in [
                (set.env_sender_canon.0, &maps.sender_canonical),
                (set.env_sender_canon.1, &maps.canonical),
            ] {
                if on {
                    match maps.canonical(r, table, &sender, &self.qid) {
                        Ok(s) => sender = s,
                        Err(e) => return self.errs.map(&e),
                    }
                }
            }
        }
        self.facts.sender = sender.clone();
        let mut seen = HashSet::new();
        for inr in std::mem::take(&mut self.env.rcpts) {
            match self.recipient(&inr.addr) {
                Ok(list) => {
                    for addr in list {
                        let key = format!("{}\n{}\n{:?}\n{addr}", inr.addr, inr.notify, inr.orcpt);
                        if seen.insert(key) {
                            self.rcpts.push(Recipient {
                                address: addr,
                                orig: Some(inr.addr.clone()),
                                orcpt: inr.orcpt.clone(),
                                notify: queue::DsnNotify(inr.notify),
                                done: false,
                            });
                        }
                    }
                }
                Err(e) => return self.errs.map(&e),
            }
        }
        if let Some(to) = self.env.redirect.clone() {
            self.redirect(&to);
        }
        let env = &self.env;
        let r = self
            .w
            .set_sender(&sender)
            .and_then(|()| {
                env.attrs
                    .iter()
                    .try_for_each(|(n, v)| self.w.add_attr(n, v))
            })
            .and_then(|()| self.w.set_dsn(env.envid.as_deref(), env.ret));
        if let Err(e) = r {
            self.write_err(&e);
        }
    }

    /// access(5) REDIRECT: the message goes to `to` (in canonical form)
    /// instead of its recipients. The first recipient becomes `to` and
    /// keeps its original address and DSN fields (for `orig_to=` and
    /// DSNs); the others stay in the file, done, for the record.
    pub(crate) fn redirect(&mut self, to: &str) {
        let to = self.state.resolver.rewrite(Context::Local, to);
        let mut rest = std::mem::take(&mut self.rcpts).into_iter();
        let Some(first) = rest.next() else { return };
        self.rcpts.push(Recipient {
            address: to,
            orig: first.orig.clone().or(Some(first.address.clone())),
            ..first
        });
        self.rcpts
            .extend(rest.map(|r| Recipient { done: true, ..r }));
    }

    /// One envelope recipient through rewriting, canonical and virtual.
    pub(crate) fn recipient(&self, addr: &str) -> Result<Vec<String>, MapError> {
        let (r, maps, set) = (&self.state.resolver, &self.state.maps, &self.state.settings);
        let mut a = r.rewrite(Context::Local, addr);
        if set.env_rcpt_canon.0 {
            a = maps.canonical(r, &maps.recipient_canonical, &a, &self.qid)?;
        }
        if set.env_rcpt_canon.1 {
            a = maps.canonical(r, &maps.canonical, &a, &self.qid)?;
        }
        maps.virtual_alias(r, &a, &self.qid)
    }

    /// One content chunk.
    fn content(&mut self, chunk: &[u8]) {
        let before = self.size;
        self.size += chunk.len() as u64;
        let limit = self.state.settings.message_size_limit;
        if limit > 0 && self.size > limit && self.errs.status & STAT_SIZE == 0 && !self.size_bounce
        {
            msg_warn!("{}: queue file size limit exceeded", self.qid);
            if self.env.flags & FLAG_BOUNCE != 0 {
                // Keep the content up to the limit for the bounce.
                let keep = usize::try_from(limit.saturating_sub(before)).unwrap_or(0);
                if self.ok() {
                    self.take(&chunk[..keep.min(chunk.len())]);
                }
                self.size_bounce = true;
            } else {
                self.errs.add(STAT_SIZE, None);
            }
        }
        if !self.ok() || self.size_bounce || self.discarded() {
            return;
        }
        self.take(chunk);
        self.inspected();
    }

    /// Process content bytes: header lines, then body.
    fn take(&mut self, mut chunk: &[u8]) {
        while !self.in_body && !chunk.is_empty() {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(nl) => {
                    self.pending.extend_from_slice(&chunk[..nl]);
                    chunk = &chunk[nl + 1..];
                    let line = std::mem::take(&mut self.pending);
                    self.header_line(&line, true);
                }
                None => {
                    self.pending.extend_from_slice(chunk);
                    chunk = &[];
                    let cap = self.state.settings.headers.size_limit.max(64 * 1024);
                    if self.pending.len() > cap {
                        // Too long for a header line: it is body text.
                        let line = std::mem::take(&mut self.pending);
                        self.start_body(&line, false);
                    }
                }
            }
            if !self.ok() {
                return;
            }
        }
        if self.in_body && !chunk.is_empty() {
            self.write_body(chunk);
        }
    }

    /// A complete line (without newline) while in the header section.
    fn header_line(&mut self, line: &[u8], newline: bool) {
        let (r, maps) = (&self.state.resolver, &self.state.maps);
        let Some(hdrs) = self.headers.as_mut() else {
            return;
        };
        let insp = &mut self.inspect;
        let mut check = |h: &[u8]| insp.as_mut().map_or(Edit::Keep, |i| i.primary(h));
        match hdrs.line_with(r, maps, line, &mut check) {
            Ok(true) => {}
            Ok(false) => self.start_body(line, newline),
            Err(e) => self.errs.map(&e),
        }
    }

    /// The header section ended before `line` (a body line, followed by a
    /// newline when `newline`): finish the headers, decide about the hop
    /// count, write recipients, headers and the line.
    fn start_body(&mut self, line: &[u8], newline: bool) {
        self.in_body = true;
        if !self.end_headers() {
            return;
        }
        let mut first = line.to_vec();
        if newline {
            first.push(b'\n');
        }
        self.write_body(&first);
    }

    /// Finish the header section (see [`Message::start_body`]); returns
    /// whether writing may go on.
    fn end_headers(&mut self) -> bool {
        let Some(hdrs) = self.headers.take() else {
            return self.ok();
        };
        let hops = hdrs.hops;
        let insp = &mut self.inspect;
        let mut check = |h: &[u8]| insp.as_mut().map_or(Edit::Keep, |i| i.primary(h));
        let text = match hdrs.finish_with(&self.state.resolver, &self.state.maps, &mut check) {
            Ok(t) => t,
            Err(e) => {
                self.errs.map(&e);
                return false;
            }
        };
        if hops >= self.state.settings.hopcount_limit {
            // Postfix's cleanup logs this warning for both outcomes.
            msg_warn!("{}: message rejected: hopcount exceeded", self.qid);
            if self.env.flags & FLAG_BOUNCE != 0 {
                self.hop_bounce = true;
            } else {
                self.errs.add(STAT_HOPS, None);
                return false;
            }
        }
        if let Some(i) = self.inspect.as_mut() {
            i.start_body();
        }
        self.inspected();
        if !self.ok() {
            return false;
        }
        if let Some(to) = self.inspect.as_ref().and_then(|i| i.redirect.clone()) {
            self.redirect(&to);
        }
        self.rcpts_written = true;
        let done = self.hop_bounce;
        let r = self
            .rcpts
            .iter()
            .try_for_each(|r| {
                self.w.add_recipient(&Recipient {
                    done: done || r.done,
                    ..r.clone()
                })
            })
            .and_then(|()| self.w.write_content(&text));
        if let Err(e) = r {
            self.write_err(&e);
        }
        self.ok()
    }

    /// The content has ended: finish, commit or reject; the reply.
    fn finish(mut self) -> Attrs {
        if self.ok() && !self.in_body {
            let line = std::mem::take(&mut self.pending);
            if !line.is_empty() {
                self.header_line(&line, false);
            }
            if self.ok() && !self.in_body {
                self.in_body = true;
                self.end_headers();
            }
        }
        if self.ok() && !self.size_bounce && !self.discarded() {
            self.end_body();
        }
        if self.discarded() {
            // DISCARD: claim success; dropping the writer removes the file.
            return Attrs::new()
                .put_int("status", 0)
                .put_str("reason", "")
                .put_str("queue_id", &self.qid);
        }
        if self.ok() && self.rcpts.is_empty() {
            self.errs.add(STAT_RCPT, None);
        }
        if self.ok() && self.hop_bounce {
            self.bounce_all(&deliver::dsn::Dsn::new("5.4.0", "too many hops"));
        } else if self.ok() && self.size_bounce {
            self.bounce_all(&deliver::dsn::Dsn::new("5.3.4", "message file too big"));
        } else if let (true, Some(reason)) = (self.ok(), self.content_bounce.clone()) {
            let (code, text) = reason.split_once(' ').unwrap_or((&reason, ""));
            self.bounce_all(&deliver::dsn::Dsn::new(code, text));
        }
        if self.ok() {
            self.extracted();
        }
        let qid = self.qid.clone();
        let bounced = self.hop_bounce || self.size_bounce || self.content_bounce.is_some();
        if !self.ok() && bounced {
            let _ = deliver::dsn_log::remove(&self.state.qdir, queue::BOUNCE, self.w.id());
        }
        if !self.ok() {
            let reason = self.errs.reason();
            return Attrs::new()
                .put_int("status", i64::from(self.errs.status))
                .put_str("reason", &reason)
                .put_str("queue_id", &qid);
        }
        let qdir = &self.state.qdir;
        let id = self.w.id().clone();
        match self.commit() {
            Ok(()) => Attrs::new()
                .put_int("status", 0)
                .put_str("reason", "")
                .put_str("queue_id", &qid),
            Err(e) => {
                msg_warn!("{qid}: queue file write error: {e}");
                if bounced {
                    let _ = deliver::dsn_log::remove(qdir, queue::BOUNCE, &id);
                }
                Attrs::new()
                    .put_int("status", i64::from(STAT_WRITE))
                    .put_str("reason", status_reason(STAT_WRITE))
                    .put_str("queue_id", &qid)
            }
        }
    }

    /// Commit the file; with the hold flag, into the `hold` queue.
    fn commit(self) -> queue::Result<()> {
        if self.size_bounce || self.content_bounce.is_some() || self.late_redirect {
            return self.commit_done();
        }
        let hold = self.inspect.as_ref().is_some_and(|i| i.hold);
        if self.env.flags & FLAG_HOLD == 0 && !hold {
            return self.w.commit().map(|_| ());
        }
        let id = self.w.id().clone();
        let qdir = &self.state.qdir;
        let held = qdir.rename(&id, queue::INCOMING, queue::HOLD)?;
        match self.w.commit() {
            Ok(_) => queue::dir::sync_dir(held.parent().unwrap_or(qdir.root())),
            Err(e) => {
                let _ = std::fs::remove_file(&held);
                Err(e)
            }
        }
    }
}
