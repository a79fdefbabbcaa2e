//! NAME
//!   delay - the `delay=` and `delays=a/b/c/d` values of delivery log lines
//!
//! DESCRIPTION
//!   postconf(5) `delay_logging_resolution_limit` fixes the format, which
//!   [`format_delay`] implements: a delay of 100 seconds or more is
//!   rounded to whole seconds; a smaller one is shown with two significant
//!   digits, but never with more than `delay_logging_resolution_limit`
//!   (0..6, default 2) digits after the decimal point, so values below
//!   that resolution print as `0`. Trailing zeros after the point are
//!   dropped (`1`, `0.5`, `12`, `0.08`, `350`).
//!
//!   [`Stamps`] holds the moments of one delivery and renders the four
//!   parts of `delays=a/b/c/d`:
//!   a = message arrival to the last move into the active queue (this
//!   includes time spent deferred), b = active queue entry to the agent's
//!   taking the request, c = connection setup (DNS, greeting, EHLO, TLS;
//!   0 for agents without a connection), d = transmission (the rest).
//!   `delay=` is the whole time from arrival to the end of the delivery.
//!
//! SEE ALSO
//!   postconf(5) `delay_logging_resolution_limit`.
use std::time::{Duration, SystemTime};

/// Format one delay per the rules above; `max_dig` is
/// `delay_logging_resolution_limit` (clamped to 0..=6).
pub fn format_delay(d: Duration, max_dig: u32) -> String {
    let max_dig = max_dig.min(6);
    let v = d.as_micros();
    if v >= 100_000_000 {
        return ((v + 500_000) / 1_000_000).to_string();
    }
    // Decimals needed for two significant digits.
    let want: u32 = if v >= 10_000_000 {
        0
    } else if v >= 1_000_000 {
        1
    } else {
        let mut dec = 2;
        let mut lim = 100_000u128; // 0.1 s
        while v < lim && dec < 7 {
            dec += 1;
            lim /= 10;
        }
        dec
    };
    let dec = want.min(max_dig);
    let unit = 10u128.pow(6 - dec);
    let r = (v + unit / 2) / unit;
    let scale = 10u128.pow(dec);
    let (int, frac) = (r / scale, r % scale);
    if dec == 0 || frac == 0 {
        return int.to_string();
    }
    let frac = format!("{frac:0width$}", width = dec as usize);
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// Time from `from` to `to`; zero when the clock went backwards.
fn span(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or(Duration::ZERO)
}

/// The moments of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamps {
    /// When the message arrived (queue file TIME record).
    pub arrival: SystemTime,
    /// When qmgr last moved it into the active queue.
    pub active: SystemTime,
    /// When the delivery agent read the request.
    pub handoff: SystemTime,
    /// When the agent's connection was ready (`None`: no connection).
    pub conn_done: Option<SystemTime>,
}

impl Stamps {
    /// `delay=D, delays=a/b/c/d` for a delivery that ended at `done`,
    /// without the `delay=` and `delays=` names: returns `(D, "a/b/c/d")`.
    pub fn format(&self, done: SystemTime, max_dig: u32) -> (String, String) {
        let f = |d| format_delay(d, max_dig);
        let conn = self.conn_done.unwrap_or(self.handoff).max(self.handoff);
        let parts = [
            span(self.arrival, self.active),
            span(self.active, self.handoff),
            span(self.handoff, conn),
            span(conn, done),
        ];
        let total = f(span(self.arrival, done));
        let parts: Vec<String> = parts.into_iter().map(f).collect();
        (total, parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn postfix_delay_formats() {
        let cases = [
            (ms(0), "0"),
            (Duration::from_micros(4_999), "0"),
            (Duration::from_micros(5_000), "0.01"),
            (ms(12), "0.01"),
            (ms(80), "0.08"),
            (ms(123), "0.12"),
            (ms(500), "0.5"),
            (ms(1_000), "1"),
            (ms(1_234), "1.2"),
            (ms(1_250), "1.3"),
            (ms(9_960), "10"),
            (ms(12_345), "12"),
            (ms(99_400), "99"),
            (ms(99_600), "100"),
            (ms(350_400), "350"),
            (Duration::from_secs(86_400 * 5), "432000"),
        ];
        for (d, want) in cases {
            assert_eq!(format_delay(d, 2), want, "{d:?}");
        }
        assert_eq!(format_delay(Duration::from_micros(1_234), 6), "0.0012");
        assert_eq!(format_delay(Duration::from_micros(1_234), 3), "0.001");
        assert_eq!(format_delay(ms(567), 0), "1");
        assert_eq!(format_delay(ms(1_234), 9), "1.2");
    }

    #[test]
    fn stamps_split_the_delay() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let s = Stamps {
            arrival: t0,
            active: t0 + ms(10),
            handoff: t0 + ms(30),
            conn_done: Some(t0 + ms(80)),
        };
        let (d, parts) = s.format(t0 + ms(1_180), 2);
        assert_eq!(d, "1.2");
        assert_eq!(parts, "0.01/0.02/0.05/1.1");
        let s = Stamps {
            conn_done: None,
            ..s
        };
        assert_eq!(s.format(t0 + ms(30), 2).1, "0.01/0.02/0/0");
        // A clock that went backwards gives zeros, not a panic.
        assert_eq!(s.format(t0, 2).0, "0");
    }
}
