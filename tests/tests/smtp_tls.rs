//! NAME
//!   smtp_tls - system tests of STARTTLS in the smtp(8) client
//!
//! DESCRIPTION
//!   Certificates are made in the test with the openssl command: a root
//!   CA, an intermediate CA, and server certificates signed by the
//!   intermediate (valid SAN, wildcard, CN only, SAN naming another host
//!   while the CN matches, expired), a self-signed one, and a valid one
//!   served without its intermediate. Debian's Postfix smtpd serves each
//!   with STARTTLS; one Postern instance per certificate relays five
//!   messages to it through five smtp transports, one per level (may,
//!   encrypt, verify, secure, fingerprint: master.cf `-o` settings), and
//!   each recipient must end sent or deferred (`4.7.5 Server certificate
//!   not verified`) as the level says, with the matching `... TLS
//!   connection established` summary line. Peer names are given as
//!   literal match names (the relay host is 127.0.0.1); the name rules
//!   themselves are unit-tested in tls::names.
//!
//!   Also: the session cache (the second delivery resumes; a session made
//!   at level may is never used for a verify delivery, TLS_CHANGES
//!   2000/11/29; a server whose certificate was replaced by one that
//!   fails verification gets no mail at verify), and the per-site table
//!   (2000/11/26 MUST_NOPEERMATCH, 2002/03/29 recipient-level NONE).
//!
//!   Needs Debian's postfix package and root; skips otherwise.
//!   Run: `cargo build --workspace` then `cargo test -p systest --test smtp_tls`.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::{DebianPostfix, Instance};

const WAIT: Duration = Duration::from_secs(40);
const LEVELS: [&str; 5] = ["may", "encrypt", "verify", "secure", "fingerprint"];
/// Sent at every level.
const ALL: [bool; 5] = [true; 5];
/// Sent at may, encrypt and fingerprint; deferred at verify and secure.
const NO_MATCH: [bool; 5] = [true, true, false, false, true];

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Pki {
    fn f(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// A leaf `name` with subject CN `cn` and extensions `ext`, signed by
    /// `ca` (for `days`); writes name.key, name.pem and name.chain.pem
    /// (leaf then intermediate).
    fn leaf(&self, name: &str, cn: &str, ext: &str, ca: &str, days: &str) {
        let d = &self.dir;
        std::fs::write(d.join(format!("{name}.ext")), ext).unwrap();
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let subj = format!("/CN={cn}");
        openssl(
            d,
            &[
                "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr,
                "-subj", &subj,
            ],
        );
        let (cap, cak) = (format!("{ca}.pem"), format!("{ca}.key"));
        let extf = format!("{name}.ext");
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &cap,
                "-CAkey",
                &cak,
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                days,
                "-extfile",
                &extf,
            ],
        );
        let chain = std::fs::read_to_string(d.join(&pem)).unwrap()
            + &std::fs::read_to_string(d.join("int.pem")).unwrap();
        std::fs::write(d.join(format!("{name}.chain.pem")), chain).unwrap();
    }

    fn new() -> Pki {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().canonicalize().unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let d = &dir.clone();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3",
                "-subj",
                "/O=Test/CN=Test Root CA",
            ],
        );
        let p = Pki { _tmp: tmp, dir };
        std::fs::write(p.dir.join("int.pem"), "").unwrap();
        p.leaf(
            "int",
            "Test Intermediate CA",
            "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n",
            "ca",
            "3",
        );
        let leaf = "basicConstraints=CA:FALSE\n";
        p.leaf(
            "valid",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:mx.example.com\n"),
            "int",
            "3",
        );
        p.leaf(
            "wild",
            "wild",
            &format!("{leaf}subjectAltName=DNS:*.example.com\n"),
            "int",
            "3",
        );
        p.leaf("cnonly", "mx.example.com", leaf, "int", "3");
        p.leaf(
            "sanother",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:other.example.com\n"),
            "int",
            "3",
        );
        p.leaf(
            "expired",
            "mx.example.com",
            &format!("{leaf}subjectAltName=DNS:mx.example.com\n"),
            "int",
            "0",
        );
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "self.key",
                "-out",
                "self.pem",
                "-days",
                "3",
                "-subj",
                "/CN=mx.example.com",
                "-addext",
                "subjectAltName=DNS:mx.example.com",
            ],
        );
        std::fs::copy(d.join("self.pem"), d.join("self.chain.pem")).unwrap();
        // Served without its intermediate.
        std::fs::copy(d.join("valid.key"), d.join("noint.key")).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("noint.chain.pem")).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("noint.pem")).unwrap();
        // Served in the wrong order: leaf, root, then the intermediate.
        std::fs::copy(d.join("valid.key"), d.join("disorder.key")).unwrap();
        let rd = |n: &str| std::fs::read_to_string(d.join(n)).unwrap();
        let disorder = rd("valid.pem") + &rd("ca.pem") + &rd("int.pem");
        std::fs::write(d.join("disorder.chain.pem"), disorder).unwrap();
        std::fs::copy(d.join("valid.pem"), d.join("disorder.pem")).unwrap();
        p
    }

    fn fingerprint(&self, name: &str) -> String {
        let out = Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-in",
                &self.f(&format!("{name}.pem")),
            ])
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout).to_string();
        t.trim().rsplit('=').next().unwrap().to_string()
    }
}

