//! NAME
//!   smtpd_tls_resume - TLS resumption across smtpd processes; Postfix as client
//!
//! DESCRIPTION
//!   smtpd(8) resumes sessions through tlsmgr(8): RFC 5077 tickets whose
//!   keys tlsmgr issues, and session IDs in tlsmgr's server cache
//!   (`smtpd_tls_session_cache_database`). `openssl s_client` saves a
//!   session (`-sess_out`) and offers it again (`-sess_in`) to a service
//!   with `max_use=1`, so each session meets a new smtpd process.
//!   Also Postfix's own programs as TLS clients: posttls-finger at level
//!   secure, and Debian's Postfix smtp client relaying to us with
//!   `smtp_tls_security_level = verify`.
//!   Ticket keys rotate (`smtpd_tls_session_cache_timeout`, raised to
//!   Postfix's minimum of 2 minutes: a key encrypts for one minute and
//!   decrypts for one more), so the rotation test takes about two
//!   minutes of waiting.
//!
//!   Run: as smtpd_tls.rs, with `cargo build -p tlsmgr` too.
mod tls_pki;

use std::process::Command;
use std::time::Duration;
use testkit::run::run;
use testkit::Instance;
use tls_pki::{builder, s_client, start, wait_log, Pki, HOST, WAIT};

/// Two s_client sessions, the second resuming the first's session
/// (`-sess_out`, `-sess_in`); returns both transcripts.
fn resume(inst: &Instance, args: &[&str], input: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let sess = dir.path().join("sess.pem").display().to_string();
    let mut a = args.to_vec();
    a.extend(["-sess_out", &sess]);
    let first = s_client(inst, "smtp", &a, input);
    let mut a = args.to_vec();
    a.extend(["-sess_in", &sess]);
    let second = s_client(inst, "smtp", &a, input);
    (first, second)
}

/// The smtpd PIDs that logged `needle`.
fn pids_logging(inst: &Instance, needle: &str) -> Vec<String> {
    inst.log()
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            l.split("smtpd[")
                .nth(1)?
                .split(']')
                .next()
                .map(String::from)
        })
        .collect()
}

fn resumption_instance(pki: &Pki, extra: &str) -> Instance {
    builder(pki, extra, true)
        .master_cf_line("127.0.0.1:{port:smtp1} inet n - n - - smtpd -o max_use=1")
        .start()
}

/// Session tickets keyed by tlsmgr: a second smtpd process resumes the
/// first one's session (TLS 1.3 and TLS 1.2).
#[test]
fn resumption_across_smtpd_processes_by_ticket() {
    let pki = Pki::new();
    let inst = resumption_instance(&pki, "smtpd_tls_loglevel = 2\n");
    let port = inst.port("smtp1").to_string();
    let connect = format!("127.0.0.1:{port}");
    let ca = pki.file("ca.pem");
    for proto in ["-tls1_3", "-tls1_2"] {
        let args = ["-CAfile", ca.as_str(), proto, "-connect", connect.as_str()];
        let (first, second) = resume(&inst, &args, "EHLO client.example\nQUIT\n");
        assert!(first.contains("New, TLSv1."), "{first}");
        assert!(
            second.contains("Reused, TLSv1."),
            "{proto}: {second}\n{}",
            inst.log()
        );
    }
    let pids = pids_logging(&inst, "Reusing old session");
    assert!(!pids.is_empty(), "{}", inst.log());
    let started = pids_logging(&inst, "setting up TLS connection from");
    assert!(started.len() >= 4, "{}", inst.log());
    let mut distinct = started.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        started.len(),
        "one process per session (max_use=1)"
    );
}

/// The server session cache in tlsmgr (session IDs, no tickets).
#[test]
fn resumption_across_smtpd_processes_by_session_id() {
    let pki = Pki::new();
    let inst = resumption_instance(
        &pki,
        "smtpd_tls_loglevel = 2\n\
         smtpd_tls_session_cache_database = lmdb:$data_directory/smtpd_scache\n",
    );
    let connect = format!("127.0.0.1:{}", inst.port("smtp1"));
    let ca = pki.file("ca.pem");
    let args = [
        "-CAfile",
        ca.as_str(),
        "-tls1_2",
        "-no_ticket",
        "-connect",
        connect.as_str(),
    ];
    let (first, second) = resume(&inst, &args, "EHLO client.example\nQUIT\n");
    assert!(first.contains("New, TLSv1.2"), "{first}");
    assert!(
        second.contains("Reused, TLSv1.2"),
        "{second}\n{}",
        inst.log()
    );
    let log = wait_log(&inst, "reloaded session");
    assert!(log.contains("save session"), "{log}");
}

