//! Engine tests: real handshakes over TCP against programs no one here
//! wrote (`openssl s_client`, `openssl s_server`), with a CA, RSA and
//! ECDSA server certificates and a client certificate made in the test,
//! and a fake tlsmgr for session resumption across contexts.
use global::attr::{AttrReader, AttrWriter, Attrs};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tls::params::SecurityLevel;
use tls::{
    client_start, server_start, ClientContext, ClientStartProps, ServerContext, ServerStartProps,
};
use tls::{TlsClientParams, TlsError, TlsServerParams};

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Make ca.pem, rsa.pem/rsa.key (mx.example.com), ec.pem/ec.key,
/// client.pem/client.key in `dir`.
fn make_pki(dir: &Path) {
    run(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/O=Test Org/CN=Test CA",
        ],
    );
    let ext = "subjectAltName=DNS:mx.example.com,DNS:*.wild.example.com";
    std::fs::write(dir.join("san.ext"), ext).unwrap();
    std::fs::write(dir.join("none.ext"), "basicConstraints=CA:FALSE").unwrap();
    let leaf = |name: &str, newkey: &[&str], cn: &str, extfile: &str| {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let mut args = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr];
        args.extend_from_slice(newkey);
        let subj = format!("/CN={cn}");
        args.extend_from_slice(&["-subj", &subj]);
        run(dir, &args);
        run(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                extfile,
            ],
        );
    };
    leaf("rsa", &["-newkey", "rsa:2048"], "mx.example.com", "san.ext");
    run(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ecparam.key",
        ],
    );
    leaf(
        "ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "mx.example.com",
        "san.ext",
    );
    leaf(
        "client",
        &["-newkey", "rsa:2048"],
        "client.example",
        "none.ext",
    );
    run(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            "2",
            "-subj",
            "/O=Nobody/CN=mx.example.com",
        ],
    );
}

struct Pki {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path());
        let path = dir.path().to_path_buf();
        Pki { _dir: dir, path }
    }
    fn f(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }
}

fn server_params(pki: &Pki) -> TlsServerParams {
    let mut p = TlsServerParams {
        prefix: "smtpd".into(),
        cert_file: pki.f("rsa.pem"),
        key_file: pki.f("rsa.key"),
        eccert_file: pki.f("ec.pem"),
        eckey_file: pki.f("ec.key"),
        loglevel: 2,
        cache_timeout: 3600,
        session_id_context: "smtpd".into(),
        ..TlsServerParams::default()
    };
    p.common.protocols = ">=TLSv1".into();
    p.common.cipher_grade = "medium".into();
    p.common.lists.medium = "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH".into();
    p.common.verify_depth = 9;
    p.common.curves = vec![
        "X25519".into(),
        "X448".into(),
        "prime256v1".into(),
        "bogus".into(),
    ];
    p
}

fn s_client(port: u16, extra: &[&str], input: &str) -> Child {
    let mut c = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "mx.example.com",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    c
}

/// Accept one connection, run server_start, read a line, answer, stop.
fn serve_one(ctx: &ServerContext, l: &TcpListener) -> Result<tls::TlsInfo, TlsError> {
    serve_one_from(ctx, l, None)
}

/// Accept one connection within 30 s. When `client` is given and exits
/// before connecting, fail with its output instead of waiting forever.
fn accept_within(l: &TcpListener, mut client: Option<&mut Child>) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false).unwrap();
                l.set_nonblocking(false).unwrap();
                return sock;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
        }
        if let Some(c) = client.as_deref_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("openssl s_client exited ({status}) before connecting: {err}");
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no client connected within 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn serve_one_from(
    ctx: &ServerContext,
    l: &TcpListener,
    client: Option<&mut Child>,
) -> Result<tls::TlsInfo, TlsError> {
    let sock = accept_within(l, client);
    let mut tls = server_start(
        ctx,
        sock,
        &ServerStartProps {
            namaddr: "localhost[127.0.0.1]",
            timeout: Duration::from_secs(20),
        },
    )?;
    tls.set_timeout(Some(Duration::from_secs(20)));
    let mut buf = [0u8; 64];
    let n = tls.read(&mut buf).unwrap_or(0);
    if n > 0 {
        let _ = tls.write_all(b"250 got it\r\n");
    }
    let info = tls.info().clone();
    let _ = tls.stop(Duration::from_secs(2));
    Ok(info)
}

