//! NAME
//!   certs - loading keys, certificates, CA lists and context settings
//!
//! DESCRIPTION
//!   Shared by both sides. [`load_chain_files`] reads
//!   `*_tls_chain_files`: PEM files holding, in order, a private key and
//!   its certificate chain (leaf first), possibly several keys (RSA and
//!   ECDSA at once). [`load_pair`] reads the older cert/key file pairs,
//!   where the certificate file may carry the chain after the leaf
//!   (TLS_CHANGES 2000/07/06). Every error names the file, as
//!   `cannot load RSA certificate and key data: /etc/x.pem: No such file
//!   or directory`.
//!
//!   [`apply_common`] sets what every context shares: protocols, cipher
//!   list, options, CA file and directory, verify depth.
use crate::engine::TlsError;
use crate::params::{self, CipherLists};
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslContextBuilder, SslFiletype, SslOptions};
use openssl::x509::store::X509Lookup;
use openssl::x509::X509;

/// One private key with its certificate chain (leaf first).
#[derive(Debug)]
pub struct KeyChain {
    /// The private key.
    pub key: PKey<Private>,
    /// Leaf certificate then the intermediates.
    pub chain: Vec<X509>,
}

fn read(file: &str, what: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(file).map_err(|e| {
        TlsError::Setup(format!(
            "cannot load {what} certificate and key data: {file}: {}",
            crate::strerror(&e)
        ))
    })
}

/// Split PEM text into `(label, block)` pairs.
fn pem_blocks(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in text.lines() {
        let l = line.trim_end();
        if let Some(label) = l
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        {
            cur = Some((label.to_string(), format!("{l}\n")));
        } else if let Some((label, mut body)) = cur.take() {
            body.push_str(l);
            body.push('\n');
            if l.starts_with("-----END ") {
                out.push((label, body.into_bytes()));
            } else {
                cur = Some((label, body));
            }
        }
    }
    out
}

fn group(
    file: &str,
    what: &str,
    blocks: Vec<(String, Vec<u8>)>,
) -> Result<Vec<KeyChain>, TlsError> {
    let bad = |why: String| {
        TlsError::Setup(format!(
            "cannot load {what} certificate and key data: {file}: {why}"
        ))
    };
    let mut out: Vec<KeyChain> = Vec::new();
    let mut pending_certs: Vec<X509> = Vec::new();
    for (label, block) in blocks {
        if label.ends_with("PRIVATE KEY") {
            let key = PKey::private_key_from_pem(&block).map_err(|e| bad(e.to_string()))?;
            out.push(KeyChain {
                key,
                chain: Vec::new(),
            });
        } else if label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" {
            let cert = X509::from_pem(&block).map_err(|e| bad(e.to_string()))?;
            match out.last_mut() {
                Some(kc) => kc.chain.push(cert),
                None => pending_certs.push(cert),
            }
        }
    }
    // Files that list the certificates before the key (cert file + key
    // file concatenated the other way round).
    if !pending_certs.is_empty() {
        match out.first_mut() {
            Some(kc) if kc.chain.is_empty() => kc.chain = pending_certs,
            _ => return Err(bad("certificate without a private key".into())),
        }
    }
    if out.is_empty() {
        return Err(bad("no private key found".into()));
    }
    for kc in &out {
        let Some(leaf) = kc.chain.first() else {
            return Err(bad("private key without a certificate".into()));
        };
        let pubkey = leaf.public_key().map_err(|e| bad(e.to_string()))?;
        if !kc.key.public_eq(&pubkey) {
            return Err(bad("the private key does not match the certificate".into()));
        }
    }
    Ok(out)
}

/// The key and certificate files of one side: `*_tls_chain_files`, or
/// the RSA pair `*_tls_cert_file`/`*_tls_key_file` and the ECDSA pair
/// `*_tls_eccert_file`/`*_tls_eckey_file` (a key file left empty means
/// the key is in the certificate file).
#[derive(Debug, Clone, Default)]
pub struct KeyFiles {
    /// `*_tls_chain_files`.
    pub chain_files: Vec<String>,
    /// `*_tls_cert_file`.
    pub cert_file: String,
    /// `*_tls_key_file`.
    pub key_file: String,
    /// `*_tls_eccert_file`.
    pub eccert_file: String,
    /// `*_tls_eckey_file`.
    pub eckey_file: String,
}

impl KeyFiles {
    /// Read the five parameters with prefix `prefix` (`smtpd`, `smtp`,
    /// `lmtp`). Errors: a parameter that cannot be read.
    pub fn from_config(config: &global::Config, prefix: &str) -> Result<KeyFiles, TlsError> {
        let se = |e: global::config::ConfigError| TlsError::Setup(e.to_string());
        let g = |n: &str| config.get(&format!("{prefix}_{n}")).map_err(se);
        Ok(KeyFiles {
            chain_files: config
                .get_list(&format!("{prefix}_tls_chain_files"))
                .map_err(se)?,
            cert_file: g("tls_cert_file")?,
            key_file: g("tls_key_file")?,
            eccert_file: g("tls_eccert_file")?,
            eckey_file: g("tls_eckey_file")?,
        })
    }

    /// Load what is configured: the chain files when set, else each pair
    /// that has a certificate file (none at all is an empty list).
    /// Errors name the file.
    pub fn load(&self) -> Result<Vec<KeyChain>, TlsError> {
        if !self.chain_files.is_empty() {
            return load_chain_files(&self.chain_files);
        }
        let mut keys = Vec::new();
        for (cert, key, what) in [
            (&self.cert_file, &self.key_file, "RSA"),
            (&self.eccert_file, &self.eckey_file, "ECDSA"),
        ] {
            if !cert.is_empty() {
                let key = if key.is_empty() { cert } else { key };
                keys.push(load_pair(cert, key, what)?);
            }
        }
        Ok(keys)
    }
}

