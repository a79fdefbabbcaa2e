//! NAME
//!   format - the mailq listing and the JSON listing
//!
//! DESCRIPTION
//!   [`Mailq`] prints the Sendmail-compatible listing of `postqueue -p`
//!   (and `mailq`) in Postfix's layout for long queue IDs:
//!
//!   ```text
//!   ----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
//!   4jd4vg5130z1T7X4*      303 Mon Nov 30 00:41:15 alice@example.com
//!                                                              (reason)
//!                                                  bob@example.com
//!
//!   -- 0 Kbytes in 1 Request.
//!   ```
//!
//!   After the ID comes `*` for a message in the active queue or `!` for
//!   one on hold, then `#` for one marked for forced expiration
//!   (`postsuper -e`), as Postfix's showq_compat; the result is padded to
//!   17 columns. The null
//!   sender shows as `MAILER-DAEMON`. A deferral reason is printed in
//!   parentheses, right-aligned to 78 columns (as Debian's Postfix 3.7
//!   prints it), before the first of the
//!   consecutive recipients that share it. The summary counts whole
//!   kilobytes (rounded down) of content; an empty queue prints `Mail
//!   queue is empty`.
//!
//!   [`json_line`] prints one message as one JSON object per line with
//!   the keys of Postfix's `postqueue -j`: `queue_name`, `queue_id`,
//!   `arrival_time`, `message_size`, `forced_expire`, `sender`,
//!   `recipients` (`address`, and `delay_reason` when there is one).
use global::showq::QueueEntry;
use std::fmt::Write as _;

/// The mailq column header.
pub const HEADER: &str = "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------";
/// Column where sender and recipients start.
const ADDR_COLUMN: usize = 47;
/// Width that reasons are right-aligned to.
const REASON_WIDTH: usize = 78;

fn show_sender(s: &str) -> &str {
    if s.is_empty() {
        "MAILER-DAEMON"
    } else {
        s
    }
}

/// The local time of `secs` as mailq shows it (`Mon Nov 30 00:41:15`).
pub fn arrival(secs: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_opt(secs, 0).single() {
        Some(t) => t.format("%a %b %e %H:%M:%S").to_string(),
        None => "?".repeat(19),
    }
}

/// Accumulates the mailq listing.
#[derive(Debug, Default)]
pub struct Mailq {
    out: String,
    count: u64,
    bytes: u64,
}

impl Mailq {
    /// A listing with nothing in it yet.
    pub fn new() -> Mailq {
        Mailq::default()
    }

    /// Add one message.
    pub fn add(&mut self, e: &QueueEntry) {
        if self.count == 0 {
            self.out.push_str(HEADER);
            self.out.push('\n');
        }
        self.count += 1;
        self.bytes += u64::try_from(e.message_size).unwrap_or(0);
        let mut id_status = e.queue_id.clone();
        match e.queue_name.as_str() {
            "active" => id_status.push('*'),
            "hold" => id_status.push('!'),
            _ => {}
        }
        if e.forced_expire {
            id_status.push('#');
        }
        let _ = writeln!(
            self.out,
            "{id_status:<17} {:>8} {} {}",
            e.message_size,
            arrival(e.arrival_time),
            show_sender(&e.sender)
        );
        let mut last: Option<&str> = None;
        for r in &e.recipients {
            if let Some(reason) = r.reason.as_deref() {
                if last != Some(reason) {
                    let _ = writeln!(self.out, "{:>REASON_WIDTH$}", format!("({reason})"));
                }
            }
            last = r.reason.as_deref();
            let _ = writeln!(self.out, "{:ADDR_COLUMN$}{}", "", r.address);
        }
        self.out.push('\n');
    }

