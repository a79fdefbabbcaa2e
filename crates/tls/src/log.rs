//! NAME
//!   log - Postfix's TLS log lines and Received: header comments
//!
//! DESCRIPTION
//!   Formatting functions shared by smtpd and smtp, so both log exactly as
//!   Postfix 3.7 does (log tools such as pflogsumm parse these lines).
//!   `*_tls_loglevel` decides what is logged:
//!
//!   - 0: nothing but failures;
//!   - 1: the summary line (`Anonymous|Untrusted|Trusted|Verified TLS
//!     connection established from host[ip]: ...`);
//!   - 2: also `setting up TLS connection from/to`, the cipher list, the
//!     peer certificate's subject, issuer and fingerprints, session cache
//!     activity (`Reusing old session`);
//!   - 3, 4: also the handshake state and packets (Postern logs the
//!     handshake states it can observe, no packet dumps).
//!
//!   Failures are logged at every level: `SSL_accept error from
//!   host[ip]: reason` (server) and `SSL_connect error to host[ip]:port:
//!   reason` (client), followed by one `warning: TLS library problem:`
//!   line per OpenSSL error.
//!
//! SEE ALSO
//!   postconf(5) smtpd_tls_loglevel, smtp_tls_loglevel,
//!   smtpd_tls_received_header.
use crate::info::TlsInfo;
use util::{msg_info, msg_warn};

/// `setting up TLS connection from host[ip]` (server) or `to host[ip]:port`
/// (client); logged at loglevel 2 and up.
pub fn setting_up(server: bool, namaddr: &str) -> String {
    format!(
        "setting up TLS connection {} {namaddr}",
        if server { "from" } else { "to" }
    )
}

/// The key exchange and signature details, with a leading space, as they
/// follow the cipher in the summary line (` key-exchange X25519
/// server-signature RSA-PSS (2048 bits) server-digest SHA256`).
pub fn details(info: &TlsInfo) -> String {
    let mut out = String::new();
    if let Some(k) = &info.kex {
        out.push_str(&format!(" key-exchange {k}"));
    }
    if let Some(s) = &info.server_signature {
        out.push_str(&format!(" server-signature {s}"));
    }
    if let Some(d) = &info.server_digest {
        out.push_str(&format!(" server-digest {d}"));
    }
    if let Some(s) = &info.client_signature {
        out.push_str(&format!(" client-signature {s}"));
        if let Some(d) = &info.client_digest {
            out.push_str(&format!(" client-digest {d}"));
        }
    }
    out
}

/// The summary line: `Trusted TLS connection established from
/// host[ip]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
/// key-exchange X25519 ...` (`established to host[ip]:port` on the
/// client side).
pub fn summary(server: bool, info: &TlsInfo) -> String {
    format!(
        "{} TLS connection established {} {}: {} with cipher {} ({}/{} bits){}",
        info.peer_status(),
        if server { "from" } else { "to" },
        info.namaddr,
        info.protocol,
        info.cipher,
        info.cipher_usebits,
        info.cipher_algbits,
        details(info)
    )
}

/// The peer certificate line logged at level 2: server side
/// `host[ip]: subject_CN=.., issuer=.., fingerprint=.., pkey_fingerprint=..`,
/// client side with `issuer_CN=`.
pub fn peer_cert(server: bool, info: &TlsInfo) -> String {
    format!(
        "{}: subject_CN={}, {}={}, fingerprint={}, pkey_fingerprint={}",
        info.namaddr,
        info.peer_cn,
        if server { "issuer" } else { "issuer_CN" },
        info.issuer_cn,
        info.peer_cert_fprint,
        info.peer_pkey_fprint
    )
}

/// The handshake failure line: `SSL_accept error from host[ip]: reason`
/// or `SSL_connect error to host[ip]:port: reason`.
pub fn handshake_error(server: bool, namaddr: &str, reason: &str) -> String {
    if server {
        format!("SSL_accept error from {namaddr}: {reason}")
    } else {
        format!("SSL_connect error to {namaddr}: {reason}")
    }
}

/// The first comment of the `Received:` header, without the leading tab:
/// `(using TLSv1.3 with cipher X (256/256 bits)` and, when known, a
/// continuation line `\n\t key-exchange ...`, then `)`.
pub fn received_using(info: &TlsInfo) -> String {
    let d = details(info);
    let mut out = format!(
        "(using {} with cipher {} ({}/{} bits)",
        info.protocol, info.cipher, info.cipher_usebits, info.cipher_algbits
    );
    if !d.is_empty() {
        out.push_str("\n\t");
        out.push_str(&d);
    }
    out.push(')');
    out
}