/// TLS_CHANGES 2000/11/29: a session whose client certificate failed
/// verification is never resumed as verified.
#[test]
fn y2000_11_29_unverified_client_cert_stays_unverified_on_resumption() {
    let pki = Pki::new();
    let inst = resumption_instance(
        &pki,
        "smtpd_tls_ask_ccert = yes\n\
         smtpd_tls_session_cache_database = lmdb:$data_directory/smtpd_scache\n\
         smtpd_relay_restrictions = permit_tls_all_clientcerts, reject_unauth_destination\n",
    );
    let connect = format!("127.0.0.1:{}", inst.port("smtp1"));
    let input = "EHLO client.example\nMAIL FROM:<a@client.example>\n\
                 RCPT TO:<b@remote.example>\nQUIT\n";
    for (who, want) in [
        (
            "selfclient",
            "554 5.7.1 <b@remote.example>: Relay access denied",
        ),
        ("client", "250 2.1.5 Ok"),
    ] {
        let (cert, key) = (
            pki.file(&format!("{who}.pem")),
            pki.file(&format!("{who}.key")),
        );
        for proto in ["-tls1_2", "-tls1_3"] {
            let args = ["-cert", &cert, "-key", &key, proto, "-connect", &connect];
            let (first, second) = resume(&inst, &args, input);
            assert!(first.contains(want), "{who} {proto}: {first}");
            assert!(second.contains("Reused, TLSv1."), "{who} {proto}: {second}");
            assert!(second.contains(want), "{who} {proto} resumed: {second}");
        }
    }
}

/// Postfix's own TLS probe, posttls-finger, verifies our certificate.
#[test]
fn posttls_finger_verifies_the_server() {
    let pki = Pki::new();
    let inst = start(&pki, "");
    let dest = format!("[127.0.0.1]:{}", inst.port("smtp"));
    let mut cmd = Command::new("posttls-finger");
    cmd.args(["-c", "-l", "secure", "-F", &pki.file("ca.pem"), &dest, HOST]);
    let r = run(cmd, WAIT);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert!(
        out.contains("Verified TLS connection established to 127.0.0.1[127.0.0.1]:"),
        "{out}"
    );
}

/// Debian's Postfix delivers to us with smtp_tls_security_level = verify.
#[test]
fn debian_postfix_delivers_with_tls_verify() {
    if !testkit::DebianPostfix::available() {
        eprintln!("skipped: Debian's Postfix or root missing");
        return;
    }
    let pki = Pki::new();
    let inst = start(&pki, "");
    let nexthop = format!("[127.0.0.1]:{}", inst.port("smtp"));
    let deb = testkit::DebianPostfix::start(&format!(
        "relayhost = {nexthop}\nsmtp_tls_security_level = verify\n\
         smtp_tls_verify_cert_match = {HOST}\nsmtp_tls_CAfile = {}\n\
         smtp_tls_loglevel = 1\n",
        pki.file("ca.pem")
    ));
    deb.sendmail(
        &["-f", "deb@client.example", "user@relay.example"],
        "Subject: verify\n\nhi\n",
    )
    .assert_ok();
    deb.wait_for_log("status=sent", WAIT);
    let dlog = deb.log();
    assert!(
        dlog.contains("Verified TLS connection established to 127.0.0.1["),
        "{dlog}"
    );
    wait_log(&inst, "Anonymous TLS connection established from");
    let log = wait_log(&inst, "status=sent");
    assert!(log.contains("to=<user@relay.example>"), "{log}");
}