fn debian(pki: &Pki, cert: &str) -> DebianPostfix {
    debian_with(pki, cert, "smtpd_tls_security_level = may\n")
}

fn debian_with(pki: &Pki, cert: &str, extra: &str) -> DebianPostfix {
    DebianPostfix::start(&format!(
        "myhostname = mx.example.com\nmynetworks = 127.0.0.0/8\ndefault_transport = discard\n\
         smtpd_tls_cert_file = {c}\nsmtpd_tls_key_file = {k}\n\
         smtpd_tls_loglevel = 1\n{extra}",
        c = pki.f(&format!("{cert}.chain.pem")),
        k = pki.f(&format!("{cert}.key")),
    ))
}

/// A Postern instance with one smtp transport per level, all to `port`;
/// verify and secure expect `name`, fingerprint expects `fp`.
fn postern(pki: &Pki, port: u16, name: &str, fp: &str, extra: &str) -> Instance {
    let mut b = Instance::builder()
        .mail_pipeline()
        .master_cf_line("tlsmgr unix - - n 1000? 1 tlsmgr")
        .master_cf_line("smtp unix - - n - - smtp");
    for l in LEVELS {
        let m = match l {
            "verify" => format!(" -o smtp_tls_verify_cert_match={name}"),
            "secure" => format!(" -o smtp_tls_secure_cert_match={name}"),
            "fingerprint" => format!(" -o smtp_tls_fingerprint_cert_match={fp}"),
            _ => String::new(),
        };
        b = b.master_cf_line(&format!(
            "{l} unix - - n - - smtp -o smtp_tls_security_level={l}{m}"
        ));
    }
    let tm: Vec<String> = LEVELS
        .iter()
        .map(|l| format!("{l}.test={l}:[127.0.0.1]:{port}"))
        .collect();
    b.main_cf(&format!(
        "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
         transport_maps = inline:{{{}}}\nsmtp_tls_CAfile = {}\nsmtp_tls_loglevel = 1\nsmtp_tls_fingerprint_digest = sha256\n\
         maximal_backoff_time = 1s\nminimal_backoff_time = 1s\nqueue_run_delay = 1s\n{extra}",
        tm.join(", "),
        pki.f("ca.pem"),
    ))
    .start()
}

fn send(inst: &Instance, rcpt: &str) {
    let msg = format!("From: sender@client.test\nSubject: tls\n\nto {rcpt}\n");
    inst.sendmail(&["-f", "sender@client.test", rcpt], &msg)
        .assert_ok();
}

fn status_line(inst: &Instance, rcpt: &str) -> String {
    inst.wait_for_log(&format!("to=<{rcpt}>, relay="), WAIT)
}

/// Deliver one message per level and check sent/deferred per `expect`
/// (true = sent over TLS), and the summary prefixes seen.
fn matrix(pki: &Pki, cert: &str, name: &str, expect: [bool; 5], prefix: &str) {
    let d = debian(pki, cert);
    let fp = pki.fingerprint(cert);
    let inst = postern(pki, d.port(), name, &fp, "");
    for l in LEVELS {
        send(&inst, &format!("u@{l}.test"));
    }
    for (l, ok) in LEVELS.iter().zip(expect) {
        let line = status_line(&inst, &format!("u@{l}.test"));
        if ok {
            assert!(
                line.contains("status=sent (250 "),
                "{cert} at {l}: {line}\n{}",
                inst.log()
            );
        } else {
            assert!(
                line.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
                "{cert} at {l}: {line}\n{}",
                inst.log()
            );
        }
    }
    let summary = format!(
        "{prefix} TLS connection established to 127.0.0.1[127.0.0.1]:{}: TLSv1.3 with cipher ",
        d.port()
    );
    assert!(
        inst.log().contains(&summary),
        "{cert}: no {summary:?}\n{}",
        inst.log()
    );
    if expect[2] {
        assert!(
            !inst.log().contains("certificate verification failed"),
            "{}",
            inst.log()
        );
    } else {
        assert!(
            inst.log()
                .contains("certificate verification failed for 127.0.0.1[127.0.0.1]:"),
            "{}",
            inst.log()
        );
    }
    // Debian's side saw TLS for every message it got.
    assert!(
        d.log().contains("TLS connection established from"),
        "{}",
        d.log()
    );
}

