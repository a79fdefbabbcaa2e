//! End-to-end tests of the mail pipeline on a real instance (issue 3):
//! `sendmail` -> postdrop -> maildrop -> pickup -> cleanup -> incoming ->
//! qmgr -> local / error / bounce, with the master.cf lines Postfix ships.
//! They deliver to dedicated users (`postern-t-*`), so they need root;
//! without root each test prints why it is skipped.
use std::time::Duration;
use testkit::{test_user, wait_until, Instance, TestUser};

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "mail.test.example";

fn pipeline(extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .main_cf(&format!(
            "myhostname = {HOST}\nmydomain = test.example\n\
             mydestination = $myhostname, localhost.$mydomain, localhost\n\
             alias_maps =\nservice_throttle_time = 1s\n{extra}"
        ))
        .start()
}

fn users(names: &[&str]) -> Option<Vec<TestUser>> {
    let out: Option<Vec<TestUser>> = names.iter().map(|n| test_user(n)).collect();
    if out.is_none() {
        eprintln!("skipped: delivery to local users needs root");
    }
    out
}

fn message(to: &str, subject: &str) -> String {
    format!("From: Sender <sender@{HOST}>\nTo: {to}\nSubject: {subject}\n\nbody of {subject}\n")
}

/// Wait until `f` finds `needle` in the text it returns.
fn wait_text(what: &str, needle: &str, f: impl Fn() -> String) -> String {
    wait_until(WAIT, || {
        let t = f();
        t.contains(needle).then_some(t)
    })
    .unwrap_or_else(|| {
        panic!(
            "{what}: {needle:?} did not appear within {WAIT:?}:\n{}",
            f()
        )
    })
}

#[test]
fn sendmail_t_delivers_to_maildir() {
    let Some(u) = users(&["pm1"]) else { return };
    let inst = pipeline("home_mailbox = Maildir/\n");
    let to = format!("{}@{HOST}", u[0].name);
    inst.sendmail(
        &["-t", "-f", &format!("sender@{HOST}")],
        &message(&to, "to-maildir"),
    )
    .assert_ok();
    let text = wait_text("Maildir", "Subject: to-maildir", || u[0].maildir_text());
    assert!(text.contains(&format!("Delivered-To: {to}")), "{text}");
    assert!(
        text.contains("Message-Id: <") || text.contains("Message-ID: <"),
        "{text}"
    );
    assert!(text.contains("Date: "), "{text}");
    let log = inst.wait_for_log("status=sent (delivered to maildir)", WAIT);
    assert!(log.contains(&format!("to=<{to}>")), "{log}");
    inst.wait_for_log(": removed", WAIT);
    // The file in Maildir/new belongs to the recipient.
    let f = std::fs::read_dir(u[0].maildir_new())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let meta = std::os::unix::fs::MetadataExt::uid(&f.metadata().unwrap());
    assert_eq!(meta, u[0].uid);
}

#[test]
fn sendmail_delivers_to_mbox() {
    let Some(u) = users(&["pm2"]) else { return };
    let spool = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        spool.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let inst = pipeline(&format!(
        "mail_spool_directory = {}\n",
        spool.path().display()
    ));
    // A bare user name is rewritten to user@$myorigin by cleanup.
    inst.sendmail(
        &["-f", &format!("sender@{HOST}"), &u[0].name],
        &message(&u[0].name, "to-mbox"),
    )
    .assert_ok();
    let mbox = spool.path().join(&u[0].name);
    let text = wait_text("mbox", "Subject: to-mbox", || {
        std::fs::read_to_string(&mbox).unwrap_or_default()
    });
    assert!(text.starts_with(&format!("From sender@{HOST} ")), "{text}");
    inst.wait_for_log("status=sent (delivered to mailbox)", WAIT);
}

#[test]
fn alias_to_two_users_and_a_command() {
    let Some(u) = users(&["pa1", "pa2"]) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        out.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let piped = out.path().join("piped");
    let aliases = out.path().join("aliases");
    std::fs::write(
        &aliases,
        format!(
            "team: {}, {}\nrobot: \"|cat > {}\"\n",
            u[0].name,
            u[1].name,
            piped.display()
        ),
    )
    .unwrap();
    let inst = pipeline(&format!(
        "home_mailbox = Maildir/\nalias_maps = lmdb:{}\n",
        aliases.display()
    ));
    inst.run_program("postalias", &[&format!("lmdb:{}", aliases.display())], b"")
        .assert_ok();
    inst.sendmail(
        &["-f", &format!("sender@{HOST}"), "team", "robot"],
        &message("team, robot", "aliased"),
    )
    .assert_ok();
    for user in &u {
        wait_text("alias member Maildir", "Subject: aliased", || {
            user.maildir_text()
        });
    }
    wait_text("command output", "Subject: aliased", || {
        std::fs::read_to_string(&piped).unwrap_or_default()
    });
    let log = inst.wait_for_log("orig_to=<team", WAIT);
    assert!(log.contains("status=sent"), "{log}");
    inst.wait_for_log("delivered to command", WAIT);
}

