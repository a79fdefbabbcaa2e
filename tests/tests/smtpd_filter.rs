//! NAME
//!   smtpd_filter - system tests of access(5) FILTER and REDIRECT, of
//!   content_filter, and of a broken local_recipient_maps
//!
//! DESCRIPTION
//!   An instance with smtpd on a free port, the mail pipeline and the
//!   smtp client; Postfix's `smtp-sink` (Debian's postfix package) plays
//!   the content filter and the remote site, and dumps every message it
//!   accepts (`-D`), with `X-Rcpt-Args:` lines naming the recipients.
//!
//!   - FILTER: a recipient in a local domain, which would go to local(8),
//!     goes instead to `smtp:[127.0.0.1]:PORT` (the sink), with Postfix's
//!     `filter: RCPT from ...` log line.
//!   - content_filter in main.cf: a message submitted with sendmail
//!     (pickup, cleanup) also goes to the sink; `-o content_filter=` on
//!     the pickup line of master.cf alone sends it to that filter
//!     (`discard:pickup-filtered` here).
//!   - REDIRECT: a message for two recipients is delivered once, to the
//!     redirect address only (`to=<boss@...>, orig_to=<first@...>`).
//!   - ETRN for a domain in `fast_flush_domains` makes its deferred mail
//!     due at once, long before `minimal_backoff_time` / `queue_run_delay`.
//!   - `local_recipient_maps = lmdb:/missing` makes RCPT answer `451
//!     4.3.0 <addr>: Temporary lookup failure`, and nothing is accepted.
//!
//!   Run: `cargo build -p smtpd -p cleanup -p qmgr -p smtp ...` then
//!   `cargo test -p systest --test smtpd_filter`.
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;
use testkit::client::Client;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "mx.filter.test";

/// A running smtp-sink with its dump file; killed on drop.
struct Sink {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    dump: PathBuf,
}

impl Sink {
    fn start() -> Option<Sink> {
        Sink::start_on(testkit::ports::free_port())
    }

