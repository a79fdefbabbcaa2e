//! NAME
//!   smtpd_tls - system tests of TLS in smtpd(8) with clients no one here wrote
//!
//! DESCRIPTION
//!   Each test makes its certificates with openssl(1) ([`tls_pki`]),
//!   starts an instance whose smtpd offers STARTTLS (or runs in wrapper
//!   mode) and talks to it with `openssl s_client`, swaks, Python's
//!   smtplib, Postfix's posttls-finger and Debian's Postfix smtp client.
//!   Session resumption is in smtpd_tls_resume.rs. The regression tests are named after their entry in
//!   TLS_CHANGES.txt (`y2000_09_03_...`) or the CVE they cover.
//!
//!   Run: `cargo build -p smtpd -p tlsmgr -p cleanup -p qmgr -p discard
//!   -p local -p bounce -p error -p master -p postfix` then `cargo test
//!   -p systest --test smtpd_tls`.
mod tls_pki;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};
use testkit::run::run;
use testkit::{test_user, wait_until};
use tls_pki::{s_client, start, swaks, wait_log, Pki, HOST, WAIT};

#[test]
fn openssl_s_client_starttls_rsa_and_ecdsa() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let ca = pki.file("ca.pem");
    let base = [
        "-CAfile",
        ca.as_str(),
        "-verify_return_error",
        "-servername",
        HOST,
    ];
    let input = "EHLO client.example\nQUIT\n";
    let out = s_client(&inst, "smtp", &base, input);
    assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
    assert!(out.contains("250-PIPELINING"), "{out}");
    assert!(
        !out.contains("STARTTLS"),
        "no STARTTLS once TLS is on: {out}"
    );
    assert!(out.contains("221 2.0.0 Bye"), "{out}");
    let mut args = base.to_vec();
    args.extend(["-tls1_2", "-sigalgs", "ECDSA+SHA256"]);
    let out = s_client(&inst, "smtp", &args, input);
    assert!(out.contains("Peer signature type: ECDSA"), "{out}");
    let mut args = base.to_vec();
    args.extend(["-sigalgs", "rsa_pss_rsae_sha256"]);
    let out = s_client(&inst, "smtp", &args, input);
    assert!(out.contains("Peer signature type: RSA-PSS"), "{out}");
    let log = wait_log(
        &inst,
        "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher",
    );
    assert!(
        log.contains(
            "Anonymous TLS connection established from unknown[127.0.0.1]: TLSv1.2 with cipher"
        ),
        "{log}"
    );
    assert!(log.contains("starttls=1"), "{log}");
}

#[test]
fn ehlo_offers_starttls_and_replies_are_postfix_s() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let mut c = inst.connect("smtp");
    assert!(c.read_line().starts_with("220 "));
    c.send("EHLO client.example");
    let mut lines = Vec::new();
    loop {
        let l = c.read_line();
        let last = l.starts_with("250 ");
        lines.push(l);
        if last {
            break;
        }
    }
    assert!(lines.iter().any(|l| l == "250-STARTTLS"), "{lines:?}");
    assert_eq!(c.cmd("STARTTLS now"), "501 5.5.4 Syntax: STARTTLS");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
}

