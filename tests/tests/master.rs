//! NAME
//!   master - system tests of master(8) and postfix(1) against a real instance
//!
//! DESCRIPTION
//!   Issue 2, "Done when": each test starts its own instance (temporary
//!   directory, free loopback ports) running the `testd` fixture daemon
//!   and checks one promise: a child serves a connection; a killed child
//!   is replaced; maxproc limits the processes and the extra client
//!   waits; reload adds a service without cutting an open session; stop
//!   leaves nothing behind; a second start fails; chroot and privilege
//!   drop; config errors stop `postfix start` with file and line;
//!   `postfix status` both ways.
//!
//!   Run: `cargo build --workspace && cargo test -p systest`.
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::Duration;
use testkit::{procfs, wait_until, Instance};

const WAIT: Duration = Duration::from_secs(15);

/// An instance with one testd service `t` of `maxproc` processes.
fn testd(maxproc: u32) -> Instance {
    Instance::builder()
        .master_cf_line(&format!(
            "127.0.0.1:{{port:t}} inet n - n - {maxproc} testd"
        ))
        .main_cf("service_throttle_time = 1s")
        .start()
}

#[test]
fn a_child_serves_a_connection() {
    let inst = testd(2);
    let mut c = inst.connect("t");
    let g = c.greeting();
    assert_eq!(g.service, format!("127.0.0.1:{}", inst.port("t")));
    assert_eq!(c.cmd("PING"), "250 PONG");
    let master = inst.master_pid().expect("master runs");
    assert_eq!(
        procfs::stat(g.pid).expect("child exists").ppid,
        master,
        "the child is master's"
    );
    assert_eq!(c.cmd("QUIT"), "221 Bye");
}

#[test]
fn a_killed_child_is_replaced() {
    let inst = testd(2);
    let mut c = inst.connect("t");
    let first = c.greeting().pid;
    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill -9 the child");
    assert!(
        c.closed_within(WAIT),
        "the killed child's connection must close"
    );
    assert!(wait_until(WAIT, || (!procfs::alive(first)).then_some(())).is_some());
    let mut c2 = inst.connect("t");
    let g = c2.greeting();
    assert_ne!(g.pid, first, "a new process serves");
    assert_eq!(c2.cmd("PING"), "250 PONG");
}

#[test]
fn maxproc_limits_processes_and_the_next_client_waits() {
    let inst = testd(2);
    let port = inst.port("t").to_string();
    let mut a = inst.connect("t");
    let ga = a.greeting();
    let mut b = inst.connect("t");
    let gb = b.greeting();
    assert_ne!(ga.pid, gb.pid);
    let mut c = inst.connect("t");
    let early = c
        .try_read_line(Duration::from_millis(1500))
        .expect("connection stays open");
    assert_eq!(
        early, None,
        "a third client must wait while maxproc=2 processes are busy"
    );
    let n = inst.children_of(&port).len();
    assert_eq!(n, 2, "maxproc 2: {:?}", inst.children_of(&port));
    assert_eq!(a.cmd("QUIT"), "221 Bye");
    drop(a);
    let gc = c.greeting();
    assert_eq!(c.cmd("PING"), "250 PONG");
    assert_ne!(gc.pid, gb.pid, "b's process is still busy");
    assert!(inst.children_of(&port).len() <= 2);
}

#[test]
fn reload_adds_a_service_and_keeps_open_sessions() {
    let mut inst = testd(2);
    let mut old = inst.connect("t");
    let g = old.greeting();
    inst.add_master_cf_line("127.0.0.1:{port:new} inet n - n - 1 testd");
    inst.reload();
    let mut fresh = inst.connect_retry("new", WAIT);
    let gn = fresh.greeting();
    assert_eq!(gn.service, format!("127.0.0.1:{}", inst.port("new")));
    assert_eq!(fresh.cmd("PING"), "250 PONG");
    assert_eq!(
        old.cmd("PING"),
        "250 PONG",
        "the session open across the reload goes on"
    );
    assert!(procfs::alive(g.pid));
    let mut again = inst.connect("t");
    assert_eq!(again.greeting().service, g.service);
}

