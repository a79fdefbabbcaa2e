//! NAME
//!   anvil - system tests of anvil(8) and smtpd's client limits
//!
//! DESCRIPTION
//!   Each test starts an instance with smtpd on a free loopback port, the
//!   mail pipeline and anvil(8) (testkit's pipeline has the anvil line
//!   of Postfix's master.cf), sets `smtpd_client_event_limit_exceptions`
//!   empty (its default, `$mynetworks`, exempts loopback clients), and
//!   talks SMTP over real TCP connections:
//!
//!   - a second simultaneous session over
//!     `smtpd_client_connection_count_limit = 1` gets Postfix's `421`
//!     instead of the greeting and the warning is logged; once the first
//!     session ends a new one is served;
//!   - sessions over `smtpd_client_connection_rate_limit` are refused,
//!     and anvil logs its `statistics: max ...` peaks;
//!   - MAIL and RCPT over `smtpd_client_message_rate_limit` and
//!     `smtpd_client_recipient_rate_limit` get `450`; which commands
//!     count is compared with Debian's Postfix 3.7 (same script, same
//!     replies) when it is installed and the test runs as root;
//!   - loopback clients in `$mynetworks` are not limited by default;
//!   - without anvil in master.cf smtpd warns and serves without limits.
//!
//!   Rates use `anvil_rate_time_unit = 3600s` so that no time unit ends
//!   in the middle of a test on a slow machine.
//!
//!   Run: `cargo build -p anvil -p smtpd -p cleanup -p qmgr -p pickup -p
//!   bounce -p showq -p error -p discard -p local -p master -p postfix`
//!   then `cargo test -p systest --test anvil`.
use std::time::Duration;
use testkit::client::Client;
use testkit::{DebianPostfix, Instance};

const WAIT: Duration = Duration::from_secs(30);
const HOST: &str = "mx.anvil.example";

/// main.cf lines shared by Postern and Debian's Postfix.
fn limits(extra: &str) -> String {
    format!(
        "myhostname = {HOST}\nmynetworks = 127.0.0.0/8\nsmtpd_client_event_limit_exceptions =\n\
         anvil_rate_time_unit = 3600s\nsmtpd_error_sleep_time = 0\n{extra}"
    )
}

fn start(extra: &str) -> Instance {
    Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .mail_pipeline()
        .main_cf(&format!(
            "smtpd_peername_lookup = no\nalias_maps =\nlocal_recipient_maps =\n\
             default_transport = discard\n{}",
            limits(extra)
        ))
        .start()
}

fn service(inst: &Instance) -> String {
    format!("127.0.0.1:{}", inst.port("smtp"))
}

fn too_many() -> String {
    format!("421 4.7.0 {HOST} Error: too many connections from 127.0.0.1")
}

/// Wait until `needle` occurs `n` times in the log.
fn wait_count(inst: &Instance, needle: &str, n: usize) {
    let ok = testkit::wait_until(WAIT, || {
        (inst.log().matches(needle).count() >= n).then_some(())
    });
    assert!(ok.is_some(), "{n} x {needle:?} not logged:\n{}", inst.log());
}

#[test]
fn connection_count_limit_refuses_the_second_session() {
    let inst = start("smtpd_client_connection_count_limit = 1\n");
    let mut first = inst.connect("smtp");
    assert_eq!(first.read_line(), format!("220 {HOST} ESMTP Postfix"));
    let mut second = inst.connect("smtp");
    assert_eq!(second.read_line(), too_many());
    assert!(second.closed_within(WAIT), "the refused session stays open");
    inst.wait_for_log(
        &format!(
            "warning: Connection concurrency limit exceeded: 2 from unknown[127.0.0.1] for service {}",
            service(&inst)
        ),
        WAIT,
    );
    wait_count(&inst, "disconnect from unknown[127.0.0.1] commands=0/0", 1);
    // The first session still works, and once it ends a new one is served.
    assert_eq!(first.cmd("NOOP"), "250 2.0.0 Ok");
    assert_eq!(first.cmd("QUIT"), "221 2.0.0 Bye");
    wait_count(&inst, "disconnect from unknown[127.0.0.1] noop=1 quit=1", 1);
    let mut third = inst.connect("smtp");
    assert_eq!(third.read_line(), format!("220 {HOST} ESMTP Postfix"));
    assert_eq!(third.cmd("QUIT"), "221 2.0.0 Bye");
    assert_eq!(
        inst.log().matches("limit exceeded").count(),
        1,
        "{}",
        inst.log()
    );
}

#[test]
fn connection_rate_limit_refuses_sessions_over_the_rate() {
    let inst = start("smtpd_client_connection_rate_limit = 2\nanvil_status_update_time = 1s\n");
    for _ in 0..2 {
        let mut c = inst.connect("smtp");
        assert_eq!(c.read_line(), format!("220 {HOST} ESMTP Postfix"));
        assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    }
    let mut c = inst.connect("smtp");
    assert_eq!(c.read_line(), too_many());
    assert!(c.closed_within(WAIT));
    let svc = service(&inst);
    inst.wait_for_log(
        &format!(
            "warning: Connection rate limit exceeded: 3 from unknown[127.0.0.1] for service {svc}"
        ),
        WAIT,
    );
    // anvil reports the peaks of the period: the refused session counted.
    let line = inst.wait_for_log("statistics: max connection rate", WAIT);
    let want = format!("statistics: max connection rate 3/3600s for ({svc}:127.0.0.1) at ");
    assert!(
        line.contains("postfix/anvil[") && line.contains(&want),
        "{line}"
    );
    inst.wait_for_log(
        &format!("statistics: max connection count 1 for ({svc}:127.0.0.1) at "),
        WAIT,
    );
    inst.wait_for_log("statistics: max cache size 1 at ", WAIT);
}

