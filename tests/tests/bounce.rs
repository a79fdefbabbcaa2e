//! System tests of bounce(8) on a real instance with cleanup(8): a queue
//! file in `active` with a record in `bounce/ID` (as a delivery agent
//! leaves it), a `flush` request through the bounce client, then the
//! notification is checked in the queue where cleanup put it (no qmgr
//! runs, so it stays in `incoming`).
// cleanup is configured private (column 3 `-`) because the client stub
// global::cleanup_client connects to public/cleanup (doc/PIPELINE.md).
use deliver::bounce_client::BounceClient;
use deliver::{dsn_log, Dsn, DsnRecord};
use queue::{QueueDir, QueueFile, QueueWriter, Recipient};
use std::time::Duration;
use testkit::Instance;

fn start() -> Instance {
    Instance::builder()
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .master_cf_line("bounce unix - - n - 0 bounce")
        .main_cf("myhostname = test.example\nmydestination = $myhostname, localhost\n")
        .start()
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

/// The notifications cleanup queued: (sender, recipients, content).
fn notifications(inst: &Instance) -> Vec<(String, Vec<String>, String)> {
    let q = qdir(inst);
    let mut out = Vec::new();
    for queue_name in [queue::INCOMING, queue::ACTIVE, queue::DEFERRED] {
        for id in q.scan(queue_name).unwrap().flatten() {
            if let Ok(qf) = QueueFile::open_readonly(&q, queue_name, &id) {
                if qf.envelope().attr("rewrite_context").is_none() && queue_name == queue::ACTIVE {
                    continue;
                }
                let content = String::from_utf8_lossy(&qf.read_content().unwrap()).to_string();
                if content.contains("multipart/report") {
                    let rcpts = qf
                        .envelope()
                        .recipients
                        .iter()
                        .map(|r| r.address.clone())
                        .collect();
                    out.push((qf.envelope().sender.clone(), rcpts, content));
                }
            }
        }
    }
    out
}

fn queue_original(inst: &Instance, sender: &str, rcpt: &str) -> queue::QueueId {
    let mut w = QueueWriter::create(&qdir(inst), queue::ACTIVE).unwrap();
    w.set_sender(sender).unwrap();
    w.add_recipient(&Recipient::new(rcpt)).unwrap();
    w.write_content(b"From: someone\nSubject: original\n\nthe body\n")
        .unwrap();
    let id = w.commit().unwrap();
    // Files that qmgr and the agents make belong to mail_owner.
    let owner = nix::unistd::User::from_name(inst.mail_owner())
        .unwrap()
        .unwrap();
    let path = qdir(inst).path(queue::ACTIVE, &id).unwrap();
    nix::unistd::chown(&path, Some(owner.uid), Some(owner.gid)).unwrap();
    let rec = DsnRecord {
        rcpt_index: Some(0),
        rcpt: rcpt.into(),
        orcpt: None,
        notify: queue::DsnNotify::NONE,
        orig: Some(rcpt.into()),
        dsn: Dsn::new(
            "5.1.1",
            &format!("unknown user: \"{}\"", rcpt.split('@').next().unwrap()),
        ),
        action: "failed".into(),
        relay: "local".into(),
        time: 0,
    };
    dsn_log::append(&qdir(inst), queue::BOUNCE, &id, &rec).unwrap();
    id
}

#[test]
fn flush_sends_a_dsn_to_the_sender() {
    let inst = start();
    let id = queue_original(&inst, "u1@test.example", "nosuch@test.example");
    let client = BounceClient::new(
        inst.queue_dir().join("private/bounce"),
        Duration::from_secs(60),
    );
    testkit::wait_until(Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(client.path()).ok()
    })
    .expect("bounce socket");
    client.flush(queue::ACTIVE, &id).expect("flush");
    let line = inst.wait_for_log(
        &format!("{}: sender non-delivery notification: ", id.as_str()),
        Duration::from_secs(20),
    );
    assert!(!line.is_empty());
    assert!(!dsn_log::exists(&qdir(&inst), queue::BOUNCE, &id));
    let n = notifications(&inst);
    assert_eq!(n.len(), 1, "{n:?}");
    let (sender, rcpts, text) = &n[0];
    assert_eq!(sender, "");
    assert_eq!(rcpts, &vec!["u1@test.example".to_string()]);
    for want in [
        "From: MAILER-DAEMON@test.example (Mail Delivery System)",
        "Subject: Undelivered Mail Returned to Sender",
        "Auto-Submitted: auto-replied",
        "Content-Type: multipart/report; report-type=delivery-status;",
        "Reporting-MTA: dns; test.example",
        &format!("X-Postfix-Queue-ID: {}", id.as_str()),
        "Final-Recipient: rfc822; nosuch@test.example",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: X-Postfix; unknown user: \"nosuch\"",
        "Content-Type: message/rfc822",
        "Subject: original",
        "the body",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn null_sender_gets_a_double_bounce_to_postmaster() {
    let inst = start();
    let id = queue_original(&inst, "", "nosuch@test.example");
    let client = BounceClient::new(
        inst.queue_dir().join("private/bounce"),
        Duration::from_secs(60),
    );
    testkit::wait_until(Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(client.path()).ok()
    })
    .expect("bounce socket");
    client.flush(queue::ACTIVE, &id).expect("flush");
    inst.wait_for_log(
        &format!("{}: postmaster non-delivery notification: ", id.as_str()),
        Duration::from_secs(20),
    );
    let n = notifications(&inst);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].0, "double-bounce@test.example");
    assert!(n[0].1[0].starts_with("postmaster"), "{:?}", n[0].1);
    assert!(n[0].2.contains("Content-Type: text/rfc822-headers"));
    assert!(!n[0].2.contains("the body"));
}
