//! NAME
//!   scache - the TLS session cache entry format
//!
//! DESCRIPTION
//!   A cached session travels between smtpd/smtp and tlsmgr as a *blob*
//!   and is stored by tlsmgr as an *entry*:
//!
//!   ```text
//!   blob  = version (u32 BE) | flags (u32 BE) | DER SSL_SESSION
//!   entry = hex( created (i64 BE, seconds since the epoch) | blob )
//!   ```
//!
//!   The version is [`FORMAT_VERSION`]; a blob of another version is
//!   discarded and deleted, never decoded (TLS_CHANGES 2000/03/07: bad
//!   session data must not reach OpenSSL). The flags record how the peer
//!   certificate fared when the session was made ([`FLAG_CERT_PRESENT`],
//!   [`FLAG_TRUSTED`], [`FLAG_MATCHED`]), so a resumed session is trusted
//!   exactly as the first was — OpenSSL does not re-verify on resumption
//!   (TLS_CHANGES 1999/11/07, 2000/11/29). An entry older than the cache
//!   timeout is expired. Entries larger than [`MAX_BLOB`] are not cached
//!   (TLS_CHANGES 2001/02/23).
//!
//!   Keys: the server cache is keyed by the session ID in lower-case hex
//!   (TLS_CHANGES 2000/03/11); the client cache by [`client_cache_id`],
//!   which names the next hop, the host and every policy input, so a
//!   session made under one policy or for one next hop is never offered
//!   under another.
//!
//! SEE ALSO
//!   tlsmgr(8), [`crate::mgr_client`].
use thiserror::Error;

/// Current blob format version.
pub const FORMAT_VERSION: u32 = 1;
/// The peer presented a certificate.
pub const FLAG_CERT_PRESENT: u32 = 1;
/// The peer certificate chain verified.
pub const FLAG_TRUSTED: u32 = 2;
/// The peer certificate matched the expected names or fingerprints.
pub const FLAG_MATCHED: u32 = 4;
/// Largest blob cached, in bytes.
pub const MAX_BLOB: usize = 16 * 1024;

/// A decoded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `FLAG_*` bits.
    pub flags: u32,
    /// The DER-encoded session.
    pub der: Vec<u8>,
}

/// Why a blob or entry was refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScacheError {
    /// Too short or not hex.
    #[error("malformed session cache entry")]
    Malformed,
    /// Written by another format version.
    #[error("session cache entry format version {0}, expected {FORMAT_VERSION}")]
    Version(u32),
}

/// Encode a blob of the current version.
pub fn encode_blob(flags: u32, der: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + der.len());
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(der);
    out
}

