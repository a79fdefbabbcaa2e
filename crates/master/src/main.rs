//! NAME
//!   master - Postern master process
//!
//! SYNOPSIS
//!   `master [-Ddistvw] [-c config_dir] [-e exit_time]`
//!
//! DESCRIPTION
//!   The resident process that runs the services of master.cf on demand,
//!   as Postfix's master(8). It reads main.cf and master.cf (refusing to
//!   start on an error, with file and line), takes the instance lock
//!   `$queue_directory/pid/master.pid`, opens every listener itself, and
//!   forks and execs `$daemon_directory/<command>` with the status pipe on
//!   fd 5 and the listeners from fd 6 ([`global::master_proto`]). It logs
//!   as `$syslog_name/master` to `maillog_file` or syslog.
//!
//!   Options: see [`opts`]. Signals: SIGHUP reloads, SIGTERM stops (see
//!   [`master`]).
//!
//!   A line whose program is missing from `daemon_directory` is skipped
//!   with one warning (logged again on reload only when it is new). Run
//!   by an ordinary user (a development instance) master works the same;
//!   the services then skip chroot and setuid.
//!
//!   As every Postern program, master checks `myhostname`, `mydomain`
//!   and `myorigin` first ([`global::core_params`]), and refuses to start
//!   when `queue_directory` does not exist (`fatal: chdir(/x): No such
//!   file or directory`).
//!
//! DIAGNOSTICS
//!   `daemon started -- version 3.7.11, configuration /etc/postfix`,
//!   `reload -- ...`, `terminating on signal 15`, `warning: process
//!   /usr/lib/postfix/sbin/smtpd pid 123 killed by signal 9`, `warning:
//!   /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling`,
//!   `fatal: open lock file pid/master.pid: unable to set exclusive lock:
//!   Resource temporarily unavailable`. Exit status 1 on problems, also
//!   when the background daemon fails to initialize under `-w`.
//!
//! SEE ALSO
//!   master(5) (master.cf), postfix(1), [`skeleton`](../skeleton).
#![forbid(unsafe_code)]

mod addr;
mod env;
mod listen;
mod master;
mod opts;
mod pidfile;
mod reload;
mod server;
mod services;
mod wakeup;

use global::Config;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use util::{msg_fatal, msg_warn};

/// How long `master -w` waits for the daemon to initialize.
const WAIT_LIMIT_MS: i32 = 100_000;

fn open_log(config: &Config) {
    util::msg::init(
        "postfix/master",
        &config.get("myhostname").unwrap_or_default(),
    );
    match global::cmdlog::open_sink(config, "master") {
        Ok(()) => {}
        Err(global::cmdlog::SinkError::File(e)) => msg_fatal!("{e}"),
        Err(global::cmdlog::SinkError::Syslog(e)) => msg_warn!("{e}"),
    }
}

/// Fork; the parent exits (0 when the child signals readiness on the
/// pipe under `-w`, 1 when it does not). The child becomes a session
/// leader and gets the pipe's write end, if any.
fn detach(wait: bool) -> Option<OwnedFd> {
    let pipe = if wait {
        Some(
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .unwrap_or_else(|e| msg_fatal!("pipe: {}", crate::listen::strerror(e))),
        )
    } else {
        None
    };
    match sys::fork() {
        Err(e) => msg_fatal!("fork: {}", crate::listen::strerror(e)),
        Ok(sys::ForkResult::Parent { .. }) => {
            let Some((r, w)) = pipe else {
                std::process::exit(0)
            };
            drop(w);
            let mut fds = [nix::poll::PollFd::new(
                std::os::fd::AsFd::as_fd(&r),
                nix::poll::PollFlags::POLLIN,
            )];
            let limit = nix::poll::PollTimeout::try_from(WAIT_LIMIT_MS)
                .unwrap_or(nix::poll::PollTimeout::MAX);
            let ready = matches!(nix::poll::poll(&mut fds, limit), Ok(n) if n > 0);
            let mut byte = [0u8; 1];
            // Readable means a byte (success) or end of file (the child
            // died); a timeout leaves nothing to read.
            if ready && matches!(std::fs::File::from(r).read(&mut byte), Ok(1)) {
                std::process::exit(0);
            }
            util::msg::log_to_stderr(true);
            msg_fatal!("daemon initialization failure")
        }
        Ok(sys::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            pipe.map(|(r, w)| {
                drop(r);
                w
            })
        }
    }
}

