//! System tests of `postsuper -e`/`-f` (forced expiration) and of what
//! `postsuper -r` keeps, on a real instance with the mail pipeline as
//! Postfix ships it plus smtp(8). Mail for remote domains goes to a
//! relayhost on a loopback port where nothing listens (or, for the
//! active-queue case, a listener that never greets), so it is deferred;
//! the default backoff keeps it in `deferred` until the test acts. The
//! senders are local test users with a Maildir, so the tests read the
//! returned mail as the sender would, with `postqueue -p` and the maillog.
//! They need root (local delivery runs as the user); without root each
//! test says why it is skipped.
use queue::{QueueDir, QueueId, QueueWriter, Recipient};
use std::net::TcpListener;
use std::time::Duration;
use testkit::{test_user, wait_until, Instance, Run, TestUser};

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "mail.test.example";

fn user(name: &str) -> Option<TestUser> {
    let u = test_user(name);
    if u.is_none() {
        eprintln!("skipped: delivery to local users needs root");
    }
    u
}

fn instance(relay_port: u16, extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .main_cf(&format!(
            "myhostname = {HOST}\nmydomain = test.example\n\
             mydestination = $myhostname, localhost\nalias_maps =\n\
             inet_protocols = ipv4\nrelayhost = [127.0.0.1]:{relay_port}\n\
             home_mailbox = Maildir/\nservice_throttle_time = 1s\n{extra}"
        ))
        .start()
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

fn tool(inst: &Instance, program: &str, args: &[&str]) -> Run {
    inst.run_program(program, args, b"")
}

/// Submit a message from `sender` to `rcpt`; returns its queue ID, read
/// from the first delivery attempt's log line.
fn submit_deferred(inst: &Instance, sender: &str, rcpt: &str, subject: &str) -> QueueId {
    let msg = format!("From: {sender}\nTo: {rcpt}\nSubject: {subject}\n\nbody\n");
    inst.sendmail(&["-f", sender, rcpt], &msg).assert_ok();
    let line = inst.wait_for_log(&format!("to=<{rcpt}>, relay="), WAIT);
    assert!(line.contains("status=deferred"), "{line}");
    queue_id_of(&line)
}

/// The queue ID of a log line `... postfix/x[pid]: ID: ...`.
fn queue_id_of(line: &str) -> QueueId {
    let rest = line.split("]: ").nth(1).expect("program[pid]: ");
    QueueId::parse(rest.split(':').next().unwrap()).expect("queue ID")
}

/// Wait until `f` finds `needle` in the text it returns.
fn wait_text(what: &str, needle: &str, f: impl Fn() -> String) -> String {
    wait_until(WAIT, || {
        let t = f();
        t.contains(needle).then_some(t)
    })
    .unwrap_or_else(|| panic!("{what}: {needle:?} did not appear:\n{}", f()))
}

/// The `postqueue -p` line of message `id`.
fn mailq_line(inst: &Instance, id: &QueueId) -> String {
    let r = tool(inst, "postqueue", &["-p"]);
    r.assert_ok();
    r.stdout
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .unwrap_or_else(|| panic!("{id} not listed:\n{}", r.stdout))
        .to_string()
}

/// Wait for qmgr's `ID: from=<sender>, status=force-expired, returned to
/// sender` and for the non-delivery notification in `sender`'s Maildir;
/// returns the Maildir's text.
fn returned(inst: &Instance, id: &QueueId, sender: &TestUser) -> String {
    inst.wait_for_log(
        &format!(
            "{id}: from=<{}@{HOST}>, status=force-expired, returned to sender",
            sender.name
        ),
        WAIT,
    );
    wait_text("DSN in the sender's Maildir", "Action: failed", || {
        sender.maildir_text()
    })
}

fn wait_gone(inst: &Instance, id: &QueueId) {
    let q = qdir(inst);
    wait_until(WAIT, || q.find(id).is_none().then_some(()))
        .unwrap_or_else(|| panic!("{id} still queued\n{}", inst.log()));
}

#[test]
fn e_returns_a_deferred_message_with_its_delay_reason() {
    let Some(u) = user("xe1") else { return };
    let inst = instance(testkit::ports::free_port(), "");
    let sender = format!("{}@{HOST}", u.name);
    let id = submit_deferred(&inst, &sender, "far@remote.example", "expire-me");
    let q = qdir(&inst);
    wait_until(WAIT, || (q.find(&id)?.0 == queue::DEFERRED).then_some(()))
        .expect("the message is deferred");
    let before = mailq_line(&inst, &id);
    assert!(before.starts_with(&format!("{id} ")), "{before}");

    let r = tool(&inst, "postsuper", &["-e", id.as_str()]);
    r.assert_ok();
    assert_eq!(
        r.stderr,
        format!("postsuper: {id}: expired\npostsuper: Force-expired: 1 message\n")
    );
    inst.wait_for_log(&format!("postfix/postsuper["), WAIT);
    assert!(inst.log().contains(&format!("postsuper[")), "logged");
    assert!(
        mailq_line(&inst, &id).starts_with(&format!("{id}# ")),
        "marked in the listing"
    );
    // Asking again changes nothing.
    let r = tool(&inst, "postsuper", &["-e", "ALL"]);
    assert_eq!(r.stderr, "postsuper: Force-expired: 0 messages\n");

    // The next attempt (here: now) returns it instead of trying it.
    tool(&inst, "postqueue", &["-f"]).assert_ok();
    let dsn = returned(&inst, &id, &u);
    assert!(
        dsn.contains("Final-Recipient: rfc822; far@remote.example"),
        "{dsn}"
    );
    assert!(
        dsn.contains("Connection refused"),
        "the delay reason: {dsn}"
    );
    assert!(dsn.contains("Subject: expire-me"), "{dsn}");
    wait_gone(&inst, &id);
    let attempts = inst
        .log()
        .matches(&format!("{id}: to=<far@remote.example>"))
        .count();
    assert_eq!(attempts, 1, "no delivery attempt after the mark");
}

#[test]
fn e_keeps_a_held_message_and_f_releases_and_returns_it() {
    let Some(u) = user("xf1") else { return };
    let inst = instance(testkit::ports::free_port(), "");
    let sender = format!("{}@{HOST}", u.name);
    let held = submit_deferred(&inst, &sender, "one@remote.example", "held");
    let other = submit_deferred(&inst, &sender, "two@remote.example", "other");
    let q = qdir(&inst);
    wait_until(WAIT, || {
        (q.find(&held)?.0 == queue::DEFERRED && q.find(&other)?.0 == queue::DEFERRED).then_some(())
    })
    .expect("both deferred");
    tool(&inst, "postsuper", &["-h", held.as_str()]).assert_ok();
    let r = tool(&inst, "postsuper", &["-e", held.as_str()]);
    assert_eq!(
        r.stderr,
        format!("postsuper: {held}: expired\npostsuper: Force-expired: 1 message\n")
    );
    assert!(
        mailq_line(&inst, &held).starts_with(&format!("{held}!# ")),
        "held and marked"
    );
    // A queue flush retries `other` but leaves the held message alone.
    tool(&inst, "postqueue", &["-f"]).assert_ok();
    wait_until(WAIT, || {
        (inst
            .log()
            .matches(&format!("{other}: to=<two@remote.example>"))
            .count()
            >= 2)
            .then_some(())
    })
    .expect("second attempt of the other message");
    assert_eq!(q.find(&held).unwrap().0, queue::HOLD);
    assert!(!inst.log().contains("force-expired"), "{}", inst.log());

    let r = tool(&inst, "postsuper", &["-f", held.as_str()]);
    r.assert_ok();
    assert_eq!(
        r.stderr,
        format!(
            "postsuper: {held}: released from hold\npostsuper: Force-expired: 0 messages\n\
             postsuper: Released from hold: 1 message\n"
        )
    );
    // Released with its time reset, it is due at once: no flush needed.
    let dsn = returned(&inst, &held, &u);
    assert!(dsn.contains("rfc822; one@remote.example"), "{dsn}");
    assert!(!dsn.contains("two@remote.example"), "{dsn}");
    wait_gone(&inst, &held);
    assert_eq!(q.find(&other).unwrap().0, queue::DEFERRED, "untouched");
}

/// Write a message that was never tried straight into `hold`, owned by
/// mail_owner, as cleanup would have made it and `postsuper -h` moved it.
fn held_message(inst: &Instance, sender: &str, rcpt: &str, attrs: &[(&str, &str)]) -> QueueId {
    let q = qdir(inst);
    let mut w = QueueWriter::create(&q, queue::INCOMING).unwrap();
    w.set_sender(sender).unwrap();
    for (n, v) in attrs {
        w.add_attr(n, v).unwrap();
    }
    w.add_recipient(&Recipient::new(rcpt)).unwrap();
    w.write_content(format!("From: {sender}\nSubject: never-tried\n\nbody\n").as_bytes())
        .unwrap();
    let id = w.commit().unwrap();
    let path = q.rename(&id, queue::INCOMING, queue::HOLD).unwrap();
    let owner = nix::unistd::User::from_name(inst.mail_owner())
        .unwrap()
        .unwrap();
    nix::unistd::chown(&path, Some(owner.uid), Some(owner.gid)).unwrap();
    id
}

#[test]
fn f_of_a_never_tried_message_says_administratively_expired() {
    let Some(u) = user("xa1") else { return };
    let inst = instance(testkit::ports::free_port(), "");
    let sender = format!("{}@{HOST}", u.name);
    let id = held_message(&inst, &sender, "far@remote.example", &[]);
    let r = tool(&inst, "postsuper", &["-f", "ALL"]);
    r.assert_ok();
    assert_eq!(
        r.stderr,
        "postsuper: Force-expired: 1 message\npostsuper: Released from hold: 1 message\n"
    );
    let line = inst.wait_for_log(&format!("{id}: to=<far@remote.example>"), WAIT);
    assert!(
        line.contains("relay=none")
            && line.contains("dsn=4.7.0, status=deferred (message is administratively expired)"),
        "{line}"
    );
    let dsn = returned(&inst, &id, &u);
    assert!(dsn.contains("Status: 4.7.0"), "{dsn}");
    assert!(dsn.contains("message is administratively expired"), "{dsn}");
    assert!(
        !inst.log().contains("relay=127.0.0.1"),
        "no delivery was tried"
    );
    wait_gone(&inst, &id);
}

#[test]
fn e_of_a_message_being_delivered_returns_it_after_the_attempt() {
    let Some(u) = user("xc1") else { return };
    // A relay that accepts the connection and never greets: the
    // delivery attempt lasts until the test closes the connection.
    let relay = TcpListener::bind("127.0.0.1:0").unwrap();
    let inst = instance(relay.local_addr().unwrap().port(), "");
    let sender = format!("{}@{HOST}", u.name);
    let msg = format!("From: {sender}\nSubject: in-flight\n\nbody\n");
    inst.sendmail(&["-f", &sender, "busy@remote.example"], &msg)
        .assert_ok();
    let (conn, _) = relay.accept().unwrap();
    let line = inst.wait_for_log("(queue active)", WAIT);
    let id = queue_id_of(&line);
    assert!(
        mailq_line(&inst, &id).starts_with(&format!("{id}* ")),
        "being delivered"
    );
    let r = tool(&inst, "postsuper", &["-e", id.as_str()]);
    assert_eq!(
        r.stderr,
        format!("postsuper: {id}: expired\npostsuper: Force-expired: 1 message\n")
    );
    assert!(mailq_line(&inst, &id).starts_with(&format!("{id}*# ")));
    drop(conn);
    let line = inst.wait_for_log(&format!("{id}: to=<busy@remote.example>"), WAIT);
    assert!(line.contains("status=deferred"), "{line}");
    let dsn = returned(&inst, &id, &u);
    assert!(dsn.contains("rfc822; busy@remote.example"), "{dsn}");
    wait_gone(&inst, &id);
}

#[test]
fn r_gives_the_message_the_content_filter_of_new_local_mail() {
    let Some(u) = user("xr1") else { return };
    // The old filter and redirect point where nothing listens; after
    // -r the message is delivered as new local mail is (no content_filter).
    let dead = testkit::ports::free_port();
    let inst = instance(dead, "");
    let rcpt = format!("{}@{HOST}", u.name);
    let filter = format!("smtp:[127.0.0.1]:{dead}");
    let id = held_message(
        &inst,
        "someone@elsewhere.example",
        &rcpt,
        &[("filter", &filter), ("redirect", "far@remote.example")],
    );
    let r = tool(&inst, "postsuper", &["-r", id.as_str()]);
    assert_eq!(
        r.stderr,
        format!("postsuper: {id}: requeued\npostsuper: Requeued: 1 message\n")
    );
    let line = inst.wait_for_log(&format!("orig_id={id}"), WAIT);
    let new = queue_id_of(&line);
    let text = wait_text("the recipient's Maildir", "Subject: never-tried", || {
        u.maildir_text()
    });
    assert!(text.contains(&format!("Delivered-To: {rcpt}")), "{text}");
    let delivered = inst.wait_for_log(&format!("{new}: to=<{rcpt}>"), WAIT);
    assert!(delivered.contains("status=sent"), "{delivered}");
    assert!(
        !inst.log().contains("to=<far@remote.example>"),
        "the redirect is gone\n{}",
        inst.log()
    );
}
