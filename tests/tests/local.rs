//! System tests of local(8) on a real instance: master runs the `local`
//! service; the tests write a queue file with the `queue` crate and send
//! a hand-built delivery request to `private/local`, as qmgr does, then
//! check the reply, the mailboxes and the log. They need root (local
//! delivers as the recipients) and create dedicated users
//! `postern-t-*` with homes under /tmp; without root they are skipped
//! with a message.
use deliver::{DeliveryRequest, RequestRecipient};
use queue::{QueueDir, QueueWriter, Recipient};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};
use testkit::Instance;

const HOMES: &str = "/tmp/postern-test-homes";

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Create user `name` with home `HOMES/name` (idempotent); returns the home.
fn user(name: &str) -> PathBuf {
    let home = Path::new(HOMES).join(name);
    std::fs::create_dir_all(HOMES).unwrap();
    let _ = Command::new("useradd")
        .args(["-M", "-d", home.to_str().unwrap(), "-s", "/bin/sh", name])
        .stderr(std::process::Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let u = nix::unistd::User::from_name(name)
        .unwrap()
        .expect("useradd made the user");
    nix::unistd::chown(&home, Some(u.uid), Some(u.gid)).unwrap();
    home
}

struct Setup {
    inst: Instance,
    spool: tempfile::TempDir,
}

fn start(extra: &str) -> Setup {
    setup(
        Instance::builder().master_cf_line("local unix - n n - - local"),
        extra,
    )
}

/// The mail pipeline with `extra` main.cf lines.
fn pipeline(extra: &str) -> Setup {
    setup(
        Instance::builder().mail_pipeline(),
        &format!("service_throttle_time = 1s\n{extra}"),
    )
}

/// The main.cf lines of every test: local domains, no aliases, `spool`.
fn base_main_cf(spool: &Path) -> String {
    format!(
        "myhostname = test.example\nmydestination = $myhostname, localhost\n\
         mail_spool_directory = {}\nalias_maps =\n",
        spool.display()
    )
}

/// Start `builder` with mailboxes under a fresh spool directory.
fn setup(builder: testkit::Builder, extra: &str) -> Setup {
    let spool = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        spool.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let inst = builder
        .main_cf(&format!("{}{extra}", base_main_cf(spool.path())))
        .start();
    Setup { inst, spool }
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

/// Queue a message in `active` and send a delivery request for `rcpts`.
fn deliver(
    inst: &Instance,
    sender: &str,
    rcpts: &[&str],
    content: &str,
) -> (String, deliver::AgentReply) {
    let q = qdir(inst);
    let mut w = QueueWriter::create(&q, queue::ACTIVE).expect("create queue file");
    w.set_sender(sender).unwrap();
    for r in rcpts {
        w.add_recipient(&Recipient::new(r)).unwrap();
    }
    w.write_content(content.as_bytes()).unwrap();
    let id = w.commit().unwrap();
    let req = DeliveryRequest {
        queue_name: queue::ACTIVE.into(),
        queue_id: id.clone(),
        transport: "local".into(),
        nexthop: "test.example".into(),
        sender: sender.into(),
        envid: None,
        ret: None,
        arrival: SystemTime::now(),
        active: SystemTime::now(),
        flags: 0,
        recipients: rcpts
            .iter()
            .enumerate()
            .map(|(i, r)| RequestRecipient {
                index: i,
                address: (*r).into(),
                orcpt: None,
                notify: queue::DsnNotify::NONE,
                orig: Some((*r).into()),
            })
            .collect(),
    };
    let sock = inst.queue_dir().join("private/local");
    let mut s = testkit::wait_until(Duration::from_secs(20), || UnixStream::connect(&sock).ok())
        .expect("connect to private/local");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let reply = deliver::send_request(&mut s, &req).expect("delivery reply");
    (id.as_str().to_string(), reply)
}

/// Build the lmdb table of aliases(5) file `aliases` with postalias.
fn postalias(inst: &Instance, aliases: &Path) {
    let st = Command::new(inst.bin().join("postalias"))
        .arg("-c")
        .arg(inst.config_dir())
        .arg(format!("lmdb:{}", aliases.display()))
        .status()
        .unwrap();
    assert!(st.success());
}

macro_rules! need_root {
    () => {
        if !is_root() {
            eprintln!("skipped: local(8) system tests need root");
            return;
        }
    };
}

#[test]
fn mbox_and_unknown_user() {
    need_root!();
    user("postern-t-mbox");
    let s = start("");
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["postern-t-mbox@test.example", "nosuchuser@test.example"],
        "Subject: mbox test\n\nFrom the body\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    let mbox = std::fs::read_to_string(s.spool.path().join("postern-t-mbox")).unwrap();
    assert!(mbox.starts_with("From sender@example.org  "), "{mbox}");
    assert!(
        mbox.contains(
            "Delivered-To: postern-t-mbox@test.example\nSubject: mbox test\n\n>From the body\n\n"
        ),
        "{mbox}"
    );
    let meta = std::fs::metadata(s.spool.path().join("postern-t-mbox")).unwrap();
    let u = nix::unistd::User::from_name("postern-t-mbox")
        .unwrap()
        .unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), u.uid.as_raw());
    s.inst.wait_for_log(
        &format!("{id}: to=<postern-t-mbox@test.example>, relay=local, delay="),
        Duration::from_secs(20),
    );
    let line = s.inst.wait_for_log(
        "status=bounced (unknown user: \"nosuchuser\")",
        Duration::from_secs(20),
    );
    assert!(line.contains("dsn=5.1.1"), "{line}");
    let log = s.inst.log();
    assert!(log.contains("status=sent (delivered to mailbox)"), "{log}");
    let bounce_log = std::fs::read_to_string(
        qdir(&s.inst)
            .path(queue::BOUNCE, &queue::QueueId::parse(&id).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        bounce_log.contains("rcpt=nosuchuser@test.example"),
        "{bounce_log}"
    );
    assert!(bounce_log.contains("dsn_status=5.1.1"), "{bounce_log}");
}

#[test]
fn maildir_delivery_as_the_user() {
    need_root!();
    let home = user("postern-t-md");
    let s = start("home_mailbox = Maildir/\n");
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["postern-t-md@test.example"],
        "Subject: md\n\nhi\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    s.inst.wait_for_log(
        &format!("{id}: to=<postern-t-md@test.example>"),
        Duration::from_secs(20),
    );
    let new: Vec<_> = std::fs::read_dir(home.join("Maildir/new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(new.len(), 1);
    let name = new[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.contains(".V") && name.contains('I') && name.ends_with(".test.example"),
        "{name}"
    );
    let text = std::fs::read_to_string(&new[0]).unwrap();
    assert!(
        text.starts_with("Return-Path: <sender@example.org>\n"),
        "{text}"
    );
    let u = nix::unistd::User::from_name("postern-t-md")
        .unwrap()
        .unwrap();
    let meta = std::fs::metadata(&new[0]).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), u.uid.as_raw());
    assert!(s.inst.log().contains("status=sent (delivered to maildir)"));
}

