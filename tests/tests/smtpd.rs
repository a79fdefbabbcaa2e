//! NAME
//!   smtpd - system tests of smtpd(8) with clients no one here wrote
//!
//! DESCRIPTION
//!   Each test starts an instance with smtpd on a free loopback port,
//!   cleanup, qmgr and the discard transport (every destination is
//!   "delivered" by discard, so a `status=sent` line proves the message
//!   went through the whole pipeline), then talks to smtpd with swaks
//!   (plain and pipelined), Python's smtplib (SMTPUTF8 send_message),
//!   Postfix's smtp-source (10 sessions in parallel), and raw BDAT.
//!
//!   Run: `cargo build -p smtpd -p cleanup -p qmgr -p discard -p master
//!   -p postfix` (or the workspace) then `cargo test -p systest --test
//!   smtpd`.
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(30);

fn start() -> Instance {
    Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .master_cf_line("qmgr unix n - n 300 1 qmgr")
        .master_cf_line("discard unix - - n - - discard")
        .master_cf_line("error unix - - n - - error")
        .master_cf_line("retry unix - - n - - error")
        .master_cf_line("bounce unix - - n - 0 bounce")
        .master_cf_line("defer unix - - n - 0 bounce")
        .master_cf_line("anvil unix - - n - 1 anvil")
        .main_cf(
            "compatibility_level = 3.6\nmyhostname = mx.test.example\n\
             mydestination = $myhostname, localhost\nmynetworks = 10.9.9.0/24\n\
             smtpd_peername_lookup = no\nlocal_recipient_maps =\n\
             default_transport = discard\nlocal_transport = discard\n\
             smtpd_error_sleep_time = 0\n",
        )
        .start()
}

fn count(inst: &Instance, needle: &str) -> usize {
    inst.log().matches(needle).count()
}

fn wait_count(inst: &Instance, needle: &str, n: usize) {
    let ok = wait_until(WAIT, || (count(inst, needle) >= n).then_some(()));
    assert!(
        ok.is_some(),
        "wanted {n} x {needle:?}; log:\n{}",
        inst.log()
    );
}

fn swaks(inst: &Instance, extra: &[&str]) -> std::process::Output {
    let server = format!("127.0.0.1:{}", inst.port("smtp"));
    let mut args = vec![
        "--server",
        &server,
        "--from",
        "sender@client.example",
        "--to",
        "user@mx.test.example",
        "--helo",
        "client.example",
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    Command::new("swaks")
        .args(&args)
        .output()
        .expect("run swaks")
}

#[test]
fn swaks_plain_and_pipelined() {
    let inst = start();
    let out = swaks(&inst, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("<-  250 2.0.0 Ok: queued as "), "{text}");
    assert!(
        text.contains("<-  220 mx.test.example ESMTP Postfix"),
        "{text}"
    );
    let out = swaks(&inst, &["--pipeline"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("queued as"), "{text}");
    wait_count(&inst, "status=sent", 2);
    let log = inst.log();
    assert!(log.contains("postfix/smtpd["), "{log}");
    assert!(log.contains(": client=unknown[127.0.0.1]"), "{log}");
    assert!(
        log.contains(
            "disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"
        ),
        "{log}"
    );
    assert!(!log.contains("improper command pipelining"), "{log}");
    // Relaying is refused for clients outside mynetworks.
    let out = swaks(&inst, &["--to", "someone@elsewhere.example"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("454 4.7.1 <someone@elsewhere.example>: Relay access denied"),
        "{text}"
    );
    assert!(inst.log().contains("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 454 4.7.1 <someone@elsewhere.example>: Relay access denied; from=<sender@client.example> to=<someone@elsewhere.example> proto=ESMTP helo=<client.example>"));
}

#[test]
fn python_smtplib_smtputf8() {
    let inst = start();
    let script = format!(
        r#"
import smtplib
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "jörg@client.example"
m["To"] = "ü@mx.test.example"
m["Subject"] = "grüße"
m.set_content("hällo\n")
with smtplib.SMTP("127.0.0.1", {port}, timeout=20) as s:
    s.ehlo("client.example")
    assert s.has_extn("smtputf8"), s.esmtp_features
    print(s.send_message(m, mail_options=["SMTPUTF8"]))
"#,
        port = inst.port("smtp")
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wait_count(&inst, "to=<ü@mx.test.example>", 1);
}

#[test]
fn smtp_source_ten_sessions() {
    let inst = start();
    let target = format!("127.0.0.1:{}", inst.port("smtp"));
    let out = Command::new("smtp-source")
        .args([
            "-s",
            "10",
            "-m",
            "200",
            "-l",
            "2000",
            "-f",
            "src@client.example",
            "-t",
            "sink@mx.test.example",
            &target,
        ])
        .output()
        .expect("smtp-source");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_count(&inst, "status=sent", 200);
    assert_eq!(count(&inst, "Ok: queued as"), 0, "replies are not logged");
    assert_eq!(count(&inst, "warning"), 0, "{}", inst.log());
}

#[test]
fn raw_bdat_message() {
    let inst = start();
    let s = TcpStream::connect(("127.0.0.1", inst.port("smtp"))).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut line = String::new();
    let mut reply = |r: &mut BufReader<TcpStream>| loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.as_bytes().get(3) != Some(&b'-') {
            return line.clone();
        }
    };
    assert!(reply(&mut r).starts_with("220 "));
    w.write_all(b"EHLO client.example\r\n").unwrap();
    assert!(reply(&mut r).starts_with("250 CHUNKING"));
    let body = b"Subject: bdat\r\n\r\nhello\r\n";
    w.write_all(b"MAIL FROM:<a@client.example>\r\nRCPT TO:<b@mx.test.example>\r\n")
        .unwrap();
    w.write_all(format!("BDAT {} LAST\r\n", body.len()).as_bytes())
        .unwrap();
    w.write_all(body).unwrap();
    assert!(reply(&mut r).starts_with("250 2.1.0"));
    assert!(reply(&mut r).starts_with("250 2.1.5"));
    let last = reply(&mut r);
    assert!(
        last.starts_with(&format!("250 2.0.0 Ok: {} bytes queued as ", body.len())),
        "{last}"
    );
    w.write_all(b"QUIT\r\n").unwrap();
    assert!(reply(&mut r).starts_with("221 2.0.0 Bye"));
    wait_count(&inst, "to=<b@mx.test.example>", 1);
}
