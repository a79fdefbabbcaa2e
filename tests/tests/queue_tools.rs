//! System tests of the queue tools on a real instance: postqueue -p/-j
//! through the showq service (and its stand-alone fallback), mailq,
//! postsuper -h/-H/-r/-d, postqueue -f (qmgr trigger `A`, seen by a
//! testd trigger fixture in qmgr's place), and postcat -q. Queue files
//! are made with the queue crate and given to mail_owner, as cleanup
//! would have written them.
use deliver::{dsn_log, Dsn, DsnRecord};
use queue::{QueueDir, QueueId, QueueWriter, Recipient};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use testkit::{Instance, Run};

const WAIT: Duration = Duration::from_secs(30);

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

fn with_showq() -> Instance {
    Instance::builder()
        .master_cf_line("showq unix n - n - - showq")
        .master_cf_line("qmgr unix n - n 300 1 testd trigger")
        .master_cf_line("pickup unix n - n 60 1 testd trigger")
        .start()
}

/// Give `path` and its parents up to the queue directory to mail_owner.
fn give(inst: &Instance, path: &Path) {
    let user = nix::unistd::User::from_name(inst.mail_owner())
        .unwrap()
        .unwrap();
    let mut p = Some(path);
    while let Some(x) = p {
        if x == inst.queue_dir() {
            break;
        }
        nix::unistd::chown(x, Some(user.uid), Some(user.gid)).unwrap();
        p = x.parent();
    }
}

/// A complete message from `sender` to `rcpts` in `queue`.
fn message(inst: &Instance, queue: &str, sender: &str, rcpts: &[&str]) -> QueueId {
    let q = qdir(inst);
    let mut w = QueueWriter::create(&q, queue::INCOMING).unwrap();
    w.set_sender(sender).unwrap();
    for r in rcpts {
        w.add_recipient(&Recipient::new(r)).unwrap();
    }
    w.write_content(b"Subject: test\n\nhello world\n").unwrap();
    let id = w.commit().unwrap();
    if queue != queue::INCOMING {
        q.rename(&id, queue::INCOMING, queue).unwrap();
    }
    give(inst, &q.path(queue, &id).unwrap());
    id
}

fn defer_reason(inst: &Instance, id: &QueueId, rcpt: &str, reason: &str) {
    let q = qdir(inst);
    let rec = DsnRecord {
        rcpt_index: Some(0),
        rcpt: rcpt.into(),
        orcpt: None,
        notify: queue::DsnNotify::NONE,
        orig: None,
        dsn: Dsn::new("4.4.1", reason),
        action: "delayed".into(),
        relay: "none".into(),
        time: 1_700_000_000,
    };
    dsn_log::append(&q, queue::DEFER, id, &rec).unwrap();
    give(inst, &q.path(queue::DEFER, id).unwrap());
}

/// Run `program -c <config> args...` (`sendmail -C <config> ...`).
fn tool(inst: &Instance, program: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(inst.bin().join(program));
    let flag = if program == "sendmail" { "-C" } else { "-c" };
    cmd.arg(flag)
        .arg(inst.config_dir())
        .args(args)
        .env_remove("MAIL_CONFIG");
    testkit::run::run(cmd, WAIT)
}

fn wait_showq(inst: &Instance) {
    testkit::wait_until(WAIT, || {
        inst.queue_dir().join("public/showq").exists().then_some(())
    })
    .expect("showq socket");
}

