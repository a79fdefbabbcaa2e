//! System tests of local submission: sendmail(1) -> postdrop(1) ->
//! `maildrop` -> pickup(8) -> cleanup(8) -> `incoming`, on a real
//! instance. sendmail runs with `-C <instance config>`; without pickup
//! the message stays in `maildrop`, with pickup and cleanup (and no
//! qmgr) it ends in `incoming`.
use queue::{QueueDir, QueueFile, QueueId};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::{wait_until, Instance};

const WAIT: Duration = Duration::from_secs(30);

fn qdir(inst: &Instance) -> QueueDir {
    QueueDir::new(inst.queue_dir(), &["deferred", "defer"], 1)
}

/// Run `program args...` of the instance with `input` on stdin;
/// returns (exit code, stdout, stderr).
fn run_with_input(
    inst: &Instance,
    program: &str,
    args: &[&str],
    input: &str,
) -> (i32, String, String) {
    let mut child = Command::new(inst.bin().join(program))
        .args(args)
        .env_remove("MAIL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start program");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), out, err)
}

fn sendmail(inst: &Instance, args: &[&str], input: &str) -> (i32, String, String) {
    let conf = inst.config_dir().display().to_string();
    let mut all = vec!["-C", conf.as_str()];
    all.extend_from_slice(args);
    run_with_input(inst, "sendmail", &all, input)
}

fn ids(inst: &Instance, queue: &str) -> Vec<QueueId> {
    qdir(inst).scan(queue).unwrap().flatten().collect()
}

const MESSAGE: &str = "Subject: hello\r\nTo: Bob <bob@example.com>, carol@example.org\r\n\
Bcc: dave@example.net\r\n\r\nline one\r\n.\r\nnot part of the message\r\n";

#[test]
fn sendmail_t_lands_in_maildrop_with_extracted_recipients() {
    let inst = Instance::builder().start();
    let (code, _out, err) = sendmail(
        &inst,
        &["-t", "-f", "alice@example.com", "-F", "Alice A"],
        MESSAGE,
    );
    assert_eq!(code, 0, "{err}");
    let drop = ids(&inst, queue::MAILDROP);
    assert_eq!(drop.len(), 1);
    let qf =
        QueueFile::open_readonly(&qdir(&inst), queue::MAILDROP, &drop[0]).expect("complete file");
    let mode = std::fs::metadata(qf.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o744, "maildrop files are readable by pickup");
    let env = qf.envelope();
    assert_eq!(env.sender, "alice@example.com");
    assert_eq!(env.attr("full_name"), Some("Alice A"));
    let rcpts: Vec<&str> = env.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        rcpts,
        ["bob@example.com", "carol@example.org", "dave@example.net"]
    );
    let content = String::from_utf8(qf.read_content().unwrap()).unwrap();
    assert_eq!(
        content, "Subject: hello\nTo: Bob <bob@example.com>, carol@example.org\n\nline one\n",
        "CRLF becomes LF, Bcc is gone, the dot line ends the input"
    );
}

#[test]
fn sendmail_refuses_a_message_without_recipients() {
    let inst = Instance::builder().start();
    let (code, _, err) = sendmail(&inst, &["-t"], "Subject: x\n\nbody\n");
    assert_eq!(code, 75);
    assert_eq!(
        err,
        "sendmail: fatal: root(0): No recipient addresses found in message header\n"
    );
    let (code, _, err) = sendmail(&inst, &[], "Subject: x\n\nbody\n");
    assert_eq!(code, 75);
    assert!(
        err.contains(
            "Recipient addresses must be specified on the command line or via the -t option"
        ),
        "{err}"
    );
    assert!(ids(&inst, queue::MAILDROP).is_empty());
    inst.wait_for_log("postfix/sendmail[", WAIT);
}

