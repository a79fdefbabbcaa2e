//! NAME
//!   settings - the parameters qmgr works with
//!
//! DESCRIPTION
//!   [`Settings::from_config`] reads, once at start-up:
//!
//!   - `minimal_backoff_time`, `maximal_backoff_time`: bounds of the
//!     retry delay of a deferred message ([`retry_delay`]);
//!   - `queue_run_delay`: how often the deferred queue is scanned;
//!   - `maximal_queue_lifetime`, `bounce_queue_lifetime` (null sender):
//!     how long a message may stay before it is returned; as in Postfix a
//!     bounce lifetime above the queue lifetime is lowered to it, with a
//!     warning;
//!   - `delay_warning_time`: when a delay warning is due (0 = never);
//!   - `qmgr_message_active_limit`, `qmgr_message_recipient_limit`: how
//!     many messages and recipients are in memory at once;
//!   - `default_process_limit`: the most deliveries in flight at once;
//!   - `transport_retry_time`: how long a transport whose socket failed
//!     is treated as unavailable;
//!   - `ipc_timeout`: write timeout towards the agents and bounce;
//!   - `default_filter_nexthop`: the next hop of a content filter
//!     (`content_filter`, access(5) FILTER) given without one (empty: the
//!     recipient's domain, else `myhostname`).
//!
//!   Per transport (from the master.cf service name, Postfix's
//!   per-transport parameters): `<transport>_destination_concurrency_limit`
//!   (default `default_destination_concurrency_limit`),
//!   `<transport>_initial_destination_concurrency` (default
//!   `initial_destination_concurrency`),
//!   `<transport>_destination_recipient_limit` (default
//!   `default_destination_recipient_limit`). A limit of 0 means none.
//!
//! DIAGNOSTICS
//!   A malformed value is fatal at start-up, as in Postfix.
use global::Config;
use util::{msg_fatal, msg_warn};

/// qmgr's parameters.
#[derive(Debug, Clone)]
pub struct Settings {
    /// postconf(5) `minimal_backoff_time`, seconds.
    pub min_backoff: u64,
    /// postconf(5) `maximal_backoff_time`, seconds.
    pub max_backoff: u64,
    /// postconf(5) `queue_run_delay`, seconds.
    pub queue_run_delay: u64,
    /// postconf(5) `maximal_queue_lifetime`, seconds.
    pub max_lifetime: u64,
    /// postconf(5) `bounce_queue_lifetime`, seconds (at most `max_lifetime`).
    pub bounce_lifetime: u64,
    /// postconf(5) `delay_warning_time`, seconds; 0 = no warnings.
    pub delay_warning: u64,
    /// postconf(5) `qmgr_message_active_limit`.
    pub active_limit: usize,
    /// postconf(5) `qmgr_message_recipient_limit`.
    pub recipient_limit: usize,
    /// postconf(5) `default_process_limit`: deliveries in flight at once.
    pub process_limit: usize,
    /// postconf(5) `transport_retry_time`, seconds.
    pub transport_retry: u64,
    /// postconf(5) `ipc_timeout`, seconds.
    pub ipc_timeout: u64,
    /// postconf(5) `default_filter_nexthop`.
    pub filter_nexthop: String,
    /// postconf(5) `myhostname`.
    pub myhostname: String,
    cfg: Config,
}

fn time(cfg: &Config, name: &str) -> u64 {
    cfg.get_time(name).unwrap_or_else(|e| msg_fatal!("{e}"))
}

fn count(cfg: &Config, name: &str) -> usize {
    let v = cfg.get_int(name).unwrap_or_else(|e| msg_fatal!("{e}"));
    usize::try_from(v).unwrap_or(0)
}

