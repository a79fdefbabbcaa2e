//! NAME
//!   table - anvil(8)'s per-(service, client) counters
//!
//! SYNOPSIS
//!   ```ignore
//!   let mut t = Table::new(Duration::from_secs(60));
//!   let (count, rate) = t.connect(Instant::now(), stream_id, "smtp:192.0.2.1");
//!   let rate = t.event(Instant::now(), "smtp:192.0.2.1", Event::Message);
//!   t.stream_closed(Instant::now(), stream_id);
//!   ```
//!
//! DESCRIPTION
//!   One [`Entry`] per ident (a `service:client` string; the table does
//!   not look inside it) holds the number of simultaneous sessions and
//!   five event rates: sessions, messages, recipients, new TLS sessions
//!   and AUTH commands. A rate is the number of events since the entry's
//!   time unit began (`anvil_rate_time_unit`): the first event after the
//!   unit is over starts a new unit and sets every rate of the entry to
//!   zero before counting, as Postfix's anvil does (fixed windows, not a
//!   sliding average).
//!
//!   Sessions belong to the client stream (an smtpd process) that
//!   registered them. A stream holds at most one session, as in Postfix
//!   ("state is kept only for the last reported client"): a second
//!   `connect` on the same stream first drops the first one. A
//!   `disconnect` counts only on the stream that holds the session, and a
//!   stream that closes without `disconnect` (an smtpd that crashed)
//!   gives its session back, so counts cannot leak.
//!
//!   An entry without sessions is forgotten once its time unit is over
//!   ([`Table::expire`]); lookups of a missing or expired entry report
//!   zeros.
//!
//! SEE ALSO
//!   anvil(8), postconf(5) `anvil_rate_time_unit`.
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The rated events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A new session (`connect`).
    Connect,
    /// A message delivery request (`message`).
    Message,
    /// A recipient (`recipient`).
    Recipient,
    /// A new TLS session (`newtls`).
    NewTls,
    /// An AUTH command (`auth`).
    Auth,
}

impl Event {
    fn index(self) -> usize {
        self as usize
    }
}

/// The counters of one ident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Simultaneous sessions.
    pub count: u32,
    /// When the current time unit began.
    pub start: Instant,
    /// Events per [`Event`] (in declaration order) in the current unit.
    pub rates: [u32; 5],
}

impl Entry {
    /// The rate of `ev` in the current unit.
    pub fn rate(&self, ev: Event) -> u32 {
        self.rates[ev.index()]
    }
}

/// Every counter of one ident, for `lookup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Simultaneous sessions.
    pub count: u32,
    /// Sessions in the current unit.
    pub rate: u32,
    /// Messages in the current unit.
    pub mail: u32,
    /// Recipients in the current unit.
    pub rcpt: u32,
    /// New TLS sessions in the current unit.
    pub newtls: u32,
    /// AUTH commands in the current unit.
    pub auth: u32,
}

/// The counters of all idents (see the module description).
#[derive(Debug)]
pub struct Table {
    unit: Duration,
    entries: HashMap<String, Entry>,
    /// Client stream id -> the ident of the session it holds.
    streams: HashMap<u64, String>,
}

impl Table {
    /// An empty table whose rates are per `unit` (`anvil_rate_time_unit`;
    /// at least one second).
    pub fn new(unit: Duration) -> Table {
        Table {
            unit: unit.max(Duration::from_secs(1)),
            entries: HashMap::new(),
            streams: HashMap::new(),
        }
    }

    /// The rate time unit.
    pub fn unit(&self) -> Duration {
        self.unit
    }

    /// How many idents are kept (Postfix's "cache size").
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no ident is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn unit_over(&self, e: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(e.start) >= self.unit
    }

    /// The entry of `ident` at `now`, created when missing, its rates
    /// restarted when its time unit is over.
    fn entry(&mut self, now: Instant, ident: &str) -> &mut Entry {
        let unit = self.unit;
        let e = self
            .entries
            .entry(ident.to_string())
            .or_insert_with(|| Entry {
                count: 0,
                start: now,
                rates: [0; 5],
            });
        if now.saturating_duration_since(e.start) >= unit {
            e.start = now;
            e.rates = [0; 5];
        }
        e
    }

    /// Count one `ev` for `ident` at `now`; returns the rate including
    /// it. `Event::Connect` also counts a session; use [`Table::connect`]
    /// for that.
    pub fn event(&mut self, now: Instant, ident: &str, ev: Event) -> u32 {
        let e = self.entry(now, ident);
        let r = &mut e.rates[ev.index()];
        *r = r.saturating_add(1);
        *r
    }

    /// Register a session of `ident` held by client stream `stream`;
    /// returns `(simultaneous sessions, session rate)` including it.
    pub fn connect(&mut self, now: Instant, stream: u64, ident: &str) -> (u32, u32) {
        if let Some(old) = self.streams.remove(&stream) {
            self.drop_session(&old);
        }
        self.streams.insert(stream, ident.to_string());
        let rate = self.event(now, ident, Event::Connect);
        let e = self.entry(now, ident);
        e.count = e.count.saturating_add(1);
        (e.count, rate)
    }

    fn drop_session(&mut self, ident: &str) {
        if let Some(e) = self.entries.get_mut(ident) {
            e.count = e.count.saturating_sub(1);
        }
    }

