//! In-process session tests: pipelining, BDAT, bare LF and DATA
//! smuggling, long lines, NUL bytes and 8-bit content (issue 4 "Done
//! when", hostile input).
mod common;
use common::*;

#[test]
fn pipelined_commands_get_replies_in_order() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<x@mx.example.org>\r\nRCPT TO:<y@nowhere.example>\r\nDATA\r\n");
    s.reply().is("250 2.1.0 Ok");
    s.reply().is("250 2.1.5 Ok");
    s.reply()
        .is("454 4.7.1 <y@nowhere.example>: Relay access denied");
    s.reply().is("354 End data with <CR><LF>.<CR><LF>");
    s.send(b"hi\r\n.\r\nQUIT\r\n");
    s.reply().contains("queued as");
    s.reply().is("221 2.0.0 Bye");
    let log = s.done();
    assert!(!log.iter().any(|l| l.contains("improper")), "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("NOQUEUE: reject: RCPT from ")
                || l.contains(": reject: RCPT from ")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("reject: RCPT from") && l.ends_with("454 4.7.1 <y@nowhere.example>: Relay access denied; from=<a@b.example> to=<y@nowhere.example> proto=ESMTP helo=<c.example>")),
        "{log:?}"
    );
}

#[test]
fn unauthorized_pipelining_is_logged_and_can_be_refused() {
    let mut s = Smtp::start("");
    s.send(b"HELO c.example\r\nMAIL FROM:<a@b.example>\r\n");
    s.reply().is("250 mx.example.org");
    s.reply().is("250 2.1.0 Ok");
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.starts_with("improper command pipelining after HELO from ")),
        "{log:?}"
    );
    let mut s = Smtp::start("smtpd_forbid_unauth_pipelining = yes\n");
    s.send(b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n");
    s.reply()
        .is("554 5.5.0 Error: SMTP protocol synchronization");
    s.expect_closed();
    let mut s = Smtp::start("smtpd_data_restrictions = reject_unauth_pipelining\n");
    s.cmd("HELO c.example", "250");
    s.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<a@mx.example.org>\r\nDATA\r\n");
    s.reply();
    s.reply();
    s.reply()
        .is("503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining");
}

#[test]
fn bdat_chunks() {
    let mut s = Smtp::start("");
    s.envelope("a@b.example", "u@mx.example.org");
    s.send(b"BDAT 12\r\nSubject: x\r\nBDAT 11 LAST\r\n\r\nbody\r\n.\r\n");
    s.reply().is("250 2.0.0 Ok: 12 bytes");
    let r = s.reply();
    let q = s.queued();
    assert_eq!(
        r.text,
        format!("250 2.0.0 Ok: 23 bytes queued as {}", q[0].id)
    );
    assert!(
        q[0].text().ends_with("Subject: x\n\nbody\n.\n"),
        "{}",
        q[0].text()
    );
    s.cmd("DATA", "503")
        .is("503 5.5.1 Error: need RCPT command");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@mx.example.org>", "250");
    s.cmd("BDAT 0", "551").is("551 5.7.1 Null BDAT request");
    s.send(b"BDAT 3\r\nabc");
    s.reply().is("250 2.0.0 Ok: 3 bytes");
    s.cmd("RCPT TO:<v@mx.example.org>", "503")
        .is("503 5.5.1 Error: RCPT after BDAT");
    s.cmd("MAIL FROM:<a@b.example>", "503")
        .is("503 5.5.1 Error: MAIL after BDAT");
    s.cmd("DATA", "503").is("503 5.5.1 Error: DATA after BDAT");
    s.cmd("BDAT 0 LAST", "250").contains("queued as");
    s.cmd("BDAT x", "521")
        .is("521 5.5.4 Syntax: BDAT count [LAST]");
    s.expect_closed();
}

#[test]
fn bdat_without_transaction_reads_and_refuses() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    s.send(b"BDAT 5\r\nNOOP\n");
    s.reply().is("503 5.5.1 Error: need RCPT command");
    s.cmd("NOOP", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.send(b"BDAT 5 LAST\r\nNOOP\n");
    s.reply().is("554 5.5.1 Error: no valid recipients");
    s.cmd("NOOP", "250");
}

