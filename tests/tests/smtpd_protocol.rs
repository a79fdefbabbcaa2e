//! NAME
//!   smtpd_protocol - system tests of smtpd's protocol guards, limits,
//!   replies and reject logs, side by side with Debian's Postfix 3.7
//!
//! DESCRIPTION
//!   Each test sends the same pipelined packet (after EHLO) to a Postern
//!   instance and, when Debian's Postfix is installed and we are root, to
//!   a Debian Postfix instance with the same settings, and wants the same
//!   replies from both: SMTP command injection behind a refused DATA (an
//!   administrator-tester's finding: the first header line must end the
//!   session, in SMTP and in `sendmail -bs`), 1,100 recipients (100 x 452
//!   that do not end the session), the replies to DATA without RCPT,
//!   XCLIENT/XFORWARD, unsupported options, oversized messages, bare LF,
//!   and the reject log lines. AUTH with an unreachable auth server is
//!   Postern-only (Postfix 3.7 exits there).
//!
//!   Run: `cargo build -p smtpd -p cleanup -p qmgr -p discard -p master
//!   -p postfix -p sendmail -p postdrop -p pickup -p bounce -p error -p
//!   local -p showq`, then `cargo test -p systest --test smtpd_protocol`.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;
use testkit::{DebianPostfix, Instance};

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "mx.test.example";
const GOODBYE: &str = "221 2.7.0 Error: I can break rules, too. Goodbye.";

/// The settings both servers get.
const SETTINGS: &str = "myhostname = mx.test.example\nmydestination = $myhostname, localhost\n\
     local_recipient_maps = inline:{ptadm=x}\nalias_maps =\nsmtpd_peername_lookup = no\n\
     smtpd_error_sleep_time = 0\ndefault_transport = discard\nlocal_transport = discard\n\
     message_size_limit = 100000\nsmtpd_forbid_bare_newline = reject\n\
     smtpd_forbid_bare_newline_exclusions =\n";

fn postern(extra: &str) -> Instance {
    Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .mail_pipeline()
        .main_cf(&format!("{SETTINGS}{extra}"))
        .start()
}

/// Debian's Postfix with the same settings, when it can run here.
fn debian() -> Option<DebianPostfix> {
    if !DebianPostfix::available() {
        eprintln!("not compared: Debian's postfix package is not installed (or not root)");
        return None;
    }
    Some(DebianPostfix::start(SETTINGS))
}

/// Say EHLO, then send `packet` in one write and return every reply
/// line up to the server's close, with queue IDs blanked.
fn exchange(port: u16, packet: &[u8]) -> Vec<String> {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut rd = BufReader::new(s.try_clone().expect("clone"));
    let mut line = String::new();
    let read = |rd: &mut BufReader<TcpStream>, line: &mut String| {
        line.clear();
        rd.read_line(line).expect("read reply") > 0
    };
    assert!(
        read(&mut rd, &mut line) && line.starts_with("220 "),
        "{line}"
    );
    (&s).write_all(b"EHLO client.example\r\n").expect("write");
    while read(&mut rd, &mut line) && !line.starts_with("250 ") {}
    (&s).write_all(packet).expect("write");
    let mut out = Vec::new();
    while read(&mut rd, &mut line) {
        let l = line.trim_end();
        out.push(match l.find(" queued as ") {
            Some(i) => format!("{} queued as ID", &l[..i]),
            None => l.to_string(),
        });
    }
    out
}

/// The replies of Postern, checked against Debian's when it runs.
fn both(inst: &Instance, deb: Option<&DebianPostfix>, packet: &[u8]) -> Vec<String> {
    let ours = exchange(inst.port("smtp"), packet);
    if let Some(d) = deb {
        let theirs = exchange(d.port(), packet);
        assert_eq!(ours, theirs, "Postern vs Debian's Postfix");
    }
    ours
}

/// Wait for a log line with `needle`, in Postern's log and Debian's.
fn logged(inst: &Instance, deb: Option<&DebianPostfix>, needle: &str) {
    inst.wait_for_log(needle, WAIT);
    if let Some(d) = deb {
        d.wait_for_log(needle, WAIT);
    }
}