#[test]
fn server_handshake_with_s_client_rsa_and_ecdsa() {
    let pki = Pki::new();
    let ctx = ServerContext::init(&server_params(&pki)).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = s_client(
        port,
        &["-CAfile", &pki.f("ca.pem"), "-verify_return_error"],
        "hello\r\n",
    );
    let info = serve_one(&ctx, &l).unwrap();
    let out = c.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert_eq!(info.protocol, "TLSv1.3");
    assert_eq!(info.peer_status(), "Anonymous");
    assert!(info.kex.is_some(), "{info:?}");
    assert!(info.server_digest.is_some(), "{info:?}");
    assert_eq!(info.sni.as_deref(), Some("mx.example.com"));
    // The ECDSA certificate is used when the client asks for it.
    let c = s_client(
        port,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
        "x\r\n",
    );
    let info = serve_one(&ctx, &l).unwrap();
    c.wait_with_output().unwrap();
    assert_eq!(info.protocol, "TLSv1.2");
    assert_eq!(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_eq!(
        info.server_signature
            .as_deref()
            .map(|s| s.starts_with("ECDSA (prime256v1)")),
        Some(true),
        "{info:?}"
    );
    let line = tls::log::summary(true, &info);
    assert!(line.starts_with("Anonymous TLS connection established from localhost[127.0.0.1]: TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256 (128/128 bits) key-exchange "), "{line}");
}

#[test]
fn client_certificate_asked_and_verified() {
    let pki = Pki::new();
    let mut p = server_params(&pki);
    p.ask_ccert = true;
    p.common.ca_file = pki.f("ca.pem");
    p.digest = Some(tls::fprint::Digest::Sha256);
    let ctx = ServerContext::init(&p).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = s_client(
        port,
        &["-cert", &pki.f("client.pem"), "-key", &pki.f("client.key")],
        "hi\r\n",
    );
    let info = serve_one(&ctx, &l).unwrap();
    c.wait_with_output().unwrap();
    assert!(info.peer_cert_present && info.peer_trusted, "{info:?}");
    assert_eq!(info.peer_status(), "Trusted");
    assert_eq!(info.peer_cn, "client.example");
    // Issuer CN present here; the organisation is the fallback (2001/08/27).
    assert_eq!(info.issuer_cn, "Test CA");
    assert_eq!(info.peer_cert_fprint.len(), 95);
    assert_eq!(
        tls::log::received_client_cert(&info, true),
        "(Client CN \"client.example\", Issuer \"Test CA\" (verified OK))"
    );
    // No certificate presented: not trusted (2000/09/14).
    let c = s_client(port, &[], "hi\r\n");
    let info = serve_one(&ctx, &l).unwrap();
    c.wait_with_output().unwrap();
    assert!(!info.peer_cert_present && !info.peer_trusted);
    assert_eq!(
        tls::log::received_client_cert(&info, true),
        "(Client did not present a certificate)"
    );
    // A certificate from an unknown CA: presented, not verified.
    let c = s_client(
        port,
        &["-cert", &pki.f("ca.pem"), "-key", &pki.f("ca.key")],
        "hi\r\n",
    );
    let info = serve_one(&ctx, &l).unwrap();
    c.wait_with_output().unwrap();
    assert!(info.peer_cert_present, "{info:?}");
    assert_eq!(info.issuer_cn, "Test CA");
}

#[test]
fn stalled_handshake_is_dropped_within_the_deadline_2003_06_17() {
    let pki = Pki::new();
    let ctx = ServerContext::init(&server_params(&pki)).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        // Send half a ClientHello record header, then stall.
        s.write_all(&[0x16, 0x03, 0x01]).unwrap();
        std::thread::sleep(Duration::from_secs(6));
        drop(s);
    });
    let (sock, _) = l.accept().unwrap();
    let start = Instant::now();
    let r = server_start(
        &ctx,
        sock,
        &ServerStartProps {
            namaddr: "stall[127.0.0.1]",
            timeout: Duration::from_secs(2),
        },
    );
    let took = start.elapsed();
    assert!(matches!(r, Err(TlsError::Timeout)), "{r:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(r.unwrap_err().log_reason(), "Connection timed out");
    t.join().unwrap();
}

#[test]
fn unreadable_key_names_the_file_2000_09_03() {
    let pki = Pki::new();
    let mut p = server_params(&pki);
    p.key_file = pki.f("missing.key");
    let e = ServerContext::init(&p).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot load RSA certificate and key data: ")
            && e.contains("missing.key: No such file or directory"),
        "{e}"
    );
    let mut p = server_params(&pki);
    p.key_file = pki.f("ec.key");
    let e = ServerContext::init(&p).unwrap_err().to_string();
    assert!(e.contains("does not match"), "{e}");
    // Chain files: key then chain, RSA and ECDSA in one list.
    let mut p = server_params(&pki);
    let both = pki.f("both.pem");
    let cat = |n: &str| std::fs::read_to_string(pki.f(n)).unwrap();
    std::fs::write(
        &both,
        cat("rsa.key") + &cat("rsa.pem") + &cat("ca.pem") + &cat("ec.key") + &cat("ec.pem"),
    )
    .unwrap();
    p.chain_files = vec![both];
    ServerContext::init(&p).unwrap();
}

