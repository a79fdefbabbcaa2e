//! NAME
//!   ccert - restrictions on the TLS client certificate
//!
//! DESCRIPTION
//!   Only a certificate that the client presented AND that verified
//!   against `smtpd_tls_CAfile`/`smtpd_tls_CApath` counts (TLS_CHANGES
//!   2000/11/29: a failed verification is never treated as verified,
//!   also not after resumption). Fingerprints use
//!   `smtpd_tls_fingerprint_digest` in `AA:BB:..` form.
//!
//!   - `permit_tls_all_clientcerts`: permit any verified certificate.
//!   - `permit_tls_clientcerts`: permit when the certificate fingerprint,
//!     or else the public-key fingerprint, is a key of
//!     `relay_clientcerts`.
//!   - `check_ccert_access type:table`: look the certificate fingerprint
//!     up, then the public-key fingerprint, and act on the access(5)
//!     result; rejections read `<CN>: Client certificate rejected: ...`.
//!
//! SEE ALSO
//!   postconf(5) permit_tls_clientcerts, relay_clientcerts.
use super::address::warn_dict;
use super::{Checks, Decision, Facts};
use maps::search::Found;
use maps::{DictError, Maps};
use util::msg_verbose;

/// The verified client certificate's TLS facts, if there is one.
pub(super) fn verified(f: &Facts) -> Option<&tls::TlsInfo> {
    f.tls
        .as_ref()
        .filter(|t| t.peer_cert_present && t.peer_trusted)
}

/// Look the certificate fingerprint, then the public-key fingerprint, up
/// in `m`. Errors: the table failed.
pub(super) fn find_prints(m: &Maps, t: &tls::TlsInfo) -> Result<Option<Found>, DictError> {
    for key in [&t.peer_cert_fprint, &t.peer_pkey_fprint] {
        if key.is_empty() {
            continue;
        }
        if let Some(value) = m.find(key, false)? {
            return Ok(Some(Found {
                value,
                key: key.clone(),
                extension: None,
            }));
        }
    }
    Ok(None)
}

impl Checks {
    /// `permit_tls_all_clientcerts`.
    pub(super) fn permit_all_clientcerts(f: &Facts) -> Decision {
        match verified(f) {
            Some(_) => Decision::Permit,
            None => Decision::Dunno,
        }
    }

    /// `permit_tls_clientcerts` with `relay_clientcerts`.
    pub(super) fn permit_clientcerts(&self, f: &Facts) -> Decision {
        let (Some(t), Some(m)) = (verified(f), self.relay_ccerts.as_ref()) else {
            return Decision::Dunno;
        };
        match find_prints(m, t) {
            Ok(Some(hit)) => {
                msg_verbose!("Relaying allowed for certified client: {}", hit.key);
                Decision::Permit
            }
            Ok(None) => Decision::Dunno,
            Err(e) => {
                warn_dict(&e);
                Decision::Dunno
            }
        }
    }
}
