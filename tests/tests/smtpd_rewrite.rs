//! NAME
//!   smtpd_rewrite - system tests of local_header_rewrite_clients and of
//!   the restriction permit_inet_interfaces
//!
//! DESCRIPTION
//!   An instance with smtpd on 127.0.0.1 and cleanup, without qmgr, so a
//!   queued message stays in `incoming` where the test reads it. Python's
//!   smtplib is the client: it sends the message as given, without adding
//!   headers of its own (swaks would add Date: and Message-Id:).
//!
//!   - By default (`permit_inet_interfaces`, `inet_interfaces = all`)
//!     mail from 127.0.0.1 is local: cleanup gets `rewrite_context=local`,
//!     completes `To: bob` with `$myorigin` and adds Message-Id:, Date:
//!     and From:, as Postfix 3.7 does.
//!   - With `local_header_rewrite_clients =` the same mail is remote:
//!     its headers stay as they were sent.
//!   - `check_address_map type:table` makes a client local when its
//!     address is a key; a table that cannot be read makes MAIL FROM
//!     answer `451 4.3.0 Temporary lookup error` (Debian's Postfix 3.7
//!     answers and logs the same).
//!   - `smtpd_relay_restrictions = permit_inet_interfaces, reject` lets
//!     127.0.0.1 relay although it is not in `mynetworks`.
//!
//!   Run: `cargo build -p smtpd -p cleanup -p master -p postfix`, then
//!   `cargo test -p systest --test smtpd_rewrite`.
use queue::{QueueDir, QueueFile, QueueId};
use std::process::Command;
use std::time::Duration;
use testkit::Instance;

const WAIT: Duration = Duration::from_secs(60);
const HOST: &str = "mx.rewrite.test";

/// A message without Message-Id:, Date: or From:.
const BARE: &str = "Subject: no headers\r\nTo: bob\r\n\r\nbody\r\n";

/// smtplib session: EHLO, MAIL, RCPT, DATA with stdin; prints one line
/// per reply (`MAIL 250 ...`) and stops after the first refusal.
const SMTPLIB: &str = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.rewrite.test", timeout=30)
s.ehlo()
for verb, call in (("MAIL", lambda: s.mail(sys.argv[2])),
                   ("RCPT", lambda: s.rcpt(sys.argv[3])),
                   ("DATA", lambda: s.data(sys.stdin.buffer.read()))):
    code, text = call()
    print(verb, code, text.decode())
    if code >= 400:
        break
s.quit()
"#;

fn python_ok() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import smtplib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("skipped: python3 with smtplib is not installed");
    }
    ok
}

fn instance(extra: &str) -> Instance {
    Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtpd} inet n - n - - smtpd")
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .master_cf_line("anvil unix - - n - 1 anvil")
        .main_cf(&format!(
            "myhostname = {HOST}\nmydestination = $myhostname\ninet_protocols = ipv4\n\
             mynetworks = 192.0.2.0/24\nsmtpd_peername_lookup = no\n\
             local_recipient_maps =\nsmtpd_error_sleep_time = 0\n{extra}"
        ))
        .start()
}

/// Send `msg` from alice to `rcpt` with smtplib; the reply lines.
fn smtplib(inst: &Instance, rcpt: &str, msg: &str) -> Vec<String> {
    let port = inst.port("smtpd").to_string();
    let r = testkit::run::run_with_input(
        {
            let mut c = Command::new("python3");
            c.args(["-c", SMTPLIB, &port, "alice@client.rewrite.test", rcpt]);
            c
        },
        msg.as_bytes(),
        WAIT,
    );
    assert!(r.success(), "smtplib: {r}\n{}", inst.log());
    r.stdout.lines().map(str::to_string).collect()
}