impl Settings {
    /// Read the parameters (see DESCRIPTION). Fatal on malformed values.
    pub fn from_config(cfg: &Config) -> Settings {
        let max_lifetime = time(cfg, "maximal_queue_lifetime");
        let mut bounce_lifetime = time(cfg, "bounce_queue_lifetime");
        if bounce_lifetime > max_lifetime {
            msg_warn!("bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime");
            bounce_lifetime = max_lifetime;
        }
        let min_backoff = time(cfg, "minimal_backoff_time");
        let mut max_backoff = time(cfg, "maximal_backoff_time");
        if max_backoff < min_backoff {
            msg_warn!("maximal_backoff_time is smaller than minimal_backoff_time - adjusting maximal_backoff_time");
            max_backoff = min_backoff;
        }
        Settings {
            min_backoff,
            max_backoff,
            queue_run_delay: time(cfg, "queue_run_delay").max(1),
            max_lifetime,
            bounce_lifetime,
            delay_warning: time(cfg, "delay_warning_time"),
            active_limit: count(cfg, "qmgr_message_active_limit").max(1),
            recipient_limit: count(cfg, "qmgr_message_recipient_limit").max(1),
            process_limit: count(cfg, "default_process_limit").max(1),
            transport_retry: time(cfg, "transport_retry_time").max(1),
            ipc_timeout: time(cfg, "ipc_timeout").max(1),
            filter_nexthop: cfg.get("default_filter_nexthop").unwrap_or_default(),
            myhostname: cfg.get("myhostname").unwrap_or_default(),
            cfg: cfg.clone(),
        }
    }

    /// The configuration (for the resolver).
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A per-transport count: `<transport>_<suffix>`, falling back to
    /// `fallback` when malformed. Negative values count as 0 (no limit).
    fn per_transport(&self, transport: &str, suffix: &str, fallback: &str) -> usize {
        let name = format!("{transport}_{suffix}");
        let v = self.cfg.get_int(&name).or_else(|e| {
            msg_warn!("{e}");
            self.cfg.get_int(fallback)
        });
        usize::try_from(v.unwrap_or(0)).unwrap_or(0)
    }

    /// Deliveries in flight to one destination of `transport` (0 = no limit).
    pub fn concurrency_limit(&self, transport: &str) -> usize {
        self.per_transport(
            transport,
            "destination_concurrency_limit",
            "default_destination_concurrency_limit",
        )
    }

    /// The concurrency a destination starts with.
    pub fn initial_concurrency(&self, transport: &str) -> usize {
        self.per_transport(
            transport,
            "initial_destination_concurrency",
            "initial_destination_concurrency",
        )
        .max(1)
    }

    /// Recipients per delivery request for `transport` (0 = no limit).
    pub fn recipients_per_request(&self, transport: &str) -> usize {
        self.per_transport(
            transport,
            "destination_recipient_limit",
            "default_destination_recipient_limit",
        )
    }

    /// How long a message from `sender` may stay in the queue, seconds.
    pub fn lifetime(&self, sender: &str) -> u64 {
        if sender.is_empty() {
            self.bounce_lifetime
        } else {
            self.max_lifetime
        }
    }
}

/// The delay before a deferred message is tried again, seconds: its age
/// clipped to [`Settings::min_backoff`, `max_backoff`], as Postfix's
/// queue manager does. Since the age grows by about the delay each time,
/// the delays double from `minimal_backoff_time` until they reach
/// `maximal_backoff_time` (300, 600, 1200, 2400, 4000, 4000 ... with
/// the defaults).
pub fn retry_delay(age: u64, min: u64, max: u64) -> u64 {
    age.clamp(min, max.max(min))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn backoff_schedule_doubles_then_caps() {
        let (min, max) = (300, 4000);
        let mut age = 0;
        let mut seen = Vec::new();
        for _ in 0..7 {
            let d = retry_delay(age, min, max);
            seen.push(d);
            age += d;
        }
        assert_eq!(seen, [300, 300, 600, 1200, 2400, 4000, 4000]);
        assert_eq!(retry_delay(10, 20, 5), 20);
    }

    #[test]
    fn per_transport_and_lifetimes() {
        let cfg = Config::from_text(
            Path::new("/nonexistent"),
            "maximal_queue_lifetime = 3s\nbounce_queue_lifetime = 5d\nrelay_destination_concurrency_limit = 2\ndefault_destination_recipient_limit = 7\n",
        )
        .unwrap();
        let s = Settings::from_config(&cfg);
        assert_eq!((s.max_lifetime, s.bounce_lifetime), (3, 3));
        assert_eq!(s.lifetime(""), 3);
        assert_eq!(s.concurrency_limit("relay"), 2);
        assert_eq!(s.concurrency_limit("smtp"), 20);
        assert_eq!(s.initial_concurrency("smtp"), 5);
        assert_eq!(s.recipients_per_request("smtp"), 7);
        assert_eq!(s.recipients_per_request("local"), 1);
    }
}
