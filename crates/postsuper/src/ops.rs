//! NAME
//!   ops - delete, hold, release, requeue and expire messages
//!
//! DESCRIPTION
//!   [`run`] carries out the `-d`, `-e`, `-f`, `-h`, `-H` and `-r`
//!   requests in command-line order, as Postfix's postsuper does, and
//!   counts the messages each operation changed. A message is looked for
//!   only in the queues the operation concerns (see postsuper(1) in
//!   main.rs), or in the queues named on the command line instead. A
//!   message that vanished meanwhile (delivered, or moved by qmgr) is not
//!   counted; other errors are warnings.
//!
//!   `-e` marks a message for forced expiration
//!   ([`QueueDir::mark_expired`]; a message marked already is not
//!   counted again); `-f` does the same and also releases a message that
//!   is on hold. Releasing (`-H`, `-f`) moves the file to `deferred` and
//!   sets its time stamps to now, so that qmgr, which keeps the retry time
//!   in the modification time, takes it at its next deferred scan.
use queue::{QueueDir, QueueId, ACTIVE, BOUNCE, DEFER, DEFERRED, HOLD, INCOMING, MAILDROP, TRACE};
use std::collections::HashMap;
use std::fs::{File, FileTimes};
use std::time::SystemTime;
use util::strings::strip_os_error;
use util::{msg_info, msg_warn};

/// The queues postsuper accepts as arguments.
pub const MESSAGE_QUEUES: &[&str] = &[HOLD, INCOMING, ACTIVE, DEFERRED, MAILDROP];

/// An operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `-d`.
    Delete,
    /// `-e`: forced expiration.
    Expire,
    /// `-f`: forced expiration, and release from hold.
    ExpireRelease,
    /// `-h`.
    Hold,
    /// `-H`.
    Release,
    /// `-r`.
    Requeue,
}

/// The summary lines, in Postfix's order.
pub const SUMMARIES: [Op; 5] = [Op::Requeue, Op::Delete, Op::Expire, Op::Hold, Op::Release];

impl Op {
    /// The queues the operation looks in by default.
    pub fn queues(self) -> &'static [&'static str] {
        match self {
            Op::Delete | Op::Requeue | Op::Expire | Op::ExpireRelease => {
                &[HOLD, INCOMING, ACTIVE, DEFERRED]
            }
            Op::Hold => &[INCOMING, ACTIVE, DEFERRED],
            Op::Release => &[HOLD],
        }
    }

    /// The summary lines a request of this operation prints.
    pub fn summaries(self) -> &'static [Op] {
        match self {
            Op::ExpireRelease => &[Op::Expire, Op::Release],
            Op::Delete => &[Op::Delete],
            Op::Expire => &[Op::Expire],
            Op::Hold => &[Op::Hold],
            Op::Release => &[Op::Release],
            Op::Requeue => &[Op::Requeue],
        }
    }

    /// The summary line's label.
    pub fn summary(self) -> &'static str {
        match self {
            Op::Delete => "Deleted",
            Op::Expire | Op::ExpireRelease => "Force-expired",
            Op::Hold => "Placed on hold",
            Op::Release => "Released from hold",
            Op::Requeue => "Requeued",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Op::Delete => "removed",
            Op::Expire | Op::ExpireRelease => "expired",
            Op::Hold => "placed on hold",
            Op::Release => "released from hold",
            Op::Requeue => "requeued",
        }
    }
}

/// One `-d`/`-h`/`-H`/`-r` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The operation.
    pub op: Op,
    /// A queue ID, `ALL` or `-`.
    pub id: String,
}

/// Whether `id` has the syntax of a queue ID (Postfix's
/// mail_queue_id_ok: letters and digits, not too long). Only other
/// arguments get the `invalid mail queue id` warning.
pub fn id_syntax_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Remove the per-message logs of `id`.
pub fn remove_logs(qdir: &QueueDir, id: &QueueId) {
    for log in [DEFER, BOUNCE, TRACE] {
        match qdir.remove(log, id) {
            Err(e) if !e.is_not_found() => {
                msg_warn!("{log}/{id}: {}", strip_os_error(&e.to_string()))
            }
            _ => {}
        }
    }
}

