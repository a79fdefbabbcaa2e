//! Tests of [`super`]: key bookkeeping with a stand-in tlsmgr, and real
//! TLS 1.2 handshakes (OpenSSL on both ends, in memory over a socket
//! pair) resuming tickets across a key rotation.
use super::*;
use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslMethod, SslSession, SslSessionCacheMode, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509Name, X509};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI64, Ordering};

/// tlsmgr in miniature: `keys` newest last; any key found by name.
#[derive(Debug, Default)]
struct Mgr {
    keys: Mutex<Vec<TicketKey>>,
}

impl Mgr {
    fn rotate(&self, expires: i64) -> TicketKey {
        let mut keys = [0u8; sys::tls::TICKET_KEYS_LEN];
        openssl::rand::rand_bytes(&mut keys).unwrap();
        let k = TicketKey { keys, expires };
        self.keys.lock().unwrap().push(k.clone());
        k
    }
}

impl KeySource for Mgr {
    fn tktkey(&self, name: Option<&[u8]>) -> Option<TicketKey> {
        let keys = self.keys.lock().unwrap();
        match name {
            None => keys.last().cloned(),
            Some(n) => keys.iter().find(|k| k.name() == n).cloned(),
        }
    }
}

fn name_of(k: &TicketKey) -> [u8; TICKET_NAME_LEN] {
    k.name().try_into().unwrap()
}

#[test]
fn lifetime_follows_postfix_limits() {
    assert_eq!(session_lifetime(0), 0);
    assert_eq!(session_lifetime(1), 120);
    assert_eq!(session_lifetime(119), 120);
    assert_eq!(session_lifetime(3600), 3600);
    assert_eq!(session_lifetime(400 * 86400), 100 * 86400);
}

#[test]
fn keys_encrypt_for_half_and_decrypt_for_another_half() {
    let mgr = Arc::new(Mgr::default());
    let keys = TicketKeys::new(mgr.clone(), 120);
    assert!(keys.encrypt_key(1000).is_none(), "tlsmgr has no key yet");
    let a = mgr.rotate(1060);
    assert_eq!(keys.encrypt_key(1000), Some(a.clone()));
    assert_eq!(
        keys.decrypt_key(&name_of(&a), 1030),
        Some((a.clone(), false))
    );
    // tlsmgr rotates; this process sees the new key when A stops encrypting.
    let b = mgr.rotate(1120);
    assert_eq!(keys.encrypt_key(1059), Some(a.clone()));
    assert_eq!(keys.encrypt_key(1061), Some(b.clone()));
    // A decrypts until 1060 + 60, and such tickets are renewed.
    assert_eq!(
        keys.decrypt_key(&name_of(&a), 1119),
        Some((a.clone(), true))
    );
    assert_eq!(keys.decrypt_key(&name_of(&a), 1120), None);
    assert_eq!(keys.decrypt_key(&[9; TICKET_NAME_LEN], 1061), None);
    // A process that never saw B asks tlsmgr for it by name.
    let other = TicketKeys::new(mgr.clone(), 120);
    assert_eq!(
        other.decrypt_key(&name_of(&b), 1100),
        Some((b.clone(), false))
    );
    // Two rotations on, A is forgotten locally too.
    let c = mgr.rotate(1180);
    assert_eq!(keys.encrypt_key(1121), Some(c));
    assert_eq!(keys.keys.lock().unwrap().len(), 2);
    mgr.keys.lock().unwrap().remove(0);
    assert_eq!(keys.decrypt_key(&name_of(&a), 1100), None);
}

static NOW: AtomicI64 = AtomicI64::new(1000);

fn test_clock() -> i64 {
    NOW.load(Ordering::SeqCst)
}

/// A server context builder with a fresh self-signed ECDSA certificate
/// for `mx.example`, TLS 1.2 at most (shared with the server tests).
pub(crate) fn test_server_builder() -> openssl::ssl::SslContextBuilder {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509Name::builder().unwrap();
    name.append_entry_by_text("CN", "mx.example").unwrap();
    let name = name.build();
    let mut x = X509::builder().unwrap();
    x.set_subject_name(&name).unwrap();
    x.set_issuer_name(&name).unwrap();
    x.set_pubkey(&pkey).unwrap();
    x.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    x.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    x.sign(&pkey, MessageDigest::sha256()).unwrap();
    let mut b = SslContext::builder(SslMethod::tls_server()).unwrap();
    b.set_certificate(&x.build()).unwrap();
    b.set_private_key(&pkey).unwrap();
    b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    b
}

fn server_context(keys: &Arc<TicketKeys>) -> SslContext {
    let mut b = test_server_builder();
    b.set_session_id_context(b"tickets").unwrap();
    // No session-ID cache: only a ticket can resume a session.
    b.set_session_cache_mode(SslSessionCacheMode::OFF);
    install(&mut b, keys, 2).unwrap();
    b.build()
}

/// One handshake, offering `session`; returns (resumed, the client's
/// session afterwards).
fn handshake(server: &SslContext, session: Option<&SslSession>) -> (bool, SslSession) {
    let (c, s) = UnixStream::pair().unwrap();
    let mut ssl = Ssl::new(server).unwrap();
    set_namaddr(&mut ssl, "client.example[192.0.2.1]");
    let srv = std::thread::spawn(move || {
        let mut tls = ssl.accept(s).unwrap();
        let reused = tls.ssl().session_reused();
        let _ = tls.shutdown();
        reused
    });
    let mut b = SslContext::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
    let mut ssl = Ssl::new(&b.build()).unwrap();
    if let Some(sess) = session {
        sys::tls::set_client_session(&mut ssl, sess).unwrap();
    }
    let mut tls = ssl.connect(c).unwrap();
    // A copy, as a session cache would keep it.
    let der = tls.ssl().session().unwrap().to_der().unwrap();
    let sess = SslSession::from_der(&der).unwrap();
    let client_reused = tls.ssl().session_reused();
    let _ = tls.shutdown();
    let server_reused = srv.join().unwrap();
    assert_eq!(client_reused, server_reused);
    (server_reused, sess)
}

#[test]
fn tickets_survive_one_rotation_and_not_two() {
    let mgr = Arc::new(Mgr::default());
    let keys = Arc::new(TicketKeys::with_clock(mgr.clone(), 120, test_clock));
    let server = server_context(&keys);
    mgr.rotate(1060);
    NOW.store(1000, Ordering::SeqCst);
    let (reused, s1) = handshake(&server, None);
    assert!(!reused);
    assert!(handshake(&server, Some(&s1)).0, "same key");
    // Rotation: the old key decrypts, and the ticket is renewed under B.
    mgr.rotate(1130);
    NOW.store(1070, Ordering::SeqCst);
    let (reused, s1b) = handshake(&server, Some(&s1));
    assert!(reused, "ticket from before the rotation");
    // The first key's decrypt period is over: a full handshake, no error.
    NOW.store(1125, Ordering::SeqCst);
    assert!(!handshake(&server, Some(&s1)).0, "expired key");
    assert!(handshake(&server, Some(&s1b)).0, "renewed ticket");
    // A server whose tlsmgr never heard of the key: full handshake.
    let stranger = Arc::new(TicketKeys::with_clock(
        Arc::new(Mgr::default()),
        120,
        test_clock,
    ));
    let (reused, _) = handshake(&server_context(&stranger), Some(&s1b));
    assert!(!reused, "unknown key");
}
