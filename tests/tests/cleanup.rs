//! System tests of cleanup(8) on a real instance: messages submitted
//! through global::cleanup_client to `public/cleanup` end up complete in
//! `incoming` (no qmgr runs, so they stay there; the failed wake-up of
//! qmgr is only a warning), with canonical addresses and the added
//! headers; rejected messages leave nothing behind.
// cleanup is configured private (column 3 `-`): the client stub connects
// to public/cleanup (doc/PIPELINE.md).
use global::cleanup_client::{
    CleanupSession, Submission, SubmitRecipient, FLAG_BOUNCE, STAT_HOPS, STAT_SIZE,
};
use queue::{QueueDir, QueueFile};
use std::time::Duration;
use testkit::Instance;

const MAIN_CF: &str = "myhostname = test.example\n\
                       mydestination = $myhostname, localhost\n\
                       message_size_limit = 20000\n\
                       hopcount_limit = 3\n\
                       virtual_alias_maps = inline:{ {list@virt.example=a@test.example, b@remote.example} }\n";

fn start() -> Instance {
    Instance::builder()
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .main_cf(MAIN_CF)
        .start()
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

fn session(inst: &Instance) -> CleanupSession {
    let path = inst.queue_dir().join("public/cleanup");
    testkit::wait_until(Duration::from_secs(20), || {
        std::os::unix::net::UnixStream::connect(&path).ok()
    })
    .expect("cleanup socket");
    CleanupSession::open(&path, Duration::from_secs(60)).expect("open cleanup session")
}

fn submit(
    inst: &Instance,
    sub: &Submission,
    content: &[u8],
) -> Result<String, global::cleanup_client::CleanupError> {
    let mut s = session(inst);
    s.envelope(sub)?;
    s.write_content(content)?;
    s.finish().map(|q| q.queue_id)
}

fn local(sender: &str, rcpts: &[&str]) -> Submission {
    Submission {
        sender: sender.into(),
        recipients: rcpts.iter().map(|r| SubmitRecipient::new(r)).collect(),
        protocol_name: Some("sendmail".into()),
        ..Submission::local()
    }
}

fn incoming(inst: &Instance) -> Vec<String> {
    qdir(inst)
        .scan(queue::INCOMING)
        .unwrap()
        .flatten()
        .map(|id| id.as_str().to_string())
        .collect()
}

fn open(inst: &Instance, id: &str) -> QueueFile {
    let id = queue::QueueId::parse(id).expect("queue id");
    QueueFile::open_readonly(&qdir(inst), queue::INCOMING, &id).expect("complete queue file")
}

#[test]
fn local_submission_is_canonicalized_with_added_headers() {
    let inst = start();
    let content = b"Subject: hello\r\nTo: bob\r\nBcc: hidden@remote.example\r\nReturn-Path: <x@y>\r\n\r\nthe body\r\n";
    let id = submit(
        &inst,
        &local("alice", &["bob", "list@virt.example"]),
        content,
    )
    .expect("queued");
    assert_eq!(incoming(&inst), vec![id.clone()]);
    let qf = open(&inst, &id);
    let env = qf.envelope();
    assert_eq!(env.sender, "alice@test.example");
    let rcpts: Vec<(&str, Option<&str>)> = env
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.orig.as_deref()))
        .collect();
    assert_eq!(
        rcpts,
        vec![
            ("bob@test.example", Some("bob")),
            ("a@test.example", Some("list@virt.example")),
            ("b@remote.example", Some("list@virt.example")),
        ]
    );
    assert_eq!(env.attr("rewrite_context"), Some("local"));
    let text = String::from_utf8(qf.read_content().unwrap()).unwrap();
    assert!(
        text.starts_with("Subject: hello\nTo: bob@test.example\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\nMessage-Id: <{id}@test.example>\n")),
        "{text}"
    );
    assert!(text.contains("\nDate: "), "{text}");
    assert!(
        text.contains("\nFrom: alice@test.example\n\nthe body\n"),
        "{text}"
    );
    assert!(
        !text.contains("Bcc") && !text.contains("Return-Path"),
        "{text}"
    );
    inst.wait_for_log(
        &format!("{id}: message-id=<{id}@test.example>"),
        Duration::from_secs(10),
    );
}

#[test]
fn remote_submission_keeps_headers_as_they_are() {
    let inst = start();
    let mut sub = local("alice@remote.example", &["bob@test.example"]);
    sub.rewrite_context = "remote".into();
    let id = submit(
        &inst,
        &sub,
        b"Message-ID: <m1@remote.example>\nTo: bob\n\nbody\n",
    )
    .expect("queued");
    let text = String::from_utf8(open(&inst, &id).read_content().unwrap()).unwrap();
    assert_eq!(text, "Message-ID: <m1@remote.example>\nTo: bob\n\nbody\n");
    inst.wait_for_log(
        &format!("{id}: message-id=<m1@remote.example>"),
        Duration::from_secs(10),
    );
}

#[test]
fn oversized_message_is_rejected_and_leaves_nothing() {
    let inst = start();
    let mut content = b"Subject: big\n\n".to_vec();
    content.extend(
        std::iter::repeat_n(
            b"0123456789012345678901234567890123456789\n".as_slice(),
            1000,
        )
        .flatten(),
    );
    let e = submit(&inst, &local("alice", &["bob"]), &content).unwrap_err();
    assert_eq!(e.status(), STAT_SIZE);
    assert_eq!(e.reason(), "5.3.4 message file too big");
    assert!(incoming(&inst).is_empty());
    inst.wait_for_log("queue file size limit exceeded", Duration::from_secs(10));
}

#[test]
fn too_many_hops_is_rejected_or_bounced() {
    let inst = start();
    let looped = b"Received: from a\nReceived: from b\nReceived: from c\nSubject: loop\n\nbody\n";
    let mut sub = local("alice@remote.example", &["bob@test.example"]);
    sub.rewrite_context = "remote".into();
    let e = submit(&inst, &sub, looped).unwrap_err();
    assert_eq!(e.status(), STAT_HOPS);
    assert_eq!(e.reason(), "5.4.0 too many hops");
    assert!(incoming(&inst).is_empty());
    // Logged as Postfix's cleanup does.
    inst.wait_for_log(
        ": message rejected: hopcount exceeded",
        Duration::from_secs(10),
    );
    // With the bounce flag (pickup), the message is queued to bounce.
    sub.flags = FLAG_BOUNCE;
    let id = submit(&inst, &sub, looped).expect("queued for bounce");
    let qf = open(&inst, &id);
    assert!(qf.envelope().recipients.iter().all(|r| r.done));
    let qid = queue::QueueId::parse(&id).unwrap();
    assert!(deliver::dsn_log::exists(&qdir(&inst), queue::BOUNCE, &qid));
    inst.wait_for_log(
        &format!("{id}: to=<bob@test.example>, relay=none"),
        Duration::from_secs(10),
    );
}

#[test]
fn no_recipients_is_rejected() {
    let inst = start();
    let e = submit(&inst, &local("alice", &[]), b"Subject: x\n\nbody\n").unwrap_err();
    assert_eq!(e.status(), global::cleanup_client::STAT_RCPT);
    assert!(incoming(&inst).is_empty());
}
