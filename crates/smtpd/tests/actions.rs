//! In-process tests of the access(5) actions that reach cleanup (FILTER,
//! REDIRECT, DISCARD) and of tables that cannot be used (temporary
//! errors, never a silently skipped check).
mod common;
use common::*;

const ACTIONS: &str = "inline:{ { f.example = FILTER smtp:[127.0.0.1]:10025 }, \
    { f2.example = FILTER relay:[192.0.2.9] }, { r.example = REDIRECT boss@mx.example.org }, \
    { nocolon.example = FILTER smtp }, { noat.example = REDIRECT nobody }, drop.example=DISCARD }";

fn send_data(s: &mut Smtp) {
    s.cmd("DATA", "354");
    s.send(b"Subject: s\r\n\r\nbody\r\n.\r\n");
    s.reply().contains("250 2.0.0 Ok: queued as");
}

fn whole_log() -> String {
    std::fs::read_to_string(log_path()).unwrap_or_default()
}

#[test]
fn filter_and_redirect_go_to_cleanup_with_postfix_log_lines() {
    let cf = format!("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = check_recipient_access {ACTIONS}, permit\n");
    let mut s = Smtp::start(&cf);
    s.cmd("EHLO client.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@f.example>", "250");
    s.cmd("RCPT TO:<v@f2.example>", "250");
    s.cmd("RCPT TO:<w@r.example>", "250");
    send_data(&mut s);
    let m = &s.queued()[0];
    let env = m.env.as_ref().unwrap();
    assert_eq!(
        env.filter.as_deref(),
        Some("relay:[192.0.2.9]"),
        "the last FILTER wins"
    );
    assert_eq!(env.redirect.as_deref(), Some("boss@mx.example.org"));
    assert_eq!(
        env.recipients.len(),
        3,
        "the recipients go to cleanup as given"
    );
    let log = s.done();
    let peer = log_peer(&log);
    assert!(
        log.iter().any(|l| l
            == &format!("NOQUEUE: filter: RCPT from {peer}: <u@f.example>: Recipient address triggers FILTER smtp:[127.0.0.1]:10025; from=<a@b.example> to=<u@f.example> proto=ESMTP helo=<client.example>")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.ends_with(&format!(": redirect: RCPT from {peer}: <w@r.example>: Recipient address triggers REDIRECT boss@mx.example.org; from=<a@b.example> to=<w@r.example> proto=ESMTP helo=<client.example>"))),
        "{log:?}"
    );
}

fn log_peer(log: &[String]) -> String {
    let c = log
        .iter()
        .find(|l| l.starts_with("connect from "))
        .expect("connect line");
    c.trim_start_matches("connect from ").to_string()
}

#[test]
fn malformed_filter_and_redirect_are_logged_and_ignored() {
    let cf = format!("smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = check_recipient_access {ACTIONS}, permit\n");
    let mut s = Smtp::start(&cf);
    s.envelope("a@b.example", "u@nocolon.example");
    s.cmd("RCPT TO:<u@noat.example>", "250");
    send_data(&mut s);
    let env = s.queued()[0].env.clone().unwrap();
    assert_eq!(
        env.filter.as_deref(),
        Some(""),
        "no filter: explicitly none"
    );
    assert_eq!(env.redirect, None);
    let all = whole_log();
    assert!(all.contains(&format!("warning: access table {ACTIONS} entry \"nocolon.example\" requires transport:destination")), "{all}");
    assert!(
        all.contains(&format!(
            "warning: access table {ACTIONS} entry \"noat.example\" requires user@domain target"
        )),
        "{all}"
    );
}

