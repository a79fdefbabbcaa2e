//! In-process tests of the access restrictions and their results.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn from_mynetworks(extra: &str) -> Smtp {
    Smtp::with(Opts {
        cf: extra.into(),
        peer_ip: Some("127.0.0.9".into()),
        ..Opts::default()
    })
}

#[test]
fn relay_control() {
    let mut s =
        Smtp::start("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<x@elsewhere.example>", "554")
        .is("554 5.7.1 <x@elsewhere.example>: Relay access denied");
    s.cmd("RCPT TO:<x@relay.example>", "250");
    s.cmd("RCPT TO:<x@sub.relay.example>", "250");
    s.cmd("RCPT TO:<x%y@relay.example>", "554");
    s.cmd("RCPT TO:<postmaster>", "250");
    s.cmd("RCPT TO:<x@[127.0.0.1]>", "250");
    let mut s = from_mynetworks(
        "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n",
    );
    s.envelope("a@b.example", "x@elsewhere.example");
}

const ACCESS: &str = "inline:{ ok.example=OK, { bad.example = REJECT go away }, later.example=DEFER, \
    { num.example = 550 5.1.1 no such }, dunno.example=DUNNO, { pre.example = PREPEND X-Tag: yes }, \
    hold.example=HOLD, drop.example=DISCARD, restr.example=reject_non_fqdn_helo_hostname }";

