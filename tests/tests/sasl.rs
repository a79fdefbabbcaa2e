//! NAME
//!   sasl - system tests of SMTP AUTH in smtpd(8) against a real Dovecot
//!
//! DESCRIPTION
//!   Each test starts Dovecot (Debian's `dovecot-core`) with a private
//!   configuration in a temporary directory: `auth_mechanisms = plain
//!   login`, a passwd-file with the users alice/secret and bob/hunter2,
//!   and its auth socket at `private/auth` in the instance's queue
//!   directory (so `smtpd_sasl_path = private/auth` is the relative
//!   form). The instance runs smtpd on `smtp` (STARTTLS offered),
//!   `smtps` (wrapper mode) and `submission` (level encrypt, AUTH
//!   required, as the default master.cf's commented submission line).
//!   Clients: swaks, Python's smtplib and a raw TCP session. Regression
//!   tests are named after their TLS_CHANGES.txt entry (`y2002_05_24_...`).
//!
//!   Without Dovecot (or not as root) the tests say so and pass.
//!
//!   Run: `cargo build -p smtpd -p cleanup -p qmgr -p discard -p local
//!   -p bounce -p error -p master -p postfix` then `cargo test -p systest
//!   --test sasl`.
mod tls_pki;

use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::run::run;
use testkit::{test_user, wait_until, Instance};
use tls_pki::{builder, s_client, wait_log, Pki, WAIT};

/// A Dovecot auth server in a temporary directory; stopped on drop.
struct Dovecot {
    dir: tempfile::TempDir,
}

