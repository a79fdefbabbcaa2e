//! In-process session tests: the limits and what ends a session
//! (recipient and size limits, error and junk-command limits, timeout,
//! lost connection).
mod common;
use common::*;

#[test]
fn recipient_limit_1001() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    let mut batch = String::new();
    for i in 0..1001 {
        batch.push_str(&format!("RCPT TO:<u{i}@mx.example.org>\r\n"));
    }
    s.send(batch.as_bytes());
    for _ in 0..1000 {
        s.reply().is("250 2.1.5 Ok");
    }
    s.reply().is("452 4.5.3 Error: too many recipients");
    s.cmd("DATA", "354");
    s.send(b".\r\n");
    s.reply().contains("queued as");
    assert_eq!(s.queued()[0].env.as_ref().unwrap().recipients.len(), 1000);
}

#[test]
fn message_size_limit_is_enforced_after_reading_everything() {
    let mut s = Smtp::start("message_size_limit = 1000\n");
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    let mut body = Vec::new();
    for _ in 0..100 {
        body.extend_from_slice(b"0123456789012345678901234567890123456789\r\n");
    }
    body.extend_from_slice(b".\r\n");
    s.send(&body);
    s.reply().is("552 5.3.4 Error: message file too big");
    assert!(s.queued().is_empty());
    s.cmd("NOOP", "250");
    let id = s.messages()[0].id.clone();
    let all = std::fs::read_to_string(log_path()).unwrap();
    assert!(
        all.contains(&format!("warning: {id}: queue file size limit exceeded")),
        "{all}"
    );
    let log = s.log();
    assert!(!log.iter().any(|l| l.contains("reject:")), "{log:?}");
}

#[test]
fn bdat_past_the_size_limit_is_refused_per_chunk() {
    let mut s = Smtp::start(
        "message_size_limit = 1000
",
    );
    s.envelope("a@b.example", "u@mx.example.org");
    let mut chunk = b"BDAT 3000 LAST\r\n".to_vec();
    chunk.extend(vec![b'y'; 3000]);
    s.send(&chunk);
    s.reply().is("552 5.3.4 Chunk exceeds message size limit");
    assert!(s.queued().is_empty());
    s.cmd("NOOP", "250");
    let want = format!(
        "warning: {}: BDAT request from {} exceeds message size limit",
        s.messages()[0].id,
        s.peer
    );
    assert!(s.log().contains(&want), "{:?}", s.log());
}

#[test]
fn size_refused_at_mail_is_logged() {
    let mut s = Smtp::start(
        "message_size_limit = 1000
",
    );
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example> SIZE=20000000", "552")
        .is("552 5.3.4 Message size exceeds fixed limit");
    let want = format!(
        "NOQUEUE: reject: MAIL from {}: 552 5.3.4 Message size exceeds fixed limit; \
         from=<a@b.example> proto=ESMTP helo=<c.example>",
        s.peer
    );
    assert!(s.log().contains(&want), "{:?}", s.log());
}

/// Postfix counts `452 too many recipients` as an error only past
/// smtpd_recipient_overshoot_limit, and as a successful RCPT before.
#[test]
fn too_many_recipients_count_as_errors_only_past_the_overshoot_limit() {
    let mut s = Smtp::start("smtpd_recipient_limit = 3\nsmtpd_recipient_overshoot_limit = 2\n");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    let mut batch = Vec::new();
    for _ in 0..30 {
        batch.extend_from_slice(b"RCPT TO:<u@mx.example.org>\r\n");
    }
    s.send(&batch);
    for _ in 0..3 {
        s.reply().is("250 2.1.5 Ok");
    }
    // 2 within the overshoot limit, then 20 errors (smtpd_hard_error_limit).
    for _ in 0..22 {
        s.reply().is("452 4.5.3 Error: too many recipients");
    }
    s.reply()
        .is("421 4.7.0 mx.example.org Error: too many errors");
    s.expect_closed();
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.ends_with(" ehlo=1 mail=1 rcpt=5/25 commands=7/27")),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.contains("reject:")), "{log:?}");
}

#[test]
fn a_hundred_recipients_too_many_keep_the_session() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    let mut batch = Vec::new();
    for _ in 0..1100 {
        batch.extend_from_slice(b"RCPT TO:<u@mx.example.org>\r\n");
    }
    batch.extend_from_slice(b"RSET\r\nQUIT\r\n");
    s.send(&batch);
    for i in 0..1100 {
        let want = if i < 1000 {
            "250 2.1.5 Ok"
        } else {
            "452 4.5.3 Error: too many recipients"
        };
        s.reply().is(want);
    }
    s.reply().is("250 2.0.0 Ok");
    s.reply().is("221 2.0.0 Bye");
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.ends_with(" rcpt=1100 rset=1 quit=1 commands=1104")),
        "{log:?}"
    );
}

#[test]
fn error_limits_close_the_session() {
    let mut s = Smtp::start("smtpd_hard_error_limit = 3\n");
    s.cmd("BOGUS", "500");
    s.cmd("BOGUS", "500");
    s.cmd("BOGUS", "500");
    s.reply()
        .is("421 4.7.0 mx.example.org Error: too many errors");
    s.expect_closed();
    let log = s.done();
    assert!(
        log.iter().any(|l| l.starts_with("too many errors after ")),
        "{log:?}"
    );
}

#[test]
fn junk_commands_count_as_errors_past_the_limit() {
    // As Postfix counts them: a junk command is an error once more than
    // the limit came before it (the 4th and 5th here); an unknown command
    // is an error of its own, not junk.
    let mut s = Smtp::start("smtpd_junk_command_limit = 2\nsmtpd_hard_error_limit = 3\n");
    s.cmd("XYZZY", "500");
    for _ in 0..4 {
        s.cmd("NOOP", "250");
    }
    s.cmd("RSET", "250");
    s.reply()
        .is("421 4.7.0 mx.example.org Error: too many errors");
    s.expect_closed();
}

#[test]
fn timeout_closes_with_421() {
    let mut s = Smtp::start("smtpd_timeout = 1s\n");
    s.send(b"NOOP");
    s.reply()
        .is("421 4.4.2 mx.example.org Error: timeout exceeded");
    s.expect_closed();
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.starts_with("timeout after CONNECT from ")),
        "{log:?}"
    );
}

#[test]
fn lost_connection_in_data_is_logged_with_bytes() {
    let mut s = Smtp::start("");
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"Subject: x\r\n");
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.starts_with("lost connection after DATA (12 bytes) from ")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4")),
        "{log:?}"
    );
}
