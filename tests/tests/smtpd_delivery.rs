//! System tests of smtpd(8) with real delivery (issue 4): Postfix's
//! smtp-source sends 2,000 messages in 10 parallel sessions, and every one
//! lands in a local user's Maildir; `sendmail -bs` runs smtpd stand-alone on
//! standard input and output. Delivery to a local user needs root; without
//! it the test says why it is skipped.
use std::process::Command;
use std::time::Duration;
use testkit::{test_user, wait_until, Instance};

const HOST: &str = "mx.test.example";

fn instance(extra: &str) -> Instance {
    Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .mail_pipeline()
        .main_cf(&format!(
            "myhostname = {HOST}\nmydestination = $myhostname, localhost\n\
             alias_maps =\nsmtpd_peername_lookup = no\nhome_mailbox = Maildir/\n{extra}"
        ))
        .start()
}

#[test]
fn smtp_source_2000_messages_reach_a_maildir() {
    let Some(user) = test_user("src2000") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let inst = instance("");
    let target = format!("127.0.0.1:{}", inst.port("smtp"));
    let rcpt = format!("{}@{HOST}", user.name);
    let out = Command::new("smtp-source")
        .args([
            "-s",
            "10",
            "-m",
            "2000",
            "-l",
            "1000",
            "-f",
            "src@client.example",
            "-t",
            &rcpt,
            &target,
        ])
        .output()
        .expect("run smtp-source (Debian's postfix package)");
    assert!(
        out.status.success(),
        "smtp-source: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = wait_until(Duration::from_secs(180), || {
        (user.maildir_count() >= 2000).then_some(())
    });
    assert!(
        done.is_some(),
        "only {} of 2000 messages delivered\n{}",
        user.maildir_count(),
        inst.run_program("postqueue", &["-p"], b"").stdout
    );
    assert_eq!(
        user.maildir_count(),
        2000,
        "no message is delivered twice without a crash"
    );
    let log = inst.log();
    assert_eq!(
        log.matches("status=sent (delivered to maildir)").count(),
        2000
    );
    assert!(!log.contains("panic"), "{log}");
}

#[test]
fn sendmail_bs_speaks_smtp_on_stdin() {
    let Some(user) = test_user("bs") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let inst = instance("");
    let rcpt = format!("{}@{HOST}", user.name);
    let dialogue = format!(
        "EHLO client.example\r\nMAIL FROM:<bs@client.example>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n\
         Subject: stand-alone\r\n\r\nvia sendmail -bs\r\n.\r\nQUIT\r\n"
    );
    let run = inst.run_program("sendmail", &["-bs"], dialogue.as_bytes());
    assert!(run.success(), "{run}");
    assert!(run.stdout.starts_with("220 "), "{}", run.stdout);
    assert!(
        run.stdout.contains("250 2.0.0 Ok: queued as "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("221 2.0.0 Bye"), "{}", run.stdout);
    let text = wait_until(Duration::from_secs(60), || {
        let t = user.maildir_text();
        t.contains("Subject: stand-alone").then_some(t)
    })
    .unwrap_or_else(|| panic!("not delivered\n{}", inst.log()));
    assert!(text.contains("via sendmail -bs"), "{text}");
}

#[test]
fn debian_postfix_relays_to_postern() {
    if !testkit::DebianPostfix::available() {
        eprintln!("skipped: Debian's postfix package is not installed (or not root)");
        return;
    }
    let Some(user) = test_user("fromdeb") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let inst = instance("");
    let debian = testkit::DebianPostfix::start(&format!(
        "myhostname = debian.test.example\nrelayhost = [127.0.0.1]:{}\nsmtp_tls_security_level = none\n",
        inst.port("smtp")
    ));
    let rcpt = format!("{}@{HOST}", user.name);
    let msg = format!(
        "From: someone@debian.test.example\nTo: {rcpt}\nSubject: relayed by Debian\n\nhello\n"
    );
    let r = debian.sendmail(&["-f", "someone@debian.test.example", &rcpt], &msg);
    assert!(r.success(), "{r}");
    // Debian's smtp client logs Postern's reply to the end of DATA.
    let line = debian.wait_for_log("status=sent", Duration::from_secs(60));
    assert!(line.contains("250 2.0.0 Ok: queued as"), "{line}");
    let text = wait_until(Duration::from_secs(60), || {
        let t = user.maildir_text();
        t.contains("Subject: relayed by Debian").then_some(t)
    })
    .unwrap_or_else(|| panic!("not delivered\n{}", inst.log()));
    assert!(
        text.contains("Received: by debian.test.example (Postfix, from userid 0)"),
        "Debian's Received header: {text}"
    );
    assert!(
        text.contains("Received: from debian.test.example ("),
        "our Received header names Debian's EHLO: {text}"
    );
    assert!(
        text.contains(&format!("by {HOST} (Postfix) with ESMTP id")),
        "our Received header: {text}"
    );
}
