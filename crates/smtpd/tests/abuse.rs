//! In-process session tests: non-SMTP commands (SMTP command injection
//! after a refused DATA), XCLIENT/XFORWARD, and replies and warnings
//! worded as Debian's Postfix 3.7.11 words them (checked against it).
mod common;
use common::*;

const GOODBYE: &str = "221 2.7.0 Error: I can break rules, too. Goodbye.";

/// The packet of the tester's finding: a DATA that fails for want of
/// recipients, then the message pipelined behind it. Postfix hangs up
/// at the first header line; nothing of the second message is run.
#[test]
fn header_line_after_refused_data_hangs_up() {
    let mut s = Smtp::start("");
    s.send(
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nosuch@elsewhere.example>\r\nDATA\r\n\
          Subject: hi\r\nX: y\r\n\r\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<u@mx.example.org>\r\n\
          DATA\r\nSubject: injected\r\n\r\nbody\r\n.\r\nQUIT\r\n",
    );
    s.reply().contains("250 ");
    s.reply().is("250 2.1.0 Ok");
    s.reply().contains("454 4.7.1 <nosuch@elsewhere.example>");
    s.reply().is("554 5.5.1 Error: no valid recipients");
    s.reply().is(GOODBYE);
    s.expect_closed();
    let peer = s.peer.clone();
    let log = s.done();
    assert!(
        log.contains(&format!(
            "warning: non-SMTP command from {peer}: Subject: hi"
        )),
        "{log:?}"
    );
    assert_logged(
        &log,
        &format!("disconnect from {peer} ehlo=1 mail=1 rcpt=0/1 data=0/1 unknown=0/1 commands=2/5"),
    );
}

#[test]
fn the_same_in_stand_alone_mode() {
    let mut s = Smtp::with(Opts {
        stand_alone: true,
        ..Opts::default()
    });
    s.cmd("HELO x", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("DATA", "554");
    s.cmd("Subject: hi", "221").is(GOODBYE);
    s.expect_closed();
    assert!(s.queued().is_empty());
}

/// Which lines are non-SMTP commands, as Debian's Postfix 3.7.11 with
/// its default `smtpd_forbidden_commands = CONNECT GET POST
/// regexp:{{/^[^A-Z]/ Bogus}}` (a case-insensitive regexp) sees them.
#[test]
fn what_counts_as_a_non_smtp_command() {
    for line in [
        "From:a",
        "X-Y: z",
        "subject: hi",
        ".",
        "8BITMIME",
        "GET / HTTP/1.0",
        "post /x",
        "CONNECT a:25",
    ] {
        let mut s = Smtp::start("");
        s.cmd("EHLO x", "250");
        s.cmd(line, "221").is(GOODBYE);
        s.expect_closed();
    }
    for line in ["hello world", "xyzzy", "Foo : bar"] {
        let mut s = Smtp::start("");
        s.cmd("EHLO x", "250");
        s.cmd(line, "500")
            .is("500 5.5.2 Error: command not recognized");
        s.cmd("NOOP", "250");
    }
}

#[test]
fn forbidden_commands_apply_to_unknown_verbs_only() {
    let mut s = Smtp::start("smtpd_forbidden_commands = NOOP FOO\n");
    s.cmd("NOOP", "250");
    s.cmd("foo bar", "221").is(GOODBYE);
    s.expect_closed();
}

#[test]
fn xclient_and_xforward_are_refused() {
    let mut s = Smtp::start("");
    s.cmd("XCLIENT NAME=foo", "550")
        .is("550 5.7.0 Error: insufficient authorization");
    s.cmd("EHLO x", "250").lacks("XCLIENT").lacks("XFORWARD");
    s.cmd("xforward name=foo", "550")
        .is("550 5.7.0 Error: insufficient authorization");
    s.cmd("XCLIENT", "501")
        .is("501 5.5.4 Syntax: XCLIENT attribute=value...");
    s.cmd("XFORWARD", "501")
        .is("501 5.5.4 Syntax: XFORWARD attribute=value...");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("XCLIENT NAME=x", "503")
        .is("503 5.5.1 Error: MAIL transaction in progress");
    s.cmd("QUIT", "221");
    let peer = s.peer.clone();
    let log = s.done();
    assert_logged(
        &log,
        &format!(
            "disconnect from {peer} ehlo=1 xclient=0/3 xforward=0/2 mail=1 quit=1 commands=3/8"
        ),
    );
}

#[test]
fn unsupported_options_are_quoted_as_sent() {
    let mut s = Smtp::start("");
    s.cmd("EHLO x", "250");
    s.cmd("MAIL FROM:<a@b.example> foo", "555")
        .is("555 5.5.4 Unsupported option: foo");
    s.cmd("MAIL FROM:<a@b.example> Body=Bogus", "555")
        .is("555 5.5.4 Unsupported option: Body=Bogus");
    s.cmd("MAIL FROM:<a@b.example> Size=1000 body=8bitmime", "250");
    s.cmd("RCPT TO:<u@mx.example.org> Foo=Bar", "555")
        .is("555 5.5.4 Unsupported option: Foo=Bar");
    s.cmd("RCPT TO:<u@mx.example.org> Notify=never", "250");
}

#[test]
fn illegal_addresses_are_logged() {
    let mut s = Smtp::start("");
    s.cmd("EHLO x", "250");
    s.cmd("MAIL FROM:<a@b.example>x", "501");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<a b@mx.example.org> NOTIFY=NEVER", "501");
    s.cmd("RCPT TO:<>", "501");
    let peer = s.peer.clone();
    let log = s.done();
    for (cmd, arg) in [
        ("MAIL", "<a@b.example>x"),
        ("RCPT", "<a b@mx.example.org>"),
        ("RCPT", "<>"),
    ] {
        let want = format!("warning: Illegal address syntax from {peer} in {cmd} command: {arg}");
        assert!(log.contains(&want), "{want}: {log:?}");
    }
}

/// A header_checks REJECT reaches the client as cleanup worded it,
/// and smtpd logs no reject line of its own (cleanup logs it).
#[test]
fn content_refusal_by_cleanup_is_quoted() {
    let mut s = Smtp::start("");
    *s.cleanup.status.lock().unwrap() = (8, "5.7.1 no bad subjects".into());
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"Subject: bad\r\n\r\nx\r\n.\r\n");
    s.reply().is("550 5.7.1 no bad subjects");
    *s.cleanup.status.lock().unwrap() = (8, "4.7.0 try later".into());
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@mx.example.org>", "250");
    s.cmd("DATA", "354");
    s.send(b"x\r\n.\r\n");
    s.reply().is("451 4.7.0 try later");
    let log = s.done();
    assert!(!log.iter().any(|l| l.contains("reject:")), "{log:?}");
}

