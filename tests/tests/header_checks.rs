//! System tests of header_checks(5) and body_checks in cleanup(8) on a
//! real instance: the mail pipeline (qmgr delivers local mail with the
//! discard(8) transport) plus smtpd on 127.0.0.1. swaks and sendmail(1)
//! submit; the tests check SMTP replies, cleanup's log lines (as
//! Debian's Postfix 3.7 writes them, compared by hand on this machine),
//! and where the message went: delivered, held, discarded or bounced.
use queue::{QueueDir, QueueFile, QueueId};
use std::process::Command;
use std::time::Duration;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(60);

const HEADER_CHECKS: &str = "\
/^Subject: .*viagra/ REJECT
/^Subject: .*custom/ REJECT 5.7.0 go away now
/^Subject: .*warnme/ WARN some warn text
/^Subject: .*holdme/ HOLD hold text
/^Subject: .*discardme/ DISCARD
/^X-Prepend:/ PREPEND X-Added: yes
/^X-Replace:/ REPLACE X-Replaced: done
/^X-Ignore:/ IGNORE
/^X-Redirect:/ REDIRECT other@mx.test.example
/^X-Bcc:/ BCC copy@mx.test.example
/^X-Hold:/ HOLD
/^X-Filter:/ FILTER smtp:[127.0.0.1]:9999
/^X-Bogus:/ FROBNICATE x
";

const BODY_CHECKS: &str = "\
/tempfail-me/ REJECT 4.7.0 later please
/warnbody/ WARN
/replacebody/ REPLACE replaced body line
";

const NESTED_CHECKS: &str = "/^Subject: .*nested/ WARN nested table\n";

const MIME_CHECKS: &str =
    "/^Content-Type: .*mimewarn/ WARN mime table\n/^X-Part:/ WARN mime part\n";

