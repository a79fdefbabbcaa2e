//! NAME
//!   agent - the delivery agent side: serve one request, report recipients
//!
//! SYNOPSIS
//!   ```ignore
//!   let env = AgentEnv::from_config(&ctx.config);
//!   skeleton::single_server("discard", Hooks::new(), move |_, client, _| {
//!       let _ = deliver::agent_serve(client, &env, |d| {
//!           for pos in 0..d.request().recipients.len() {
//!               d.sent(pos, "none", &Dsn::new("2.0.0", "discarded"))?;
//!           }
//!           Ok(())
//!       });
//!   });
//!   ```
//!
//! DESCRIPTION
//!   [`agent_serve`] reads one delivery request from qmgr, notes the
//!   hand-off time, opens the queue file named in it (relative to the
//!   current directory, `queue_directory`), checks that every recipient
//!   index names that recipient in the file, and calls the agent's handler
//!   with a [`Delivery`]. The handler reports each recipient, by its
//!   position `pos` in `request().recipients`, exactly once:
//!
//!   - [`Delivery::sent`] logs the line below (`orig_to` only when the
//!     original address differs), then marks the recipient done in the
//!     queue file (fsynced):
//!     `ID: to=<rcpt>, orig_to=<orig>, relay=R, delay=D, delays=a/b/c/d, dsn=2.0.0, status=sent (reason)`.
//!   - [`Delivery::bounce`]: appends a `failed` record to `bounce/ID`
//!     (fsynced), logs `status=bounced (reason)`, marks the recipient done.
//!   - [`Delivery::defer`]: appends a `delayed` record to `defer/ID`, logs
//!     `status=deferred (reason)`; the recipient stays pending.
//!
//!   The order (DSN log, log line, done mark) means a crash never loses a
//!   bounce and never loses mail; at worst a recipient is delivered twice.
//!   The status class must match the call (2 for sent, 5 for bounce, 4 for
//!   defer); a mismatched code is logged as a warning and replaced by
//!   `2.0.0`, `5.0.0` or `4.0.0` as Postfix does.
//!
//!   Agents that expand one recipient into several deliveries (local(8)
//!   aliases and .forward) log each member with [`Delivery::sent_member`],
//!   [`Delivery::bounce_member`] and [`Delivery::defer_member`]
//!   (`to=<member>, orig_to=<recipient>`; members' bounce and defer
//!   records carry the member address) and then close the recipient with
//!   [`Delivery::finish`]. [`Delivery::connected`] marks the end of
//!   connection setup for the `c` part of `delays=`.
//!
//!   When the handler returns `Err(dsn)` (the agent cannot work: no such
//!   transport table, a resource problem), every recipient without an
//!   outcome is deferred with that reason and the reply has `status=1`.
//!   Recipients the handler forgot are deferred with `4.3.0 delivery
//!   agent did not handle this recipient`. A request that cannot be
//!   decoded, or whose queue file cannot be opened, is answered with
//!   `status=1` and a reason, and qmgr defers the recipients.
//!
//! DIAGNOSTICS
//!   Warnings for malformed requests, missing queue files, failed done
//!   marks or DSN log writes (the recipient is then reported deferred).
//!
//! SEE ALSO
//!   doc/PIPELINE.md "Delivery protocol", [`crate::dsn_log`],
//!   postconf(5) `delay_logging_resolution_limit`, `ipc_timeout`.
use crate::delay::Stamps;
use crate::dsn::{Dsn, DsnStatus};
use crate::dsn_log::{self, DsnRecord};
use crate::error::{DeliverError, Result};
use crate::request::{Action, AgentReply, DeliveryRequest, RcptOutcome, RequestRecipient};
use global::attr::{AttrReader, AttrWriter};
use global::Config;
use queue::{QueueDir, QueueFile};
use std::io::{Read, Write};
use std::time::{SystemTime, UNIX_EPOCH};
use util::{msg_info, msg_warn};

/// What every request of one agent process shares.
#[derive(Debug, Clone)]
pub struct AgentEnv {
    /// The queue tree, normally rooted at `.` (the daemon's cwd is
    /// `queue_directory`, chrooted or not).
    pub qdir: QueueDir,
    /// postconf(5) `delay_logging_resolution_limit` (0..6).
    pub delay_resolution: u32,
}

