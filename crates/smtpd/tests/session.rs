//! In-process session tests: the commands (HELO/EHLO, MAIL, RCPT,
//! DATA, VRFY, ETRN, QUIT), their syntax and sequence, and stand-alone
//! mode (issue 4 "Done when"). Pipelining, BDAT and hostile input are in
//! input.rs, the limits in limits.rs.
mod common;
use common::*;

#[test]
fn greeting_helo_and_quit() {
    let mut s = Smtp::start("");
    assert_eq!(s.greeting, "220 mx.example.org ESMTP Postfix");
    s.cmd("HELO", "501").is("501 Syntax: HELO hostname");
    s.cmd("HELO client.example", "250").is("250 mx.example.org");
    s.cmd("NOOP", "250").is("250 2.0.0 Ok");
    s.cmd("RSET", "250").is("250 2.0.0 Ok");
    s.cmd("RSET x", "501").is("501 5.5.4 Syntax: RSET");
    s.cmd("QUIT", "221").is("221 2.0.0 Bye");
    s.expect_closed();
    let log = s.done();
    assert!(
        log.iter().any(|l| l.starts_with("connect from unknown[")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.starts_with("disconnect from unknown[")
            && l.ends_with("helo=1/2 rset=1/2 noop=1 quit=1 commands=4/6")),
        "{log:?}"
    );
}

#[test]
fn ehlo_keywords_and_discards() {
    let mut s = Smtp::start("");
    s.cmd("EHLO client.example", "250").is(
        "250-mx.example.org\n250-PIPELINING\n250-SIZE 10240000\n250-VRFY\n250-ETRN\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING",
    );
    s.cmd("EHLO", "501").is("501 Syntax: EHLO hostname");
    let mut s = Smtp::start("smtpd_discard_ehlo_keywords = chunking, vrfy, dsn\ndisable_vrfy_command = yes\nmessage_size_limit = 0\n");
    s.cmd("EHLO client.example", "250")
        .lacks("CHUNKING")
        .lacks("VRFY")
        .lacks("DSN")
        .contains("250-SIZE\n")
        .contains("250 SMTPUTF8");
    s.cmd("VRFY root", "502")
        .is("502 5.5.1 VRFY command is disabled");
    s.cmd("MAIL FROM:<a@b.example> RET=FULL", "501")
        .is("501 5.7.1 DSN support is disabled");
}

