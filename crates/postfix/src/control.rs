//! NAME
//!   control - start, stop, abort, reload and query the master daemon
//!
//! DESCRIPTION
//!   The master(8) side of postfix(1), as Postfix's postfix-script does it:
//!
//!   - whether master runs is `$daemon_directory/master -t` (exit 0: no
//!     master holds the lock on `$queue_directory/pid/master.pid`);
//!   - `start` runs `master -w`, which returns once the new master serves;
//!   - `start-fg` runs master in the foreground (`master -d`) and returns
//!     its exit status; as process 1 (a container's init) it replaces
//!     itself with master;
//!   - `stop` sends SIGTERM to the pid in master.pid and waits until master
//!     and every process of its process group are gone (after 5 seconds:
//!     SIGKILL to the group, "with force");
//!   - `abort` sends SIGTERM without waiting; `reload` sends SIGHUP.
//!
//!   master gets `-c config_dir` and `MAIL_CONFIG`, so it reads the same
//!   instance.
//!
//! DIAGNOSTICS
//!   Postfix's messages and exit statuses: `the Postfix mail system is
//!   already running` (start, 1), `the Postfix mail system is not running`
//!   (stop, abort, reload: fatal, 1; status: info, 1), `mail system
//!   startup failed` (1).
use crate::instance::Instance;
use crate::say;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options passed through to master.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// `-v` count.
    pub verbose: u32,
    /// `-D`: run daemons under the debugger (exported as `MAIL_DEBUG`).
    pub debug: bool,
}

/// How long `stop` waits for an orderly exit before SIGKILL (Postfix: 5
/// rounds of one second).
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Poll interval while waiting.
const POLL: Duration = Duration::from_millis(50);

/// A `master` command for this instance, with `args`.
fn master(inst: &Instance, args: &[&str], opts: Opts) -> Command {
    let mut cmd = Command::new(inst.master_program());
    cmd.arg("-c").arg(&inst.config_dir);
    for _ in 0..opts.verbose {
        cmd.arg("-v");
    }
    cmd.args(args);
    cmd.env(global::master_proto::CONFIG_ENV, &inst.config_dir);
    if opts.verbose > 0 {
        cmd.env("MAIL_VERBOSE", opts.verbose.to_string());
    }
    if opts.debug {
        cmd.env("MAIL_DEBUG", "");
    }
    cmd
}

/// Whether a master of this instance runs (`master -t` exits non-zero).
/// Without a pid file, no master runs (master(8) `-t` says the same;
/// asking it is needless and fails when the queue directory is missing).
/// A master that cannot be executed is fatal.
pub fn running(inst: &Instance) -> bool {
    if !inst.pid_file().exists() {
        return false;
    }
    let status = master(inst, &["-t"], Opts::default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) => !s.success(),
        Err(e) => say::fatal(&format!(
            "cannot execute {}: {e}",
            inst.master_program().display()
        )),
    }
}

/// Exit with `the Postfix mail system is not running` unless it runs.
pub fn fatal_if_not_running(inst: &Instance) {
    if !running(inst) {
        say::fatal("the Postfix mail system is not running");
    }
}

fn pid_or_fatal(inst: &Instance) -> i32 {
    match inst.master_pid() {
        Some(p) if p > 1 => p,
        _ => say::fatal(&format!(
            "cannot read the master process ID from {}",
            inst.pid_file().display()
        )),
    }
}

fn signal(pid: i32, sig: Signal) {
    if let Err(e) = kill(Pid::from_raw(pid), sig) {
        say::fatal(&format!(
            "cannot send {sig} to the master process {pid}: {e}"
        ));
    }
}

/// The last step of `postfix start`: `master -w`. Returns the exit status.
pub fn start(inst: &Instance, opts: Opts) -> i32 {
    say::info("starting the Postfix mail system");
    match master(inst, &["-w"], opts).stdin(Stdio::null()).status() {
        Ok(s) if s.success() => 0,
        Ok(_) => say::fatal("mail system startup failed"),
        Err(e) => say::fatal(&format!(
            "cannot execute {}: {e}",
            inst.master_program().display()
        )),
    }
}

/// The last step of `postfix start-fg`: master in the foreground.
pub fn start_fg(inst: &Instance, opts: Opts) -> i32 {
    say::info("starting the Postfix mail system");
    let mut cmd = master(inst, &["-d"], opts);
    if std::process::id() == 1 {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        say::fatal(&format!("cannot start-fg the master daemon: {err}"));
    }
    match cmd.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => say::fatal(&format!(
            "cannot execute {}: {e}",
            inst.master_program().display()
        )),
    }
}

/// `postfix stop`: SIGTERM, then wait until no process of the instance
/// remains. Returns 0.
pub fn stop(inst: &Instance) -> i32 {
    fatal_if_not_running(inst);
    say::info("stopping the Postfix mail system");
    let pid = pid_or_fatal(inst);
    // master leads its own process group (it detached with setsid); only
    // then is the group the instance's and safe to wait for or kill.
    let group = util::procfs::stat(pid)
        .filter(|s| s.pgrp == pid)
        .map(|s| s.pgrp);
    signal(pid, Signal::SIGTERM);
    let start = Instant::now();
    let mut next_note = Duration::from_secs(1);
    while running(inst)
        || util::procfs::alive(pid)
        || group.is_some_and(|g| !util::procfs::group_members(g).is_empty())
    {
        let waited = start.elapsed();
        if waited >= STOP_GRACE {
            say::warn("stopping the Postfix mail system with force");
            force(pid, group);
            break;
        }
        if waited >= next_note {
            say::info("waiting for the Postfix mail system to terminate");
            next_note += Duration::from_secs(1);
        }
        std::thread::sleep(POLL);
    }
    0
}

/// SIGKILL to master's process group (or master alone), then wait a
/// little for the kernel to take the processes down.
fn force(pid: i32, group: Option<i32>) {
    match group {
        Some(g) => {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
        None => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && (util::procfs::alive(pid)
            || group.is_some_and(|g| !util::procfs::group_members(g).is_empty()))
    {
        std::thread::sleep(POLL);
    }
}

/// `postfix abort`: SIGTERM to master (which passes it on to its
/// children), without waiting. Returns 0.
pub fn abort(inst: &Instance) -> i32 {
    fatal_if_not_running(inst);
    say::info("aborting the Postfix mail system");
    signal(pid_or_fatal(inst), Signal::SIGTERM);
    0
}

/// `postfix reload`: SIGHUP to master. Returns 0.
pub fn reload(inst: &Instance) -> i32 {
    fatal_if_not_running(inst);
    say::info("refreshing the Postfix mail system");
    signal(pid_or_fatal(inst), Signal::SIGHUP);
    0
}

/// SIGHUP to master when it runs (`postfix logrotate`: master reopens
/// `maillog_file` and retires its processes); nothing when it does not.
pub fn hup_if_running(inst: &Instance) {
    if running(inst) {
        signal(pid_or_fatal(inst), Signal::SIGHUP);
    }
}

/// `postfix status`: 0 and `running: PID: N`, or 1 and `not running`.
pub fn status(inst: &Instance) -> i32 {
    if !running(inst) {
        say::info("the Postfix mail system is not running");
        return 1;
    }
    let pid = inst.master_pid().map(|p| p.to_string()).unwrap_or_default();
    say::info(&format!("the Postfix mail system is running: PID: {pid}"));
    0
}
