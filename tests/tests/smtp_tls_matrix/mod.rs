//! NAME
//!   smtp_tls_matrix - the smtp client's TLS cases, run against any receiver
//!
//! DESCRIPTION
//!   Shared by `smtp_tls` (the receiver is Debian's Postfix smtpd) and
//!   `smtp_tls_postern` (the receiver is Postern's own smtpd): every case
//!   is a function of [`Server`], so both receivers get the same matrix.
//!
//!   Certificates are made with the openssl command ([`Pki::new`]): a root
//!   CA, an intermediate CA, and server certificates signed by the
//!   intermediate (`valid`: SAN mx.example.com; `wild`: SAN
//!   *.example.com; `cnonly`: CN mx.example.com, no SAN; `sanother`: SAN
//!   other.example.com, CN mx.example.com; `expired`), `self`
//!   (self-signed), `noint` (valid, served without its intermediate) and
//!   `disorder` (valid, served as leaf, root, intermediate). The receiver
//!   serves one with STARTTLS; one Postern sender per case relays five
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
//!   fails verification gets no mail at verify), the per-site table
//!   (2000/11/26 MUST_NOPEERMATCH, 2002/03/29 recipient-level NONE), the
//!   `may` plain-text retry and the "not offered" deferral.
#![allow(dead_code)] // reason: each test binary uses a part of the cases

use std::time::Duration;
use testkit::{DebianPostfix, Instance};

mod pki;
pub use pki::Pki;

pub const WAIT: Duration = Duration::from_secs(40);
const LEVELS: [&str; 5] = ["may", "encrypt", "verify", "secure", "fingerprint"];
/// Sent at every level.
const ALL: [bool; 5] = [true; 5];
/// Sent at may, encrypt and fingerprint; deferred at verify and secure.
const NO_MATCH: [bool; 5] = [true, true, false, false, true];

/// The receiving MTA of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Debian's Postfix smtpd (skipped when not installed or not root).
    Debian,
    /// Postern's own smtpd with tlsmgr.
    Postern,
}

/// Whether `server` cannot run here (prints why).
pub fn skip(server: Server) -> bool {
    if server == Server::Debian && !DebianPostfix::available() {
        println!("skipped: Debian's postfix package is not installed (or not root)");
        return true;
    }
    false
}

/// A running receiver serving one certificate of the [`Pki`] with
/// STARTTLS on 127.0.0.1, discarding what it accepts.
pub enum Receiver {
    Debian(DebianPostfix),
    Postern(Instance),
}

/// The receiver's main.cf settings (the same for both MTAs); `extra`
/// comes last and may override them.
fn receiver_main_cf(pki: &Pki, cert: &str, extra: &str) -> String {
    format!(
        "myhostname = mx.example.com\nmynetworks = 127.0.0.0/8\ndefault_transport = discard\n\
         smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {c}\nsmtpd_tls_key_file = {k}\n\
         smtpd_tls_loglevel = 1\n{extra}",
        c = pki.f(&format!("{cert}.chain.pem")),
        k = pki.f(&format!("{cert}.key")),
    )
}

impl Receiver {
    /// Start `server` serving certificate `cert` with `extra` main.cf lines.
    pub fn start(server: Server, pki: &Pki, cert: &str, extra: &str) -> Receiver {
        let main_cf = receiver_main_cf(pki, cert, extra);
        match server {
            Server::Debian => Receiver::Debian(DebianPostfix::start(&main_cf)),
            Server::Postern => Receiver::Postern(
                Instance::builder()
                    .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
                    .master_cf_line("tlsmgr unix - - n 1000? 1 tlsmgr")
                    .mail_pipeline()
                    .main_cf(&format!(
                        "inet_protocols = ipv4\nmydestination =\nsmtpd_peername_lookup = no\n\
                         smtpd_error_sleep_time = 0\n{main_cf}"
                    ))
                    .start(),
            ),
        }
    }

    /// The port its smtpd listens on.
    pub fn port(&self) -> u16 {
        match self {
            Receiver::Debian(d) => d.port(),
            Receiver::Postern(i) => i.port("smtp"),
        }
    }

    /// Its maillog so far.
    pub fn log(&self) -> String {
        match self {
            Receiver::Debian(d) => d.log(),
            Receiver::Postern(i) => i.log(),
        }
    }

    /// Wait for a maillog line containing `needle`; returns it.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        match self {
            Receiver::Debian(d) => d.wait_for_log(needle, timeout),
            Receiver::Postern(i) => i.wait_for_log(needle, timeout),
        }
    }

    /// Serve certificate `cert` from now on (main.cf edit, `postfix reload`).
    pub fn replace_cert(&mut self, pki: &Pki, cert: &str) {
        let cf = match self {
            Receiver::Debian(d) => d.config_dir(),
            Receiver::Postern(i) => i.config_dir(),
        }
        .join("main.cf");
        let mut main = std::fs::read_to_string(&cf).unwrap();
        main.push_str(&format!(
            "smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n",
            pki.f(&format!("{cert}.chain.pem")),
            pki.f(&format!("{cert}.key"))
        ));
        std::fs::write(&cf, main).unwrap();
        let ok = match self {
            Receiver::Debian(d) => d.postfix(&["reload"]).success(),
            Receiver::Postern(i) => i.postfix(&["reload"]).success(),
        };
        assert!(ok, "postfix reload failed");
    }
}

