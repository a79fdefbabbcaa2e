//! NAME
//!   date - RFC 5322 dates as Postfix writes them in headers and DSNs
//!
//! SYNOPSIS
//!   global::date::init();                      // pre-init, before chroot
//!   let d = global::date::mail_date(SystemTime::now());
//!   // "Mon, 30 Nov 2026 01:08:39 +0000 (UTC)"
//!
//! DESCRIPTION
//!   One date format for every header and report Postern writes: the
//!   `Date:` header cleanup adds, the `Received:` headers of pickup and
//!   smtpd, and bounce's `Arrival-Date:` / `Will-Retry-Until:`. The form
//!   is that of Postfix's mail_date(3): the local time, the day of the
//!   month padded with a space, the numeric offset from UTC, and the time
//!   zone's abbreviation as a comment (RFC 5322 section 3.3):
//!   `Tue,  5 Mar 2024 07:08:09 +0100 (CET)`.
//!
//!   [`Clock`] holds the local time zone, read with tz-rs from `TZ` or
//!   `/etc/localtime` (chrono formats the date; it does not know zone
//!   abbreviations). A chrooted daemon cannot read the zone files, so it
//!   calls [`init`] in its pre-init hook; [`mail_date`] then uses that
//!   zone. Without a readable zone the date is in UTC with `(UTC)`.
//!
//! SEE ALSO
//!   RFC 5322 section 3.3, Postfix mail_date(3).
use chrono::{DateTime, FixedOffset, TimeZone as _, Utc};
use std::sync::OnceLock;
use std::time::SystemTime;

/// A time zone for mail dates.
#[derive(Debug, Clone)]
pub struct Clock {
    tz: Option<tz::TimeZone>,
}

impl Clock {
    /// The local time zone (`TZ`, else `/etc/localtime`); UTC when it
    /// cannot be read.
    pub fn local() -> Clock {
        Clock {
            tz: tz::TimeZone::local().ok(),
        }
    }

    /// UTC.
    pub fn utc() -> Clock {
        Clock { tz: None }
    }

    /// A zone from a POSIX TZ string such as `CET-1CEST,M3.5.0,M10.5.0/3`
    /// (tests). `None` when the string is not valid.
    pub fn from_posix_tz(spec: &str) -> Option<Clock> {
        tz::TimeZone::from_posix_tz(spec)
            .ok()
            .map(|tz| Clock { tz: Some(tz) })
    }

    /// `t` as a mail date (module description). Times before 1970 are
    /// shown as the epoch.
    pub fn format(&self, t: SystemTime) -> String {
        let secs = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let utc: DateTime<Utc> = Utc
            .timestamp_opt(secs, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let (offset, zone) = self
            .tz
            .as_ref()
            .and_then(|tz| tz.find_local_time_type(secs).ok())
            .map_or((0, "UTC".to_string()), |lt| {
                (lt.ut_offset(), lt.time_zone_designation().to_string())
            });
        let fixed = FixedOffset::east_opt(offset).unwrap_or(FixedOffset::east_opt(0).expect("0"));
        let local = fixed.from_utc_datetime(&utc.naive_utc());
        format!("{} ({zone})", local.format("%a, %e %b %Y %H:%M:%S %z"))
    }

    /// The current time as a mail date.
    pub fn now(&self) -> String {
        self.format(SystemTime::now())
    }
}

static LOCAL: OnceLock<Clock> = OnceLock::new();

/// Read the local time zone now (call before chroot, in pre-init).
pub fn init() {
    LOCAL.get_or_init(Clock::local);
}

/// `t` as a mail date in the local time zone ([`init`]; read on first
/// use when `init` was not called).
pub fn mail_date(t: SystemTime) -> String {
    LOCAL.get_or_init(Clock::local).format(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn utc_has_the_postfix_comment() {
        // 2026-11-30 01:08:39 UTC, a Monday.
        assert_eq!(
            Clock::utc().format(at(1_796_000_919)),
            "Mon, 30 Nov 2026 01:08:39 +0000 (UTC)"
        );
        // The day of the month is padded with a space.
        assert_eq!(
            Clock::utc().format(at(1_738_400_707)),
            "Sat,  1 Feb 2025 09:05:07 +0000 (UTC)"
        );
    }

    #[test]
    fn zones_give_offset_and_abbreviation() {
        let c = Clock::from_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
        assert_eq!(
            c.format(at(1_709_618_889)),
            "Tue,  5 Mar 2024 07:08:09 +0100 (CET)"
        );
        assert_eq!(
            c.format(at(1_719_817_200)),
            "Mon,  1 Jul 2024 09:00:00 +0200 (CEST)"
        );
        let ny = Clock::from_posix_tz("EST5EDT,M3.2.0,M11.1.0").unwrap();
        assert_eq!(
            ny.format(at(1_735_102_740)),
            "Tue, 24 Dec 2024 23:59:00 -0500 (EST)"
        );
    }
}
