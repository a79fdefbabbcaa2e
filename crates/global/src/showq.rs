//! NAME
//!   showq - the showq service's listing protocol (server and client)
//!
//! SYNOPSIS
//!   server: `w.write(&entry.to_attrs())?;` ... `w.write(&Attrs::new())?;`
//!   client: `while let Some(e) = showq::read_entry(&mut reader)? { ... }`
//!
//! DESCRIPTION
//!   postqueue(1) `-p`/`-j` (and mailq) connect to `public/showq`; the
//!   showq(8) service reads nothing from the client and answers with one
//!   attribute list ([`crate::attr`]) per queued message, then an empty
//!   list that ends the listing:
//!
//!   ```text
//!   queue_name=deferred        maildrop, incoming, active, deferred, hold
//!   queue_id=ID
//!   arrival_time=SECONDS       since the epoch
//!   message_size=BYTES         content size
//!   forced_expire=0|1          marked by postsuper -e/-f (queue file mode)
//!   sender=ADDR                empty for the null sender
//!   rcpt=ADDR                  per pending recipient, in file order,
//!   reason=TEXT                each followed by its deferral reason (may be empty)
//!   ```
//!
//!   The field names follow the keys of Postfix's `postqueue -j` output.
//!
//! DIAGNOSTICS
//!   [`crate::attr::AttrError`]: a listing cut short (no end marker), a
//!   missing or malformed field, or a `reason` with no recipient.
use crate::attr::{AttrError, AttrReader, Attrs, Result};
use std::io::Read;

/// One pending recipient of a listed message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueRcpt {
    /// The recipient address.
    pub address: String,
    /// The last deferral reason from the `defer` log, if any.
    pub reason: Option<String>,
}

/// One message in the listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueEntry {
    /// The queue the message is in (`active`, `hold`, ...).
    pub queue_name: String,
    /// Its queue ID.
    pub queue_id: String,
    /// Arrival time, seconds since the epoch.
    pub arrival_time: i64,
    /// Content size in bytes.
    pub message_size: i64,
    /// Whether the message was marked for expiry (`postsuper -e`).
    pub forced_expire: bool,
    /// Envelope sender; empty for `<>`.
    pub sender: String,
    /// Pending recipients.
    pub recipients: Vec<QueueRcpt>,
}

impl QueueEntry {
    /// The wire form (see DESCRIPTION).
    pub fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new()
            .put_str("queue_name", &self.queue_name)
            .put_str("queue_id", &self.queue_id)
            .put_int("arrival_time", self.arrival_time)
            .put_int("message_size", self.message_size)
            .put_int("forced_expire", i64::from(self.forced_expire))
            .put_str("sender", &self.sender);
        for r in &self.recipients {
            a = a
                .put_str("rcpt", &r.address)
                .put_str("reason", r.reason.as_deref().unwrap_or(""));
        }
        a
    }

    /// Decode one list. Errors: missing or malformed fields.
    pub fn from_attrs(a: &Attrs) -> Result<QueueEntry> {
        let mut recipients: Vec<QueueRcpt> = Vec::new();
        for (name, value) in a.iter() {
            let text = || String::from_utf8_lossy(value).into_owned();
            match name {
                "rcpt" => recipients.push(QueueRcpt {
                    address: text(),
                    reason: None,
                }),
                "reason" => {
                    let r = recipients
                        .last_mut()
                        .ok_or_else(|| AttrError::Missing("rcpt".into()))?;
                    let t = text();
                    r.reason = (!t.is_empty()).then_some(t);
                }
                _ => {}
            }
        }
        Ok(QueueEntry {
            queue_name: a.str("queue_name")?.to_string(),
            queue_id: a.str("queue_id")?.to_string(),
            arrival_time: a.long("arrival_time")?,
            message_size: a.long("message_size")?,
            forced_expire: a.opt_int("forced_expire")?.unwrap_or(0) != 0,
            sender: String::from_utf8_lossy(a.bytes("sender")?).into_owned(),
            recipients,
        })
    }
}

/// Read the next message of a listing; `Ok(None)` at the end marker.
/// Errors: the stream ends before the end marker, or a bad list.
pub fn read_entry<R: Read>(r: &mut AttrReader<R>) -> Result<Option<QueueEntry>> {
    match r.read()? {
        None => Err(AttrError::Truncated),
        Some(a) if a.is_empty() => Ok(None),
        Some(a) => QueueEntry::from_attrs(&a).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::AttrWriter;

    #[test]
    fn listing_round_trip() {
        let e = QueueEntry {
            queue_name: "deferred".into(),
            queue_id: "4jd4vg5130z1T7X4".into(),
            arrival_time: 1_700_000_000,
            message_size: 303,
            forced_expire: false,
            sender: String::new(),
            recipients: vec![
                QueueRcpt {
                    address: "bob@example.com".into(),
                    reason: Some("connect refused".into()),
                },
                QueueRcpt {
                    address: "carol@example.org".into(),
                    reason: None,
                },
            ],
        };
        let mut buf = Vec::new();
        {
            let mut w = AttrWriter::new(&mut buf);
            w.write(&e.to_attrs()).unwrap();
            w.write(&Attrs::new()).unwrap();
        }
        let mut r = AttrReader::new(&buf[..]);
        assert_eq!(read_entry(&mut r).unwrap(), Some(e));
        assert_eq!(read_entry(&mut r).unwrap(), None);
        // Cut short: no end marker.
        let mut r = AttrReader::new(&buf[..buf.len() - 1]);
        assert!(read_entry(&mut r).is_ok());
        assert!(read_entry(&mut r).is_err());
    }
}