#[test]
fn sendmail_options_as_postfix() {
    let inst = Instance::builder().start();
    // An argument without an address is an empty recipient, as in Postfix.
    let (code, _, err) = sendmail(
        &inst,
        &["-f", "Joe <joe@x.example>", "", "<>"],
        "Subject: x\n\nbody\n",
    );
    assert_eq!(code, 0, "{err}");
    let drop = ids(&inst, queue::MAILDROP);
    assert_eq!(drop.len(), 1);
    let qf =
        QueueFile::open_readonly(&qdir(&inst), queue::MAILDROP, &drop[0]).expect("complete file");
    let env = qf.envelope();
    assert_eq!(env.sender, "joe@x.example");
    let rcpts: Vec<&str> = env.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(rcpts, ["", ""]);
    // Usage errors: Postfix's texts, exit status 75, nothing queued.
    for (args, want) in [
        (
            &["-Z", "a@x"][..],
            "sendmail: invalid option -- 'Z'\nsendmail: fatal: usage: sendmail [options]\n",
        ),
        (
            &["-t", "-bp"][..],
            "sendmail: fatal: -t can be used only in delivery mode\n",
        ),
        (
            &["-bp", "extra"][..],
            "sendmail: fatal: display queue mode requires no recipient\n",
        ),
        (
            &["-n", "a@x"][..],
            "sendmail: fatal: -n option not supported\n",
        ),
        (&["-qfoo"][..], "sendmail: fatal: -qf is not implemented\n"),
    ] {
        // No input: sendmail stops before reading it (a write could
        // meet a closed pipe).
        let (code, _, err) = sendmail(&inst, args, "");
        assert_eq!((code, err.as_str()), (75, want), "{args:?}");
    }
    let (code, out, err) = sendmail(&inst, &["-q1h"], "");
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (code, _, err) = run_with_input(&inst, "sendmail", &["-C", "/nonexistent", "a@x"], "");
    assert_eq!(code, 75);
    assert_eq!(
        err,
        "sendmail: fatal: open /nonexistent/main.cf: No such file or directory\n"
    );
    assert_eq!(ids(&inst, queue::MAILDROP).len(), 1);
}