    /// End the session of `ident` held by `stream`. A stream that holds
    /// no session of `ident` changes nothing.
    pub fn disconnect(&mut self, stream: u64, ident: &str) {
        if self.streams.get(&stream).map(String::as_str) == Some(ident) {
            self.streams.remove(&stream);
            self.drop_session(ident);
        }
    }

    /// Client stream `stream` went away: end the session it held.
    pub fn stream_closed(&mut self, stream: u64) {
        if let Some(ident) = self.streams.remove(&stream) {
            self.drop_session(&ident);
        }
    }

    /// The counters of `ident` at `now` without counting anything (zeros
    /// for an unknown ident; rates are zero once the unit is over).
    pub fn lookup(&self, now: Instant, ident: &str) -> Snapshot {
        let Some(e) = self.entries.get(ident) else {
            return Snapshot::default();
        };
        let r = if self.unit_over(e, now) {
            [0; 5]
        } else {
            e.rates
        };
        Snapshot {
            count: e.count,
            rate: r[Event::Connect.index()],
            mail: r[Event::Message.index()],
            rcpt: r[Event::Recipient.index()],
            newtls: r[Event::NewTls.index()],
            auth: r[Event::Auth.index()],
        }
    }

    /// Forget every entry without sessions whose time unit is over.
    pub fn expire(&mut self, now: Instant) {
        let unit = self.unit;
        self.entries
            .retain(|_, e| e.count > 0 || now.saturating_duration_since(e.start) < unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "smtp:127.0.0.1";

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn connect_counts_sessions_and_rate() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        assert_eq!(t.connect(t0, 1, ID), (1, 1));
        assert_eq!(t.connect(t0, 2, ID), (2, 2));
        t.disconnect(1, ID);
        assert_eq!(t.lookup(t0, ID).count, 1);
        // The rate does not go down with disconnects.
        assert_eq!(t.connect(t0, 1, ID), (2, 3));
        assert_eq!(t.lookup(t0, "smtp:192.0.2.9"), Snapshot::default());
    }

    #[test]
    fn rates_restart_when_the_unit_is_over() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        for _ in 0..3 {
            t.event(t0, ID, Event::Message);
        }
        assert_eq!(t.event(t0 + secs(59), ID, Event::Message), 4);
        assert_eq!(t.lookup(t0 + secs(59), ID).mail, 4);
        assert_eq!(t.lookup(t0 + secs(60), ID).mail, 0);
        // A new unit starts at the first event after the old one ended.
        assert_eq!(t.event(t0 + secs(61), ID, Event::Message), 1);
        assert_eq!(t.event(t0 + secs(120), ID, Event::Message), 2);
        assert_eq!(t.event(t0 + secs(121), ID, Event::Message), 1);
    }

    #[test]
    fn events_are_counted_apart() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        t.connect(t0, 7, ID);
        t.event(t0, ID, Event::Recipient);
        t.event(t0, ID, Event::Recipient);
        t.event(t0, ID, Event::NewTls);
        t.event(t0, ID, Event::Auth);
        let s = t.lookup(t0, ID);
        assert_eq!(
            s,
            Snapshot {
                count: 1,
                rate: 1,
                mail: 0,
                rcpt: 2,
                newtls: 1,
                auth: 1
            }
        );
    }

    #[test]
    fn a_closed_stream_gives_its_session_back() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        t.connect(t0, 1, ID);
        t.connect(t0, 2, ID);
        t.stream_closed(1);
        assert_eq!(t.lookup(t0, ID).count, 1);
        // Disconnect then close: counted once.
        t.disconnect(2, ID);
        t.stream_closed(2);
        assert_eq!(t.lookup(t0, ID).count, 0);
    }

    #[test]
    fn foreign_disconnects_change_nothing() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        t.connect(t0, 1, ID);
        t.disconnect(2, ID);
        t.disconnect(1, "smtp:192.0.2.1");
        assert_eq!(t.lookup(t0, ID).count, 1);
        t.disconnect(1, ID);
        t.disconnect(1, ID);
        assert_eq!(t.lookup(t0, ID).count, 0);
    }

    #[test]
    fn a_second_connect_on_one_stream_replaces_the_first() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        t.connect(t0, 1, ID);
        assert_eq!(t.connect(t0, 1, "smtp:192.0.2.1"), (1, 1));
        assert_eq!(t.lookup(t0, ID).count, 0);
    }

    #[test]
    fn expire_keeps_live_sessions_and_current_units() {
        let t0 = Instant::now();
        let mut t = Table::new(secs(60));
        t.connect(t0, 1, ID);
        t.event(t0, "smtp:192.0.2.1", Event::Message);
        t.event(t0 + secs(30), "smtp:192.0.2.2", Event::Message);
        t.expire(t0 + secs(61));
        assert_eq!(t.len(), 2);
        assert_eq!(t.lookup(t0 + secs(61), ID).count, 1);
        t.disconnect(1, ID);
        t.expire(t0 + secs(91));
        assert!(t.is_empty());
    }

    #[test]
    fn unit_is_at_least_one_second() {
        assert_eq!(Table::new(Duration::ZERO).unit(), secs(1));
    }
}
