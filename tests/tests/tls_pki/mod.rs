//! NAME
//!   tls_pki - certificates made with openssl(1) for the TLS system tests
//!
//! DESCRIPTION
//!   [`Pki::new`] makes, in a temporary directory: `ca.pem`/`ca.key`
//!   (`/O=Test Org/CN=Test CA`), server certificates for mx.example.com
//!   with an RSA key (`rsa.pem`, `rsa.key`) and an ECDSA P-256 key
//!   (`ec.pem`, `ec.key`), client certificates `client` (CN
//!   client.example) and `client2` (CN other.example) signed by the CA,
//!   `selfclient` (self-signed: never verifies), a second CA without a
//!   CommonName (`nocn-ca.pem`, subject `/O=No CN Org`) and `nocnclient`
//!   signed by it; `cas.pem` holds both CAs.
//!
//!   Also the instance and client helpers the TLS tests share:
//!   [`builder`]/[`start`] (smtpd with STARTTLS on `smtp` and wrapper mode
//!   on `smtps`, the mail pipeline, discard for remote mail),
//!   [`s_client`], [`swaks`], [`wait_log`].
#![allow(dead_code)] // reason: each test binary uses a part of the helpers

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testkit::run::{run, run_with_input};
use testkit::{wait_until, Instance};

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn self_signed(dir: &Path, name: &str, subj: &str) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &pem,
            "-days", "2", "-subj", subj,
        ],
    );
}

fn leaf(dir: &Path, name: &str, newkey: &[&str], subj: &str, ca: &str, ext: &str) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    let mut args = vec![
        "req", "-new", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subj,
    ];
    args.extend_from_slice(newkey);
    openssl(dir, &args);
    let ca_pem = format!("{ca}.pem");
    let ca_key = format!("{ca}.key");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            ext,
        ],
    );
}