impl Dovecot {
    /// Start Dovecot with its auth socket at `socket`; `None` when it
    /// cannot run here (not installed, or not root).
    fn start(socket: &Path, mechs: &str) -> Option<Dovecot> {
        if !Path::new("/usr/sbin/dovecot").exists() || !nix_is_root() {
            eprintln!("skipped: needs /usr/sbin/dovecot (dovecot-core) and root");
            return None;
        }
        std::fs::create_dir_all(socket.parent()?).ok()?;
        let dir = tempfile::tempdir().ok()?;
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("passwd"),
            "alice:{PLAIN}secret::::::\nbob:{PLAIN}hunter2::::::\n",
        )
        .ok()?;
        let conf = format!(
            "protocols =\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             log_path = {d}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
             auth_mechanisms = {mechs}\nauth_failure_delay = 0\n\
             default_login_user = nobody\ndefault_internal_user = root\n\
             default_internal_group = root\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={d}\n}}\n\
             service auth {{\n  unix_listener {} {{\n    mode = 0666\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n",
            socket.display()
        );
        let file = dir.path().join("dovecot.conf");
        std::fs::write(&file, conf).ok()?;
        let mut cmd = Command::new("/usr/sbin/dovecot");
        cmd.arg("-c").arg(&file);
        run(cmd, WAIT).assert_ok();
        let up = wait_until(WAIT, || socket.exists().then_some(()));
        assert!(up.is_some(), "dovecot did not make {}", socket.display());
        Some(Dovecot { dir })
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let pidfile = self.dir.path().join("run/master.pid");
        if let Some(pid) = std::fs::read_to_string(pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            let gone = wait_until(WAIT, || {
                (!PathBuf::from(format!("/proc/{pid}")).exists()).then_some(())
            });
            if gone.is_none() {
                eprintln!("dovecot {pid} still running");
            }
        }
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

const SUBMISSION: &str = "127.0.0.1:{port:submission} inet n - n - - smtpd \
     -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes \
     -o smtpd_client_restrictions=permit_sasl_authenticated,reject";

/// An instance with AUTH on (`extra` main.cf lines) and Dovecot beside
/// it; `None` when Dovecot cannot run.
fn start(pki: &Pki, extra: &str) -> Option<(Instance, Dovecot)> {
    start_with(pki, extra, "plain login")
}

/// As [`start`], with Dovecot's `auth_mechanisms = mechs`.
fn start_with(pki: &Pki, extra: &str, mechs: &str) -> Option<(Instance, Dovecot)> {
    let main = format!(
        "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n\
         smtpd_sasl_path = private/auth\n\
         smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n\
         {extra}"
    );
    let mut inst = builder(pki, &main, false)
        .master_cf_line(SUBMISSION)
        .build();
    let dovecot = Dovecot::start(&inst.queue_dir().join("private/auth"), mechs)?;
    inst.start();
    Some((inst, dovecot))
}

/// swaks to `port` with `args`, from alice's address to a relayed one.
fn swaks(inst: &Instance, port: &str, args: &[&str]) -> testkit::Run {
    let server = format!("127.0.0.1:{}", inst.port(port));
    let mut cmd = Command::new("swaks");
    cmd.args(["--server", &server, "--helo", "client.example"])
        .args(["--timeout", "20", "--to", "user@remote.example"]);
    if !args.contains(&"--from") {
        cmd.args(["--from", "alice@client.example"]);
    }
    cmd.args(args);
    run(cmd, WAIT)
}

/// The EHLO reply lines of a plain-text session on `port`.
fn plain_ehlo(inst: &Instance, port: &str) -> Vec<String> {
    let mut c = inst.connect(port);
    assert!(c.read_line().starts_with("220 "));
    c.send("EHLO client.example");
    let mut lines = Vec::new();
    loop {
        let l = c.read_line();
        let last = l.starts_with("250 ");
        lines.push(l);
        if last {
            break;
        }
    }
    lines
}

/// A plain-text session on `smtp` after HELO.
fn helo(inst: &Instance) -> testkit::Client {
    let mut c = inst.connect("smtp");
    assert!(c.read_line().starts_with("220 "));
    assert!(c.cmd("HELO client.example").starts_with("250 "));
    c
}

/// Check that a plain-text EHLO on `smtp` offers no AUTH, then try
/// `AUTH PLAIN` (alice, secret) after HELO anyway: the session and the
/// reply.
fn auth_plain_not_offered(inst: &Instance) -> (testkit::Client, String) {
    let lines = plain_ehlo(inst, "smtp");
    assert!(!lines.iter().any(|l| l.contains("AUTH")), "{lines:?}");
    let mut c = helo(inst);
    let reply = c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    (c, reply)
}

#[test]
fn swaks_submission_starttls_auth_plain_and_login() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "") else {
        return;
    };
    for mech in ["PLAIN", "LOGIN"] {
        let r = swaks(
            &inst,
            "submission",
            &[
                "--tls",
                "--auth",
                mech,
                "--auth-user",
                "alice",
                "--auth-password",
                "secret",
            ],
        );
        assert!(r.success(), "{mech}: {r}\n{}", inst.log());
        assert!(
            r.stdout.contains("235 2.7.0 Authentication successful"),
            "{r}"
        );
        wait_log(
            &inst,
            &format!("client=unknown[127.0.0.1], sasl_method={mech}, sasl_username=alice"),
        );
    }
    // Without AUTH the submission port refuses the client.
    let r = swaks(&inst, "submission", &["--tls"]);
    assert!(!r.success(), "{r}");
    assert!(r.stdout.contains("554 5.7.1"), "{r}");
}

#[test]
fn swaks_tlsc_wrapper_mode_auth() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "smtpd_tls_auth_only = yes\n") else {
        return;
    };
    let r = swaks(
        &inst,
        "smtps",
        &[
            "--tlsc",
            "--auth",
            "PLAIN",
            "--auth-user",
            "bob",
            "--auth-password",
            "hunter2",
        ],
    );
    assert!(r.success(), "{r}\n{}", inst.log());
    wait_log(&inst, "sasl_method=PLAIN, sasl_username=bob");
}