/// The tester's packet: RCPT fails, DATA fails, and the message the
/// client sent ahead would be a second transaction if its lines were
/// run as commands.
#[test]
fn message_text_behind_a_refused_data_is_never_run() {
    let inst = postern("");
    let deb = debian();
    let packet = format!(
        "MAIL FROM:<a@client.example>\r\nRCPT TO:<nosuch@{HOST}>\r\nDATA\r\nSubject: hi\r\n\
         X: y\r\n\r\nMAIL FROM:<evil@client.example>\r\nRCPT TO:<ptadm@{HOST}>\r\nDATA\r\n\
         Subject: injected\r\n\r\nbody\r\n.\r\nQUIT\r\n"
    );
    let r = both(&inst, deb.as_ref(), packet.as_bytes());
    assert_eq!(
        r,
        [
            "250 2.1.0 Ok".to_string(),
            format!(
                "550 5.1.1 <nosuch@{HOST}>: Recipient address rejected: User unknown in local \
                 recipient table"
            ),
            "554 5.5.1 Error: no valid recipients".into(),
            GOODBYE.into(),
        ]
    );
    logged(
        &inst,
        deb.as_ref(),
        "warning: non-SMTP command from unknown[127.0.0.1]: Subject: hi",
    );
    logged(
        &inst,
        deb.as_ref(),
        "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=0/1 data=0/1 unknown=0/1 commands=2/5",
    );
    let log = inst.log();
    assert!(!log.contains("from=<evil@"), "{log}");
    assert!(!log.contains(": client=unknown"), "nothing queued: {log}");
}

#[test]
fn sendmail_bs_hangs_up_on_header_lines_too() {
    let inst = postern("");
    let dialogue = format!(
        "HELO client.example\r\nMAIL FROM:<a@client.example>\r\nDATA\r\nSubject: hi\r\n\r\n\
         MAIL FROM:<evil@client.example>\r\nRCPT TO:<ptadm@{HOST}>\r\nDATA\r\nSubject: injected\r\n\
         \r\nbody\r\n.\r\nQUIT\r\n"
    );
    let run = inst.run_program("sendmail", &["-bs"], dialogue.as_bytes());
    let lines: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            &format!("250 {HOST}"),
            "250 2.1.0 Ok",
            "554 5.5.1 Error: no valid recipients",
            GOODBYE
        ],
        "{run}"
    );
    inst.wait_for_log(
        "warning: non-SMTP command from localhost[127.0.0.1]: Subject: hi",
        WAIT,
    );
    assert!(!inst.log().contains("evil@"), "{}", inst.log());
}

/// 1,100 recipients: 1,000 accepted, 100 x 452 that are no errors, and
/// the transaction goes on to be queued.
#[test]
fn a_hundred_recipients_too_many_keep_the_transaction() {
    let inst = postern("");
    let deb = debian();
    let mut packet = "MAIL FROM:<a@client.example>\r\n".to_string();
    for _ in 0..1100 {
        packet.push_str(&format!("RCPT TO:<ptadm@{HOST}>\r\n"));
    }
    packet.push_str("DATA\r\nSubject: many\r\n\r\nx\r\n.\r\nQUIT\r\n");
    let r = both(&inst, deb.as_ref(), packet.as_bytes());
    let n = |want: &str| r.iter().filter(|l| *l == want).count();
    assert_eq!(n("250 2.1.5 Ok"), 1000, "{r:?}");
    assert_eq!(n("452 4.5.3 Error: too many recipients"), 100, "{r:?}");
    assert_eq!(
        r[r.len() - 3..],
        [
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued as ID",
            "221 2.0.0 Bye"
        ]
    );
    logged(
        &inst,
        deb.as_ref(),
        " rcpt=1100 data=1 quit=1 commands=1104",
    );
}

