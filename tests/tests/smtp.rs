//! NAME
//!   smtp - system tests of the smtp(8) delivery client
//!
//! DESCRIPTION
//!   Each test starts an instance whose mail for `remote.test` goes by
//!   the `smtp` transport to `relayhost = [127.0.0.1]:PORT`, where a
//!   peer listens:
//!
//!   - Postfix's `smtp-sink` (2,000 messages from Postfix's
//!     `smtp-source` through our smtpd, cleanup, qmgr and smtp, every
//!     one counted in the sink's dump file);
//!   - a scripted SMTP peer (module `peer`, [`Peer`]) that answers each
//!     command as its [`Rules`] say: 4xx and 5xx at each stage, a
//!     greeting without ESMTP, `AUTH=PLAIN` and a broken continuation
//!     line in the EHLO reply, closing after EHLO, never answering the
//!     final dot, partial RCPT failures without duplicates on retry,
//!     SIZE, 8BITMIME conversion, SMTPUTF8, connection reuse.
//!
//!   Mail is injected with sendmail (or SMTP to our smtpd); each test
//!   waits for the `status=` lines in the maillog.
//!
//!   Run: `cargo build --workspace` then `cargo test -p systest --test smtp`.
mod peer;

use peer::{Peer, Rules};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(30);

fn instance(relay_port: u16, extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .master_cf_line("scache unix - - n - 1 scache")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{relay_port}\nmaximal_backoff_time = 1s\n\
             minimal_backoff_time = 1s\nqueue_run_delay = 1s\n{extra}"
        ))
        .start()
}

fn send(inst: &Instance, rcpts: &[&str], body: &str) {
    let mut args = vec!["-f", "sender@client.test"];
    args.extend_from_slice(rcpts);
    let msg = format!("From: sender@client.test\nSubject: test\n\n{body}\n");
    inst.sendmail(&args, &msg).assert_ok();
}

fn line_for(inst: &Instance, rcpt: &str, status: &str) -> String {
    let l = inst.wait_for_log(&format!("to=<{rcpt}>, relay="), WAIT);
    assert!(
        l.contains(&format!("status={status} ")),
        "wanted status={status}: {l}"
    );
    l
}

fn peer_and_instance(rules: Rules, extra: &str) -> (Peer, Instance) {
    let peer = Peer::start(rules);
    let inst = instance(peer.port, extra);
    (peer, inst)
}

#[test]
fn delivers_with_postfix_log_line() {
    let (peer, inst) = peer_and_instance(Rules::default(), "");
    send(&inst, &["a@remote.test"], "hello");
    let l = line_for(&inst, "a@remote.test", "sent");
    let relay = format!("relay=127.0.0.1[127.0.0.1]:{}, delay=", peer.port);
    assert!(l.contains(&relay), "{l}");
    assert!(
        l.contains("dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as PEER1)"),
        "{l}"
    );
    assert!(l.contains(", delays="), "{l}");
    let acc = peer.accepted();
    assert_eq!(acc.len(), 1);
    assert!(
        acc[0]
            .mail
            .starts_with("MAIL FROM:<sender@client.test> SIZE="),
        "{}",
        acc[0].mail
    );
    assert!(acc[0].data.contains("Subject: test\r\n"), "{}", acc[0].data);
    // Pipelined: MAIL, RCPT and DATA arrive before any reply is needed.
    let cmds = peer.commands();
    assert!(cmds.iter().any(|c| c == "EHLO client.test"), "{cmds:?}");
}

#[test]
fn greeting_without_esmtp_gets_ehlo_and_auth_plain_broken_continuation_is_parsed() {
    let rules = Rules {
        greeting: "220 peer.test mail service ready\r\n",
        ehlo: "250-peer.test\r\nPIPELINING\r\n250-AUTH=PLAIN LOGIN\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
        ..Rules::default()
    };
    let (peer, inst) = peer_and_instance(rules, "");
    send(&inst, &["a@remote.test"], "hello");
    line_for(&inst, "a@remote.test", "sent");
    assert_eq!(peer.commands()[0], "EHLO client.test");
}

fn rcpt_mixed(addr: &str) -> &'static str {
    static SOFT_OK: AtomicBool = AtomicBool::new(false);
    if addr.starts_with("bad") {
        "550 5.1.1 Recipient address rejected: User unknown\r\n"
    } else if addr.starts_with("soft") && !SOFT_OK.swap(true, Ordering::SeqCst) {
        "450 4.2.0 Recipient address rejected: Greylisted\r\n"
    } else {
        "250 2.1.5 Ok\r\n"
    }
}