    fn start_on(port: u16) -> Option<Sink> {
        if Command::new("smtp-sink").arg("-h").output().is_err() {
            println!("skipped: smtp-sink is not installed (Debian's postfix package)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("dump");
        let child = Command::new("smtp-sink")
            .args(["-D", dump.to_str().unwrap(), "-u", "root"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("10")
            .spawn()
            .expect("smtp-sink");
        wait_until(WAIT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .expect("smtp-sink listens");
        Some(Sink {
            child,
            port,
            _dir: dir,
            dump,
        })
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.dump).unwrap_or_default()
    }

    /// Wait until the dump holds `n` messages; returns its text.
    fn wait_messages(&self, n: usize, inst: &Instance) -> String {
        wait_until(WAIT, || {
            let t = self.text();
            (t.matches("X-Client-Addr: ").count() >= n).then_some(t)
        })
        .unwrap_or_else(|| {
            panic!(
                "the sink got no {n} messages:\n{}\n{}",
                self.text(),
                inst.log()
            )
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn instance(extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .master_cf_line("127.0.0.1:{port:smtpd} inet n - n - - smtpd")
        .master_cf_line("smtp unix - - n - - smtp")
        .master_cf_line("scache unix - - n - 1 scache")
        .main_cf(&format!(
            "myhostname = {HOST}\nmydestination = $myhostname, localhost\ninet_protocols = ipv4\n\
             mynetworks = 127.0.0.0/8\nsmtpd_peername_lookup = no\nalias_maps =\n\
             smtpd_error_sleep_time = 0\nqueue_run_delay = 1s\nminimal_backoff_time = 1s\n\
             maximal_backoff_time = 2s\n{extra}"
        ))
        .start()
}

/// An SMTP session with our smtpd: HELO and MAIL done.
fn session(inst: &Instance) -> Client {
    let mut c = Client::connect(inst.port("smtpd")).expect("connect to smtpd");
    assert!(c.read_line().starts_with("220 "));
    assert!(c.cmd("HELO client.filter.test").starts_with("250"));
    assert!(c
        .cmd("MAIL FROM:<sender@client.filter.test>")
        .starts_with("250"));
    c
}

/// Send a message to `rcpts` (each must be accepted) and QUIT.
fn send(inst: &Instance, rcpts: &[&str]) {
    let mut c = session(inst);
    for r in rcpts {
        let rep = c.cmd(&format!("RCPT TO:<{r}>"));
        assert!(rep.starts_with("250"), "RCPT {r}: {rep}");
    }
    assert!(c.cmd("DATA").starts_with("354"));
    c.send("Subject: filter test\r\n\r\nbody\r\n.");
    let rep = c.read_line();
    assert!(rep.starts_with("250 2.0.0 Ok: queued as "), "{rep}");
    c.cmd("QUIT");
}

fn sent_line(inst: &Instance, rcpt: &str) -> String {
    let l = inst.wait_for_log(&format!("to=<{rcpt}>, "), WAIT);
    assert!(l.contains("status=sent"), "{l}\n{}", inst.log());
    l
}

#[test]
fn filter_routes_a_local_recipient_to_the_filter() {
    let Some(sink) = Sink::start() else { return };
    let port = sink.port;
    let inst = instance(&format!(
        "local_recipient_maps =\nsmtpd_recipient_restrictions = check_recipient_access \
         inline:{{ {{ scan@{HOST} = FILTER smtp:[127.0.0.1]:{port} }} }}, \
         permit_mynetworks, reject_unauth_destination\n"
    ));
    let rcpt = format!("scan@{HOST}");
    send(&inst, &[&rcpt]);
    let dump = sink.wait_messages(1, &inst);
    assert!(dump.contains(&format!("X-Rcpt-Args: <{rcpt}>")), "{dump}");
    assert!(dump.contains("Subject: filter test"), "{dump}");
    let l = sent_line(&inst, &rcpt);
    assert!(
        l.contains(&format!("relay=127.0.0.1[127.0.0.1]:{port}, ")),
        "{l}"
    );
    let f = inst.wait_for_log(": filter: RCPT from ", WAIT);
    assert!(
        f.contains(&format!("NOQUEUE: filter: RCPT from unknown[127.0.0.1]: <{rcpt}>: Recipient address triggers FILTER smtp:[127.0.0.1]:{port}; from=<sender@client.filter.test> to=<{rcpt}> proto=SMTP helo=<client.filter.test>")),
        "{f}"
    );
}

#[test]
fn content_filter_applies_to_local_submissions() {
    let Some(sink) = Sink::start() else { return };
    let inst = instance(&format!(
        "content_filter = smtp:[127.0.0.1]:{}\n",
        sink.port
    ));
    let rcpt = format!("nobody@{HOST}");
    let msg = "From: sender@client.filter.test\nSubject: via pickup\n\nbody\n";
    inst.sendmail(&["-f", "sender@client.filter.test", &rcpt], msg)
        .assert_ok();
    let dump = sink.wait_messages(1, &inst);
    assert!(dump.contains("Subject: via pickup"), "{dump}");
    sent_line(&inst, &rcpt);
}

#[test]
fn pickup_content_filter_from_master_cf_routes_sendmail_mail() {
    // The pipeline with `-o content_filter=discard:...` on pickup only:
    // mail from sendmail goes to the filter's transport (discard, which
    // logs the next hop as its reason), not to local(8).
    let mut b = Instance::builder();
    for line in testkit::instance::PIPELINE_SERVICES {
        b = b.master_cf_line(&match line.strip_prefix("pickup ") {
            Some(_) => format!("{line} -o content_filter=discard:pickup-filtered"),
            None => line.to_string(),
        });
    }
    let inst = b
        .main_cf(&format!(
            "myhostname = {HOST}\nmydestination = $myhostname, localhost\nalias_maps =\n"
        ))
        .start();
    let rcpt = format!("nobody@{HOST}");
    inst.sendmail(
        &["-f", "sender@client.filter.test", &rcpt],
        "Subject: f\n\nx\n",
    )
    .assert_ok();
    let l = sent_line(&inst, &rcpt);
    assert!(l.contains("relay=none, "), "{l}");
    assert!(l.ends_with("status=sent (pickup-filtered)"), "{l}");
}

#[test]
fn redirect_delivers_to_the_redirect_address_only() {
    let Some(sink) = Sink::start() else { return };
    let inst = instance(&format!(
        "relayhost = [127.0.0.1]:{}\nsmtpd_recipient_restrictions = check_recipient_access \
         inline:{{ {{ first@remote.test = REDIRECT boss@remote.test }} }}, permit_mynetworks, \
         reject_unauth_destination\n",
        sink.port
    ));
    send(&inst, &["first@remote.test", "second@remote.test"]);
    let dump = sink.wait_messages(1, &inst);
    assert!(dump.contains("X-Rcpt-Args: <boss@remote.test>"), "{dump}");
    assert!(!dump.contains("first@remote.test>"), "{dump}");
    assert!(!dump.contains("second@remote.test>"), "{dump}");
    let l = sent_line(&inst, "boss@remote.test");
    assert!(l.contains(", orig_to=<first@remote.test>, "), "{l}");
    inst.wait_for_log(": removed", WAIT);
    assert!(
        !inst.log().contains("to=<second@remote.test>"),
        "{}",
        inst.log()
    );
    assert!(inst
        .log()
        .contains("redirect: RCPT from unknown[127.0.0.1]: <first@remote.test>: Recipient address triggers REDIRECT boss@remote.test;"));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sink.text().matches("X-Client-Addr: ").count(), 1);
}

#[test]
fn broken_local_recipient_maps_gives_451() {
    let inst = instance("local_recipient_maps = lmdb:/nonexistent/postern-filter-users\n");
    let mut c = session(&inst);
    let rcpt = format!("user@{HOST}");
    let rep = c.cmd(&format!("RCPT TO:<{rcpt}>"));
    assert_eq!(rep, format!("451 4.3.0 <{rcpt}>: Temporary lookup failure"));
    assert!(c
        .cmd("DATA")
        .starts_with("554 5.5.1 Error: no valid recipients"));
    c.cmd("QUIT");
    let l = inst.wait_for_log("NOQUEUE: reject: RCPT from ", WAIT);
    assert!(l.contains(&format!("451 4.3.0 <{rcpt}>: Temporary lookup failure; from=<sender@client.filter.test> to=<{rcpt}> proto=SMTP helo=<client.filter.test>")), "{l}");
    let log = inst.log();
    assert!(
        log.contains("warning: lmdb:/nonexistent/postern-filter-users is unavailable."),
        "{log}"
    );
    let incoming = inst.queue_dir().join("incoming");
    assert!(is_empty_dir(&incoming), "nothing is queued");
}

fn is_empty_dir(p: &Path) -> bool {
    std::fs::read_dir(p).map_or(true, |mut d| d.next().is_none())
}

#[test]
fn etrn_delivers_the_sites_deferred_mail_now() {
    let port = testkit::ports::free_port();
    let inst = instance(&format!(
        "relayhost = [127.0.0.1]:{port}\nfast_flush_domains = remote.test\n\
         minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
    ));
    send(&inst, &["site@remote.test"]);
    let d = inst.wait_for_log("to=<site@remote.test>, relay=", WAIT);
    assert!(d.contains("status=deferred"), "{d}");
    let Some(sink) = Sink::start_on(port) else {
        return;
    };
    let mut c = Client::connect(inst.port("smtpd")).expect("connect to smtpd");
    assert!(c.read_line().starts_with("220 "));
    assert!(c.cmd("HELO client.filter.test").starts_with("250"));
    assert_eq!(c.cmd("ETRN remote.test"), "250 Queuing started");
    c.cmd("QUIT");
    sink.wait_messages(1, &inst);
    let sent = wait_until(WAIT, || {
        inst.log()
            .lines()
            .find(|l| l.contains("to=<site@remote.test>") && l.contains("status=sent"))
            .map(str::to_string)
    });
    assert!(sent.is_some(), "{}", inst.log());
}
