//! NAME
//!   sched - qmgr's scheduler: destinations, concurrency, delivery results
//!
//! DESCRIPTION
//!   One thread owns all of qmgr's state ([`Qmgr`]) and reacts to
//!   [`Event`]s: trigger bytes from the skeleton's trigger loop, results of
//!   delivery attempts from the worker threads, and its own timer
//!   (`queue_run_delay`).
//!
//!   Recipients waiting for delivery are kept as jobs (one delivery
//!   request each) in per-destination queues. A destination is a
//!   (transport, next hop) pair; for a transport whose recipient limit is 1
//!   (local by default) it is (transport, next hop, recipient), so the
//!   concurrency limit becomes a per-recipient limit, as postconf(5)
//!   describes for `*_destination_recipient_limit`.
//!
//!   [`Qmgr::dispatch`] starts jobs round-robin across destinations while
//!   fewer than `default_process_limit` are in flight in total and fewer
//!   than the destination's window are in flight there. The window
//!   starts at `<transport>_initial_destination_concurrency`, grows by one
//!   after each attempt the agent completed (status 0), never beyond
//!   `<transport>_destination_concurrency_limit`, and falls back to 1
//!   after a failed attempt. (Postfix's fractional feedback and
//!   dead-destination cohorts are not implemented.)
//!
//!   A result's recipients without an outcome (the agent could not work,
//!   broke off, or its socket is missing) are sent again, minus those the
//!   queue file shows done, to the `retry` service with the reason: the
//!   agent's, `4.3.0 mail transport unavailable` (the transport is then
//!   skipped for `transport_retry_time`; trigger `F` forgets that), or
//!   `4.3.0 unknown mail transport error`.
//!
//! SEE ALSO
//!   qmgr(8), [`crate::active`] (scans, activation, completion).
use crate::settings::Settings;
use crate::worker::{self, Outcome, BROKEN, UNAVAILABLE};
use deliver::bounce_client::BounceClient;
use deliver::{AgentEnv, DeliveryRequest, RequestRecipient};
use global::trigger;
use queue::{DsnRet, QueueDir, QueueFile, QueueId};
use resolve::Resolver;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};
use util::msg_warn;

/// What wakes the scheduler.
#[derive(Debug)]
pub enum Event {
    /// Trigger bytes (`I`, `D`, `A`, `F`, `W`).
    Trigger(u8),
    /// A delivery attempt ended.
    Done(u64, Outcome),
}

/// What the triggers taken together ask for (doc/PIPELINE.md).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scans {
    incoming: bool,
    deferred: bool,
    flush_all: bool,
    forget_dead: bool,
}

impl Scans {
    /// Add trigger byte `b`: `I`, `D`, `A` (flush: forget dead transports,
    /// every deferred message, then incoming), `F`; white space and NUL
    /// are ignored, any other byte (`W`) means incoming and deferred.
    fn add(&mut self, b: u8) {
        match b {
            trigger::QMGR_SCAN_INCOMING => self.incoming = true,
            trigger::QMGR_SCAN_DEFERRED => self.deferred = true,
            trigger::QMGR_FLUSH_ALL => {
                self.forget_dead = true;
                self.flush_all = true;
                self.incoming = true;
            }
            trigger::QMGR_FORGET_DEAD => self.forget_dead = true,
            b'\n' | b'\r' | b' ' | 0 => {}
            _ => {
                self.incoming = true;
                self.deferred = true;
            }
        }
    }
}

/// (transport, next hop, recipient when the transport takes one per request).
pub type DestKey = (String, String, Option<String>);

/// One delivery request waiting or running.
#[derive(Debug, Clone)]
pub struct Job {
    /// The message.
    pub id: QueueId,
    /// Where it goes.
    pub dest: DestKey,
    /// Its recipients.
    pub recipients: Vec<RequestRecipient>,
}

#[derive(Debug)]
struct Dest {
    queue: VecDeque<Job>,
    in_flight: usize,
    window: usize,
    limit: usize,
}

/// A message in the active queue.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Envelope sender.
    pub sender: String,
    /// Arrival time.
    pub arrival: SystemTime,
    /// When it was moved into `active`.
    pub active: SystemTime,
    /// RFC 3461 ENVID.
    pub envid: Option<String>,
    /// RFC 3461 RET.
    pub ret: Option<DsnRet>,
    /// Jobs not finished yet.
    pub outstanding: usize,
    /// Recipients counted against `qmgr_message_recipient_limit`.
    pub rcpts: usize,
}

