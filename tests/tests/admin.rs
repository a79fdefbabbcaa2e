//! NAME
//!   admin - system tests of what a new administrator meets first
//!
//! DESCRIPTION
//!   The findings of an administrator who moved Debian's main.cf and
//!   master.cf to Postern, checked against a real instance:
//!
//!   - a master.cf service whose program is missing is reported by
//!     `postfix check` and `postfix start` on the terminal (for inet:
//!     where nothing will listen), and a reload does not repeat it;
//!   - Debian's `myorigin = /etc/mailname` gives the file's first line;
//!   - a missing `queue_directory` and a bad `myhostname` are fatal, with
//!     Postfix's texts, and nothing is created;
//!   - `postfix logrotate` renames the log and every process writes to
//!     the new file afterwards;
//!   - duplicate main.cf settings, `hash:` tables and Debian's `biff =
//!     no` give the warnings Postfix gives (or none);
//!   - plain `postsuper` exits 0; `kill -HUP` with a broken main.cf
//!     stops master as Postfix's does, without a "reload" that worked;
//!   - a master.cf `-o foo` without `=` is logged by the child; master's
//!     wake-up of tlsmgr is no "bad request".
//!
//!   Run: `cargo build --workspace && cargo test -p systest --test admin`.
use global::attr::{self, Attrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(30);

/// How many log lines contain `needle`.
fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn missing_program_is_shown_by_check_and_start_and_not_repeated_by_reload() {
    // Built, not started by the kit, whose start() refuses a master.cf
    // naming a program that was not built.
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd")
        .master_cf_line("127.0.0.1:{port:ps} inet n - n - 1 postscreen")
        .build();
    let r = inst.postfix(&["check"]);
    r.assert_ok();
    let port = inst.port("ps");
    let tail = format!(
        "(postscreen): program {}/postscreen not found; service disabled; nothing will listen on 127.0.0.1:{port}",
        inst.bin().display()
    );
    assert!(
        r.stderr.contains("postfix: warning: ") && r.stderr.contains(&tail),
        "{r}"
    );
    let r = inst.postfix(&["start"]);
    r.assert_ok();
    assert!(r.stderr.contains(&tail), "{r}");
    inst.wait_for_log("daemon started", WAIT);
    let master_lines = |log: &str| {
        log.lines()
            .filter(|l| l.contains("/master[") && l.contains(&tail))
            .count()
    };
    assert_eq!(master_lines(&inst.log()), 1, "{}", inst.log());
    inst.reload();
    inst.wait_for_log("reload --", WAIT);
    // The reload is done when the new configuration's service answers.
    let mut c = inst.connect_retry("t", WAIT);
    c.greeting();
    assert_eq!(c.cmd("PING"), "250 PONG");
    assert_eq!(master_lines(&inst.log()), 1, "{}", inst.log());
    inst.stop();
}

#[test]
fn myorigin_names_a_file_as_in_debian() {
    let mut inst = Instance::builder().mail_pipeline().build();
    let mailname = inst.dir().join("mailname");
    std::fs::write(&mailname, " mailname.example \nsecond line\n").unwrap();
    inst.set_main_cf(&format!("myorigin = {}\n", mailname.display()));
    inst.start();
    let r = inst.sendmail(
        &["-f", "someone", "nobody@example.invalid"],
        "Subject: t\n\nx\n",
    );
    r.assert_ok();
    inst.wait_for_log("from=<someone@mailname.example>", WAIT);
    inst.stop();
    // An empty file is fatal, as in Debian's Postfix.
    std::fs::write(&mailname, "\n").unwrap();
    let r = inst.postfix(&["check"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr.contains(&format!(
            "postfix: fatal: myorigin file {} is empty",
            mailname.display()
        )),
        "{r}"
    );
}

#[test]
fn missing_queue_directory_and_bad_myhostname_are_fatal() {
    let mut inst = Instance::builder().build();
    let q = inst.dir().join("no/such/queue");
    inst.set_main_cf(&format!("queue_directory = {}\n", q.display()));
    for cmd in ["check", "start"] {
        let r = inst.postfix(&[cmd]);
        assert_eq!(r.code, Some(1), "{r}");
        assert!(
            r.stderr.contains(&format!(
                "postfix: fatal: chdir({}): No such file or directory",
                q.display()
            )),
            "{r}"
        );
    }
    assert!(!q.exists(), "the queue directory must not be created");

    inst.set_main_cf("myhostname = bad host name\n");
    let r = inst.postfix(&["check"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr.contains(
            "postfix: warning: valid_hostname: invalid character 32(decimal): bad host name"
        ),
        "{r}"
    );
    assert!(
        r.stderr.contains(&format!(
            "postfix: fatal: file {}: parameter myhostname: bad parameter value: bad host name",
            inst.config_dir().join("main.cf").display()
        )),
        "{r}"
    );
}

#[test]
fn logrotate_renames_the_log_and_everyone_writes_the_new_one() {
    let inst = Instance::builder()
        .mail_pipeline()
        .main_cf("maillog_file_compressor = true\nmaillog_file_rotate_suffix = rotated-%Y")
        .start();
    let r = inst.sendmail(&["-f", "a", "nobody@example.invalid"], "Subject: 1\n\nx\n");
    r.assert_ok();
    inst.wait_for_log("nrcpt=1 (queue active)", WAIT);
    let r = inst.postfix(&["logrotate"]);
    r.assert_ok();
    let year = chrono_year();
    let rotated = inst
        .maillog_path()
        .with_file_name(format!("maillog.rotated-{year}"));
    assert!(rotated.is_file(), "no {}", rotated.display());
    // master reopened the file before it logged the reload.
    inst.wait_for_log("reload --", WAIT);
    let r = inst.sendmail(&["-f", "b", "nobody@example.invalid"], "Subject: 2\n\nx\n");
    r.assert_ok();
    inst.wait_for_log("from=<b@", WAIT);
    let log = inst.log();
    for who in [
        "postfix/master[",
        "postfix/pickup[",
        "postfix/cleanup[",
        "postfix/qmgr[",
    ] {
        assert!(log.contains(who), "{who} missing from the new log:\n{log}");
    }
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(!old.contains("from=<b@"), "{old}");
    assert!(old.contains("from=<a@"), "{old}");
    inst.stop();

    let r = inst.postfix(&["logrotate", "x"]);
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stderr
            .contains("postfix/postfix-script: fatal: usage postfix logrotate (no arguments)"),
        "{r}"
    );
}

/// The line number of `text` in the instance's main.cf.
fn main_cf_line(inst: &Instance, text: &str) -> usize {
    let cf = std::fs::read_to_string(inst.config_dir().join("main.cf")).unwrap();
    cf.lines().position(|l| l == text).expect("line in main.cf") + 1
}

fn chrono_year() -> String {
    let out = std::process::Command::new("date")
        .arg("+%Y")
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn check_warns_about_berkeley_db_and_not_about_biff_no() {
    let inst = Instance::builder()
        .main_cf("biff = no\nalias_maps = hash:/etc/aliases\nmail_name = A\nmail_name = B\n")
        .build();
    let r = inst.postfix(&["check"]);
    r.assert_ok();
    assert!(
        r.stderr.contains(&format!(
            "postfix: warning: {}, line {}: overriding earlier entry: mail_name=A",
            inst.config_dir().join("main.cf").display(),
            main_cf_line(&inst, "mail_name = B")
        )),
        "{r}"
    );
    assert!(
        r.stderr.contains(
            "parameter alias_maps: unsupported dictionary type: hash: Berkeley DB tables are not supported"
        ),
        "{r}"
    );
    assert!(!r.stderr.contains("biff"), "{r}");
}

#[test]
fn plain_postsuper_exits_zero() {
    let inst = Instance::builder().mail_pipeline().start();
    let r = inst.run_program("postsuper", &[], b"");
    assert_eq!(r.code, Some(0), "{r}");
    inst.stop();
}

#[test]
fn hup_with_a_broken_main_cf_stops_master_as_postfix_does() {
    let mut inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd")
        .start();
    let pid = inst.master_pid().expect("master runs");
    inst.set_main_cf("junk line\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let line = inst.wait_for_log("missing '=' after attribute name", WAIT);
    assert!(
        line.contains("postfix/master[") && line.contains(": fatal: "),
        "{line}"
    );
    assert!(
        wait_until(WAIT, || inst.master_pid().is_none().then_some(())).is_some(),
        "master must exit"
    );
    assert!(!inst.log().contains("configuration not reloaded"));
}

#[test]
fn override_without_value_is_logged_by_the_child() {
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:t} inet n - n - 1 testd -o foo")
        .main_cf("service_throttle_time = 1s")
        .start();
    // The connection makes master start the child, which dies at once.
    let _ = std::net::TcpStream::connect(("127.0.0.1", inst.port("t")));
    inst.wait_for_log(
        "fatal: invalid \"-o foo\" option value: missing '=' after attribute name",
        WAIT,
    );
    inst.stop();
}

#[test]
fn master_wakeup_is_no_bad_request_for_tlsmgr() {
    let inst = Instance::builder()
        .master_cf_line("tlsmgr unix - - n 1000? 1 tlsmgr")
        .start();
    let sock = inst.queue_dir().join("private/tlsmgr");
    let seed = || {
        let mut s = wait_until(WAIT, || UnixStream::connect(&sock).ok()).expect("connect");
        s.set_read_timeout(Some(WAIT)).unwrap();
        let reply = attr::request(
            &mut s,
            &Attrs::new().put_str("request", "seed").put_int("size", 16),
        )
        .unwrap();
        assert_eq!(reply.int("status").unwrap(), 0);
    };
    // The first request starts tlsmgr; master sends its wake-up then.
    seed();
    seed();
    inst.stop();
    let log = inst.log();
    assert_eq!(count(&log, "bad request"), 0, "{log}");
}
