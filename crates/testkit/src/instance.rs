//! NAME
//!   instance - a real Postern instance in a temporary directory
//!
//! SYNOPSIS
//!   let inst = Instance::builder()
//!       .master_cf_line("127.0.0.1:{port:echo} inet n - n - 2 testd")
//!       .main_cf("service_throttle_time = 1s")
//!       .start();
//!   let mut c = inst.connect("echo");
//!
//! DESCRIPTION
//!   The builder writes a configuration directory with main.cf and
//!   master.cf under a fresh temporary directory (`etc/`, queue `queue/`,
//!   data `data/`, log `maillog`), with `daemon_directory` and
//!   `command_directory` set to the directory of the built binaries
//!   ([`crate::bin_dir`]), `inet_interfaces = loopback-only`, and
//!   `mail_owner`/`setgid_group` = `postfix`/`postdrop` as root, else the
//!   current user and group. `{port:NAME}` in a master.cf line becomes a
//!   free loopback port ([`Instance::port`] tells which).
//!
//!   [`Builder::start`] runs `postfix -c DIR start` (retrying with new
//!   ports when one was taken meanwhile) and returns once master serves.
//!   [`Builder::build`] only writes the files, for tests of failing
//!   starts.
//!
//!   Dropping an [`Instance`] runs `postfix stop`, kills whatever of the
//!   instance is still alive, and, when the test is panicking, prints the
//!   maillog and the directory. With `POSTERN_KEEP_TMP` set the directory
//!   is kept.
use crate::client::Client;
use crate::run::{run, Run, COMMAND_TIMEOUT};
use crate::{bin_dir, ports, wait_until};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{Gid, Group, Pid, Uid, User};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long [`Builder::start`] and [`Instance::wait_for_log`] wait by default.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The master.cf lines of the mail pipeline, as Postfix 3.7 ships them
/// (chrooted where Postfix chroots; as an ordinary user the skeleton
/// skips the chroot).
pub const PIPELINE_SERVICES: &[&str] = &[
    "pickup    unix  n       -       y       60      1       pickup",
    "cleanup   unix  n       -       y       -       0       cleanup",
    "qmgr      unix  n       -       n       300     1       qmgr",
    "bounce    unix  -       -       y       -       0       bounce",
    "defer     unix  -       -       y       -       0       bounce",
    "trace     unix  -       -       y       -       0       bounce",
    "showq     unix  n       -       y       -       -       showq",
    "error     unix  -       -       y       -       -       error",
    "retry     unix  -       -       y       -       -       error",
    "discard   unix  -       -       y       -       -       discard",
    "local     unix  -       n       n       -       -       local",
    "anvil     unix  -       -       y       -       1       anvil",
];

/// Builds an [`Instance`].
#[derive(Debug, Default)]
pub struct Builder {
    main_cf: Vec<String>,
    master_cf: Vec<String>,
}

impl Builder {
    /// Append `text` (one or more `name = value` lines) to main.cf after
    /// the kit's own settings, so it can override them.
    pub fn main_cf(mut self, text: &str) -> Builder {
        self.main_cf.push(text.to_string());
        self
    }

    /// Append one master.cf line; `{port:NAME}` becomes a free port.
    pub fn master_cf_line(mut self, line: &str) -> Builder {
        self.master_cf.push(line.to_string());
        self
    }

    /// Add the master.cf lines of the mail pipeline as Postfix ships them
    /// ([`PIPELINE_SERVICES`]): pickup, cleanup, qmgr, bounce/defer/trace,
    /// error/retry, discard, local, showq and anvil (smtpd's client limits).
    pub fn mail_pipeline(mut self) -> Builder {
        self.master_cf
            .extend(PIPELINE_SERVICES.iter().map(|s| s.to_string()));
        self
    }

    /// Write the instance's files without starting it.
    pub fn build(self) -> Instance {
        let tmp = tempfile::Builder::new()
            .prefix("postern-")
            .tempdir()
            .expect("temporary directory");
        // Unprivileged children must be able to reach the queue below it.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod tmp");
        let dir = tmp.path().canonicalize().expect("canonical tmp");
        std::fs::create_dir(dir.join("etc")).expect("mkdir etc");
        // As an installer does: postfix(1) needs queue_directory to exist
        // and creates only its subdirectories.
        std::fs::create_dir(dir.join("queue")).expect("mkdir queue");
        let (owner, group) = accounts();
        let mut inst = Instance {
            tmp: Some(tmp),
            dir,
            bin: bin_dir(),
            main_extra: self.main_cf,
            master_lines: self.master_cf,
            ports: BTreeMap::new(),
            mail_owner: owner,
            setgid_group: group,
        };
        inst.write_main_cf();
        inst.write_master_cf();
        inst
    }