#[test]
fn postdrop_refuses_a_broken_stream_and_leaves_nothing() {
    let inst = Instance::builder().start();
    let conf = inst.config_dir().display().to_string();
    let (code, _, err) = run_with_input(
        &inst,
        "postdrop",
        &["-r", "-c", &conf],
        "garbage that is not a record stream",
    );
    assert_eq!(code, 75, "{err}");
    assert!(err.starts_with("postdrop: warning: uid=0: "), "{err}");
    let left: Vec<_> = std::fs::read_dir(inst.queue_dir().join("maildrop"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn pickup_passes_maildrop_files_to_cleanup() {
    let inst = pickup_instance("");
    let (code, _, err) = sendmail(
        &inst,
        &["-oi", "bob@example.com"],
        "Subject: hi\n\n.\nbody\n",
    );
    assert_eq!(code, 0, "{err}");
    let line = inst.wait_for_log("uid=0 from=<root>", WAIT);
    assert!(line.contains("postfix/pickup["), "{line}");
    let got = wait_until(WAIT, || {
        let inc = ids(&inst, queue::INCOMING);
        (inc.len() == 1 && ids(&inst, queue::MAILDROP).is_empty()).then_some(inc)
    })
    .unwrap_or_else(|| panic!("message did not move to incoming\n{}", inst.log()));
    let id = got[0].as_str();
    assert!(
        line.contains(&format!("{id}: uid=0 from=<root>")),
        "pickup logs cleanup's queue ID: {line}"
    );
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    let env = qf.envelope();
    assert_eq!(
        env.sender, "root@test.example",
        "cleanup qualified the login name"
    );
    assert_eq!(env.recipients[0].address, "bob@example.com");
    let content = String::from_utf8(qf.read_content().unwrap()).unwrap();
    assert!(
        content.contains("\n.\nbody\n"),
        "-oi keeps the dot line: {content}"
    );
}

/// `-F` reaches cleanup as the full name of the From: header it adds;
/// `-f` stops at a line break (Postfix's warning, no header smuggled in).
#[test]
fn sendmail_full_name_and_a_sender_with_a_newline() {
    let inst = pickup_instance("");
    let (code, _, err) = sendmail(
        &inst,
        &[
            "-F",
            "John Doe",
            "-f",
            "a@b.example\nX-Evil: 1",
            "bob@example.com",
        ],
        "Subject: hi\n\nbody\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "sendmail: warning: -f option specified malformed sender: a@b.example?X-Evil: 1"
        ),
        "{err}"
    );
    let got = wait_incoming(&inst, 1);
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    assert_eq!(qf.envelope().sender, "a@b.example");
    let content = String::from_utf8(qf.read_content().unwrap()).unwrap();
    // header_from_format = standard, as Debian's Postfix 3.7 writes it.
    assert!(
        content.contains("From: John Doe <a@b.example>\n"),
        "{content}"
    );
    assert!(!content.contains("X-Evil"), "{content}");
}

/// An instance with pickup and cleanup (no qmgr: messages stay in
/// `incoming`), with pickup ready so that postdrop's wake-up reaches it
/// (the 60 s timer would catch up anyway).
fn pickup_instance(extra: &str) -> Instance {
    pickup_instance_with("", extra)
}

/// As [`pickup_instance`], with `options` (`-o name=value ...`) on the
/// pickup line of master.cf.
fn pickup_instance_with(options: &str, extra: &str) -> Instance {
    let inst = Instance::builder()
        .master_cf_line(&format!("pickup unix n - n 60 1 pickup {options}"))
        .master_cf_line("cleanup unix n - n - 0 cleanup")
        .main_cf(&format!(
            "myhostname = test.example\nmydestination = $myhostname, localhost\n{extra}"
        ))
        .start();
    wait_until(WAIT, || {
        inst.queue_dir()
            .join("public/pickup")
            .exists()
            .then_some(())
    });
    inst
}

#[test]
fn sendmail_with_5000_recipients_is_queued() {
    let inst = pickup_instance("");
    let rcpts: Vec<String> = (0..5000).map(|i| format!("user{i}@example.com")).collect();
    let mut args = vec!["-oi", "-f", "alice@example.com"];
    args.extend(rcpts.iter().map(String::as_str));
    let (code, _, err) = sendmail(&inst, &args, "Subject: many\n\nbody\n");
    assert_eq!(code, 0, "{err}");
    let got = wait_until(WAIT, || {
        let inc = ids(&inst, queue::INCOMING);
        (inc.len() == 1 && ids(&inst, queue::MAILDROP).is_empty()).then_some(inc)
    })
    .unwrap_or_else(|| panic!("message did not move to incoming\n{}", inst.log()));
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    let env = qf.envelope();
    assert_eq!(env.recipients.len(), 5000);
    assert_eq!(env.recipients[4999].address, "user4999@example.com");
    let log = inst.log();
    assert!(!log.contains("read envelope"), "{log}");
    assert!(!log.contains("will try again"), "{log}");
}

/// Wait until `n` complete files are in `incoming` (cleanup creates a
/// file there when its session starts) and return them.
fn wait_incoming(inst: &Instance, n: usize) -> Vec<QueueId> {
    let q = qdir(inst);
    wait_until(WAIT, || {
        let inc = ids(inst, queue::INCOMING);
        let complete = inc
            .iter()
            .all(|id| QueueFile::open_readonly(&q, queue::INCOMING, id).is_ok());
        (inc.len() == n && complete).then_some(inc)
    })
    .unwrap_or_else(|| panic!("{n} messages did not reach incoming\n{}", inst.log()))
}

#[test]
fn a_file_cleanup_cannot_take_does_not_block_the_others() {
    // virtual_alias_expansion_limit makes cleanup defer (4.6.0) the
    // message to big@example.com, every time.
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("virtual");
    std::fs::write(
        &table,
        "big@example.com a@example.com, b@example.com, c@example.com\n",
    )
    .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let inst = pickup_instance(&format!(
        "virtual_alias_maps = texthash:{}\nvirtual_alias_expansion_limit = 2\n",
        table.display()
    ));
    let (code, _, err) = sendmail(&inst, &["big@example.com"], "Subject: big\n\nx\n");
    assert_eq!(code, 0, "{err}");
    inst.wait_for_log("Alias expansion error; will try again", WAIT);
    for i in 0..8 {
        let (code, _, err) = sendmail(&inst, &["bob@example.com"], &format!("Subject: {i}\n\nx\n"));
        assert_eq!(code, 0, "{err}");
    }
    wait_incoming(&inst, 8);
    let left = wait_until(WAIT, || {
        let m = ids(&inst, queue::MAILDROP);
        (m.len() == 1).then_some(m)
    });
    assert!(left.is_some(), "the deferred file stays\n{}", inst.log());
    assert!(ids(&inst, queue::CORRUPT).is_empty());
}

#[test]
fn pickup_skips_files_still_being_written_silently() {
    let inst = pickup_instance("");
    // A file postdrop is still writing: mode 0600, owned by root, so
    // pickup (mail_owner) could not even open it.
    let mut w = queue::QueueWriter::create(&qdir(&inst), queue::MAILDROP).unwrap();
    w.set_sender("slow@example.com").unwrap();
    for i in 0..2 {
        let (code, _, err) = sendmail(&inst, &["bob@example.com"], &format!("Subject: {i}\n\nx\n"));
        assert_eq!(code, 0, "{err}");
        wait_incoming(&inst, i + 1);
    }
    let log = inst.log();
    assert!(!log.contains(w.id().as_str()), "{log}");
    assert!(
        !log.lines()
            .any(|l| l.contains("/pickup[") && l.contains("warning")),
        "{log}"
    );
    let left = wait_until(WAIT, || {
        let m = ids(&inst, queue::MAILDROP);
        (m.len() == 1).then_some(m)
    });
    assert_eq!(left, Some(vec![w.id().clone()]));
}

#[test]
fn pickup_adds_a_received_header() {
    let inst = pickup_instance("");
    let (code, _, err) = sendmail(
        &inst,
        &["-f", "alice@example.com", "bob@example.com"],
        " starts with a space\n\nbody\n",
    );
    assert_eq!(code, 0, "{err}");
    let got = wait_incoming(&inst, 1);
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    let content = String::from_utf8(qf.read_content().unwrap()).unwrap();
    let head = format!(
        "Received: by test.example (Postfix, from userid 0)\n\tid {}; ",
        got[0].as_str()
    );
    assert!(content.starts_with(&head), "{content}");
    let date = content.lines().nth(1).unwrap().split("; ").nth(1).unwrap();
    assert!(
        date.ends_with(" +0000 (UTC)") || !date.contains("(+"),
        "{date}"
    );
    // Content that starts with white space cannot continue our header:
    // it is body text after an empty line.
    assert!(content.contains("\n\n starts with a space\n"), "{content}");
}

#[test]
fn sendmail_refuses_a_message_over_message_size_limit() {
    let inst = pickup_instance("message_size_limit = 2000\n");
    let big = format!(
        "Subject: big\n\n{}",
        format!("{}\n", "y".repeat(70)).repeat(100)
    );
    let (code, _, err) = sendmail(&inst, &["bob@example.com"], &big);
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains("postdrop: warning: uid=0: File too large"),
        "{err}"
    );
    // And sendmail's own words, as Postfix's sendmail says them.
    assert!(
        err.contains("sendmail: fatal: root(0): message file too big"),
        "{err}"
    );
    assert!(ids(&inst, queue::MAILDROP).is_empty());
    // A message under the limit still goes through.
    let (code, _, err) = sendmail(&inst, &["bob@example.com"], "Subject: small\n\nx\n");
    assert_eq!(code, 0, "{err}");
    wait_incoming(&inst, 1);
}

#[test]
fn pickup_passes_its_own_content_filter() {
    // master.cf -o on pickup, not main.cf: cleanup does not know it.
    let inst = pickup_instance_with("-o content_filter=scan:[127.0.0.1]:10025", "");
    let (code, _, err) = sendmail(&inst, &["bob@example.com"], "Subject: f\n\nx\n");
    assert_eq!(code, 0, "{err}");
    let got = wait_incoming(&inst, 1);
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    assert_eq!(
        qf.envelope().attr("filter"),
        Some("scan:[127.0.0.1]:10025"),
        "{:?}",
        qf.envelope().attrs
    );
    // Without a content_filter the message has none.
    let inst = pickup_instance("");
    let (code, _, err) = sendmail(&inst, &["bob@example.com"], "Subject: f\n\nx\n");
    assert_eq!(code, 0, "{err}");
    let got = wait_incoming(&inst, 1);
    let qf = QueueFile::open_readonly(&qdir(&inst), queue::INCOMING, &got[0]).unwrap();
    assert_eq!(qf.envelope().attr("filter").unwrap_or(""), "");
}