#[test]
fn content_filter_is_the_default_and_stand_alone_leaves_it_to_cleanup() {
    let mut s = Smtp::start("content_filter = scan:[127.0.0.1]:10024\n");
    s.envelope("a@b.example", "u@mx.example.org");
    send_data(&mut s);
    let env = s.queued()[0].env.clone().unwrap();
    assert_eq!(env.filter.as_deref(), Some("scan:[127.0.0.1]:10024"));
    let mut s = Smtp::with(Opts {
        cf: "content_filter = scan:[127.0.0.1]:10024\n".into(),
        stand_alone: true,
        ..Opts::default()
    });
    s.envelope("a@b.example", "u@mx.example.org");
    send_data(&mut s);
    assert_eq!(s.queued()[0].env.clone().unwrap().filter, None);
}

#[test]
fn discard_permits_like_postfix() {
    let cf = format!(
        "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = check_recipient_access {ACTIONS}, reject\n"
    );
    let mut s = Smtp::start(&cf);
    s.cmd("EHLO client.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@other.example>", "554");
    s.cmd("RCPT TO:<u@drop.example>", "250");
    send_data(&mut s);
    assert!(s.queued().is_empty());
}

#[test]
fn broken_local_recipient_table_is_a_temporary_error() {
    let mut s = Smtp::start("local_recipient_maps = lmdb:/nonexistent/postern-users\n");
    s.cmd("EHLO client.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<bob@mx.example.org>", "451")
        .is("451 4.3.0 <bob@mx.example.org>: Temporary lookup failure");
    s.cmd("RCPT TO:<x@relay.example>", "250");
    s.cmd("VRFY bob@mx.example.org", "451");
    let log = s.done();
    assert!(
        log.iter().any(|l| l.starts_with("NOQUEUE: reject: RCPT from ")
            && l.contains(": 451 4.3.0 <bob@mx.example.org>: Temporary lookup failure; from=<a@b.example> to=<bob@mx.example.org> proto=ESMTP helo=<client.example>")),
        "{log:?}"
    );
    let all = whole_log();
    assert!(
        all.contains("error: open database /nonexistent/postern-users.lmdb: "),
        "{all}"
    );
    assert!(all.contains("warning: lmdb:/nonexistent/postern-users is unavailable. open database /nonexistent/postern-users.lmdb: "), "{all}");
    assert!(
        all.contains(
            "warning: lmdb:/nonexistent/postern-users lookup error for \"bob@mx.example.org\""
        ),
        "{all}"
    );
}

/// A session with `cf` that has said EHLO and MAIL; the reply to
/// `RCPT TO:<rcpt>`, which must be a 451.
fn rcpt_451(cf: &str, rcpt: &str) -> Reply {
    let mut s = Smtp::start(cf);
    s.cmd("EHLO client.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd(&format!("RCPT TO:<{rcpt}>"), "451")
}

#[test]
fn broken_access_table_is_a_server_configuration_error() {
    rcpt_451(
        "smtpd_recipient_restrictions = check_sender_access lmdb:/nonexistent/postern-senders, permit\n",
        "u@mx.example.org",
    )
    .is("451 4.3.5 <a@b.example>: Sender address rejected: Server configuration error");
}

#[test]
fn broken_network_and_domain_tables_are_temporary_errors() {
    rcpt_451(
        "mynetworks = lmdb:/nonexistent/postern-nets\nsmtpd_relay_restrictions = permit_mynetworks, reject\n",
        "u@mx.example.org",
    )
    .is("451 4.3.0 <u@mx.example.org>: Temporary lookup failure");
    rcpt_451(
        "relay_domains = lmdb:/nonexistent/postern-relay\n",
        "u@elsewhere.example",
    )
    .is("451 4.3.0 <u@elsewhere.example>: Temporary lookup failure");
    rcpt_451(
        "relay_domains = /nonexistent/postern-relay-file\n",
        "u@elsewhere.example",
    );
    let all = whole_log();
    assert!(
        all.contains("warning: mynetworks: lmdb:/nonexistent/postern-nets: table lookup problem"),
        "{all}"
    );
    assert!(
        all.contains(
            "warning: relay_domains: lmdb:/nonexistent/postern-relay: table lookup problem"
        ),
        "{all}"
    );
    assert!(
        all.contains("error: open /nonexistent/postern-relay-file: No such file or directory"),
        "{all}"
    );
}
