//! NAME
//!   master - the event loop: signals, status pipes, listeners, timers
//!
//! DESCRIPTION
//!   One single-threaded loop around poll(2). Signals arrive through
//!   signal-hook's self-pipes: SIGCHLD (reap), SIGHUP (reload), SIGTERM,
//!   SIGINT and SIGQUIT (stop). Each pass reaps ended processes, sends due
//!   wake-ups, then polls the signal pipes, every status pipe, and the
//!   listeners of services that may start a process
//!   ([`crate::server::Service::wants_listen`]); a readable listener
//!   starts one process of its service.
//!
//!   Stop (`terminating on signal 15`): every process gets SIGTERM; after
//!   at most 5 seconds the rest get SIGKILL; master exits 0 and removes
//!   nothing. Reload: see [`crate::reload`]. `-e` exit time: `master exit
//!   time has arrived`, exit 0, processes finish on their own.
use crate::reload;
use crate::server::Service;
use crate::services::{self, ServiceSpec, Settings};
use crate::{addr, env, listen, wakeup};
use global::master_cf::MasterCf;
use global::Config;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use std::collections::HashMap;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use util::{msg_info, msg_verbose, msg_warn};

/// How long a stopping master waits for its processes before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// main.cf and master.cf, read and checked.
#[derive(Debug)]
pub struct Loaded {
    /// main.cf.
    pub config: Config,
    /// The main.cf values master uses.
    pub settings: Settings,
    /// The services to run.
    pub specs: Vec<ServiceSpec>,
    /// Warnings to log (missing programs, IPv6 off).
    pub warnings: Vec<String>,
}

/// Read main.cf from `dir`. Errors: syntax errors with file and line.
pub fn load_config(dir: &Path) -> Result<Config, String> {
    Config::load(Some(dir)).map_err(|e| e.to_string())
}

/// Read master.cf from the configuration directory of `config` and build
/// the services. Errors: master.cf syntax, bad main.cf values, bad listen
/// addresses — each with file and line.
pub fn load_services(config: Config, verbose: u32) -> Result<Loaded, String> {
    let cf: MasterCf = global::master_cf::read(&config.config_dir().join("master.cf"))
        .map_err(|e| e.to_string())?;
    let ipv6_ok = listen::ipv6_supported();
    let mut warnings = Vec::new();
    let want = addr::parse_protocols(
        &config
            .get_list("inet_protocols")
            .map_err(|e| e.to_string())?,
    )?;
    if want.v6 && !ipv6_ok {
        warnings.push(
            "inet_protocols: IPv6 support is disabled: Address family not supported by protocol"
                .into(),
        );
        warnings.push("inet_protocols: configuring for IPv4 support only".into());
    }
    let settings = Settings::from_config(&config, verbose, ipv6_ok)?;
    // As Postfix: inet_interfaces must name local addresses.
    config.own_networks().map_err(|e| e.to_string())?;
    let etc_services = std::fs::read_to_string("/etc/services").ok();
    let (specs, missing) = services::build(
        &cf,
        &config,
        &settings,
        &|p: &Path| p.is_file(),
        etc_services.as_deref(),
        &addr::system_resolve,
    )?;
    warnings.extend(missing);
    Ok(Loaded {
        config,
        settings,
        specs,
        warnings,
    })
}

/// Open the listeners of `spec` and make its [`Service`]. Errors: the
/// first listener that cannot be opened.
pub fn open_service(spec: ServiceSpec, default_limit: u32) -> Result<Service, String> {
    let backlog = spec
        .max_proc
        .unwrap_or(0)
        .max(default_limit)
        .clamp(1, i32::MAX as u32) as i32;
    let mut fds = Vec::new();
    for a in &spec.addrs {
        fds.push(listen::open(a, backlog)?);
    }
    Service::new(spec, fds).map_err(|e| format!("pipe: {}", crate::listen::strerror(e)))
}

struct SignalPipe {
    signal: i32,
    read: UnixStream,
}

fn register_signals() -> std::io::Result<Vec<SignalPipe>> {
    let mut out = Vec::new();
    for signal in [SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGQUIT] {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(signal, write)?;
        out.push(SignalPipe { signal, read });
    }
    Ok(out)
}

/// The running master.
#[derive(Debug)]
pub struct Master {
    config_dir: PathBuf,
    verbose: u32,
    generation: u32,
    config: Config,
    settings: Settings,
    services: Vec<Service>,
    orphans: HashMap<Pid, String>,
    env: Vec<(String, String)>,
    exit_at: Option<Instant>,
    /// The configuration warnings logged so far (a reload logs only new
    /// ones, so an unchanged master.cf does not repeat itself).
    warned: Vec<String>,
}

impl std::fmt::Debug for SignalPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignalPipe({})", self.signal)
    }
}

fn child_env(config: &Config, dir: &Path, generation: u32) -> Vec<(String, String)> {
    let import = config.get_list("import_environment").unwrap_or_default();
    env::child_env(
        &import,
        &|n| std::env::var(n).ok(),
        &dir.display().to_string(),
        generation,
    )
}

