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
//!   - [`set_ticket_key_callback`]: RFC 5077 session tickets whose keys
//!     the caller finds by name (`SSL_CTX_set_tlsext_ticket_key_evp_cb`,
//!     OpenSSL 3): encrypt with the current key, decrypt with whichever
//!     key the ticket names, so tickets survive a key rotation;
//!   - [`set_session_timeout`]: the session lifetime (`SSL_CTX_set_timeout`);
//!   - [`rand_add`]: mix entropy into the pool (`RAND_add`);
//!   - [`signature_nids`]: the signature algorithm and digest of the
//!     handshake, for the log and the `Received:` header.
//!
//! SEE ALSO
//!   SSL_set_session(3), SSL_CTX_sess_set_get_cb(3),
//!   SSL_CTX_set_tlsext_ticket_key_cb(3), SSL_get_peer_signature_nid(3).
use foreign_types::ForeignTypeRef;
use openssl::ex_data::Index;
use openssl::nid::Nid;
use openssl::ssl::{SslContext, SslContextBuilder, SslRef, SslSession, SslSessionRef};
use openssl_sys::{EVP_CIPHER_CTX, EVP_MAC_CTX, OSSL_PARAM, SSL, SSL_CTX};
use std::os::raw::{c_char, c_int, c_long, c_uchar, c_void};
use std::sync::OnceLock;

// From <openssl/ssl.h> (OpenSSL 3.x).
const SSL_CTRL_GET_PEER_SIGNATURE_NID: c_int = 108;
const SSL_CTRL_GET_SIGNATURE_NID: c_int = 132;

/// OpenSSL's ticket key callback with an EVP_MAC context (OpenSSL 3).
type TicketKeyEvpCb = unsafe extern "C" fn(
    s: *mut SSL,
    key_name: *mut c_uchar,
    iv: *mut c_uchar,
    cctx: *mut EVP_CIPHER_CTX,
    hctx: *mut EVP_MAC_CTX,
    enc: c_int,
) -> c_int;

extern "C" {
    fn SSL_get_peer_signature_type_nid(s: *const SSL, pnid: *mut c_int) -> c_int;
    fn SSL_get_signature_type_nid(s: *const SSL, pnid: *mut c_int) -> c_int;
    fn SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx: *mut SSL_CTX, cb: Option<TicketKeyEvpCb>)
        -> c_int;
    fn SSL_CTX_set_timeout(ctx: *mut SSL_CTX, t: c_long) -> c_long;
    fn OSSL_PARAM_construct_utf8_string(
        key: *const c_char,
        buf: *mut c_char,
        bsize: usize,
    ) -> OSSL_PARAM;
}

/// Length of the ticket key block: 16-byte key name, 32-byte HMAC key,
/// 32-byte AES key (OpenSSL's layout for `SSL_CTX_set_tlsext_ticket_keys`,
/// kept as tlsmgr's wire form).
pub const TICKET_KEYS_LEN: usize = 80;
/// Length of a ticket key name (the first bytes of the key block).
pub const TICKET_NAME_LEN: usize = 16;
/// AES-256-CBC's IV length, bytes.
const TICKET_IV_LEN: usize = 16;

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

/// What a ticket key lookup found: the key block ([`TICKET_KEYS_LEN`]
/// bytes: name, HMAC key, AES key) and, when decrypting, whether the
/// client should get a new ticket because the key is no longer the
/// current one (OpenSSL's callback result 2, RFC 5077 section 3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKeyUse {
    /// name (16) + HMAC-SHA256 key (32) + AES-256-CBC key (32).
    pub keys: [u8; TICKET_KEYS_LEN],
    /// Ask the client to replace its ticket (decryption only).
    pub renew: bool,
}

/// The ticket key lookup stored with a context: `name` is `None` when a
/// ticket is being made (the current key is wanted), else the name the
/// client's ticket carries.
type TicketLookup =
    Box<dyn Fn(&SslRef, Option<&[u8; TICKET_NAME_LEN]>) -> Option<TicketKeyUse> + Send + Sync>;

fn ticket_index() -> Option<Index<SslContext, TicketLookup>> {
    static INDEX: OnceLock<Option<Index<SslContext, TicketLookup>>> = OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index::<TicketLookup>().ok())
}