/// TLS_CHANGES 1999/04/10: the key is read before the chroot and the
/// privilege drop, so a chrooted smtpd serves TLS with a key only root
/// can read, and reaches tlsmgr inside the jail.
#[test]
fn y1999_04_10_chrooted_smtpd_with_a_root_only_key() {
    use std::os::unix::fs::PermissionsExt;
    let pki = Pki::new();
    for k in ["rsa.key", "ec.key"] {
        std::fs::set_permissions(pki.file(k), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let inst = builder(&pki, "smtpd_tls_loglevel = 2\n", true)
        .master_cf_line("127.0.0.1:{port:smtpj} inet n - y - - smtpd -o max_use=1")
        .start();
    let connect = format!("127.0.0.1:{}", inst.port("smtpj"));
    let ca = pki.file("ca.pem");
    let args = ["-CAfile", ca.as_str(), "-connect", connect.as_str()];
    let (first, second) = resume(&inst, &args, "EHLO client.example\nQUIT\n");
    assert!(first.contains("Verify return code: 0 (ok)"), "{first}");
    assert!(
        second.contains("Reused, TLSv1.3"),
        "{second}\n{}",
        inst.log()
    );
    let log = inst.log();
    assert!(
        !log.contains("problem talking to server private/tlsmgr"),
        "{log}"
    );
}

/// The TLS comments of the Received: header, the TLS log line and the
/// protocol are the same as Debian's Postfix writes for the same client
/// (swaks with a client certificate, RSA server certificate).
#[test]
fn received_header_and_log_match_debian_postfix() {
    let Some(user) = testkit::test_user("tlsdeb") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    if !testkit::DebianPostfix::available() {
        eprintln!("skipped: Debian's Postfix or root missing");
        return;
    }
    let pki = Pki::new();
    let tls_cf = format!(
        "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = {}\n\
         smtpd_tls_key_file = {}\nsmtpd_tls_CAfile = {}\nsmtpd_tls_ask_ccert = yes\n\
         smtpd_tls_received_header = yes\nsmtpd_tls_loglevel = 1\n\
         smtpd_peername_lookup = no\nmyhostname = {HOST}\n",
        pki.file("rsa.pem"),
        pki.file("rsa.key"),
        pki.file("ca.pem"),
    );
    let deb = testkit::DebianPostfix::start(&format!(
        "{tls_cf}smtpd_client_restrictions = check_client_access static:HOLD\n\
         mynetworks = 127.0.0.0/8\n"
    ));
    let inst = Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .mail_pipeline()
        .main_cf(&format!(
            "compatibility_level = 3.6\n{tls_cf}mydestination = $myhostname\n\
             alias_maps =\nhome_mailbox = Maildir/\nmynetworks = 127.0.0.0/8\n"
        ))
        .start();
    let to = format!("{}@{HOST}", user.name);
    let (cert, key) = (pki.file("client.pem"), pki.file("client.key"));
    for port in [deb.port(), inst.port("smtp")] {
        let server = format!("127.0.0.1:{port}");
        let mut cmd = Command::new("swaks");
        cmd.args([
            "--server",
            &server,
            "--from",
            "a@client.example",
            "--to",
            &to,
        ])
        .args(["--helo", "client.example", "--tls", "--tls-cert", &cert])
        .args(["--tls-key", &key, "--timeout", "20"]);
        run(cmd, WAIT).assert_ok();
    }
    // Debian's copy is on hold; its queue ID is in the log.
    let line = deb.wait_for_log(": client=unknown[127.0.0.1]", WAIT);
    let id = line
        .split(": client=")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    let mut cmd = Command::new("postcat");
    let cfg = deb.config_dir().display().to_string();
    cmd.args(["-c", &cfg, "-h", "-q", id]);
    let theirs = run(cmd, WAIT);
    let ok = testkit::wait_until(WAIT, || (user.maildir_count() >= 1).then_some(()));
    assert!(ok.is_some(), "not delivered:\n{}", inst.log());
    let ours = user.maildir_text();
    let tls_part = |text: &str| -> String {
        let start = text.find("Received: from").expect("Received:");
        let rest = &text[start..];
        let end = rest.find(" id ").expect("id");
        rest[..end].to_string()
    };
    assert_eq!(tls_part(&ours), tls_part(&theirs.stdout), "{theirs}");
    let summary = |log: &str| -> String {
        let l = log
            .lines()
            .find(|l| l.contains("TLS connection established from"))
            .expect("summary line")
            .to_string();
        l.split("]: ").skip(1).collect::<Vec<_>>().join("]: ")
    };
    assert_eq!(summary(&inst.log()), summary(&deb.log()));
}

/// `openssl s_client -reconnect`: five more connections resume the
/// first session, each served by a new smtpd process (max_use=1). TLS
/// 1.2 only: with TLS 1.3 s_client reconnects before the server's
/// ticket arrives (TLS 1.3 resumption is tested with -sess_out above).
#[test]
fn s_client_reconnect_resumes_across_processes() {
    let pki = Pki::new();
    let inst = resumption_instance(&pki, "smtpd_tls_loglevel = 2\n");
    let connect = format!("127.0.0.1:{}", inst.port("smtp1"));
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &connect, "-starttls", "smtp"])
        .args(["-reconnect", "-tls1_2"]);
    let r = testkit::run::run_with_input(cmd, b"", WAIT);
    let out = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(out.matches("Reused, TLSv1.2").count(), 5, "{out}");
    let mut pids = pids_logging(&inst, "Reusing old session");
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 5, "{}", inst.log());
}