/// Python's smtplib with starttls(): the message arrives with Postfix's
/// TLS comments in Received: and protocol ESMTPS.
#[test]
fn python_smtplib_starttls_and_the_received_header() {
    let Some(user) = test_user("tlsrcv") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let pki = Pki::new();
    let inst = start(&pki, "");
    let script = format!(
        "import smtplib, ssl\n\
         ctx = ssl.create_default_context(cafile='{ca}')\n\
         ctx.check_hostname = False\n\
         s = smtplib.SMTP('127.0.0.1', {port}, local_hostname='client.example')\n\
         s.ehlo()\n\
         assert s.has_extn('starttls')\n\
         s.starttls(context=ctx)\n\
         s.ehlo()\n\
         assert not s.has_extn('starttls')\n\
         s.sendmail('py@client.example', ['{user}@{HOST}'], 'Subject: tls\\r\\n\\r\\nover TLS\\r\\n')\n\
         s.quit()\n",
        ca = pki.file("ca.pem"),
        port = inst.port("smtp"),
        user = user.name,
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    run(cmd, WAIT).assert_ok();
    let ok = wait_until(WAIT, || (user.maildir_count() >= 1).then_some(()));
    assert!(ok.is_some(), "not delivered:\n{}", inst.log());
    let text = user.maildir_text();
    // The client chooses the ECDSA or the RSA certificate.
    let first = "Received: from client.example (unknown [127.0.0.1])\n\
                 \t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\
                 \t key-exchange X25519 server-signature ";
    let rest = " server-digest SHA256)\n\
                \t(No client certificate requested)\n\
                \tby mx.example.com (Postfix) with ESMTPS id ";
    let (a, b) = (text.find(first), text.find(rest));
    assert!(a.is_some() && b.is_some() && a < b, "{text}");
    let sig = &text[a.unwrap() + first.len()..b.unwrap()];
    // Postfix names the curve as OpenSSL does: ECDSA (prime256v1).
    assert!(
        sig.starts_with("ECDSA (") || sig == "RSA-PSS (2048 bits)",
        "{text}"
    );
}

/// Deliver one message to a new local user over STARTTLS with client
/// certificate `cert` (asked for); the Maildir text and the log, or
/// `None` without root.
fn deliver_with_cert(tag: &str, cert: &str) -> Option<(String, String)> {
    let pki = Pki::new();
    let (cert, key) = (
        pki.file(&format!("{cert}.pem")),
        pki.file(&format!("{cert}.key")),
    );
    let args = ["--tls", "--tls-cert", &cert, "--tls-key", &key];
    tls_pki::deliver(&pki, tag, "smtpd_tls_ask_ccert = yes\n", &args)
}

/// swaks --tls with a client certificate: the Received: header names it.
#[test]
fn swaks_tls_with_a_client_certificate() {
    let Some((text, log)) = deliver_with_cert("tlsccert", "client") else {
        return;
    };
    assert!(
        text.contains("\t(Client CN \"client.example\", Issuer \"Test CA\" (verified OK))\n"),
        "{text}"
    );
    let line = "Trusted TLS connection established from unknown[127.0.0.1]";
    assert!(log.contains(line), "{log}");
}

/// Port 465: swaks --tlsc against the wrapper-mode service.
#[test]
fn swaks_tlsc_wrapper_mode() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let r = swaks(&inst, "smtps", &["--tlsc"]);
    assert!(r.success(), "{r}");
    assert!(r.stdout.contains("250 2.0.0 Ok: queued as"), "{r}");
    let log = wait_log(&inst, "status=sent");
    // No tlsmgr here: TLS works without resumption, with warnings (the
    // PRNG seed and the ticket key each asked tlsmgr once).
    let warning = "warning: problem talking to server private/tlsmgr";
    assert!((1..=2).contains(&log.matches(warning).count()), "{log}");
    assert!(
        log.contains("warning: no entropy for TLS key generation from private/tlsmgr"),
        "{log}"
    );
}

/// TLS_CHANGES 2000/12/23: wrapper mode alone (level none) starts the
/// TLS engine.
#[test]
fn y2000_12_23_wrapper_mode_alone_starts_the_engine() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_security_level = none\n");
    let r = swaks(&inst, "smtps", &["--tlsc"]);
    assert!(r.success(), "{r}");
    let mut c = inst.connect("smtp");
    c.read_line();
    assert_eq!(
        c.cmd("STARTTLS"),
        "502 5.5.1 Error: command not implemented"
    );
}

/// TLS_CHANGES 2000/09/03: an unreadable key gives 454 and the session
/// goes on in clear text; the log names the file.
#[test]
fn y2000_09_03_unreadable_key_454_and_plain_text_goes_on() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_key_file = /nonexistent/rsa.key\n");
    let mut c = inst.connect("smtp");
    c.read_line();
    c.send("EHLO client.example");
    while !c.read_line().starts_with("250 ") {}
    assert_eq!(
        c.cmd("STARTTLS"),
        "454 4.7.0 TLS not available due to local problem"
    );
    assert_eq!(c.cmd("MAIL FROM:<a@client.example>"), "250 2.1.0 Ok");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let log = wait_log(&inst, "/nonexistent/rsa.key");
    assert!(log.contains("warning:"), "{log}");
}

/// Level encrypt: 530 before STARTTLS except HELO/EHLO/STARTTLS/NOOP/QUIT.
#[test]
fn encrypt_level_requires_starttls_first() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_security_level = encrypt\n");
    let mut c = inst.connect("smtp");
    c.read_line();
    assert_eq!(c.cmd("HELO client.example"), format!("250 {HOST}"));
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 Ok");
    let m = c.cmd("MAIL FROM:<a@client.example>");
    assert_eq!(m, "530 5.7.0 Must issue a STARTTLS command first");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let r = swaks(&inst, "smtp", &["--tls"]);
    assert!(r.success(), "{r}");
}

