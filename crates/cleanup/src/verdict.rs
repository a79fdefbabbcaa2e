//! NAME
//!   verdict - what the session does with header_checks(5) decisions
//!
//! DESCRIPTION
//!   The glue between [`crate::session`] and [`crate::inspect`]:
//!
//!   - inspection is on when a table is configured, unless
//!     `receive_override_options` has `no_header_body_checks` (cleanup's
//!     own, or the client's: envelope flag 8), and never for
//!     notifications (flag 2; Postfix's `internal_mail_filter_classes`
//!     is empty by default);
//!   - REJECT with a 5.x.x reason is status 8 (content rejected) with
//!     that reason, which smtpd gives the client; with a 4.x.x reason,
//!     status 64 (try again later). When the client set the bounce flag
//!     (pickup for sendmail(1)), a 5.x.x REJECT bounces the message to
//!     the sender instead, as hop and size problems are bounced
//!     ([`crate::bounced`]);
//!   - DISCARD: the rest of the content is read and dropped, the queue
//!     file is removed, and the client is told the message was queued;
//!   - HOLD: the message goes to the `hold` queue;
//!   - FILTER and REDIRECT become the queue file's `filter=` /
//!     `redirect=` records (they win over the client's and
//!     `content_filter`); a REDIRECT found in the headers replaces the
//!     recipients before they are written, one found in the body adds the
//!     redirect address as an extracted recipient and marks the others
//!     done when the file is committed;
//!   - BCC adds extracted recipients (canonical and virtual mapping
//!     apply) with NOTIFY=NEVER, skipping duplicates;
//!   - a table that fails is a lookup problem: status 2, the client
//!     tries again later.
//!
//! SEE ALSO
//!   header_checks(5), cleanup(8), doc/PIPELINE.md.
use crate::checks::LogContext;
use crate::inspect::Inspect;
use crate::session::Message;
use global::cleanup_client::{
    FLAG_BOUNCE, FLAG_NOTIFICATION, FLAG_NO_HEADER_BODY_CHECKS, STAT_CONT, STAT_DEFER,
};
use queue::{DsnNotify, Recipient};

/// RFC 3461 NOTIFY=NEVER in queue::DsnNotify bits.
const NOTIFY_NEVER: u8 = 1;

impl<'a> Message<'a> {
    /// The inspection state for this message, or `None` when it is not
    /// inspected (module description). `last_rcpt`: the client's last
    /// recipient, for log lines.
    pub(crate) fn new_inspect(&self, last_rcpt: Option<String>) -> Option<Inspect<'a>> {
        let state: &'a crate::State = self.state;
        let off = FLAG_NO_HEADER_BODY_CHECKS | FLAG_NOTIFICATION;
        if !state.checks.any() || state.settings.no_checks || self.env.flags & off != 0 {
            return None;
        }
        let attr = |n: &str| {
            self.env
                .attrs
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let log = LogContext {
            qid: self.qid.clone(),
            client: attr("log_client"),
            sender: self.facts.sender.clone(),
            rcpt: last_rcpt,
            proto: attr("protocol_name"),
            helo: attr("helo_name"),
        };
        Some(Inspect::new(
            &state.checks,
            log,
            state.settings.headers.size_limit,
        ))
    }

    /// Whether a DISCARD action fired.
    pub(crate) fn discarded(&self) -> bool {
        self.inspect.as_ref().is_some_and(|i| i.discard)
    }

    /// Take the inspection's REJECT and table errors into the status.
    pub(crate) fn inspected(&mut self) {
        let Some(insp) = self.inspect.as_mut() else {
            return;
        };
        let error = insp.error.take();
        let reject = insp.reject.take();
        if let Some(e) = error {
            self.errs.map(&e);
        }
        if let Some(reason) = reject {
            if reason.starts_with('4') {
                self.errs.add(STAT_DEFER, Some(reason));
            } else if self.env.flags & FLAG_BOUNCE != 0 {
                self.content_bounce = Some(reason);
            } else {
                self.errs.add(STAT_CONT, Some(reason));
            }
        }
    }