/// Decode a blob. Errors: too short, or another version.
pub fn decode_blob(blob: &[u8]) -> Result<Blob, ScacheError> {
    if blob.len() < 9 {
        return Err(ScacheError::Malformed);
    }
    let version = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
    if version != FORMAT_VERSION {
        return Err(ScacheError::Version(version));
    }
    Ok(Blob {
        flags: u32::from_be_bytes([blob[4], blob[5], blob[6], blob[7]]),
        der: blob[8..].to_vec(),
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() & 1 == 1 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The stored form of `blob` made at `created` (seconds since the epoch).
pub fn encode_entry(created: i64, blob: &[u8]) -> String {
    let mut raw = created.to_be_bytes().to_vec();
    raw.extend_from_slice(blob);
    hex(&raw)
}

/// Decode a stored entry into `(created, blob)`, checking the blob's
/// version. Errors: malformed, or another version.
pub fn decode_entry(text: &str) -> Result<(i64, Vec<u8>), ScacheError> {
    let raw = unhex(text).ok_or(ScacheError::Malformed)?;
    if raw.len() < 8 {
        return Err(ScacheError::Malformed);
    }
    let mut t = [0u8; 8];
    t.copy_from_slice(&raw[..8]);
    let blob = raw[8..].to_vec();
    decode_blob(&blob)?;
    Ok((i64::from_be_bytes(t), blob))
}

/// Whether an entry made at `created` has expired at `now` with cache
/// timeout `timeout` seconds. Entries from the future (clock changes)
/// count as expired too.
pub fn expired(created: i64, now: i64, timeout: i64) -> bool {
    created > now + 60 || now.saturating_sub(created) >= timeout
}

/// The inputs that make up a client cache key.
#[derive(Debug, Clone, Default)]
pub struct ClientKey<'a> {
    /// Next-hop destination (domain or `[host]:port`).
    pub nexthop: &'a str,
    /// Host name of the server.
    pub host: &'a str,
    /// Server address.
    pub addr: &'a str,
    /// Server port.
    pub port: u16,
    /// Security level name.
    pub level: &'a str,
    /// SNI name sent (empty: none).
    pub servername: &'a str,
    /// Expected names, as configured.
    pub matches: &'a [String],
    /// Expected fingerprints.
    pub fingerprints: &'a [String],
    /// Protocol list in effect.
    pub protocols: &'a str,
    /// Cipher list in effect.
    pub ciphers: &'a str,
    /// Anything else the caller wants in the key (client certificate, CA).
    pub extra: &'a str,
}

/// The client session cache key: `host[addr]:port&nexthop&` followed by
/// the SHA-256 of every policy input, so that any change of policy makes
/// a different key.
pub fn client_cache_id(k: &ClientKey<'_>) -> String {
    let mut policy = String::new();
    for part in [k.level, k.servername, k.protocols, k.ciphers, k.extra] {
        policy.push_str(part);
        policy.push('\0');
    }
    for m in k
        .matches
        .iter()
        .chain([String::new()].iter())
        .chain(k.fingerprints.iter())
    {
        policy.push_str(&m.to_ascii_lowercase());
        policy.push('\0');
    }
    let digest = openssl::sha::sha256(policy.as_bytes());
    format!(
        "{}[{}]:{}&{}&{}",
        k.host.to_ascii_lowercase(),
        k.addr,
        k.port,
        k.nexthop.to_ascii_lowercase(),
        hex(&digest[..16])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_and_entry_round_trip() {
        let b = encode_blob(FLAG_CERT_PRESENT | FLAG_TRUSTED, b"DER-bytes");
        let d = decode_blob(&b).unwrap();
        assert_eq!(d.flags, 3);
        assert_eq!(d.der, b"DER-bytes");
        let e = encode_entry(1_700_000_000, &b);
        assert!(e
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let (t, blob) = decode_entry(&e).unwrap();
        assert_eq!(t, 1_700_000_000);
        assert_eq!(blob, b);
    }

    #[test]
    fn other_format_versions_are_refused_2000_03_07() {
        let mut b = encode_blob(0, b"x");
        b[3] = 99;
        assert_eq!(decode_blob(&b), Err(ScacheError::Version(99)));
        let e = encode_entry(1, &b);
        assert_eq!(decode_entry(&e), Err(ScacheError::Version(99)));
        assert_eq!(decode_entry("zz"), Err(ScacheError::Malformed));
        assert_eq!(decode_entry("0011"), Err(ScacheError::Malformed));
        assert_eq!(decode_blob(b"short"), Err(ScacheError::Malformed));
    }

    #[test]
    fn expiry() {
        assert!(!expired(1000, 1000, 3600));
        assert!(!expired(1000, 4599, 3600));
        assert!(expired(1000, 4600, 3600));
        assert!(expired(10_000, 1000, 3600));
        assert!(expired(1000, 1000, 0));
    }

    #[test]
    fn verification_flags_survive_2000_11_29() {
        // A session whose certificate failed verification keeps saying so.
        let b = encode_blob(FLAG_CERT_PRESENT, b"s");
        let d = decode_blob(&b).unwrap();
        assert_eq!(d.flags & FLAG_TRUSTED, 0);
        assert_eq!(d.flags & FLAG_MATCHED, 0);
    }

    #[test]
    fn client_keys_differ_by_policy_and_nexthop() {
        let m = vec!["hostname".to_string()];
        let base = ClientKey {
            nexthop: "example.com",
            host: "mx.example.com",
            addr: "192.0.2.1",
            port: 25,
            level: "may",
            matches: &m,
            ..Default::default()
        };
        let a = client_cache_id(&base);
        assert!(
            a.starts_with("mx.example.com[192.0.2.1]:25&example.com&"),
            "{a}"
        );
        assert_eq!(a, client_cache_id(&base));
        let verify = ClientKey {
            level: "verify",
            ..base.clone()
        };
        assert_ne!(a, client_cache_id(&verify));
        let other_hop = ClientKey {
            nexthop: "example.net",
            ..base.clone()
        };
        assert_ne!(a, client_cache_id(&other_hop));
        let m2 = vec!["nexthop".to_string()];
        let other_match = ClientKey {
            matches: &m2,
            ..base.clone()
        };
        assert_ne!(a, client_cache_id(&other_match));
        let upper = ClientKey {
            host: "MX.EXAMPLE.COM",
            ..base
        };
        assert_eq!(a, client_cache_id(&upper));
    }
}