    /// Write the files and start the instance; panics with the output and
    /// the maillog when it does not start.
    pub fn start(self) -> Instance {
        let mut inst = self.build();
        inst.start();
        inst
    }
}

/// `(mail_owner, setgid_group)`: `postfix`/`postdrop` as root, else the
/// current user and primary group.
fn accounts() -> (String, String) {
    if Uid::effective().is_root() {
        return ("postfix".into(), "postdrop".into());
    }
    let user = User::from_uid(Uid::effective())
        .ok()
        .flatten()
        .map(|u| u.name);
    let group = Group::from_gid(Gid::effective())
        .ok()
        .flatten()
        .map(|g| g.name);
    (
        user.expect("current user has a name"),
        group.expect("current group has a name"),
    )
}

/// A process of the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// Its process ID.
    pub pid: i32,
    /// Its argument vector.
    pub argv: Vec<String>,
}

impl Proc {
    /// The value of `-n` (the master.cf service name), if any.
    pub fn service(&self) -> Option<&str> {
        let i = self.argv.iter().position(|a| a == "-n")?;
        self.argv.get(i + 1).map(String::as_str)
    }
}

/// A running (or ready to run) instance. See the module documentation.
#[derive(Debug)]
pub struct Instance {
    tmp: Option<tempfile::TempDir>,
    dir: PathBuf,
    bin: PathBuf,
    main_extra: Vec<String>,
    master_lines: Vec<String>,
    ports: BTreeMap<String, u16>,
    mail_owner: String,
    setgid_group: String,
}

impl Instance {
    /// A builder for a new instance.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The instance's top directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration directory (`-c`).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    /// `queue_directory`.
    pub fn queue_dir(&self) -> PathBuf {
        self.dir.join("queue")
    }

    /// `data_directory`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `maillog_file`.
    pub fn maillog_path(&self) -> PathBuf {
        self.dir.join("maillog")
    }

    /// The directory of the built programs (`daemon_directory` and
    /// `command_directory`).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// `mail_owner` of this instance.
    pub fn mail_owner(&self) -> &str {
        &self.mail_owner
    }

    /// `setgid_group` of this instance.
    pub fn setgid_group(&self) -> &str {
        &self.setgid_group
    }

    /// The port chosen for `{port:NAME}`. Panics for an unknown NAME.
    pub fn port(&self, name: &str) -> u16 {
        *self
            .ports
            .get(name)
            .unwrap_or_else(|| panic!("no port named {name:?}; known: {:?}", self.ports))
    }

