//! NAME
//!   compose - RFC 3464 delivery status notifications as message text
//!
//! SYNOPSIS
//!   let text = compose(&Report { kind: Kind::Failure, .. });
//!
//! DESCRIPTION
//!   [`compose`] turns one message's per-recipient outcomes into a
//!   complete notification message (headers and body, LF line ends), a
//!   pure function of its input so that it can be checked against golden
//!   text:
//!
//!   - headers: `From: MAILER-DAEMON@$myhostname (Mail Delivery
//!     System)`, `Subject:` per kind (`Undelivered Mail Returned to
//!     Sender`, `Delayed Mail (still being retried)`, `Successful Mail
//!     Delivery Report` (DSN NOTIFY=SUCCESS), and the postmaster
//!     copies `Postmaster Copy: Undelivered Mail`, `Postmaster Warning:
//!     Delayed Mail`), `To:`, `Auto-Submitted: auto-replied`,
//!     `MIME-Version: 1.0`, `Content-Type: multipart/report;
//!     report-type=delivery-status; boundary="..."` (RFC 3462/6522);
//!   - part 1, `text/plain`: an explanation in our own words and one line
//!     per recipient, `<rcpt> (expanded from <orig>): reason`;
//!   - part 2, `message/delivery-status` (RFC 3464): per-message fields
//!     `Reporting-MTA: dns; $myhostname`, `X-Postfix-Queue-ID`,
//!     `X-Postfix-Sender: rfc822; sender`, `Arrival-Date`, then per
//!     recipient `Final-Recipient: rfc822; addr`, `Original-Recipient`
//!     (from ORCPT, else the original address), `Action: failed|delayed`
//!     (for success reports the record's own action: `delivered`,
//!     `expanded` or `relayed`),
//!     `Status: X.Y.Z`, `Remote-MTA` (when known), `Diagnostic-Code`
//!     (the remote diagnostic, else `X-Postfix; reason`), and
//!     `Will-Retry-Until` for delays;
//!   - part 3: the original message as `message/rfc822`, or only its
//!     headers as `text/rfc822-headers` ([`Returned`]; always only the
//!     headers for delay warnings, success reports and postmaster copies).
//!
//!   The boundary is `<queue ID>.<seconds>/<myhostname>`, which cannot
//!   occur in the returned text's own boundaries in practice, as with
//!   Postfix.
//!
//! SEE ALSO
//!   RFC 3464, RFC 6522, bounce(8), postconf(5) `bounce_size_limit`.
use chrono::{DateTime, Local};
use deliver::DsnRecord;

/// Which notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Non-delivery to the sender.
    Failure,
    /// Delay warning to the sender.
    Delay,
    /// Copy of a non-delivery for the postmaster (or a double bounce).
    PostmasterFailure,
    /// Copy of a delay warning for the postmaster.
    PostmasterDelay,
    /// Delivery report to the sender (DSN NOTIFY=SUCCESS, RFC 3461).
    Success,
}

impl Kind {
    /// The `Subject:` text.
    pub fn subject(self) -> &'static str {
        match self {
            Kind::Failure => "Undelivered Mail Returned to Sender",
            Kind::Delay => "Delayed Mail (still being retried)",
            Kind::PostmasterFailure => "Postmaster Copy: Undelivered Mail",
            Kind::PostmasterDelay => "Postmaster Warning: Delayed Mail",
            Kind::Success => "Successful Mail Delivery Report",
        }
    }

    fn is_delay(self) -> bool {
        matches!(self, Kind::Delay | Kind::PostmasterDelay)
    }

    fn is_postmaster(self) -> bool {
        matches!(self, Kind::PostmasterFailure | Kind::PostmasterDelay)
    }
}

/// How much of the original message goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    /// The whole message (`message/rfc822`).
    Full,
    /// The header block (`text/rfc822-headers`).
    Headers,
}

/// Everything a notification says.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// Which notification.
    pub kind: Kind,
    /// `myhostname`.
    pub myhostname: &'a str,
    /// Queue ID of the original message.
    pub queue_id: &'a str,
    /// Envelope sender of the original message (may be empty).
    pub sender: &'a str,
    /// The notification's recipient (the `To:` header).
    pub to: &'a str,
    /// When the original message arrived.
    pub arrival: DateTime<Local>,
    /// Now (boundary, dates).
    pub now: DateTime<Local>,
    /// For delays: when the system gives up.
    pub retry_until: Option<DateTime<Local>>,
    /// The per-recipient outcomes.
    pub records: &'a [DsnRecord],
    /// The original message content.
    pub original: &'a [u8],
    /// How much of it to return.
    pub returned: Returned,
}

/// RFC 5322 date as Postfix writes it: `Tue,  5 Mar 2024 07:08:09 +0100
/// (CET)` ([`global::date::mail_date`]).
pub fn mail_date(t: DateTime<Local>) -> String {
    global::date::mail_date(t.into())
}

