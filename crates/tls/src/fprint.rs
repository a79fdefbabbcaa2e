//! NAME
//!   fprint - certificate and public-key fingerprints
//!
//! DESCRIPTION
//!   Fingerprints identify a peer certificate for `permit_tls_clientcerts`
//!   with `relay_clientcerts`, `check_ccert_access`, and the client's
//!   `fingerprint` security level. A fingerprint is a digest, shown as
//!   upper-case hex byte pairs joined by colons (`AA:BB:...`; TLS_CHANGES
//!   2000/05/17), of either the whole DER certificate or its DER
//!   SubjectPublicKeyInfo (the "public-key fingerprint", which survives
//!   certificate renewal with the same key). The digest is
//!   `*_tls_fingerprint_digest`: sha256 (the default), sha1 or md5;
//!   sha224, sha384 and sha512 are accepted too.
//!
//! SEE ALSO
//!   postconf(5) smtpd_tls_fingerprint_digest, smtp_tls_fingerprint_cert_match.
use openssl::hash::{hash, MessageDigest};
use openssl::x509::X509Ref;

/// A fingerprint digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// MD5 (legacy).
    Md5,
    /// SHA-1 (legacy).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256 (Postfix 3.6 and later default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// Parse a `*_tls_fingerprint_digest` value (case-insensitive).
    /// Errors: the name of an unsupported digest.
    pub fn parse(name: &str) -> Result<Digest, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "md5" => Digest::Md5,
            "sha1" => Digest::Sha1,
            "sha224" => Digest::Sha224,
            "sha256" => Digest::Sha256,
            "sha384" => Digest::Sha384,
            "sha512" => Digest::Sha512,
            other => return Err(format!("unsupported fingerprint digest algorithm: {other}")),
        })
    }

    fn md(self) -> MessageDigest {
        match self {
            Digest::Md5 => MessageDigest::md5(),
            Digest::Sha1 => MessageDigest::sha1(),
            Digest::Sha224 => MessageDigest::sha224(),
            Digest::Sha256 => MessageDigest::sha256(),
            Digest::Sha384 => MessageDigest::sha384(),
            Digest::Sha512 => MessageDigest::sha512(),
        }
    }

    /// The digest of `data` in `AA:BB:..` form.
    pub fn fingerprint(self, data: &[u8]) -> String {
        match hash(self.md(), data) {
            Ok(d) => format_hex_pairs(&d),
            Err(_) => String::new(),
        }
    }
}

/// `bytes` as upper-case hex pairs joined by `:`.
pub fn format_hex_pairs(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The certificate fingerprint (digest of the DER certificate), or an
/// empty string when the certificate cannot be encoded.
pub fn cert_fingerprint(cert: &X509Ref, digest: Digest) -> String {
    cert.to_der()
        .map(|d| digest.fingerprint(&d))
        .unwrap_or_default()
}

/// The public-key fingerprint (digest of the DER SubjectPublicKeyInfo).
pub fn pkey_fingerprint(cert: &X509Ref, digest: Digest) -> String {
    cert.public_key()
        .and_then(|k| k.public_key_to_der())
        .map(|d| digest.fingerprint(&d))
        .unwrap_or_default()
}

/// A fingerprint in canonical form for comparison: hex digits only,
/// upper case (so `aa:bb`, `AA:BB` and `AABB` compare equal).
pub fn canonical(fp: &str) -> String {
    fp.chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether one of `wanted` (fingerprints as an administrator wrote them)
/// equals the certificate or the public-key fingerprint.
pub fn matches_any(wanted: &[String], cert_fp: &str, pkey_fp: &str) -> bool {
    let c = canonical(cert_fp);
    let p = canonical(pkey_fp);
    wanted
        .iter()
        .map(|w| canonical(w))
        .any(|w| !w.is_empty() && (w == c || w == p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names() {
        assert_eq!(Digest::parse("SHA256").unwrap(), Digest::Sha256);
        assert_eq!(Digest::parse(" md5 ").unwrap(), Digest::Md5);
        assert_eq!(Digest::parse("sha1").unwrap(), Digest::Sha1);
        assert!(Digest::parse("crc32").unwrap_err().contains("crc32"));
    }

    #[test]
    fn hex_pair_form() {
        assert_eq!(format_hex_pairs(&[0xab, 0x01, 0xff]), "AB:01:FF");
        assert_eq!(format_hex_pairs(&[]), "");
        // Known digest values.
        assert_eq!(
            Digest::Md5.fingerprint(b""),
            "D4:1D:8C:D9:8F:00:B2:04:E9:80:09:98:EC:F8:42:7E"
        );
        assert_eq!(
            Digest::Sha1.fingerprint(b"abc"),
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
        let s = Digest::Sha256.fingerprint(b"abc");
        assert!(s.starts_with("BA:78:16:BF:8F:01:CF:EA"), "{s}");
        assert_eq!(s.len(), 32 * 3 - 1);
    }

    #[test]
    fn matching_is_case_and_colon_insensitive() {
        let want = vec!["ab:cd:ef".to_string()];
        assert!(matches_any(&want, "AB:CD:EF", "00:11"));
        assert!(matches_any(&want, "00:11", "ABCDEF"));
        assert!(!matches_any(&want, "AB:CD:EE", "00"));
        assert!(!matches_any(&["".to_string()], "", ""));
    }
}
