//! NAME
//!   debian - run Debian's Postfix 3.7 beside Postern in a test
//!
//! DESCRIPTION
//!   Interoperability tests use Debian's own Postfix (package `postfix`,
//!   installed by scripts/test) as a peer: as the client that relays to
//!   Postern, or as the server Postern relays to. [`DebianPostfix::start`]
//!   runs it as a separate instance from a temporary directory: Debian's
//!   stock master.cf with the `smtp inet` line moved to a free loopback
//!   port, its own queue, and `maillog_file` inside the directory
//!   (`maillog_file_prefixes` must allow that path, or Debian's `postfix`
//!   refuses to start — and says so only on a terminal or to syslog, so
//!   commands run under `script(1)` to see its messages).
//!
//!   Needs root. [`DebianPostfix::available`] tells whether the package is
//!   installed; tests skip with a message when it is not.
use crate::ports::free_port;
use crate::run::{run, run_with_input, Run, COMMAND_TIMEOUT};
use crate::wait_until;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const POSTFIX: &str = "/usr/sbin/postfix";
const MASTER_CF: &[&str] = &[
    "/etc/postfix/master.cf.proto",
    "/usr/share/postfix/master.cf.dist",
];

/// A running Debian Postfix instance; stopped on drop.
#[derive(Debug)]
pub struct DebianPostfix {
    tmp: tempfile::TempDir,
    port: u16,
}

impl DebianPostfix {
    /// Whether Debian's Postfix is installed and this process is root.
    pub fn available() -> bool {
        Path::new(POSTFIX).exists()
            && MASTER_CF.iter().any(|p| Path::new(p).exists())
            && nix::unistd::geteuid().is_root()
    }

    /// Start an instance whose smtpd listens on a free port of 127.0.0.1,
    /// with `main_cf_extra` appended to its main.cf. Panics with Debian's
    /// messages when it does not start.
    pub fn start(main_cf_extra: &str) -> DebianPostfix {
        let tmp = tempfile::Builder::new()
            .prefix("debian-postfix-")
            .tempdir()
            .expect("temporary directory");
        let dir = tmp.path().canonicalize().expect("canonical path");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let etc = dir.join("etc");
        std::fs::create_dir(&etc).expect("mkdir etc");
        // Debian's postfix creates the queue's subdirectories, not the queue itself.
        std::fs::create_dir(dir.join("queue")).expect("mkdir queue");
        let port = free_port();
        let proto = MASTER_CF
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .expect("Debian's master.cf");
        let master: String = proto
            .lines()
            .map(|l| {
                if l.starts_with("smtp      inet") {
                    l.replacen("smtp      inet", &format!("127.0.0.1:{port} inet"), 1)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(etc.join("master.cf"), master + "\n").expect("write master.cf");
        std::fs::write(
            etc.join("main.cf"),
            format!(
                "compatibility_level = 3.6\nqueue_directory = {d}/queue\ndata_directory = {d}/data\n\
                 maillog_file = {d}/maillog\nmaillog_file_prefixes = {d}\n\
                 inet_interfaces = loopback-only\ninet_protocols = ipv4\n\
                 alias_maps =\nalias_database =\nmydestination =\n{main_cf_extra}\n",
                d = dir.display()
            ),
        )
        .expect("write main.cf");
        let inst = DebianPostfix { tmp, port };
        let r = inst.postfix(&["start"]);
        assert!(
            r.success(),
            "Debian's postfix did not start: {r}\n{}",
            inst.log()
        );
        let up = wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(
            up.is_some(),
            "Debian's smtpd does not answer on {port}\n{}",
            inst.log()
        );
        inst
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The configuration directory (main.cf, master.cf).
    pub fn config_dir(&self) -> PathBuf {
        self.tmp.path().join("etc")
    }

    /// The port its smtpd listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Run Debian's `postfix -c DIR args...` under script(1), so that its
    /// messages (which Postfix prints only on a terminal) are captured.
    pub fn postfix(&self, args: &[&str]) -> Run {
        let line = format!(
            "{POSTFIX} -c {} {}",
            self.config_dir().display(),
            args.join(" ")
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"]);
        run(cmd, COMMAND_TIMEOUT)
    }

    /// Debian's `sendmail -C DIR args...` with `message` on standard input.
    pub fn sendmail(&self, args: &[&str], message: &str) -> Run {
        let mut cmd = Command::new("/usr/sbin/sendmail");
        cmd.arg("-C").arg(self.config_dir()).args(args);
        run_with_input(cmd, message.as_bytes(), COMMAND_TIMEOUT)
    }

    /// Its maillog so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.tmp.path().join("maillog")).unwrap_or_default()
    }

    /// Wait until a maillog line contains `needle`; returns the line.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        wait_until(timeout, || {
            self.log()
                .lines()
                .find(|l| l.contains(needle))
                .map(String::from)
        })
        .unwrap_or_else(|| {
            panic!(
                "Debian's Postfix logged no {needle:?} within {timeout:?}:\n{}",
                self.log()
            )
        })
    }
}

impl Drop for DebianPostfix {
    fn drop(&mut self) {
        let _ = self.postfix(&["stop"]);
        let pidfile = self.tmp.path().join("queue/pid/master.pid");
        if let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if std::thread::panicking() {
            eprintln!("--- Debian Postfix maillog\n{}", self.log());
        }
    }
}