#[test]
fn a_message_is_queued_with_received_header() {
    let mut s = Smtp::start("");
    s.envelope("sender@client.example", "user@mx.example.org");
    s.cmd("DATA", "354")
        .is("354 End data with <CR><LF>.<CR><LF>");
    s.send(b"Subject: hi\r\n\r\nline 1\r\n..dot\r\n.\r\n");
    let r = s.reply();
    let q = s.queued();
    assert_eq!(q.len(), 1);
    assert_eq!(r.text, format!("250 2.0.0 Ok: queued as {}", q[0].id));
    let text = q[0].text();
    let re_head = format!(
        "Received: from client.example (unknown [{}])\n\tby mx.example.org (Postfix) with ESMTP id {}\n\tfor <user@mx.example.org>; ",
        s.peer.trim_start_matches("unknown[").trim_end_matches(']'),
        q[0].id
    );
    assert!(text.starts_with(&re_head), "{text}");
    assert!(
        text.ends_with("(UTC)\nSubject: hi\n\nline 1\n.dot\n"),
        "{text}"
    );
    let env = q[0].env.clone().unwrap();
    assert_eq!(env.sender, "sender@client.example");
    assert_eq!(env.recipients[0].address, "user@mx.example.org");
    assert_eq!(env.protocol_name.as_deref(), Some("ESMTP"));
    assert_eq!(env.helo_name.as_deref(), Some("client.example"));
    assert_eq!(env.encoding.as_deref(), Some("7bit"));
    assert_eq!(env.to_attrs().str("rewrite_context").unwrap(), "remote");
    s.cmd("QUIT", "221");
    let log = s.done();
    let id = &q[0].id;
    assert!(
        log.iter()
            .any(|l| *l == format!("{id}: client={}", log_peer(&log))),
        "{log:?}"
    );
    assert!(
        log.last()
            .unwrap()
            .ends_with("ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
        "{log:?}"
    );
}

fn log_peer(log: &[String]) -> String {
    log[0].trim_start_matches("connect from ").to_string()
}

#[test]
fn two_recipients_put_the_date_on_its_own_line() {
    let mut s = Smtp::start("");
    s.envelope("", "a@mx.example.org");
    s.cmd("RCPT TO:<b@mx.example.org>", "250");
    s.cmd("DATA", "354");
    s.send(b"x\r\n.\r\n");
    s.reply();
    let t = s.queued()[0].text();
    assert!(
        t.contains(&format!("with ESMTP id {};\n\t", s.queued()[0].id)),
        "{t}"
    );
    assert_eq!(s.queued()[0].env.as_ref().unwrap().sender, "");
}

#[test]
fn sequence_errors() {
    let mut s = Smtp::start("");
    s.cmd("RCPT TO:<a@mx.example.org>", "503")
        .is("503 5.5.1 Error: need MAIL command");
    s.cmd("DATA", "503")
        .is("503 5.5.1 Error: need RCPT command");
    s.cmd("MAIL FROM:<a@b.example>", "250").is("250 2.1.0 Ok");
    s.cmd("MAIL FROM:<a@b.example>", "503")
        .is("503 5.5.1 Error: nested MAIL command");
    s.cmd("DATA", "554")
        .is("554 5.5.1 Error: no valid recipients");
    s.cmd("RCPT TO:<x@elsewhere.example>", "454");
    s.cmd("DATA", "554")
        .is("554 5.5.1 Error: no valid recipients");
    s.cmd("DATA x", "501").is("501 5.5.4 Syntax: DATA");
    s.cmd("FOO", "500")
        .is("500 5.5.2 Error: command not recognized");
    s.cmd("HELP", "500");
    s.cmd("", "500").is("500 5.5.2 Error: bad syntax");
    s.cmd("STARTTLS", "502")
        .is("502 5.5.1 Error: command not implemented");
}

#[test]
fn helo_required() {
    let mut s = Smtp::start("smtpd_helo_required = yes\n");
    s.cmd("MAIL FROM:<a@b.example>", "503")
        .is("503 5.5.1 Error: send HELO/EHLO first");
    s.cmd("HELO x.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
}

/// Debian's Postfix 3.7 accepts a UTF-8 address without SMTPUTF8 unless
/// strict_smtputf8 = yes (also with smtputf8_enable = no).
#[test]
fn utf8_address_without_smtputf8() {
    for (cf, code) in [
        ("", "250"),
        ("smtputf8_enable = no\n", "250"),
        ("strict_smtputf8 = yes\n", "553"),
    ] {
        let mut s = Smtp::start(cf);
        s.cmd("EHLO c.example", "250");
        let r = s.cmd("MAIL FROM:<jö@b.example>", code);
        if code == "553" {
            r.is("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
        }
    }
}

#[test]
fn mail_and_rcpt_syntax() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL", "501")
        .is("501 5.5.4 Syntax: MAIL FROM:<address>");
    s.cmd("MAIL TO:<a@b>", "501")
        .is("501 5.5.4 Syntax: MAIL FROM:<address>");
    s.cmd("MAIL FROM:<a b@c>", "501")
        .is("501 5.1.7 Bad sender address syntax");
    s.cmd("MAIL FROM:<a@b", "501")
        .is("501 5.1.7 Bad sender address syntax");
    s.cmd("MAIL FROM:<a@b.example> SIZE=x", "501")
        .is("501 5.5.4 Bad message size syntax");
    s.cmd("MAIL FROM:<a@b.example> SIZE=99999999", "552")
        .is("552 5.3.4 Message size exceeds fixed limit");
    s.cmd("MAIL FROM:<a@b.example> FOO=1", "555")
        .is("555 5.5.4 Unsupported option: FOO=1");
    s.cmd("MAIL FROM:<a@b.example> BODY=BINARYMIME", "555")
        .is("555 5.5.4 Unsupported option: BODY=BINARYMIME");
    s.cmd("MAIL FROM:<a@b.example> RET=SOME", "501")
        .is("501 5.5.4 Bad RET parameter syntax");
    s.cmd("MAIL FROM:<a@b.example> ENVID=a+zz", "501")
        .is("501 5.5.4 Bad ENVID parameter syntax");
    s.cmd(
        "MAIL FROM: <a@b.example> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=x+2By",
        "250",
    );
    s.cmd("RCPT TO:", "501")
        .is("501 5.5.4 Syntax: RCPT TO:<address>");
    s.cmd("RCPT TO:<>", "501")
        .is("501 5.1.3 Bad recipient address syntax");
    s.cmd("RCPT TO:<a@mx.example.org> NOTIFY=NEVER,SUCCESS", "501")
        .is("501 5.5.4 Error: Bad NOTIFY parameter syntax");
    s.cmd("RCPT TO:<a@mx.example.org> ORCPT=bad", "501")
        .is("501 5.5.4 Error: Bad ORCPT parameter syntax");
    s.cmd("RCPT TO:<a@mx.example.org> XYZ", "555")
        .is("555 5.5.4 Unsupported option: XYZ");
    s.cmd(
        "RCPT TO:<a@mx.example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bx@mx.example.org",
        "250",
    );
    s.cmd("DATA", "354");
    s.send(b"\r\n.\r\n");
    s.reply();
    let env = s.queued()[0].env.clone().unwrap();
    assert_eq!(env.envid.as_deref(), Some("x+y"));
    assert_eq!(env.ret.as_deref(), Some("hdrs"));
    assert_eq!(env.encoding.as_deref(), Some("8bit"));
    assert_eq!(env.recipients[0].notify, 2 | 4);
    assert_eq!(
        env.recipients[0].orcpt.as_deref(),
        Some("rfc822;a+x@mx.example.org")
    );
}

#[test]
fn strict_envelopes() {
    let mut s = Smtp::start("strict_rfc821_envelopes = yes\n");
    s.cmd("MAIL FROM:a@b.example", "501")
        .is("501 5.1.7 Bad sender address syntax");
    s.cmd("MAIL FROM: <a@b.example>", "501");
    s.cmd("MAIL FROM:<a@b.example>", "250");
}

#[test]
fn smtputf8_message() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<jö@b.example> SMTPUTF8", "250");
    s.cmd("RCPT TO:<ü@mx.example.org>", "250");
    s.cmd("DATA", "354");
    s.send("Subject: grüße\r\n\r\nbody\r\n.\r\n".as_bytes());
    s.reply();
    let m = &s.queued()[0];
    assert!(m.env.as_ref().unwrap().smtputf8);
    assert!(m.text().contains("with UTF8SMTP id"), "{}", m.text());
}

#[test]
fn vrfy_and_etrn() {
    let mut s = Smtp::start("");
    s.cmd("VRFY", "501")
        .is("501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
    s.cmd("VRFY root", "252").is("252 2.0.0 root");
    s.cmd("ETRN relay.example", "503")
        .is("503 Error: send HELO/EHLO first");
    s.cmd("EHLO c.example", "250");
    s.cmd("ETRN", "500").is("500 Syntax: ETRN domain");
    s.cmd("ETRN -bad-", "501")
        .is("501 Error: invalid parameter syntax");
    s.cmd("ETRN other.example", "459")
        .is("459 <other.example>: service unavailable");
    s.cmd("MAIL FROM:<>", "250");
    s.cmd("ETRN relay.example", "503")
        .is("503 Error: MAIL transaction in progress");
}

#[test]
fn etrn_flushes_fast_flush_domains_only() {
    let mut s = Smtp::start(
        "smtpd_etrn_restrictions = check_client_access cidr:{{0.0.0.0/0 OK}}, reject\n",
    );
    s.cmd("EHLO c.example", "250");
    s.cmd("ETRN a b", "500").is("500 Syntax: ETRN domain");
    s.cmd("ETRN @relay.example", "250")
        .is("250 Queuing started");
    s.cmd("ETRN relay.example", "250").is("250 Queuing started");
    s.cmd("ETRN other.example", "459");
    let mut s = Smtp::start("smtpd_etrn_restrictions = reject\n");
    s.cmd("EHLO c.example", "250");
    s.cmd("ETRN relay.example", "554")
        .is("554 5.7.1 <relay.example>: Etrn command rejected: Access denied");
    let log = s.done();
    assert!(
        log.iter().any(|l| l.starts_with("NOQUEUE: reject: ETRN from ")
            && l.ends_with(": 554 5.7.1 <relay.example>: Etrn command rejected: Access denied; proto=ESMTP helo=<c.example>")),
        "{log:?}"
    );
    let mut s = Smtp::with(Opts {
        stand_alone: true,
        ..Opts::default()
    });
    s.cmd("EHLO c.example", "250");
    s.cmd("ETRN relay.example", "458")
        .is("458 Unable to queue messages");
}

#[test]
fn commands_after_quit_are_ignored() {
    let mut s = Smtp::start("");
    s.send(b"QUIT\r\nNOOP\r\nMAIL FROM:<a@b>\r\n");
    s.reply().is("221 2.0.0 Bye");
    s.expect_closed();
}

#[test]
fn forbidden_commands() {
    let mut s = Smtp::start("");
    s.send(b"GET / HTTP/1.0\r\n");
    s.reply()
        .is("221 2.7.0 Error: I can break rules, too. Goodbye.");
    s.expect_closed();
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.starts_with("warning: non-SMTP command from ")
                && l.ends_with("GET / HTTP/1.0")),
        "{log:?}"
    );
}

#[test]
fn cleanup_refusal_is_reported() {
    let s0 = Smtp::start("");
    drop(s0);
    let mut s = Smtp::start("");
    *s.cleanup.status.lock().unwrap() = (4, "5.3.4 Message file too big".into());
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"x\r\n.\r\n");
    s.reply().is("552 5.3.4 Error: message file too big");
}

#[test]
fn stand_alone_mode_is_localhost_and_lf_dot_ends_data() {
    let mut s = Smtp::with(Opts {
        stand_alone: true,
        ..Opts::default()
    });
    s.cmd("HELO me", "250");
    s.cmd("MAIL FROM:<u@mx.example.org>", "250");
    s.cmd("RCPT TO:<v@mx.example.org>", "250");
    s.cmd("DATA", "354");
    s.send(b"hello\n.\n");
    s.reply().contains("queued as");
    assert!(s.queued()[0]
        .text()
        .starts_with("Received: from me (localhost [127.0.0.1])"));
    assert_eq!(s.peer, "localhost[127.0.0.1]");
}