#[test]
fn access_table_results() {
    let mut s = Smtp::start(&format!(
        "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = check_recipient_access {ACCESS}\n"
    ));
    s.cmd("HELO c", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@bad.example>", "554")
        .is("554 5.7.1 <u@bad.example>: Recipient address rejected: go away");
    s.cmd("RCPT TO:<u@later.example>", "450")
        .is("450 4.7.1 <u@later.example>: Recipient address rejected: Access denied");
    s.cmd("RCPT TO:<u@num.example>", "550")
        .is("550 5.1.1 <u@num.example>: Recipient address rejected: no such");
    s.cmd("RCPT TO:<u@restr.example>", "504")
        .is("504 5.5.2 <c>: Helo command rejected: need fully-qualified hostname");
    s.cmd("RCPT TO:<u@dunno.example>", "250");
    s.cmd("RCPT TO:<u@ok.example>", "250");
    let log = s.done();
    assert!(log.iter().any(|l| l.starts_with("NOQUEUE: reject: RCPT from ") && l.contains("<u@bad.example>: Recipient address rejected: go away; from=<a@b.example> to=<u@bad.example> proto=SMTP helo=<c>")), "{log:?}");
}

#[test]
fn prepend_hold_discard() {
    let cf = format!("smtpd_recipient_restrictions = check_sender_access {ACCESS}, permit\n");
    let mut s = Smtp::start(&cf);
    s.envelope("x@pre.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"Subject: s\r\n\r\nb\r\n.\r\n");
    s.reply().contains("queued as");
    assert!(
        s.queued()[0]
            .text()
            .starts_with("X-Tag: yes\nReceived: from"),
        "{}",
        s.queued()[0].text()
    );
    let mut s = Smtp::start(&cf);
    s.envelope("x@hold.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"b\r\n.\r\n");
    s.reply().contains("queued as");
    assert_eq!(s.queued()[0].env.as_ref().unwrap().flags & 4, 4);
    let log = s.log();
    assert!(
        log.iter().any(|l| l.contains(": hold: RCPT from ")
            && l.contains("<x@hold.example>: Sender address triggers HOLD action")),
        "{log:?}"
    );
    let mut s = Smtp::start(&cf);
    s.envelope("x@drop.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"b\r\n.\r\n");
    s.reply().contains("250 2.0.0 Ok: queued as");
    assert!(
        s.queued().is_empty(),
        "a discarded message is never finished"
    );
}

#[test]
fn client_and_helo_checks_with_delay_reject() {
    let mut s = Smtp::start(
        "smtpd_client_restrictions = check_client_access cidr:{{198.51.0.0/16 REJECT}}\n",
    );
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    let r = s.cmd("RCPT TO:<u@mx.example.org>", "554");
    r.contains(&format!(
        "<{}>: Client host rejected: Access denied",
        s.peer
    ));
    let mut s = Smtp::start(
        "smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_invalid_helo_hostname\n",
    );
    s.cmd("HELO -bad-", "501")
        .is("501 5.5.2 <-bad->: Helo command rejected: Invalid name");
    s.cmd("HELO [192.0.2.1]", "250");
    let mut s = Smtp::start(
        "smtpd_delay_reject = no\nsmtpd_sender_restrictions = reject_non_fqdn_sender\n",
    );
    s.cmd("MAIL FROM:<a>", "504")
        .is("504 5.5.2 <a>: Sender address rejected: need fully-qualified address");
    s.cmd("MAIL FROM:<>", "250");
    let mut s = Smtp::start("smtpd_delay_reject = no\nsmtpd_client_restrictions = reject\n");
    s.cmd("HELO c.example", "554")
        .contains("Client host rejected: Access denied");
}

#[test]
fn dns_based_checks() {
    let dns = vec![("mx:good.example".to_string(), String::new())];
    let cf = "smtpd_recipient_restrictions = reject_unknown_sender_domain, reject_unknown_recipient_domain, reject_non_fqdn_recipient, permit\n\
              smtpd_relay_restrictions =\n";
    let mut s = Smtp::with(Opts {
        cf: cf.into(),
        dns: dns.clone(),
        ..Opts::default()
    });
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@nx.example>", "250");
    s.cmd("RCPT TO:<u@good.example>", "450")
        .is("450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found");
    s.cmd("RSET", "250");
    s.cmd("MAIL FROM:<a@good.example>", "250");
    s.cmd("RCPT TO:<u@nx.example>", "450")
        .is("450 4.1.2 <u@nx.example>: Recipient address rejected: Domain not found");
    s.cmd("RCPT TO:<u@tempfail.example>", "450");
    s.cmd("RCPT TO:<u>", "504")
        .is("504 5.5.2 <u>: Recipient address rejected: need fully-qualified address");
    s.cmd("RCPT TO:<u@good.example>", "250");
    let mut s = Smtp::with(Opts {
        cf: "smtpd_client_restrictions = reject_unknown_client_hostname\n".into(),
        ..Opts::default()
    });
    s.envelope_fail();
}

trait EnvelopeFail {
    fn envelope_fail(&mut self);
}

impl EnvelopeFail for Smtp {
    fn envelope_fail(&mut self) {
        self.cmd("EHLO c.example", "250");
        self.cmd("MAIL FROM:<a@b.example>", "250");
        let r = self.cmd("RCPT TO:<u@mx.example.org>", "450");
        assert!(
            r.text
                .starts_with("450 4.7.25 Client host rejected: cannot find your hostname, ["),
            "{}",
            r.text
        );
    }
}

#[test]
fn unlisted_local_recipient() {
    let mut s = Smtp::start("local_recipient_maps = inline:{ alice=1 }\n");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<bob@mx.example.org>", "550").is("550 5.1.1 <bob@mx.example.org>: Recipient address rejected: User unknown in local recipient table");
    s.cmd("RCPT TO:<alice@mx.example.org>", "250");
    s.cmd("VRFY bob@mx.example.org", "550");
    s.cmd("VRFY alice@mx.example.org", "252");
}

#[test]
fn classes_warn_if_reject_and_unknown_names() {
    let mut s = Smtp::start(
        "smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_sender, permit\n\
         smtpd_recipient_restrictions = warn_if_reject reject_non_fqdn_helo_hostname, check_recipient_access inline:{ s.example=strict }\n\
         smtpd_relay_restrictions =\n",
    );
    s.cmd("HELO c", "250");
    s.cmd("MAIL FROM:<a>", "250");
    s.cmd("RCPT TO:<u@s.example>", "504")
        .contains("Sender address rejected");
    s.cmd("RCPT TO:<u@other.example>", "250");
    let log = s.log();
    assert!(
        log.iter()
            .any(|l| l.starts_with("NOQUEUE: reject_warning: RCPT from ")
                && l.contains("504 5.5.2 <c>: Helo command rejected")),
        "{log:?}"
    );
    let mut s = Smtp::start("smtpd_recipient_restrictions = no_such_thing\n");
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example>", "250");
    s.cmd("RCPT TO:<u@mx.example.org>", "451")
        .is("451 4.3.5 Server configuration error");
}

#[test]
fn data_and_end_of_data_restrictions() {
    let mut s = Smtp::start("smtpd_data_restrictions = reject\n");
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "554")
        .is("554 5.7.1 <DATA>: Data command rejected: Access denied");
    let mut s = Smtp::start("smtpd_end_of_data_restrictions = defer\n");
    s.envelope("a@b.example", "u@mx.example.org");
    s.cmd("DATA", "354");
    s.send(b"x\r\n.\r\n");
    s.reply()
        .is("450 4.7.1 <END-OF-MESSAGE>: End-of-data rejected: Try again later");
    assert!(s.queued().is_empty());
}

/// A one-connection policy server answering `action` to every request
/// and handing back the requests it saw.
fn policy_server(actions: Vec<&'static str>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        let mut r = BufReader::new(c.try_clone().unwrap());
        let mut w = c;
        let mut seen = Vec::new();
        for a in actions {
            let mut req = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 {
                    return seen;
                }
                if line == "\n" {
                    break;
                }
                req.push_str(&line);
            }
            seen.push(req);
            w.write_all(format!("action={a}\n\n").as_bytes()).unwrap();
        }
        seen
    });
    (port, h)
}