/// Send [`BARE`] to bob and return the queued file's rewrite context
/// and content.
fn queue_bare(inst: &Instance) -> (String, String) {
    let replies = smtplib(inst, &format!("bob@{HOST}"), BARE);
    let last = replies.last().cloned().unwrap_or_default();
    let id = last
        .strip_prefix("DATA 250 2.0.0 Ok: queued as ")
        .unwrap_or_else(|| panic!("not queued: {replies:?}\n{}", inst.log()));
    let qdir = QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1);
    let qid = QueueId::parse(id).expect("queue id");
    let qf = QueueFile::open_readonly(&qdir, queue::INCOMING, &qid).expect("queued file");
    let ctx = qf
        .envelope()
        .attr("rewrite_context")
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8(qf.read_content().unwrap()).unwrap();
    (ctx, text)
}

#[test]
fn loopback_clients_get_missing_headers_by_default() {
    if !python_ok() {
        return;
    }
    let inst = instance("");
    let (ctx, text) = queue_bare(&inst);
    assert_eq!(ctx, "local", "{text}");
    assert!(text.contains(&format!("\nTo: bob@{HOST}\n")), "{text}");
    assert!(text.contains("\nMessage-Id: <"), "{text}");
    assert!(text.contains("\nDate: "), "{text}");
    assert!(
        text.contains("\nFrom: alice@client.rewrite.test\n"),
        "{text}"
    );
}

#[test]
fn an_empty_list_leaves_headers_alone() {
    if !python_ok() {
        return;
    }
    let inst = instance("local_header_rewrite_clients =\n");
    let (ctx, text) = queue_bare(&inst);
    assert_eq!(ctx, "remote", "{text}");
    let headers = text.split("\n\n").next().unwrap_or_default();
    assert!(
        headers.contains("\nTo: bob\n") || headers.ends_with("\nTo: bob"),
        "{text}"
    );
    for h in ["Message-Id:", "Date:", "From:"] {
        assert!(!headers.contains(h), "{h} added: {text}");
    }
}

#[test]
fn address_maps_decide_and_a_broken_one_defers_mail() {
    if !python_ok() {
        return;
    }
    let inst = instance(
        "local_header_rewrite_clients = permit_mynetworks, \
         check_address_map inline:{127.0.0.1=pop-before-smtp}\n",
    );
    let (ctx, text) = queue_bare(&inst);
    assert_eq!(ctx, "local", "{text}");
    assert!(text.contains("\nMessage-Id: <"), "{text}");
    drop(inst);

    let missing = tempfile::tempdir().unwrap();
    let table = missing.path().join("pop-before-smtp");
    let inst = instance(&format!(
        "local_header_rewrite_clients = lmdb:{}\n",
        table.display()
    ));
    let replies = smtplib(&inst, &format!("bob@{HOST}"), BARE);
    assert_eq!(
        replies,
        vec!["MAIL 451 4.3.0 Temporary lookup error".to_string()]
    );
    let l = inst.wait_for_log("NOQUEUE: reject: MAIL from ", WAIT);
    assert!(
        l.ends_with(
            "NOQUEUE: reject: MAIL from unknown[127.0.0.1]: 451 4.3.0 Temporary lookup error; \
             proto=ESMTP helo=<client.rewrite.test>"
        ),
        "{l}"
    );
}

#[test]
fn permit_inet_interfaces_lets_the_host_itself_relay() {
    if !python_ok() {
        return;
    }
    let inst = instance("smtpd_relay_restrictions = permit_inet_interfaces, reject\n");
    let replies = smtplib(&inst, "carol@remote.example", BARE);
    assert_eq!(replies.len(), 3, "{replies:?}\n{}", inst.log());
    assert_eq!(replies[1], "RCPT 250 2.1.5 Ok");
    drop(inst);
    // Without the restriction 127.0.0.1, not in mynetworks, may not relay.
    let inst = instance("smtpd_relay_restrictions = reject_unauth_destination\n");
    let replies = smtplib(&inst, "carol@remote.example", BARE);
    assert_eq!(
        replies.get(1).map(String::as_str),
        Some("RCPT 554 5.7.1 <carol@remote.example>: Relay access denied")
    );
}
