//! Golden tests of the notification composer.
use super::*;
use chrono::TimeZone;
use deliver::Dsn;
use queue::DsnNotify;

fn rec(rcpt: &str, orig: Option<&str>, status: &str, reason: &str) -> DsnRecord {
    DsnRecord {
        rcpt_index: Some(0),
        rcpt: rcpt.into(),
        orcpt: None,
        notify: DsnNotify::NONE,
        orig: orig.map(str::to_string),
        dsn: Dsn::new(status, reason),
        action: "failed".into(),
        relay: "local".into(),
        time: 0,
    }
}

const ORIGINAL: &[u8] = b"From: u1@host.test\nSubject: hello\n\nbody line\n";

fn report<'a>(kind: Kind, records: &'a [DsnRecord], returned: Returned) -> Report<'a> {
    Report {
        kind,
        myhostname: "host.test",
        queue_id: "4QID",
        sender: "u1@host.test",
        to: "u1@host.test",
        arrival: Local.timestamp_opt(1_700_000_000, 0).unwrap(),
        now: Local.timestamp_opt(1_700_000_100, 0).unwrap(),
        retry_until: Some(Local.timestamp_opt(1_700_432_000, 0).unwrap()),
        records,
        original: ORIGINAL,
        returned,
    }
}

#[test]
fn failure_report_golden() {
    let recs = [rec(
        "nosuch@host.test",
        None,
        "5.1.1",
        "unknown user: \"nosuch\"",
    )];
    let text = String::from_utf8(compose(&report(Kind::Failure, &recs, Returned::Full))).unwrap();
    let arrival = mail_date(Local.timestamp_opt(1_700_000_000, 0).unwrap());
    let expected = format!(
        "From: MAILER-DAEMON@host.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: u1@host.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary=\"4QID.1700000100/host.test\"
Content-Transfer-Encoding: 7bit

This is a MIME-encapsulated message.

--4QID.1700000100/host.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail delivery system at host host.test.

Your message could not be delivered to one or more of its
recipients. The reasons are listed below, and your message
(or its headers) is attached.

If you need help, contact the postmaster of this system and
include this report.

                   The mail system

<nosuch@host.test>: unknown user: \"nosuch\"

--4QID.1700000100/host.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; host.test
X-Postfix-Queue-ID: 4QID
X-Postfix-Sender: rfc822; u1@host.test
Arrival-Date: {arrival}

Final-Recipient: rfc822; nosuch@host.test
Action: failed
Status: 5.1.1
Diagnostic-Code: X-Postfix; unknown user: \"nosuch\"

--4QID.1700000100/host.test
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 7bit

From: u1@host.test
Subject: hello

body line

--4QID.1700000100/host.test--
"
    );
    assert_eq!(text, expected);
}

#[test]
fn headers_only_delay_and_expansion() {
    let mut r = rec(
        "u2@host.test",
        Some("all@host.test"),
        "4.2.0",
        "mailbox locked",
    );
    r.orcpt = Some("rfc822;All@host.test".into());
    r.dsn.diagnostic = Some(("smtp".into(), "451 try later".into()));
    let recs = [r];
    let text = String::from_utf8(compose(&report(Kind::Delay, &recs, Returned::Full))).unwrap();
    assert!(text.contains("Subject: Delayed Mail (still being retried)\n"));
    assert!(text.contains("<u2@host.test> (expanded from <all@host.test>): mailbox locked\n"));
    assert!(text.contains(
        "Final-Recipient: rfc822; u2@host.test\nOriginal-Recipient: rfc822;All@host.test\nAction: delayed\nStatus: 4.2.0\nDiagnostic-Code: smtp; 451 try later\nWill-Retry-Until: "
    ));
    assert!(text.contains(
        "Content-Description: Delayed Message Headers\nContent-Type: text/rfc822-headers\nContent-Transfer-Encoding: 7bit\n\nFrom: u1@host.test\nSubject: hello\n\n--4QID"
    ), "{text}");
    assert!(!text.contains("body line"));
}

#[test]
fn header_block_stops_at_the_empty_line() {
    assert_eq!(header_block(b"A: b\n\nbody\n"), b"A: b\n");
    assert_eq!(header_block(b"A: b\n"), b"A: b\n");
    assert_eq!(header_block(b"\nbody"), b"");
}

#[test]
fn dates_carry_the_zone_name_as_postfix_does() {
    let t = Local.timestamp_opt(1_700_000_000, 0).unwrap();
    let d = mail_date(t);
    assert_eq!(d, global::date::Clock::local().format(t.into()));
    assert!(!d.contains("(+") && !d.contains("(-"), "{d}");
}

#[test]
fn success_report_uses_the_record_actions_and_returns_headers() {
    let mut delivered = rec(
        "u2@host.test",
        None,
        "2.0.0",
        "delivery via local: delivered to mailbox",
    );
    delivered.action = "delivered".into();
    let mut expanded = rec(
        "list@host.test",
        None,
        "2.0.0",
        "delivery via local: alias expanded",
    );
    expanded.action = "expanded".into();
    let recs = [delivered, expanded];
    let text = String::from_utf8(compose(&report(Kind::Success, &recs, Returned::Full))).unwrap();
    assert!(
        text.contains("Subject: Successful Mail Delivery Report\n"),
        "{text}"
    );
    assert!(
        text.contains("<u2@host.test>: delivery via local: delivered to mailbox\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Final-Recipient: rfc822; u2@host.test\nAction: delivered\nStatus: 2.0.0\n\
             Diagnostic-Code: X-Postfix; delivery via local: delivered to mailbox\n"
        ),
        "{text}"
    );
    assert!(text.contains("Action: expanded\n"), "{text}");
    assert!(
        text.contains("Content-Description: Message Headers\nContent-Type: text/rfc822-headers\n"),
        "{text}"
    );
    assert!(!text.contains("body line"), "{text}");
    assert!(!text.contains("Will-Retry-Until"), "{text}");
}
