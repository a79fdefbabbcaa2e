//! NAME
//!   service - the bounce protocol: flush, warn, expire, trace
//!
//! DESCRIPTION
//!   [`Bounce::handle`] answers one request of doc/PIPELINE.md's bounce
//!   protocol (`request`, `queue_name`, `queue_id`; reply `status`,
//!   `reason`):
//!
//!   - `flush`: the records of `bounce/ID` become a non-delivery
//!     notification to the sender (recipients whose DSN NOTIFY excludes
//!     FAILURE are left out; NOTIFY=NEVER suppresses them), logged
//!     `ID: sender non-delivery notification: NEWID`. When
//!     `notify_classes` has `bounce`, a copy with headers only goes to
//!     `bounce_notice_recipient`. A message from the null sender (itself
//!     a notification) gets a double bounce to `2bounce_notice_recipient`
//!     instead; a message from the double-bounce sender is never bounced.
//!     Then `bounce/ID` is removed.
//!   - `warn`: the latest record per recipient of `defer/ID` becomes a
//!     delay warning (NOTIFY DELAY, or NOTIFY not given), logged
//!     `ID: sender delay notification: NEWID`; `notify_classes` `delay`
//!     sends a copy to `delay_notice_recipient`. `defer/ID` stays.
//!   - `expire`: each recipient still pending in the queue file is
//!     bounced with its latest reason from `defer/ID` (appended to
//!     `bounce/ID` and marked done), then as `flush`.
//!   - `trace`: the records of `trace/ID` whose recipients asked for DSN
//!     NOTIFY=SUCCESS (written by delivery agents: `delivered`,
//!     `expanded`, `relayed`) become a delivery report to the sender,
//!     logged `ID: sender delivery status notification: NEWID`, as
//!     Postfix's bounce(8) does; then `trace/ID` is removed.
//!
//!   Notifications are submitted through cleanup like any message, from
//!   the null sender (postmaster copies from the double-bounce sender, so
//!   that they are never bounced), with flags marking them as
//!   notifications. A failed submission answers `status=1`, leaving the
//!   logs for the next attempt.
//!
//! SEE ALSO
//!   bounce(8), postconf(5) `bounce_size_limit`, `notify_classes`,
//!   `2bounce_notice_recipient`, `double_bounce_sender`.
use crate::compose::{compose, Kind, Report, Returned};
use chrono::{DateTime, Local};
use deliver::{dsn_log, DsnRecord};
use global::attr::Attrs;
use global::cleanup_client::{CleanupSession, Submission, SubmitRecipient, FLAG_NOTIFICATION};
use global::Config;
use queue::{DsnNotify, DsnRet, QueueDir, QueueFile, QueueId};
use std::time::{Duration, SystemTime};
use util::{msg_info, msg_warn};

/// The bounce service's parameters.
#[derive(Debug, Clone)]
pub struct Bounce {
    cfg: Config,
    qdir: QueueDir,
    myhostname: String,
    bounce_size_limit: u64,
    notify_classes: Vec<String>,
    bounce_notice_recipient: String,
    delay_notice_recipient: String,
    two_bounce_recipient: String,
    double_bounce_sender: String,
    lifetime: Duration,
}

/// An error that becomes `status=1 reason=...`.
type Failed = String;

impl Bounce {
    /// Read the parameters. Errors: a bad value, as text.
    pub fn from_config(cfg: &Config) -> Result<Bounce, String> {
        let s = |n: &str| cfg.get(n).map_err(|e| e.to_string());
        let qdir = QueueDir::from_config(cfg)
            .map_err(|e| e.to_string())?
            .with_root(".");
        let myhostname = s("myhostname")?;
        Ok(Bounce {
            qdir,
            bounce_size_limit: u64::try_from(
                cfg.get_int("bounce_size_limit")
                    .map_err(|e| e.to_string())?,
            )
            .unwrap_or(0),
            notify_classes: cfg.get_list("notify_classes").map_err(|e| e.to_string())?,
            bounce_notice_recipient: s("bounce_notice_recipient")?,
            delay_notice_recipient: s("delay_notice_recipient")?,
            two_bounce_recipient: s("2bounce_notice_recipient")?,
            double_bounce_sender: format!("{}@{myhostname}", s("double_bounce_sender")?),
            lifetime: Duration::from_secs(
                cfg.get_time("maximal_queue_lifetime")
                    .map_err(|e| e.to_string())?,
            ),
            myhostname,
            cfg: cfg.clone(),
        })
    }

    /// Use `qdir` for the queue (tests).
    pub fn with_queue(mut self, qdir: QueueDir) -> Bounce {
        self.qdir = qdir;
        self
    }

