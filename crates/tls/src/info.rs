//! NAME
//!   info - what a TLS connection negotiated, for logs and headers
//!
//! DESCRIPTION
//!   [`TlsInfo`] is filled in once the handshake completes: protocol,
//!   cipher and its bits, the key exchange group, the signature algorithm
//!   and digest of each side, the peer certificate's names and
//!   fingerprints, and the verification outcome. A certificate counts as
//!   trusted only when one was presented AND its chain verified
//!   (TLS_CHANGES 2000/09/14). Names taken from certificates are
//!   sanitised so they can sit inside a `Received:` header comment
//!   (TLS_CHANGES 2000/10/27); an issuer without a CommonName is shown by
//!   its organisation (TLS_CHANGES 2001/08/27).
//!
//! SEE ALSO
//!   [`crate::log`] (the log lines and header comments made from it).
use crate::fprint::{self, Digest};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, PKeyRef};
use openssl::ssl::SslRef;
use openssl::x509::{X509NameRef, X509Ref};

/// The negotiated parameters and peer identity of one TLS connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`, ...
    pub protocol: String,
    /// OpenSSL's cipher name (`TLS_AES_256_GCM_SHA384`).
    pub cipher: String,
    /// Secret bits used by the cipher.
    pub cipher_usebits: i32,
    /// Bits of the cipher algorithm.
    pub cipher_algbits: i32,
    /// Key exchange: `X25519`, `ECDHE (P-256)`, `DHE (2048 bits)`.
    pub kex: Option<String>,
    /// Server signature: `RSA-PSS (2048 bits)`, `ECDSA (prime256v1)`.
    pub server_signature: Option<String>,
    /// Server signature digest: `SHA256`.
    pub server_digest: Option<String>,
    /// Client signature (when the client presented a certificate).
    pub client_signature: Option<String>,
    /// Client signature digest.
    pub client_digest: Option<String>,
    /// Whether the peer presented a certificate.
    pub peer_cert_present: bool,
    /// Presented AND its chain verified against the CA list.
    pub peer_trusted: bool,
    /// (client) The certificate names or fingerprint satisfied the policy.
    pub peer_matched: bool,
    /// Peer subject CommonName, sanitised ("" when none).
    pub peer_cn: String,
    /// Issuer CommonName (or organisation), sanitised.
    pub issuer_cn: String,
    /// Certificate fingerprint (`AA:BB:..`, per `*_tls_fingerprint_digest`).
    pub peer_cert_fprint: String,
    /// Public-key fingerprint.
    pub peer_pkey_fprint: String,
    /// Whether the session was resumed (ticket or cache).
    pub resumed: bool,
    /// (server) The name the client sent with SNI, if any.
    pub sni: Option<String>,
    /// The peer as `host[addr]` or `host[addr]:port`, for log lines.
    pub namaddr: String,
}

impl TlsInfo {
    /// `Anonymous`, `Untrusted`, `Trusted` or `Verified` (matched and
    /// trusted), as Postfix's summary line says.
    pub fn peer_status(&self) -> &'static str {
        if !self.peer_cert_present {
            "Anonymous"
        } else if self.peer_matched && self.peer_trusted {
            "Verified"
        } else if self.peer_trusted {
            "Trusted"
        } else {
            "Untrusted"
        }
    }
}

/// Make a certificate name safe inside a header comment, by Postfix's
/// rule (checked against Debian's Postfix 3.7 `Received:` headers):
/// every byte that is not printable ASCII, and every backslash, becomes
/// `?` (so `Jöhn` is `J??hn`); a `)` without a `(` before it becomes `?`;
/// and a `)` is added at the end for every `(` left open.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open = 0usize;
    for b in text.bytes() {
        match b {
            b'(' => {
                open += 1;
                out.push('(');
            }
            b')' if open > 0 => {
                open -= 1;
                out.push(')');
            }
            b')' | b'\\' => out.push('?'),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push('?'),
        }
    }
    out.extend(std::iter::repeat_n(')', open));
    out
}