#[test]
fn partial_rcpt_failures_no_duplicate_on_retry() {
    let rules = Rules {
        rcpt: rcpt_mixed,
        ..Rules::default()
    };
    let (peer, inst) = peer_and_instance(rules, "");
    send(
        &inst,
        &["good@remote.test", "bad@remote.test", "soft@remote.test"],
        "hello",
    );
    line_for(&inst, "good@remote.test", "sent");
    let b = line_for(&inst, "bad@remote.test", "bounced");
    assert!(
        b.contains(&format!(
            "dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 Recipient address rejected: User unknown (in reply to RCPT TO command))"
        )),
        "{b}"
    );
    let s = inst.wait_for_log("to=<soft@remote.test>, relay=", WAIT);
    assert!(
        s.contains("dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.2.0"),
        "{s}"
    );
    // The retry delivers only the deferred recipient.
    let ok = wait_until(WAIT, || {
        inst.run_program("postqueue", &["-f"], b"");
        std::thread::sleep(Duration::from_millis(300));
        (peer.accepted().len() >= 2).then_some(())
    });
    assert!(ok.is_some(), "{}", inst.log());
    inst.wait_for_log("removed", WAIT);
    let acc = peer.accepted();
    let all: Vec<String> = acc.iter().flat_map(|a| a.rcpts.clone()).collect();
    assert_eq!(
        all.iter().filter(|r| *r == "good@remote.test").count(),
        1,
        "{all:?}"
    );
    assert_eq!(
        all.iter().filter(|r| *r == "soft@remote.test").count(),
        1,
        "{all:?}"
    );
}

/// A rule set where only the given stage fails with `reply`.
fn failing(stage: &str, reply: &'static str) -> Rules {
    let mut r = Rules::default();
    match stage {
        "greeting" => r.greeting = reply,
        "mail" => r.mail = reply,
        "data" => r.data = reply,
        "dot" => r.dot = Some(reply),
        _ => unreachable!(),
    }
    r
}