/// A directory of test certificates (removed on drop).
pub struct Pki {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Pki {
    /// Make every certificate (see the module description).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        self_signed(d, "ca", "/O=Test Org/CN=Test CA");
        self_signed(d, "nocn-ca", "/O=No CN Org");
        std::fs::write(d.join("san.ext"), "subjectAltName=DNS:mx.example.com\n").unwrap();
        std::fs::write(d.join("leaf.ext"), "basicConstraints=CA:FALSE\n").unwrap();
        let rsa = ["-newkey", "rsa:2048"];
        leaf(d, "rsa", &rsa, "/CN=mx.example.com", "ca", "san.ext");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
        leaf(d, "ec", &ec, "/CN=mx.example.com", "ca", "san.ext");
        leaf(d, "client", &rsa, "/CN=client.example", "ca", "leaf.ext");
        leaf(d, "client2", &rsa, "/CN=other.example", "ca", "leaf.ext");
        leaf(
            d,
            "nocnclient",
            &rsa,
            "/CN=nocn.example",
            "nocn-ca",
            "leaf.ext",
        );
        self_signed(d, "selfclient", "/CN=self.example");
        let cas = [
            std::fs::read_to_string(d.join("ca.pem")).unwrap(),
            std::fs::read_to_string(d.join("nocn-ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(d.join("cas.pem"), cas).unwrap();
        let path = d.to_path_buf();
        Pki { _dir: dir, path }
    }

    /// Make one more client certificate `name` (.pem, .key) with subject
    /// `subj`, signed by the test CA.
    pub fn client_cert(&self, name: &str, subj: &str) {
        let rsa = ["-newkey", "rsa:2048"];
        leaf(&self.path, name, &rsa, subj, "ca", "leaf.ext");
    }

    /// The path of file `name` in the directory.
    pub fn file(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }

    /// The SHA-256 fingerprint of certificate `name`.pem in `AA:BB:..` form.
    pub fn fingerprint(&self, name: &str) -> String {
        let pem = format!("{name}.pem");
        let out = openssl(
            &self.path,
            &["x509", "-noout", "-fingerprint", "-sha256", "-in", &pem],
        );
        out.trim()
            .split_once('=')
            .expect("fingerprint line")
            .1
            .to_string()
    }
}

pub const WAIT: Duration = Duration::from_secs(30);
pub const HOST: &str = "mx.example.com";

/// The services of a receiving instance; `tlsmgr` adds tlsmgr(8).
pub fn builder(pki: &Pki, extra: &str, tlsmgr: bool) -> testkit::Builder {
    let mut b = Instance::builder()
        .master_cf_line("127.0.0.1:{port:smtp} inet n - n - - smtpd")
        .master_cf_line("127.0.0.1:{port:smtps} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes")
        .mail_pipeline();
    if tlsmgr {
        b = b.master_cf_line("tlsmgr unix - - n 1000? 1 tlsmgr");
    }
    b.main_cf(&format!(
        "compatibility_level = 3.6\nmyhostname = {HOST}\n\
         mydestination = $myhostname, localhost\nmynetworks = 10.9.9.0/24\n\
         smtpd_peername_lookup = no\nalias_maps =\nhome_mailbox = Maildir/\n\
         default_transport = discard\nrelay_transport = discard\n\
         relay_domains = relay.example\nlocal_recipient_maps =\n\
         smtpd_error_sleep_time = 0\n\
         smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n\
         smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\n\
         smtpd_tls_eccert_file = {}\nsmtpd_tls_eckey_file = {}\n\
         smtpd_tls_CAfile = {}\nsmtpd_tls_received_header = yes\n{extra}",
        pki.file("rsa.pem"),
        pki.file("rsa.key"),
        pki.file("ec.pem"),
        pki.file("ec.key"),
        pki.file("cas.pem"),
    ))
}

/// Deliver one message to a new local user `tag` with swaks (`args`
/// added, `--tls` among them when wanted) to a new instance with `extra`
/// main.cf lines; the Maildir text and the log, or `None` without root.
pub fn deliver(pki: &Pki, tag: &str, extra: &str, args: &[&str]) -> Option<(String, String)> {
    let Some(user) = testkit::test_user(tag) else {
        eprintln!("skipped: delivery to a local user needs root");
        return None;
    };
    let inst = start(pki, extra);
    let to = format!("{}@{HOST}", user.name);
    let mut all = vec!["--to", to.as_str()];
    all.extend_from_slice(args);
    let r = swaks(&inst, "smtp", &all);
    assert!(r.success(), "{r}");
    let ok = wait_until(WAIT, || (user.maildir_count() >= 1).then_some(()));
    assert!(ok.is_some(), "not delivered:\n{}", inst.log());
    Some((user.maildir_text(), inst.log()))
}

pub fn start(pki: &Pki, extra: &str) -> Instance {
    builder(pki, extra, false).start()
}

pub fn wait_log(inst: &Instance, needle: &str) -> String {
    let ok = wait_until(WAIT, || inst.log().contains(needle).then_some(()));
    assert!(ok.is_some(), "no {needle:?} in the log:\n{}", inst.log());
    inst.log()
}

/// `openssl s_client -starttls smtp` (or wrapper mode when `starttls`
/// is false) with `args`, `input` lines sent after the handshake; the
/// transcript (stdout and stderr).
pub fn s_client(inst: &Instance, port: &str, args: &[&str], input: &str) -> String {
    let connect = format!("127.0.0.1:{}", inst.port(port));
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &connect, "-crlf", "-ign_eof"]);
    if port == "smtp" {
        cmd.args(["-starttls", "smtp"]);
    }
    cmd.args(args);
    let r = run_with_input(cmd, input.as_bytes(), WAIT);
    format!("{}{}", r.stdout, r.stderr)
}

pub fn swaks(inst: &Instance, port: &str, extra: &[&str]) -> testkit::Run {
    let server = format!("127.0.0.1:{}", inst.port(port));
    let mut cmd = Command::new("swaks");
    cmd.args(["--server", &server, "--from", "sender@client.example"])
        .args(["--helo", "client.example", "--timeout", "20"]);
    if !extra.contains(&"--to") {
        cmd.args(["--to", "user@relay.example"]);
    }
    cmd.args(extra);
    run(cmd, WAIT)
}