/// TLS_CHANGES 2003/06/17: a client that stalls in the handshake is
/// dropped within smtpd_starttls_timeout.
#[test]
fn y2003_06_17_stalled_handshake_is_dropped() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_starttls_timeout = 3s\n");
    let mut c = inst.connect("smtp");
    c.read_line();
    assert_eq!(c.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS");
    // Half a TLS record header, then nothing.
    let t0 = Instant::now();
    let mut raw = TcpStream::connect(("127.0.0.1", inst.port("smtp"))).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = [0u8; 512];
    let _ = raw.read(&mut buf);
    raw.write_all(b"STARTTLS\r\n").unwrap();
    let _ = raw.read(&mut buf);
    raw.write_all(&[0x16, 0x03]).unwrap();
    let closed = loop {
        match raw.read(&mut buf) {
            Ok(0) | Err(_) => break t0.elapsed(),
            Ok(_) => {}
        }
    };
    assert!(closed < Duration::from_secs(20), "dropped after {closed:?}");
    assert!(closed >= Duration::from_secs(2), "dropped after {closed:?}");
    assert!(c.closed_within(Duration::from_secs(20)));
    let log = wait_log(&inst, "SSL_accept error from unknown[127.0.0.1]");
    assert!(log.contains("starttls=0/1"), "{log}");
    assert!(
        log.contains("lost connection after STARTTLS from unknown[127.0.0.1]"),
        "{log}"
    );
}

/// CVE-2011-0411: `STARTTLS\r\nRSET\r\n` in one packet runs no RSET
/// inside TLS.
#[test]
fn cve_2011_0411_pipelined_rset_is_discarded() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let script = format!(
        "import socket, ssl\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         f = s.makefile('rb')\n\
         f.readline()\n\
         s.sendall(b'EHLO client.example\\r\\n')\n\
         while not f.readline().startswith(b'250 '): pass\n\
         s.sendall(b'STARTTLS\\r\\nRSET\\r\\n')\n\
         print(f.readline().decode().strip())\n\
         ctx = ssl.create_default_context(cafile='{ca}')\n\
         t = ctx.wrap_socket(s, server_hostname='{HOST}')\n\
         t.sendall(b'NOOP\\r\\n')\n\
         print(t.recv(512).decode().strip())\n\
         t.sendall(b'QUIT\\r\\n')\n\
         print(t.recv(512).decode().strip())\n",
        port = inst.port("smtp"),
        ca = pki.file("ca.pem"),
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    let r = run(cmd, WAIT);
    r.assert_ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "220 2.0.0 Ready to start TLS",
            "250 2.0.0 Ok",
            "221 2.0.0 Bye"
        ],
        "{r}"
    );
    let log = wait_log(&inst, "disconnect from unknown[127.0.0.1]");
    assert!(!log.contains("rset="), "{log}");
}

/// TLS_CHANGES 2000/09/14: with req_ccert (level encrypt) a client
/// without a certificate cannot send mail.
#[test]
fn y2000_09_14_req_ccert_without_certificate_refuses_mail() {
    let pki = Pki::new();
    let inst = start(
        &pki,
        "smtpd_tls_security_level = encrypt\nsmtpd_tls_req_ccert = yes\n",
    );
    let r = swaks(&inst, "smtp", &["--tls"]);
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout
            .contains("421 4.7.1 mx.example.com Error: No client certificate presented"),
        "{r}"
    );
    let log = wait_log(
        &inst,
        "NOQUEUE: abort: TLS from unknown[127.0.0.1]: No client certificate presented",
    );
    assert!(!log.contains("status=sent"), "{log}");
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    let r = swaks(
        &inst,
        "smtp",
        &["--tls", "--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(r.success(), "{r}");
}

/// TLS_CHANGES 2000/11/24: req_ccert at level may only asks, with
/// Postfix's warning.
#[test]
fn y2000_11_24_req_ccert_at_level_may_behaves_as_ask() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_req_ccert = yes\n");
    let r = swaks(&inst, "smtp", &["--tls"]);
    assert!(r.success(), "{r}");
    let log = wait_log(&inst, "status=sent");
    assert!(
        log.contains("warning: Can't require client certs unless TLS is required"),
        "{log}"
    );
}

/// Relaying by client certificate fingerprint (relay_clientcerts).
#[test]
fn permit_tls_clientcerts_relays_for_a_listed_fingerprint_only() {
    let pki = Pki::new();
    let table = pki.file("relay_clientcerts");
    std::fs::write(
        &table,
        format!("{} client.example\n", pki.fingerprint("client")),
    )
    .unwrap();
    let inst = start(
        &pki,
        &format!(
            "smtpd_tls_ask_ccert = yes\nrelay_clientcerts = texthash:{table}\n\
             smtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination\n"
        ),
    );
    let to = ["--to", "user@remote.example"];
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    let mut args = to.to_vec();
    args.extend(["--tls", "--tls-cert", &cert, "--tls-key", &key]);
    let r = swaks(&inst, "smtp", &args);
    assert!(r.success(), "{r}");
    let (cert2, key2) = (pki.file("client2.pem"), pki.file("client2.key"));
    let mut args = to.to_vec();
    args.extend(["--tls", "--tls-cert", &cert2, "--tls-key", &key2]);
    let r = swaks(&inst, "smtp", &args);
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout
            .contains("554 5.7.1 <user@remote.example>: Relay access denied"),
        "{r}"
    );
}