/// The client-certificate comment of the `Received:` header: `(No client
/// certificate requested)`, `(Client did not present a certificate)`, or
/// `(Client CN "cn", Issuer "issuer" (verified OK|not verified))`.
/// `requested` = smtpd asked for a client certificate.
pub fn received_client_cert(info: &TlsInfo, requested: bool) -> String {
    if !requested {
        "(No client certificate requested)".to_string()
    } else if !info.peer_cert_present {
        "(Client did not present a certificate)".to_string()
    } else {
        format!(
            "(Client CN \"{}\", Issuer \"{}\" ({}))",
            info.peer_cn,
            info.issuer_cn,
            if info.peer_trusted {
                "verified OK"
            } else {
                "not verified"
            }
        )
    }
}

/// Log everything about an established connection at `loglevel`: the
/// peer certificate line (2+) and the summary (1+).
pub fn established(server: bool, loglevel: u32, info: &TlsInfo) {
    if loglevel >= 2 && info.peer_cert_present {
        msg_info!("{}", peer_cert(server, info));
    }
    if loglevel >= 1 {
        msg_info!("{}", summary(server, info));
    }
}

/// Log a handshake failure: the error line and one `TLS library
/// problem` warning per OpenSSL error.
pub fn failed(server: bool, namaddr: &str, reason: &str, library: &[String]) {
    msg_info!("{}", handshake_error(server, namaddr, reason));
    for l in library {
        msg_warn!("TLS library problem: {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TlsInfo {
        TlsInfo {
            protocol: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
            cipher_usebits: 256,
            cipher_algbits: 256,
            kex: Some("X25519".into()),
            server_signature: Some("RSA-PSS (2048 bits)".into()),
            server_digest: Some("SHA256".into()),
            namaddr: "client.example[192.0.2.10]".into(),
            ..TlsInfo::default()
        }
    }

    #[test]
    fn summary_lines() {
        let i = sample();
        assert_eq!(
            summary(true, &i),
            "Anonymous TLS connection established from client.example[192.0.2.10]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"
        );
        let mut c = i.clone();
        c.namaddr = "mx.example.org[192.0.2.1]:25".into();
        c.peer_cert_present = true;
        c.peer_trusted = true;
        c.peer_matched = true;
        assert!(summary(false, &c).starts_with(
            "Verified TLS connection established to mx.example.org[192.0.2.1]:25: TLSv1.3 with cipher"
        ));
        c.client_signature = Some("ECDSA (prime256v1)".into());
        c.client_digest = Some("SHA256".into());
        assert!(summary(false, &c)
            .ends_with(" client-signature ECDSA (prime256v1) client-digest SHA256"));
        assert_eq!(
            setting_up(true, "h[1.2.3.4]"),
            "setting up TLS connection from h[1.2.3.4]"
        );
        assert_eq!(
            setting_up(false, "h[1.2.3.4]:25"),
            "setting up TLS connection to h[1.2.3.4]:25"
        );
        assert_eq!(
            handshake_error(true, "h[1.2.3.4]", "lost connection"),
            "SSL_accept error from h[1.2.3.4]: lost connection"
        );
        assert_eq!(
            handshake_error(false, "h[1.2.3.4]:25", "-1"),
            "SSL_connect error to h[1.2.3.4]:25: -1"
        );
    }

    #[test]
    fn received_comments() {
        let mut i = sample();
        assert_eq!(
            received_using(&i),
            "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)"
        );
        assert_eq!(
            received_client_cert(&i, false),
            "(No client certificate requested)"
        );
        assert_eq!(
            received_client_cert(&i, true),
            "(Client did not present a certificate)"
        );
        i.peer_cert_present = true;
        i.peer_cn = "client.example".into();
        i.issuer_cn = "Example CA".into();
        assert_eq!(
            received_client_cert(&i, true),
            "(Client CN \"client.example\", Issuer \"Example CA\" (not verified))"
        );
        i.peer_trusted = true;
        assert!(received_client_cert(&i, true).ends_with("(verified OK))"));
        let bare = TlsInfo {
            protocol: "TLSv1.2".into(),
            cipher: "X".into(),
            ..TlsInfo::default()
        };
        assert_eq!(
            received_using(&bare),
            "(using TLSv1.2 with cipher X (0/0 bits))"
        );
        i.peer_pkey_fprint = "AA".into();
        i.peer_cert_fprint = "BB".into();
        assert_eq!(
            peer_cert(true, &i),
            "client.example[192.0.2.10]: subject_CN=client.example, issuer=Example CA, fingerprint=BB, pkey_fingerprint=AA"
        );
    }
}
