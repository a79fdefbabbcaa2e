//! NAME
//!   maildate - the date format of an added `Date:` header
//!
//! DESCRIPTION
//!   [`mail_date`] formats a time as Postfix's mail_date(3) does for the
//!   `Date:` header that cleanup adds: local time, the day of the month
//!   padded with a space, the numeric UTC offset, and the time zone name
//!   as a comment: `Sat,  1 Feb 2025 09:05:07 +0000 (UTC)`. The zone
//!   name is only known for UTC; other zones get no comment (RFC 5322
//!   makes it optional).
//!
//! SEE ALSO
//!   RFC 5322 section 3.3.
use chrono::{DateTime, Local, Offset, TimeZone};
use std::time::SystemTime;

/// Format `t` in the local time zone.
pub fn mail_date(t: SystemTime) -> String {
    format_in(DateTime::<Local>::from(t))
}

/// Format `t` in its own time zone (tests use fixed offsets).
pub fn format_in<Tz: TimeZone>(t: DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let base = t.format("%a, %e %b %Y %H:%M:%S %z").to_string();
    if t.offset().fix().local_minus_utc() == 0 {
        format!("{base} (UTC)")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    #[test]
    fn postfix_layout() {
        let t = Utc.with_ymd_and_hms(2025, 2, 1, 9, 5, 7).unwrap();
        assert_eq!(format_in(t), "Sat,  1 Feb 2025 09:05:07 +0000 (UTC)");
        let t = FixedOffset::east_opt(-5 * 3600)
            .unwrap()
            .with_ymd_and_hms(2024, 12, 24, 23, 59, 0)
            .unwrap();
        assert_eq!(format_in(t), "Tue, 24 Dec 2024 23:59:00 -0500");
    }
}
