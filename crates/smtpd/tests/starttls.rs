//! In-process STARTTLS tests without a working TLS engine (no keys): the
//! EHLO keyword, the replies, the 530 gate at level encrypt and the
//! legacy switches. Real handshakes are in tests/tests/smtpd_tls.rs.
mod common;
use common::*;

fn tls(cf: &str) -> Smtp {
    Smtp::with(Opts {
        cf: cf.to_string(),
        tls: true,
        ..Opts::default()
    })
}

#[test]
fn level_may_without_keys_offers_starttls_and_answers_454() {
    let mut s = tls("smtpd_tls_security_level = may\n");
    s.cmd("EHLO client.example", "250")
        .contains("250-ETRN\n250-STARTTLS\n250-ENHANCEDSTATUSCODES");
    s.cmd("STARTTLS now", "501")
        .is("501 5.5.4 Syntax: STARTTLS");
    s.cmd("STARTTLS", "454")
        .is("454 4.7.0 TLS not available due to local problem");
    s.cmd("MAIL FROM:<a@client.example>", "250")
        .is("250 2.1.0 Ok");
    s.cmd("QUIT", "221");
    s.done();
}

#[test]
fn level_none_and_discarded_keyword_give_502() {
    for cf in [
        "smtpd_tls_security_level = none\nsmtpd_use_tls = yes\n",
        "smtpd_tls_security_level = may\nsmtpd_discard_ehlo_keywords = starttls\n",
    ] {
        let mut s = tls(cf);
        s.cmd("EHLO client.example", "250").lacks("STARTTLS");
        s.cmd("STARTTLS", "502")
            .is("502 5.5.1 Error: command not implemented");
        s.cmd("QUIT", "221");
        s.done();
    }
}

#[test]
fn level_encrypt_and_legacy_enforce_need_starttls_first() {
    for cf in [
        "smtpd_tls_security_level = encrypt\n",
        "smtpd_enforce_tls = yes\n",
    ] {
        let mut s = tls(cf);
        s.cmd("HELO client.example", "250");
        s.cmd("NOOP", "250");
        for c in [
            "MAIL FROM:<a@client.example>",
            "RSET",
            "VRFY postmaster",
            "ETRN x",
        ] {
            s.cmd(c, "530")
                .is("530 5.7.0 Must issue a STARTTLS command first");
        }
        s.cmd("EHLO client.example", "250").contains("STARTTLS");
        s.cmd("QUIT", "221");
        s.done();
    }
}

#[test]
fn legacy_use_tls_means_may_and_no_tls_when_not_allowed() {
    let mut s = tls("smtpd_use_tls = yes\n");
    s.cmd("EHLO client.example", "250").contains("STARTTLS");
    s.cmd("QUIT", "221");
    s.done();
    // The default harness reads no TLS parameters (as stand-alone mode).
    let mut s = Smtp::start("smtpd_tls_security_level = encrypt\n");
    s.cmd("EHLO client.example", "250").lacks("STARTTLS");
    s.cmd("MAIL FROM:<a@client.example>", "250");
    s.cmd("QUIT", "221");
    s.done();
}
