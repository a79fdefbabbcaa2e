//! Tests of [`super`]: the parameters `tls_daemon_random_bytes` and
//! `tls_fast_shutdown_enable`, seeding from a stand-in tlsmgr, and the
//! close_notify exchange with and without waiting for the peer's.
use super::*;
use crate::tickets::tests::test_server_builder;
use global::attr::{AttrReader, AttrWriter, Attrs};
use openssl::ssl::{ErrorCode, SslVerifyMode};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

fn params(main_cf: &str) -> TlsServerParams {
    let cfg = Config::from_text(Path::new("/nonexistent"), main_cf).unwrap();
    TlsServerParams::from_config(&cfg, "smtpd", false).unwrap()
}

#[test]
fn parameters_and_their_limits() {
    let p = params("");
    assert_eq!(p.daemon_random_bytes, 32);
    assert!(!p.wait_close_notify, "tls_fast_shutdown_enable = yes");
    assert_eq!(p.cache_timeout, 3600);
    let p = params(
        "tls_daemon_random_bytes = 300\ntls_fast_shutdown_enable = no\n\
         smtpd_tls_session_cache_timeout = 10s\n",
    );
    assert_eq!(p.daemon_random_bytes, 255);
    assert!(p.wait_close_notify);
    assert_eq!(p.cache_timeout, 120);
    assert_eq!(
        params("smtpd_tls_session_cache_timeout = 0\n").cache_timeout,
        0
    );
}

#[test]
fn seed_asks_tlsmgr_for_tls_daemon_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tlsmgr");
    let l = UnixListener::bind(&path).unwrap();
    let srv = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let req = AttrReader::new(&s).read().unwrap().unwrap();
        assert_eq!(req.str("request").unwrap(), "seed");
        let n = req.int("size").unwrap();
        let seed = vec![7u8; usize::try_from(n).unwrap()];
        let reply = Attrs::new().put_int("status", 0).put_data("seed", &seed);
        AttrWriter::new(&s).write(&reply).unwrap();
        n
    });
    let socket = path.display().to_string();
    assert_eq!(seed_from_tlsmgr(&socket, 48), 48);
    assert_eq!(srv.join().unwrap(), 48);
    assert_eq!(seed_from_tlsmgr(&socket, 0), 0, "0: no request");
    assert_eq!(seed_from_tlsmgr(&socket, 16), 0, "tlsmgr gone: not fatal");
}

/// Our server ends TLS with `stop` while the client (plain OpenSSL)
/// sends its close_notify only after the test says so. Returns whether
/// `stop` returned before the client's close_notify was released.
fn stop_before_peer_reply(wait: bool) -> bool {
    let (c, s) = UnixStream::pair().unwrap();
    let (got_tx, got_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let mut b = SslContext::builder(SslMethod::tls_client()).unwrap();
        b.set_verify(SslVerifyMode::NONE);
        let mut tls = Ssl::new(&b.build()).unwrap().connect(c).unwrap();
        let mut buf = [0u8; 64];
        let e = tls.ssl_read(&mut buf).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ZERO_RETURN, "close_notify expected");
        got_tx.send(()).unwrap();
        let _ = go_rx.recv();
        let _ = tls.shutdown();
        tls
    });
    let ctx = test_server_builder().build();
    let mut tls = TlsStream::new(Ssl::new(&ctx).unwrap(), s).unwrap();
    let deadline = Some(Instant::now() + Duration::from_secs(30));
    tls.drive(deadline, |x| x.accept()).unwrap();
    tls.set_wait_close_notify(wait);
    let released = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&released);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(tls.stop(Duration::from_secs(60)));
        done_tx.send(r.load(Ordering::SeqCst)).unwrap();
    });
    got_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    // Fast shutdown: stop has returned or will without the client's reply.
    let early = if wait {
        None
    } else {
        Some(done_rx.recv_timeout(Duration::from_secs(30)).unwrap())
    };
    released.store(true, Ordering::SeqCst);
    go_tx.send(()).unwrap();
    let released_first = match early {
        Some(v) => v,
        None => done_rx.recv_timeout(Duration::from_secs(90)).unwrap(),
    };
    drop(peer.join().unwrap());
    !released_first
}

#[test]
fn fast_shutdown_does_not_wait_for_the_peer_close_notify() {
    assert!(stop_before_peer_reply(false));
    assert!(!stop_before_peer_reply(true));
}
