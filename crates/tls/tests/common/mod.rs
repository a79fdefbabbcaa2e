//! Helpers of the engine tests: a PKI made with the openssl CLI, openssl
//! s_client/s_server peers, one-connection servers and a fake tlsmgr.
#![allow(dead_code)]
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
use tls::{server_start, ClientContext, ClientStartProps, ServerContext, ServerStartProps};
use tls::{TlsClientParams, TlsError, TlsServerParams};

pub fn run(dir: &Path, args: &[&str]) {
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
pub fn make_pki(dir: &Path) {
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

pub struct Pki {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        make_pki(dir.path());
        let path = dir.path().to_path_buf();
        Pki { _dir: dir, path }
    }
    pub fn f(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }
}

pub fn server_params(pki: &Pki) -> TlsServerParams {
    let mut p = TlsServerParams {
        prefix: "smtpd".into(),
        keys: tls::KeyFiles {
            chain_files: Vec::new(),
            cert_file: pki.f("rsa.pem"),
            key_file: pki.f("rsa.key"),
            eccert_file: pki.f("ec.pem"),
            eckey_file: pki.f("ec.key"),
        },
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

pub fn s_client(port: u16, extra: &[&str], input: &str) -> Child {
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
pub fn serve_one(ctx: &ServerContext, l: &TcpListener) -> Result<tls::TlsInfo, TlsError> {
    serve_one_from(ctx, l, None)
}

/// Accept one connection within 30 s. When `client` is given and exits
/// before connecting, fail with its output instead of waiting forever.
pub fn accept_within(l: &TcpListener, mut client: Option<&mut Child>) -> TcpStream {
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

pub fn serve_one_from(
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

pub type Shared = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A fake tlsmgr: a cache map and one ticket key.
pub fn fake_tlsmgr(dir: &Path) -> (String, Shared) {
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

pub fn s_server(pki: &Pki, cert: &str, key: &str) -> (Child, u16) {
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

pub fn client_props(port: u16, host: &str, level: SecurityLevel) -> ClientStartProps {
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

pub fn client_ctx(pki: &Pki, mgr: Option<String>) -> ClientContext {
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

pub fn talk(mut t: tls::TlsStream<TcpStream>) -> tls::TlsInfo {
    t.set_timeout(Some(Duration::from_millis(300)));
    t.write_all(b"ping\n").unwrap();
    let mut b = [0u8; 16];
    let _ = t.read(&mut b);
    let i = t.info().clone();
    t.stop(Duration::from_secs(1));
    i
}
