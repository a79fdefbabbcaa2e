//! System tests of tlsmgr(8) under master: requests over
//! `private/tlsmgr` (lookup, update, delete, seed, tktkey), caches emptied
//! when tlsmgr starts again (postfix reload), the btree: fallback, the
//! exchange file, and the client stub's degradation when tlsmgr is absent.
use global::attr::{self, Attrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use testkit::Instance;
use tls::mgr_client::MgrClient;
use tls::scache;

const WAIT: Duration = Duration::from_secs(30);

fn start(master_cf: &str) -> Instance {
    Instance::builder()
        .master_cf_line(master_cf)
        .main_cf(
            "smtpd_tls_session_cache_database = btree:${data_directory}/smtpd_scache\n\
             smtp_tls_session_cache_database = lmdb:${data_directory}/smtp_scache\n\
             smtpd_tls_session_cache_timeout = 3600s\n",
        )
        .start()
}

fn sock(inst: &Instance) -> std::path::PathBuf {
    inst.queue_dir().join("private/tlsmgr")
}

fn connect(inst: &Instance) -> UnixStream {
    let start = Instant::now();
    loop {
        match UnixStream::connect(sock(inst)) {
            Ok(s) => {
                s.set_read_timeout(Some(WAIT)).unwrap();
                return s;
            }
            Err(e) if start.elapsed() > WAIT => panic!("connect tlsmgr: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn req(s: &mut UnixStream, a: Attrs) -> Attrs {
    attr::request(s, &a).unwrap()
}

#[test]
fn requests_over_private_tlsmgr() {
    let inst = start("tlsmgr unix - - y 1000? 1 tlsmgr");
    let mut s = connect(&inst);
    let blob = scache::encode_blob(scache::FLAG_TRUSTED, b"session-der");
    let lookup = |s: &mut UnixStream, t: &str| {
        req(
            s,
            Attrs::new()
                .put_str("request", "lookup")
                .put_str("cache_type", t)
                .put_str("cache_id", "abcd"),
        )
    };
    assert_eq!(lookup(&mut s, "smtpd").int("status").unwrap(), -2);
    let r = req(
        &mut s,
        Attrs::new()
            .put_str("request", "update")
            .put_str("cache_type", "smtpd")
            .put_str("cache_id", "abcd")
            .put_data("session", &blob),
    );
    assert_eq!(r.int("status").unwrap(), 0);
    let r = lookup(&mut s, "smtpd");
    assert_eq!(r.int("status").unwrap(), 0);
    assert_eq!(r.data("session").unwrap(), blob);
    // Another format version is refused (2000/03/07).
    let mut foreign = blob.clone();
    foreign[3] = 77;
    let r = req(
        &mut s,
        Attrs::new()
            .put_str("request", "update")
            .put_str("cache_type", "smtp")
            .put_str("cache_id", "x")
            .put_data("session", &foreign),
    );
    assert_eq!(r.int("status").unwrap(), -1);
    // A cache type that is not configured.
    assert_eq!(lookup(&mut s, "lmtp").int("status").unwrap(), -1);
    let r = req(
        &mut s,
        Attrs::new()
            .put_str("request", "delete")
            .put_str("cache_type", "smtpd")
            .put_str("cache_id", "abcd"),
    );
    assert_eq!(r.int("status").unwrap(), 0);
    assert_eq!(lookup(&mut s, "smtpd").int("status").unwrap(), -2);
    let r = req(
        &mut s,
        Attrs::new().put_str("request", "seed").put_int("size", 32),
    );
    assert_eq!(r.data("seed").unwrap().len(), 32);
    let r = req(
        &mut s,
        Attrs::new()
            .put_str("request", "tktkey")
            .put_data("keyname", b""),
    );
    assert_eq!(r.int("status").unwrap(), 0);
    let key = tls::mgr_client::TicketKey::decode(&r.data("keybuf").unwrap()).unwrap();
    let r = req(
        &mut s,
        Attrs::new()
            .put_str("request", "tktkey")
            .put_data("keyname", key.name()),
    );
    assert_eq!(
        tls::mgr_client::TicketKey::decode(&r.data("keybuf").unwrap()),
        Some(key)
    );
    assert_eq!(
        req(&mut s, Attrs::new().put_str("request", "bogus"))
            .int("status")
            .unwrap(),
        -1
    );
    // The client stub, as smtpd and smtp use it.
    let mgr = MgrClient::new(sock(&inst));
    assert!(mgr.update("smtp", "mx[192.0.2.1]:25&example.com&00", &blob));
    assert_eq!(
        mgr.lookup("smtp", "mx[192.0.2.1]:25&example.com&00"),
        Some(blob)
    );
    assert!(mgr.tktkey(None).is_some());
    // btree: is used as lmdb: with a warning; the exchange file exists.
    inst.wait_for_log(
        "smtpd_tls_session_cache_database: btree: tables are not supported; using lmdb:",
        WAIT,
    );
    assert!(inst.data_dir().join("smtpd_scache.lmdb").exists());
    assert_eq!(
        std::fs::metadata(inst.data_dir().join("prng_exch"))
            .unwrap()
            .len(),
        1024
    );
}

#[test]
fn caches_are_emptied_when_tlsmgr_restarts() {
    let inst = start("tlsmgr unix - - n 1000? 1 tlsmgr");
    let mgr = MgrClient::new(sock(&inst));
    let blob = scache::encode_blob(0, b"der");
    let start = Instant::now();
    while !mgr.update("smtpd", "feed", &blob) {
        assert!(start.elapsed() < WAIT, "tlsmgr did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(mgr.lookup("smtpd", "feed").is_some());
    let old: Vec<i32> = inst.children_of("tlsmgr").iter().map(|p| p.pid).collect();
    inst.reload();
    // The old tlsmgr exits; the next one starts with empty caches.
    let start = Instant::now();
    loop {
        let now: Vec<i32> = inst.children_of("tlsmgr").iter().map(|p| p.pid).collect();
        if !now.iter().any(|p| old.contains(p)) {
            break;
        }
        assert!(start.elapsed() < WAIT, "old tlsmgr still running");
        std::thread::sleep(Duration::from_millis(100));
    }
    let fresh = MgrClient::new(sock(&inst));
    let start = Instant::now();
    while fresh.tktkey(None).is_none() {
        assert!(start.elapsed() < WAIT, "new tlsmgr did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fresh.lookup("smtpd", "feed"), None);
}

#[test]
fn absent_tlsmgr_degrades_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = MgrClient::new(dir.path().join("private/tlsmgr"));
    assert!(mgr.lookup("smtpd", "x").is_none());
    assert!(mgr.tktkey(None).is_none());
    assert!(!mgr.update("smtpd", "x", b"y"));
}
