//! NAME
//!   listing - walk the queues and describe each message
//!
//! DESCRIPTION
//!   [`entries`] yields a [`QueueEntry`] per complete message of the
//!   listed queues ([`LISTED`]); [`send`] writes them and the end marker
//!   to a client. Deferral reasons come from the message's `defer` log:
//!   the last record for a recipient wins.
use deliver::dsn_log;
use global::attr::{AttrWriter, Attrs};
use global::showq::{QueueEntry, QueueRcpt};
use queue::{QueueDir, QueueFile, QueueId, DEFER};
use std::collections::HashMap;
use std::io::Write;
use std::time::UNIX_EPOCH;
use util::msg_warn;

/// The queues showq lists, in order.
pub const LISTED: &[&str] = &[
    queue::MAILDROP,
    queue::INCOMING,
    queue::ACTIVE,
    queue::DEFERRED,
    queue::HOLD,
];

/// Describe message `id` of `queue`; `None` when it cannot be read.
pub fn entry(qdir: &QueueDir, queue: &str, id: &QueueId) -> Option<QueueEntry> {
    let qf = match QueueFile::open_readonly(qdir, queue, id) {
        Ok(qf) => qf,
        Err(e) if e.is_corrupt() => {
            // The error names the file already (`./hold/ID: corrupt ...`).
            msg_warn!("{e}");
            return None;
        }
        Err(_) => return None,
    };
    let env = qf.envelope();
    let mut reasons: HashMap<String, String> = HashMap::new();
    if let Ok(recs) = dsn_log::read(qdir, DEFER, id) {
        for r in recs {
            reasons.insert(r.rcpt, r.dsn.reason);
        }
    }
    Some(QueueEntry {
        queue_name: queue.to_string(),
        queue_id: id.to_string(),
        arrival_time: env
            .arrival
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0),
        message_size: i64::try_from(env.message_size).unwrap_or(i64::MAX),
        forced_expire: qf.forced_expire(),
        sender: env.sender.clone(),
        recipients: env
            .pending()
            .map(|(_, r)| QueueRcpt {
                address: r.address.clone(),
                reason: reasons.get(&r.address).cloned(),
            })
            .collect(),
    })
}

/// Every listed message, queue by queue.
pub fn entries(qdir: &QueueDir) -> impl Iterator<Item = QueueEntry> + '_ {
    LISTED.iter().flat_map(move |q| {
        let ids: Vec<QueueId> = match qdir.scan(q) {
            Ok(s) => s.filter_map(Result::ok).collect(),
            Err(_) => Vec::new(),
        };
        ids.into_iter().filter_map(move |id| entry(qdir, q, &id))
    })
}

/// Write the listing to `out`. Errors: I/O.
pub fn send<W: Write>(qdir: &QueueDir, out: W) -> std::io::Result<()> {
    let mut w = AttrWriter::new(std::io::BufWriter::new(out));
    let io = |e: global::attr::AttrError| std::io::Error::other(e.to_string());
    for e in entries(qdir) {
        w.write(&e.to_attrs()).map_err(io)?;
    }
    w.write(&Attrs::new()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use global::attr::AttrReader;
    use queue::{QueueWriter, Recipient};

    #[test]
    fn lists_pending_recipients_with_reasons() {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
        q.create_missing().unwrap();
        let mut w = QueueWriter::create(&q, queue::INCOMING).unwrap();
        w.set_sender("alice@example.com").unwrap();
        w.add_recipient(&Recipient::new("bob@example.org")).unwrap();
        w.add_recipient(&Recipient::new("carol@example.org"))
            .unwrap();
        w.write_content(b"Subject: x\n\nhello\n").unwrap();
        let id = w.commit().unwrap();
        let mut qf = QueueFile::open(&q, queue::INCOMING, &id).unwrap();
        qf.mark_done(0).unwrap();
        qf.move_to(queue::DEFERRED).unwrap();
        // An incomplete file is not listed.
        let mut w2 = QueueWriter::create(&q, queue::HOLD).unwrap();
        w2.set_sender("x").unwrap();
        let mut out = Vec::new();
        send(&q, &mut out).unwrap();
        let mut r = AttrReader::new(&out[..]);
        let e = global::showq::read_entry(&mut r).unwrap().unwrap();
        assert_eq!(e.queue_name, "deferred");
        assert_eq!(e.queue_id, id.to_string());
        assert_eq!(e.sender, "alice@example.com");
        assert_eq!(e.message_size, 18);
        assert_eq!(e.recipients.len(), 1);
        assert_eq!(e.recipients[0].address, "carol@example.org");
        assert_eq!(global::showq::read_entry(&mut r).unwrap(), None);
        drop(w2);
    }
}