    /// Serve one request; returns the reply.
    pub fn handle(&self, req: &Attrs) -> Attrs {
        let result = (|| -> Result<(), Failed> {
            let what = req.str("request").map_err(|e| e.to_string())?;
            let queue_name = req.str("queue_name").map_err(|e| e.to_string())?;
            let id = req.str("queue_id").map_err(|e| e.to_string())?;
            let id = QueueId::parse(id).ok_or_else(|| format!("bad queue ID: {id}"))?;
            if !queue::dir::queue_name_ok(queue_name) {
                return Err(format!("bad queue name: {queue_name}"));
            }
            match what {
                "flush" => self.flush(queue_name, &id),
                "warn" => self.warn(queue_name, &id),
                "trace" => self.trace(queue_name, &id),
                "expire" => self
                    .expire(queue_name, &id)
                    .and_then(|_| self.flush(queue_name, &id)),
                other => Err(format!("unknown request: {other}")),
            }
        })();
        match result {
            Ok(()) => Attrs::new().put_int("status", 0),
            Err(e) => {
                msg_warn!("{e}");
                Attrs::new().put_int("status", 1).put_str("reason", &e)
            }
        }
    }

    fn open(&self, queue_name: &str, id: &QueueId, write: bool) -> Result<QueueFile, Failed> {
        let r = if write {
            QueueFile::open(&self.qdir, queue_name, id)
        } else {
            QueueFile::open_readonly(&self.qdir, queue_name, id)
        };
        r.map_err(|e| format!("{}: cannot open queue file: {e}", id.as_str()))
    }

    fn flush(&self, queue_name: &str, id: &QueueId) -> Result<(), Failed> {
        let records = dsn_log::read(&self.qdir, queue::BOUNCE, id).map_err(|e| e.to_string())?;
        if records.is_empty() {
            let _ = dsn_log::remove(&self.qdir, queue::BOUNCE, id);
            return Ok(());
        }
        let qf = self.open(queue_name, id, false)?;
        let content = qf.read_content().map_err(|e| e.to_string())?;
        let env = qf.envelope();
        let sender = env.sender.clone();
        let returned =
            if env.dsn_ret == Some(DsnRet::Hdrs) || content.len() as u64 > self.bounce_size_limit {
                Returned::Headers
            } else {
                Returned::Full
            };
        let arrival: DateTime<Local> = env.arrival.into();
        let send =
            |kind: Kind, to: &str, from: &str, recs: &[DsnRecord]| -> Result<String, Failed> {
                let text = compose(&Report {
                    kind,
                    myhostname: &self.myhostname,
                    queue_id: id.as_str(),
                    sender: &sender,
                    to,
                    arrival,
                    now: Local::now(),
                    retry_until: None,
                    records: recs,
                    original: &content,
                    returned,
                });
                self.submit(from, to, &text)
            };
        if sender.eq_ignore_ascii_case(&self.double_bounce_sender) {
            msg_info!(
                "{}: discarding a notification about a double bounce",
                id.as_str()
            );
        } else if sender.is_empty() {
            let new = send(
                Kind::PostmasterFailure,
                &self.two_bounce_recipient,
                &self.double_bounce_sender,
                &records,
            )?;
            msg_info!(
                "{}: postmaster non-delivery notification: {new}",
                id.as_str()
            );
        } else {
            let wanted: Vec<DsnRecord> = records
                .iter()
                .filter(|r| r.notify == DsnNotify::NONE || r.notify.has(DsnNotify::FAILURE))
                .cloned()
                .collect();
            if !wanted.is_empty() {
                let new = send(Kind::Failure, &sender, "", &wanted)?;
                msg_info!("{}: sender non-delivery notification: {new}", id.as_str());
            }
            if self.notify_classes.iter().any(|c| c == "bounce") {
                let new = send(
                    Kind::PostmasterFailure,
                    &self.bounce_notice_recipient,
                    &self.double_bounce_sender,
                    &records,
                )?;
                msg_info!(
                    "{}: postmaster non-delivery notification: {new}",
                    id.as_str()
                );
            }
        }
        dsn_log::remove(&self.qdir, queue::BOUNCE, id).map_err(|e| e.to_string())
    }

    /// Send the delivery report for the records of `trace/ID` (see the
    /// module text) and remove that log.
    fn trace(&self, queue_name: &str, id: &QueueId) -> Result<(), Failed> {
        let records = dsn_log::read(&self.qdir, queue::TRACE, id).map_err(|e| e.to_string())?;
        let wanted: Vec<DsnRecord> = records
            .into_iter()
            .filter(|r| r.notify.has(DsnNotify::SUCCESS))
            .collect();
        if !wanted.is_empty() {
            let qf = self.open(queue_name, id, false)?;
            let env = qf.envelope();
            if !env.sender.is_empty() {
                let content = qf.read_content().map_err(|e| e.to_string())?;
                let text = compose(&Report {
                    kind: Kind::Success,
                    myhostname: &self.myhostname,
                    queue_id: id.as_str(),
                    sender: &env.sender,
                    to: &env.sender,
                    arrival: env.arrival.into(),
                    now: Local::now(),
                    retry_until: None,
                    records: &wanted,
                    original: &content,
                    returned: Returned::Headers,
                });
                let new = self.submit("", &env.sender, &text)?;
                msg_info!(
                    "{}: sender delivery status notification: {new}",
                    id.as_str()
                );
            }
        }
        dsn_log::remove(&self.qdir, queue::TRACE, id).map_err(|e| e.to_string())
    }