#[test]
fn postqueue_lists_the_queue_as_postfix_does() {
    let inst = with_showq();
    wait_showq(&inst);
    let r = tool(&inst, "postqueue", &["-p"]);
    r.assert_ok();
    assert_eq!(r.stdout, "Mail queue is empty\n");

    let d = message(
        &inst,
        queue::DEFERRED,
        "alice@example.com",
        &["bob@example.org", "carol@example.org"],
    );
    defer_reason(
        &inst,
        &d,
        "bob@example.org",
        "connect to example.org: Connection refused",
    );
    let h = message(&inst, queue::HOLD, "", &["eve@example.net"]);
    let r = tool(&inst, "postqueue", &["-p"]);
    r.assert_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------"
    );
    let pad = " ".repeat(47);
    let reason = "(connect to example.org: Connection refused)";
    let want_d = [
        format!("{:<16}  {:>8} ", d.as_str(), 27),
        format!("{:>78}", reason),
        format!("{pad}bob@example.org"),
        format!("{pad}carol@example.org"),
        String::new(),
    ];
    let want_h = [
        format!("{:<16}! {:>8} ", h.as_str(), 27),
        format!("{pad}eve@example.net"),
        String::new(),
    ];
    // deferred is listed before hold.
    assert!(
        lines[1].starts_with(&want_d[0]) && lines[1].ends_with(" alice@example.com"),
        "{}",
        r.stdout
    );
    assert_eq!(&lines[2..6], &want_d[1..]);
    assert!(
        lines[6].starts_with(&want_h[0]) && lines[6].ends_with(" MAILER-DAEMON"),
        "{}",
        r.stdout
    );
    assert_eq!(&lines[7..9], &want_h[1..]);
    assert_eq!(lines[9], "-- 0 Kbytes in 2 Requests.");

    let mailq = tool(&inst, "sendmail", &["-bp"]);
    mailq.assert_ok();
    assert_eq!(mailq.stdout, r.stdout, "sendmail -bp is postqueue -p");

    let j = tool(&inst, "postqueue", &["-j"]);
    j.assert_ok();
    let jl: Vec<&str> = j.stdout.lines().collect();
    assert_eq!(jl.len(), 2);
    assert!(
        jl[0].starts_with(&format!(
            "{{\"queue_name\": \"deferred\", \"queue_id\": \"{d}\", \"arrival_time\": "
        )),
        "{}",
        jl[0]
    );
    assert!(jl[0].contains("\"message_size\": 27, \"forced_expire\": false, \"sender\": \"alice@example.com\", \"recipients\": [{\"address\": \"bob@example.org\", \"delay_reason\": \"connect to example.org: Connection refused\"}, {\"address\": \"carol@example.org\"}]}"), "{}", jl[0]);
    assert!(
        jl[1].contains("\"queue_name\": \"hold\"")
            && jl[1].contains("\"sender\": \"MAILER-DAEMON\""),
        "{}",
        jl[1]
    );
}