#[test]
fn alias_to_two_users_and_a_command() {
    need_root!();
    user("postern-t-a1");
    user("postern-t-a2");
    let out = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        out.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let aliases_dir = tempfile::tempdir().unwrap();
    let aliases = aliases_dir.path().join("aliases");
    let outfile = out.path().join("cmd-out");
    std::fs::write(
        &aliases,
        format!(
            "team: postern-t-a1, postern-t-a2, \"|cat > {}\"\n",
            outfile.display()
        ),
    )
    .unwrap();
    let s = start(&format!("alias_maps = lmdb:{}\n", aliases.display()));
    postalias(&s.inst, &aliases);
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["team@test.example"],
        "Subject: team\n\nhello team\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    s.inst.wait_for_log(
        "status=sent (delivered to command: cat > ",
        Duration::from_secs(20),
    );
    let log = s.inst.log();
    assert!(
        log.contains(&format!(
            "{id}: to=<postern-t-a1@test.example>, orig_to=<team@test.example>, relay=local"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "{id}: to=<postern-t-a2@test.example>, orig_to=<team@test.example>, relay=local"
        )),
        "{log}"
    );
    for u in ["postern-t-a1", "postern-t-a2"] {
        let m = std::fs::read_to_string(s.spool.path().join(u)).unwrap();
        assert!(m.contains("X-Original-To: team@test.example\n"), "{m}");
        assert!(m.contains("hello team"), "{m}");
    }
    let got = std::fs::read_to_string(&outfile).unwrap();
    assert!(
        got.contains("Delivered-To: team@test.example\nSubject: team\n\nhello team\n"),
        "{got}"
    );
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let meta = std::fs::metadata(&outfile).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta),
        nobody.uid.as_raw()
    );
    // The recipient is done: the queue file has no pending recipient left.
    let qf = queue::QueueFile::open_readonly(
        &qdir(&s.inst),
        queue::ACTIVE,
        &queue::QueueId::parse(&id).unwrap(),
    )
    .unwrap();
    assert_eq!(qf.envelope().pending().count(), 0);
}

