//! NAME
//!   server - anvil(8)'s request handling
//!
//! SYNOPSIS
//!   ```ignore
//!   let mut a = Anvil::new(Duration::from_secs(60));
//!   let reply = a.request(stream_id, &request_attrs);
//!   a.stream_closed(stream_id);
//!   ```
//!
//! DESCRIPTION
//!   [`Anvil::request`] answers one request of the protocol described in
//!   [`global::anvil_proto`] from the [`crate::table::Table`], and notes
//!   every counter it reports in the [`crate::stats::Stats`] (Postfix
//!   measures only what clients ask about, so a counter nobody limits is
//!   not reported either). Entries whose time unit is over are dropped
//!   at most once a second, on the next request.
//!
//! DIAGNOSTICS
//!   An unknown request, or one without `ident`, is logged as Postfix's
//!   anvil does (`unrecognized request: "NAME", ignored`) and answered
//!   with `status=-1`.
//!
//! SEE ALSO
//!   anvil(8).
use crate::stats::{Peak, Stats};
use crate::table::{Event, Table};
use global::anvil_proto as ap;
use global::attr::Attrs;
use std::time::{Duration, Instant, SystemTime};
use util::msg_warn;

/// The state of the anvil service.
#[derive(Debug)]
pub struct Anvil {
    /// The counters.
    pub table: Table,
    /// The peaks to report.
    pub stats: Stats,
    last_expire: Option<Instant>,
}

fn count_attr(v: u32) -> i64 {
    i64::from(v)
}

impl Anvil {
    /// A service with rates per `unit` (`anvil_rate_time_unit`).
    pub fn new(unit: Duration) -> Anvil {
        Anvil {
            table: Table::new(unit),
            stats: Stats::new(),
            last_expire: None,
        }
    }

    fn expire(&mut self, now: Instant) {
        let due = match self.last_expire {
            Some(t) => now.saturating_duration_since(t) >= Duration::from_secs(1),
            None => true,
        };
        if due {
            self.table.expire(now);
            self.last_expire = Some(now);
        }
    }

    /// Count event `ev` of `ident`, note its peak; returns the rate.
    fn rated(&mut self, now: Instant, wall: SystemTime, ident: &str, ev: Event, p: Peak) -> u32 {
        let rate = self.table.event(now, ident, ev);
        self.stats.note(p, rate, ident, wall);
        rate
    }

    /// Answer request `req` from client stream `stream` (ids are never
    /// reused). See the module description.
    pub fn request(&mut self, stream: u64, req: &Attrs) -> Attrs {
        let now = Instant::now();
        let wall = SystemTime::now();
        self.expire(now);
        let name = req
            .opt_str(ap::ATTR_REQUEST)
            .ok()
            .flatten()
            .unwrap_or("")
            .to_string();
        let Some(ident) = req.opt_str(ap::ATTR_IDENT).ok().flatten() else {
            msg_warn!("unrecognized request: \"{name}\", ignored");
            return Attrs::new().put_int(ap::ATTR_STATUS, ap::STAT_FAIL);
        };
        let ok = Attrs::new().put_int(ap::ATTR_STATUS, ap::STAT_OK);
        let rate = |r: u32| {
            Attrs::new()
                .put_int(ap::ATTR_STATUS, ap::STAT_OK)
                .put_int(ap::ATTR_RATE, count_attr(r))
        };
        let reply = match name.as_str() {
            ap::REQ_CONNECT => {
                let (count, r) = self.table.connect(now, stream, ident);
                self.stats.note(Peak::ConnCount, count, ident, wall);
                self.stats.note(Peak::ConnRate, r, ident, wall);
                ok.put_int(ap::ATTR_COUNT, count_attr(count))
                    .put_int(ap::ATTR_RATE, count_attr(r))
            }
            ap::REQ_DISCONNECT => {
                self.table.disconnect(stream, ident);
                ok
            }
            ap::REQ_MESSAGE => {
                rate(self.rated(now, wall, ident, Event::Message, Peak::MessageRate))
            }
            ap::REQ_RECIPIENT => {
                rate(self.rated(now, wall, ident, Event::Recipient, Peak::RecipientRate))
            }
            ap::REQ_NEWTLS => rate(self.rated(now, wall, ident, Event::NewTls, Peak::NewTlsRate)),
            ap::REQ_AUTH => rate(self.rated(now, wall, ident, Event::Auth, Peak::AuthRate)),
            ap::REQ_NEWTLS_STATUS | ap::REQ_NEWTLS_REPORT => {
                rate(self.table.lookup(now, ident).newtls)
            }
            ap::REQ_LOOKUP => {
                let s = self.table.lookup(now, ident);
                ok.put_int(ap::ATTR_COUNT, count_attr(s.count))
                    .put_int(ap::ATTR_RATE, count_attr(s.rate))
                    .put_int(ap::ATTR_MAIL, count_attr(s.mail))
                    .put_int(ap::ATTR_RCPT, count_attr(s.rcpt))
                    .put_int(ap::ATTR_NEWTLS, count_attr(s.newtls))
                    .put_int(ap::ATTR_AUTH, count_attr(s.auth))
            }
            _ => {
                msg_warn!("unrecognized request: \"{name}\", ignored");
                return Attrs::new().put_int(ap::ATTR_STATUS, ap::STAT_FAIL);
            }
        };
        self.stats.note_cache(self.table.len(), wall);
        reply
    }