/// All of qmgr's state.
#[derive(Debug)]
pub struct Qmgr {
    pub(crate) s: Settings,
    pub(crate) qdir: QueueDir,
    pub(crate) env: AgentEnv,
    pub(crate) bounce: BounceClient,
    pub(crate) resolver: Option<Resolver>,
    pub(crate) msgs: HashMap<QueueId, Msg>,
    pub(crate) rcpts_in_memory: usize,
    /// A scan stopped at a limit: scan again when a message leaves.
    pub(crate) backlog: bool,
    dests: HashMap<DestKey, Dest>,
    order: VecDeque<DestKey>,
    running: HashMap<u64, Job>,
    next_job: u64,
    in_flight: usize,
    dead: HashMap<String, Instant>,
    tx: Sender<Event>,
}

impl Qmgr {
    /// A scheduler with the queue rooted at the current directory
    /// (`queue_directory`). `tx` is where worker results go.
    pub fn new(s: Settings, qdir: QueueDir, tx: Sender<Event>) -> Qmgr {
        let env = AgentEnv {
            qdir: qdir.clone(),
            delay_resolution: AgentEnv::from_config(s.config()).delay_resolution,
        };
        let bounce = BounceClient::new(
            deliver::bounce_client::BOUNCE_SERVICE,
            Duration::from_secs(s.ipc_timeout),
        );
        let resolver = Self::make_resolver(&s);
        Qmgr {
            s,
            qdir,
            env,
            bounce,
            resolver,
            msgs: HashMap::new(),
            rcpts_in_memory: 0,
            backlog: false,
            dests: HashMap::new(),
            order: VecDeque::new(),
            running: HashMap::new(),
            next_job: 0,
            in_flight: 0,
            dead: HashMap::new(),
            tx,
        }
    }

    fn make_resolver(s: &Settings) -> Option<Resolver> {
        Resolver::new(s.config())
            .map_err(|e| msg_warn!("address resolver: {e}"))
            .ok()
    }

    /// Re-open the resolver's tables when a table file changed.
    pub(crate) fn refresh_resolver(&mut self) {
        if self.resolver.as_ref().is_none_or(Resolver::changed) {
            self.resolver = Self::make_resolver(&self.s);
        }
    }

    /// Serve events until the trigger side goes away. Events that are
    /// already waiting are taken together, so a burst of `I` triggers
    /// (one per message cleanup queued) costs one incoming scan.
    pub fn run(mut self, rx: Receiver<Event>) {
        self.recover();
        self.scan_incoming();
        self.scan_deferred(false);
        self.dispatch();
        let period = Duration::from_secs(self.s.queue_run_delay);
        let mut next_run = Instant::now() + period;
        loop {
            let wait = next_run.saturating_duration_since(Instant::now());
            let mut scans = Scans::default();
            match rx.recv_timeout(wait) {
                Ok(ev) => self.event(ev, &mut scans),
                Err(RecvTimeoutError::Timeout) => {
                    next_run = Instant::now() + period;
                    scans.incoming = true;
                    scans.deferred = true;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(ev) = rx.try_recv() {
                self.event(ev, &mut scans);
            }
            self.scan(scans);
            self.dispatch();
        }
    }

    /// Apply a delivery result now; note what a trigger asks for.
    fn event(&mut self, ev: Event, scans: &mut Scans) {
        match ev {
            Event::Done(jid, out) => self.done(jid, out),
            Event::Trigger(b) => scans.add(b),
        }
    }

    /// Do the scans the triggers asked for, each once.
    fn scan(&mut self, scans: Scans) {
        if scans.forget_dead {
            self.dead.clear();
        }
        if scans.flush_all {
            self.scan_deferred(true);
        } else if scans.deferred {
            self.scan_deferred(false);
        }
        if scans.incoming {
            self.scan_incoming();
        }
    }

    /// Whether transport `t` recently failed to answer.
    fn is_dead(&mut self, t: &str) -> bool {
        match self.dead.get(t) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                self.dead.remove(t);
                false
            }
            None => false,
        }
    }