#[test]
fn new_aliases_are_used_by_the_very_next_delivery() {
    need_root!();
    user("postern-t-al1");
    let dir = tempfile::tempdir().unwrap();
    let aliases = dir.path().join("aliases");
    let s = start(&format!("alias_maps = lmdb:{}\n", aliases.display()));
    let rebuild = |text: &str| {
        std::fs::write(&aliases, text).unwrap();
        postalias(&s.inst, &aliases);
    };
    rebuild("old: postern-t-al1\n");
    let (_, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["old@test.example"],
        "Subject: 1\n\none\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    s.inst
        .wait_for_log("orig_to=<old@test.example>", Duration::from_secs(20));
    // The same local process serves the next request: it must see the
    // new table at once.
    rebuild("old: postern-t-al1\nnew: postern-t-al1\n");
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["new@test.example"],
        "Subject: 2\n\ntwo\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    let line = s.inst.wait_for_log(
        &format!("{id}: to=<postern-t-al1@test.example>"),
        Duration::from_secs(20),
    );
    assert!(line.contains("status=sent"), "{line}");
    let log = s.inst.log();
    assert!(!log.contains("unknown user: \"new\""), "{log}");
    assert!(
        log.contains(&format!(
            "table lmdb:{} has changed -- restarting",
            aliases.display()
        )),
        "{log}"
    );
}

/// mailbox_command is not subject to $name expansion (postconf(5)): the
/// shell sees `$EXTENSION`, `$HOME`, ... and expands them from the
/// environment local(8) sets; postconf does not warn about them.
#[test]
fn mailbox_command_reaches_the_shell_unexpanded() {
    need_root!();
    let home = user("postern-t-mbc");
    let out = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        out.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let outfile = out.path().join("mbcmd.out");
    let cmd = format!(
        "echo \"ext=$EXTENSION home=$HOME user=$USER local=${{LOCAL}}\" > {}",
        outfile.display()
    );
    let s = start(&format!(
        "recipient_delimiter = +\nmailbox_command = {cmd}\n"
    ));
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["postern-t-mbc+list@test.example"],
        "Subject: cmd\n\nhello\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    let line = s.inst.wait_for_log(
        &format!("{id}: to=<postern-t-mbc+list@test.example>"),
        Duration::from_secs(20),
    );
    assert!(
        line.contains(&format!("status=sent (delivered to command: {cmd})")),
        "{line}"
    );
    let got = std::fs::read_to_string(&outfile).unwrap();
    assert_eq!(
        got,
        format!(
            "ext=list home={} user=postern-t-mbc local=postern-t-mbc+list\n",
            home.display()
        )
    );
    let run = s.inst.postconf(&["-n"]);
    assert!(run.success(), "{run:?}");
    assert!(
        !run.stderr.contains("undefined parameter"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains(&format!("mailbox_command = {cmd}")),
        "{}",
        run.stdout
    );
}

/// A non-zero mailbox_size_limit below message_size_limit is a fatal
/// configuration error of local(8), as in Postfix: nothing is bounced,
/// the mail stays queued until the configuration is fixed.
#[test]
fn mailbox_limit_below_message_limit_keeps_mail_queued() {
    need_root!();
    user("postern-t-lim");
    let mut s = pipeline("mailbox_size_limit = 1000\nmessage_size_limit = 2000\n");
    s.inst
        .sendmail(
            &["-f", "sender@test.example", "postern-t-lim@test.example"],
            "Subject: limit\n\nsmall\n",
        )
        .assert_ok();
    let line = s.inst.wait_for_log(
        "fatal: configuration error: mailbox_size_limit is smaller than message_size_limit",
        Duration::from_secs(60),
    );
    assert!(line.contains("local["), "{line}");
    // Nothing bounced: the message is still in the queue.
    assert!(!s.inst.log().contains("status=bounced"), "{}", s.inst.log());
    let q = s.inst.run_program("postqueue", &["-p"], b"");
    assert!(q.stdout.contains("postern-t-lim@test.example"), "{q:?}");
    // Fixed configuration: the mail is delivered on the next attempt.
    s.inst.set_main_cf(&base_main_cf(s.spool.path()));
    s.inst.reload();
    s.inst.wait_for_log(
        "status=sent (delivered to mailbox)",
        Duration::from_secs(120),
    );
    let m = std::fs::read_to_string(s.spool.path().join("postern-t-lim")).unwrap();
    assert!(m.contains("Subject: limit"), "{m}");
}