    /// Client stream `stream` closed: its session ends.
    pub fn stream_closed(&mut self, stream: u64) {
        self.table.stream_closed(stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(name: &str, ident: &str) -> Attrs {
        Attrs::new()
            .put_str(ap::ATTR_REQUEST, name)
            .put_str(ap::ATTR_IDENT, ident)
    }

    const ID: &str = "smtp:127.0.0.1";

    #[test]
    fn connect_disconnect_and_lookup() {
        let mut a = Anvil::new(Duration::from_secs(60));
        let r = a.request(1, &req(ap::REQ_CONNECT, ID));
        assert_eq!(r.int(ap::ATTR_STATUS).unwrap(), 0);
        assert_eq!(r.int(ap::ATTR_COUNT).unwrap(), 1);
        assert_eq!(r.int(ap::ATTR_RATE).unwrap(), 1);
        let r = a.request(2, &req(ap::REQ_CONNECT, ID));
        assert_eq!(r.int(ap::ATTR_COUNT).unwrap(), 2);
        assert_eq!(r.int(ap::ATTR_RATE).unwrap(), 2);
        let r = a.request(1, &req(ap::REQ_DISCONNECT, ID));
        assert_eq!(r.int(ap::ATTR_STATUS).unwrap(), 0);
        a.stream_closed(2);
        let r = a.request(3, &req(ap::REQ_LOOKUP, ID));
        assert_eq!(r.int(ap::ATTR_COUNT).unwrap(), 0);
        assert_eq!(r.int(ap::ATTR_RATE).unwrap(), 2);
        assert_eq!(r.int(ap::ATTR_MAIL).unwrap(), 0);
    }

    #[test]
    fn rates_and_newtls_status() {
        let mut a = Anvil::new(Duration::from_secs(60));
        for (n, want) in [
            (ap::REQ_MESSAGE, 1),
            (ap::REQ_MESSAGE, 2),
            (ap::REQ_RECIPIENT, 1),
            (ap::REQ_AUTH, 1),
            (ap::REQ_NEWTLS_STATUS, 0),
            (ap::REQ_NEWTLS, 1),
            (ap::REQ_NEWTLS_REPORT, 1),
            (ap::REQ_NEWTLS_STATUS, 1),
        ] {
            let r = a.request(1, &req(n, ID));
            assert_eq!(r.int(ap::ATTR_RATE).unwrap(), want, "{n}");
        }
        let lines = a.stats.take_lines(60);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[0].contains("max message rate 2/60s for (smtp:127.0.0.1)"));
        assert!(lines[4].contains("max cache size 1 at"));
    }

    #[test]
    fn bad_requests_fail() {
        let mut a = Anvil::new(Duration::from_secs(60));
        let r = a.request(1, &req("explode", ID));
        assert_eq!(r.int(ap::ATTR_STATUS).unwrap(), -1);
        let r = a.request(1, &Attrs::new().put_str(ap::ATTR_REQUEST, ap::REQ_CONNECT));
        assert_eq!(r.int(ap::ATTR_STATUS).unwrap(), -1);
        assert!(a.table.is_empty());
    }
}