impl AgentEnv {
    /// The environment a daemon gets from its configuration: the queue
    /// layout rooted at `.` and `delay_logging_resolution_limit`.
    /// Malformed values fall back to the defaults with a warning.
    pub fn from_config(cfg: &Config) -> AgentEnv {
        let qdir = QueueDir::from_config(cfg)
            .unwrap_or_else(|e| {
                msg_warn!("{e}");
                QueueDir::new(".", &["deferred", "defer"], 1)
            })
            .with_root(".");
        let res = cfg
            .get_int("delay_logging_resolution_limit")
            .unwrap_or_else(|e| {
                msg_warn!("{e}");
                2
            });
        AgentEnv {
            qdir,
            delay_resolution: u32::try_from(res.clamp(0, 6)).unwrap_or(2),
        }
    }

    /// An environment for tests and tools: `qdir` as given, resolution 2.
    pub fn new(qdir: QueueDir) -> AgentEnv {
        AgentEnv {
            qdir,
            delay_resolution: 2,
        }
    }
}

/// One delivery request being worked on by an agent.
#[derive(Debug)]
pub struct Delivery<'a> {
    env: &'a AgentEnv,
    req: DeliveryRequest,
    qf: QueueFile,
    stamps: Stamps,
    outcomes: Vec<Option<RcptOutcome>>,
}

/// The status word of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Sent,
    Bounced,
    Deferred,
}

impl Word {
    fn text(self) -> &'static str {
        match self {
            Word::Sent => "sent",
            Word::Bounced => "bounced",
            Word::Deferred => "deferred",
        }
    }

    fn class(self) -> u8 {
        match self {
            Word::Sent => 2,
            Word::Bounced => 5,
            Word::Deferred => 4,
        }
    }

    fn dsn_log(self) -> Option<(&'static str, &'static str)> {
        match self {
            Word::Sent => None,
            Word::Bounced => Some((queue::BOUNCE, "failed")),
            Word::Deferred => Some((queue::DEFER, "delayed")),
        }
    }
}

/// The parts of one delivery status log line.
#[derive(Debug, Clone, Copy)]
pub struct LineParts<'a> {
    /// Queue ID.
    pub id: &'a str,
    /// The recipient shown in `to=<>`.
    pub to: &'a str,
    /// The original address; shown as `orig_to=<>` when it differs from `to`.
    pub orig: Option<&'a str>,
    /// `relay=` value.
    pub relay: &'a str,
    /// `delay=` value ([`crate::delay::format_delay`]).
    pub delay: &'a str,
    /// `delays=` value (`a/b/c/d`).
    pub delays: &'a str,
    /// Status code and reason.
    pub dsn: &'a Dsn,
    /// `sent`, `bounced`, `deferred`.
    pub status: &'a str,
}

/// Postfix's delivery status line:
/// `ID: to=<rcpt>, orig_to=<orig>, relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (reason)`.
pub fn status_line(p: &LineParts<'_>) -> String {
    let orig = match p.orig {
        Some(o) if o != p.to => format!(", orig_to=<{o}>"),
        _ => String::new(),
    };
    format!(
        "{}: to=<{}>{}, relay={}, delay={}, delays={}, dsn={}, status={} ({})",
        p.id, p.to, orig, p.relay, p.delay, p.delays, p.dsn.status, p.status, p.dsn.reason
    )
}

