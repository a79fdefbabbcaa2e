//! NAME
//!   tls - the OpenSSL calls that the `openssl` crate marks unsafe or
//!   does not wrap (feature `tls`)
//!
//! DESCRIPTION
//!   The TLS engine (crate `tls`) is `#![forbid(unsafe_code)]`. What it
//!   needs beyond the safe `openssl` API lives here, each call small and
//!   argued:
//!
//!   - [`set_client_session`]: offer a cached session on a client
//!     connection (`SSL_set_session`);
//!   - [`set_server_session_lookup`]: the server's external session-ID
//!     cache lookup (`SSL_CTX_sess_set_get_cb`);
//!   - [`set_ticket_keys`]: install the RFC 5077 session-ticket key that
//!     tlsmgr issues (`SSL_CTX_set_tlsext_ticket_keys`);
//!   - [`rand_add`]: mix entropy into the pool (`RAND_add`);
//!   - [`signature_nids`]: the signature algorithm and digest of the
//!     handshake, for the log and the `Received:` header.
//!
//! SEE ALSO
//!   SSL_set_session(3), SSL_CTX_sess_set_get_cb(3),
//!   SSL_CTX_set_tlsext_ticket_key_cb(3), SSL_get_peer_signature_nid(3).
use foreign_types::ForeignTypeRef;
use openssl::nid::Nid;
use openssl::ssl::{SslContextBuilder, SslContextRef, SslRef, SslSession, SslSessionRef};
use std::os::raw::{c_int, c_long, c_void};

// From <openssl/ssl.h> (OpenSSL 1.1.1 and 3.x).
const SSL_CTRL_SET_TLSEXT_TICKET_KEYS: c_int = 59;
const SSL_CTRL_GET_PEER_SIGNATURE_NID: c_int = 108;
const SSL_CTRL_GET_SIGNATURE_NID: c_int = 132;

extern "C" {
    fn SSL_get_peer_signature_type_nid(s: *const openssl_sys::SSL, pnid: *mut c_int) -> c_int;
    fn SSL_get_signature_type_nid(s: *const openssl_sys::SSL, pnid: *mut c_int) -> c_int;
}

/// Length of the ticket key block: 16-byte key name, 32-byte HMAC key,
/// 32-byte AES key (OpenSSL's layout for `SSL_CTX_set_tlsext_ticket_keys`).
pub const TICKET_KEYS_LEN: usize = 80;

/// Offer `session` (decoded from the client session cache) for
/// resumption on the client connection `ssl`. Errors: OpenSSL's.
pub fn set_client_session(
    ssl: &mut SslRef,
    session: &SslSessionRef,
) -> Result<(), openssl::error::ErrorStack> {
    // SAFETY: the openssl crate's contract is that the session must not
    // belong to another SslContext. Cached sessions are freshly decoded
    // from DER (SslSession::from_der) and so belong to no context at all;
    // SSL_set_session takes its own reference.
    unsafe { ssl.set_session(session) }
}

/// Install the server-side external session cache lookup: `lookup`
/// gets the session ID the client proposes and returns the session, if
/// the cache has it.
pub fn set_server_session_lookup<F>(builder: &mut SslContextBuilder, lookup: F)
where
    F: Fn(&mut SslRef, &[u8]) -> Option<SslSession> + 'static + Sync + Send,
{
    // SAFETY: the callback's sessions are decoded from DER for each
    // lookup, so they are associated with no other SslContext, which is
    // the crate's only requirement.
    unsafe { builder.set_get_session_callback(lookup) }
}

/// Install `keys` ([`TICKET_KEYS_LEN`] bytes: name, HMAC key, AES key) as
/// the context's session-ticket key, replacing the previous one. Tickets
/// made with an older key then no longer decrypt, and the client falls
/// back to a full handshake. Returns false when OpenSSL refuses.
pub fn set_ticket_keys(ctx: &SslContextRef, keys: &[u8; TICKET_KEYS_LEN]) -> bool {
    let mut copy = *keys;
    // SAFETY: SSL_CTX_ctrl with SSL_CTRL_SET_TLSEXT_TICKET_KEYS reads
    // exactly `larg` bytes from `parg` and copies them into the context;
    // the buffer lives across the call. The context is not used by
    // another thread (Postern's TLS processes are single-threaded per
    // context), so the in-place update does not race.
    let r = unsafe {
        openssl_sys::SSL_CTX_ctrl(
            ctx.as_ptr(),
            SSL_CTRL_SET_TLSEXT_TICKET_KEYS,
            TICKET_KEYS_LEN as c_long,
            copy.as_mut_ptr().cast::<c_void>(),
        )
    };
    r == 1
}

/// A signature's `(type, digest)` NIDs, when known.
pub type SigNids = (Option<Nid>, Option<Nid>);

/// The signature of the handshake, as seen by `ssl`: `(peer, own)`, each
/// `(signature type, digest)` when known. The server's signature is the
/// peer's on a client connection and our own on a server connection.
pub fn signature_nids(ssl: &SslRef) -> (SigNids, SigNids) {
    let p = ssl.as_ptr();
    let mut out = [0 as c_int; 4];
    // SAFETY: these calls only write one int through the pointer given;
    // `p` is a live SSL for the duration of the borrow.
    let ok = unsafe {
        [
            SSL_get_peer_signature_type_nid(p, &mut out[0]) == 1,
            openssl_sys::SSL_ctrl(
                p,
                SSL_CTRL_GET_PEER_SIGNATURE_NID,
                0,
                (&mut out[1] as *mut c_int).cast(),
            ) == 1,
            SSL_get_signature_type_nid(p, &mut out[2]) == 1,
            openssl_sys::SSL_ctrl(
                p,
                SSL_CTRL_GET_SIGNATURE_NID,
                0,
                (&mut out[3] as *mut c_int).cast(),
            ) == 1,
        ]
    };
    let nid = |i: usize| (ok[i] && out[i] != 0).then(|| Nid::from_raw(out[i]));
    ((nid(0), nid(1)), (nid(2), nid(3)))
}

/// Mix `data` into OpenSSL's random pool (`RAND_add`), crediting
/// `entropy_bytes` bytes of entropy. Used for the PRNG exchange file and
/// `tls_random_source` (Postfix's tls_prng_*).
pub fn rand_add(data: &[u8], entropy_bytes: f64) {
    let len = c_int::try_from(data.len()).unwrap_or(c_int::MAX);
    // SAFETY: RAND_add reads `len` bytes from the buffer, which lives
    // across the call and is at least that long.
    unsafe { openssl_sys::RAND_add(data.as_ptr().cast::<c_void>(), len, entropy_bytes) }
}

const SSL_CTRL_GET_NEGOTIATED_GROUP: c_int = 134;

/// The key-exchange group negotiated on `ssl` (`SSL_get_negotiated_group`),
/// when there is one.
pub fn negotiated_group(ssl: &SslRef) -> Option<Nid> {
    // SAFETY: a read-only control on a live SSL; no pointer argument.
    let n = unsafe {
        openssl_sys::SSL_ctrl(
            ssl.as_ptr(),
            SSL_CTRL_GET_NEGOTIATED_GROUP,
            0,
            std::ptr::null_mut(),
        )
    };
    let n = c_int::try_from(n & 0xffff).ok()?;
    (n > 0).then(|| Nid::from_raw(n))
}
