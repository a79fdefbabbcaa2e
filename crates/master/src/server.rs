//! NAME
//!   server - one running service: listeners, status pipe, processes
//!
//! DESCRIPTION
//!   A [`Service`] holds a service's open listeners, its status pipe and
//!   its processes, and applies Postfix's process management:
//!
//!   - master watches the listeners only while no process is available,
//!     the service is not throttled, and the process limit allows one
//!     more ([`Service::wants_listen`]); a pending client then makes it
//!     start one process ([`Service::spawn`]), which counts as available
//!     until it reports `BUSY`.
//!   - status records (`AVAIL`/`BUSY`) update the per-process state
//!     ([`Service::read_status`]); `BUSY` counts a use.
//!   - a process that ends abnormally is logged (`warning: process PATH
//!     pid N exit status S` / `killed by signal S`); if it never served a
//!     client the service is throttled for `service_throttle_time`
//!     (`warning: PATH: bad command startup -- throttling`).
//!   - [`Service::retire`] (reload) replaces the status pipe: the old
//!     processes see theirs break and exit after their current client.
use crate::services::ServiceSpec;
use global::master_proto::{Status, StatusRecord, LISTEN_FD, STATUS_FD, STATUS_RECORD_LEN};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};
use util::{msg_info, msg_verbose, msg_warn};

/// One process of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Waiting for a client (current generation only).
    pub avail: bool,
    /// Clients taken (BUSY reports).
    pub use_count: u32,
    /// The generation it was started under.
    pub generation: u32,
}

/// A running service.
#[derive(Debug)]
pub struct Service {
    /// What to run.
    pub spec: ServiceSpec,
    /// Open listeners, in `spec.addrs` order.
    pub listeners: Vec<OwnedFd>,
    status_read: OwnedFd,
    status_write: OwnedFd,
    /// Processes by pid (including old generations still finishing).
    pub procs: HashMap<Pid, Proc>,
    /// Throttled until then.
    pub throttled_until: Option<Instant>,
    /// The next wake-up, if wake-ups are armed.
    pub next_wakeup: Option<Instant>,
    busy_warned: Option<Instant>,
    partial: Vec<u8>,
}

/// A status pipe: the read end (master's) non-blocking, the write end
/// (the children's) blocking, so a burst of reports is never lost.
fn status_pipe() -> nix::Result<(OwnedFd, OwnedFd)> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    fcntl(r.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((r, w))
}

impl Service {
    /// A service with its listeners opened. Arms the wake-up timer unless
    /// it is conditional. Errors: no pipe could be made.
    pub fn new(spec: ServiceSpec, listeners: Vec<OwnedFd>) -> nix::Result<Service> {
        let (r, w) = status_pipe()?;
        let mut s = Service {
            spec,
            listeners,
            status_read: r,
            status_write: w,
            procs: HashMap::new(),
            throttled_until: None,
            next_wakeup: None,
            busy_warned: None,
            partial: Vec::new(),
        };
        s.arm_wakeup(false);
        Ok(s)
    }

    fn arm_wakeup(&mut self, used: bool) {
        if let Some(w) = self.spec.wakeup {
            if self.next_wakeup.is_none() && (!w.conditional || used) {
                self.next_wakeup = Some(Instant::now());
            }
        }
    }

    /// The status pipe's read end, for poll(2).
    pub fn status_fd(&self) -> &OwnedFd {
        &self.status_read
    }

    /// Available processes of the current status pipe.
    pub fn avail(&self) -> usize {
        self.procs.values().filter(|p| p.avail).count()
    }

    /// Whether the service is throttled at `now` (and clear an expired
    /// throttle).
    pub fn throttled(&mut self, now: Instant) -> bool {
        match self.throttled_until {
            Some(t) if t > now => true,
            Some(_) => {
                self.throttled_until = None;
                false
            }
            None => false,
        }
    }

    fn limit_ok(&self) -> bool {
        !matches!(self.spec.max_proc, Some(m) if self.procs.len() >= m as usize)
    }

    /// Whether master should watch the listeners for a pending client:
    /// not throttled, no process available, below the process limit.
    /// Warns (at most every 1000 s, inet services only) when the limit
    /// keeps clients waiting.
    pub fn wants_listen(&mut self, now: Instant) -> bool {
        if self.listeners.is_empty() || self.throttled(now) || self.avail() > 0 {
            return false;
        }
        if self.limit_ok() {
            return true;
        }
        let due = !matches!(self.busy_warned, Some(t) if now.duration_since(t) <= Duration::from_secs(1000));
        if due && self.spec.kind == global::master_cf::ServiceType::Inet {
            self.busy_warned = Some(now);
            msg_warn!(
                "service \"{}\" ({}) has reached its process limit \"{}\": new clients may experience noticeable delays",
                self.spec.name,
                self.spec.name,
                self.spec.max_proc.unwrap_or(0)
            );
            msg_warn!("to avoid this condition, increase the process count in master.cf or reduce the service time per client");
        }
        false
    }

