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
//!   Dates come from [`global::date::Clock`] (Postfix's mail_date form),
//!   with the local time zone loaded once before chroot.
/// The mail-date clock is the shared one ([`global::date::Clock`]).
pub use global::date::Clock;

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
        use chrono::{TimeZone as _, Utc};
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap().into();
        assert_eq!(
            Clock::utc().format(t),
            "Mon,  1 Jan 2024 12:00:00 +0000 (UTC)"
        );
        let t = Utc.with_ymd_and_hms(2024, 11, 21, 3, 4, 5).unwrap().into();
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