    /// The complete listing.
    pub fn finish(mut self) -> String {
        if self.count == 0 {
            return "Mail queue is empty\n".to_string();
        }
        let _ = writeln!(
            self.out,
            "-- {} Kbytes in {} Request{}.",
            self.bytes / 1024,
            self.count,
            if self.count == 1 { "" } else { "s" }
        );
        self.out
    }
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// One message as a JSON object on one line (no newline).
pub fn json_line(e: &QueueEntry) -> String {
    let rcpts: Vec<String> = e
        .recipients
        .iter()
        .map(|r| match &r.reason {
            Some(reason) => format!(
                "{{\"address\": {}, \"delay_reason\": {}}}",
                q(&r.address),
                q(reason)
            ),
            None => format!("{{\"address\": {}}}", q(&r.address)),
        })
        .collect();
    format!(
        "{{\"queue_name\": {}, \"queue_id\": {}, \"arrival_time\": {}, \"message_size\": {}, \
         \"forced_expire\": {}, \"sender\": {}, \"recipients\": [{}]}}",
        q(&e.queue_name),
        q(&e.queue_id),
        e.arrival_time,
        e.message_size,
        e.forced_expire,
        q(show_sender(&e.sender)),
        rcpts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use global::showq::QueueRcpt;

    fn rcpt(a: &str, r: Option<&str>) -> QueueRcpt {
        QueueRcpt {
            address: a.into(),
            reason: r.map(String::from),
        }
    }

    fn entry(queue: &str, sender: &str, rcpts: Vec<QueueRcpt>) -> QueueEntry {
        QueueEntry {
            queue_name: queue.into(),
            queue_id: "4jd4vg5130z1T7X4".into(),
            arrival_time: 1_700_000_000,
            message_size: 303,
            forced_expire: false,
            sender: sender.into(),
            recipients: rcpts,
        }
    }

    #[test]
    fn mailq_layout_matches_postfix() {
        let date = arrival(1_700_000_000);
        assert_eq!(date.len(), 19);
        let mut m = Mailq::new();
        m.add(&entry(
            "deferred",
            "alice@example.com",
            vec![
                rcpt("bob@example.com", Some("test reason here")),
                rcpt("dave@example.net", Some("test reason here")),
                rcpt("carol@example.org", None),
            ],
        ));
        let mut held = entry("hold", "", vec![rcpt("eve@example.com", None)]);
        held.message_size = 1000;
        m.add(&held);
        let pad = " ".repeat(47);
        let want = format!(
            "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------\n\
             4jd4vg5130z1T7X4       303 {date} alice@example.com\n\
             {reason}\n\
             {pad}bob@example.com\n\
             {pad}dave@example.net\n\
             {pad}carol@example.org\n\
             \n\
             4jd4vg5130z1T7X4!     1000 {date} MAILER-DAEMON\n\
             {pad}eve@example.com\n\
             \n\
             -- 1 Kbytes in 2 Requests.\n",
            // Debian's postqueue -p: the reason line ends in column 78.
            reason = format!("{}(test reason here)", " ".repeat(60)),
        );
        assert_eq!(m.finish(), want);
        assert_eq!(Mailq::new().finish(), "Mail queue is empty\n");
        let mut one = Mailq::new();
        one.add(&entry("active", "a@b", vec![]));
        let text = one.finish();
        assert!(text.contains("4jd4vg5130z1T7X4*      303 "), "{text}");
        assert!(text.ends_with("-- 0 Kbytes in 1 Request.\n"));
        // Forced expiration adds `#` after the queue's mark.
        let mut m = Mailq::new();
        for q in ["hold", "deferred"] {
            let mut e = entry(q, "a@b", vec![]);
            e.forced_expire = true;
            m.add(&e);
        }
        let text = m.finish();
        assert!(text.contains("\n4jd4vg5130z1T7X4!#      303 "), "{text}");
        assert!(text.contains("\n4jd4vg5130z1T7X4#      303 "), "{text}");
        // A reason longer than the line is not indented.
        let long = "x".repeat(100);
        let mut m = Mailq::new();
        m.add(&entry("deferred", "a@b", vec![rcpt("c@d", Some(&long))]));
        assert!(m.finish().contains(&format!("\n({long})\n")));
    }

    #[test]
    fn json_matches_postfix_keys() {
        let e = entry(
            "deferred",
            "",
            vec![
                rcpt("eve@example.com", Some("test \"reason\" here")),
                rcpt("x@y", None),
            ],
        );
        assert_eq!(
            json_line(&e),
            "{\"queue_name\": \"deferred\", \"queue_id\": \"4jd4vg5130z1T7X4\", \
             \"arrival_time\": 1700000000, \"message_size\": 303, \"forced_expire\": false, \
             \"sender\": \"MAILER-DAEMON\", \"recipients\": [{\"address\": \"eve@example.com\", \
             \"delay_reason\": \"test \\\"reason\\\" here\"}, {\"address\": \"x@y\"}]}"
        );
    }
}