fn name_entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    name.entries_by_nid(nid)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .filter(|s| !s.is_empty())
}

/// The sanitised subject CommonName of `cert` ("" when it has none).
pub fn subject_cn(cert: &X509Ref) -> String {
    sanitize(&name_entry(cert.subject_name(), Nid::COMMONNAME).unwrap_or_default())
}

/// The sanitised issuer CommonName, or the issuer organisation when the
/// issuer has no CN (TLS_CHANGES 2001/08/27).
pub fn issuer_cn(cert: &X509Ref) -> String {
    let n = cert.issuer_name();
    sanitize(
        &name_entry(n, Nid::COMMONNAME)
            .or_else(|| name_entry(n, Nid::ORGANIZATIONNAME))
            .unwrap_or_default(),
    )
}

/// The subjectAltName dNSName entries of `cert`.
pub fn dns_names(cert: &X509Ref) -> Vec<String> {
    cert.subject_alt_names()
        .map(|sans| {
            sans.iter()
                .filter_map(|g| g.dnsname().map(|s| s.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The raw (unsanitised) subject CN, for name matching.
pub fn raw_subject_cn(cert: &X509Ref) -> Option<String> {
    name_entry(cert.subject_name(), Nid::COMMONNAME)
}

fn nist_curve(nid: Nid) -> String {
    match nid {
        Nid::X9_62_PRIME256V1 => "P-256".to_string(),
        Nid::SECP384R1 => "P-384".to_string(),
        Nid::SECP521R1 => "P-521".to_string(),
        other => other.short_name().unwrap_or("unknown").to_string(),
    }
}

fn key_desc<T: openssl::pkey::HasPublic>(key: &PKeyRef<T>) -> Option<String> {
    match key.id() {
        Id::X25519 => Some("X25519".into()),
        Id::X448 => Some("X448".into()),
        Id::EC => key
            .ec_key()
            .ok()
            .and_then(|k| k.group().curve_name())
            .map(|n| format!("ECDHE ({})", nist_curve(n))),
        Id::DH => Some(format!("DHE ({} bits)", key.bits())),
        _ => None,
    }
}

/// A negotiated group as Postfix names the key exchange.
fn group_desc(nid: Nid) -> String {
    match nid.short_name().unwrap_or("") {
        "X25519" => "X25519".to_string(),
        "X448" => "X448".to_string(),
        n if n.starts_with("ffdhe") => format!("DHE ({} bits)", &n[5..]),
        _ => format!("ECDHE ({})", nist_curve(nid)),
    }
}

fn sig_desc(type_nid: Nid, key: Option<&PKeyRef<openssl::pkey::Public>>) -> String {
    let name = match type_nid {
        Nid::RSAENCRYPTION => "RSA".to_string(),
        Nid::RSASSAPSS => "RSA-PSS".to_string(),
        Nid::X9_62_ID_ECPUBLICKEY => "ECDSA".to_string(),
        Nid::DSA => "DSA".to_string(),
        n if n.as_raw() == Id::ED25519.as_raw() => "ED25519".to_string(),
        n if n.as_raw() == Id::ED448.as_raw() => "ED448".to_string(),
        other => other.short_name().unwrap_or("unknown").to_string(),
    };
    let detail = key.and_then(|k| match k.id() {
        Id::RSA | Id::RSA_PSS | Id::DSA => Some(format!(" ({} bits)", k.bits())),
        // Postfix names the signature key's curve by its OpenSSL short
        // name (`ECDSA (prime256v1)`), unlike the key exchange's group.
        Id::EC => k
            .ec_key()
            .ok()
            .and_then(|e| e.group().curve_name())
            .map(|n| format!(" ({})", n.short_name().unwrap_or("unknown"))),
        _ => None,
    });
    format!("{name}{}", detail.unwrap_or_default())
}

fn public_of(cert: Option<&X509Ref>) -> Option<PKey<openssl::pkey::Public>> {
    cert.and_then(|c| c.public_key().ok())
}

/// Collect the negotiated parameters of the established connection
/// `ssl`. `server` = we are the server. The peer certificate's names and
/// fingerprints are filled in when one was presented; the verification
/// fields are left for the caller.
pub fn collect(ssl: &SslRef, server: bool, digest: Digest, namaddr: &str) -> TlsInfo {
    let mut info = TlsInfo {
        protocol: ssl.version_str().to_string(),
        namaddr: namaddr.to_string(),
        resumed: ssl.session_reused(),
        ..TlsInfo::default()
    };
    if let Some(c) = ssl.current_cipher() {
        info.cipher = c.name().to_string();
        let b = c.bits();
        info.cipher_usebits = b.secret;
        info.cipher_algbits = b.algorithm;
    }
    info.kex = ssl
        .peer_tmp_key()
        .ok()
        .and_then(|k| key_desc(&k))
        .or_else(|| ssl.tmp_key().ok().and_then(|k| key_desc(&k)))
        .or_else(|| sys::tls::negotiated_group(ssl).map(group_desc));
    let ((peer_type, peer_dgst), (own_type, own_dgst)) = sys::tls::signature_nids(ssl);
    let peer = ssl.peer_certificate();
    let own_key = public_of(ssl.certificate());
    let peer_key = public_of(peer.as_deref());
    let dname = |n: Option<Nid>| n.and_then(|n| n.short_name().ok()).map(str::to_string);
    let (srv_type, srv_dgst, srv_key, cli_type, cli_dgst, cli_key) = if server {
        (own_type, own_dgst, own_key, peer_type, peer_dgst, peer_key)
    } else {
        (peer_type, peer_dgst, peer_key, own_type, own_dgst, own_key)
    };
    info.server_signature = srv_type.map(|t| sig_desc(t, srv_key.as_deref()));
    info.server_digest = dname(srv_dgst);
    info.client_signature = cli_type.map(|t| sig_desc(t, cli_key.as_deref()));
    info.client_digest = if info.client_signature.is_some() {
        dname(cli_dgst)
    } else {
        None
    };
    if server {
        info.sni = ssl
            .servername(openssl::ssl::NameType::HOST_NAME)
            .map(str::to_string);
    }
    if let Some(cert) = peer {
        info.peer_cert_present = true;
        info.peer_cn = subject_cn(&cert);
        info.issuer_cn = issuer_cn(&cert);
        info.peer_cert_fprint = fprint::cert_fingerprint(&cert, digest);
        info.peer_pkey_fprint = fprint::pkey_fingerprint(&cert, digest);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_keeps_comment_safe() {
        assert_eq!(sanitize("mx.example.com"), "mx.example.com");
        // Debian's Postfix 3.7 wrote these in its Received: headers.
        assert_eq!(sanitize("evil) (x\"y"), "evil? (x\"y)");
        assert_eq!(sanitize("Jöhn Dœ"), "J??hn D??");
        assert_eq!(sanitize("a\"b(c)d\\e"), "a\"b(c)d?e");
        assert_eq!(sanitize("x\r\ny\0"), "x??y?");
        assert_eq!(sanitize("((a)"), "((a))");
        assert_eq!(
            sanitize("RSA Data Security, Inc."),
            "RSA Data Security, Inc."
        );
    }

    #[test]
    fn status_words() {
        let mut i = TlsInfo::default();
        assert_eq!(i.peer_status(), "Anonymous");
        i.peer_cert_present = true;
        assert_eq!(i.peer_status(), "Untrusted");
        i.peer_matched = true;
        assert_eq!(i.peer_status(), "Untrusted");
        i.peer_trusted = true;
        assert_eq!(i.peer_status(), "Verified");
        i.peer_matched = false;
        assert_eq!(i.peer_status(), "Trusted");
    }
}