/// TLS_CHANGES 2001/08/27: an issuer without a CommonName is shown by
/// its organisation.
#[test]
fn y2001_08_27_issuer_without_cn() {
    let Some((text, _)) = deliver_with_cert("tlsnocn", "nocnclient") else {
        return;
    };
    let want = "(Client CN \"nocn.example\", Issuer \"No CN Org\" (verified OK))";
    assert!(text.contains(want), "{text}");
}

/// TLS_CHANGES 2000/09/03 and 2002/01/21: `sendmail -bs` runs smtpd
/// stand-alone without TLS: no STARTTLS, no key read, no warning.
#[test]
fn y2002_01_21_no_tls_in_sendmail_bs() {
    let pki = Pki::new();
    let inst = start(
        &pki,
        "smtpd_tls_security_level = encrypt\nsmtpd_tls_key_file = /nonexistent/bs.key\n",
    );
    let r = inst.sendmail(&["-bs"], "EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n");
    assert!(r.stdout.contains("250-PIPELINING"), "{r}");
    assert!(!r.stdout.contains("250-STARTTLS"), "{r}");
    assert!(
        r.stdout
            .contains("502 5.5.1 Error: command not implemented"),
        "{r}"
    );
    let log = inst.log();
    assert!(!log.contains("/nonexistent/bs.key"), "{log}");
}

/// check_ccert_access: an access(5) table keyed by fingerprint.
#[test]
fn check_ccert_access_acts_on_the_certificate_fingerprint() {
    let pki = Pki::new();
    let table = pki.file("ccert_access");
    let line = format!("{} REJECT certificate revoked\n", pki.fingerprint("client"));
    std::fs::write(&table, line).unwrap();
    let inst = start(
        &pki,
        &format!(
            "smtpd_tls_ask_ccert = yes\n\
             smtpd_recipient_restrictions = check_ccert_access texthash:{table}\n"
        ),
    );
    let send = |who: &str| {
        let (cert, key) = (
            pki.file(&format!("{who}.pem")),
            pki.file(&format!("{who}.key")),
        );
        swaks(
            &inst,
            "smtp",
            &["--tls", "--tls-cert", &cert, "--tls-key", &key],
        )
    };
    let r = send("client");
    assert!(!r.success(), "{r}");
    let want = "554 5.7.1 <client.example>: Client certificate rejected: certificate revoked";
    assert!(r.stdout.contains(want), "{r}");
    let r = send("client2");
    assert!(r.success(), "{r}");
}

/// A 4 MB message over TLS arrives whole (reads and writes across many
/// TLS records).
#[test]
fn large_message_over_tls() {
    let pki = Pki::new();
    let inst = start(&pki, "message_size_limit = 20000000\n");
    let script = format!(
        "import smtplib, ssl\n\
         ctx = ssl.create_default_context(cafile='{ca}')\n\
         ctx.check_hostname = False\n\
         s = smtplib.SMTP('127.0.0.1', {port}, local_hostname='client.example')\n\
         s.starttls(context=ctx)\n\
         body = ''.join('line %07d %s\\r\\n' % (i, 'x' * 60) for i in range(55000))\n\
         s.sendmail('big@client.example', ['user@relay.example'], 'Subject: big\\r\\n\\r\\n' + body)\n\
         s.quit()\n",
        ca = pki.file("ca.pem"),
        port = inst.port("smtp"),
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    run(cmd, WAIT).assert_ok();
    let log = wait_log(&inst, "status=sent");
    let size = log
        .split("size=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse::<u64>().ok())
        .expect("size= in the log");
    assert!(size > 4_000_000, "{log}");
}

/// TLS_CHANGES 2001/08/09: after QUIT smtpd ends TLS with a close_notify
/// exchange (Python's unwrap() succeeds only then).
#[test]
fn y2001_08_09_quit_ends_tls_with_close_notify() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let script = format!(
        "import socket, ssl\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         f = s.makefile('rb')\n\
         f.readline()\n\
         s.sendall(b'STARTTLS\\r\\n')\n\
         f.readline()\n\
         ctx = ssl.create_default_context(cafile='{ca}')\n\
         t = ctx.wrap_socket(s, server_hostname='{HOST}')\n\
         t.sendall(b'QUIT\\r\\n')\n\
         print(t.recv(512).decode().strip())\n\
         t.unwrap()\n\
         print('clean shutdown')\n",
        port = inst.port("smtp"),
        ca = pki.file("ca.pem"),
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    let r = run(cmd, WAIT);
    r.assert_ok();
    assert_eq!(r.stdout, "221 2.0.0 Bye\nclean shutdown\n", "{r}");
}
