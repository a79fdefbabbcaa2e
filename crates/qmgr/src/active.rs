//! NAME
//!   active - queue scans, activation, and what happens when a message is done
//!
//! DESCRIPTION
//!   [`Qmgr::recover`] (at start-up): every file left in `active` by a
//!   previous qmgr is moved back to `incoming` and delivered again
//!   (recipients marked done stay done; one delivered but not yet marked
//!   may be delivered twice, none is lost).
//!
//!   [`Qmgr::scan_incoming`] activates the files in `incoming`, oldest
//!   first (long queue IDs sort by arrival). [`Qmgr::scan_deferred`]
//!   activates the files in `deferred` whose retry time has come; as in
//!   Postfix the retry time is the file's modification time, so no other
//!   state is needed. `flush_all` (trigger `A`, `postqueue -f`) ignores
//!   it. Both stop at `qmgr_message_active_limit` messages or
//!   `qmgr_message_recipient_limit` recipients in memory and scan again
//!   when a message leaves. Files still being written (not mode 0700)
//!   are left alone; corrupt ones go to `corrupt`. `hold` is never scanned.
//!
//!   Activation moves the file to `active`, logs
//!   `ID: from=<sender>, size=N, nrcpt=N (queue active)`, arms the delay
//!   warning for new mail (`delay_warning_time`), resolves each pending
//!   recipient (a resolver failure sends it to `retry` with `4.3.0 address
//!   resolver failure`, a syntax error to `error` with `5.1.3 bad address
//!   syntax`) and queues the jobs. A message with a `filter` attribute
//!   (cleanup's record of `content_filter` or an access(5) FILTER) is not
//!   resolved: every recipient goes to the filter's `transport:nexthop`
//!   (an empty next hop is `default_filter_nexthop`, else the recipient's
//!   domain, else `myhostname`), unless the message also has a `redirect`
//!   attribute, which wins as in Postfix.
//!
//!   A message marked for forced expiration (`postsuper -e`/`-f`,
//!   [`queue::QueueFile::forced_expire`]) is not delivered: a pending
//!   recipient with a record in `defer/ID` (the message was deferred
//!   before) gets no job, so that its last deferral reason is what the
//!   sender is told; every other pending recipient goes to `retry` with
//!   `4.7.0 message is administratively expired` (Postfix's reason). The
//!   message then finishes as below.
//!
//!   [`Qmgr::finish`], once every job of a message has ended, reads the
//!   done marks again and:
//!   - if `bounce/ID` exists, asks bounce to `flush` it; if `trace/ID`
//!     exists (DSN NOTIFY=SUCCESS records), asks bounce for the delivery
//!     report (`trace`);
//!   - if nothing is pending (and the flush worked), removes the file and
//!     its logs and logs `ID: removed`;
//!   - if the message is older than `maximal_queue_lifetime`
//!     (`bounce_queue_lifetime` for `<>`), logs `ID: from=<sender>,
//!     status=expired, returned to sender`, asks bounce to `expire` it,
//!     and removes it; a message marked for forced expiration (looked at
//!     again now, so a mark set while it was active counts at the end of
//!     this attempt) is treated alike whatever its age, logged
//!     `status=force-expired`;
//!   - otherwise sends a due delay warning (`warn`, once), sets the file's
//!     modification time to the next retry time (now plus the message's
//!     age clipped to `minimal_backoff_time`..`maximal_backoff_time`) and
//!     moves it to `deferred`. A failed bounce request also leaves the
//!     message deferred, to be finished at the next attempt.
//!
//! SEE ALSO
//!   qmgr(8), doc/PIPELINE.md, doc/QUEUE_FORMAT.md.
use crate::sched::{group, Msg, Qmgr};
use crate::settings::retry_delay;
use deliver::{dsn_log, RequestRecipient};
use queue::{
    QueueError, QueueFile, QueueId, ACTIVE, BOUNCE, CORRUPT, DEFER, DEFERRED, INCOMING, TRACE,
};
use std::collections::HashSet;
use std::fs::FileTimes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use util::{msg_info, msg_warn};