#[test]
fn wrong_password_gets_535_and_a_warning() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "") else {
        return;
    };
    let r = swaks(
        &inst,
        "submission",
        &[
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "wrong",
        ],
    );
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout.contains("535 5.7.8 Error: authentication failed:"),
        "{r}"
    );
    wait_log(
        &inst,
        "warning: unknown[127.0.0.1]: SASL PLAIN authentication failed: \
         (reason unavailable), sasl_username=alice",
    );
}

/// Python's smtplib login() after starttls(); the message arrives with
/// protocol ESMTPSA and, with smtpd_sasl_authenticated_header, the login.
#[test]
fn python_smtplib_login_and_the_received_header() {
    let Some(user) = test_user("saslrcv") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "smtpd_sasl_authenticated_header = yes\n") else {
        return;
    };
    let script = format!(
        "import smtplib, ssl\n\
         ctx = ssl.create_default_context(cafile='{ca}')\n\
         ctx.check_hostname = False\n\
         s = smtplib.SMTP('127.0.0.1', {port}, local_hostname='client.example')\n\
         s.starttls(context=ctx)\n\
         s.login('alice', 'secret')\n\
         s.sendmail('alice@client.example', ['{user}@mx.example.com'], 'Subject: auth\\r\\n\\r\\nhi\\r\\n')\n\
         s.quit()\n",
        ca = pki.file("ca.pem"),
        port = inst.port("submission"),
        user = user.name,
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    run(cmd, WAIT).assert_ok();
    let ok = wait_until(WAIT, || (user.maildir_count() >= 1).then_some(()));
    assert!(ok.is_some(), "not delivered:\n{}", inst.log());
    let text = user.maildir_text();
    assert!(text.contains("\t(Authenticated sender: alice)\n"), "{text}");
    assert!(text.contains(") with ESMTPSA id "), "{text}");
}

/// TLS_CHANGES 2001/08/20: smtpd_tls_auth_only offers and accepts AUTH
/// only once TLS is active.
#[test]
fn y2001_08_20_tls_auth_only_hides_auth_before_starttls() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "smtpd_tls_auth_only = yes\n") else {
        return;
    };
    let (mut c, reply) = auth_plain_not_offered(&inst);
    assert_eq!(reply, "503 5.5.1 Error: authentication not enabled");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let out = s_client(&inst, "smtp", &[], "EHLO client.example\nQUIT\n");
    assert!(out.contains("250-AUTH PLAIN LOGIN"), "{out}");
}

#[test]
fn reject_sender_login_mismatch_refuses_a_forged_sender() {
    let pki = Pki::new();
    let table = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        table.path(),
        "alice@client.example alice\nbob@client.example bob\n",
    )
    .unwrap();
    let extra = format!(
        "smtpd_sender_login_maps = texthash:{}\n\
         smtpd_sender_restrictions = reject_sender_login_mismatch\n",
        table.path().display()
    );
    let Some((inst, _d)) = start(&pki, &extra) else {
        return;
    };
    let auth = [
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "secret",
    ];
    let mut forged = auth.to_vec();
    forged.extend(["--from", "bob@client.example"]);
    let r = swaks(&inst, "submission", &forged);
    assert!(!r.success(), "{r}");
    assert!(
        r.stdout.contains(
            "553 5.7.1 <bob@client.example>: Sender address rejected: not owned by user alice"
        ),
        "{r}"
    );
    let r = swaks(&inst, "submission", &auth);
    assert!(r.success(), "{r}\n{}", inst.log());
    // Not logged in, an owned address is refused too.
    let mut c = helo(&inst);
    assert_eq!(c.cmd("MAIL FROM:<bob@client.example>"), "250 2.1.0 Ok");
    assert_eq!(
        c.cmd("RCPT TO:<x@mx.example.com>"),
        "553 5.7.1 <bob@client.example>: Sender address rejected: not logged in"
    );
}