    /// Write body bytes, through body inspection when it is on.
    pub(crate) fn write_body(&mut self, bytes: &[u8]) {
        let r = match self.inspect.as_mut() {
            Some(i) if self.state.checks.inspects_body() => {
                let mut out = Vec::with_capacity(bytes.len() + 64);
                i.body(bytes, &mut out);
                self.w.write_content(&out)
            }
            _ => self.w.write_content(bytes),
        };
        if let Err(e) = r {
            self.write_err(&e);
        }
        self.inspected();
    }

    /// The content has ended: write what body inspection held back.
    pub(crate) fn end_body(&mut self) {
        let Some(i) = self.inspect.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        i.body_end(&mut out);
        if !out.is_empty() {
            if let Err(e) = self.w.write_content(&out) {
                self.write_err(&e);
            }
        }
        self.inspected();
    }

    /// Write the records that follow the content: BCC recipients, a
    /// REDIRECT found after the recipients were written, and the
    /// routing attributes.
    pub(crate) fn extracted(&mut self) {
        let bounced = self.hop_bounce || self.size_bounce || self.content_bounce.is_some();
        let (bccs, redirect) = match &self.inspect {
            Some(i) if !bounced => (i.bccs.clone(), i.redirect.clone()),
            _ => (Vec::new(), None),
        };
        for bcc in bccs {
            match self.recipient(&bcc) {
                Ok(list) => {
                    for addr in list {
                        let dup = self
                            .rcpts
                            .iter()
                            .any(|r| r.address == addr && r.notify.0 == NOTIFY_NEVER);
                        if dup {
                            continue;
                        }
                        let r = Recipient {
                            address: addr,
                            orig: Some(bcc.clone()),
                            orcpt: None,
                            notify: DsnNotify(NOTIFY_NEVER),
                            done: false,
                        };
                        if let Err(e) = self.w.add_recipient(&r) {
                            return self.write_err(&e);
                        }
                        self.rcpts.push(r);
                    }
                }
                Err(e) => return self.errs.map(&e),
            }
        }
        if let (Some(to), true) = (redirect, self.rcpts_written) {
            self.late_redirect(&to);
        }
        let routing = self.routing_attrs();
        if routing.is_empty() {
            return;
        }
        // Attributes written inside the content would be content: end it.
        if let Err(e) = self.w.end_content() {
            return self.write_err(&e);
        }
        for (n, v) in routing {
            if let Err(e) = self.w.add_attr(&n, &v) {
                return self.write_err(&e);
            }
        }
    }

    /// The `filter` and `redirect` attributes for the queue file (written
    /// after the content): a header_checks(5) FILTER, else the client's
    /// filter (empty: none), else `content_filter` unless this is a
    /// notification (PIPELINE.md); a header_checks(5) REDIRECT, else the
    /// client's redirect address.
    pub(crate) fn routing_attrs(&self) -> Vec<(String, String)> {
        let env = &self.env;
        let checked = self.inspect.as_ref();
        let filter = match (checked.and_then(|i| i.filter.as_ref()), &env.filter) {
            (Some(f), _) | (None, Some(f)) => f.trim().to_string(),
            (None, None) if env.flags & FLAG_NOTIFICATION == 0 => {
                self.state.settings.content_filter.clone()
            }
            (None, None) => String::new(),
        };
        let mut out = Vec::new();
        if !filter.is_empty() {
            out.push(("filter".to_string(), filter));
        }
        if let Some(r) = checked
            .and_then(|i| i.redirect.as_ref())
            .or(env.redirect.as_ref())
        {
            out.push(("redirect".to_string(), r.clone()));
        }
        out
    }

    /// A body REDIRECT: one extracted recipient for `to` (keeping the
    /// first recipient's original address); the written ones are marked
    /// done at commit time.
    fn late_redirect(&mut self, to: &str) {
        // A header REDIRECT was applied before the recipients were
        // written; only a new address needs the late form.
        if self
            .rcpts
            .first()
            .is_some_and(|r| r.address == self.state.resolver.rewrite(resolve::Context::Local, to))
        {
            return;
        }
        let Some(first) = self.rcpts.iter().find(|r| !r.done).cloned() else {
            return;
        };
        let r = Recipient {
            address: self.state.resolver.rewrite(resolve::Context::Local, to),
            orig: first.orig.clone().or(Some(first.address.clone())),
            done: false,
            ..first
        };
        if let Err(e) = self.w.add_recipient(&r) {
            return self.write_err(&e);
        }
        self.late_redirect = true;
    }
}