/// Move `id` from `queue` to `deferred` and set its time stamps to now
/// (module description). A failure to set the times is a warning.
fn release(qdir: &QueueDir, queue: &str, id: &QueueId) -> queue::Result<()> {
    let path = qdir.rename(id, queue, DEFERRED)?;
    let now = SystemTime::now();
    if let Err(e) = File::open(&path)
        .and_then(|f| f.set_times(FileTimes::new().set_accessed(now).set_modified(now)))
    {
        msg_warn!(
            "{id}: reset time stamps: {}",
            strip_os_error(&e.to_string())
        );
    }
    Ok(())
}

/// Apply `op` to message `id` in `queue`: the summary operations that
/// changed it, in the order they did (empty: not there, or nothing to
/// do). Errors: I/O other than "not found".
fn apply(qdir: &QueueDir, op: Op, queue: &str, id: &QueueId) -> queue::Result<Vec<Op>> {
    let r = match op {
        Op::Delete => qdir.remove(queue, id).map(|()| remove_logs(qdir, id)),
        Op::Hold if queue == HOLD => return Ok(Vec::new()),
        Op::Hold => qdir.rename(id, queue, HOLD).map(|_| ()),
        Op::Release => release(qdir, queue, id),
        Op::Requeue => qdir
            .rename(id, queue, MAILDROP)
            .map(|_| remove_logs(qdir, id)),
        Op::Expire | Op::ExpireRelease => {
            let mut done = Vec::new();
            match qdir.mark_expired(queue, id) {
                Ok(true) => done.push(Op::Expire),
                Ok(false) => {}
                Err(e) if e.is_not_found() => return Ok(done),
                // Still being written: not a message yet.
                Err(queue::QueueError::Incomplete { .. }) => return Ok(done),
                Err(e) => return Err(e),
            }
            if op == Op::ExpireRelease && queue == HOLD {
                match release(qdir, queue, id) {
                    Ok(()) => done.push(Op::Release),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(done);
        }
    };
    match r {
        Ok(()) => Ok(vec![op]),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Carry out `requests` (IDs already read from stdin) in the queues
/// `only` (empty: every default queue). Returns the changed messages
/// per summary operation ([`SUMMARIES`]).
pub fn run(qdir: &QueueDir, requests: &[Request], only: &[String]) -> HashMap<Op, u64> {
    let mut counts: HashMap<Op, u64> = HashMap::new();
    for r in requests {
        let queues: Vec<&str> = if only.is_empty() {
            r.op.queues().to_vec()
        } else {
            only.iter().map(String::as_str).collect()
        };
        let mut targets: Vec<(&str, QueueId)> = Vec::new();
        let explicit = r.id != "ALL";
        if explicit {
            match QueueId::parse(&r.id) {
                Some(id) => targets.extend(queues.iter().map(|q| (*q, id.clone()))),
                // Well-formed but not one of ours: simply not there.
                None if id_syntax_ok(&r.id) => {}
                None => msg_warn!("invalid mail queue id: {}", r.id),
            }
        } else {
            for q in &queues {
                match qdir.scan(q) {
                    Ok(s) => targets.extend(s.filter_map(Result::ok).map(|id| (*q, id))),
                    Err(e) => msg_warn!("scan {q}: {}", strip_os_error(&e.to_string())),
                }
            }
        }
        for (q, id) in targets {
            match apply(qdir, r.op, q, &id) {
                Ok(done) if done.is_empty() => {}
                Ok(done) => {
                    for op in &done {
                        *counts.entry(*op).or_default() += 1;
                        if explicit {
                            msg_info!("{id}: {}", op.done());
                        }
                    }
                    if explicit {
                        break;
                    }
                }
                Err(e) => msg_warn!("{q}/{id}: {}", strip_os_error(&e.to_string())),
            }
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::{QueueWriter, Recipient};

    fn message(q: &QueueDir) -> QueueId {
        let mut w = QueueWriter::create(q, INCOMING).unwrap();
        w.set_sender("a@b").unwrap();
        w.add_recipient(&Recipient::new("c@d")).unwrap();
        w.write_content(b"x\n").unwrap();
        w.commit().unwrap()
    }

    fn queue_dir() -> (tempfile::TempDir, QueueDir) {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
        q.create_missing().unwrap();
        (t, q)
    }

    fn req(op: Op, id: &str) -> Request {
        Request { op, id: id.into() }
    }

    #[test]
    fn hold_release_requeue_delete() {
        let (_t, q) = queue_dir();
        let a = message(&q);
        let b = message(&q);
        std::fs::create_dir_all(q.dir(DEFER, &a).unwrap()).unwrap();
        std::fs::write(q.path(DEFER, &a).unwrap(), b"x").unwrap();

        let c = run(&q, &[req(Op::Hold, a.as_str())], &[]);
        assert_eq!(c[&Op::Hold], 1);
        assert_eq!(q.find(&a).unwrap().0, HOLD);
        // Already on hold: nothing to do.
        assert!(run(&q, &[req(Op::Hold, a.as_str())], &[]).is_empty());
        let c = run(&q, &[req(Op::Release, "ALL")], &[]);
        assert_eq!(c[&Op::Release], 1);
        assert_eq!(q.find(&a).unwrap().0, DEFERRED);
        // Restricted to a queue that does not hold it.
        assert!(run(&q, &[req(Op::Requeue, a.as_str())], &["hold".into()]).is_empty());
        let c = run(&q, &[req(Op::Requeue, a.as_str())], &[]);
        assert_eq!(c[&Op::Requeue], 1);
        assert_eq!(q.find(&a).unwrap().0, MAILDROP);
        assert!(!q.path(DEFER, &a).unwrap().exists(), "logs removed");
        let c = run(&q, &[req(Op::Delete, "ALL")], &[]);
        assert_eq!(c[&Op::Delete], 1, "maildrop is not a default queue of -d");
        assert!(q.find(&b).is_none());
        let c = run(&q, &[req(Op::Delete, a.as_str())], &["maildrop".into()]);
        assert_eq!(c[&Op::Delete], 1);
        assert!(q.find(&a).is_none());
        assert!(run(&q, &[req(Op::Delete, "nosuch")], &[]).is_empty());
    }

    #[test]
    fn expire_and_expire_release() {
        use std::os::unix::fs::PermissionsExt;
        let (_t, q) = queue_dir();
        let a = message(&q);
        let b = message(&q);
        q.rename(&b, INCOMING, HOLD).unwrap();
        let path = q.path(HOLD, &b).unwrap();
        let past = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::open(&path)
            .unwrap()
            .set_times(FileTimes::new().set_modified(past))
            .unwrap();
        let mode = |queue: &str, id: &QueueId| {
            std::fs::metadata(q.path(queue, id).unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o7777
        };
        let c = run(&q, &[req(Op::Expire, "ALL")], &[]);
        assert_eq!(c[&Op::Expire], 2, "hold is a default queue of -e");
        assert_eq!(mode(INCOMING, &a), 0o710);
        assert_eq!(q.find(&b).unwrap().0, HOLD, "-e does not release");
        assert!(run(&q, &[req(Op::Expire, a.as_str())], &[]).is_empty());
        // -f of a marked message on hold only releases it, time reset.
        let c = run(&q, &[req(Op::ExpireRelease, b.as_str())], &[]);
        assert_eq!(c.get(&Op::Expire), None);
        assert_eq!(c[&Op::Release], 1);
        assert_eq!(q.find(&b).unwrap().0, DEFERRED);
        assert_eq!(mode(DEFERRED, &b), 0o710);
        let mtime = std::fs::metadata(q.path(DEFERRED, &b).unwrap())
            .unwrap()
            .modified()
            .unwrap();
        assert!(mtime > past, "time stamps reset on release");
        // -f of an unmarked deferred message only marks it.
        let d = message(&q);
        q.rename(&d, INCOMING, DEFERRED).unwrap();
        let c = run(&q, &[req(Op::ExpireRelease, "ALL")], &["deferred".into()]);
        assert_eq!(c[&Op::Expire], 1);
        assert_eq!(c.get(&Op::Release), None);
    }
}
