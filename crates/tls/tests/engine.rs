//! Engine tests: real handshakes over TCP against programs no one here
//! wrote (`openssl s_client`, `openssl s_server`), with a CA, RSA and
//! ECDSA server certificates and a client certificate made in the test,
//! and a fake tlsmgr for session resumption across contexts.
mod common;

use common::*;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use tls::params::SecurityLevel;
use tls::{client_start, server_start, ServerContext, ServerStartProps};
use tls::{TlsError, TlsServerParams};

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
    p.keys.key_file = pki.f("missing.key");
    let e = ServerContext::init(&p).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot load RSA certificate and key data: ")
            && e.contains("missing.key: No such file or directory"),
        "{e}"
    );
    let mut p = server_params(&pki);
    p.keys.key_file = pki.f("ec.key");
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
    p.keys.chain_files = vec![both];
    ServerContext::init(&p).unwrap();
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
    // Encrypt with a trusted chain (MUST_NOPEERMATCH): any name will do.
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut p = client_props(port, "other.example.net", SecurityLevel::Encrypt);
    p.require_trust = true;
    assert_eq!(
        talk(client_start(&ctx, s, &p).unwrap()).peer_status(),
        "Trusted"
    );
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
    // ... but not with a chain that does not verify (TLS_CHANGES 2000/11/26).
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut p = client_props(port, "mx.example.com", SecurityLevel::Encrypt);
    p.require_trust = true;
    match client_start(&ctx, s, &p) {
        Err(TlsError::Policy(why)) => {
            assert!(why.contains("certificate verification failed"), "{why}")
        }
        other => panic!("{other:?}"),
    }
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