#[test]
fn unknown_user_bounces_to_the_sender_mailbox() {
    let Some(u) = users(&["pb1"]) else { return };
    let inst = pipeline("home_mailbox = Maildir/\n");
    let sender = format!("{}@{HOST}", u[0].name);
    inst.sendmail(
        &["-f", &sender, &format!("nosuchuser@{HOST}")],
        &message("nosuchuser", "to-nobody"),
    )
    .assert_ok();
    inst.wait_for_log("status=bounced", WAIT);
    let dsn = wait_text("DSN in the sender's Maildir", "Action: failed", || {
        u[0].maildir_text()
    });
    assert!(dsn.contains("Status: 5.1.1"), "{dsn}");
    assert!(
        dsn.contains(&format!("Final-Recipient: rfc822; nosuchuser@{HOST}")),
        "{dsn}"
    );
    assert!(
        dsn.contains("Subject: Undelivered Mail Returned to Sender"),
        "{dsn}"
    );
    assert!(
        dsn.contains("Subject: to-nobody"),
        "the original headers come back: {dsn}"
    );
    inst.wait_for_log("sender non-delivery notification:", WAIT);
}

#[test]
fn error_transport_recipient_bounces() {
    let Some(u) = users(&["pe1"]) else { return };
    let inst = pipeline(
        "home_mailbox = Maildir/\n\
         transport_maps = inline:{ { blocked.example = error:5.7.1 delivery to blocked.example is disabled } }\n",
    );
    let sender = format!("{}@{HOST}", u[0].name);
    inst.sendmail(
        &["-f", &sender, "someone@blocked.example"],
        &message("someone@blocked.example", "to-error"),
    )
    .assert_ok();
    let line = inst.wait_for_log("status=bounced", WAIT);
    assert!(
        line.contains("relay=none") && line.contains("dsn=5.7.1"),
        "{line}"
    );
    let dsn = wait_text("DSN", "Action: failed", || u[0].maildir_text());
    assert!(dsn.contains("Status: 5.7.1"), "{dsn}");
    assert!(
        dsn.contains("delivery to blocked.example is disabled"),
        "{dsn}"
    );
}

/// Put a complete maildrop file (as postdrop would: mode 0744) for
/// `sender` -> `rcpt` with `content` and wake pickup.
fn drop_file(inst: &Instance, sender: &str, rcpt: &str, content: &str) {
    let q = queue::QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1);
    let mut w = queue::QueueWriter::create(&q, queue::MAILDROP).unwrap();
    w.set_ready_mode(0o744).unwrap();
    w.set_sender(sender).unwrap();
    w.add_recipient(&queue::Recipient::new(rcpt)).unwrap();
    w.write_content(content.as_bytes()).unwrap();
    w.commit().unwrap();
    let fifo = inst.queue_dir().join("public/pickup");
    wait_until(WAIT, || global::trigger::send(&fifo, b"W").ok());
}

#[test]
fn oversized_local_submission_bounces_to_the_sender() {
    // postdrop refuses such a message at once; one that gets into the
    // maildrop anyway (a limit lowered meanwhile) is bounced by cleanup,
    // not moved to corrupt.
    let Some(u) = users(&["ps1"]) else { return };
    // (bounce_size_limit below message_size_limit, so the notification
    // itself fits.)
    let inst =
        pipeline("home_mailbox = Maildir/\nmessage_size_limit = 4000\nbounce_size_limit = 1000\n");
    let sender = format!("{}@{HOST}", u[0].name);
    let body = format!("{}\n", "z".repeat(70)).repeat(150);
    drop_file(
        &inst,
        &sender,
        &format!("someone@{HOST}"),
        &format!("Subject: too-big\n\n{body}"),
    );
    let line = inst.wait_for_log("status=bounced (message file too big)", WAIT);
    assert!(
        line.contains("dsn=5.3.4") && line.contains("relay=none"),
        "{line}"
    );
    let dsn = wait_text("DSN in the sender's Maildir", "Action: failed", || {
        u[0].maildir_text()
    });
    assert!(dsn.contains("Status: 5.3.4"), "{dsn}");
    assert!(dsn.contains("Subject: too-big"), "{dsn}");
    inst.wait_for_log(": removed", WAIT);
    let corrupt: Vec<_> = std::fs::read_dir(inst.queue_dir().join("corrupt"))
        .unwrap()
        .collect();
    assert!(corrupt.is_empty(), "{corrupt:?}");
}

#[test]
fn a_local_submission_with_too_many_hops_bounces() {
    let Some(u) = users(&["ph1"]) else { return };
    let inst = pipeline("home_mailbox = Maildir/\nhopcount_limit = 5\n");
    let sender = format!("{}@{HOST}", u[0].name);
    // Four Received: headers plus the one pickup adds make five.
    let hops = "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\n".repeat(4);
    inst.sendmail(
        &["-f", &sender, &format!("someone@{HOST}")],
        &format!("{hops}Subject: looping\n\nbody\n"),
    )
    .assert_ok();
    let line = inst.wait_for_log("status=bounced (too many hops)", WAIT);
    assert!(line.contains("dsn=5.4.0"), "{line}");
    wait_text("DSN in the sender's Maildir", "Action: failed", || {
        u[0].maildir_text()
    });
}