/// A Postern instance with one smtp transport per level, all to `port`;
/// verify and secure expect `name`, fingerprint expects `fp`.
pub fn postern(pki: &Pki, port: u16, name: &str, fp: &str, extra: &str) -> Instance {
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

pub fn send(inst: &Instance, rcpt: &str) {
    let msg = format!("From: sender@client.test\nSubject: tls\n\nto {rcpt}\n");
    inst.sendmail(&["-f", "sender@client.test", rcpt], &msg)
        .assert_ok();
}

fn status_line(inst: &Instance, rcpt: &str) -> String {
    inst.wait_for_log(&format!("to=<{rcpt}>, relay="), WAIT)
}

/// Deliver one message per level and check sent/deferred per `expect`
/// (true = sent over TLS), and the summary prefixes seen.
fn matrix(server: Server, pki: &Pki, cert: &str, name: &str, expect: [bool; 5], prefix: &str) {
    let d = Receiver::start(server, pki, cert, "");
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
    // The receiver saw TLS.
    assert!(
        d.log().contains("TLS connection established from"),
        "{}",
        d.log()
    );
}

pub fn valid_chain_wrong_name_upper_case_name_and_chain_order(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    matrix(server, &pki, "valid", "mx.example.com", ALL, "Verified");
    matrix(server, &pki, "valid", "MX.Example.COM.", ALL, "Verified");
    matrix(
        server,
        &pki,
        "valid",
        "wrong.example.com",
        NO_MATCH,
        "Trusted",
    );
    // Intermediates in the wrong order still make a trusted chain.
    matrix(server, &pki, "disorder", "mx.example.com", ALL, "Verified");
}

pub fn wildcard_cn_only_and_san_beats_cn(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    matrix(server, &pki, "wild", "mx.example.com", ALL, "Verified");
    matrix(server, &pki, "wild", "a.b.example.com", NO_MATCH, "Trusted");
    matrix(server, &pki, "wild", "example.com", NO_MATCH, "Trusted");
    matrix(server, &pki, "cnonly", "mx.example.com", ALL, "Verified");
    matrix(
        server,
        &pki,
        "sanother",
        "mx.example.com",
        NO_MATCH,
        "Trusted",
    );
}

pub fn untrusted_chains_expired_self_signed_missing_intermediate(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    std::thread::sleep(Duration::from_secs(2)); // "expired" ends now
    for c in ["expired", "self", "noint"] {
        matrix(server, &pki, c, "mx.example.com", NO_MATCH, "Untrusted");
    }
}

/// Wait for the first status line of `rcpt` that contains `status`.
fn wait_status(inst: &Instance, rcpt: &str, status: &str) -> String {
    inst.wait_status(rcpt, status, WAIT)
}

const CACHE: &str = "smtp_tls_session_cache_database = lmdb:${data_directory}/smtp_scache\n\
                     smtp_tls_loglevel = 2\n";

pub fn second_delivery_resumes_and_a_replaced_certificate_is_not_trusted(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    let mut d = Receiver::start(server, &pki, "valid", "");
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
    d.replace_cert(&pki, "self");
    std::thread::sleep(Duration::from_secs(2));
    send(&inst, "three@verify.test");
    let l = wait_status(&inst, "three@verify.test", "status=");
    assert!(
        l.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
        "{l}\n{}",
        inst.log()
    );
}

pub fn a_session_made_at_may_is_never_resumed_at_verify(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    let d = Receiver::start(server, &pki, "self", "");
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

fn per_site(server: Server, pki: &Pki, cert: &str, table: &str) -> (Receiver, Instance) {
    let d = Receiver::start(server, pki, cert, "");
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

pub fn per_site_must_nopeermatch_and_none(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    // MUST_NOPEERMATCH: TLS required, the name need not match.
    let (_d, inst) = per_site(server, &pki, "sanother", "127.0.0.1=MUST_NOPEERMATCH");
    wait_status(&inst, "u@site.test", "status=sent");
    assert!(inst
        .log()
        .contains("TLS connection established to 127.0.0.1"));
    // ... but the chain must still verify against a trusted CA
    // (TLS_CHANGES 2000/11/26; Postfix 2.3 and later accept any).
    let (_d, inst) = per_site(server, &pki, "self", "127.0.0.1=MUST_NOPEERMATCH");
    let l = wait_status(&inst, "u@site.test", "status=");
    assert!(
        l.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
        "{l}\n{}",
        inst.log()
    );
    assert!(
        inst.log()
            .contains("certificate verification failed for 127.0.0.1[127.0.0.1]:"),
        "{}",
        inst.log()
    );
    // MUST: trusted and the name must match (the certificate names
    // mx.example.com; the expected name is the server host, 127.0.0.1).
    let (_d, inst) = per_site(server, &pki, "valid", "127.0.0.1=MUST");
    let l = wait_status(&inst, "u@site.test", "status=");
    assert!(
        l.contains("status=deferred (Server certificate not verified)"),
        "{l}"
    );
    // NONE for the next-hop domain switches TLS off although smtp_use_tls = yes.
    let (d, inst) = per_site(server, &pki, "valid", "127.0.0.1=NONE");
    wait_status(&inst, "u@site.test", "status=sent");
    assert!(
        !inst.log().contains("TLS connection established"),
        "{}",
        inst.log()
    );
    d.wait_for_log("disconnect from", WAIT);
    assert!(!d.log().contains("starttls="), "{}", d.log());
}

pub fn may_handshake_failure_retries_in_plain_text_mandatory_defers(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    let d = Receiver::start(
        server,
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

pub fn not_offered_defers_encrypt_and_note_starttls_offer(server: Server) {
    if skip(server) {
        return;
    }
    let pki = Pki::new();
    let d = Receiver::start(server, &pki, "valid", "smtpd_tls_security_level = none\n");
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
    let d = Receiver::start(server, &pki, "valid", "");
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