/// DATA and END-OF-MESSAGE restriction rejects name the recipient only
/// when there is exactly one.
#[test]
fn data_rejects_name_a_single_recipient() {
    let cf =
        "smtpd_data_restrictions = check_sender_access inline:{{d@b.example=REJECT data no}}\n";
    for rcpts in [1, 2] {
        let mut s = Smtp::start(cf);
        s.envelope("d@b.example", "u@mx.example.org");
        if rcpts == 2 {
            s.cmd("RCPT TO:<v@mx.example.org>", "250");
        }
        s.cmd("DATA", "554")
            .is("554 5.7.1 <d@b.example>: Sender address rejected: data no");
        let to = if rcpts == 1 {
            " to=<u@mx.example.org>"
        } else {
            ""
        };
        let want = format!(
            "{}: reject: DATA from {}: 554 5.7.1 <d@b.example>: Sender address rejected: \
             data no; from=<d@b.example>{to} proto=ESMTP helo=<client.example>",
            s.messages()[0].id,
            s.peer
        );
        assert!(s.log().contains(&want), "{want}\n{:?}", s.log());
    }
}

/// An auth server that cannot be reached: no AUTH in EHLO, a temporary
/// refusal of AUTH with Postfix's warning (Postfix 3.7 itself exits
/// with "fatal: no SASL authentication mechanisms").
#[test]
fn unreachable_auth_server_gives_a_temporary_failure() {
    let mut s = Smtp::with(Opts {
        cf: "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n\
             smtpd_sasl_path = /nonexistent/auth\n"
            .into(),
        sasl: true,
        ..Opts::default()
    });
    s.cmd("EHLO x", "250").lacks("AUTH");
    s.cmd("AUTH PLAIN AHRlc3QAdGVzdA==", "454")
        .is("454 4.7.0 Temporary authentication failure");
    s.cmd("AUTH FOO", "454");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    let all = std::fs::read_to_string(log_path()).unwrap();
    assert!(
        all.contains(
            "warning: SASL: Connect to Dovecot auth socket '/nonexistent/auth' failed: \
             No such file or directory"
        ),
        "{all}"
    );
}