    /// Queue a job for message `id` (whose `outstanding` count it raises).
    pub(crate) fn enqueue(&mut self, mut job: Job) {
        if job.dest.0 != "retry" && self.is_dead(&job.dest.0) {
            job.dest = ("retry".into(), UNAVAILABLE.into(), None);
        }
        if let Some(m) = self.msgs.get_mut(&job.id) {
            m.outstanding += 1;
        }
        let key = job.dest.clone();
        if !self.dests.contains_key(&key) {
            let t = key.0.as_str();
            let d = Dest {
                queue: VecDeque::new(),
                in_flight: 0,
                window: self.s.initial_concurrency(t),
                limit: self.s.concurrency_limit(t),
            };
            self.dests.insert(key.clone(), d);
            self.order.push_back(key.clone());
        }
        if let Some(d) = self.dests.get_mut(&key) {
            d.queue.push_back(job);
        }
    }

    /// Start waiting jobs within the limits (see DESCRIPTION).
    pub fn dispatch(&mut self) {
        loop {
            let mut progress = false;
            let keys: Vec<DestKey> = self.order.iter().cloned().collect();
            for key in keys {
                if self.in_flight >= self.s.process_limit {
                    return;
                }
                let Some(d) = self.dests.get_mut(&key) else {
                    continue;
                };
                let cap = if d.limit == 0 {
                    usize::MAX
                } else {
                    d.window.min(d.limit)
                };
                if d.in_flight >= cap {
                    continue;
                }
                let Some(job) = d.queue.pop_front() else {
                    continue;
                };
                d.in_flight += 1;
                self.in_flight += 1;
                self.launch(job);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        // Forget idle destinations.
        let dests = &mut self.dests;
        dests.retain(|_, d| !d.queue.is_empty() || d.in_flight > 0);
        self.order.retain(|k| dests.contains_key(k));
    }

    fn launch(&mut self, job: Job) {
        let Some(m) = self.msgs.get(&job.id) else {
            return;
        };
        let req = DeliveryRequest {
            queue_name: queue::ACTIVE.into(),
            queue_id: job.id.clone(),
            transport: job.dest.0.clone(),
            nexthop: job.dest.1.clone(),
            sender: m.sender.clone(),
            envid: m.envid.clone(),
            ret: m.ret,
            arrival: m.arrival,
            active: m.active,
            flags: 0,
            recipients: job.recipients.clone(),
        };
        let jid = self.next_job;
        self.next_job += 1;
        self.running.insert(jid, job);
        let tx = self.tx.clone();
        worker::spawn(
            req,
            self.env.clone(),
            Duration::from_secs(self.s.ipc_timeout),
            move |out| {
                let _ = tx.send(Event::Done(jid, out));
            },
        );
    }

    /// A delivery attempt ended: feedback, re-routing, message completion.
    fn done(&mut self, jid: u64, out: Outcome) {
        let Some(job) = self.running.remove(&jid) else {
            return;
        };
        self.in_flight = self.in_flight.saturating_sub(1);
        let ok = matches!(&out, Outcome::Reply(r) if r.status == 0);
        if let Some(d) = self.dests.get_mut(&job.dest) {
            d.in_flight = d.in_flight.saturating_sub(1);
            d.window = if ok { d.window.saturating_add(1) } else { 1 };
        }
        let transport = job.dest.0.clone();
        let (unreported, reason): (Vec<RequestRecipient>, String) = match out {
            Outcome::Reply(r) => {
                let seen: HashSet<usize> = r.outcomes.iter().map(|o| o.index).collect();
                let rest = job
                    .recipients
                    .iter()
                    .filter(|x| !seen.contains(&x.index))
                    .cloned()
                    .collect();
                (rest, r.reason.unwrap_or_else(|| BROKEN.to_string()))
            }
            Outcome::Unavailable => {
                let until = Instant::now() + Duration::from_secs(self.s.transport_retry);
                self.dead.insert(transport.clone(), until);
                (job.recipients.clone(), UNAVAILABLE.to_string())
            }
            Outcome::Broken => (job.recipients.clone(), BROKEN.to_string()),
        };
        if !unreported.is_empty() && transport != "retry" && transport != "error" {
            self.reroute(&job.id, unreported, reason);
        }
        let finished = match self.msgs.get_mut(&job.id) {
            Some(m) => {
                m.outstanding = m.outstanding.saturating_sub(1);
                m.outstanding == 0
            }
            None => false,
        };
        if finished {
            self.finish(&job.id);
        }
    }

    /// Send the still-pending ones of `rcpts` to the retry service.
    fn reroute(&mut self, id: &QueueId, rcpts: Vec<RequestRecipient>, reason: String) {
        let done: Vec<bool> = match QueueFile::open_readonly(&self.qdir, queue::ACTIVE, id) {
            Ok(qf) => qf.envelope().recipients.iter().map(|r| r.done).collect(),
            Err(e) => {
                msg_warn!("{}: {e}", id.as_str());
                return;
            }
        };
        let pending: Vec<RequestRecipient> = rcpts
            .into_iter()
            .filter(|r| !done.get(r.index).copied().unwrap_or(true))
            .collect();
        if pending.is_empty() {
            return;
        }
        self.enqueue(Job {
            id: id.clone(),
            dest: ("retry".into(), reason, None),
            recipients: pending,
        });
    }
}

/// Group a message's pending recipients into jobs: by destination, at
/// most `limit(transport)` recipients each (0 = no limit); with a limit
/// of 1 the recipient is part of the destination. Order is kept.
pub fn group<F>(id: &QueueId, routed: Vec<(String, String, RequestRecipient)>, limit: F) -> Vec<Job>
where
    F: Fn(&str) -> usize,
{
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut by: HashMap<(String, String), Vec<RequestRecipient>> = HashMap::new();
    for (t, n, r) in routed {
        let k = (t, n);
        if !by.contains_key(&k) {
            keys.push(k.clone());
        }
        by.entry(k).or_default().push(r);
    }
    let mut jobs = Vec::new();
    for k in keys {
        let rcpts = by.remove(&k).unwrap_or_default();
        let lim = limit(&k.0);
        let size = if lim == 0 { rcpts.len().max(1) } else { lim };
        for chunk in rcpts.chunks(size) {
            let one = (lim == 1).then(|| chunk[0].address.to_ascii_lowercase());
            jobs.push(Job {
                id: id.clone(),
                dest: (k.0.clone(), k.1.clone(), one),
                recipients: chunk.to_vec(),
            });
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::DsnNotify;

    fn r(i: usize, a: &str) -> RequestRecipient {
        RequestRecipient {
            index: i,
            address: a.into(),
            orcpt: None,
            notify: DsnNotify::NONE,
            orig: None,
        }
    }

    #[test]
    fn a_burst_of_triggers_is_one_scan_of_each_kind() {
        let mut s = Scans::default();
        for b in b"IIIII\n" {
            s.add(*b);
        }
        assert_eq!(
            s,
            Scans {
                incoming: true,
                ..Scans::default()
            }
        );
        s.add(b'A');
        assert!(s.flush_all && s.forget_dead && s.incoming && !s.deferred);
        let mut w = Scans::default();
        w.add(b'W');
        assert!(w.incoming && w.deferred && !w.flush_all);
        let mut f = Scans::default();
        f.add(b'F');
        assert_eq!(
            f,
            Scans {
                forget_dead: true,
                ..Scans::default()
            }
        );
    }

    #[test]
    fn grouping_by_destination_and_limit() {
        let id = QueueId::from_parts(1_700_000_000, 1, 1);
        let routed = vec![
            (
                "smtp".to_string(),
                "a.example".to_string(),
                r(0, "x@a.example"),
            ),
            ("local".into(), "here".into(), r(1, "u1@here")),
            ("smtp".into(), "a.example".into(), r(2, "y@a.example")),
            ("smtp".into(), "b.example".into(), r(3, "z@b.example")),
            ("local".into(), "here".into(), r(4, "U2@here")),
            ("smtp".into(), "a.example".into(), r(5, "w@a.example")),
        ];
        let jobs = group(&id, routed, |t| if t == "local" { 1 } else { 2 });
        let shape: Vec<(String, String, Option<String>, Vec<usize>)> = jobs
            .iter()
            .map(|j| {
                (
                    j.dest.0.clone(),
                    j.dest.1.clone(),
                    j.dest.2.clone(),
                    j.recipients.iter().map(|x| x.index).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("smtp".into(), "a.example".into(), None, vec![0, 2]),
                ("smtp".into(), "a.example".into(), None, vec![5]),
                (
                    "local".into(),
                    "here".into(),
                    Some("u1@here".into()),
                    vec![1]
                ),
                (
                    "local".into(),
                    "here".into(),
                    Some("u2@here".into()),
                    vec![4]
                ),
                ("smtp".into(), "b.example".into(), None, vec![3]),
            ]
        );
        let all = group(
            &id,
            vec![
                ("t".into(), "n".into(), r(0, "a")),
                ("t".into(), "n".into(), r(1, "b")),
            ],
            |_| 0,
        );
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].recipients.len(), 2);
    }
}
