//! NAME
//!   tickets - RFC 5077 session-ticket keys in the server, found by name
//!
//! SYNOPSIS
//!   let keys = Arc::new(TicketKeys::new(Arc::new(mgr), lifetime));
//!   tickets::install(&mut builder, &keys, loglevel)?;
//!   tickets::set_namaddr(&mut ssl, "host[addr]");
//!
//! DESCRIPTION
//!   tlsmgr(8) makes the session-ticket keys, so a ticket that one smtpd
//!   process issued is accepted by any other. The server encrypts each
//!   new ticket with tlsmgr's current key and decrypts an offered ticket
//!   with the key the ticket names (OpenSSL's ticket key callback, see
//!   [`sys::tls::set_ticket_key_callback`]), so tickets survive a key
//!   rotation:
//!
//!   - the session lifetime is `smtpd_tls_session_cache_timeout`, raised
//!     to 2 minutes when smaller and limited to 100 days
//!     ([`session_lifetime`], postconf(5));
//!   - a key encrypts new tickets for half the lifetime (its `expires`
//!     time), then tlsmgr makes the next one on demand;
//!   - a key still decrypts for another half lifetime after that, and a
//!     ticket it decrypts is renewed (the client gets a ticket under the
//!     current key);
//!   - a ticket under an unknown or expired key is ignored: the client
//!     gets a full handshake, never an error.
//!
//!   This process keeps the two most recent keys it has seen and asks
//!   tlsmgr (request `tktkey`) only for a key it does not have.
//!
//! DIAGNOSTICS
//!   With `smtpd_tls_loglevel` 2 or more, as Postfix:
//!   `host[addr]: Issuing session ticket, key expiration: EPOCH` and
//!   `host[addr]: Decrypting session ticket, key expiration: EPOCH`.
//!
//! SEE ALSO
//!   tlsmgr(8), SSL_CTX_set_tlsext_ticket_key_cb(3), RFC 5077.
use crate::engine::TlsError;
use crate::mgr_client::{MgrClient, TicketKey};
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContextBuilder, SslRef};
use std::sync::{Arc, Mutex, OnceLock};
use sys::tls::{TicketKeyUse, TICKET_NAME_LEN};
use util::msg_info;

/// Postfix's smallest session lifetime, seconds (2 minutes).
pub const SESSION_LIFEMIN: u64 = 120;
/// Postfix's largest session lifetime, seconds (100 days).
pub const SESSION_LIFEMAX: u64 = 100 * 86400;

/// The effective session lifetime for a configured
/// `*_tls_session_cache_timeout` of `configured` seconds: 0 stays 0
/// (resumption off), a positive value below 2 minutes becomes 2 minutes,
/// and a value above 100 days becomes 100 days (postconf(5)).
pub fn session_lifetime(configured: u64) -> u64 {
    if configured == 0 {
        0
    } else {
        configured.clamp(SESSION_LIFEMIN, SESSION_LIFEMAX)
    }
}

/// Where the server gets ticket keys: tlsmgr, or a stand-in in tests.
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// The key named `name`, or the current key when `name` is `None`;
    /// `None` when there is no such key or the source cannot be reached.
    fn tktkey(&self, name: Option<&[u8]>) -> Option<TicketKey>;
}

impl KeySource for MgrClient {
    fn tktkey(&self, name: Option<&[u8]>) -> Option<TicketKey> {
        MgrClient::tktkey(self, name)
    }
}

/// The ticket keys this process knows (at most two, newest first) and
/// the source of new ones.
#[derive(Debug)]
pub struct TicketKeys {
    source: Arc<dyn KeySource>,
    /// Half the session lifetime: each key's decrypt-only period, seconds.
    half: i64,
    keys: Mutex<Vec<TicketKey>>,
    clock: fn() -> i64,
}

fn wall_clock() -> i64 {
    chrono::Utc::now().timestamp()
}

impl TicketKeys {
    /// Keys from `source` for sessions that live `lifetime` seconds
    /// (already passed through [`session_lifetime`]).
    pub fn new(source: Arc<dyn KeySource>, lifetime: u64) -> TicketKeys {
        TicketKeys::with_clock(source, lifetime, wall_clock)
    }