/// The header block of `content`: every line up to the first empty
/// line (without it).
pub fn header_block(content: &[u8]) -> &[u8] {
    let mut pos = 0;
    while pos < content.len() {
        let end = content[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(content.len(), |i| pos + i + 1);
        if content[pos..end].iter().all(|&b| b == b'\n' || b == b'\r') {
            return &content[..pos];
        }
        pos = end;
    }
    content
}

fn explanation(r: &Report<'_>) -> String {
    let mut s = format!(
        "This is the mail delivery system at host {}.\n\n",
        r.myhostname
    );
    match r.kind {
        Kind::Failure => s.push_str(
            "Your message could not be delivered to one or more of its\n\
             recipients. The reasons are listed below, and your message\n\
             (or its headers) is attached.\n\n\
             If you need help, contact the postmaster of this system and\n\
             include this report.\n",
        ),
        Kind::Delay => {
            s.push_str(
                "This is only a warning: you do not need to send your message\n\
                 again. It could not yet be delivered to the recipients listed\n\
                 below, and the mail system keeps trying.\n",
            );
            if let Some(u) = r.retry_until {
                s.push_str(&format!(
                    "\nDelivery will be tried until {}.\n",
                    mail_date(u)
                ));
            }
        }
        Kind::PostmasterFailure => s.push_str(
            "A message could not be delivered. The report and the headers of\n\
             the message follow.\n",
        ),
        Kind::PostmasterDelay => s.push_str(
            "A message has not been delivered yet. The report and the headers\n\
             of the message follow.\n",
        ),
        Kind::Success => s.push_str(
            "You asked to be told when your message reached the destinations\n\
             listed below. It did. A message delivered to a mailbox gets no\n\
             further reports; a message passed on elsewhere may still be\n\
             reported on by other systems.\n",
        ),
    }
    s.push_str("\n                   The mail system\n\n");
    for rec in r.records {
        match rec
            .orig
            .as_deref()
            .filter(|o| !o.eq_ignore_ascii_case(&rec.rcpt) && !o.is_empty())
        {
            Some(o) => s.push_str(&format!(
                "<{}> (expanded from <{o}>): {}\n",
                rec.rcpt, rec.dsn.reason
            )),
            None => s.push_str(&format!("<{}>: {}\n", rec.rcpt, rec.dsn.reason)),
        }
    }
    s
}

fn status_part(r: &Report<'_>) -> String {
    let mut s = format!(
        "Reporting-MTA: dns; {}\nX-Postfix-Queue-ID: {}\nX-Postfix-Sender: rfc822; {}\nArrival-Date: {}\n",
        r.myhostname,
        r.queue_id,
        r.sender,
        mail_date(r.arrival)
    );
    for rec in r.records {
        s.push('\n');
        s.push_str(&format!("Final-Recipient: rfc822; {}\n", rec.rcpt));
        match (&rec.orcpt, &rec.orig) {
            (Some(o), _) if !o.is_empty() => s.push_str(&format!("Original-Recipient: {o}\n")),
            (_, Some(o)) if !o.is_empty() => {
                s.push_str(&format!("Original-Recipient: rfc822;{o}\n"))
            }
            _ => {}
        }
        let action = match r.kind {
            Kind::Success => rec.action.as_str(),
            k if k.is_delay() => "delayed",
            _ => "failed",
        };
        s.push_str(&format!("Action: {action}\nStatus: {}\n", rec.dsn.status));
        if let Some((t, n)) = &rec.dsn.mta {
            s.push_str(&format!("Remote-MTA: {t}; {n}\n"));
        }
        match &rec.dsn.diagnostic {
            Some((t, d)) => s.push_str(&format!("Diagnostic-Code: {t}; {d}\n")),
            None => s.push_str(&format!("Diagnostic-Code: X-Postfix; {}\n", rec.dsn.reason)),
        }
        if let (true, Some(u)) = (r.kind.is_delay(), r.retry_until) {
            s.push_str(&format!("Will-Retry-Until: {}\n", mail_date(u)));
        }
    }
    s
}

/// Compose the notification described by `r` (see the module text).
pub fn compose(r: &Report<'_>) -> Vec<u8> {
    let boundary = format!("{}.{}/{}", r.queue_id, r.now.timestamp(), r.myhostname);
    let returned = if r.kind.is_delay() || r.kind.is_postmaster() || r.kind == Kind::Success {
        Returned::Headers
    } else {
        r.returned
    };
    let (body, desc, ctype) = match returned {
        Returned::Full => (r.original, "Undelivered Message", "message/rfc822"),
        Returned::Headers => (
            header_block(r.original),
            match r.kind {
                Kind::Success => "Message Headers",
                k if k.is_delay() => "Delayed Message Headers",
                _ => "Undelivered Message Headers",
            },
            "text/rfc822-headers",
        ),
    };
    let eight_bit = body.iter().any(|b| *b >= 0x80);
    let cte = if eight_bit { "8bit" } else { "7bit" };
    let mut out = format!(
        "From: MAILER-DAEMON@{host} (Mail Delivery System)\n\
         Subject: {subject}\n\
         To: {to}\n\
         Auto-Submitted: auto-replied\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status;\n\
         \tboundary=\"{boundary}\"\n\
         Content-Transfer-Encoding: {cte}\n\
         \n\
         This is a MIME-encapsulated message.\n\
         \n\
         --{boundary}\n\
         Content-Description: Notification\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         {text}\n\
         --{boundary}\n\
         Content-Description: Delivery report\n\
         Content-Type: message/delivery-status\n\
         \n\
         {status}\n\
         --{boundary}\n\
         Content-Description: {desc}\n\
         Content-Type: {ctype}\n\
         Content-Transfer-Encoding: {cte}\n\
         \n",
        host = r.myhostname,
        subject = r.kind.subject(),
        to = r.to,
        text = explanation(r),
        status = status_part(r),
    )
    .into_bytes();
    out.extend_from_slice(body);
    if !body.ends_with(b"\n") && !body.is_empty() {
        out.push(b'\n');
    }
    out.extend_from_slice(format!("\n--{boundary}--\n").as_bytes());
    out
}

#[cfg(test)]
mod tests;
