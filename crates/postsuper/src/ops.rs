//! NAME
//!   ops - delete, hold, release and requeue messages
//!
//! DESCRIPTION
//!   [`run`] carries out the `-d`, `-h`, `-H` and `-r` requests in
//!   command-line order and counts the messages each operation changed.
//!   A message is looked for only in the queues the operation concerns
//!   (see postsuper(1) in main.rs), or in the queues named on the
//!   command line instead. A message that vanished meanwhile (delivered, or
//!   moved by qmgr) is not counted; other errors are warnings.
use queue::{QueueDir, QueueId, ACTIVE, BOUNCE, DEFER, DEFERRED, HOLD, INCOMING, MAILDROP, TRACE};
use std::collections::HashMap;
use util::strings::strip_os_error;
use util::{msg_info, msg_warn};

/// The queues postsuper accepts as arguments.
pub const MESSAGE_QUEUES: &[&str] = &[HOLD, INCOMING, ACTIVE, DEFERRED, MAILDROP];

/// An operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `-d`.
    Delete,
    /// `-h`.
    Hold,
    /// `-H`.
    Release,
    /// `-r`.
    Requeue,
}

impl Op {
    /// The queues the operation looks in by default.
    pub fn queues(self) -> &'static [&'static str] {
        match self {
            Op::Delete | Op::Requeue => &[HOLD, INCOMING, ACTIVE, DEFERRED],
            Op::Hold => &[INCOMING, ACTIVE, DEFERRED],
            Op::Release => &[HOLD],
        }
    }

    /// The summary line's label.
    pub fn summary(self) -> &'static str {
        match self {
            Op::Delete => "Deleted",
            Op::Hold => "Placed on hold",
            Op::Release => "Released from hold",
            Op::Requeue => "Requeued",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Op::Delete => "removed",
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

/// Apply `op` to message `id` in `queue`. Ok(false): not there.
fn apply(qdir: &QueueDir, op: Op, queue: &str, id: &QueueId) -> queue::Result<bool> {
    let r = match op {
        Op::Delete => qdir.remove(queue, id).map(|()| remove_logs(qdir, id)),
        Op::Hold if queue == HOLD => return Ok(false),
        Op::Hold => qdir.rename(id, queue, HOLD).map(|_| ()),
        Op::Release => qdir.rename(id, queue, DEFERRED).map(|_| ()),
        Op::Requeue => qdir
            .rename(id, queue, MAILDROP)
            .map(|_| remove_logs(qdir, id)),
    };
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Carry out `requests` (IDs already read from stdin) in the queues
/// `only` (empty: every default queue). Returns changed messages per op.
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
                Ok(true) => {
                    *counts.entry(r.op).or_default() += 1;
                    if explicit {
                        msg_info!("{id}: {}", r.op.done());
                        break;
                    }
                }
                Ok(false) => {}
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

    fn req(op: Op, id: &str) -> Request {
        Request { op, id: id.into() }
    }

    #[test]
    fn hold_release_requeue_delete() {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
        q.create_missing().unwrap();
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
}