    /// As [`TicketKeys::new`], reading the time (seconds since the epoch)
    /// from `clock`.
    pub fn with_clock(source: Arc<dyn KeySource>, lifetime: u64, clock: fn() -> i64) -> TicketKeys {
        TicketKeys {
            source,
            half: i64::try_from(lifetime / 2).unwrap_or(i64::MAX / 4),
            keys: Mutex::new(Vec::new()),
            clock,
        }
    }

    fn remember(keys: &mut Vec<TicketKey>, k: &TicketKey) {
        keys.retain(|old| old.name() != k.name());
        keys.push(k.clone());
        keys.sort_by_key(|k| std::cmp::Reverse(k.expires));
        keys.truncate(2);
    }

    /// The key to encrypt a new ticket with at `now` (seconds since the
    /// epoch): the current key while it has not expired, else tlsmgr's
    /// current one. `None`: no key to be had (no ticket is issued).
    pub fn encrypt_key(&self, now: i64) -> Option<TicketKey> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = keys.first().filter(|k| k.expires > now) {
            return Some(k.clone());
        }
        let k = self.source.tktkey(None).filter(|k| k.expires > now)?;
        Self::remember(&mut keys, &k);
        Some(k)
    }

    /// The key named `name` to decrypt an offered ticket with at `now`,
    /// and whether the ticket should be renewed (its key no longer
    /// encrypts). `None`: the key is unknown or past its decrypt-only
    /// period, so the ticket is ignored.
    pub fn decrypt_key(&self, name: &[u8; TICKET_NAME_LEN], now: i64) -> Option<(TicketKey, bool)> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let k = match keys.iter().find(|k| k.name() == name) {
            Some(k) => k.clone(),
            None => {
                let k = self
                    .source
                    .tktkey(Some(name))
                    .filter(|k| k.name() == name)?;
                Self::remember(&mut keys, &k);
                k
            }
        };
        (k.expires.saturating_add(self.half) > now).then(|| {
            let renew = k.expires <= now;
            (k, renew)
        })
    }
}

fn namaddr_index() -> Option<Index<Ssl, String>> {
    static INDEX: OnceLock<Option<Index<Ssl, String>>> = OnceLock::new();
    *INDEX.get_or_init(|| Ssl::new_ex_index::<String>().ok())
}

/// Remember the client's `host[addr]` on `ssl` for the ticket log lines.
pub fn set_namaddr(ssl: &mut Ssl, namaddr: &str) {
    if let Some(i) = namaddr_index() {
        ssl.set_ex_data(i, namaddr.to_string());
    }
}

fn namaddr(ssl: &SslRef) -> &str {
    namaddr_index()
        .and_then(|i| ssl.ex_data(i))
        .map_or("unknown", String::as_str)
}

/// Make the context built by `builder` issue and accept tickets with
/// `keys` (see the DESCRIPTION). `loglevel` is `smtpd_tls_loglevel`.
/// Errors: [`TlsError::Setup`] when OpenSSL refuses the callback.
pub fn install(
    builder: &mut SslContextBuilder,
    keys: &Arc<TicketKeys>,
    loglevel: u32,
) -> Result<(), TlsError> {
    let keys = Arc::clone(keys);
    sys::tls::set_ticket_key_callback(builder, move |ssl, name| {
        let now = (keys.clock)();
        let (k, renew, what) = match name {
            None => (keys.encrypt_key(now)?, false, "Issuing"),
            Some(n) => {
                let (k, renew) = keys.decrypt_key(n, now)?;
                (k, renew, "Decrypting")
            }
        };
        if loglevel >= 2 {
            msg_info!(
                "{}: {what} session ticket, key expiration: {}",
                namaddr(ssl),
                k.expires
            );
        }
        Some(TicketKeyUse {
            keys: k.keys,
            renew,
        })
    })
    .map_err(|e| TlsError::Setup(format!("cannot set the session ticket key callback: {e}")))
}

#[cfg(test)]
#[path = "tickets_tests.rs"]
pub(crate) mod tests;