#[test]
fn soft_and_hard_errors_at_each_stage() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "greeting",
            "421 4.3.2 busy\r\n",
            "deferred",
            "refused to talk to me: 421 4.3.2 busy",
        ),
        (
            "greeting",
            "554 5.7.1 no\r\n",
            "deferred",
            "refused to talk to me: 554 5.7.1 no",
        ),
        (
            "mail",
            "451 4.3.0 later\r\n",
            "deferred",
            "said: 451 4.3.0 later (in reply to MAIL FROM command)",
        ),
        (
            "mail",
            "553 5.7.1 sender no\r\n",
            "bounced",
            "said: 553 5.7.1 sender no (in reply to MAIL FROM command)",
        ),
        (
            "data",
            "451 4.3.0 data later\r\n",
            "deferred",
            "(in reply to DATA command)",
        ),
        (
            "data",
            "554 5.5.1 no valid\r\n",
            "bounced",
            "said: 554 5.5.1 no valid (in reply to DATA command)",
        ),
        (
            "dot",
            "452 4.3.1 full\r\n",
            "deferred",
            "said: 452 4.3.1 full (in reply to end of DATA command)",
        ),
        (
            "dot",
            "554 5.7.1 spam\r\n",
            "bounced",
            "said: 554 5.7.1 spam (in reply to end of DATA command)",
        ),
    ];
    let handles: Vec<_> = cases
        .iter()
        .map(|&(stage, reply, status, text)| {
            std::thread::spawn(move || {
                let (_peer, inst) = peer_and_instance(failing(stage, reply), "");
                send(&inst, &["x@remote.test"], "hello");
                let l = line_for(&inst, "x@remote.test", status);
                assert!(l.contains(text), "{stage} {reply:?}: {l}");
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn peer_closing_after_ehlo_defers() {
    let rules = Rules {
        close_after_ehlo: true,
        ..Rules::default()
    };
    let (_peer, inst) = peer_and_instance(rules, "");
    send(&inst, &["a@remote.test"], "hello");
    let l = line_for(&inst, "a@remote.test", "deferred");
    assert!(l.contains("dsn=4.4.2, status=deferred (lost connection with 127.0.0.1[127.0.0.1] while sending MAIL FROM)"), "{l}");
}

#[test]
fn no_reply_to_dot_times_out_deferred_not_lost() {
    let rules = Rules {
        dot: None,
        ..Rules::default()
    };
    let (_peer, inst) = peer_and_instance(rules, "smtp_data_done_timeout = 2s\n");
    send(&inst, &["a@remote.test"], "hello");
    let l = line_for(&inst, "a@remote.test", "deferred");
    assert!(
        l.contains("(conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data -- message may be sent more than once)"),
        "{l}"
    );
    let q = inst.run_program("postqueue", &["-p"], b"");
    assert!(q.stdout.contains("a@remote.test"), "{}", q.stdout);
}

#[test]
fn connection_refused() {
    let port = testkit::ports::free_port();
    let inst = instance(port, "");
    send(&inst, &["a@remote.test"], "hello");
    let l = line_for(&inst, "a@remote.test", "deferred");
    assert!(
        l.contains("relay=none, ") && l.contains(&format!("dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:{port}: Connection refused)")),
        "{l}"
    );
}

#[test]
fn size_limit_bounces() {
    let rules = Rules {
        ehlo: "250-peer.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
        ..Rules::default()
    };
    let (peer, inst) = peer_and_instance(rules, "");
    send(&inst, &["a@remote.test"], &"x".repeat(300));
    let l = line_for(&inst, "a@remote.test", "bounced");
    assert!(l.contains("dsn=5.3.4, status=bounced (message size"), "{l}");
    assert!(
        l.contains("exceeds size limit 100 of server 127.0.0.1[127.0.0.1])"),
        "{l}"
    );
    assert!(
        peer.commands().iter().all(|c| !c.starts_with("MAIL")),
        "{:?}",
        peer.commands()
    );
}

#[test]
fn eight_bit_body_is_converted_without_8bitmime() {
    let rules = Rules {
        ehlo: "250-peer.test\r\n250 PIPELINING\r\n",
        ..Rules::default()
    };
    let (peer, inst) = peer_and_instance(rules, "");
    send(&inst, &["a@remote.test"], "caf\u{e9}");
    line_for(&inst, "a@remote.test", "sent");
    let acc = peer.accepted();
    assert!(
        acc[0]
            .data
            .contains("Content-Transfer-Encoding: quoted-printable\r\n"),
        "{}",
        acc[0].data
    );
    assert!(acc[0].data.contains("caf=C3=A9\r\n"), "{}", acc[0].data);
    assert!(!acc[0].mail.contains("BODY=8BITMIME"));
}

#[test]
fn eight_bit_body_passes_with_8bitmime() {
    let (peer, inst) = peer_and_instance(Rules::default(), "");
    send(&inst, &["a@remote.test"], "caf\u{e9}");
    line_for(&inst, "a@remote.test", "sent");
    let acc = peer.accepted();
    assert!(acc[0].mail.contains(" BODY=8BITMIME"), "{}", acc[0].mail);
    assert!(acc[0].data.contains("caf\u{e9}\r\n"), "{}", acc[0].data);
}

#[test]
fn connection_is_reused_through_scache() {
    let (peer, inst) =
        peer_and_instance(Rules::default(), "smtp_connection_cache_time_limit = 10s\n");
    send(&inst, &["a@remote.test"], "one");
    line_for(&inst, "a@remote.test", "sent");
    send(&inst, &["b@remote.test"], "two");
    let l = line_for(&inst, "b@remote.test", "sent");
    assert!(l.contains(", conn_use=2, delay="), "{l}");
    assert_eq!(peer.seen.lock().unwrap().connections, 1);
    assert_eq!(
        peer.commands()
            .iter()
            .filter(|c| c.starts_with("EHLO"))
            .count(),
        1
    );
}

/// Talk SMTP to our smtpd: one message with `mail_args` on MAIL FROM.
fn smtp_inject(port: u16, mail_args: &str, rcpt: &str, body: &str) {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut reply = || {
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.clone();
            }
        }
    };
    assert!(reply().starts_with("220"));
    for cmd in [
        "EHLO client.test".to_string(),
        format!("MAIL FROM:<s\u{e9}nder@client.test>{mail_args}"),
        format!("RCPT TO:<{rcpt}>"),
        "DATA".to_string(),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let rep = reply();
        assert!(rep.starts_with('2') || rep.starts_with('3'), "{cmd}: {rep}");
    }
    w.write_all(format!("Subject: x\r\n\r\n{body}\r\n.\r\n").as_bytes())
        .unwrap();
    assert!(reply().starts_with("250"));
    w.write_all(b"QUIT\r\n").unwrap();
}

#[test]
fn smtputf8_required_but_not_offered_bounces() {
    let rules = Rules {
        ehlo: "250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
        ..Rules::default()
    };
    let peer = Peer::start(rules);
    let inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("127.0.0.1:{port:smtpd} inet n - n - - smtpd")
        .master_cf_line("smtp unix - - n - - smtp")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{}\nmynetworks = 127.0.0.0/8\nsmtpd_peername_lookup = no\n\
             compatibility_level = 3.6\n",
            peer.port
        ))
        .start();
    smtp_inject(inst.port("smtpd"), " SMTPUTF8", "u@remote.test", "hi");
    let l = line_for(&inst, "u@remote.test", "bounced");
    assert!(
        l.contains("dsn=5.6.7, status=bounced (SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1])"),
        "{l}"
    );
}