    /// The latest record per recipient of `defer/ID`, in first-seen order.
    fn latest_deferrals(&self, id: &QueueId) -> Result<Vec<DsnRecord>, Failed> {
        let all = dsn_log::read(&self.qdir, queue::DEFER, id).map_err(|e| e.to_string())?;
        let mut out: Vec<DsnRecord> = Vec::new();
        for r in all {
            match out
                .iter_mut()
                .find(|o| o.rcpt_index == r.rcpt_index && o.rcpt == r.rcpt)
            {
                Some(o) => *o = r,
                None => out.push(r),
            }
        }
        Ok(out)
    }

    fn warn(&self, queue_name: &str, id: &QueueId) -> Result<(), Failed> {
        let qf = self.open(queue_name, id, false)?;
        let env = qf.envelope();
        if env.sender.is_empty() {
            return Ok(());
        }
        let pending: Vec<usize> = env.pending().map(|(i, _)| i).collect();
        let records: Vec<DsnRecord> = self
            .latest_deferrals(id)?
            .into_iter()
            .filter(|r| r.rcpt_index.is_none_or(|i| pending.contains(&i)))
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        let content = qf.read_content().map_err(|e| e.to_string())?;
        let arrival: DateTime<Local> = env.arrival.into();
        let until: DateTime<Local> = (env.arrival + self.lifetime).into();
        let send =
            |kind: Kind, to: &str, from: &str, recs: &[DsnRecord]| -> Result<String, Failed> {
                let text = compose(&Report {
                    kind,
                    myhostname: &self.myhostname,
                    queue_id: id.as_str(),
                    sender: &env.sender,
                    to,
                    arrival,
                    now: Local::now(),
                    retry_until: Some(until),
                    records: recs,
                    original: &content,
                    returned: Returned::Headers,
                });
                self.submit(from, to, &text)
            };
        let wanted: Vec<DsnRecord> = records
            .iter()
            .filter(|r| r.notify == DsnNotify::NONE || r.notify.has(DsnNotify::DELAY))
            .cloned()
            .collect();
        if !wanted.is_empty() {
            let new = send(Kind::Delay, &env.sender, "", &wanted)?;
            msg_info!("{}: sender delay notification: {new}", id.as_str());
        }
        if self.notify_classes.iter().any(|c| c == "delay") {
            let new = send(
                Kind::PostmasterDelay,
                &self.delay_notice_recipient,
                &self.double_bounce_sender,
                &records,
            )?;
            msg_info!("{}: postmaster delay notification: {new}", id.as_str());
        }
        Ok(())
    }

    fn expire(&self, queue_name: &str, id: &QueueId) -> Result<(), Failed> {
        let mut qf = self.open(queue_name, id, true)?;
        let latest = self.latest_deferrals(id)?;
        let pending: Vec<(usize, queue::Recipient)> = qf
            .envelope()
            .pending()
            .map(|(i, r)| (i, r.clone()))
            .collect();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
            .unwrap_or(0);
        for (i, r) in pending {
            let last = latest.iter().rev().find(|d| d.rcpt_index == Some(i));
            let rec = DsnRecord {
                rcpt_index: Some(i),
                rcpt: r.address.clone(),
                orcpt: r.orcpt.clone(),
                notify: r.notify,
                orig: r.orig.clone(),
                dsn: last
                    .map(|l| l.dsn.clone())
                    .unwrap_or_else(|| deliver::Dsn::new("4.4.7", "delivery time expired")),
                action: "failed".into(),
                relay: last.map_or_else(|| "none".to_string(), |l| l.relay.clone()),
                time: now,
            };
            dsn_log::append(&self.qdir, queue::BOUNCE, id, &rec).map_err(|e| e.to_string())?;
            qf.mark_done(i).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Submit one notification through cleanup; returns its queue ID.
    fn submit(&self, from: &str, to: &str, text: &[u8]) -> Result<String, Failed> {
        let mut sub = Submission::local();
        sub.flags = FLAG_NOTIFICATION;
        sub.sender = from.to_string();
        sub.recipients = vec![SubmitRecipient::new(to)];
        let run = || -> Result<String, global::cleanup_client::CleanupError> {
            let mut s = CleanupSession::open_config(&self.cfg)?;
            s.envelope(&sub)?;
            s.write_content(text)?;
            Ok(s.finish()?.queue_id)
        };
        run().map_err(|e| format!("cannot submit notification: {e}"))
    }
}