type Shared = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A fake tlsmgr: a cache map and one ticket key.
fn fake_tlsmgr(dir: &Path) -> (String, Shared) {
    let path = dir.join("tlsmgr");
    let l = UnixListener::bind(&path).unwrap();
    let map: Shared = Arc::default();
    let m = Arc::clone(&map);
    let mut key = [0u8; 88];
    openssl::rand::rand_bytes(&mut key[..80]).unwrap();
    key[80..].copy_from_slice(&(chrono::Utc::now().timestamp() + 3600).to_be_bytes());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let s = s.unwrap();
            let m = Arc::clone(&m);
            std::thread::spawn(move || loop {
                let Ok(Some(req)) = AttrReader::new(&s).read() else {
                    return;
                };
                let k = format!(
                    "{}/{}",
                    req.str("cache_type").unwrap_or(""),
                    req.str("cache_id").unwrap_or("")
                );
                let mut map = m.lock().unwrap();
                let reply = match req.str("request").unwrap() {
                    "lookup" => match map.get(&k) {
                        Some(v) => Attrs::new().put_int("status", 0).put_data("session", v),
                        None => Attrs::new().put_int("status", -2),
                    },
                    "update" => {
                        map.insert(k, req.data("session").unwrap());
                        Attrs::new().put_int("status", 0)
                    }
                    "delete" => {
                        map.remove(&k);
                        Attrs::new().put_int("status", 0)
                    }
                    "tktkey" => Attrs::new().put_int("status", 0).put_data("keybuf", &key),
                    _ => Attrs::new().put_int("status", -1),
                };
                drop(map);
                AttrWriter::new(&s).write(&reply).unwrap();
            });
        }
    });
    (path.display().to_string(), map)
}

fn reconnect_twice(pki: &Pki, p: &TlsServerParams, proto: &[&str]) -> (tls::TlsInfo, tls::TlsInfo) {
    // Two contexts = two smtpd processes sharing one tlsmgr.
    let ctx1 = ServerContext::init(p).unwrap();
    let ctx2 = ServerContext::init(p).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let sess = pki.f(&format!("sess{}", proto.len()));
    // -ign_eof: s_client must stay until the server closes, or it may
    // leave before the TLS 1.3 ticket arrives and write no session file.
    let mut a = proto.to_vec();
    a.extend_from_slice(&["-ign_eof", "-sess_out", &sess]);
    let mut c = s_client(port, &a, "one\r\n");
    let first = serve_one_from(&ctx1, &l, Some(&mut c)).unwrap();
    c.wait_with_output().unwrap();
    let mut a = proto.to_vec();
    a.extend_from_slice(&["-ign_eof", "-sess_in", &sess]);
    let mut c = s_client(port, &a, "two\r\n");
    let second = serve_one_from(&ctx2, &l, Some(&mut c)).unwrap();
    let out = c.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Reused"), "{text}");
    (first, second)
}

#[test]
fn resumption_across_processes_by_ticket_and_by_session_id() {
    let pki = Pki::new();
    let (sock, map) = fake_tlsmgr(&pki.path);
    let mut p = server_params(&pki);
    p.tlsmgr_socket = sock;
    // Tickets (TLS 1.3): the key comes from tlsmgr.
    let (a, b) = reconnect_twice(&pki, &p, &[]);
    assert!(!a.resumed && b.resumed);
    // Session IDs (TLS 1.2 without tickets) through the tlsmgr cache.
    p.cache_database = "lmdb:/unused".into();
    let (a, b) = reconnect_twice(&pki, &p, &["-tls1_2", "-no_ticket"]);
    assert!(!a.resumed && b.resumed);
    assert!(map.lock().unwrap().keys().any(|k| k.starts_with("smtpd/")));
}

