//! NAME
//!   stats - the peak values that anvil(8) logs
//!
//! SYNOPSIS
//!   ```ignore
//!   stats.note(Peak::ConnRate, 3, "smtp:127.0.0.1", SystemTime::now());
//!   for line in stats.take_lines(60) { msg_info!("{line}"); }
//!   ```
//!
//! DESCRIPTION
//!   [`Stats`] remembers, for each counter, the largest value seen since
//!   the last report, with the ident and the time it was reached, and
//!   the largest number of idents kept. [`Stats::take_lines`] returns the
//!   report lines in Postfix's order and wording and starts over:
//!
//!   ```text
//!   statistics: max connection rate 3/60s for (smtp:127.0.0.1) at Nov 30 03:59:05
//!   statistics: max connection count 2 for (smtp:127.0.0.1) at Nov 30 03:59:04
//!   statistics: max message rate 3/60s for (smtp:127.0.0.1) at Nov 30 03:59:04
//!   statistics: max recipient rate 4/60s for (smtp:127.0.0.1) at Nov 30 03:59:04
//!   statistics: max newtls rate 2/60s for (smtp:127.0.0.1) at Nov 30 04:03:25
//!   statistics: max auth rate 1/60s for (smtp:127.0.0.1) at Nov 30 04:03:25
//!   statistics: max cache size 1 at Nov 30 03:59:04
//!   ```
//!
//!   A counter that stayed at zero is not reported. Times are local, as
//!   in the log's own time stamps.
//!
//! SEE ALSO
//!   anvil(8), postconf(5) `anvil_status_update_time`.
use std::time::SystemTime;

/// The counters whose peaks are reported, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peak {
    /// Sessions per time unit.
    ConnRate,
    /// Simultaneous sessions.
    ConnCount,
    /// Messages per time unit.
    MessageRate,
    /// Recipients per time unit.
    RecipientRate,
    /// New TLS sessions per time unit.
    NewTlsRate,
    /// AUTH commands per time unit.
    AuthRate,
}

const ALL: [Peak; 6] = [
    Peak::ConnRate,
    Peak::ConnCount,
    Peak::MessageRate,
    Peak::RecipientRate,
    Peak::NewTlsRate,
    Peak::AuthRate,
];

impl Peak {
    /// The words of the report line and whether the value is a rate.
    fn label(self) -> (&'static str, bool) {
        match self {
            Peak::ConnRate => ("connection rate", true),
            Peak::ConnCount => ("connection count", false),
            Peak::MessageRate => ("message rate", true),
            Peak::RecipientRate => ("recipient rate", true),
            Peak::NewTlsRate => ("newtls rate", true),
            Peak::AuthRate => ("auth rate", true),
        }
    }
}

#[derive(Debug, Clone)]
struct Max {
    value: u32,
    ident: String,
    when: SystemTime,
}

/// The peaks since the last report (see the module description).
#[derive(Debug, Default)]
pub struct Stats {
    peaks: [Option<Max>; 6],
    cache: Option<(usize, SystemTime)>,
}

/// `t` as `Mon dd hh:mm:ss` in local time (the day padded with a space),
/// as the log's own time stamps.
fn when(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%b %e %H:%M:%S")
        .to_string()
}

impl Stats {
    /// No peaks yet.
    pub fn new() -> Stats {
        Stats::default()
    }

    /// Note that counter `p` of `ident` reached `value` at `now`.
    pub fn note(&mut self, p: Peak, value: u32, ident: &str, now: SystemTime) {
        let slot = &mut self.peaks[p as usize];
        if value > slot.as_ref().map_or(0, |m| m.value) {
            *slot = Some(Max {
                value,
                ident: ident.to_string(),
                when: now,
            });
        }
    }

    /// Note that the table kept `size` idents at `now`.
    pub fn note_cache(&mut self, size: usize, now: SystemTime) {
        if size > self.cache.map_or(0, |c| c.0) {
            self.cache = Some((size, now));
        }
    }

    /// The report lines for rates per `unit_secs` seconds (module
    /// description); the peaks start over from zero.
    pub fn take_lines(&mut self, unit_secs: u64) -> Vec<String> {
        let mut out = Vec::new();
        for p in ALL {
            let Some(m) = self.peaks[p as usize].take() else {
                continue;
            };
            let (what, is_rate) = p.label();
            let per = if is_rate {
                format!("/{unit_secs}s")
            } else {
                String::new()
            };
            out.push(format!(
                "statistics: max {what} {}{per} for ({}) at {}",
                m.value,
                m.ident,
                when(m.when)
            ));
        }
        if let Some((size, t)) = self.cache.take() {
            out.push(format!("statistics: max cache size {size} at {}", when(t)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reports_peaks_in_order_then_starts_over() {
        let t = SystemTime::now();
        let mut s = Stats::new();
        s.note(Peak::MessageRate, 2, "smtp:a", t);
        s.note(Peak::ConnRate, 1, "smtp:a", t);
        s.note(Peak::ConnRate, 3, "smtp:b", t + Duration::from_secs(1));
        s.note(Peak::ConnRate, 2, "smtp:c", t);
        s.note(Peak::ConnCount, 1, "smtp:b", t);
        s.note_cache(2, t);
        s.note_cache(1, t);
        let lines = s.take_lines(60);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("statistics: max connection rate 3/60s for (smtp:b) at "));
        assert!(lines[1].starts_with("statistics: max connection count 1 for (smtp:b) at "));
        assert!(lines[2].starts_with("statistics: max message rate 2/60s for (smtp:a) at "));
        assert!(lines[3].starts_with("statistics: max cache size 2 at "));
        // "Mon dd hh:mm:ss" is 15 characters.
        let stamp = lines[3].rsplit(" at ").next().unwrap();
        assert_eq!(stamp.len(), 15, "{stamp:?}");
        assert!(s.take_lines(60).is_empty());
    }

    #[test]
    fn zero_is_never_a_peak() {
        let mut s = Stats::new();
        s.note(Peak::AuthRate, 0, "smtp:a", SystemTime::now());
        s.note_cache(0, SystemTime::now());
        assert!(s.take_lines(60).is_empty());
    }
}
