//! STARTTLS against a scripted server in a thread (the server side of
//! the TLS engine): response injection, not offered, refused.
use super::*;
use crate::params::Proto;
use crate::tls_policy::TlsClient;
use global::Config;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tls::{server_start, ServerContext, ServerStartProps, TlsClientParams, TlsServerParams};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A self-signed certificate for mx.example.com in `dir`.
fn cert(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "2",
            "-subj",
            "/CN=mx.example.com",
            "-addext",
            "subjectAltName=DNS:mx.example.com",
        ],
    );
}

fn server_ctx(dir: &Path) -> ServerContext {
    let mut p = TlsServerParams {
        prefix: "smtpd".into(),
        keys: tls::KeyFiles {
            cert_file: dir.join("c.pem").display().to_string(),
            key_file: dir.join("k.pem").display().to_string(),
            ..tls::KeyFiles::default()
        },
        session_id_context: "smtpd".into(),
        ..TlsServerParams::default()
    };
    p.common.protocols = ">=TLSv1.2".into();
    p.common.cipher_grade = "medium".into();
    p.common.lists.medium = "HIGH:MEDIUM".into();
    p.common.verify_depth = 9;
    ServerContext::init(&p).unwrap()
}

fn client(dir: &Path, level: &str, proto: Proto) -> TlsClient {
    let x = proto.name();
    let cfg = Config::from_text(
        Path::new("/nonexistent"),
        &format!(
            "{x}_tls_security_level = {level}\n{x}_tls_CAfile = {}\n{x}_starttls_timeout = 20s\n",
            dir.join("c.pem").display()
        ),
    )
    .unwrap();
    let mut c = TlsClient::from_config(&cfg, proto);
    let p = TlsClientParams::from_config(&cfg, x).unwrap();
    c.ctx = Some(Arc::new(tls::ClientContext::init(&p).unwrap()));
    c
}

/// What the scripted server does after the plain EHLO.
#[derive(Clone, Copy)]
enum Script {
    /// Offer STARTTLS; answer it with 220 and an injected 250 in one write.
    Inject,
    /// Do not offer STARTTLS.
    NoOffer,
    /// Offer STARTTLS and answer it with 454.
    Refuse,
}

/// A server socket that can be read through a second handle.
trait Dup: tls::engine::Transport + Send + 'static {
    fn dup(&self) -> Self;
}

impl Dup for TcpStream {
    fn dup(&self) -> Self {
        self.try_clone().unwrap()
    }
}

impl Dup for UnixStream {
    fn dup(&self) -> Self {
        self.try_clone().unwrap()
    }
}

/// Run one scripted server connection; returns the commands it saw
/// (after TLS prefixed with `tls:`).
fn serve<S: Dup>(
    accept: impl FnOnce() -> S + Send + 'static,
    ctx: ServerContext,
    script: Script,
) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut sock = accept();
        sock.write_all(b"220 mx.example.com ESMTP\r\n").unwrap();
        let mut r = BufReader::new(sock.dup());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        s2.lock().unwrap().push(line.trim_end().to_string());
        let ehlo: &[u8] = match script {
            Script::NoOffer => b"250-mx.example.com\r\n250 PIPELINING\r\n",
            _ => b"250-mx.example.com\r\n250-AUTH CRAM-MD5\r\n250 STARTTLS\r\n",
        };
        sock.write_all(ehlo).unwrap();
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        s2.lock().unwrap().push(line.trim_end().to_string());
        match script {
            Script::Refuse => {
                sock.write_all(b"454 4.7.0 TLS not available due to local problem\r\n")
                    .unwrap();
                return;
            }
            Script::NoOffer => return,
            Script::Inject => {}
        }
        sock.write_all(b"220 2.0.0 Ready to start TLS\r\n250 fake\r\n")
            .unwrap();
        let props = ServerStartProps {
            namaddr: "client[127.0.0.1]",
            timeout: Duration::from_secs(20),
        };
        let mut t = server_start(&ctx, sock, &props).unwrap();
        t.set_timeout(Some(Duration::from_secs(20)));
        let mut buf = Vec::new();
        let mut b = [0u8; 512];
        while !buf.ends_with(b"\r\n") {
            let n = t.read(&mut b).unwrap();
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&b[..n]);
        }
        s2.lock()
            .unwrap()
            .push(format!("tls:{}", String::from_utf8_lossy(&buf).trim_end()));
        t.write_all(b"250-mx.example.com\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n250 8BITMIME\r\n")
            .unwrap();
        let _ = t.read(&mut b);
    });
    seen
}

