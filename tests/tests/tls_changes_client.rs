//! NAME
//!   tls_changes_client - smtp client regression tests for TLS_CHANGES entries that had none
//!
//! DESCRIPTION
//!   doc/TLS_CHANGES_COVERAGE.md classifies every entry of the Postfix/TLS
//!   change log; the client-side entries it lists as behaviour without a
//!   test get one here, named after the entry's date (`y2003_12_16_...`).
//!   The receiver is Postern's own smtpd with STARTTLS serving a
//!   certificate of module [`smtp_tls_matrix`] (root CA, intermediate,
//!   leaf `valid` for mx.example.com); the sender is a Postern instance
//!   with one smtp transport per security level ([`postern`]) or, where
//!   the entry is about running without a session cache, without tlsmgr.
//!   Where Postfix's own behaviour decides the expectation, Debian's
//!   Postfix smtp client is asked the same question in the same test
//!   (skipped when it is not installed or not root).
//!
//!   Run: `cargo build -p smtp -p smtpd -p tlsmgr -p cleanup -p qmgr
//!   -p discard -p local -p bounce -p error -p pickup -p showq -p postdrop
//!   -p sendmail -p master -p postfix` then
//!   `cargo test -p systest --test tls_changes_client`.
//!
//! SEE ALSO
//!   smtp_tls.rs, smtp_tls_postern.rs, sasl.rs (the entries covered
//!   before), /work/shared/reference/TLS_CHANGES.txt.
mod smtp_tls_matrix;

use smtp_tls_matrix::{postern, send, Pki, Receiver, Server, WAIT};
use testkit::{DebianPostfix, Instance};

/// The first status line of `rcpt` that contains `status`.
fn wait_status(inst: &Instance, rcpt: &str, status: &str) -> String {
    inst.wait_status(rcpt, status, WAIT)
}

/// A Postern receiver serving the `valid` chain (leaf + intermediate).
fn receiver(pki: &Pki, extra: &str) -> Receiver {
    Receiver::start(Server::Postern, pki, "valid", extra)
}

/// TLS_CHANGES 2003/12/16 and 1999/08/11: the client engine obeys
/// `smtp_tls_loglevel` (not smtpd's): at 0 a TLS delivery logs no TLS
/// line, even with `smtpd_tls_loglevel = 2` in the same main.cf.
#[test]
fn y2003_12_16_client_loglevel_0_logs_no_tls_lines() {
    let pki = Pki::new();
    let d = receiver(&pki, "");
    let inst = postern(
        &pki,
        d.port(),
        "mx.example.com",
        "",
        "smtp_tls_loglevel = 0\nsmtpd_tls_loglevel = 2\n",
    );
    send(&inst, "u@verify.test");
    let l = wait_status(&inst, "u@verify.test", "status=");
    assert!(l.contains("status=sent"), "{l}");
    d.wait_for_log("TLS connection established from", WAIT);
    let log = inst.log();
    for needle in [
        "TLS connection established",
        "setting up TLS",
        "subject_CN=",
        "Reusing old session",
    ] {
        assert!(
            !log.contains(needle),
            "{needle:?} logged at level 0:\n{log}"
        );
    }
}

/// TLS_CHANGES 2000/12/04: the client's TLS lines name the server as
/// host[addr]:port, so a grep for a failure finds the peer.
#[test]
fn y2000_12_04_client_tls_log_lines_name_the_server() {
    let pki = Pki::new();
    let d = receiver(&pki, "");
    let port = d.port();
    let inst = postern(&pki, port, "mx.example.com", "", "smtp_tls_loglevel = 2\n");
    send(&inst, "u@verify.test");
    let l = wait_status(&inst, "u@verify.test", "status=");
    assert!(l.contains("status=sent"), "{l}");
    let log = inst.log();
    let peer = format!("127.0.0.1[127.0.0.1]:{port}");
    for needle in [
        format!("setting up TLS connection to {peer}"),
        format!("{peer}: subject_CN=mx.example.com, issuer_CN="),
        format!("Verified TLS connection established to {peer}: TLSv1.3 with cipher "),
    ] {
        assert!(log.contains(&needle), "no {needle:?} in:\n{log}");
    }
}

