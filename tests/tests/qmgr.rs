//! System tests of qmgr(8) with error(8), discard(8), bounce(8) and
//! cleanup(8) on a real instance. Messages are written with the `queue`
//! crate into `incoming` (or `active`, for crash recovery) and qmgr is
//! woken with a trigger byte on `public/qmgr`, as cleanup and postqueue
//! do. Routing comes from `transport_maps` (a texthash file): `discard:`,
//! `error:`, `retry:` and a transport with no service behind it.
//! Non-delivery notices go to a sender in a discarded domain, so they
//! leave the queue too.
use queue::{QueueDir, QueueId, QueueWriter, Recipient};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use testkit::Instance;

const WAIT: Duration = Duration::from_secs(30);

const TRANSPORT: &str = "\
discard.example discard:gone
err.example error:5.1.1 nope here
retry.example retry:4.4.4 try later
dead.example nosuch:
";

/// An instance with qmgr, error, retry, discard, bounce and cleanup, and
/// `extra` main.cf lines.
fn start_with(extra: &str) -> Instance {
    let mut inst = Instance::builder()
        .master_cf_line("qmgr unix n - n 300 1 qmgr")
        .master_cf_line("error unix - - n - - error")
        .master_cf_line("retry unix - - n - - error")
        .master_cf_line("discard unix - - n - - discard")
        .master_cf_line("cleanup unix - - n - 0 cleanup")
        .master_cf_line("bounce unix - - n - 0 bounce")
        .main_cf(&format!(
            "myhostname = test.example\nmydestination = $myhostname, localhost\n\
             transport_maps = texthash:$config_directory/transport\n{extra}"
        ))
        .build();
    std::fs::write(inst.config_dir().join("transport"), TRANSPORT).unwrap();
    inst.start();
    inst
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

/// Write a complete message for `rcpts` into `queue` (owned by mail_owner).
fn queue_msg(inst: &Instance, queue_name: &str, rcpts: &[&str]) -> QueueId {
    let q = qdir(inst);
    let mut w = QueueWriter::create(&q, queue_name).unwrap();
    w.set_sender("sender@discard.example").unwrap();
    for r in rcpts {
        w.add_recipient(&Recipient::new(r)).unwrap();
    }
    w.write_content(b"From: sender@discard.example\nSubject: test\n\nbody\n")
        .unwrap();
    let id = w.commit().unwrap();
    let owner = nix::unistd::User::from_name(inst.mail_owner())
        .unwrap()
        .unwrap();
    let path = q.path(queue_name, &id).unwrap();
    nix::unistd::chown(&path, Some(owner.uid), Some(owner.gid)).unwrap();
    id
}

/// Wake qmgr with `byte`, retrying while it is not listening yet.
fn wake(inst: &Instance, byte: &[u8]) {
    let p = inst.queue_dir().join("public/qmgr");
    let ok = testkit::wait_until(WAIT, || {
        let mut s = UnixStream::connect(&p).ok()?;
        s.write_all(byte).ok()
    });
    assert!(ok.is_some(), "cannot trigger {}", p.display());
}

fn count(inst: &Instance, needle: &str) -> usize {
    inst.log().matches(needle).count()
}

#[test]
fn discard_removes_the_message() {
    let inst = start_with("");
    let id = queue_msg(&inst, queue::INCOMING, &["user@discard.example"]);
    wake(&inst, b"I");
    let id = id.as_str();
    inst.wait_for_log(&format!("{id}: removed"), WAIT);
    let log = inst.log();
    assert!(
        log.contains(&format!("{id}: from=<sender@discard.example>, size=")),
        "{log}"
    );
    assert!(log.contains("nrcpt=1 (queue active)"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{id}: to=<user@discard.example>")))
        .unwrap();
    assert!(line.contains("postfix/discard["), "{line}");
    assert!(line.contains(", relay=none, delay="), "{line}");
    assert!(line.contains(", dsn=2.0.0, status=sent (gone)"), "{line}");
    assert!(qdir(&inst).find(&QueueId::parse(id).unwrap()).is_none());
}

#[test]
fn error_bounces_and_bounce_is_asked() {
    let inst = start_with("");
    let id = queue_msg(
        &inst,
        queue::INCOMING,
        &["user@err.example", "other@discard.example"],
    );
    wake(&inst, b"I");
    let id = id.as_str();
    inst.wait_for_log(&format!("{id}: removed"), WAIT);
    let log = inst.log();
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{id}: to=<user@err.example>")))
        .unwrap();
    assert!(line.contains("postfix/error["), "{line}");
    assert!(
        line.contains("dsn=5.1.1, status=bounced (nope here)"),
        "{line}"
    );
    assert!(
        log.contains(&format!("{id}: to=<other@discard.example>")),
        "{log}"
    );
    // bounce sent the notice (through cleanup) before qmgr removed the message.
    assert!(log.contains("postfix/bounce["), "{log}");
    assert!(!qdir(&inst)
        .path(queue::BOUNCE, &QueueId::parse(id).unwrap())
        .unwrap()
        .exists());
}

#[test]
fn missing_transport_defers_and_flush_retries_at_once() {
    // Long backoff: only a flush (trigger A) brings the message back soon.
    let inst = start_with("minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\n");
    let qid = queue_msg(&inst, queue::INCOMING, &["user@dead.example"]);
    let id = qid.as_str();
    wake(&inst, b"I");
    let line = inst.wait_for_log(&format!("{id}: to=<user@dead.example>"), WAIT);
    let log = inst.log();
    assert!(
        log.contains("warning: connect to transport private/nosuch: "),
        "{log}"
    );
    assert!(
        line.contains("dsn=4.3.0, status=deferred (mail transport unavailable)")
            || log.contains("status=deferred (mail transport unavailable)"),
        "{log}"
    );
    let q = qdir(&inst);
    testkit::wait_until(WAIT, || {
        q.path(queue::DEFERRED, &qid)
            .unwrap()
            .exists()
            .then_some(())
    })
    .expect("message in deferred");
    assert!(q.path(queue::DEFER, &qid).unwrap().exists());
    let meta = std::fs::metadata(q.path(queue::DEFERRED, &qid).unwrap()).unwrap();
    let wait = meta
        .modified()
        .unwrap()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(
        wait > Duration::from_secs(3000),
        "retry time {wait:?} ahead"
    );
    let active = format!("{id}: from=<sender@discard.example>");
    assert_eq!(count(&inst, &active), 1);
    wake(&inst, b"A");
    testkit::wait_until(WAIT, || (count(&inst, &active) >= 2).then_some(())).expect("flushed");
    testkit::wait_until(WAIT, || {
        (count(&inst, "status=deferred (mail transport unavailable)") >= 2).then_some(())
    })
    .expect("deferred again");
}

#[test]
fn deferred_mail_expires_and_is_returned() {
    let inst = start_with(
        "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\nmaximal_queue_lifetime = 4s\n",
    );
    let id = queue_msg(&inst, queue::INCOMING, &["user@retry.example"]);
    wake(&inst, b"I");
    let id = id.as_str();
    inst.wait_for_log(
        &format!("{id}: from=<sender@discard.example>, status=expired, returned to sender"),
        WAIT,
    );
    inst.wait_for_log(&format!("{id}: removed"), WAIT);
    let log = inst.log();
    let tries = log
        .matches(&format!("{id}: to=<user@retry.example>"))
        .count();
    assert!(tries >= 2, "retried on the backoff schedule:\n{log}");
    assert!(
        log.contains("dsn=4.4.4, status=deferred (try later)"),
        "{log}"
    );
    assert!(log.contains("postfix/bounce["), "{log}");
}

#[test]
fn active_is_recovered_at_start() {
    let mut inst = start_with("");
    inst.stop();
    // A message left in `active` by a qmgr that died.
    let id = queue_msg(&inst, queue::ACTIVE, &["x@discard.example"]);
    inst.start();
    inst.wait_for_log(&format!("{}: removed", id.as_str()), WAIT);
    assert!(inst
        .log()
        .contains(&format!("{}: to=<x@discard.example>", id.as_str())));
}