/// An instance with the tables above; `extra` is more main.cf text, in
/// which `@DIR@` stands for the configuration directory.
fn start(extra: &str) -> Instance {
    let mut inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("127.0.0.1:{port:smtpd} inet n - n - - smtpd")
        .build();
    let dir = inst.config_dir();
    for (name, text) in [
        ("header_checks", HEADER_CHECKS),
        ("body_checks", BODY_CHECKS),
        ("nested_checks", NESTED_CHECKS),
        ("mime_checks", MIME_CHECKS),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let d = dir.display().to_string();
    inst.set_main_cf(&format!(
        "myhostname = mx.test.example\nmydestination = $myhostname\n\
         local_recipient_maps =\nlocal_transport = discard:\nalias_maps =\n\
         service_throttle_time = 1s\n\
         header_checks = regexp:{d}/header_checks\n\
         body_checks = regexp:{d}/body_checks\n\
         nested_header_checks = regexp:{d}/nested_checks\n{}",
        extra.replace("@DIR@", &d)
    ));
    inst.start();
    inst
}

/// Send `data` (a whole message, LF line ends) with swaks; the reply to
/// the end of DATA.
fn swaks(inst: &Instance, rcpt: &str, data: &str) -> String {
    let port = inst.port("smtpd").to_string();
    let out = Command::new("swaks")
        .args(["-s", "127.0.0.1", "-p", &port, "--helo", "h.example"])
        .args(["-f", "s@example.org", "-t", rcpt, "--data", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(data.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run swaks");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines().skip_while(|l| l.trim() != "-> .");
    lines
        .nth(1)
        .map(|l| l.trim_start_matches(['<', '*', '-', ' ']).to_string())
        .unwrap_or_else(|| panic!("no reply to DATA in:\n{text}"))
}

fn qid_of(reply: &str) -> String {
    reply
        .rsplit(' ')
        .next()
        .filter(|_| reply.starts_with("250"))
        .unwrap_or_else(|| panic!("not queued: {reply}"))
        .to_string()
}

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

/// The complete file `id` in `queue`, when there is one.
fn queued(inst: &Instance, queue: &str, id: &str) -> Option<QueueFile> {
    let id = QueueId::parse(id)?;
    QueueFile::open_readonly(&qdir(inst), queue, &id).ok()
}

fn log_line(inst: &Instance, needle: &str) -> String {
    inst.wait_for_log(needle, WAIT)
}

#[test]
fn smtp_reject_is_refused_with_the_table_text_and_logged() {
    let inst = start("");
    let reply = swaks(&inst, "u@mx.test.example", "Subject: buy viagra\n\nhello\n");
    // Debian's Postfix: "550 5.7.1 message content rejected".
    assert!(reply.starts_with("550 5.7.1 "), "{reply}");
    assert!(reply.ends_with("message content rejected"), "{reply}");
    let l = log_line(&inst, "reject: header Subject: buy viagra from ");
    assert!(
        l.contains(
            "[127.0.0.1]; from=<s@example.org> to=<u@mx.test.example> proto=ESMTP helo=<h.example>: \
             5.7.1 message content rejected"
        ),
        "{l}"
    );
    assert!(l.contains("cleanup["), "{l}");
    let reply = swaks(
        &inst,
        "u@mx.test.example",
        "Subject: custom\n  folded\n\nhello\n",
    );
    assert!(reply.starts_with("550 5.7.0 "), "{reply}");
    assert!(reply.ends_with("go away now"), "{reply}");
    let l = log_line(&inst, "reject: header Subject: custom?  folded from ");
    assert!(l.ends_with(": 5.7.0 go away now"), "{l}");
    // A 4.x.x reason is a temporary refusal.
    let reply = swaks(
        &inst,
        "u@mx.test.example",
        "Subject: x\n\nplease tempfail-me now\n",
    );
    assert!(reply.starts_with("451 4.7.0 "), "{reply}");
    let l = log_line(&inst, "reject: body please tempfail-me now from ");
    assert!(l.ends_with(": 4.7.0 later please"), "{l}");
    // Nothing of the rejected messages stays in the queue.
    assert!(qdir(&inst).scan(queue::INCOMING).unwrap().next().is_none());
    // A client that leaves after RCPT is not worth a cleanup warning.
    let log = inst.log();
    assert!(!log.contains("client disconnected"), "{log}");
}

#[test]
fn warn_hold_and_discard() {
    let inst = start("");
    let id = qid_of(&swaks(
        &inst,
        "u@mx.test.example",
        "Subject: warnme\n\nwarnbody here\n",
    ));
    let l = log_line(
        &inst,
        &format!("{id}: warning: header Subject: warnme from "),
    );
    assert!(l.ends_with("helo=<h.example>: some warn text"), "{l}");
    let l = log_line(&inst, &format!("{id}: warning: body warnbody here from "));
    assert!(l.ends_with("helo=<h.example>"), "{l}");
    log_line(&inst, &format!("{id}: to=<u@mx.test.example>, relay=none"));

    let held = qid_of(&swaks(&inst, "u@mx.test.example", "Subject: holdme\n\nx\n"));
    let l = log_line(
        &inst,
        &format!("{held}: hold: header Subject: holdme from "),
    );
    assert!(l.ends_with(": hold text"), "{l}");
    assert!(queued(&inst, queue::HOLD, &held).is_some(), "not on hold");

    let gone = qid_of(&swaks(
        &inst,
        "u@mx.test.example",
        "Subject: discardme\n\nx\n",
    ));
    let l = log_line(
        &inst,
        &format!("{gone}: discard: header Subject: discardme from "),
    );
    assert!(l.ends_with("helo=<h.example>"), "{l}");
    // Wait for a later message to pass through, then look for traces.
    let later = qid_of(&swaks(&inst, "u@mx.test.example", "Subject: later\n\nx\n"));
    log_line(&inst, &format!("{later}: removed"));
    for q in [queue::INCOMING, queue::ACTIVE, queue::HOLD, queue::DEFERRED] {
        assert!(
            queued(&inst, q, &gone).is_none(),
            "discarded message in {q}"
        );
    }
    assert!(!inst.log().contains(&format!("{gone}: to=<")));
}

#[test]
fn edits_redirect_and_bcc_shape_the_queued_message() {
    let inst = start("");
    let msg = "Subject: edits\nX-Prepend: 1\nX-Replace: 1\nX-Ignore: 1\nX-Bcc: 1\n\
               X-Bogus: 1\nX-Filter: 1\nX-Hold: 1\n\nfirst\nreplacebody here\n";
    let id = qid_of(&swaks(&inst, "u@mx.test.example", msg));
    let qf = wait_until(WAIT, || queued(&inst, queue::HOLD, &id)).expect("held message");
    let text = String::from_utf8(qf.read_content().unwrap()).unwrap();
    assert!(text.contains("X-Added: yes\nX-Prepend: 1\n"), "{text}");
    assert!(text.contains("X-Replaced: done\n"), "{text}");
    assert!(
        !text.contains("X-Replace: 1") && !text.contains("X-Ignore"),
        "{text}"
    );
    assert!(text.contains("X-Bogus: 1\n"), "{text}");
    assert!(text.contains("\nfirst\nreplaced body line\n"), "{text}");
    let rcpts: Vec<(String, u8)> = qf
        .envelope()
        .recipients
        .iter()
        .map(|r| (r.address.clone(), r.notify.0))
        .collect();
    assert_eq!(
        rcpts,
        vec![
            ("u@mx.test.example".to_string(), 0),
            ("copy@mx.test.example".to_string(), 1)
        ]
    );
    assert_eq!(qf.envelope().attr("filter"), Some("smtp:[127.0.0.1]:9999"));
    let log = inst.log();
    assert!(
        log.contains("warning: unknown command in header_checks map: FROBNICATE x"),
        "{log}"
    );
    assert!(
        log.contains(&format!("{id}: prepend: header X-Prepend: 1 from ")),
        "{log}"
    );
    assert!(
        log.contains(&format!("{id}: bcc: header X-Bcc: 1 from ")),
        "{log}"
    );

    let id = qid_of(&swaks(
        &inst,
        "u@mx.test.example",
        "Subject: r\nX-Redirect: 1\n\nx\n",
    ));
    let l = log_line(
        &inst,
        &format!("{id}: redirect: header X-Redirect: 1 from "),
    );
    assert!(l.ends_with(": other@mx.test.example"), "{l}");
    let l = log_line(&inst, &format!("{id}: to=<other@mx.test.example>"));
    assert!(l.contains("orig_to=<u@mx.test.example>"), "{l}");
}

#[test]
fn mime_parts_and_attached_messages_use_their_tables() {
    let inst = start("mime_header_checks = regexp:@DIR@/mime_checks\n");
    let msg = "Subject: mime\nMIME-Version: 1.0\n\
               Content-Type: multipart/mixed; boundary=\"B\"; x=mimewarn\n\n\
               preamble\n--B\nContent-Type: text/plain\nX-Part: 1\n\nwarnbody in part\n\
               --B\nContent-Type: message/rfc822\n\nSubject: nested one\nX-Part: nested\n\n\
               inner\n--B--\n";
    let id = qid_of(&swaks(&inst, "u@mx.test.example", msg));
    log_line(
        &inst,
        &format!(
            "{id}: warning: header Content-Type: multipart/mixed; boundary=\"B\"; x=mimewarn from "
        ),
    );
    log_line(&inst, &format!("{id}: warning: header X-Part: 1 from "));
    log_line(
        &inst,
        &format!("{id}: warning: body warnbody in part from "),
    );
    let l = log_line(
        &inst,
        &format!("{id}: warning: header Subject: nested one from "),
    );
    assert!(l.ends_with(": nested table"), "{l}");
    log_line(&inst, &format!("{id}: to=<u@mx.test.example>, relay=none"));
    // X-Part in the attached message is a nested header: not in the MIME table.
    assert!(
        !inst.log().contains("header X-Part: nested"),
        "{}",
        inst.log()
    );
}

#[test]
fn sendmail_submissions_are_bounced_to_the_sender() {
    let inst = start("");
    inst.sendmail(
        &[
            "-f",
            "snd@mx.test.example",
            "a@mx.test.example",
            "b@mx.test.example",
        ],
        "Subject: buy viagra now\nFrom: me@mx.test.example\n\nbody\n",
    )
    .assert_ok();
    let l = log_line(&inst, "reject: header Subject: buy viagra now from local;");
    assert!(
        l.ends_with(
            "from=<snd@mx.test.example> to=<b@mx.test.example>: 5.7.1 message content rejected"
        ),
        "{l}"
    );
    let l = log_line(&inst, "to=<a@mx.test.example>, relay=none");
    assert!(
        l.contains("dsn=5.7.1, status=bounced (message content rejected)"),
        "{l}"
    );
    log_line(&inst, "sender non-delivery notification: ");
}

#[test]
fn no_header_body_checks_turns_the_tables_off() {
    let inst = start("receive_override_options = no_header_body_checks\n");
    let id = qid_of(&swaks(
        &inst,
        "u@mx.test.example",
        "Subject: buy viagra\n\nx\n",
    ));
    log_line(&inst, &format!("{id}: to=<u@mx.test.example>, relay=none"));
    assert!(!inst.log().contains(": reject: header"), "{}", inst.log());
}