/// The (transport, next hop) of content filter `filter`
/// (`transport:nexthop`) for recipient `address`: an empty next hop is
/// `default_nexthop` (postconf(5) `default_filter_nexthop`), else the
/// recipient's domain, else `myhostname`.
pub fn filter_route(
    filter: &str,
    address: &str,
    default_nexthop: &str,
    myhostname: &str,
) -> (String, String) {
    let (transport, nexthop) = filter.split_once(':').unwrap_or((filter, ""));
    let nexthop = if !nexthop.is_empty() {
        nexthop
    } else if !default_nexthop.is_empty() {
        default_nexthop
    } else {
        match address.rsplit_once('@') {
            Some((_, d)) if !d.is_empty() => d,
            _ => myhostname,
        }
    };
    (transport.to_string(), nexthop.to_string())
}

/// The reason a force-expired recipient that was never deferred is
/// returned with (Postfix's text).
const FORCED_EXPIRE_REASON: &str = "4.7.0 message is administratively expired";

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Qmgr {
    /// Move everything in `active` back to `incoming`.
    pub fn recover(&mut self) {
        let ids: Vec<QueueId> = match self.qdir.scan(ACTIVE) {
            Ok(s) => s.filter_map(Result::ok).collect(),
            Err(e) => {
                msg_warn!("scan {ACTIVE}: {e}");
                return;
            }
        };
        for id in ids {
            if let Err(e) = self.qdir.rename(&id, ACTIVE, INCOMING) {
                msg_warn!("{}: move to {INCOMING}: {e}", id.as_str());
            }
        }
    }

    fn full(&self) -> bool {
        !self.msgs.is_empty()
            && (self.msgs.len() >= self.s.active_limit
                || self.rcpts_in_memory >= self.s.recipient_limit)
    }

    fn ids(&self, queue: &str) -> Vec<QueueId> {
        match self.qdir.scan(queue) {
            Ok(s) => {
                let mut v: Vec<QueueId> = s.filter_map(Result::ok).collect();
                v.sort();
                v
            }
            Err(e) => {
                msg_warn!("scan {queue}: {e}");
                Vec::new()
            }
        }
    }

    /// Activate the files of `incoming`, oldest first.
    pub fn scan_incoming(&mut self) {
        self.refresh_resolver();
        for id in self.ids(INCOMING) {
            if self.full() {
                self.backlog = true;
                return;
            }
            self.activate(&id, INCOMING);
        }
    }

    /// Activate the files of `deferred` whose retry time has come (all of
    /// them with `flush_all`).
    pub fn scan_deferred(&mut self, flush_all: bool) {
        self.refresh_resolver();
        let now = SystemTime::now();
        for id in self.ids(DEFERRED) {
            if self.full() {
                self.backlog = true;
                return;
            }
            let due = flush_all
                || self
                    .qdir
                    .path(DEFERRED, &id)
                    .ok()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .and_then(|m| m.modified().ok())
                    .is_some_and(|t| t <= now);
            if due {
                self.activate(&id, DEFERRED);
            }
        }
    }

    fn to_corrupt(&self, id: &QueueId, from: &str, e: &QueueError) {
        msg_warn!("{e}; moving {from}/{} to {CORRUPT}", id.as_str());
        if let Err(e) = self.qdir.rename(id, from, CORRUPT) {
            msg_warn!("{}: move to {CORRUPT}: {e}", id.as_str());
        }
    }

    fn route(&self, address: &str) -> (String, String) {
        let Some(r) = &self.resolver else {
            return ("retry".into(), "4.3.0 address resolver failure".into());
        };
        let res = r.resolve(address);
        if res.flags.fail {
            ("retry".into(), "4.3.0 address resolver failure".into())
        } else if res.flags.error {
            ("error".into(), "5.1.3 bad address syntax".into())
        } else {
            (res.transport, res.nexthop)
        }
    }

    /// Move file `id` from `from` into `active` and queue its recipients.
    fn activate(&mut self, id: &QueueId, from: &str) {
        if self.msgs.contains_key(id) {
            return;
        }
        let mut qf = match QueueFile::open(&self.qdir, from, id) {
            Ok(f) => f,
            Err(e) if e.is_not_found() || matches!(e, QueueError::Incomplete { .. }) => return,
            Err(e) if e.is_corrupt() => return self.to_corrupt(id, from, &e),
            Err(e) => return msg_warn!("{e}"),
        };
        if let Err(e) = qf.move_to_unsynced(ACTIVE) {
            return msg_warn!("{}: move to {ACTIVE}: {e}", id.as_str());
        }
        let active = SystemTime::now();
        let env = qf.envelope().clone();
        msg_info!(
            "{}: from=<{}>, size={}, nrcpt={} (queue active)",
            id.as_str(),
            env.sender,
            env.message_size,
            env.recipients.len()
        );
        let forced = qf.forced_expire();
        if !forced && from == INCOMING && self.s.delay_warning > 0 && env.warn_time == 0 {
            if let Err(e) = qf.set_warn_time(secs(env.arrival) + self.s.delay_warning) {
                msg_warn!("{}: set delay warning time: {e}", id.as_str());
            }
        }
        drop(qf);
        let filter = env
            .attr("filter")
            .filter(|f| !f.is_empty() && env.attr("redirect").is_none_or(str::is_empty));
        let deferred = if forced {
            self.deferred_recipients(id)
        } else {
            HashSet::new()
        };
        let routed: Vec<(String, String, RequestRecipient)> = env
            .pending()
            .filter(|(i, _)| !deferred.contains(i))
            .map(|(i, r)| {
                let (t, n) = if forced {
                    ("retry".into(), FORCED_EXPIRE_REASON.into())
                } else if let Some(f) = filter {
                    filter_route(f, &r.address, &self.s.filter_nexthop, &self.s.myhostname)
                } else {
                    self.route(&r.address)
                };
                let rr = RequestRecipient {
                    index: i,
                    address: r.address.clone(),
                    orcpt: r.orcpt.clone(),
                    notify: r.notify,
                    orig: r.orig.clone(),
                };
                (t, n, rr)
            })
            .collect();
        let rcpts = routed.len();
        self.rcpts_in_memory += rcpts;
        self.msgs.insert(
            id.clone(),
            Msg {
                sender: env.sender.clone(),
                arrival: env.arrival,
                active,
                envid: env.dsn_envid.clone(),
                ret: env.dsn_ret,
                outstanding: 0,
                rcpts,
            },
        );
        let jobs = group(id, routed, |t| self.s.recipients_per_request(t));
        if jobs.is_empty() {
            return self.finish(id);
        }
        for j in jobs {
            self.enqueue(j);
        }
    }

    /// The queue-file indexes of the recipients of `id` that have a
    /// record in `defer/ID` (none when it cannot be read).
    fn deferred_recipients(&self, id: &QueueId) -> HashSet<usize> {
        match dsn_log::read(&self.qdir, DEFER, id) {
            Ok(recs) => recs.iter().filter_map(|r| r.rcpt_index).collect(),
            Err(e) => {
                msg_warn!("{}: read {DEFER} log: {e}", id.as_str());
                HashSet::new()
            }
        }
    }

    /// Remove message `id` and its logs; log `ID: removed`.
    fn remove(&self, id: &QueueId, qf: QueueFile) {
        if let Err(e) = qf.remove_unsynced() {
            return msg_warn!("{}: remove: {e}", id.as_str());
        }
        for log in [DEFER, BOUNCE, TRACE] {
            if let Err(e) = dsn_log::remove(&self.qdir, log, id) {
                msg_warn!("{}: remove {log} log: {e}", id.as_str());
            }
        }
        msg_info!("{}: removed", id.as_str());
    }

    /// Every job of message `id` has ended (see DESCRIPTION).
    pub fn finish(&mut self, id: &QueueId) {
        let Some(m) = self.msgs.remove(id) else {
            return;
        };
        self.rcpts_in_memory = self.rcpts_in_memory.saturating_sub(m.rcpts);
        self.finish_file(id, &m);
        if self.backlog {
            self.backlog = false;
            self.scan_incoming();
            self.scan_deferred(false);
        }
    }

    fn finish_file(&mut self, id: &QueueId, m: &Msg) {
        let mut qf = match QueueFile::open(&self.qdir, ACTIVE, id) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return,
            Err(e) if e.is_corrupt() => return self.to_corrupt(id, ACTIVE, &e),
            Err(e) => return msg_warn!("{e}"),
        };
        let pending = qf.envelope().pending().count();
        let mut flushed = true;
        if dsn_log::exists(&self.qdir, BOUNCE, id) {
            if let Err(e) = self.bounce.flush(ACTIVE, id) {
                msg_warn!("{}: bounce service: {e}", id.as_str());
                flushed = false;
            }
        }
        // DSN NOTIFY=SUCCESS reports written by the delivery agents.
        if dsn_log::exists(&self.qdir, TRACE, id) {
            if let Err(e) = self.bounce.trace(ACTIVE, id) {
                msg_warn!("{}: bounce service: {e}", id.as_str());
                flushed = false;
            }
        }
        if pending == 0 && flushed {
            return self.remove(id, qf);
        }
        let now = SystemTime::now();
        let age = now
            .duration_since(m.arrival)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let forced = qf.forced_expire();
        if pending > 0 && (forced || age >= self.s.lifetime(&m.sender)) {
            msg_info!(
                "{}: from=<{}>, status={}, returned to sender",
                id.as_str(),
                m.sender,
                if forced { "force-expired" } else { "expired" }
            );
            match self.bounce.expire(ACTIVE, id) {
                Ok(()) => return self.remove(id, qf),
                Err(e) => msg_warn!("{}: bounce service: {e}", id.as_str()),
            }
        }
        let warn = qf.envelope().warn_time;
        if pending > 0 && warn > 0 && secs(now) >= warn {
            match self.bounce.warn(ACTIVE, id) {
                Ok(()) => {
                    if let Err(e) = qf.set_warn_time(0) {
                        msg_warn!("{}: clear delay warning time: {e}", id.as_str());
                    }
                }
                Err(e) => msg_warn!("{}: bounce service: {e}", id.as_str()),
            }
        }
        let next =
            now + Duration::from_secs(retry_delay(age, self.s.min_backoff, self.s.max_backoff));
        if let Err(e) = qf
            .file()
            .set_times(FileTimes::new().set_accessed(next).set_modified(next))
        {
            msg_warn!("{}: set retry time: {e}", id.as_str());
        }
        if let Err(e) = qf.move_to_unsynced(DEFERRED) {
            msg_warn!("{}: move to {DEFERRED}: {e}", id.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::filter_route;

    #[test]
    fn filter_next_hops() {
        let r = |f: &str, a: &str, d: &str| filter_route(f, a, d, "me.example");
        let pair = |t: &str, n: &str| (t.to_string(), n.to_string());
        assert_eq!(
            r("smtp:[127.0.0.1]:10025", "u@x.example", ""),
            pair("smtp", "[127.0.0.1]:10025")
        );
        assert_eq!(r("relay:", "u@x.example", ""), pair("relay", "x.example"));
        assert_eq!(r("relay", "u@x.example", "hub"), pair("relay", "hub"));
        assert_eq!(r("scan:", "postmaster", ""), pair("scan", "me.example"));
    }
}
