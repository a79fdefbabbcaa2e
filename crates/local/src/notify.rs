//! NAME
//!   notify - DSN NOTIFY=SUCCESS reports of local deliveries
//!
//! DESCRIPTION
//!   A recipient whose DSN NOTIFY includes SUCCESS (RFC 3461) gets a
//!   delivery report once local(8) is done with it, as Postfix's local
//!   delivery agent writes them: [`success_records`] returns the records
//!   that go to the message's `trace/ID` log; qmgr then asks bounce(8) to
//!   send them to the sender ("Successful Mail Delivery Report").
//!
//!   - A recipient delivered here to one final destination (mailbox,
//!     Maildir, file or command) gets `Action: delivered`, with the text
//!     of its log line: `delivery via local: delivered to mailbox`.
//!   - A recipient that an alias or `.forward` file expands into more
//!     than one destination gets one `Action: expanded` record,
//!     `delivery via local: alias expanded`, whatever becomes of the
//!     members; SUCCESS is then taken off the members' NOTIFY
//!     ([`member_notify`]), so forwarded copies do not report again.
//!   - A recipient that becomes a single forwarded address gets nothing
//!     here: the forwarded copy keeps NOTIFY=SUCCESS and its final
//!     delivery reports.
//!
//! SEE ALSO
//!   RFC 3461, RFC 3464, bounce(8), local(8).
use crate::errors::Outcome;
use crate::serve::RELAY;
use crate::state::Leaf;
use deliver::request::RequestRecipient;
use deliver::{Dsn, DsnRecord};
use queue::DsnNotify;
use std::time::SystemTime;

/// Whether `leaves` local deliveries plus `forwards` forwarded addresses
/// count as an expansion (more than one destination).
pub fn is_expansion(leaves: usize, forwards: usize) -> bool {
    leaves + forwards > 1
}

/// The NOTIFY of the members of an expansion of recipient `notify`:
/// SUCCESS removed (NEVER when nothing else is left).
pub fn member_notify(notify: DsnNotify, expanded: bool) -> DsnNotify {
    if !expanded || !notify.has(DsnNotify::SUCCESS) {
        return notify;
    }
    match notify.0 & !DsnNotify::SUCCESS {
        0 => DsnNotify(DsnNotify::NEVER),
        rest => DsnNotify(rest),
    }
}

/// The `trace/ID` records for recipient `r` whose delivery produced the
/// local `leaves` (see the module text); empty unless `r` asked for
/// NOTIFY=SUCCESS.
pub fn success_records(r: &RequestRecipient, leaves: &[Leaf], expanded: bool) -> Vec<DsnRecord> {
    if !r.notify.has(DsnNotify::SUCCESS) {
        return Vec::new();
    }
    let time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    let record = |rcpt: &str, action: &str, text: &str| DsnRecord {
        rcpt_index: Some(r.index),
        rcpt: rcpt.to_string(),
        orcpt: r.orcpt.clone(),
        notify: r.notify,
        orig: Some(r.orig.clone().unwrap_or_else(|| r.address.clone())),
        dsn: Dsn::new("2.0.0", &format!("delivery via {RELAY}: {text}")),
        action: action.to_string(),
        relay: RELAY.to_string(),
        time,
    };
    if expanded {
        return vec![record(&r.address, "expanded", "alias expanded")];
    }
    leaves
        .iter()
        .filter_map(|l| match &l.outcome {
            Outcome::Sent(text) => Some(record(&l.to, "delivered", text)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rcpt(notify: u8) -> RequestRecipient {
        RequestRecipient {
            index: 3,
            address: "u1@test.example".into(),
            orcpt: None,
            notify: DsnNotify(notify),
            orig: None,
        }
    }

    fn leaf(to: &str, outcome: Outcome) -> Leaf {
        Leaf {
            to: to.into(),
            orig: "u1@test.example".into(),
            outcome,
        }
    }

    #[test]
    fn delivered_records_only_for_success_and_sent_leaves() {
        let leaves = [leaf(
            "u1@test.example",
            Outcome::Sent("delivered to mailbox".into()),
        )];
        assert!(success_records(&rcpt(DsnNotify::FAILURE), &leaves, false).is_empty());
        let recs = success_records(&rcpt(DsnNotify::SUCCESS), &leaves, false);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].action, "delivered");
        assert_eq!(recs[0].rcpt_index, Some(3));
        assert_eq!(recs[0].dsn.status.to_string(), "2.0.0");
        assert_eq!(
            recs[0].dsn.reason,
            "delivery via local: delivered to mailbox"
        );
        let failed = [leaf("u1@test.example", Outcome::bounce("5.2.0", "x"))];
        assert!(success_records(&rcpt(DsnNotify::SUCCESS), &failed, false).is_empty());
    }

    #[test]
    fn an_expansion_reports_once_and_members_lose_success() {
        assert!(is_expansion(1, 1) && is_expansion(2, 0) && !is_expansion(1, 0));
        let recs = success_records(&rcpt(DsnNotify::SUCCESS), &[], true);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].action, "expanded");
        assert_eq!(recs[0].rcpt, "u1@test.example");
        assert_eq!(recs[0].dsn.reason, "delivery via local: alias expanded");
        let both = DsnNotify(DsnNotify::SUCCESS | DsnNotify::FAILURE);
        assert_eq!(member_notify(both, true), DsnNotify(DsnNotify::FAILURE));
        assert_eq!(
            member_notify(DsnNotify(DsnNotify::SUCCESS), true),
            DsnNotify(DsnNotify::NEVER)
        );
        assert_eq!(member_notify(both, false), both);
    }
}