fn sink_count(dump: &std::path::Path) -> usize {
    std::fs::read_to_string(dump)
        .map(|t| t.matches("X-Client-Addr: ").count())
        .unwrap_or(0)
}

#[test]
fn smtp_source_to_postern_to_smtp_sink_2000_messages() {
    if Command::new("smtp-sink").arg("-h").output().is_err() {
        println!("skipped: smtp-sink is not installed (Debian's postfix package)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    let sink_port = testkit::ports::free_port();
    let mut sink = Command::new("smtp-sink")
        .args([
            "-D",
            dump.to_str().unwrap(),
            "-u",
            "root",
            &format!("127.0.0.1:{sink_port}"),
            "100",
        ])
        .spawn()
        .expect("smtp-sink");
    let inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("127.0.0.1:{port:smtpd} inet n - n - - smtpd")
        .master_cf_line("smtp unix - - n - - smtp")
        .master_cf_line("scache unix - - n - 1 scache")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{sink_port}\nmynetworks = 127.0.0.0/8\n\
             smtpd_peername_lookup = no\nsmtpd_error_sleep_time = 0\n"
        ))
        .start();
    let target = format!("127.0.0.1:{}", inst.port("smtpd"));
    let out = Command::new("smtp-source")
        .args([
            "-s",
            "10",
            "-m",
            "2000",
            "-l",
            "1000",
            "-f",
            "src@client.test",
            "-t",
            "sink@remote.test",
            &target,
        ])
        .output()
        .expect("smtp-source");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = wait_until(Duration::from_secs(120), || {
        (sink_count(&dump) >= 2000).then_some(())
    });
    let n = sink_count(&dump);
    let _ = sink.kill();
    let _ = sink.wait();
    assert!(
        ok.is_some(),
        "the sink counted {n} of 2000 messages\n{}",
        inst.log()
    );
    assert_eq!(n, 2000);
    // smtp-sink answers the final dot with "250 2.0.0 Ok".
    assert_eq!(
        inst.log().matches("status=sent (250 2.0.0 Ok)").count(),
        2000
    );
    assert_eq!(inst.log().matches("status=deferred").count(), 0);
}

#[test]
fn debian_postfix_as_next_hop() {
    if !testkit::DebianPostfix::available() {
        println!("skipped: Debian's postfix package is not installed (or not root)");
        return;
    }
    let debian = testkit::DebianPostfix::start(
        "myhostname = debian.test\nmynetworks = 127.0.0.0/8\ndefault_transport = discard\n\
         smtpd_recipient_restrictions = check_recipient_access inline:{bad@remote.test=REJECT}, permit_mynetworks, reject\n",
    );
    let inst = instance(debian.port(), "");
    send(&inst, &["good@remote.test", "bad@remote.test"], "to Debian");
    let l = line_for(&inst, "good@remote.test", "sent");
    assert!(
        l.contains(&format!("relay=127.0.0.1[127.0.0.1]:{}", debian.port())),
        "{l}"
    );
    assert!(
        l.contains("dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "),
        "{l}"
    );
    let b = line_for(&inst, "bad@remote.test", "bounced");
    assert!(
        b.contains("said: 554 5.7.1 <bad@remote.test>: Recipient address rejected: Access denied (in reply to RCPT TO command))"),
        "{b}"
    );
    // Debian's side received it from us and handed it to its discard transport.
    let d = debian.wait_for_log("to=<good@remote.test>", WAIT);
    assert!(d.contains("status=sent"), "{d}");
    assert!(
        debian.log().contains("helo=<client.test>"),
        "{}",
        debian.log()
    );
}