fn s_server(pki: &Pki, cert: &str, key: &str) -> (Child, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-cert",
            &pki.f(cert),
            "-key",
            &pki.f(key),
            "-naccept",
            "20",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

fn client_props(port: u16, host: &str, level: SecurityLevel) -> ClientStartProps {
    ClientStartProps {
        namaddr: format!("{host}[127.0.0.1]:{port}"),
        nexthop: "example.com".into(),
        host: host.into(),
        addr: "127.0.0.1".into(),
        port,
        servername: Some(host.into()),
        level: Some(level),
        matches: vec!["hostname".into()],
        timeout: Duration::from_secs(20),
        ..ClientStartProps::default()
    }
}

fn client_ctx(pki: &Pki, mgr: Option<String>) -> ClientContext {
    let mut p = TlsClientParams {
        prefix: "smtp".into(),
        loglevel: 2,
        cache_timeout: 3600,
        ..TlsClientParams::default()
    };
    p.common.protocols = ">=TLSv1.2".into();
    p.common.cipher_grade = "medium".into();
    p.common.lists.medium = "HIGH:MEDIUM".into();
    p.common.ca_file = pki.f("ca.pem");
    p.common.verify_depth = 9;
    if let Some(m) = mgr {
        p.tlsmgr_socket = m;
        p.cache_database = "lmdb:/unused".into();
    }
    ClientContext::init(&p).unwrap()
}

fn talk(mut t: tls::TlsStream<TcpStream>) -> tls::TlsInfo {
    t.set_timeout(Some(Duration::from_millis(300)));
    t.write_all(b"ping\n").unwrap();
    let mut b = [0u8; 16];
    let _ = t.read(&mut b);
    let i = t.info().clone();
    t.stop(Duration::from_secs(1));
    i
}

#[test]
fn client_verification_levels_against_s_server() {
    let pki = Pki::new();
    let (mut srv, port) = s_server(&pki, "rsa.pem", "rsa.key");
    let ctx = client_ctx(&pki, None);
    let go = |host: &str, level| {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client_start(&ctx, s, &client_props(port, host, level))
    };
    let i = talk(go("mx.example.com", SecurityLevel::Verify).unwrap());
    assert_eq!(i.peer_status(), "Verified");
    let i = talk(go("MX.EXAMPLE.COM.", SecurityLevel::Secure).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(i.peer_status(), "Verified");
    let i = talk(go("a.wild.example.com", SecurityLevel::Verify).unwrap());
    assert_eq!(i.peer_status(), "Verified");
    match go("a.b.wild.example.com", SecurityLevel::Verify) {
        Err(TlsError::Policy(why)) => assert!(why.contains("hostname mismatch"), "{why}"),
        other => panic!("{other:?}"),
    }
    // Wrong name at level may/encrypt: TLS, but only Trusted.
    let i = talk(go("other.example.net", SecurityLevel::Encrypt).unwrap());
    assert_eq!(i.peer_status(), "Trusted");
    srv.kill().unwrap();
    let _ = srv.wait();
    // Untrusted chain (self-signed CA cert as server cert).
    let (mut srv, port) = s_server(&pki, "self.pem", "self.key");
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let p = client_props(port, "mx.example.com", SecurityLevel::Verify);
    match client_start(&ctx, s, &p) {
        Err(TlsError::Policy(why)) => assert!(
            why.starts_with("certificate verification failed for mx.example.com[127.0.0.1]:"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let i = talk(
        client_start(
            &ctx,
            s,
            &client_props(port, "mx.example.com", SecurityLevel::May),
        )
        .unwrap(),
    );
    assert_eq!(i.peer_status(), "Untrusted");
    // Fingerprint level: the public-key fingerprint of the certificate.
    let ca = openssl::x509::X509::from_pem(&std::fs::read(pki.f("self.pem")).unwrap()).unwrap();
    let fp = tls::fprint::pkey_fingerprint(&ca, tls::fprint::Digest::Sha256);
    let mut p = client_props(port, "mx.example.com", SecurityLevel::Fingerprint);
    p.fingerprints = vec![fp.to_lowercase()];
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let i = talk(client_start(&ctx, s, &p).unwrap());
    assert!(i.peer_matched);
    p.fingerprints = vec!["00:11".into()];
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(matches!(
        client_start(&ctx, s, &p),
        Err(TlsError::Policy(_))
    ));
    srv.kill().unwrap();
    let _ = srv.wait();
}

#[test]
fn client_resumes_with_the_first_verification_result_2000_11_29() {
    let pki = Pki::new();
    let (sock, map) = fake_tlsmgr(&pki.path);
    // A server whose certificate does not verify, reached at level may.
    let (mut srv, port) = s_server(&pki, "self.pem", "self.key");
    let ctx = client_ctx(&pki, Some(sock));
    let go = |level| {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        client_start(&ctx, s, &client_props(port, "mx.example.com", level))
    };
    let first = talk(go(SecurityLevel::May).unwrap());
    assert!(!first.resumed);
    assert_eq!(first.peer_status(), "Untrusted");
    let start = Instant::now();
    while map.lock().unwrap().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no session saved"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = talk(go(SecurityLevel::May).unwrap());
    assert!(second.resumed, "{second:?}");
    assert_eq!(second.peer_status(), "Untrusted");
    // Under level verify the cached session is not offered (other key),
    // and the full handshake fails.
    assert!(matches!(
        go(SecurityLevel::Verify),
        Err(TlsError::Policy(_))
    ));
    srv.kill().unwrap();
    let _ = srv.wait();
}