    /// Throttle the service for its throttle time from `now`.
    pub fn throttle(&mut self, now: Instant) {
        self.throttled_until = Some(now + self.spec.throttle);
    }

    /// Start one process with environment `env` (see [`crate::env`]) and
    /// generation `generation`. A process that cannot be started throttles
    /// the service, as a bad startup does.
    pub fn spawn(&mut self, env: &[(String, String)], generation: u32) {
        let mut cmd = Command::new(&self.spec.path);
        cmd.arg0(&self.spec.argv[0])
            .args(&self.spec.argv[1..])
            .env_clear()
            .envs(env.iter().cloned());
        let mut pairs = vec![(self.status_write.as_raw_fd(), STATUS_FD)];
        for (i, l) in self.listeners.iter().enumerate() {
            pairs.push((l.as_raw_fd(), LISTEN_FD + i32::try_from(i).unwrap_or(0)));
        }
        sys::place_fds(&mut cmd, pairs);
        match cmd.spawn() {
            Ok(child) => {
                let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
                msg_verbose!("spawn: {} pid {}", self.spec.path.display(), pid);
                self.procs.insert(
                    pid,
                    Proc {
                        avail: true,
                        use_count: 0,
                        generation,
                    },
                );
                self.arm_wakeup(true);
            }
            Err(e) => {
                msg_warn!("spawn command {}: {e}", self.spec.path.display());
                msg_warn!(
                    "{}: bad command startup -- throttling",
                    self.spec.path.display()
                );
                self.throttle(Instant::now());
            }
        }
    }

    /// Read the status records waiting on the pipe and apply them to the
    /// processes of generation `generation`.
    pub fn read_status(&mut self, generation: u32) {
        let mut buf = [0u8; STATUS_RECORD_LEN * 64];
        loop {
            match nix::unistd::read(self.status_read.as_raw_fd(), &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
            }
        }
        while self.partial.len() >= STATUS_RECORD_LEN {
            let rec: Vec<u8> = self.partial.drain(..STATUS_RECORD_LEN).collect();
            let mut fixed = [0u8; STATUS_RECORD_LEN];
            fixed.copy_from_slice(&rec);
            let Some(r) = StatusRecord::decode(&fixed) else {
                msg_warn!("{}: bad status record", self.spec.path.display());
                continue;
            };
            self.apply(r, generation);
        }
    }

    fn apply(&mut self, r: StatusRecord, generation: u32) {
        let Some(p) = self.procs.get_mut(&Pid::from_raw(r.pid)) else {
            msg_verbose!("status from unknown process {}", r.pid);
            return;
        };
        if r.generation != generation || p.generation != generation {
            msg_info!(
                "ignoring status update from child pid {} generation {}",
                r.pid,
                r.generation
            );
            return;
        }
        match r.status {
            Status::Avail => p.avail = true,
            Status::Busy => {
                p.avail = false;
                p.use_count += 1;
            }
        }
    }

    /// A process of this service ended with `status`; log as Postfix does
    /// and throttle after a bad startup. Returns whether `pid` was ours.
    pub fn reaped(&mut self, pid: Pid, status: &nix::sys::wait::WaitStatus, now: Instant) -> bool {
        use nix::sys::wait::WaitStatus;
        let Some(p) = self.procs.remove(&pid) else {
            return false;
        };
        let path = self.spec.path.display().to_string();
        let normal = match status {
            WaitStatus::Exited(_, 0) => true,
            WaitStatus::Exited(_, code) => {
                msg_warn!("process {path} pid {pid} exit status {code}");
                false
            }
            WaitStatus::Signaled(_, sig, _) => {
                msg_warn!("process {path} pid {pid} killed by signal {}", *sig as i32);
                false
            }
            _ => true,
        };
        if !normal && p.use_count == 0 && !self.throttled(now) {
            msg_warn!("{path}: bad command startup -- throttling");
            self.throttle(now);
        }
        true
    }