fn skip() -> bool {
    if !DebianPostfix::available() {
        println!("skipped: Debian's postfix package is not installed (or not root)");
        return true;
    }
    false
}

#[test]
fn valid_chain_wrong_name_upper_case_name_and_chain_order() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    matrix(&pki, "valid", "mx.example.com", ALL, "Verified");
    matrix(&pki, "valid", "MX.Example.COM.", ALL, "Verified");
    matrix(&pki, "valid", "wrong.example.com", NO_MATCH, "Trusted");
    // Intermediates in the wrong order still make a trusted chain.
    matrix(&pki, "disorder", "mx.example.com", ALL, "Verified");
}

#[test]
fn wildcard_cn_only_and_san_beats_cn() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    matrix(&pki, "wild", "mx.example.com", ALL, "Verified");
    matrix(&pki, "wild", "a.b.example.com", NO_MATCH, "Trusted");
    matrix(&pki, "wild", "example.com", NO_MATCH, "Trusted");
    matrix(&pki, "cnonly", "mx.example.com", ALL, "Verified");
    matrix(&pki, "sanother", "mx.example.com", NO_MATCH, "Trusted");
}

#[test]
fn untrusted_chains_expired_self_signed_missing_intermediate() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    std::thread::sleep(Duration::from_secs(2)); // "expired" ends now
    for c in ["expired", "self", "noint"] {
        matrix(&pki, c, "mx.example.com", NO_MATCH, "Untrusted");
    }
}

/// Wait for the first status line of `rcpt` that contains `status`.
fn wait_status(inst: &Instance, rcpt: &str, status: &str) -> String {
    let needle = format!("to=<{rcpt}>, relay=");
    testkit::wait_until(WAIT, || {
        inst.log()
            .lines()
            .find(|l| l.contains(&needle) && l.contains(status))
            .map(String::from)
    })
    .unwrap_or_else(|| panic!("no {status} for {rcpt}:\n{}", inst.log()))
}

const CACHE: &str = "smtp_tls_session_cache_database = lmdb:${data_directory}/smtp_scache\n\
                     smtp_tls_loglevel = 2\n";

#[test]
fn second_delivery_resumes_and_a_replaced_certificate_is_not_trusted_2000_11_29() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    let d = debian(&pki, "valid");
    let inst = postern(&pki, d.port(), "mx.example.com", "", CACHE);
    send(&inst, "one@verify.test");
    wait_status(&inst, "one@verify.test", "status=sent");
    send(&inst, "two@verify.test");
    wait_status(&inst, "two@verify.test", "status=sent");
    let log = inst.log();
    assert!(
        log.contains(&format!(
            "127.0.0.1[127.0.0.1]:{}: Reusing old session",
            d.port()
        )),
        "{log}"
    );
    assert_eq!(
        log.matches("Verified TLS connection established").count(),
        2,
        "{log}"
    );
    // The server's certificate is replaced by one that fails verification.
    let cf = d.config_dir().join("main.cf");
    let mut text = std::fs::read_to_string(&cf).unwrap();
    text.push_str(&format!(
        "smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n",
        pki.f("self.chain.pem"),
        pki.f("self.key")
    ));
    std::fs::write(&cf, text).unwrap();
    assert!(d.postfix(&["reload"]).success());
    std::thread::sleep(Duration::from_secs(2));
    send(&inst, "three@verify.test");
    let l = wait_status(&inst, "three@verify.test", "status=");
    assert!(
        l.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
        "{l}\n{}",
        inst.log()
    );
}

#[test]
fn a_session_made_at_may_is_never_resumed_at_verify_2000_11_29() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    let d = debian(&pki, "self");
    let inst = postern(&pki, d.port(), "mx.example.com", "", CACHE);
    send(&inst, "one@may.test");
    wait_status(&inst, "one@may.test", "status=sent");
    wait_until_saved(&inst);
    send(&inst, "two@verify.test");
    let l = wait_status(&inst, "two@verify.test", "status=");
    assert!(
        l.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
        "{l}\n{}",
        inst.log()
    );
    // The same policy resumes.
    send(&inst, "three@may.test");
    wait_status(&inst, "three@may.test", "status=sent");
    assert_eq!(
        inst.log().matches("Reusing old session").count(),
        1,
        "{}",
        inst.log()
    );
}

fn wait_until_saved(inst: &Instance) {
    testkit::wait_until(WAIT, || inst.log().contains("save session").then_some(()))
        .unwrap_or_else(|| panic!("no session saved:\n{}", inst.log()));
}