/// TLS_CHANGES 2002/05/24: after STARTTLS the mechanism list is made
/// again with smtpd_sasl_tls_security_options; a plaintext mechanism
/// asked for before TLS gets 504.
#[test]
fn y2002_05_24_auth_after_starttls_uses_the_new_mechanism_list() {
    let pki = Pki::new();
    let extra = "smtpd_sasl_security_options = noanonymous, noplaintext\n\
                 smtpd_sasl_tls_security_options = noanonymous\n";
    let Some((inst, _d)) = start(&pki, extra) else {
        return;
    };
    let (_c, reply) = auth_plain_not_offered(&inst);
    assert_eq!(
        reply,
        "504 5.5.4 Encryption required for requested authentication mechanism"
    );
    let out = s_client(
        &inst,
        "smtp",
        &[],
        "EHLO client.example\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\nQUIT\n",
    );
    assert!(out.contains("250-AUTH PLAIN LOGIN"), "{out}");
    assert!(out.contains("235 2.7.0 Authentication successful"), "{out}");
}

/// TLS_CHANGES 2002/05/25: the AUTH= form for broken clients is
/// announced again after STARTTLS.
#[test]
fn y2002_05_25_auth_equals_form_after_starttls() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "broken_sasl_auth_clients = yes\n") else {
        return;
    };
    let lines = plain_ehlo(&inst, "smtp");
    assert!(
        lines.iter().any(|l| l == "250-AUTH=PLAIN LOGIN"),
        "{lines:?}"
    );
    let out = s_client(&inst, "smtp", &[], "EHLO client.example\nQUIT\n");
    assert!(out.contains("250-AUTH PLAIN LOGIN"), "{out}");
    assert!(out.contains("250-AUTH=PLAIN LOGIN"), "{out}");
}

/// TLS_CHANGES 2001/09/04: with smtpd_tls_auth_only off, AUTH is offered
/// and works on a plain-text session.
#[test]
fn y2001_09_04_auth_without_tls_when_auth_only_is_off() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "smtpd_tls_auth_only = no\n") else {
        return;
    };
    let lines = plain_ehlo(&inst, "smtp");
    assert!(
        lines.iter().any(|l| l == "250-AUTH PLAIN LOGIN"),
        "{lines:?}"
    );
    let mut c = inst.connect("smtp");
    c.read_line();
    assert!(c.cmd("EHLO client.example").starts_with("250-"));
    while !c.read_line().starts_with("250 ") {}
    assert_eq!(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6");
    assert_eq!(c.cmd("YWxpY2U="), "334 UGFzc3dvcmQ6");
    assert_eq!(c.cmd("c2VjcmV0"), "235 2.7.0 Authentication successful");
    assert_eq!(
        c.cmd("AUTH PLAIN"),
        "503 5.5.1 Error: already authenticated"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<alice@client.example> AUTH=<>"),
        "250 2.1.0 Ok"
    );
    assert_eq!(
        c.cmd("AUTH PLAIN"),
        "503 5.5.1 Error: MAIL transaction in progress"
    );
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
    let mut c = helo(&inst);
    assert_eq!(
        c.cmd("AUTH FOO"),
        "535 5.7.8 Error: authentication failed: Invalid authentication mechanism"
    );
    assert_eq!(c.cmd("AUTH"), "501 5.5.4 Syntax: AUTH mechanism");
    assert_eq!(c.cmd("AUTH PLAIN"), "334 ");
    assert_eq!(c.cmd("*"), "501 5.7.0 Authentication aborted");
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
}

/// TLS_CHANGES 2000/07/27: at level encrypt AUTH is not offered before
/// STARTTLS, only after it.
#[test]
fn y2000_07_27_no_auth_before_tls_at_level_encrypt() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "") else {
        return;
    };
    let lines = plain_ehlo(&inst, "submission");
    assert!(!lines.iter().any(|l| l.contains("AUTH")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "250-STARTTLS"), "{lines:?}");
    let out = s_client(
        &inst,
        "submission",
        &["-starttls", "smtp"],
        "EHLO client.example\nQUIT\n",
    );
    assert!(out.contains("250-AUTH PLAIN LOGIN"), "{out}");
}