#[test]
fn postsuper_holds_releases_requeues_and_deletes() {
    let inst = with_showq();
    let q = qdir(&inst);
    let a = message(&inst, queue::DEFERRED, "a@example.com", &["x@example.org"]);
    let b = message(&inst, queue::DEFERRED, "b@example.com", &["y@example.org"]);
    defer_reason(&inst, &a, "x@example.org", "try later");

    let r = tool(&inst, "postsuper", &["-h", a.as_str()]);
    r.assert_ok();
    assert_eq!(
        r.stderr,
        format!("postsuper: {a}: placed on hold\npostsuper: Placed on hold: 1 message\n")
    );
    assert_eq!(q.find(&a).unwrap().0, queue::HOLD);
    inst.wait_for_log(&format!("postfix/postsuper["), WAIT);

    let r = tool(&inst, "postsuper", &["-h", "ALL"]);
    assert_eq!(r.stderr, "postsuper: Placed on hold: 1 message\n");
    let r = tool(&inst, "postsuper", &["-H", "ALL"]);
    assert_eq!(r.stderr, "postsuper: Released from hold: 2 messages\n");
    assert_eq!(q.find(&a).unwrap().0, queue::DEFERRED);
    assert_eq!(q.find(&b).unwrap().0, queue::DEFERRED);
    inst.wait_for_log("wakeup: D", WAIT);

    let r = tool(&inst, "postsuper", &["-r", b.as_str()]);
    assert_eq!(
        r.stderr,
        format!("postsuper: {b}: requeued\npostsuper: Requeued: 1 message\n")
    );
    assert_eq!(q.find(&b).unwrap().0, queue::MAILDROP);
    inst.wait_for_log("wakeup: W", WAIT);

    let r = tool(&inst, "postsuper", &["-d", a.as_str(), "-d", "nosuchid"]);
    assert!(
        r.stderr.contains(&format!("postsuper: {a}: removed\n")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.ends_with("postsuper: Deleted: 1 message\n"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("invalid"), "{}", r.stderr);
    assert!(q.find(&a).is_none());
    assert!(
        !q.path(queue::DEFER, &a).unwrap().exists(),
        "the defer log goes too"
    );
    let r = tool(&inst, "postsuper", &["-d", "../x"]);
    assert_eq!(
        r.stderr,
        "postsuper: warning: invalid mail queue id: ../x\npostsuper: Deleted: 0 messages\n"
    );

    let r = tool(&inst, "postsuper", &["-d", "ALL", "maildrop"]);
    assert_eq!(r.stderr, "postsuper: Deleted: 1 message\n");
    assert!(q.find(&b).is_none());
    let r = tool(&inst, "postsuper", &["-d", "ALL", "nosuchqueue"]);
    assert!(
        !r.success() && r.stderr.contains("invalid directory name: nosuchqueue"),
        "{r}"
    );
}

#[test]
fn postqueue_f_triggers_qmgr_and_postcat_shows_the_file() {
    let inst = with_showq();
    let r = tool(&inst, "postqueue", &["-f"]);
    r.assert_ok();
    inst.wait_for_log("wakeup: A", WAIT);
    let r = tool(&inst, "sendmail", &["-q"]);
    r.assert_ok();

    let id = message(&inst, queue::DEFERRED, "a@example.com", &["x@example.org"]);
    let r = tool(&inst, "postcat", &["-q", id.as_str()]);
    r.assert_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    // Named with its hash subdirectory, as Postfix's postcat does.
    let path = qdir(&inst).path(queue::DEFERRED, &id).unwrap();
    let name = path
        .strip_prefix(inst.queue_dir())
        .unwrap()
        .display()
        .to_string();
    assert_eq!(name.matches('/').count(), 2, "{name}");
    assert_eq!(lines[0], format!("*** ENVELOPE RECORDS {name} ***"));
    assert!(lines.contains(&"sender: a@example.com"));
    assert!(lines.contains(&"recipient: x@example.org"));
    let contents = lines
        .iter()
        .position(|l| l.starts_with("*** MESSAGE CONTENTS"))
        .unwrap();
    assert_eq!(
        &lines[contents + 1..contents + 4],
        ["Subject: test", "", "hello world"]
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!("*** MESSAGE FILE END {name} ***")
    );
    let r = tool(&inst, "postcat", &["-h", "-q", id.as_str()]);
    assert_eq!(r.stdout, "Subject: test\n");
    let r = tool(&inst, "postcat", &["-q", "4jd59W6HTrz1T1Dx"]);
    assert!(
        !r.success()
            && r.stderr
                .contains("open queue file 4jd59W6HTrz1T1Dx: No such file or directory"),
        "{r}"
    );
    let r = tool(&inst, "postcat", &["-q", "../../x"]);
    assert!(!r.success(), "{r}");
    assert_eq!(r.stderr, "postcat: fatal: bad mail queue ID: ../../x\n");
    // A file that is not a queue file is not dumped.
    let r = tool(&inst, "postcat", &["/etc/passwd"]);
    assert!(r.success(), "{r}");
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "postcat: warning: /etc/passwd: input is not a valid queue file\n"
    );
}

#[test]
fn postqueue_reads_the_queue_directly_when_showq_is_down() {
    let inst = Instance::builder().start();
    let id = message(&inst, queue::ACTIVE, "a@example.com", &["x@example.org"]);
    let r = tool(&inst, "postqueue", &["-p"]);
    r.assert_ok();
    assert!(
        r.stderr
            .contains("postqueue: warning: Mail system is down -- accessing queue directly"),
        "{r}"
    );
    assert!(
        r.stdout.contains(&format!("{}*", id.as_str())),
        "active is marked *: {r}"
    );
    let r = tool(&inst, "postqueue", &["-f"]);
    assert_eq!(r.code, Some(69), "{r}");
    assert!(
        r.stderr
            .contains("Cannot flush mail queue - mail system is down"),
        "{r}"
    );
}

#[test]
fn postqueue_needs_the_queue_directory_and_says_what_s_does() {
    let inst = with_showq();
    let r = tool(&inst, "postqueue", &["-s", "example.org"]);
    r.assert_ok();
    assert!(
        r.stderr.contains(
            "postqueue: warning: no fast flush service: delivering all deferred mail, not only mail for example.org"
        ),
        "{r}"
    );
    inst.wait_for_log("wakeup: A", WAIT);
    inst.stop();
    let queue = inst.queue_dir();
    let moved = queue.with_extension("moved");
    std::fs::rename(&queue, &moved).unwrap();
    let r = tool(&inst, "postqueue", &["-p"]);
    std::fs::rename(&moved, &queue).unwrap();
    assert_eq!(r.code, Some(69), "{r}");
    assert_eq!(
        r.stderr,
        format!(
            "postqueue: fatal: chdir {}: No such file or directory\n",
            queue.display()
        )
    );
}