    /// Reload: the service stays with `spec`; its processes are told to
    /// finish (new status pipe) and no longer count as available; the
    /// wake-up timer restarts as for a new service. Errors: no pipe.
    pub fn retire(&mut self, spec: ServiceSpec) -> nix::Result<()> {
        let (r, w) = status_pipe()?;
        self.status_read = r;
        self.status_write = w;
        self.partial.clear();
        for p in self.procs.values_mut() {
            p.avail = false;
        }
        self.spec = spec;
        self.next_wakeup = None;
        self.arm_wakeup(false);
        Ok(())
    }

    /// Send `sig` to every process of the service.
    pub fn signal_all(&self, sig: Signal) {
        for pid in self.procs.keys() {
            let _ = nix::sys::signal::kill(*pid, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ListenAddr;
    use nix::sys::wait::WaitStatus;

    fn service(max_proc: Option<u32>) -> Service {
        let spec = ServiceSpec {
            key: "x/unix".into(),
            name: "x".into(),
            kind: global::master_cf::ServiceType::Unix,
            line: 1,
            path: "/d/x".into(),
            argv: vec!["x".into()],
            addrs: vec![ListenAddr::Unix("/q/private/x".into())],
            max_proc,
            wakeup: None,
            throttle: Duration::from_secs(60),
        };
        let (r, _w) = nix::unistd::pipe().unwrap();
        Service::new(spec, vec![r]).unwrap()
    }

    fn report(s: &Service, pid: i32, generation: u32, status: Status) {
        let rec = StatusRecord {
            pid,
            generation,
            status,
        }
        .encode();
        nix::unistd::write(&s.status_write, &rec).unwrap();
    }

    #[test]
    fn status_records_drive_listening() {
        let mut s = service(Some(2));
        let now = Instant::now();
        assert!(s.wants_listen(now), "no process: listen");
        let pid = Pid::from_raw(100);
        s.procs.insert(
            pid,
            Proc {
                avail: true,
                use_count: 0,
                generation: 1,
            },
        );
        assert!(!s.wants_listen(now), "a fresh process counts as available");
        report(&s, 100, 1, Status::Busy);
        s.read_status(1);
        assert_eq!(
            s.procs[&pid],
            Proc {
                avail: false,
                use_count: 1,
                generation: 1
            }
        );
        assert!(s.wants_listen(now), "busy and below the limit: listen");
        s.procs.insert(
            Pid::from_raw(101),
            Proc {
                avail: false,
                use_count: 1,
                generation: 1,
            },
        );
        assert!(!s.wants_listen(now), "at the limit: wait");
        report(&s, 100, 1, Status::Avail);
        report(&s, 100, 9, Status::Busy);
        s.read_status(1);
        assert!(
            s.procs[&pid].avail,
            "a record of another generation is ignored"
        );
    }

    #[test]
    fn bad_startup_throttles_but_a_used_process_does_not() {
        let mut s = service(None);
        let now = Instant::now();
        s.procs.insert(
            Pid::from_raw(7),
            Proc {
                avail: false,
                use_count: 3,
                generation: 1,
            },
        );
        assert!(s.reaped(
            Pid::from_raw(7),
            &WaitStatus::Signaled(Pid::from_raw(7), Signal::SIGKILL, false),
            now
        ));
        assert!(!s.throttled(now));
        s.procs.insert(
            Pid::from_raw(8),
            Proc {
                avail: true,
                use_count: 0,
                generation: 1,
            },
        );
        assert!(s.reaped(
            Pid::from_raw(8),
            &WaitStatus::Exited(Pid::from_raw(8), 1),
            now
        ));
        assert!(s.throttled(now) && !s.wants_listen(now));
        assert!(!s.throttled(now + Duration::from_secs(61)));
        assert!(!s.reaped(
            Pid::from_raw(9),
            &WaitStatus::Exited(Pid::from_raw(9), 0),
            now
        ));
    }

    #[test]
    fn retire_replaces_the_pipe_and_forgets_availability() {
        let mut s = service(None);
        s.procs.insert(
            Pid::from_raw(5),
            Proc {
                avail: true,
                use_count: 0,
                generation: 1,
            },
        );
        let old_write = s.status_write.try_clone().unwrap();
        let spec = s.spec.clone();
        s.retire(spec).unwrap();
        assert_eq!(s.avail(), 0);
        let rec = StatusRecord {
            pid: 5,
            generation: 1,
            status: Status::Avail,
        }
        .encode();
        assert!(
            nix::unistd::write(&old_write, &rec).is_err(),
            "the old pipe is broken"
        );
    }
}