/// TLS_CHANGES 2000/09/02: a handshake failure with no session cache at
/// all (no tlsmgr, no smtp_tls_session_cache_database) is an ordinary
/// failure: level may defers and then retries in plain text, and no
/// smtp process dies for want of a cache to remove the session from.
#[test]
fn y2000_09_02_handshake_failure_without_a_session_cache() {
    let pki = Pki::new();
    let d = receiver(&pki, "smtpd_tls_protocols = <=TLSv1.2\n");
    let inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{}\nsmtp_tls_security_level = may\n\
             smtp_tls_protocols = >=TLSv1.3\nsmtp_tls_CAfile = {}\nsmtp_tls_loglevel = 1\n\
             maximal_backoff_time = 1s\nminimal_backoff_time = 1s\nqueue_run_delay = 1s\n",
            d.port(),
            pki.f("ca.pem"),
        ))
        .start();
    send(&inst, "u@remote.test");
    let first = wait_status(&inst, "u@remote.test", "status=deferred");
    assert!(
        first.contains("dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)"),
        "{first}"
    );
    wait_status(&inst, "u@remote.test", "status=sent");
    let log = inst.log();
    assert!(
        log.contains("SSL_connect error to 127.0.0.1[127.0.0.1]:"),
        "{log}"
    );
    assert!(!log.contains("exit status"), "{log}");
    assert!(!log.contains("killed by signal"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

/// What Debian's Postfix smtp client says of the receiver's chain with
/// `smtp_tls_scert_verifydepth = depth` at level may: the peer status
/// word of its summary line (`Verified`, `Trusted`, `Untrusted`), or
/// `None` when Debian's Postfix cannot run here.
fn postfix_verdict(pki: &Pki, port: u16, depth: u32) -> Option<String> {
    if !DebianPostfix::available() {
        return None;
    }
    let p = DebianPostfix::start(&format!(
        "myhostname = client.test\nrelayhost = [127.0.0.1]:{port}\n\
         smtp_tls_security_level = may\nsmtp_tls_CAfile = {}\nsmtp_tls_loglevel = 1\n\
         smtp_tls_scert_verifydepth = {depth}\n",
        pki.f("ca.pem")
    ));
    let r = p.sendmail(
        &["-f", "s@client.test", "u@remote.test"],
        "Subject: t\n\nx\n",
    );
    assert!(r.success(), "{r}");
    let line = p.wait_for_log("TLS connection established to", WAIT);
    let word = ["Verified", "Trusted", "Untrusted"]
        .into_iter()
        .find(|w| line.contains(&format!("{w} TLS connection established")));
    assert!(word.is_some(), "Debian's Postfix said:\n{line}");
    word.map(String::from)
}

/// TLS_CHANGES 2000/08/09: a chain longer than the verification depth
/// never aborts the handshake at a level that does not need trust (may
/// delivers, as an untrusted peer); it only makes the peer untrusted, so
/// verify defers. Chains: `valid` (leaf, one intermediate, root in
/// smtp_tls_CAfile) and `long` (two intermediates). Debian's Postfix smtp
/// client, given the same depth, decides what each depth means.
#[test]
fn y2000_08_09_chain_longer_than_the_verify_depth() {
    let pki = Pki::new();
    pki.long_chain();
    for (cert, depths) in [("valid", &[0u32, 1][..]), ("long", &[0, 1, 2][..])] {
        let d = Receiver::start(Server::Postern, &pki, cert, "");
        for &depth in depths {
            let expect = postfix_verdict(&pki, d.port(), depth);
            println!("{cert}, depth {depth}: Postfix says {expect:?}");
            let inst = postern(
                &pki,
                d.port(),
                "mx.example.com",
                "",
                &format!("smtp_tls_scert_verifydepth = {depth}\n"),
            );
            send(&inst, "u@may.test");
            send(&inst, "u@verify.test");
            let may = wait_status(&inst, "u@may.test", "status=");
            assert!(may.contains("status=sent"), "{cert}, depth {depth}: {may}");
            let v = wait_status(&inst, "u@verify.test", "status=");
            let Some(expect) = expect else {
                continue;
            };
            let why = format!("{cert}, depth {depth}, Postfix {expect}");
            if expect == "Untrusted" {
                assert!(
                    v.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
                    "{why}: {v}\n{}",
                    inst.log()
                );
                assert!(
                    inst.log()
                        .contains("Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:"),
                    "{why}: {}",
                    inst.log()
                );
            } else {
                assert!(v.contains("status=sent"), "{why}: {v}\n{}", inst.log());
            }
        }
    }
}