impl Master {
    /// A master for `loaded` with no service open yet.
    pub fn new(
        loaded_config: Config,
        settings: Settings,
        config_dir: PathBuf,
        verbose: u32,
        exit_after: Option<u64>,
    ) -> Master {
        let generation = 1;
        Master {
            env: child_env(&loaded_config, &config_dir, generation),
            config_dir,
            verbose,
            generation,
            config: loaded_config,
            settings,
            services: Vec::new(),
            orphans: HashMap::new(),
            exit_at: exit_after.map(|s| Instant::now() + Duration::from_secs(s)),
            warned: Vec::new(),
        }
    }

    /// Remember the warnings already logged at start-up.
    pub fn set_warned(&mut self, warnings: Vec<String>) {
        self.warned = warnings;
    }

    /// Add an opened service.
    pub fn add(&mut self, s: Service) {
        self.services.push(s);
    }

    fn version(&self) -> String {
        self.config.get("mail_version").unwrap_or_default()
    }

    /// The `daemon started` line.
    pub fn log_started(&self) {
        msg_info!(
            "daemon started -- version {}, configuration {}",
            self.version(),
            self.config_dir.display()
        );
    }

    fn reap(&mut self) {
        let now = Instant::now();
        loop {
            let status = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(s) => s,
            };
            let Some(pid) = status.pid() else { continue };
            if self
                .services
                .iter_mut()
                .any(|s| s.reaped(pid, &status, now))
            {
                continue;
            }
            match self.orphans.remove(&pid) {
                Some(path) => match status {
                    WaitStatus::Exited(_, c) if c != 0 => {
                        msg_warn!("process {path} pid {pid} exit status {c}")
                    }
                    WaitStatus::Signaled(_, sig, _) if sig != Signal::SIGTERM => {
                        msg_warn!("process {path} pid {pid} killed by signal {}", sig as i32)
                    }
                    _ => {}
                },
                None => msg_verbose!("reaped unknown process {pid}"),
            }
        }
    }

    fn send_wakeups(&mut self, now: Instant) {
        for s in &mut self.services {
            let (Some(at), Some(w)) = (s.next_wakeup, s.spec.wakeup) else {
                continue;
            };
            if at > now {
                continue;
            }
            if !s.throttled(now) {
                for a in &s.spec.addrs {
                    if let Err(e) = wakeup::send(a) {
                        msg_verbose!("wakeup {}: {e}", s.spec.key);
                    }
                }
            }
            s.next_wakeup = Some(now + Duration::from_secs(u64::from(w.seconds)));
        }
    }

    fn timeout(&self, now: Instant) -> PollTimeout {
        let mut next: Option<Instant> = self.exit_at;
        for s in &self.services {
            for t in [s.next_wakeup, s.throttled_until].into_iter().flatten() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        match next {
            None => PollTimeout::NONE,
            Some(t) => {
                let d = t.saturating_duration_since(now) + Duration::from_millis(1);
                PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    /// Run until stopped. Never returns.
    pub fn run(&mut self) -> ! {
        let signals = register_signals().unwrap_or_else(|e| util::msg_fatal!("signal setup: {e}"));
        loop {
            self.reap();
            let now = Instant::now();
            if self.exit_at.is_some_and(|t| t <= now) {
                msg_info!("master exit time has arrived");
                std::process::exit(0);
            }
            self.send_wakeups(now);
            let listening: Vec<bool> = self
                .services
                .iter_mut()
                .map(|s| s.wants_listen(now))
                .collect();
            let timeout = self.timeout(now);
            let (sig_hits, status_hits, listen_hits) = {
                let mut fds: Vec<PollFd<'_>> = Vec::new();
                let mut tags: Vec<(u8, usize)> = Vec::new();
                for (i, p) in signals.iter().enumerate() {
                    fds.push(PollFd::new(p.read.as_fd(), PollFlags::POLLIN));
                    tags.push((0, i));
                }
                for (i, s) in self.services.iter().enumerate() {
                    fds.push(PollFd::new(s.status_fd().as_fd(), PollFlags::POLLIN));
                    tags.push((1, i));
                    if listening[i] {
                        for l in &s.listeners {
                            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
                            tags.push((2, i));
                        }
                    }
                }
                match poll(&mut fds, timeout) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => util::msg_fatal!("poll: {}", crate::listen::strerror(e)),
                }
                let mut hits: [Vec<usize>; 3] = [Vec::new(), Vec::new(), Vec::new()];
                for (f, (kind, i)) in fds.iter().zip(tags) {
                    if f.revents().is_some_and(|r| !r.is_empty())
                        && !hits[kind as usize].contains(&i)
                    {
                        hits[kind as usize].push(i);
                    }
                }
                let [a, b, c] = hits;
                (a, b, c)
            };
            for i in status_hits {
                let generation = self.generation;
                self.services[i].read_status(generation);
            }
            for i in listen_hits {
                let (generation, now) = (self.generation, Instant::now());
                if self.services[i].wants_listen(now) {
                    self.services[i].spawn(&self.env, generation);
                }
            }
            for i in sig_hits {
                let mut drain = [0u8; 64];
                while matches!((&signals[i].read).read(&mut drain), Ok(n) if n > 0) {}
                match signals[i].signal {
                    SIGCHLD => {}
                    SIGHUP => self.reload(),
                    sig => self.stop(sig),
                }
            }
        }
    }

    /// SIGHUP: open `maillog_file` again (log rotation), re-read main.cf
    /// and master.cf and apply [`reload::plan`]. A configuration error is
    /// fatal, as in Postfix's master: `postfix reload` checks the files
    /// first, so only a bare `kill -HUP` meets it.
    pub fn reload(&mut self) {
        util::msg::reopen();
        msg_info!(
            "reload -- version {}, configuration {}",
            self.version(),
            self.config_dir.display()
        );
        let loaded = load_config(&self.config_dir)
            .inspect(global::core_params::report_or_exit)
            .and_then(|c| load_services(c, self.verbose))
            .unwrap_or_else(|e| util::msg_fatal!("{e}"));
        // master's own log lines carry the new myhostname from now on.
        if let Ok(host) = loaded.config.get("myhostname") {
            util::msg::set_hostname(&host);
        }
        for w in &loaded.config.unimplemented() {
            msg_warn!("{w}");
        }
        for w in loaded.warnings.iter().filter(|w| !self.warned.contains(w)) {
            msg_warn!("{w}");
        }
        self.warned.clone_from(&loaded.warnings);
        self.generation = self.generation.wrapping_add(1);
        self.env = child_env(&loaded.config, &self.config_dir, self.generation);
        self.config = loaded.config;
        self.settings = loaded.settings;
        let plan = {
            let old: Vec<(&str, &[services::ListenAddr])> = self
                .services
                .iter()
                .map(|s| (s.spec.key.as_str(), s.spec.addrs.as_slice()))
                .collect();
            let new: Vec<(&str, &[services::ListenAddr])> = loaded
                .specs
                .iter()
                .map(|s| (s.key.as_str(), s.addrs.as_slice()))
                .collect();
            reload::plan(&old, &new)
        };
        let mut old: Vec<Option<Service>> = std::mem::take(&mut self.services)
            .into_iter()
            .map(Some)
            .collect();
        for &oi in &plan.stop {
            if let Some(s) = old[oi].take() {
                msg_verbose!("stop service {}", s.spec.key);
                s.signal_all(Signal::SIGTERM);
                let path = s.spec.path.display().to_string();
                self.orphans
                    .extend(s.procs.keys().map(|p| (*p, path.clone())));
            }
        }
        for (ni, spec) in loaded.specs.into_iter().enumerate() {
            if let Some(&(oi, _)) = plan.keep.iter().find(|(_, n)| *n == ni) {
                if let Some(mut s) = old[oi].take() {
                    if let Err(e) = s.retire(spec) {
                        msg_warn!("pipe: {}", crate::listen::strerror(e));
                    }
                    self.services.push(s);
                }
                continue;
            }
            let (key, line) = (spec.key.clone(), spec.line);
            match open_service(spec, self.settings.default_limit) {
                Ok(s) => self.services.push(s),
                Err(e) => msg_warn!(
                    "{}, line {line}: service {key}: {e}; service disabled",
                    self.config_dir.join("master.cf").display()
                ),
            }
        }
    }

    /// SIGTERM and friends: stop every process and exit 0.
    pub fn stop(&mut self, sig: i32) -> ! {
        msg_info!("terminating on signal {sig}");
        let mut pids: Vec<Pid> = self.orphans.keys().copied().collect();
        for s in &self.services {
            pids.extend(s.procs.keys().copied());
        }
        for p in &pids {
            let _ = nix::sys::signal::kill(*p, Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while !pids.is_empty() && Instant::now() < deadline {
            pids.retain(|p| {
                matches!(
                    waitpid(*p, Some(WaitPidFlag::WNOHANG)),
                    Ok(WaitStatus::StillAlive)
                )
            });
            if !pids.is_empty() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for p in &pids {
            let _ = nix::sys::signal::kill(*p, Signal::SIGKILL);
            let _ = waitpid(*p, None);
        }
        std::process::exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_interfaces_must_name_local_addresses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("master.cf"), "").unwrap();
        let cfg = Config::from_text(dir.path(), "inet_interfaces = ipv4\n").unwrap();
        let e = load_services(cfg, 0).err().expect("an error");
        assert_eq!(e, "config variable inet_interfaces: host not found: ipv4");
        let cfg = Config::from_text(dir.path(), "inet_interfaces = loopback-only\n").unwrap();
        assert!(load_services(cfg, 0).is_ok());
    }
}