/// Install RFC 5077 session tickets whose keys `lookup` supplies. When
/// OpenSSL makes a ticket it calls `lookup(ssl, None)` and encrypts with
/// the key returned (AES-256-CBC, fresh random IV, HMAC-SHA256, as
/// Postfix's default `tls_session_ticket_cipher`); when a client offers a
/// ticket, `lookup(ssl, Some(name))` finds the key by the name in the
/// ticket. `None` means no ticket is issued, or the offered ticket is
/// ignored and a full handshake follows (never a handshake failure).
/// Replaces any ticket key installed before. Errors: OpenSSL's (no ex
/// data index, or the callback was refused).
pub fn set_ticket_key_callback<F>(
    builder: &mut SslContextBuilder,
    lookup: F,
) -> Result<(), openssl::error::ErrorStack>
where
    F: Fn(&SslRef, Option<&[u8; TICKET_NAME_LEN]>) -> Option<TicketKeyUse> + Send + Sync + 'static,
{
    let index = ticket_index().ok_or_else(openssl::error::ErrorStack::get)?;
    builder.set_ex_data(index, Box::new(lookup) as TicketLookup);
    // SAFETY: the builder's SSL_CTX is live; the callback only reads the
    // ex data stored just above, which the context owns (and frees with
    // itself), and it has the exact C signature OpenSSL 3 declares.
    let r = unsafe { SSL_CTX_set_tlsext_ticket_key_evp_cb(builder.as_ptr(), Some(ticket_key_cb)) };
    if r == 1 {
        Ok(())
    } else {
        Err(openssl::error::ErrorStack::get())
    }
}

/// OpenSSL's ticket key callback: 1 = keys set, 2 = keys set and the
/// ticket should be renewed, 0 = no ticket / ignore the ticket.
unsafe extern "C" fn ticket_key_cb(
    s: *mut SSL,
    key_name: *mut c_uchar,
    iv: *mut c_uchar,
    cctx: *mut EVP_CIPHER_CTX,
    hctx: *mut EVP_MAC_CTX,
    enc: c_int,
) -> c_int {
    // A panic must not unwind into OpenSSL: treat it as "no key".
    // SAFETY (all blocks below): OpenSSL passes a live SSL, a 16-byte key
    // name buffer, an IV buffer of EVP_MAX_IV_LENGTH (>= 16) bytes and
    // fresh cipher and MAC contexts, all valid for the duration of this
    // call.
    std::panic::catch_unwind(|| -> c_int {
        let Some(index) = ticket_index() else {
            return 0;
        };
        // SAFETY: `s` is the live SSL of this handshake (see above).
        let ssl = unsafe { SslRef::from_ptr(s) };
        let Some(lookup) = ssl.ssl_context().ex_data(index) else {
            return 0;
        };
        let found = if enc == 1 {
            lookup(ssl, None)
        } else {
            let mut name = [0u8; TICKET_NAME_LEN];
            // SAFETY: OpenSSL's key_name buffer holds 16 bytes.
            unsafe { std::ptr::copy_nonoverlapping(key_name, name.as_mut_ptr(), TICKET_NAME_LEN) };
            lookup(ssl, Some(&name))
        };
        let Some(key) = found else { return 0 };
        let (name, rest) = key.keys.split_at(TICKET_NAME_LEN);
        let (hmac, aes) = rest.split_at(32);
        let mut hmac = hmac.to_vec();
        let mut digest = *b"SHA256\0";
        // SAFETY: the buffers named above outlive the calls; IV and name
        // buffers have the sizes OpenSSL guarantees (see caller); the OSSL_PARAM
        // array is terminated and only read during EVP_MAC_CTX_set_params.
        unsafe {
            if enc == 1 {
                if openssl_sys::RAND_bytes(iv, TICKET_IV_LEN as c_int) != 1 {
                    return 0;
                }
                std::ptr::copy_nonoverlapping(name.as_ptr(), key_name, TICKET_NAME_LEN);
            }
            let cipher = openssl_sys::EVP_aes_256_cbc();
            let ok = if enc == 1 {
                openssl_sys::EVP_EncryptInit_ex(
                    cctx,
                    cipher,
                    std::ptr::null_mut(),
                    aes.as_ptr(),
                    iv,
                )
            } else {
                openssl_sys::EVP_DecryptInit_ex(
                    cctx,
                    cipher,
                    std::ptr::null_mut(),
                    aes.as_ptr(),
                    iv,
                )
            };
            if ok != 1 {
                return 0;
            }
            let params = [
                openssl_sys::OSSL_PARAM_construct_octet_string(
                    c"key".as_ptr(),
                    hmac.as_mut_ptr().cast::<c_void>(),
                    hmac.len(),
                ),
                OSSL_PARAM_construct_utf8_string(
                    c"digest".as_ptr(),
                    digest.as_mut_ptr().cast::<c_char>(),
                    0,
                ),
                openssl_sys::OSSL_PARAM_construct_end(),
            ];
            if openssl_sys::EVP_MAC_CTX_set_params(hctx, params.as_ptr()) != 1 {
                return 0;
            }
        }
        if enc != 1 && key.renew {
            2
        } else {
            1
        }
    })
    .unwrap_or(0)
}

/// Set how long sessions made with `builder` may be resumed, in seconds
/// (`SSL_CTX_set_timeout`; Postfix sets `smtpd_tls_session_cache_timeout`).
/// It is also the lifetime hint sent with each ticket.
pub fn set_session_timeout(builder: &mut SslContextBuilder, seconds: u32) {
    // SAFETY: a plain setter on a live SSL_CTX.
    unsafe {
        SSL_CTX_set_timeout(builder.as_ptr(), c_long::from(seconds));
    }
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