/// The commands of the rate script, after the greeting.
const SCRIPT: &[&str] = &[
    "HELO client.example",
    "MAIL FROM:<a@example.org>",
    "MAIL FROM:<a@example.org>",
    "RCPT TO:<x@example.net>",
    "RCPT TO:<x@example.net",
    "RCPT TO:<x@example.net>",
    "RCPT TO:<x@example.net>",
    "RCPT TO:<x@example.net",
    "RSET",
    "MAIL FROM:<a@example.org",
    "MAIL",
    "MAIL FROM:<a@example.org>",
    "RCPT TO:<x@example.net>",
    "QUIT",
];

const RATES: &str = "smtpd_client_message_rate_limit = 2\nsmtpd_client_recipient_rate_limit = 3\n";

/// Run [`SCRIPT`] on `port`; the replies (first line of each).
fn run_script(port: u16) -> Vec<String> {
    let mut c = Client::connect(port).expect("connect");
    let mut out = vec![c.read_line()];
    for line in SCRIPT {
        out.push(c.cmd(line));
    }
    out
}

#[test]
fn message_and_recipient_rates_as_debian_postfix() {
    let inst = start(RATES);
    let got = run_script(inst.port("smtp"));
    let want = [
        format!("220 {HOST} ESMTP Postfix"),
        format!("250 {HOST}"),
        "250 2.1.0 Ok".into(),
        "503 5.5.1 Error: nested MAIL command".into(),
        "250 2.1.5 Ok".into(),
        // A bad address is counted: its syntax is checked after anvil.
        "501 5.1.3 Bad recipient address syntax".into(),
        "250 2.1.5 Ok".into(),
        "450 4.7.1 Error: too many recipients from 127.0.0.1".into(),
        "450 4.7.1 Error: too many recipients from 127.0.0.1".into(),
        "250 2.0.0 Ok".into(),
        "501 5.1.7 Bad sender address syntax".into(),
        // No FROM: is not counted.
        "501 5.5.4 Syntax: MAIL FROM:<address>".into(),
        "450 4.7.1 Error: too much mail from 127.0.0.1".into(),
        "503 5.5.1 Error: need MAIL command".into(),
        "221 2.0.0 Bye".into(),
    ];
    assert_eq!(got, want, "\n{}", inst.log());
    let svc = service(&inst);
    for w in [
        format!("warning: Recipient address rate limit exceeded: 4 from unknown[127.0.0.1] for service {svc}"),
        format!("warning: Recipient address rate limit exceeded: 5 from unknown[127.0.0.1] for service {svc}"),
        format!("warning: Message delivery request rate limit exceeded: 3 from unknown[127.0.0.1] for service {svc}"),
    ] {
        inst.wait_for_log(&w, WAIT);
    }
    if !DebianPostfix::available() {
        eprintln!("Debian's Postfix is not available (or not root): comparison skipped");
        return;
    }
    let debian = DebianPostfix::start(&limits(RATES));
    assert_eq!(
        run_script(debian.port()),
        want,
        "Debian's Postfix\n{}",
        debian.log()
    );
    debian.wait_for_log(
        "Message delivery request rate limit exceeded: 3 from ",
        WAIT,
    );
}

/// Two simultaneous sessions are both greeted and served.
fn two_sessions_at_once(inst: &Instance) {
    let mut first = inst.connect("smtp");
    assert_eq!(first.read_line(), format!("220 {HOST} ESMTP Postfix"));
    let mut second = inst.connect("smtp");
    assert_eq!(second.read_line(), format!("220 {HOST} ESMTP Postfix"));
    assert_eq!(second.cmd("QUIT"), "221 2.0.0 Bye");
    assert_eq!(first.cmd("QUIT"), "221 2.0.0 Bye");
    wait_count(inst, "disconnect from", 2);
}

#[test]
fn loopback_clients_in_mynetworks_are_not_limited_by_default() {
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .mail_pipeline()
        .main_cf(&format!(
            "myhostname = {HOST}\nmynetworks = 127.0.0.0/8\nsmtpd_peername_lookup = no\n\
             smtpd_client_connection_count_limit = 1\n"
        ))
        .start();
    two_sessions_at_once(&inst);
    assert!(!inst.log().contains("limit exceeded"), "{}", inst.log());
}

#[test]
fn without_anvil_smtpd_warns_and_does_not_limit() {
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .main_cf(&format!(
            "smtpd_peername_lookup = no\n{}",
            limits("smtpd_client_connection_count_limit = 1\n")
        ))
        .start();
    two_sessions_at_once(&inst);
    let log = inst.log();
    assert!(
        log.contains("warning: connect to private/anvil: No such file or directory"),
        "{log}"
    );
    assert!(
        log.contains("warning: problem talking to server private/anvil: No such file or directory"),
        "{log}"
    );
    assert!(!log.contains("limit exceeded"), "{log}");
}
