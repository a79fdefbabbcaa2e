//! NAME
//!   tests - the agent toolkit against a real queue file over a socket pair
use super::*;
use crate::request::send_request;
use queue::{DsnNotify, QueueWriter, Recipient};
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn setup(rcpts: &[&str]) -> (tempfile::TempDir, AgentEnv, DeliveryRequest) {
    let t = tempfile::tempdir().unwrap();
    let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
    q.create_missing().unwrap();
    let mut w = QueueWriter::create(&q, queue::ACTIVE).unwrap();
    w.set_sender("alice@example.org").unwrap();
    for r in rcpts {
        w.add_recipient(&Recipient {
            orig: Some(format!("orig-{r}")),
            notify: DsnNotify(4),
            ..Recipient::new(r)
        })
        .unwrap();
    }
    w.write_content(b"Subject: hi\n\nbody\n").unwrap();
    let id = w.commit().unwrap();
    let now = SystemTime::now();
    let req = DeliveryRequest {
        queue_name: "active".into(),
        queue_id: id,
        transport: "test".into(),
        nexthop: "example.com".into(),
        sender: "alice@example.org".into(),
        envid: None,
        ret: None,
        arrival: now - Duration::from_millis(1500),
        active: now - Duration::from_millis(20),
        flags: 0,
        recipients: rcpts
            .iter()
            .enumerate()
            .map(|(i, r)| RequestRecipient {
                index: i,
                address: r.to_string(),
                orcpt: None,
                notify: DsnNotify(4),
                orig: Some(format!("orig-{r}")),
            })
            .collect(),
    };
    (t, AgentEnv::new(q), req)
}

fn run<F>(env: &AgentEnv, req: &DeliveryRequest, f: F) -> AgentReply
where
    F: FnOnce(&mut Delivery<'_>) -> std::result::Result<(), Dsn> + Send + 'static,
{
    let (mut c, mut s) = UnixStream::pair().unwrap();
    let env2 = env.clone();
    let t = std::thread::spawn(move || agent_serve(&mut s, &env2, f).unwrap());
    let r = send_request(&mut c, req).unwrap();
    t.join().unwrap();
    r
}

#[test]
fn sent_bounce_defer_update_queue_and_logs() {
    let (_t, env, req) = setup(&["a@x", "b@x", "c@x"]);
    let r = run(&env, &req, |d| {
        assert_eq!(
            d.queue_file().read_content().unwrap(),
            b"Subject: hi\n\nbody\n"
        );
        d.connected();
        d.sent(0, "local", &Dsn::new("2.0.0", "delivered to maildir"))?;
        d.bounce(1, "none", &Dsn::new("5.1.1", "unknown user"))?;
        d.defer(2, "none", &Dsn::new("4.4.1", "connection refused"))?;
        assert_eq!(d.outcome(2), Some(Action::Deferred));
        Ok(())
    });
    assert_eq!(r.status, 0);
    let acts: Vec<_> = r
        .outcomes
        .iter()
        .map(|o| (o.index, o.action, o.dsn_status.to_string()))
        .collect();
    assert_eq!(
        acts,
        vec![
            (0, Action::Delivered, "2.0.0".into()),
            (1, Action::Bounced, "5.1.1".into()),
            (2, Action::Deferred, "4.4.1".into())
        ]
    );
    let qf = QueueFile::open(&env.qdir, "active", &req.queue_id).unwrap();
    let done: Vec<bool> = qf.envelope().recipients.iter().map(|r| r.done).collect();
    assert_eq!(done, [true, true, false]);
    let b = dsn_log::read(&env.qdir, queue::BOUNCE, &req.queue_id).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].rcpt.as_str(), b[0].action.as_str(), b[0].rcpt_index),
        ("b@x", "failed", Some(1))
    );
    assert_eq!(b[0].orig.as_deref(), Some("orig-b@x"));
    let df = dsn_log::read(&env.qdir, queue::DEFER, &req.queue_id).unwrap();
    assert_eq!(
        (df[0].rcpt.as_str(), df[0].action.as_str()),
        ("c@x", "delayed")
    );
    assert_eq!(df[0].dsn.reason, "connection refused");
}

#[test]
fn handler_failure_and_forgotten_recipients_are_deferred() {
    let (_t, env, req) = setup(&["a@x", "b@x"]);
    let r = run(&env, &req, |d| {
        d.sent(0, "none", &Dsn::new("2.0.0", "ok"))?;
        Err(Dsn::new("5.3.0", "no transport table"))
    });
    assert_eq!(r.status, 1);
    assert_eq!(r.reason.as_deref(), Some("4.3.0 no transport table"));
    assert_eq!(r.outcomes[1].action, Action::Deferred);
    let r = run(&env, &req, |_| Ok(()));
    assert_eq!(r.status, 0);
    assert!(r.outcomes.iter().all(|o| o.action == Action::Deferred));
    assert_eq!(
        dsn_log::read(&env.qdir, queue::DEFER, &req.queue_id)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn wrong_class_is_replaced_and_members_are_logged() {
    let (_t, env, req) = setup(&["list@x"]);
    let r = run(&env, &req, |d| {
        d.sent_member(
            0,
            "m1@x",
            "local",
            &Dsn::new("2.0.0", "delivered to mailbox"),
        )?;
        d.bounce_member(
            0,
            "m2@x",
            "local",
            &Dsn::new("4.1.1", "unknown user: \"m2\""),
        )?;
        d.finish(0, Action::Delivered, DsnStatus::SENT)?;
        Ok(())
    });
    assert_eq!(r.outcomes[0].action, Action::Delivered);
    let b = dsn_log::read(&env.qdir, queue::BOUNCE, &req.queue_id).unwrap();
    assert_eq!(b[0].rcpt, "m2@x");
    assert_eq!(b[0].dsn.status, DsnStatus::BOUNCE);
    assert_eq!(b[0].orig.as_deref(), Some("orig-list@x"));
}

#[test]
fn bad_requests_get_status_1() {
    let (_t, env, mut req) = setup(&["a@x"]);
    req.recipients[0].address = "other@x".into();
    let r = run(&env, &req, |_| panic!("handler must not run"));
    assert_eq!(r.status, 1);
    assert!(r.reason.unwrap().starts_with("4.3.0 "));
    req.recipients[0].address = "a@x".into();
    req.queue_name = "deferred".into();
    let r = run(&env, &req, |_| panic!("handler must not run"));
    assert_eq!(r.status, 1);
}

#[test]
fn status_line_has_postfix_shape() {
    let dsn = Dsn::new("2.0.0", "delivered to maildir");
    let mut p = LineParts {
        id: "4Tq2Kx0b2Lz1x",
        to: "bob@example.com",
        orig: Some("bob@example.com"),
        relay: "local",
        delay: "1.2",
        delays: "0.01/0.01/0.05/1.1",
        dsn: &dsn,
        status: "sent",
    };
    assert_eq!(
        status_line(&p),
        "4Tq2Kx0b2Lz1x: to=<bob@example.com>, relay=local, delay=1.2, delays=0.01/0.01/0.05/1.1, dsn=2.0.0, status=sent (delivered to maildir)"
    );
    p.orig = Some("bob");
    assert!(status_line(&p).contains("to=<bob@example.com>, orig_to=<bob>, relay=local"));
}
