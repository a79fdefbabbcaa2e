//! NAME
//!   bounced - messages that cleanup returns to the sender itself
//!
//! DESCRIPTION
//!   A client that sets the bounce flag (pickup for sendmail(1), local(8)
//!   when it forwards) cannot tell the sender about problems that cleanup
//!   finds in the content: too many `Received:` headers (a mail loop) or
//!   more than `message_size_limit` bytes. As Postfix's cleanup does,
//!   such a message is bounced instead of refused, so the sender gets a
//!   delivery status notification and nothing lands in `corrupt`:
//!
//!   - [`Message::bounce_all`] appends one `bounce/ID` record per pending
//!     recipient (status and reason, `relay=none`) and logs the
//!     `status=bounced` line for each;
//!   - the recipients are done in the queue file: written done at the end
//!     of the headers for the hop count; for the size, which is known
//!     only once the content is past the limit, marked done by
//!     [`Message::commit_done`] while the complete file waits in `hold`,
//!     out of qmgr's sight, and only then moved to `incoming`.
//!
//!   qmgr then finds every recipient done and a bounce log, and has
//!   bounce(8) send the notification (with the content up to the limit).
//!
//! SEE ALSO
//!   cleanup(8), bounce(8), doc/PIPELINE.md "cleanup protocol" (flag 1).
use crate::session::Message;
use deliver::dsn::Dsn;
use global::cleanup_client::STAT_WRITE;
use queue::{QueueFile, HOLD, INCOMING};
use std::time::SystemTime;
use util::{msg_info, msg_warn};

impl Message<'_> {
    /// Every pending recipient gets a `bounce/ID` record with `dsn`, and
    /// a `status=bounced` log line. A log that cannot be written is a
    /// queue file write error (the client tries again).
    pub(crate) fn bounce_all(&mut self, dsn: &Dsn) {
        let now = SystemTime::now();
        let (delay, delays) = deliver::delay::Stamps {
            arrival: self.facts.arrival,
            active: now,
            handoff: now,
            conn_done: None,
        }
        .format(now, 2);
        let secs = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for (i, r) in self.rcpts.iter().enumerate().filter(|(_, r)| !r.done) {
            let rec = deliver::dsn_log::DsnRecord {
                rcpt_index: Some(i),
                rcpt: r.address.clone(),
                orcpt: r.orcpt.clone(),
                notify: r.notify,
                orig: r.orig.clone(),
                dsn: dsn.clone(),
                action: "failed".into(),
                relay: "none".into(),
                time: i64::try_from(secs).unwrap_or(0),
            };
            if let Err(e) =
                deliver::dsn_log::append(&self.state.qdir, queue::BOUNCE, self.w.id(), &rec)
            {
                msg_warn!("{}: bounce log: {e}", self.qid);
                self.errs.add(STAT_WRITE, None);
                return;
            }
            msg_info!(
                "{}",
                deliver::agent::status_line(&deliver::agent::LineParts {
                    id: &self.qid,
                    to: &r.address,
                    orig: r.orig.as_deref(),
                    relay: "none",
                    delay: &delay,
                    delays: &delays,
                    dsn,
                    status: "bounced",
                })
            );
        }
    }

    /// Commit a message bounced for its size: complete the file in
    /// `hold`, mark every recipient done there, then move it to
    /// `incoming`. A crash on the way leaves it in `hold` with its
    /// bounce log, never delivered half. Errors: I/O.
    pub(crate) fn commit_done(self) -> queue::Result<()> {
        let qdir = &self.state.qdir;
        let id = self.w.id().clone();
        let held = qdir.rename(&id, INCOMING, HOLD)?;
        if let Err(e) = self.w.commit() {
            let _ = std::fs::remove_file(&held);
            return Err(e);
        }
        let done = (|| {
            let mut qf = QueueFile::open(qdir, HOLD, &id)?;
            for i in 0..self.rcpts.len() {
                qf.mark_done(i)?;
            }
            drop(qf);
            qdir.rename(&id, HOLD, INCOMING).map(|_| ())
        })();
        if done.is_err() {
            let _ = std::fs::remove_file(&held);
        }
        done
    }
}