/// Read `*_tls_chain_files`. Errors name the first bad file.
pub fn load_chain_files(files: &[String]) -> Result<Vec<KeyChain>, TlsError> {
    let mut blocks = Vec::new();
    for f in files {
        blocks.extend(pem_blocks(&read(f, "server")?));
    }
    group(&files.join(", "), "server", blocks)
}

/// Read a certificate file (leaf then chain) and its key file (which may
/// be the same file). `what` is `RSA` or `ECDSA`, for messages.
pub fn load_pair(cert_file: &str, key_file: &str, what: &str) -> Result<KeyChain, TlsError> {
    let mut blocks: Vec<(String, Vec<u8>)> = pem_blocks(&read(key_file, what)?)
        .into_iter()
        .filter(|(l, _)| l.ends_with("PRIVATE KEY"))
        .collect();
    blocks.extend(
        pem_blocks(&read(cert_file, what)?)
            .into_iter()
            .filter(|(l, _)| !l.ends_with("PRIVATE KEY")),
    );
    let mut v = group(cert_file, what, blocks)?;
    Ok(v.remove(0))
}

/// Install keys and chains into `b`. Chain certificates are added as the
/// context's extra chain (shared by all keys).
pub fn install(b: &mut SslContextBuilder, keys: Vec<KeyChain>) -> Result<(), TlsError> {
    let lib =
        |e: openssl::error::ErrorStack| TlsError::Setup(format!("cannot install certificate: {e}"));
    let mut extra = Vec::new();
    for kc in keys {
        let mut chain = kc.chain.into_iter();
        if let Some(leaf) = chain.next() {
            b.set_certificate(&leaf).map_err(lib)?;
            b.set_private_key(&kc.key).map_err(lib)?;
            b.check_private_key().map_err(lib)?;
        }
        extra.extend(chain);
    }
    for c in extra {
        b.add_extra_chain_cert(c).map_err(lib)?;
    }
    Ok(())
}

/// Settings common to every context.
#[derive(Debug, Clone, Default)]
pub struct Common {
    /// Protocol list.
    pub protocols: String,
    /// Cipher grade.
    pub cipher_grade: String,
    /// Excluded ciphers.
    pub exclude_ciphers: String,
    /// `tls_*_cipherlist`.
    pub lists: CipherLists,
    /// `tls_ssl_options`.
    pub ssl_options: String,
    /// CA file (may be empty).
    pub ca_file: String,
    /// CA directory (may be empty).
    pub ca_path: String,
    /// Certificate verify depth.
    pub verify_depth: u32,
    /// `tls_eecdh_auto_curves`.
    pub curves: Vec<String>,
}

/// Apply `c` to `b`. Errors: bad protocol list, cipher grade, options,
/// unreadable CA file or directory.
pub fn apply_common(b: &mut SslContextBuilder, c: &Common) -> Result<(), TlsError> {
    let p = params::parse_protocols(&c.protocols).map_err(TlsError::Setup)?;
    b.set_min_proto_version(p.min)
        .and_then(|_| b.set_max_proto_version(p.max))
        .map_err(|e| TlsError::Setup(format!("cannot set protocol range: {e}")))?;
    let opts = params::parse_ssl_options(&c.ssl_options).map_err(TlsError::Setup)?;
    b.set_options(SslOptions::NO_COMPRESSION | p.disable | opts);
    let list = params::cipher_list(&c.cipher_grade, &c.exclude_ciphers, &c.lists)
        .map_err(TlsError::Setup)?;
    b.set_cipher_list(&list)
        .map_err(|e| TlsError::Setup(format!("invalid cipher list: \"{list}\": {e}")))?;
    if !c.ca_file.is_empty() {
        b.set_ca_file(&c.ca_file).map_err(|e| {
            TlsError::Setup(format!(
                "cannot load Certification Authority data, CAfile=\"{}\": {e}",
                c.ca_file
            ))
        })?;
    }
    if !c.ca_path.is_empty() {
        b.cert_store_mut()
            .add_lookup(X509Lookup::hash_dir())
            .and_then(|l| l.add_dir(&c.ca_path, SslFiletype::PEM))
            .map_err(|e| {
                TlsError::Setup(format!(
                    "cannot load Certification Authority data, CApath=\"{}\": {e}",
                    c.ca_path
                ))
            })?;
    }
    b.set_verify_depth(c.verify_depth.saturating_add(1));
    if !c.curves.is_empty() {
        let all = c.curves.join(":");
        if b.set_groups_list(&all).is_err() {
            let ok: Vec<&str> = c
                .curves
                .iter()
                .map(String::as_str)
                .filter(|g| b.set_groups_list(g).is_ok())
                .collect();
            if !ok.is_empty() {
                let _ = b.set_groups_list(&ok.join(":"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_splitting() {
        let text = b"junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n\
-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nCC\n";
        let b = pem_blocks(text);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].0, "PRIVATE KEY");
        assert_eq!(b[1].0, "CERTIFICATE");
    }

    #[test]
    fn missing_files_are_named() {
        let e = load_pair("/nonexistent/x.pem", "/nonexistent/x.pem", "RSA").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot load RSA certificate and key data: /nonexistent/x.pem: No such file or directory"
        );
    }
}