/// TLS_CHANGES 2003/09/09 (and 2003/07/07): in wrapper mode the session
/// is encrypted from the start, so smtpd_sasl_tls_security_options
/// applies: PLAIN, excluded on plain sessions, is offered and works.
#[test]
fn y2003_09_09_wrapper_mode_uses_the_tls_security_options() {
    let pki = Pki::new();
    let extra = "smtpd_sasl_security_options = noanonymous, noplaintext\n\
                 smtpd_sasl_tls_security_options = noanonymous\n";
    let Some((inst, _d)) = start(&pki, extra) else {
        return;
    };
    let r = swaks(
        &inst,
        "smtps",
        &[
            "--tlsc",
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
        ],
    );
    assert!(r.success(), "{r}\n{}", inst.log());
    assert!(r.stdout.contains("250-AUTH PLAIN LOGIN"), "{r}");
    wait_log(&inst, "sasl_method=PLAIN, sasl_username=alice");
}

/// A Postern instance whose smtp client relays through `port` on
/// 127.0.0.1 with STARTTLS (level encrypt) and AUTH as `login`.
fn relay_client(pki: &Pki, port: u16, login: &str, extra: &str) -> Instance {
    Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = ipv4\n\
             relayhost = [127.0.0.1]:{port}\nsmtp_tls_security_level = encrypt\n\
             smtp_tls_CAfile = {}\nsmtp_sasl_auth_enable = yes\n\
             smtp_sasl_password_maps = inline:{{{{ [127.0.0.1]:{port} = {login} }}}}\n\
             smtp_sasl_tls_security_options = noanonymous\n\
             maximal_backoff_time = 1s\nminimal_backoff_time = 1s\nqueue_run_delay = 1s\n{extra}",
            pki.file("ca.pem")
        ))
        .start()
}

/// The delivery status line for `rcpt` in `inst`'s log.
fn status_line(inst: &Instance, rcpt: &str) -> String {
    inst.wait_status(rcpt, "status=", WAIT)
}

const MSG: &str = "From: alice@client.test\nSubject: relay\n\nhello\n";