/// A toolkit failure inside a handler becomes a temporary failure.
impl From<DeliverError> for Dsn {
    fn from(e: DeliverError) -> Dsn {
        Dsn::with_status(DsnStatus::new(4, 3, 0), &format!("mail system error: {e}"))
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl<'a> Delivery<'a> {
    /// The request.
    pub fn request(&self) -> &DeliveryRequest {
        &self.req
    }

    /// The queue file (content, envelope attributes).
    pub fn queue_file(&self) -> &QueueFile {
        &self.qf
    }

    /// The agent's environment.
    pub fn env(&self) -> &AgentEnv {
        self.env
    }

    /// Record that the connection to the next hop is ready now (ends the
    /// `c` part of `delays=`).
    pub fn connected(&mut self) {
        self.stamps.conn_done = Some(SystemTime::now());
    }

    /// The outcome reported for recipient `pos` so far.
    pub fn outcome(&self, pos: usize) -> Option<Action> {
        self.outcomes.get(pos).copied().flatten().map(|o| o.action)
    }

    fn rcpt(&self, pos: usize) -> Result<&RequestRecipient> {
        self.req
            .recipients
            .get(pos)
            .ok_or_else(|| DeliverError::Protocol(format!("no recipient at position {pos}")))
    }

    /// Force the class of `dsn` to `word`'s, with Postfix's warning.
    fn fix_class(word: Word, dsn: &Dsn) -> Dsn {
        let mut d = dsn.clone();
        if d.status.class != word.class() {
            msg_warn!("{}: ignoring dsn code \"{}\"", word.text(), d.status);
            d.status = DsnStatus::new(word.class(), 0, 0);
        }
        d
    }

    /// Log one status line for recipient `pos` shown as `to`, and append
    /// to the DSN log when `word` needs one. Returns the DSN used.
    fn log_one(
        &self,
        pos: usize,
        to: Option<&str>,
        word: Word,
        relay: &str,
        dsn: &Dsn,
    ) -> Result<Dsn> {
        let r = self.rcpt(pos)?;
        let dsn = Self::fix_class(word, dsn);
        let (shown, orig) = match to {
            Some(member) => (member, Some(r.orig.as_deref().unwrap_or(&r.address))),
            None => (r.address.as_str(), r.orig.as_deref()),
        };
        if let Some((queue, action)) = word.dsn_log() {
            let rec = DsnRecord {
                rcpt_index: Some(r.index),
                rcpt: shown.to_string(),
                orcpt: r.orcpt.clone(),
                notify: r.notify,
                orig: orig.map(str::to_string),
                dsn: dsn.clone(),
                action: action.to_string(),
                relay: relay.to_string(),
                time: now_secs(),
            };
            dsn_log::append(&self.env.qdir, queue, &self.req.queue_id, &rec)?;
        }
        let (delay, delays) = self
            .stamps
            .format(SystemTime::now(), self.env.delay_resolution);
        msg_info!(
            "{}",
            status_line(&LineParts {
                id: self.req.queue_id.as_str(),
                to: shown,
                orig,
                relay,
                delay: &delay,
                delays: &delays,
                dsn: &dsn,
                status: word.text(),
            })
        );
        Ok(dsn)
    }

    fn set_outcome(&mut self, pos: usize, action: Action, status: DsnStatus) -> Result<()> {
        let index = self.rcpt(pos)?.index;
        if matches!(action, Action::Delivered | Action::Bounced) {
            self.qf.mark_done(index)?;
        }
        self.outcomes[pos] = Some(RcptOutcome {
            index,
            dsn_status: status,
            action,
        });
        Ok(())
    }

    fn report(&mut self, pos: usize, word: Word, relay: &str, dsn: &Dsn) -> Result<()> {
        let used = self.log_one(pos, None, word, relay, dsn)?;
        let action = match word {
            Word::Sent => Action::Delivered,
            Word::Bounced => Action::Bounced,
            Word::Deferred => Action::Deferred,
        };
        self.set_outcome(pos, action, used.status)
    }

    /// Recipient `pos` was delivered: log `status=sent (reason)` and mark
    /// it done. Errors: bad position, or the done mark failed (I/O); the
    /// recipient then stays pending and will be delivered again.
    pub fn sent(&mut self, pos: usize, relay: &str, dsn: &Dsn) -> Result<()> {
        self.report(pos, Word::Sent, relay, dsn)
    }

    /// Recipient `pos` failed permanently: append to `bounce/ID`, log
    /// `status=bounced (reason)`, mark it done. Errors: bad position, I/O
    /// (when the bounce log cannot be written the recipient stays pending).
    pub fn bounce(&mut self, pos: usize, relay: &str, dsn: &Dsn) -> Result<()> {
        self.report(pos, Word::Bounced, relay, dsn)
    }

    /// Recipient `pos` failed temporarily: append to `defer/ID`, log
    /// `status=deferred (reason)`. Errors: bad position, I/O.
    pub fn defer(&mut self, pos: usize, relay: &str, dsn: &Dsn) -> Result<()> {
        self.report(pos, Word::Deferred, relay, dsn)
    }

    /// Log a delivery to `member`, an expansion of recipient `pos`
    /// (`to=<member>, orig_to=<recipient>`); the recipient stays open.
    pub fn sent_member(&mut self, pos: usize, member: &str, relay: &str, dsn: &Dsn) -> Result<()> {
        self.log_one(pos, Some(member), Word::Sent, relay, dsn)
            .map(|_| ())
    }

    /// Bounce `member`, an expansion of recipient `pos` (record in
    /// `bounce/ID` with the member address); the recipient stays open.
    pub fn bounce_member(
        &mut self,
        pos: usize,
        member: &str,
        relay: &str,
        dsn: &Dsn,
    ) -> Result<()> {
        self.log_one(pos, Some(member), Word::Bounced, relay, dsn)
            .map(|_| ())
    }

    /// Defer `member`, an expansion of recipient `pos`; the recipient stays open.
    pub fn defer_member(&mut self, pos: usize, member: &str, relay: &str, dsn: &Dsn) -> Result<()> {
        self.log_one(pos, Some(member), Word::Deferred, relay, dsn)
            .map(|_| ())
    }

    /// Close recipient `pos` after its members were reported, without a
    /// log line: `Delivered` or `Bounced` mark it done, `Deferred` leaves
    /// it pending (so every member is tried again later). Errors: bad
    /// position, I/O on the done mark.
    pub fn finish(&mut self, pos: usize, action: Action, status: DsnStatus) -> Result<()> {
        self.set_outcome(pos, action, status)
    }

    /// Defer every recipient without an outcome with `dsn`. A recipient
    /// whose defer record cannot be written is left without an outcome.
    fn defer_rest(&mut self, dsn: &Dsn) {
        for pos in 0..self.req.recipients.len() {
            if self.outcomes[pos].is_none() {
                if let Err(e) = self.defer(pos, "none", dsn) {
                    msg_warn!("{}: {e}", self.req.queue_id.as_str());
                }
            }
        }
    }
}

fn reply<S: Write>(stream: &mut S, r: &AgentReply) -> Result<()> {
    AttrWriter::new(stream).write(&r.encode())?;
    Ok(())
}

fn refuse<S: Write>(stream: &mut S, reason: &str) -> Result<()> {
    reply(
        stream,
        &AgentReply {
            status: 1,
            reason: Some(reason.to_string()),
            outcomes: Vec::new(),
        },
    )
}

/// Check that each request recipient names that recipient of the file.
fn check_recipients(req: &DeliveryRequest, qf: &QueueFile) -> std::result::Result<(), String> {
    let file = &qf.envelope().recipients;
    for r in &req.recipients {
        match file.get(r.index) {
            Some(f) if f.address == r.address => {}
            Some(f) => {
                return Err(format!(
                    "recipient index {} is <{}> in the queue file, not <{}>",
                    r.index, f.address, r.address
                ))
            }
            None => return Err(format!("recipient index {} out of range", r.index)),
        }
    }
    Ok(())
}

/// Serve one delivery request on `stream` (see DESCRIPTION). Returns
/// `Ok(())` also when the peer closed before sending anything. Errors:
/// the request could not be read or the reply not sent (logged by the
/// caller if it wishes; qmgr then defers the recipients).
pub fn agent_serve<S, F>(stream: &mut S, env: &AgentEnv, handler: F) -> Result<()>
where
    S: Read + Write,
    F: FnOnce(&mut Delivery<'_>) -> std::result::Result<(), Dsn>,
{
    let attrs = match AttrReader::new(&mut *stream).read() {
        Ok(Some(a)) => a,
        Ok(None) => return Ok(()),
        Err(e) => {
            msg_warn!("read delivery request: {e}");
            return Err(e.into());
        }
    };
    let handoff = SystemTime::now();
    let req = match DeliveryRequest::decode(&attrs) {
        Ok(r) => r,
        Err(e) => {
            msg_warn!("bad delivery request: {e}");
            return refuse(stream, "4.3.0 mail system error: bad delivery request");
        }
    };
    let id = req.queue_id.as_str().to_string();
    let qf = match QueueFile::open(&env.qdir, &req.queue_name, &req.queue_id) {
        Ok(f) => f,
        Err(e) => {
            msg_warn!("{id}: cannot open queue file: {e}");
            return refuse(stream, "4.3.0 mail system error: cannot open queue file");
        }
    };
    if let Err(e) = check_recipients(&req, &qf) {
        msg_warn!("{id}: bad delivery request: {e}");
        return refuse(stream, "4.3.0 mail system error: bad delivery request");
    }
    let n = req.recipients.len();
    let mut d = Delivery {
        env,
        stamps: Stamps {
            arrival: req.arrival,
            active: req.active,
            handoff,
            conn_done: None,
        },
        req,
        qf,
        outcomes: vec![None; n],
    };
    let result = handler(&mut d);
    let (status, reason) = match result {
        Ok(()) => {
            if d.outcomes.iter().any(Option::is_none) {
                msg_warn!("{id}: delivery agent did not handle every recipient");
                d.defer_rest(&Dsn::new(
                    "4.3.0",
                    "delivery agent did not handle this recipient",
                ));
            }
            (0, None)
        }
        Err(dsn) => {
            let dsn = Dsn {
                status: dsn.status.with_class(4),
                ..dsn
            };
            d.defer_rest(&dsn);
            (1, Some(format!("{} {}", dsn.status, dsn.reason)))
        }
    };
    let r = AgentReply {
        status,
        reason,
        outcomes: d.outcomes.iter().flatten().copied().collect(),
    };
    reply(stream, &r)
}

#[cfg(test)]
mod tests;