fn session(port: u16) -> Session {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    Session::new(
        Box::new(s),
        Proto::Smtp,
        "mx.example.com",
        "127.0.0.1",
        Some(port),
    )
}

fn run(script: Script, level: &str) -> (Outcome, Session, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    cert(dir.path());
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = serve(
        move || l.accept().unwrap().0,
        server_ctx(dir.path()),
        script,
    );
    let tc = client(dir.path(), level, Proto::Smtp);
    let cfg =
        Config::from_text(Path::new("/nonexistent"), "smtp_helo_name = client.test\n").unwrap();
    let p = Params::from_config(&cfg, Proto::Smtp);
    let mut s = session(port);
    s.handshake(&p).unwrap();
    let pol = tc
        .policy("mx.example.com", "mx.example.com", "mx.example.com")
        .unwrap();
    let out = start(
        &tc,
        &pol,
        &mut s,
        &p,
        Duration::ZERO,
        "mx.example.com",
        "mx.example.com",
    );
    let v = seen.lock().unwrap().clone();
    (out, s, v)
}

#[test]
fn injected_reply_behind_220_is_discarded() {
    let (out, s, seen) = run(Script::Inject, "verify");
    assert!(matches!(out, Outcome::Proceed), "{out:?}");
    assert!(s.tls_on);
    // The features come from the EHLO sent over TLS, not from "250 fake";
    // the AUTH mechanisms of the plain-text EHLO are forgotten and those
    // offered over TLS (both AUTH forms) are taken (TLS_CHANGES 2002/05/24).
    assert!(
        s.features.pipelining && s.features.eightbitmime,
        "{:?}",
        s.features
    );
    assert_eq!(s.features.auth, vec!["PLAIN", "LOGIN"]);
    assert!(!s.features.starttls);
    assert_eq!(
        seen,
        vec!["EHLO client.test", "STARTTLS", "tls:EHLO client.test"]
    );
}

#[test]
fn not_offered_defers_mandatory_and_never_sends_starttls() {
    let (out, _s, seen) = run(Script::NoOffer, "encrypt");
    match out {
        Outcome::Fail(d) => {
            assert_eq!(d.status.to_string(), "4.7.4");
            assert_eq!(
                d.reason,
                "TLS is required, but was not offered by host mx.example.com[127.0.0.1]"
            );
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(seen, vec!["EHLO client.test"]);
    let (out, s, seen) = run(Script::NoOffer, "may");
    assert!(matches!(out, Outcome::Proceed) && !s.tls_on);
    assert_eq!(seen, vec!["EHLO client.test"]);
}

#[test]
fn refused_starttls_defers_mandatory_with_the_reply() {
    let (out, _s, _) = run(Script::Refuse, "verify");
    match out {
        Outcome::Fail(d) => {
            assert_eq!(d.status.to_string(), "4.7.0");
            assert_eq!(
                d.reason,
                "TLS is required, but host mx.example.com[127.0.0.1] refused to start TLS: \
                 454 4.7.0 TLS not available due to local problem"
            );
        }
        o => panic!("{o:?}"),
    }
    let (out, s, _) = run(Script::Refuse, "may");
    assert!(matches!(out, Outcome::Proceed) && !s.tls_on);
}

#[test]
fn lmtp_over_a_unix_socket_starts_tls_and_says_lhlo_again() {
    let dir = tempfile::tempdir().unwrap();
    cert(dir.path());
    let (mine, theirs) = UnixStream::pair().unwrap();
    let seen = serve(move || theirs, server_ctx(dir.path()), Script::Inject);
    let tc = client(dir.path(), "encrypt", Proto::Lmtp);
    let cfg =
        Config::from_text(Path::new("/nonexistent"), "lmtp_lhlo_name = client.test\n").unwrap();
    let p = Params::from_config(&cfg, Proto::Lmtp);
    let mut s = Session::new(Box::new(mine), Proto::Lmtp, "lmtp.sock", "lmtp.sock", None);
    s.handshake(&p).unwrap();
    let pol = tc.policy("lmtp.sock", "lmtp.sock", "lmtp.sock").unwrap();
    assert_eq!(pol.level, SecurityLevel::Encrypt);
    let out = start(
        &tc,
        &pol,
        &mut s,
        &p,
        Duration::ZERO,
        "lmtp.sock",
        "lmtp.sock",
    );
    assert!(matches!(out, Outcome::Proceed), "{out:?}");
    assert!(s.tls_on && s.features.pipelining);
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec!["LHLO client.test", "STARTTLS", "tls:LHLO client.test"]
    );
}
