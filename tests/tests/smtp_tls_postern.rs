//! NAME
//!   smtp_tls_postern - Postern's smtp client to Postern's smtpd over STARTTLS
//!
//! DESCRIPTION
//!   Two instances: the receiver (module `tls_pki`: smtpd with STARTTLS,
//!   tlsmgr, a certificate for mx.example.com from a test CA) and the
//!   sender, whose smtp client relays to it at level secure with the CA
//!   and a client session cache. The first delivery is a full
//!   handshake, the second resumes the session; both sides say so
//!   (`Verified TLS connection established to`, `Reusing old session`
//!   on the client, `... established from` and `Reusing old session`
//!   on the server at loglevel 2). The sender runs scache(8), yet the
//!   second delivery makes a new connection: TLS connections are not
//!   cached.
//!
//!   Then the cases of module `smtp_tls_matrix` (certificate matrix ×
//!   levels may/encrypt/verify/secure/fingerprint, session cache,
//!   per-site table, plain-text retry, "not offered"), the same that
//!   `smtp_tls` runs against Debian's Postfix, with Postern's smtpd as
//!   the receiver.
//!
//!   Run: `cargo build --workspace` then
//!   `cargo test -p systest --test smtp_tls_postern`.
mod smtp_tls_matrix;
mod tls_pki;

use smtp_tls_matrix::Server::Postern;
use std::time::Duration;
use testkit::{wait_until, Instance};
use tls_pki::{builder, Pki, HOST};

const WAIT: Duration = Duration::from_secs(40);

fn sender(pki: &Pki, port: u16, extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .master_cf_line("tlsmgr unix - - n 1000? 1 tlsmgr")
        .master_cf_line("scache unix - - n - 1 scache")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{port}\nsmtp_tls_security_level = secure\n\
             smtp_tls_secure_cert_match = {HOST}\nsmtp_tls_CAfile = {}\nsmtp_tls_loglevel = 2\n\
             smtp_tls_servername = {HOST}\n\
             smtp_tls_session_cache_database = lmdb:${{data_directory}}/smtp_scache\n\
             maximal_backoff_time = 1s\nminimal_backoff_time = 1s\nqueue_run_delay = 1s\n{extra}",
            pki.file("ca.pem")
        ))
        .start()
}

fn sent(inst: &Instance, rcpt: &str) -> String {
    inst.wait_status(rcpt, "status=", WAIT)
}

#[test]
fn secure_delivery_to_our_smtpd_and_the_session_resumes() {
    let pki = Pki::new();
    let rx = builder(&pki, "smtpd_tls_loglevel = 2\n", true).start();
    let port = rx.port("smtp");
    let tx = sender(&pki, port, "");
    let msg = "From: sender@client.test\nSubject: tls\n\nhello\n";
    tx.sendmail(&["-f", "sender@client.test", "one@relay.example"], msg)
        .assert_ok();
    let l = sent(&tx, "one@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    tx.sendmail(&["-f", "sender@client.test", "two@relay.example"], msg)
        .assert_ok();
    let l = sent(&tx, "two@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    let log = tx.log();
    let summary = format!(
        "Verified TLS connection established to 127.0.0.1[127.0.0.1]:{port}: TLSv1.3 with cipher"
    );
    assert_eq!(log.matches(&summary).count(), 2, "{log}");
    // scache runs, but a TLS connection is never handed to it.
    assert!(!log.contains("conn_use="), "{log}");
    assert!(
        log.contains(&format!("127.0.0.1[127.0.0.1]:{port}: Reusing old session")),
        "{log}"
    );
    let ok = wait_until(WAIT, || {
        let r = rx.log();
        (r.matches("TLS connection established from").count() >= 2
            && r.contains("Reusing old session"))
        .then_some(())
    });
    assert!(ok.is_some(), "receiver:\n{}", rx.log());
}

#[test]
fn policy_table_entry_for_the_next_hop_decides() {
    let pki = Pki::new();
    let rx = builder(&pki, "", false).start();
    let port = rx.port("smtp");
    let msg = "From: sender@client.test\nSubject: tls\n\nhello\n";
    for (matches, ok) in [("mx.example.com", true), ("other.example", false)] {
        let tx = sender(
            &pki,
            port,
            &format!(
                "smtp_tls_security_level = may\n\
                 smtp_tls_policy_maps = inline:{{{{ [127.0.0.1]:{port} = secure match={matches} }}}}\n"
            ),
        );
        tx.sendmail(&["-f", "sender@client.test", "u@relay.example"], msg)
            .assert_ok();
        let l = sent(&tx, "u@relay.example");
        if ok {
            assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
            assert!(tx.log().contains("Verified TLS connection established"));
        } else {
            assert!(
                l.contains("dsn=4.7.5, status=deferred (Server certificate not verified)"),
                "{l}\n{}",
                tx.log()
            );
            assert!(
                tx.log().contains("num=62:hostname mismatch"),
                "{}",
                tx.log()
            );
        }
    }
}

#[test]
fn matrix_valid_chain_wrong_name_upper_case_name_and_chain_order() {
    smtp_tls_matrix::valid_chain_wrong_name_upper_case_name_and_chain_order(Postern);
}

#[test]
fn matrix_wildcard_cn_only_and_san_beats_cn() {
    smtp_tls_matrix::wildcard_cn_only_and_san_beats_cn(Postern);
}

#[test]
fn matrix_untrusted_chains_expired_self_signed_missing_intermediate() {
    smtp_tls_matrix::untrusted_chains_expired_self_signed_missing_intermediate(Postern);
}

#[test]
fn matrix_second_delivery_resumes_and_a_replaced_certificate_is_not_trusted_2000_11_29() {
    smtp_tls_matrix::second_delivery_resumes_and_a_replaced_certificate_is_not_trusted(Postern);
}

#[test]
fn matrix_a_session_made_at_may_is_never_resumed_at_verify_2000_11_29() {
    smtp_tls_matrix::a_session_made_at_may_is_never_resumed_at_verify(Postern);
}

#[test]
fn matrix_per_site_must_nopeermatch_2000_11_26_and_none_2002_03_29() {
    smtp_tls_matrix::per_site_must_nopeermatch_and_none(Postern);
}

#[test]
fn matrix_may_handshake_failure_retries_in_plain_text_mandatory_defers() {
    smtp_tls_matrix::may_handshake_failure_retries_in_plain_text_mandatory_defers(Postern);
}

#[test]
fn matrix_not_offered_defers_encrypt_and_note_starttls_offer() {
    smtp_tls_matrix::not_offered_defers_encrypt_and_note_starttls_offer(Postern);
}