/// Point stdin, stdout (unless `keep_stdout`) and stderr at /dev/null.
fn close_stdio(keep_stdout: bool) {
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return;
    };
    for fd in [0, 1, 2] {
        if fd == 1 && keep_stdout {
            continue;
        }
        let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
    }
}

/// Create the queue subdirectories master needs when missing: pid/
/// (0755), private/ (0700, mail_owner) and public/ (0710, mail_owner and
/// setgid_group), as `postfix start` would.
fn make_dirs(config: &Config) {
    use std::os::unix::fs::DirBuilderExt;
    let root = nix::unistd::geteuid().is_root();
    let owner = config
        .get("mail_owner")
        .ok()
        .and_then(|n| nix::unistd::User::from_name(&n).ok().flatten());
    let group = config
        .get("setgid_group")
        .ok()
        .and_then(|n| nix::unistd::Group::from_name(&n).ok().flatten());
    for (dir, mode) in [("pid", 0o755), ("private", 0o700), ("public", 0o710)] {
        if Path::new(dir).is_dir() {
            continue;
        }
        if let Err(e) = std::fs::DirBuilder::new().mode(mode).create(dir) {
            fatal(&format!("mkdir {dir}: {e}"));
        }
        if root && dir != "pid" {
            let uid = owner.as_ref().map(|u| u.uid);
            let gid = if dir == "public" {
                group.as_ref().map(|g| g.gid)
            } else {
                owner.as_ref().map(|u| u.gid)
            };
            if let Err(e) = nix::unistd::chown(dir, uid, gid) {
                msg_warn!("chown {dir}: {}", crate::listen::strerror(e));
            }
        }
    }
}

/// Log a fatal error, also on stderr, and exit 1.
fn fatal(e: &str) -> ! {
    util::msg::log_to_stderr(true);
    msg_fatal!("{e}")
}

fn main() {
    util::msg::init("postfix/master", "localhost");
    let opts = opts::parse(std::env::args().skip(1))
        .unwrap_or_else(|e| msg_fatal!("{e}\n{}", opts::USAGE));
    // MAIL_VERBOSE (set by `postfix -v`) turns on verbose logging too.
    let verbose = opts.verbose.max(u32::from(
        std::env::var_os("MAIL_VERBOSE").is_some_and(|v| !v.is_empty()),
    ));
    util::msg::set_verbose(verbose);
    if opts.init_mode && std::process::id() != 1 {
        msg_fatal!("-i is allowed only for PID 1");
    }
    let dir = Config::resolve_dir(opts.config_dir.as_deref().map(Path::new));
    let dir: PathBuf = std::fs::canonicalize(&dir).unwrap_or(dir);
    let config = master::load_config(&dir).unwrap_or_else(|e| msg_fatal!("{e}"));
    let queue_dir = config
        .get("queue_directory")
        .unwrap_or_else(|e| msg_fatal!("{e}"));

    if opts.test {
        if let Err(e) = pidfile::test(Path::new(&queue_dir)) {
            msg_fatal!("{e}");
        }
        std::process::exit(0);
    }

    open_log(&config);
    global::core_params::report_or_exit(&config);
    let loaded = master::load_services(config, verbose).unwrap_or_else(|e| msg_fatal!("{e}"));
    let detached = !opts.foreground && !opts.init_mode;
    let ready = if detached { detach(opts.wait) } else { None };
    // Warnings go to the log only once detached; fatal errors also to
    // stderr, where `postfix start` shows them.
    util::msg::log_to_stderr(!detached);

    if let Err(e) = std::env::set_current_dir(&queue_dir) {
        fatal(&format!("chdir({queue_dir}): {e}"));
    }
    make_dirs(&loaded.config);
    let mut lock = pidfile::lock(Path::new(".")).unwrap_or_else(|e| fatal(&e));
    if let Err(e) = lock.write_pid(std::process::id()) {
        fatal(&format!("write lock file {}: {e}", pidfile::PID_FILE));
    }
    for w in loaded.config.unimplemented().iter().chain(&loaded.warnings) {
        msg_warn!("{w}");
    }
    let default_limit = loaded.settings.default_limit;
    let mut m = master::Master::new(loaded.config, loaded.settings, dir, verbose, opts.exit_time);
    m.set_warned(loaded.warnings);
    for spec in loaded.specs {
        m.add(master::open_service(spec, default_limit).unwrap_or_else(|e| fatal(&e)));
    }
    m.log_started();
    if let Some(w) = ready {
        let mut f = std::fs::File::from(w);
        let _ = f.write_all(b"1");
    }
    if detached {
        close_stdio(opts.keep_stdout);
    }
    let _keep = lock;
    m.run()
}