/// The messages of mbox file `path`, split at `From ` lines.
fn mbox_messages(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split("\nFrom ")
        .filter(|m| !m.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// DSN NOTIFY=SUCCESS (sendmail -N success): a final local delivery is
/// reported `Action: delivered`, an alias expanding to two users once as
/// `Action: expanded` (its members report nothing more), as Postfix does.
#[test]
fn notify_success_sends_a_delivery_report() {
    need_root!();
    user("postern-t-dsn1");
    user("postern-t-dsn2");
    user("postern-t-dsns");
    let dir = tempfile::tempdir().unwrap();
    let aliases = dir.path().join("aliases");
    std::fs::write(&aliases, "pair: postern-t-dsn1, postern-t-dsn2\n").unwrap();
    let s = pipeline(&format!("alias_maps = lmdb:{}\n", aliases.display()));
    postalias(&s.inst, &aliases);
    let sender = "postern-t-dsns@test.example";
    for (to, subject) in [
        ("postern-t-dsn1@test.example", "one"),
        ("pair@test.example", "two"),
    ] {
        s.inst
            .sendmail(
                &["-f", sender, "-N", "success", to],
                &format!("Subject: {subject}\n\nhello\n"),
            )
            .assert_ok();
    }
    let inbox = s.spool.path().join("postern-t-dsns");
    let reports = testkit::wait_until(Duration::from_secs(60), || {
        let m = mbox_messages(&inbox);
        (m.len() >= 2).then_some(m)
    })
    .unwrap_or_else(|| panic!("no two reports in {inbox:?}\n{}", s.inst.log()));
    let one = reports.iter().find(|m| m.contains("Subject: one")).unwrap();
    assert!(
        one.contains("Subject: Successful Mail Delivery Report"),
        "{one}"
    );
    assert!(
        one.contains(
            "Final-Recipient: rfc822; postern-t-dsn1@test.example\n\
             Original-Recipient: rfc822;postern-t-dsn1@test.example\n\
             Action: delivered\nStatus: 2.0.0\n\
             Diagnostic-Code: X-Postfix; delivery via local: delivered to mailbox\n"
        ),
        "{one}"
    );
    let two = reports.iter().find(|m| m.contains("Subject: two")).unwrap();
    assert!(
        two.contains(
            "Final-Recipient: rfc822; pair@test.example\n\
             Original-Recipient: rfc822;pair@test.example\n\
             Action: expanded\nStatus: 2.0.0\n\
             Diagnostic-Code: X-Postfix; delivery via local: alias expanded\n"
        ),
        "{two}"
    );
    assert!(!two.contains("Action: delivered"), "{two}");
    let log = s.inst.log();
    assert_eq!(
        log.matches("sender delivery status notification: ").count(),
        2,
        "{log}"
    );
    for u in ["postern-t-dsn1", "postern-t-dsn2"] {
        let m = std::fs::read_to_string(s.spool.path().join(u)).unwrap();
        assert!(m.contains("Subject: two"), "{m}");
    }
}

/// A file destination that cannot be created bounces with 5.2.0 and
/// Postfix's text instead of being retried.
#[test]
fn unwritable_file_destination_bounces() {
    need_root!();
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let target = locked.join("file");
    let aliases = dir.path().join("aliases");
    std::fs::write(&aliases, format!("tofile: {}\n", target.display())).unwrap();
    let s = start(&format!("alias_maps = lmdb:{}\n", aliases.display()));
    postalias(&s.inst, &aliases);
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["tofile@test.example"],
        "Subject: f\n\nbody\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    let line = s.inst.wait_for_log(
        &format!("{id}: to=<tofile@test.example>"),
        Duration::from_secs(20),
    );
    assert!(
        line.contains(&format!(
            "dsn=5.2.0, status=bounced (cannot append message to file {}: \
             cannot create file exclusively: Permission denied)",
            target.display()
        )),
        "{line}"
    );
    assert!(!target.exists());
}

/// An alias table that cannot be opened: the reason is logged once when
/// local starts, each lookup logs Postfix's `TABLE: lookup of 'KEY'
/// failed`, and the mail is deferred.
#[test]
fn broken_alias_table_warns_once_per_cause() {
    need_root!();
    user("postern-t-brk");
    let s = start("alias_maps = hash:/nonexistent/aliases\n");
    let (id, reply) = deliver(
        &s.inst,
        "sender@example.org",
        &["postern-t-brk@test.example"],
        "Subject: x\n\nb\n",
    );
    assert_eq!(reply.status, 0, "{reply:?}");
    let line = s.inst.wait_for_log(
        &format!("{id}: to=<postern-t-brk@test.example>"),
        Duration::from_secs(20),
    );
    assert!(
        line.contains("status=deferred (alias database unavailable)"),
        "{line}"
    );
    let log = s.inst.log();
    assert_eq!(
        log.matches("warning: alias_maps: hash:/nonexistent/aliases: ")
            .count(),
        1,
        "{log}"
    );
    assert_eq!(
        log.matches("warning: hash:/nonexistent/aliases: lookup of 'postern-t-brk' failed")
            .count(),
        1,
        "{log}"
    );
}