/// Replies to misplaced and refused commands, worded as Postfix 3.7.
#[test]
fn replies_to_refused_commands() {
    let inst = postern("");
    let deb = debian();
    let packet = "DATA\r\nXCLIENT NAME=x\r\nXFORWARD NAME=x\r\n\
        MAIL FROM:<a@client.example> foo\r\nMAIL FROM:<a@client.example> Body=Bogus\r\n\
        MAIL FROM:<a@client.example>\r\nDATA\r\nRCPT TO:<ptadm@mx.test.example> Foo=Bar\r\n\
        RSET\r\nMAIL FROM:<a@client.example> SIZE=20000000\r\nQUIT\r\n";
    let r = both(&inst, deb.as_ref(), packet.as_bytes());
    assert_eq!(
        r,
        [
            "503 5.5.1 Error: need RCPT command",
            "550 5.7.0 Error: insufficient authorization",
            "550 5.7.0 Error: insufficient authorization",
            "555 5.5.4 Unsupported option: foo",
            "555 5.5.4 Unsupported option: Body=Bogus",
            "250 2.1.0 Ok",
            "554 5.5.1 Error: no valid recipients",
            "555 5.5.4 Unsupported option: Foo=Bar",
            "250 2.0.0 Ok",
            "552 5.3.4 Message size exceeds fixed limit",
            "221 2.0.0 Bye",
        ]
    );
    logged(
        &inst,
        deb.as_ref(),
        "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 552 5.3.4 Message size exceeds fixed \
         limit; from=<a@client.example> proto=ESMTP helo=<client.example>",
    );
}

/// Content past message_size_limit, by DATA and by BDAT.
#[test]
fn oversized_messages() {
    let inst = postern("");
    let deb = debian();
    let env = format!("MAIL FROM:<a@client.example>\r\nRCPT TO:<ptadm@{HOST}>\r\n");
    let mut packet = format!("{env}DATA\r\nSubject: big\r\n\r\n");
    for _ in 0..2000 {
        packet.push_str(&"x".repeat(70));
        packet.push_str("\r\n");
    }
    packet.push_str(&format!(".\r\n{env}BDAT 150000 LAST\r\n"));
    packet.push_str(&"y".repeat(150_000));
    packet.push_str("QUIT\r\n");
    let r = both(&inst, deb.as_ref(), packet.as_bytes());
    assert_eq!(
        r,
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "552 5.3.4 Error: message file too big",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "552 5.3.4 Chunk exceeds message size limit",
            "221 2.0.0 Bye",
        ]
    );
    logged(&inst, deb.as_ref(), ": queue file size limit exceeded");
    logged(
        &inst,
        deb.as_ref(),
        ": BDAT request from unknown[127.0.0.1] exceeds message size limit",
    );
}

/// smtpd_forbid_bare_newline = reject: a bare LF in DATA refuses the
/// message and the session goes on; in a command it ends the session.
#[test]
fn bare_newline_reject() {
    let inst = postern("");
    let deb = debian();
    let packet = format!(
        "MAIL FROM:<a@client.example>\r\nRCPT TO:<ptadm@{HOST}>\r\nDATA\r\nx\ny\r\n.\r\n\
         NOOP\nQUIT\r\n"
    );
    let r = both(&inst, deb.as_ref(), packet.as_bytes());
    let bare = format!("550 5.5.2 {HOST} Error: bare <LF> received");
    assert_eq!(
        r,
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            &bare,
            &bare
        ]
    );
    logged(
        &inst,
        deb.as_ref(),
        ": reject: END-OF-MESSAGE from unknown[127.0.0.1]: bare <LF> received; \
         from=<a@client.example> to=<ptadm@mx.test.example> proto=ESMTP helo=<client.example>",
    );
    logged(
        &inst,
        deb.as_ref(),
        "NOQUEUE: reject: END-OF-MESSAGE from unknown[127.0.0.1]: bare <LF> received; \
         proto=ESMTP helo=<client.example>",
    );
}

/// Postfix 3.7 exits when its Dovecot auth server is unreachable;
/// Postern refuses AUTH for the moment and goes on serving.
#[test]
fn auth_with_the_auth_server_down_is_a_temporary_failure() {
    let inst = postern(
        "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n",
    );
    let r = exchange(
        inst.port("smtp"),
        b"AUTH PLAIN AHRlc3QAdGVzdA==\r\nMAIL FROM:<a@client.example>\r\nQUIT\r\n",
    );
    assert_eq!(
        r,
        [
            "454 4.7.0 Temporary authentication failure",
            "250 2.1.0 Ok",
            "221 2.0.0 Bye"
        ]
    );
    inst.wait_for_log(
        "warning: SASL: Connect to Dovecot auth socket 'private/auth' failed: No such file or directory",
        WAIT,
    );
}