fn per_site(pki: &Pki, cert: &str, table: &str) -> (DebianPostfix, Instance) {
    let d = debian(pki, cert);
    let inst = postern(
        pki,
        d.port(),
        "mx.example.com",
        "",
        &format!(
            "smtp_use_tls = yes\nsmtp_tls_per_site = inline:{{{table}}}\n\
             transport_maps = inline:{{site.test=smtp:[127.0.0.1]:{}}}\n",
            d.port()
        ),
    );
    send(&inst, "u@site.test");
    (d, inst)
}

#[test]
fn per_site_must_nopeermatch_2000_11_26_and_none_2002_03_29() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    // MUST_NOPEERMATCH: TLS required, the name need not match.
    let (_d, inst) = per_site(&pki, "sanother", "127.0.0.1=MUST_NOPEERMATCH");
    wait_status(&inst, "u@site.test", "status=sent");
    assert!(inst
        .log()
        .contains("TLS connection established to 127.0.0.1"));
    // MUST: trusted and the name must match (the certificate names
    // mx.example.com; the expected name is the server host, 127.0.0.1).
    let (_d, inst) = per_site(&pki, "valid", "127.0.0.1=MUST");
    let l = wait_status(&inst, "u@site.test", "status=");
    assert!(
        l.contains("status=deferred (Server certificate not verified)"),
        "{l}"
    );
    // NONE for the next-hop domain switches TLS off although smtp_use_tls = yes.
    let (d, inst) = per_site(&pki, "valid", "127.0.0.1=NONE");
    wait_status(&inst, "u@site.test", "status=sent");
    assert!(
        !inst.log().contains("TLS connection established"),
        "{}",
        inst.log()
    );
    d.wait_for_log("disconnect from", WAIT);
    assert!(!d.log().contains("starttls="), "{}", d.log());
}

#[test]
fn may_handshake_failure_retries_in_plain_text_mandatory_defers() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    let d = debian_with(
        &pki,
        "valid",
        "smtpd_tls_security_level = may\nsmtpd_tls_protocols = <=TLSv1.2\n",
    );
    let inst = postern(
        &pki,
        d.port(),
        "mx.example.com",
        "",
        "smtp_tls_protocols = >=TLSv1.3\nsmtp_tls_mandatory_protocols = >=TLSv1.3\n",
    );
    send(&inst, "u@may.test");
    send(&inst, "u@encrypt.test");
    let l = wait_status(&inst, "u@encrypt.test", "status=");
    assert!(
        l.contains("dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"),
        "{l}"
    );
    // The first attempt (the message went straight to the active queue)
    // defers; once it waited minimal_backoff_time (1s) before an
    // attempt, may goes plain on a new connection.
    let first = wait_status(&inst, "u@may.test", "status=deferred");
    assert!(
        first.contains("dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"),
        "{first}"
    );
    wait_status(&inst, "u@may.test", "status=sent");
    assert!(
        inst.log()
            .contains("SSL_connect error to 127.0.0.1[127.0.0.1]:"),
        "{}",
        inst.log()
    );
    assert!(
        d.log()
            .contains("disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1"),
        "{}",
        d.log()
    );
}

#[test]
fn not_offered_defers_encrypt_and_note_starttls_offer() {
    if skip() {
        return;
    }
    let pki = Pki::new();
    let d = debian_with(&pki, "valid", "smtpd_tls_security_level = none\n");
    let inst = postern(&pki, d.port(), "mx.example.com", "", "");
    send(&inst, "u@encrypt.test");
    send(&inst, "u@may.test");
    let l = wait_status(&inst, "u@encrypt.test", "status=");
    assert!(
        l.contains("dsn=4.7.4, status=deferred (TLS is required, but was not offered by host 127.0.0.1[127.0.0.1])"),
        "{l}"
    );
    wait_status(&inst, "u@may.test", "status=sent");
    assert!(!d.log().contains("STARTTLS"), "{}", d.log());
    // Level none with smtp_tls_note_starttls_offer.
    let d = debian(&pki, "valid");
    let inst = postern(
        &pki,
        d.port(),
        "mx.example.com",
        "",
        &format!(
            "smtp_tls_note_starttls_offer = yes\n\
             transport_maps = inline:{{plain.test=smtp:[127.0.0.1]:{}}}\n",
            d.port()
        ),
    );
    send(&inst, "u@plain.test");
    wait_status(&inst, "u@plain.test", "status=sent");
    // Level none never sends STARTTLS (TLS_CHANGES 1999/06/18).
    d.wait_for_log("disconnect from", WAIT);
    assert!(!d.log().contains("starttls="), "{}", d.log());
    assert!(
        inst.log().contains("Host offered STARTTLS: [127.0.0.1]"),
        "{}",
        inst.log()
    );
}