/// Seconds since the epoch.
fn now() -> i64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    t.map_or(0, |d| d.as_secs() as i64)
}

/// The key expiration of the last `Issuing session ticket` log line.
fn last_ticket_key_expiration(inst: &Instance) -> i64 {
    let log = wait_log(inst, "Issuing session ticket, key expiration: ");
    let line = log
        .lines()
        .rfind(|l| l.contains("Issuing session ticket, key expiration: "))
        .unwrap();
    line.rsplit(' ').next().unwrap().trim().parse().unwrap()
}

/// Sleep until the wall clock is past `t` (seconds since the epoch).
fn sleep_past(t: i64) {
    while now() <= t {
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One s_client session saving its session to `out`; the transcript.
fn save_session(inst: &Instance, args: &[&str], out: &str) -> String {
    let mut a = args.to_vec();
    a.extend(["-sess_out", out]);
    s_client(inst, "smtp", &a, "EHLO client.example\nQUIT\n")
}

/// One s_client session offering the session in `file`; the transcript.
fn offer_session(inst: &Instance, args: &[&str], file: &str) -> String {
    let mut a = args.to_vec();
    a.extend(["-sess_in", file]);
    s_client(inst, "smtp", &a, "EHLO client.example\nQUIT\n")
}

/// Ticket keys rotate without losing tickets: with
/// `smtpd_tls_session_cache_timeout` below the 2-minute minimum (so 2
/// minutes), tlsmgr's key encrypts for a minute; a ticket made before a
/// rotation still resumes after it (each session meets a new smtpd,
/// which asks tlsmgr for the key by name), and one made two rotations
/// ago gets a full handshake, not an error.
#[test]
fn tickets_survive_one_key_rotation_but_not_two() {
    let pki = Pki::new();
    let inst = resumption_instance(
        &pki,
        "smtpd_tls_loglevel = 2\nsmtpd_tls_session_cache_timeout = 10s\n",
    );
    let connect = format!("127.0.0.1:{}", inst.port("smtp1"));
    let ca = pki.file("ca.pem");
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n).display().to_string();
    let v12 = [
        "-CAfile",
        ca.as_str(),
        "-tls1_2",
        "-connect",
        connect.as_str(),
    ];
    let v13 = [
        "-CAfile",
        ca.as_str(),
        "-tls1_3",
        "-connect",
        connect.as_str(),
    ];

    let before = now();
    for (args, file) in [(&v12, f("a12")), (&v13, f("a13"))] {
        let t = save_session(&inst, args, &file);
        assert!(t.contains("New, TLSv1."), "{t}");
    }
    let first = last_ticket_key_expiration(&inst);
    // 10s is raised to 120s: the key encrypts for 60s (less one).
    assert!(
        first >= before + 59 && first <= now() + 59,
        "{first} {before}"
    );

    // First rotation: a new session gets a ticket under a new key...
    sleep_past(first);
    let t = save_session(&inst, &v12, &f("b12"));
    assert!(t.contains("New, TLSv1.2"), "{t}");
    let second = last_ticket_key_expiration(&inst);
    assert!(second > first, "no rotation: {second} {first}");
    // ...and the tickets made under the old key still resume.
    for (args, file) in [(&v12, f("a12")), (&v13, f("a13"))] {
        let t = offer_session(&inst, args, &file);
        assert!(t.contains("Reused, TLSv1."), "{t}\n{}", inst.log());
    }
    assert!(
        inst.log().contains(&format!(
            "Decrypting session ticket, key expiration: {first}"
        )),
        "{}",
        inst.log()
    );

    // Second rotation: the oldest tickets no longer decrypt (a full
    // handshake, the session goes on); the one from the first rotation
    // still resumes.
    sleep_past(second);
    let t = save_session(&inst, &v12, &f("c12"));
    assert!(t.contains("New, TLSv1.2"), "{t}");
    assert!(last_ticket_key_expiration(&inst) > second);
    for (args, file) in [(&v12, f("a12")), (&v13, f("a13"))] {
        let t = offer_session(&inst, args, &file);
        assert!(t.contains("New, TLSv1."), "{t}\n{}", inst.log());
        assert!(t.contains("250 "), "{t}");
    }
    let t = offer_session(&inst, &v12, &f("b12"));
    assert!(t.contains("Reused, TLSv1.2"), "{t}\n{}", inst.log());
    let log = inst.log();
    assert!(!log.contains("SSL_accept error"), "{log}");
    assert!(!log.contains("problem talking to server"), "{log}");
}