    /// The kit's main.cf settings followed by the test's. A kit setting
    /// that the test sets too is left out, so that no name is set twice
    /// (every program would warn "overriding earlier entry", as Postfix's
    /// do).
    fn main_cf_text(&self) -> String {
        let text = self.kit_and_test_main_cf();
        let set_by_test: Vec<&str> = self
            .main_extra
            .iter()
            .flat_map(|e| e.lines())
            .filter(|l| !l.starts_with(char::is_whitespace) && !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(n, _)| n.trim()))
            .collect();
        let kit_len = text.len() - self.main_extra_len();
        let (kit, test) = text.split_at(kit_len);
        let mut out: String = kit
            .lines()
            .filter(|l| {
                l.split_once('=')
                    .is_none_or(|(n, _)| !set_by_test.contains(&n.trim()))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        out.push_str(test);
        out
    }

    /// The length of the test's part of [`Self::kit_and_test_main_cf`].
    fn main_extra_len(&self) -> usize {
        self.main_extra
            .iter()
            .map(|e| e.len() + usize::from(!e.ends_with('\n')))
            .sum()
    }

    fn kit_and_test_main_cf(&self) -> String {
        let d = self.dir.display();
        let b = self.bin.display();
        let mut text = format!(
            "# Written by testkit.\n\
             queue_directory = {d}/queue\n\
             data_directory = {d}/data\n\
             daemon_directory = {b}\n\
             command_directory = {b}\n\
             meta_directory = {d}/etc\n\
             maillog_file = {d}/maillog\nmaillog_file_prefixes = {d}\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             myhostname = postern-test.localdomain\n\
             mail_owner = {}\n\
             setgid_group = {}\n",
            self.mail_owner, self.setgid_group
        );
        for extra in &self.main_extra {
            text.push_str(extra);
            if !extra.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }

    fn write_main_cf(&self) {
        std::fs::write(self.config_dir().join("main.cf"), self.main_cf_text())
            .expect("write main.cf");
    }

    /// Write master.cf from the lines, choosing ports for new placeholders.
    fn write_master_cf(&mut self) {
        let mut text = String::from("# Written by testkit.\n");
        for line in &self.master_lines {
            text.push_str(&ports::expand(line, &mut self.ports));
            text.push('\n');
        }
        std::fs::write(self.config_dir().join("master.cf"), text).expect("write master.cf");
    }

    /// Check that the programs the instance needs were built.
    fn check_programs(&self) {
        let mut needed = vec!["postfix".to_string(), "master".to_string()];
        for line in &self.master_lines {
            if let Some(cmd) = line.split_whitespace().nth(7) {
                needed.push(cmd.to_string());
            }
        }
        for p in needed {
            assert!(
                self.bin.join(&p).is_file(),
                "{}/{p} does not exist: run `cargo build --workspace` first (or set POSTERN_BIN_DIR)",
                self.bin.display()
            );
        }
    }

    /// Start the instance (`postfix start`); retried with fresh ports when
    /// a port was taken. Panics with the output and maillog on failure.
    pub fn start(&mut self) {
        self.check_programs();
        let mut last = None;
        for _ in 0..3 {
            self.write_master_cf();
            let r = self.postfix(&["start"]);
            if r.success() {
                let ready = wait_until(READY_TIMEOUT, || self.master_pid());
                assert!(
                    ready.is_some(),
                    "postfix start returned but there is no master.pid\n{}",
                    self.log()
                );
                return;
            }
            let in_use = r.stderr.contains("in use") || self.log().contains("in use");
            last = Some(r);
            if !in_use {
                break;
            }
            self.ports.clear();
        }
        let r = last.expect("a start attempt");
        panic!("postfix start failed: {r}\n--- maillog\n{}", self.log());
    }

    /// Add a master.cf line (placeholders as in the builder) and rewrite
    /// master.cf; `reload` makes it effective.
    pub fn add_master_cf_line(&mut self, line: &str) {
        self.master_lines.push(line.to_string());
        self.write_master_cf();
    }

    /// Replace the test's main.cf settings and rewrite main.cf.
    pub fn set_main_cf(&mut self, text: &str) {
        self.main_extra = vec![text.to_string()];
        self.write_main_cf();
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.arg("-c")
            .arg(self.config_dir())
            .args(args)
            .env_remove("MAIL_CONFIG");
        cmd
    }

    /// Run `postfix -c DIR args...`.
    pub fn postfix(&self, args: &[&str]) -> Run {
        run(self.command("postfix", args), COMMAND_TIMEOUT)
    }

    /// Run a command-directory program (`sendmail`, `postqueue`, ...) with
    /// `MAIL_CONFIG` naming this instance and `input` on standard input.
    pub fn run_program(&self, program: &str, args: &[&str], input: &[u8]) -> Run {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(args).env("MAIL_CONFIG", self.config_dir());
        crate::run::run_with_input(cmd, input, COMMAND_TIMEOUT)
    }

    /// `sendmail args...` with `message` on standard input.
    pub fn sendmail(&self, args: &[&str], message: &str) -> Run {
        self.run_program("sendmail", args, message.as_bytes())
    }

    /// Run `postconf -c DIR args...`.
    pub fn postconf(&self, args: &[&str]) -> Run {
        run(self.command("postconf", args), COMMAND_TIMEOUT)
    }

    /// `postfix reload`; panics unless it succeeds.
    pub fn reload(&self) {
        self.postfix(&["reload"]).assert_ok();
    }

    /// `postfix stop`; panics unless it succeeds.
    pub fn stop(&self) {
        self.postfix(&["stop"]).assert_ok();
    }

    /// The maillog so far ("" when there is none).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.maillog_path()).unwrap_or_default()
    }

    /// Wait until a maillog line contains `needle`; returns that line.
    /// Panics with the log after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let found = wait_until(timeout, || {
            self.log()
                .lines()
                .find(|l| l.contains(needle))
                .map(String::from)
        });
        found.unwrap_or_else(|| {
            panic!(
                "no log line with {needle:?} within {timeout:?}\n--- maillog\n{}",
                self.log()
            )
        })
    }

    /// Wait for the first delivery status line of `rcpt` (`to=<rcpt>,
    /// relay=`) that also contains `status` (e.g. `status=` for any,
    /// `status=sent`); returns it. Panics with the log after `timeout`.
    pub fn wait_status(&self, rcpt: &str, status: &str, timeout: Duration) -> String {
        let needle = format!("to=<{rcpt}>, relay=");
        wait_until(timeout, || {
            self.log()
                .lines()
                .find(|l| l.contains(&needle) && l.contains(status))
                .map(String::from)
        })
        .unwrap_or_else(|| panic!("no {status} for {rcpt} within {timeout:?}:\n{}", self.log()))
    }

    /// master's process ID from `pid/master.pid`, when master is alive.
    pub fn master_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.queue_dir().join("pid/master.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        util::procfs::alive(pid).then_some(pid)
    }

    /// master's live children.
    pub fn children(&self) -> Vec<Proc> {
        let Some(master) = self.master_pid() else {
            return Vec::new();
        };
        util::procfs::children(master)
            .into_iter()
            .map(|pid| Proc {
                pid,
                argv: util::procfs::cmdline(pid),
            })
            .collect()
    }

    /// master's live children serving `service`: their `-n` value equals
    /// `service`, or ends with `:service` (so a port number or a
    /// `{port:NAME}` port as text finds an inet service).
    pub fn children_of(&self, service: &str) -> Vec<Proc> {
        let suffix = format!(":{service}");
        self.children()
            .into_iter()
            .filter(|p| {
                p.service()
                    .is_some_and(|s| s == service || s.ends_with(&suffix))
            })
            .collect()
    }

    /// Every live process of the instance: master, its descendants, and
    /// the members of its process group.
    pub fn processes(&self) -> Vec<i32> {
        let Some(master) = self.master_pid() else {
            return Vec::new();
        };
        let all = util::procfs::live_processes();
        let mut out = vec![master];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            for p in &all {
                if (p.ppid == parent || p.pgrp == master) && !out.contains(&p.pid) {
                    out.push(p.pid);
                }
            }
            i += 1;
        }
        out
    }

    /// Connect to the port of `{port:NAME}`; panics when that fails.
    pub fn connect(&self, name: &str) -> Client {
        let port = self.port(name);
        Client::connect(port)
            .unwrap_or_else(|e| panic!("connect to {name} (port {port}): {e}\n{}", self.log()))
    }

    /// Connect to `{port:NAME}`, retrying until `timeout` (for a service
    /// that is just being started, e.g. after a reload).
    pub fn connect_retry(&self, name: &str, timeout: Duration) -> Client {
        let port = self.port(name);
        wait_until(timeout, || Client::connect(port).ok()).unwrap_or_else(|| {
            panic!(
                "port {port} ({name}) does not answer within {timeout:?}\n{}",
                self.log()
            )
        })
    }

    /// Stop the instance and kill whatever is left of it.
    fn shut_down(&self) {
        let procs = self.processes();
        if procs.is_empty() {
            return;
        }
        let stopped = std::panic::catch_unwind(|| self.postfix(&["stop"]));
        if let Ok(r) = &stopped {
            if !r.success() {
                eprintln!("testkit: postfix stop failed: {r}");
            }
        }
        for pid in procs {
            if util::procfs::alive(pid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.shut_down();
        if std::thread::panicking() {
            eprintln!(
                "--- instance {} maillog:\n{}--- end of maillog",
                self.dir.display(),
                self.log()
            );
        }
        if std::env::var_os("POSTERN_KEEP_TMP").is_some() {
            if let Some(t) = self.tmp.take() {
                eprintln!("testkit: keeping {}", t.keep().display());
            }
        }
    }
}
