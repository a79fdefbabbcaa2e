//! NAME
//!   tls_changes_server - smtpd regression tests for TLS_CHANGES entries that had none
//!
//! DESCRIPTION
//!   doc/TLS_CHANGES_COVERAGE.md classifies every entry of the Postfix/TLS
//!   change log; the server-side entries it lists as behaviour without a
//!   test get one here, named after the entry's date (`y1999_04_06_...`).
//!   Each test makes its certificates with openssl(1) (module
//!   [`tls_pki`]), starts an instance whose smtpd offers STARTTLS, and
//!   talks to it with clients no one here wrote (`openssl s_client`,
//!   swaks, Python's ssl module).
//!
//!   Run: `cargo build -p smtpd -p tlsmgr -p cleanup -p qmgr -p discard
//!   -p local -p bounce -p error -p pickup -p showq -p master -p postfix
//!   -p postconf` then `cargo test -p systest --test tls_changes_server`.
//!
//! SEE ALSO
//!   smtpd_tls.rs, smtpd_tls_resume.rs, sasl.rs (the entries covered
//!   before), /work/shared/reference/TLS_CHANGES.txt.
mod tls_pki;

use std::process::Command;
use testkit::run::run;
use testkit::Instance;
use tls_pki::{deliver, s_client, start, swaks, wait_log, Pki, HOST, WAIT};

/// The Received: header of a delivered message (up to the next header).
fn received(text: &str) -> String {
    let start = text.find("Received: from ").expect("a Received: header");
    let mut out = String::new();
    for (i, line) in text[start..].split_inclusive('\n').enumerate() {
        if i > 0 && !line.starts_with('\t') && !line.starts_with(' ') {
            break;
        }
        out.push_str(line);
    }
    out
}

/// An instance relaying by client certificate with `restrictions` and
/// a relay_clientcerts table holding `entry`, and swaks relaying through
/// it with certificate `client`.
fn relay_by_cert(pki: &Pki, entry: &str, restrictions: &str) -> (Instance, testkit::Run) {
    let table = pki.file("relay_clientcerts");
    std::fs::write(&table, format!("{entry} client.example\n")).unwrap();
    let inst = start(
        pki,
        &format!(
            "smtpd_tls_ask_ccert = yes\nrelay_clientcerts = texthash:{table}\n\
             smtpd_relay_restrictions = {restrictions}\n"
        ),
    );
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    let args = [
        "--to",
        "user@remote.example",
        "--tls",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ];
    let r = swaks(&inst, "smtp", &args);
    (inst, r)
}

/// TLS_CHANGES 1999/04/06 and 1999/04/29: commands a client pipelines
/// inside TLS (one TLS record holding MAIL, RCPT, DATA, the message and
/// QUIT) are all answered: smtpd must not wait on the socket while
/// decrypted bytes are still buffered, and must flush every reply before
/// TLS ends.
#[test]
fn y1999_04_06_pipelined_commands_inside_one_tls_record_are_all_answered() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let script = format!(
        "import socket, ssl\n\
         s = socket.create_connection(('127.0.0.1', {port}), timeout=30)\n\
         f = s.makefile('rb')\n\
         def reply():\n\
         \x20   while True:\n\
         \x20       l = f.readline().decode()\n\
         \x20       if l[3:4] != '-': return l\n\
         reply(); s.sendall(b'EHLO client.example\\r\\n'); reply()\n\
         s.sendall(b'STARTTLS\\r\\n'); assert reply().startswith('220')\n\
         ctx = ssl.create_default_context(cafile='{ca}'); ctx.check_hostname = False\n\
         t = ctx.wrap_socket(s, server_hostname='{HOST}')\n\
         t.sendall(b'EHLO client.example\\r\\n')\n\
         data = b''\n\
         while b'\\r\\n250 ' not in data and not data.startswith(b'250 '): data += t.recv(4096)\n\
         t.sendall(b'MAIL FROM:<a@client.example>\\r\\nRCPT TO:<b@relay.example>\\r\\nDATA\\r\\n'\n\
         \x20         b'Subject: pipelined\\r\\n\\r\\nbody\\r\\n.\\r\\nQUIT\\r\\n')\n\
         out = b''\n\
         while True:\n\
         \x20   c = t.recv(4096)\n\
         \x20   if not c: break\n\
         \x20   out += c\n\
         \x20   if b'221 ' in out: break\n\
         print(out.decode())\n",
        port = inst.port("smtp"),
        ca = pki.file("ca.pem"),
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    let r = run(cmd, WAIT);
    assert!(r.success(), "{r}\n{}", inst.log());
    let codes: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.len() >= 3)
        .map(|l| &l[..3])
        .collect();
    assert_eq!(codes, ["250", "250", "354", "250", "221"], "{r}");
    assert!(r.stdout.contains("Ok: queued as "), "{r}");
    wait_log(&inst, "removed");
}

