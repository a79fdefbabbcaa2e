//! NAME
//!   lmtp - system tests of lmtp(8) against Dovecot's LMTP server
//!
//! DESCRIPTION
//!   Starts Dovecot (Debian's `dovecot-lmtpd`, installed by scripts/test)
//!   from a minimal configuration in a temporary directory: LMTP only,
//!   on a UNIX-domain socket and on a loopback TCP port, users from a
//!   passwd-file with one test user whose mail goes to `~/Maildir`. A
//!   Postern instance sends `default_transport = lmtp:unix:PATH` (then
//!   `lmtp:inet:127.0.0.1:PORT`) and the test checks the per-recipient
//!   results after DATA (RFC 2033): the known user's message is saved in
//!   the Maildir and logged `status=sent (250 2.0.0 <user@...> ... Saved)`,
//!   the unknown user bounces with Dovecot's 550 reply.
//!
//!   Needs root (Dovecot, a system test user). Skipped with a message
//!   otherwise.
//!
//!   Run: `cargo build --workspace` then `cargo test -p systest --test lmtp`.
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::{ports::free_port, test_user, wait_until, Instance, TestUser};

const WAIT: Duration = Duration::from_secs(30);

/// A running Dovecot; killed (with its children) on drop.
struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0)),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Dovecot {
    fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("run/lmtp")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

fn dovecot(user: &TestUser) -> Dovecot {
    let dir = tempfile::Builder::new()
        .prefix("dovecot-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = free_port();
    std::fs::write(
        d.join("passwd"),
        format!(
            "{}:{{PLAIN}}x:{}:{}::{}::\n",
            user.name,
            user.uid,
            user.gid,
            user.home.display()
        ),
    )
    .unwrap();
    let conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
         protocols = lmtp\nssl = no\nlisten = 127.0.0.1\n\
         default_internal_user = dovecot\ndefault_login_user = dovenull\n\
         auth_username_format = %Ln\nmail_location = maildir:~/Maildir\n\
         first_valid_uid = 1\n\
         passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
         service lmtp {{\n  unix_listener lmtp {{\n    mode = 0666\n  }}\n\
           inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n",
        d = d.display()
    );
    std::fs::create_dir_all(d.join("state")).unwrap();
    std::fs::write(d.join("dovecot.conf"), conf).unwrap();
    let child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(d.join("dovecot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dovecot");
    let dc = Dovecot { child, dir, port };
    let ready = wait_until(WAIT, || {
        (dc.socket().exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
            .then_some(())
    });
    assert!(ready.is_some(), "dovecot did not start\n{}", dc.log());
    dc
}

fn available() -> Option<TestUser> {
    let found = Command::new("sh")
        .args(["-c", "command -v dovecot && test -x /usr/lib/dovecot/lmtp"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!(
            "skipped: Dovecot's LMTP server is not installed (scripts/test installs dovecot-lmtpd)"
        );
        return None;
    }
    let u = test_user("lmtp");
    if u.is_none() {
        println!("skipped: needs root");
    }
    u
}

fn run_case(transport: &str, dc: &Dovecot, user: &TestUser, relay: &str) {
    let inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("lmtp unix - - n - - lmtp")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             default_transport = {transport}\n"
        ))
        .start();
    let good = format!("{}@mail.test", user.name);
    let before = user.maildir_count();
    let msg = format!("From: s@client.test\nTo: {good}\nSubject: via lmtp {transport}\n\nhello\n");
    inst.sendmail(
        &["-f", "s@client.test", &good, "nobody-here@mail.test"],
        &msg,
    )
    .assert_ok();
    let l = inst.wait_for_log(&format!("to=<{good}>, relay="), WAIT);
    assert!(l.contains(&format!("relay={relay}, ")), "{l}");
    assert!(
        l.contains(&format!("dsn=2.0.0, status=sent (250 2.0.0 <{good}> ")),
        "{l}"
    );
    assert!(l.contains(" Saved)"), "{l}");
    println!("{l}");
    let b = inst.wait_for_log("to=<nobody-here@mail.test>, relay=", WAIT);
    assert!(
        b.contains("status=bounced (host ") && b.contains(" said: 550 5.1.1 "),
        "{b}\n{}",
        dc.log()
    );
    assert!(b.contains("(in reply to RCPT TO command)"), "{b}");
    let saved = wait_until(WAIT, || (user.maildir_count() > before).then_some(()));
    assert!(
        saved.is_some(),
        "no message in {}\n{}",
        user.maildir_new().display(),
        dc.log()
    );
    assert!(user
        .maildir_text()
        .contains(&format!("Subject: via lmtp {transport}")));
}

#[test]
fn dovecot_lmtp_over_unix_and_tcp() {
    let Some(user) = available() else { return };
    let dc = dovecot(&user);
    let sock = dc.socket();
    run_case(
        &format!("lmtp:unix:{}", sock.display()),
        &dc,
        &user,
        &format!("client.test[{}]", sock.display()),
    );
    run_case(
        &format!("lmtp:inet:127.0.0.1:{}", dc.port),
        &dc,
        &user,
        &format!("127.0.0.1[127.0.0.1]:{}", dc.port),
    );
}