/// The everyday smarthost setup: relayhost [host]:587, STARTTLS, AUTH
/// with the password map; the smarthost logs the login.
#[test]
fn client_relays_through_a_smarthost_with_starttls_and_auth() {
    let pki = Pki::new();
    let Some((rx, _d)) = start(&pki, "") else {
        return;
    };
    let tx = relay_client(&pki, rx.port("submission"), "alice:secret", "");
    tx.sendmail(&["-f", "alice@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    wait_log(&rx, "sasl_method=PLAIN, sasl_username=alice");
}

/// A 535 from the smarthost defers (smtp_sasl_auth_soft_bounce = yes,
/// the default) or bounces (no).
#[test]
fn client_auth_failure_defers_or_bounces() {
    let pki = Pki::new();
    let Some((rx, _d)) = start(&pki, "") else {
        return;
    };
    let port = rx.port("submission");
    let tx = relay_client(&pki, port, "alice:wrong", "");
    tx.sendmail(&["-f", "alice@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(
        l.contains("dsn=4.7.8, status=deferred (SASL authentication failed; server 127.0.0.1[127.0.0.1] said: 535 5.7.8 Error: authentication failed:"),
        "{l}"
    );
    let tx = relay_client(
        &pki,
        port,
        "alice:wrong",
        "smtp_sasl_auth_soft_bounce = no\n",
    );
    tx.sendmail(&["-f", "alice@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(
        l.contains("dsn=5.7.8, status=bounced (SASL authentication failed;"),
        "{l}"
    );
}

/// A challenge-response mechanism: with the default
/// smtp_sasl_security_options (noplaintext) on a plain-text session the
/// client still authenticates, with CRAM-MD5.
#[test]
fn client_cram_md5_without_tls() {
    let pki = Pki::new();
    let Some((rx, _d)) = start_with(&pki, "", "plain login cram-md5") else {
        return;
    };
    let port = rx.port("smtp");
    let tx = relay_client(
        &pki,
        port,
        "alice:secret",
        "smtp_tls_security_level = none\nsmtp_sasl_tls_security_options = noanonymous, noplaintext\n",
    );
    tx.sendmail(&["-f", "alice@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    wait_log(&rx, "sasl_method=CRAM-MD5, sasl_username=alice");
}

/// TLS_CHANGES 2002/05/24 and 2002/05/25, client side: a server that
/// offers AUTH only after STARTTLS, in both the `AUTH mech` and the old
/// `AUTH=mech` form; the client authenticates with the list it got after
/// the handshake.
#[test]
fn y2002_05_24_client_uses_the_mechanism_list_after_starttls() {
    let pki = Pki::new();
    let extra = "smtpd_tls_auth_only = yes\nbroken_sasl_auth_clients = yes\n";
    let Some((rx, _d)) = start(&pki, extra) else {
        return;
    };
    let tx = relay_client(&pki, rx.port("smtp"), "bob:hunter2", "");
    tx.sendmail(&["-f", "bob@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    wait_log(&rx, "sasl_method=PLAIN, sasl_username=bob");
}

/// Interoperability: Postern's client relays through Debian's Postfix
/// configured with Dovecot SASL, TLS-only AUTH and relaying for
/// authenticated clients only.
#[test]
fn client_relays_through_debian_postfix_with_dovecot_sasl() {
    use testkit::debian::DebianPostfix;
    if !DebianPostfix::available() {
        eprintln!("skipped: Debian's postfix is not installed (or not root)");
        return;
    }
    let pki = Pki::new();
    let rx = DebianPostfix::start(&format!(
        "myhostname = mx.example.com\nrelay_domains = relay.example\n\
         relay_transport = discard\ndefault_transport = discard\n\
         smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n\
         smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n\
         smtpd_sasl_path = private/auth\nsmtpd_tls_auth_only = yes\n\
         smtpd_relay_restrictions = permit_sasl_authenticated, reject\n",
        pki.file("rsa.pem"),
        pki.file("rsa.key"),
    ));
    let Some(_d) = Dovecot::start(&rx.dir().join("queue/private/auth"), "plain login") else {
        return;
    };
    let tx = relay_client(&pki, rx.port(), "alice:secret", "");
    tx.sendmail(&["-f", "alice@client.test", "u@relay.example"], MSG)
        .assert_ok();
    let l = status_line(&tx, "u@relay.example");
    assert!(l.contains("status=sent (250 "), "{l}\n{}", tx.log());
    let seen = rx.wait_for_log("sasl_username=alice", WAIT);
    assert!(seen.contains("sasl_method=PLAIN"), "{seen}");
}

/// smtpd_sasl_exceptions_networks hides AUTH from the listed clients;
/// MAIL FROM's AUTH= of an authenticated client shows in the log.
#[test]
fn exceptions_networks_and_the_auth_mail_parameter() {
    let pki = Pki::new();
    let Some((inst, _d)) = start(&pki, "smtpd_sasl_exceptions_networks = 127.0.0.0/8\n") else {
        return;
    };
    let (mut c, reply) = auth_plain_not_offered(&inst);
    assert_eq!(reply, "235 2.7.0 Authentication successful");
    assert_eq!(
        c.cmd("MAIL FROM:<alice@client.example> AUTH=alice+2Bx@client.example"),
        "250 2.1.0 Ok"
    );
    assert_eq!(c.cmd("RCPT TO:<u@relay.example>"), "250 2.1.5 Ok");
    wait_log(
        &inst,
        "client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username=alice, \
         sasl_sender=alice+x@client.example",
    );
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 Bye");
}