/// TLS_CHANGES 1999/07/08: `smtpd_tls_received_header = no` leaves the
/// TLS comments out of Received: (the protocol is still ESMTPS).
#[test]
fn y1999_07_08_no_tls_comments_without_smtpd_tls_received_header() {
    let pki = Pki::new();
    let Some((text, _)) = deliver(
        &pki,
        "tlsnorcvd",
        "smtpd_tls_received_header = no\n",
        &["--tls"],
    ) else {
        return;
    };
    let r = received(&text);
    assert!(r.contains(" with ESMTPS id "), "{r}");
    assert!(!r.contains("(using "), "{r}");
    assert!(!r.contains("client certificate"), "{r}");
}

/// TLS_CHANGES 1999/11/06: when a certificate was asked for and none
/// came, Received: says so instead of silently leaving the CN out.
#[test]
fn y1999_11_06_received_header_says_no_certificate_was_presented() {
    let pki = Pki::new();
    let Some((text, log)) = deliver(&pki, "tlsnocert", "smtpd_tls_ask_ccert = yes\n", &["--tls"])
    else {
        return;
    };
    let r = received(&text);
    assert!(
        r.contains("\n\t(Client did not present a certificate)\n"),
        "{r}"
    );
    assert!(
        log.contains("Anonymous TLS connection established from unknown[127.0.0.1]"),
        "{log}"
    );
}

/// TLS_CHANGES 2000/10/27: a client CommonName full of comment syntax
/// (parentheses, quotes, a backslash) cannot break the Received: comment
/// it is quoted in: a backslash or an unbalanced parenthesis never
/// reaches the header (quotes are plain comment text).
#[test]
fn y2000_10_27_client_cn_cannot_break_the_received_comment() {
    let pki = Pki::new();
    pki.client_cert("evil", "/CN=evil) (x\"y\\\\z");
    let (cert, key) = (pki.file("evil.pem"), pki.file("evil.key"));
    let Some((text, _)) = deliver(
        &pki,
        "tlsevilcn",
        "smtpd_tls_ask_ccert = yes\n",
        &["--tls", "--tls-cert", &cert, "--tls-key", &key],
    ) else {
        return;
    };
    let r = received(&text);
    let at = r.find("(Client CN \"").expect("a Client CN comment");
    let line = r[at..].lines().next().unwrap();
    let cn = &line["(Client CN \"".len()..line.find("\", Issuer").expect(line)];
    // Postfix's rule (Debian's Postfix 3.7 writes the same): the backslash
    // and the unbalanced ")" become "?", the open "(" gets its ")".
    assert_eq!(cn, "evil? (x\"y?z)", "{r}");
    assert!(line.ends_with("(verified OK))"), "{r}");
}

/// TLS_CHANGES 2000/12/04: the TLS log lines name the client, so a grep
/// for one finds the peer: at `smtpd_tls_loglevel = 2` the `setting up`
/// line, the certificate line and the summary all carry host[addr].
#[test]
fn y2000_12_04_tls_log_lines_name_the_client() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_loglevel = 2\nsmtpd_tls_ask_ccert = yes\n");
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    let r = swaks(
        &inst,
        "smtp",
        &["--tls", "--tls-cert", &cert, "--tls-key", &key],
    );
    assert!(r.success(), "{r}");
    let log = wait_log(&inst, "TLS connection established from");
    for needle in [
        "setting up TLS connection from unknown[127.0.0.1]",
        "unknown[127.0.0.1]: subject_CN=client.example, issuer=Test CA, fingerprint=",
        "Trusted TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher ",
    ] {
        assert!(log.contains(needle), "no {needle:?} in:\n{log}");
    }
}

/// TLS_CHANGES 2003/12/16: at `smtpd_tls_loglevel = 0` a successful TLS
/// session logs no TLS line at all (failures would still be logged).
#[test]
fn y2003_12_16_loglevel_0_logs_no_tls_lines() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_loglevel = 0\n");
    let r = swaks(&inst, "smtp", &["--tls"]);
    assert!(r.success(), "{r}");
    let log = wait_log(&inst, "disconnect from unknown[127.0.0.1]");
    assert!(log.contains("starttls=1"), "{log}");
    for needle in [
        "TLS connection established",
        "setting up TLS",
        "Reusing old session",
        "subject_CN=",
    ] {
        assert!(
            !log.contains(needle),
            "{needle:?} logged at level 0:\n{log}"
        );
    }
}

/// TLS_CHANGES 1999/03/30: fingerprint lookups in a table ignore case
/// (the patch kit's bug: plain files matched, tables did not). A
/// relay_clientcerts table written in lower case still relays.
#[test]
fn y1999_03_30_fingerprint_table_lookup_ignores_case() {
    let pki = Pki::new();
    let fp = pki.fingerprint("client").to_ascii_lowercase();
    let rules = "permit_tls_clientcerts, reject_unauth_destination";
    let (inst, r) = relay_by_cert(&pki, &fp, rules);
    assert!(r.success(), "{r}\n{}", inst.log());
}