#[test]
fn data_bare_lf_and_smuggling() {
    // <LF>.<LF> and <LF>.<CR><LF> never end DATA.
    for mode in ["no", "normalize", "reject"] {
        let mut s = Smtp::start(&format!(
            "smtpd_forbid_bare_newline = {mode}\nsmtpd_forbid_bare_newline_exclusions =\n"
        ));
        s.envelope("a@b.example", "u@mx.example.org");
        s.cmd("DATA", "354");
        s.send(b"Subject: a\r\n\r\none\n.\nMAIL FROM:<evil@x>\r\n\n.\r\ntwo\r\n.\nthree\r\n.\r\n");
        let r = s.reply();
        if mode == "reject" {
            r.is("550 5.5.2 mx.example.org Error: bare <LF> received");
            assert!(s.queued().is_empty());
            let id = s.messages()[0].id.clone();
            let want = format!(
                "{id}: reject: END-OF-MESSAGE from {}: bare <LF> received; \
                 from=<a@b.example> to=<u@mx.example.org> proto=ESMTP helo=<client.example>",
                s.peer
            );
            assert!(s.log().contains(&want), "{:?}", s.log());
        } else {
            r.contains("250 2.0.0 Ok: queued as");
            let t = s.queued()[0].text();
            assert!(
                t.ends_with("one\n\nMAIL FROM:<evil@x>\n\n\ntwo\n\nthree\n"),
                "{mode}: {t}"
            );
        }
        s.cmd("NOOP", "250");
    }
}

#[test]
fn bare_lf_in_commands() {
    let mut s = Smtp::start("");
    s.send(b"HELO c.example\n");
    s.reply().is("250 mx.example.org");
    let mut s =
        Smtp::start("smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions =\n");
    s.cmd("EHLO c.example", "250");
    s.send(b"NOOP\nQUIT\r\n");
    s.reply()
        .is("550 5.5.2 mx.example.org Error: bare <LF> received");
    // Postfix hangs up after the refusal: QUIT is never read.
    s.expect_closed();
    let peer = s.peer.clone();
    let log = s.done();
    let want = format!(
        "NOQUEUE: reject: EHLO from {peer}: bare <LF> received; proto=ESMTP helo=<c.example>"
    );
    assert!(log.contains(&want), "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.starts_with("disconnect from") && l.ends_with(" ehlo=1 commands=1")),
        "{log:?}"
    );
}

#[test]
fn long_lines_and_nul_bytes() {
    let mut s = Smtp::start("");
    s.cmd("EHLO c.example", "250");
    let long = format!("MAIL FROM:<{}@b.example>", "a".repeat(1990));
    assert!(long.len() >= 2000);
    s.cmd(&long, "250");
    s.cmd("RSET", "250");
    let longer = format!("NOOP {}", "x".repeat(5000));
    s.cmd(&longer, "250");
    s.send(b"MAIL FROM:<a\0b@c.example>\r\n");
    s.reply().is("501 5.1.7 Bad sender address syntax");
    s.send(b"NO\0OP\r\n");
    s.reply().is("500 5.5.2 Error: command not recognized");
    s.send(b"\xff\xfe\r\n");
    s.reply().is("500 5.5.2 Error: bad UTF-8 syntax");
    // NUL and very long lines in content pass through.
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@mx.example.org>", "250");
    s.cmd("DATA", "354");
    let mut body = b"x\0y\r\n".to_vec();
    body.extend(vec![b'z'; 5000]);
    body.extend_from_slice(b"\r\n.\r\n");
    s.send(&body);
    s.reply().contains("queued as");
    let t = s.queued()[0].content.clone();
    assert!(t.windows(4).any(|w| w == b"x\0y\n"));
    assert!(t.ends_with(&[b'z'; 10][..]) || t.ends_with(b"zzz\n"));
}

#[test]
fn eight_bit_without_8bitmime_is_accepted() {
    let mut s = Smtp::start("");
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"Subject: \xe9t\xe9\r\n\r\n\xff\r\n.\r\n");
    s.reply().contains("queued as");
    assert_eq!(
        s.queued()[0].env.as_ref().unwrap().encoding.as_deref(),
        Some("7bit")
    );
}