#[test]
fn policy_delegation() {
    let (port, h) = policy_server(vec!["DUNNO", "450 4.7.1 greylisted, try later", "OK"]);
    let mut s = Smtp::start(&format!(
        "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:{port}, permit\n"
    ));
    s.cmd("EHLO c.example", "250");
    s.cmd("MAIL FROM:<a@b.example> SIZE=123", "250");
    s.cmd("RCPT TO:<u1@mx.example.org>", "250");
    s.cmd("RCPT TO:<u2@mx.example.org>", "450")
        .is("450 4.7.1 <u2@mx.example.org>: Recipient address rejected: greylisted, try later");
    s.cmd("RCPT TO:<u3@mx.example.org>", "250");
    s.cmd("QUIT", "221");
    drop(s);
    let seen = h.join().unwrap();
    assert_eq!(seen.len(), 3);
    for want in [
        "request=smtpd_access_policy\n",
        "protocol_state=RCPT\n",
        "protocol_name=ESMTP\n",
        "helo_name=c.example\n",
        "sender=a@b.example\n",
        "recipient=u1@mx.example.org\n",
        "size=123\n",
        "client_name=unknown\n",
    ] {
        assert!(seen[0].contains(want), "{want}: {}", seen[0]);
    }
    assert!(seen[1].contains("recipient_count=1\n"), "{}", seen[1]);
    // An unreachable policy server gives the default action.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap().port();
    drop(l);
    let mut s = Smtp::start(&format!(
        "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:{dead}\nsmtpd_policy_service_retry_delay = 0\n"
    ));
    s.envelope_fail_policy();
}

trait PolicyFail {
    fn envelope_fail_policy(&mut self);
}

impl PolicyFail for Smtp {
    fn envelope_fail_policy(&mut self) {
        self.cmd("EHLO c.example", "250");
        self.cmd("MAIL FROM:<a@b.example>", "250");
        self.cmd("RCPT TO:<u@mx.example.org>", "451").is("451 4.3.5 <u@mx.example.org>: Recipient address rejected: Server configuration problem");
    }
}