/// TLS_CHANGES 2000/12/18: no certificate or CA file is hard-coded as a
/// default (`postconf -d` shows them empty), so an instance without TLS
/// settings reads no file.
#[test]
fn y2000_12_18_no_hard_coded_certificate_defaults() {
    let inst = Instance::builder().build();
    let r = inst.postconf(&[
        "-d",
        "smtpd_tls_cert_file",
        "smtpd_tls_key_file",
        "smtpd_tls_CAfile",
        "smtp_tls_cert_file",
        "smtp_tls_CAfile",
        "smtpd_tls_dcert_file",
    ]);
    r.assert_ok();
    // The key files default to their certificate file, which is empty.
    for l in r.stdout.lines() {
        let v = l.split_once(" =").map(|x| x.1.trim()).unwrap_or("?");
        assert!(
            v.is_empty() || v == "$smtpd_tls_cert_file",
            "a default file in {l:?}"
        );
    }
    assert_eq!(r.stdout.lines().count(), 6, "{r}");
}

/// TLS_CHANGES 2000/07/04: `permit_sasl_authenticated` with SASL off
/// permits nothing: an unauthenticated client over TLS cannot relay.
#[test]
fn y2000_07_04_permit_sasl_authenticated_without_sasl_does_not_relay() {
    let pki = Pki::new();
    let inst = start(
        &pki,
        "smtpd_sasl_auth_enable = no\n\
         smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n",
    );
    let r = swaks(&inst, "smtp", &["--to", "user@remote.example", "--tls"]);
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout
            .contains("554 5.7.1 <user@remote.example>: Relay access denied"),
        "{r}"
    );
}

/// TLS_CHANGES 2001/02/23: the old restriction name `check_relay_ccerts`
/// is gone (replaced by permit_tls_clientcerts, 2000/11/21): it is an
/// unknown restriction, which Postfix answers with a configuration
/// error, never a relay permission.
#[test]
fn y2001_02_23_check_relay_ccerts_is_gone() {
    let pki = Pki::new();
    let fp = pki.fingerprint("client");
    let (inst, r) = relay_by_cert(&pki, &fp, "check_relay_ccerts, reject_unauth_destination");
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout.contains("451 4.3.5 Server configuration error"),
        "{r}"
    );
    wait_log(
        &inst,
        "warning: unknown smtpd restriction: \"check_relay_ccerts\"",
    );
}

/// TLS_CHANGES 1999/09/23 and 1999/04/09: a failed handshake logs
/// OpenSSL's own reasons (`warning: TLS library problem: ...`) after the
/// `SSL_accept error` line, so the cause can be read from the log.
#[test]
fn y1999_09_23_openssl_errors_are_logged() {
    let pki = Pki::new();
    let inst = start(&pki, "smtpd_tls_protocols = >=TLSv1.3\n");
    let t = s_client(&inst, "smtp", &["-tls1_2"], "QUIT\n");
    assert!(!t.contains("Cipher is TLS"), "{t}");
    let log = wait_log(&inst, "SSL_accept error from unknown[127.0.0.1]");
    let err = log
        .lines()
        .position(|l| l.contains("SSL_accept error from unknown[127.0.0.1]"))
        .unwrap();
    let next: Vec<&str> = log.lines().skip(err + 1).collect();
    assert!(
        next.iter()
            .any(|l| l.contains("warning: TLS library problem: ") && l.contains("protocol")),
        "{log}"
    );
}

/// TLS_CHANGES 1999/12/28: the cipher list is checked when the engine
/// starts: a list that selects nothing disables TLS with a warning that
/// names it (STARTTLS gets 454 and the session goes on in clear text),
/// it does not fail later inside a handshake.
#[test]
fn y1999_12_28_a_cipher_list_that_selects_nothing_disables_tls() {
    let pki = Pki::new();
    let inst = start(
        &pki,
        "smtpd_tls_protocols = <=TLSv1.2\nsmtpd_tls_ciphers = high\n\
         tls_high_cipherlist = NOSUCHCIPHER\n",
    );
    let mut c = inst.connect("smtp");
    c.read_line();
    c.send("EHLO client.example");
    while !c.read_line().starts_with("250 ") {}
    assert_eq!(
        c.cmd("STARTTLS"),
        "454 4.7.0 TLS not available due to local problem"
    );
    assert!(c.cmd("MAIL FROM:<a@client.example>").starts_with("250 "));
    assert!(c.cmd("QUIT").starts_with("221 "));
    wait_log(&inst, "invalid cipher list: \"NOSUCHCIPHER\"");
}
