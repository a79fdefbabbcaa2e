//! NAME
//!   received - the Received: header smtpd prepends, and its date
//!
//! DESCRIPTION
//!   [`received_header`] builds the header in Postfix's form (RFC 5321
//!   4.4, protocol names per RFC 3848/6531: SMTP, ESMTP, ESMTPS,
//!   ESMTPA, ESMTPSA, UTF8SMTP, UTF8SMTPS, ...):
//!
//!   ```text
//!   Received: from HELO (NAME [ADDR])
//!       by $myhostname ($mail_name) with PROTO id QUEUEID
//!       for <rcpt>; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)
//!   ```
//!
//!   The `for` clause appears only for a message with exactly one
//!   recipient; otherwise the first continuation line (tab-indented) ends in `;` and the
//!   date gets a line of its own. Without HELO the client name stands in
//!   for it. `tls` is the TLS comment block (issue 6), one entry per
//!   continuation line.
//!
//!   [`Clock`] formats dates as Postfix's mail_date: `%a, %e %b %Y
//!   %H:%M:%S +hhmm (ZONE)`, with the zone abbreviation from the local
//!   time zone, loaded once before chroot.
use chrono::{DateTime, FixedOffset, TimeZone as _, Utc};

/// The local time zone, for dates in headers.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: Option<tz::TimeZone>,
}

impl Clock {
    /// Load the local time zone (`TZ`, else /etc/localtime); UTC when it
    /// cannot be read.
    pub fn local() -> Clock {
        Clock {
            tz: tz::TimeZone::local().ok(),
        }
    }

    /// A clock in UTC (tests).
    pub fn utc() -> Clock {
        Clock { tz: None }
    }

    /// `t` as a mail date, e.g. `Mon,  1 Jan 2024 12:00:00 +0000 (UTC)`.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        let (offset, zone) = match &self.tz {
            Some(tz) => match tz.find_local_time_type(t.timestamp()) {
                Ok(lt) => (lt.ut_offset(), lt.time_zone_designation().to_string()),
                Err(_) => (0, "UTC".to_string()),
            },
            None => (0, "UTC".to_string()),
        };
        let fixed = FixedOffset::east_opt(offset)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
        let local = fixed.from_utc_datetime(&t.naive_utc());
        format!("{} ({zone})", local.format("%a, %e %b %Y %H:%M:%S %z"))
    }

    /// The current time as a mail date.
    pub fn now(&self) -> String {
        self.format(Utc::now())
    }
}

/// What the Received: header says.
#[derive(Debug, Clone, Default)]
pub struct ReceivedInfo<'a> {
    /// HELO/EHLO argument, if any.
    pub helo: Option<&'a str>,
    /// Client name (`unknown` when not verified).
    pub name: &'a str,
    /// Client address as in headers (`IPv6:...`).
    pub rfc_addr: &'a str,
    /// `$myhostname`.
    pub myhostname: &'a str,
    /// `$mail_name`.
    pub mail_name: &'a str,
    /// Protocol name (ESMTP, UTF8SMTPS, ...).
    pub protocol: &'a str,
    /// Queue ID.
    pub queue_id: &'a str,
    /// The only recipient, when there is exactly one.
    pub single_rcpt: Option<&'a str>,
    /// TLS comment lines (without the leading tab).
    pub tls: Vec<String>,
    /// The date (mail_date form).
    pub date: &'a str,
}

/// The header as LF-terminated lines (ready for cleanup).
pub fn received_header(r: &ReceivedInfo<'_>) -> String {
    let mut h = format!(
        "Received: from {} ({} [{}])\n",
        r.helo.unwrap_or(r.name),
        r.name,
        r.rfc_addr
    );
    for t in &r.tls {
        h.push('\t');
        h.push_str(t);
        h.push('\n');
    }
    match r.single_rcpt {
        Some(rcpt) => {
            h.push_str(&format!(
                "\tby {} ({}) with {} id {}\n\tfor <{}>; {}\n",
                r.myhostname, r.mail_name, r.protocol, r.queue_id, rcpt, r.date
            ));
        }
        None => {
            h.push_str(&format!(
                "\tby {} ({}) with {} id {};\n\t{}\n",
                r.myhostname, r.mail_name, r.protocol, r.queue_id, r.date
            ));
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_look_like_postfix() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(
            Clock::utc().format(t),
            "Mon,  1 Jan 2024 12:00:00 +0000 (UTC)"
        );
        let t = Utc.with_ymd_and_hms(2024, 11, 21, 3, 4, 5).unwrap();
        assert_eq!(
            Clock::utc().format(t),
            "Thu, 21 Nov 2024 03:04:05 +0000 (UTC)"
        );
    }

    #[test]
    fn header_forms() {
        let mut r = ReceivedInfo {
            helo: Some("client.example"),
            name: "unknown",
            rfc_addr: "192.0.2.1",
            myhostname: "mx.example.org",
            mail_name: "Postfix",
            protocol: "ESMTP",
            queue_id: "4ABC",
            single_rcpt: Some("u@example.org"),
            tls: vec![],
            date: "Mon,  1 Jan 2024 12:00:00 +0000 (UTC)",
        };
        assert_eq!(
            received_header(&r),
            "Received: from client.example (unknown [192.0.2.1])\n\tby mx.example.org (Postfix) with ESMTP id 4ABC\n\tfor <u@example.org>; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)\n"
        );
        r.single_rcpt = None;
        r.helo = None;
        assert_eq!(
            received_header(&r),
            "Received: from unknown (unknown [192.0.2.1])\n\tby mx.example.org (Postfix) with ESMTP id 4ABC;\n\tMon,  1 Jan 2024 12:00:00 +0000 (UTC)\n"
        );
    }
}