#[test]
fn stop_leaves_no_process() {
    let inst = testd(2);
    let mut c = inst.connect("t");
    let child = c.greeting().pid;
    let procs = inst.processes();
    assert!(procs.contains(&child), "{procs:?}");
    assert!(procs.len() >= 2);
    let r = inst.postfix(&["stop"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("postfix/postfix-script: stopping the Postfix mail system"),
        "{r}"
    );
    let left: Vec<i32> = procs
        .iter()
        .copied()
        .filter(|p| procfs::alive(*p))
        .collect();
    assert!(left.is_empty(), "still alive after postfix stop: {left:?}");
    let r = inst.postfix(&["stop"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("postfix/postfix-script: fatal: the Postfix mail system is not running"),
        "{r}"
    );
    assert!(
        inst.log().contains("postfix/postfix-script["),
        "script messages are logged"
    );
}

#[test]
fn a_second_start_fails() {
    let inst = testd(1);
    let pid = inst.master_pid().unwrap();
    let r = inst.postfix(&["start"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr
            .contains("postfix/postfix-script: fatal: the Postfix mail system is already running"),
        "{r}"
    );
    assert_eq!(inst.master_pid(), Some(pid), "the first master goes on");
}

#[test]
fn status_both_ways() {
    let mut inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd")
        .build();
    let r = inst.postfix(&["status"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr
            .contains("postfix/postfix-script: the Postfix mail system is not running"),
        "{r}"
    );
    inst.start();
    let r = inst.postfix(&["status"]);
    r.assert_ok();
    let pid = inst.master_pid().unwrap();
    assert!(
        r.stderr
            .contains(&format!("the Postfix mail system is running: PID: {pid}")),
        "{r}"
    );
}

#[test]
fn chrooted_unprivileged_child_runs_as_mail_owner() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n y y - 1 testd")
        .start();
    let mut c = inst.connect("t");
    let g = c.greeting();
    let owner = nix::unistd::User::from_name(inst.mail_owner())
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    assert_eq!(g.uid, owner);
    let (real, effective) = procfs::uids(g.pid).expect("/proc/PID/status");
    assert_eq!(
        (real, effective),
        (owner, owner),
        "the child runs as {}",
        inst.mail_owner()
    );
    let root = testkit::proc_root(g.pid).expect("/proc/PID/root");
    assert_eq!(
        root,
        inst.queue_dir().canonicalize().unwrap(),
        "the child is chrooted to the queue"
    );
    assert_eq!(c.cmd("PING"), "250 PONG");
}

#[test]
fn main_cf_error_stops_start_with_file_and_line() {
    let inst = Instance::builder()
        .main_cf("this is not a setting")
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd")
        .build();
    let main_cf = inst.config_dir().join("main.cf");
    let text = std::fs::read_to_string(&main_cf).unwrap();
    let line = text
        .lines()
        .position(|l| l == "this is not a setting")
        .unwrap()
        + 1;
    let r = inst.postfix(&["start"]);
    assert_eq!(r.code, Some(1), "{r}");
    let want = format!(
        "postfix: fatal: {}, line {line}: missing '=' after attribute name",
        main_cf.display()
    );
    assert!(r.stderr.contains(&want), "want {want:?} in {r}");
    assert!(inst.master_pid().is_none());
}

#[test]
fn master_cf_error_stops_start_with_file_and_line() {
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd")
        .master_cf_line("broken bogus n - n - 1 testd")
        .build();
    let r = inst.postfix(&["check"]);
    assert_eq!(r.code, Some(1), "{r}");
    let want = format!(
        "{}, line 3: bad transport type: bogus",
        inst.config_dir().join("master.cf").display()
    );
    assert!(r.stderr.contains(&want), "want {want:?} in {r}");
}

#[test]
fn check_creates_the_queue_and_warns_about_unused_parameters() {
    let inst = Instance::builder()
        .main_cf("no_such_parameter = 1")
        .master_cf_line("x unix - - n - 1 testd")
        .build();
    let r = inst.postfix(&["check"]);
    r.assert_ok();
    assert!(
        r.stderr.contains("unused parameter: no_such_parameter=1"),
        "{r}"
    );
    for d in [
        "active", "incoming", "deferred", "maildrop", "public", "private", "pid",
    ] {
        assert!(inst.queue_dir().join(d).is_dir(), "{d} was not created");
    }
    assert!(inst.data_dir().is_dir());
}

#[test]
fn reload_refuses_a_broken_configuration() {
    let mut inst = testd(1);
    let before = inst.log();
    inst.add_master_cf_line("broken bogus n - n - 1 testd");
    let r = inst.postfix(&["reload"]);
    assert_eq!(r.code, Some(1), "{r}");
    let want = format!(
        "postfix: fatal: {}, line 3: bad transport type: bogus",
        inst.config_dir().join("master.cf").display()
    );
    assert!(r.stderr.contains(&want), "want {want:?} in {r}");
    assert!(!r.stderr.contains("refreshing"), "{r}");
    let mut c = inst.connect("t");
    c.greeting();
    assert_eq!(c.cmd("PING"), "250 PONG", "master still serves");
    let log = inst.log();
    assert!(
        !log[before.len()..].contains("reload"),
        "master was not signalled:\n{log}"
    );
}

#[test]
fn check_reports_bad_booleans_and_writable_configuration_files() {
    let inst = Instance::builder()
        .main_cf("append_dot_mydomain = maybe")
        .master_cf_line("x unix - - n - 1 testd")
        .build();
    let main_cf = inst.config_dir().join("main.cf");
    let line = std::fs::read_to_string(&main_cf)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("append_dot_mydomain"))
        .unwrap()
        + 1;
    let r = inst.postfix(&["start"]);
    assert_eq!(r.code, Some(1), "{r}");
    let want = format!(
        "postfix: fatal: {}, line {line}: bad boolean configuration: append_dot_mydomain = maybe",
        main_cf.display()
    );
    assert!(r.stderr.contains(&want), "want {want:?} in {r}");
    assert!(inst.master_pid().is_none());

    let text = std::fs::read_to_string(&main_cf).unwrap();
    std::fs::write(&main_cf, text.replace("maybe", "no")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&main_cf, std::fs::Permissions::from_mode(0o664)).unwrap();
    let r = inst.postfix(&["check"]);
    r.assert_ok();
    let want = format!(
        "postfix/postfix-script: warning: group or other writable: {}/./main.cf",
        inst.config_dir().display()
    );
    assert!(r.stderr.contains(&want), "want {want:?} in {r}");
}

#[test]
fn master_logs_the_new_myhostname_after_a_reload() {
    let mut inst = testd(1);
    inst.set_main_cf("service_throttle_time = 1s\nmyhostname = renamed.example");
    inst.add_master_cf_line("ghost unix - - n - 1 no-such-program");
    inst.reload();
    let line = inst.wait_for_log("no-such-program", WAIT);
    assert!(line.contains(" renamed.example postfix/master["), "{line}");
}
