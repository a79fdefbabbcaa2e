//! In-process tests of local_header_rewrite_clients (the rewrite context
//! smtpd hands to cleanup) and of the restriction permit_inet_interfaces.
mod common;
use common::*;

/// Send one message from `peer_ip` (None: a fresh 198.51.x.y address)
/// with main.cf `cf`; returns the rewrite context cleanup was given.
fn context(cf: &str, peer_ip: Option<&str>) -> String {
    context_of(Opts {
        cf: cf.to_string(),
        peer_ip: peer_ip.map(str::to_string),
        ..Opts::default()
    })
}

/// As [`context`], for a session with options `o`.
fn context_of(o: Opts) -> String {
    let mut s = Smtp::with(o);
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"Subject: x\r\n\r\nbody\r\n.\r\n");
    s.reply().contains("queued as");
    let q = s.queued();
    q[0].env.as_ref().unwrap().rewrite_context.clone()
}

#[test]
fn default_is_local_for_interface_addresses_only() {
    // inet_interfaces = all (the default): 127.0.0.1 is on lo.
    assert_eq!(context("", Some("127.0.0.1")), "local");
    assert_eq!(context("", None), "remote");
    assert_eq!(
        context("inet_interfaces = loopback-only\n", Some("127.0.0.1")),
        "local"
    );
}

#[test]
fn an_empty_list_makes_everything_remote_except_stand_alone() {
    let cf = "local_header_rewrite_clients =\n";
    assert_eq!(context(cf, Some("127.0.0.1")), "remote");
    let o = Opts {
        cf: cf.to_string(),
        stand_alone: true,
        ..Opts::default()
    };
    assert_eq!(context_of(o), "local");
}

#[test]
fn permit_mynetworks_and_address_maps() {
    let cf = "local_header_rewrite_clients = permit_mynetworks\n";
    assert_eq!(context(cf, Some("127.0.0.2")), "local");
    assert_eq!(context(cf, None), "remote");
    let cf = "local_header_rewrite_clients = check_address_map \
              inline:{198.51.200.7=pop-before-smtp}\n";
    assert_eq!(context(cf, Some("198.51.200.7")), "local");
    assert_eq!(context(cf, Some("198.51.200.8")), "remote");
    // The bare type:table form, after an element that does not match.
    let cf = "local_header_rewrite_clients = permit_sasl_authenticated, \
              inline:{198.51.200.9=x}\n";
    assert_eq!(context(cf, Some("198.51.200.9")), "local");
}

#[test]
fn unknown_elements_are_skipped_with_a_warning() {
    let cf = "local_header_rewrite_clients = bogus_rewrite_element, permit_mynetworks\n";
    assert_eq!(context(cf, Some("127.0.0.1")), "local");
    let log = std::fs::read_to_string(log_path()).unwrap_or_default();
    assert!(
        log.contains(
            "warning: parameter local_header_rewrite_clients: invalid request: bogus_rewrite_element"
        ),
        "{log}"
    );
}

#[test]
fn a_failing_table_defers_mail_from() {
    let mut s = Smtp::start(
        "local_header_rewrite_clients = check_address_map lmdb:/nonexistent/rewrite-clients\n",
    );
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "451")
        .is("451 4.3.0 Temporary lookup error");
    let log = s.done();
    assert!(
        log.iter()
            .any(|l| l.starts_with("NOQUEUE: reject: MAIL from ")
                && l.ends_with(": 451 4.3.0 Temporary lookup error; proto=ESMTP helo=<c.example>")),
        "{log:?}"
    );
}

#[test]
fn permit_inet_interfaces_restriction() {
    let cf = "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_inet_interfaces, reject\n";
    let mut s = Smtp::with(Opts {
        cf: cf.to_string(),
        peer_ip: Some("127.0.0.1".into()),
        ..Opts::default()
    });
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<x@remote.example>", "250");
    let mut s = Smtp::start(cf);
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<x@remote.example>", "554")
        .is("554 5.7.1 <x@remote.example>: Recipient address rejected: Access denied");
}
