//! NAME
//!   params - TLS protocol, cipher and option parameters
//!
//! DESCRIPTION
//!   Parsers for the parameter syntaxes that both TLS sides share:
//!
//!   - protocol lists (`smtpd_tls_protocols`, `*_mandatory_protocols`,
//!     `protocols=` in a policy): names separated by space, comma or
//!     colon; `TLSv1.2` includes, `!SSLv3` excludes, `>=TLSv1.2` and
//!     `<=TLSv1.3` bound the range. An empty list allows every protocol
//!     OpenSSL allows. SSLv2 is accepted and ignored (OpenSSL has none).
//!   - cipher grades (`*_tls_ciphers`, `*_mandatory_ciphers`): `high`,
//!     `medium`, `low`, `export`, `null` select `tls_<grade>_cipherlist`;
//!     `*_exclude_ciphers` removes ciphers (`:!name` per name).
//!   - `tls_ssl_options`: OpenSSL option names or a hex mask.
//!   - the security levels of `smtpd_tls_security_level` and
//!     `smtp_tls_security_level`.
//!
//! DIAGNOSTICS
//!   Errors are strings ready for a log line, naming the bad value.
//!
//! SEE ALSO
//!   postconf(5), TLS_README.
use global::Config;
use openssl::ssl::{SslOptions, SslVersion};

/// Protocols Postern knows, lowest first.
const PROTOCOLS: [&str; 5] = ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

fn version(i: usize) -> SslVersion {
    [
        SslVersion::SSL3,
        SslVersion::TLS1,
        SslVersion::TLS1_1,
        SslVersion::TLS1_2,
        SslVersion::TLS1_3,
    ][i]
}

fn proto_index(name: &str) -> Option<usize> {
    PROTOCOLS.iter().position(|p| p.eq_ignore_ascii_case(name))
}

/// The outcome of a protocol list: the lowest and highest enabled
/// protocol, and options that switch off protocols inside that range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocols {
    /// Lowest allowed version (`None` = OpenSSL's lowest).
    pub min: Option<SslVersion>,
    /// Highest allowed version (`None` = OpenSSL's highest).
    pub max: Option<SslVersion>,
    /// `SSL_OP_NO_*` options for holes between min and max.
    pub disable: SslOptions,
}

/// Parse a protocol list. Errors: an unknown protocol name, or a list
/// that leaves no protocol enabled.
pub fn parse_protocols(spec: &str) -> Result<Protocols, String> {
    let bad = || format!("Invalid TLS protocol list: \"{spec}\"");
    let mut include = [false; 5];
    let mut any_include = false;
    let mut exclude = [false; 5];
    let (mut lo, mut hi) = (0usize, PROTOCOLS.len() - 1);
    for tok in spec.split([' ', ',', ':', '\t']) {
        if tok.is_empty() {
            continue;
        }
        let (op, name) = if let Some(n) = tok.strip_prefix(">=") {
            (">=", n)
        } else if let Some(n) = tok.strip_prefix("<=") {
            ("<=", n)
        } else if let Some(n) = tok.strip_prefix('!') {
            ("!", n)
        } else {
            ("", tok)
        };
        if name.eq_ignore_ascii_case("SSLv2") {
            continue;
        }
        let i = proto_index(name).ok_or_else(bad)?;
        match op {
            ">=" => lo = lo.max(i),
            "<=" => hi = hi.min(i),
            "!" => exclude[i] = true,
            _ => {
                include[i] = true;
                any_include = true;
            }
        }
    }
    let enabled: Vec<bool> = (0..PROTOCOLS.len())
        .map(|i| (!any_include || include[i]) && !exclude[i] && i >= lo && i <= hi)
        .collect();
    let first = enabled.iter().position(|e| *e).ok_or_else(bad)?;
    let last = enabled.iter().rposition(|e| *e).ok_or_else(bad)?;
    let mut disable = SslOptions::empty();
    for (i, on) in enabled.iter().enumerate().take(last).skip(first) {
        if !on {
            disable |= [
                SslOptions::NO_SSLV3,
                SslOptions::NO_TLSV1,
                SslOptions::NO_TLSV1_1,
                SslOptions::NO_TLSV1_2,
                SslOptions::NO_TLSV1_3,
            ][i];
        }
    }
    Ok(Protocols {
        min: (first > 0 || spec_mentions(spec)).then(|| version(first)),
        max: (last < PROTOCOLS.len() - 1).then(|| version(last)),
        disable,
    })
}

fn spec_mentions(spec: &str) -> bool {
    !spec.trim().is_empty()
}

/// The OpenSSL cipher list for grade `grade` with `exclude` (a list of
/// cipher names or classes) removed. `lists` gives the
/// `tls_<grade>_cipherlist` values. Errors: an unknown grade.
pub fn cipher_list(grade: &str, exclude: &str, lists: &CipherLists) -> Result<String, String> {
    let base = match grade.trim().to_ascii_lowercase().as_str() {
        "high" => &lists.high,
        "medium" => &lists.medium,
        "low" => &lists.low,
        "export" => &lists.export,
        "null" => &lists.null,
        _ => return Err(format!("invalid cipher grade: \"{grade}\"")),
    };
    let mut out = base.clone();
    for x in exclude.split([' ', ',', ':', '\t']) {
        if !x.is_empty() {
            out.push_str(":!");
            out.push_str(x);
        }
    }
    Ok(out)
}

/// The `tls_*_cipherlist` parameter values.
#[derive(Debug, Clone, Default)]
pub struct CipherLists {
    /// `tls_high_cipherlist`.
    pub high: String,
    /// `tls_medium_cipherlist`.
    pub medium: String,
    /// `tls_low_cipherlist`.
    pub low: String,
    /// `tls_export_cipherlist`.
    pub export: String,
    /// `tls_null_cipherlist`.
    pub null: String,
}

impl CipherLists {
    /// Read the five lists from `config`.
    pub fn from_config(config: &Config) -> CipherLists {
        let g = |n: &str| config.get(n).unwrap_or_default();
        CipherLists {
            high: g("tls_high_cipherlist"),
            medium: g("tls_medium_cipherlist"),
            low: g("tls_low_cipherlist"),
            export: g("tls_export_cipherlist"),
            null: g("tls_null_cipherlist"),
        }
    }
}

/// Parse `tls_ssl_options`: names (`NO_TICKET`, `NO_COMPRESSION`,
/// `ENABLE_MIDDLEBOX_COMPAT`, `NO_RENEGOTIATION`, `PRIORITIZE_CHACHA`,
/// `ALLOW_UNSAFE_LEGACY_RENEGOTIATION`) or `0x` hex masks. Errors: an
/// unknown name.
pub fn parse_ssl_options(spec: &str) -> Result<SslOptions, String> {
    let mut opts = SslOptions::empty();
    for tok in spec.split([' ', ',', '\t']) {
        if tok.is_empty() {
            continue;
        }
        if let Some(hex) = tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
            let bits = u64::from_str_radix(hex, 16)
                .map_err(|_| format!("invalid tls_ssl_options value: {tok}"))?;
            opts |= SslOptions::from_bits_retain(bits as _);
            continue;
        }
        opts |= match tok.to_ascii_uppercase().as_str() {
            "NO_TICKET" => SslOptions::NO_TICKET,
            "NO_COMPRESSION" => SslOptions::NO_COMPRESSION,
            "ENABLE_MIDDLEBOX_COMPAT" => SslOptions::ENABLE_MIDDLEBOX_COMPAT,
            "NO_RENEGOTIATION" => SslOptions::NO_RENEGOTIATION,
            "PRIORITIZE_CHACHA" => SslOptions::PRIORITIZE_CHACHA,
            "ALLOW_UNSAFE_LEGACY_RENEGOTIATION" => SslOptions::ALLOW_UNSAFE_LEGACY_RENEGOTIATION,
            _ => return Err(format!("unknown tls_ssl_options name: {tok}")),
        };
    }
    Ok(opts)
}

/// A TLS security level (`smtpd_tls_security_level`,
/// `smtp_tls_security_level`, a policy table's level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// No TLS.
    None,
    /// Opportunistic TLS.
    May,
    /// Mandatory encryption, no authentication.
    Encrypt,
    /// Certificate fingerprint must match (client).
    Fingerprint,
    /// Trusted chain and matching host name (client).
    Verify,
    /// Trusted chain and matching next-hop name (client).
    Secure,
    /// DANE (parsed, not supported yet).
    Dane,
    /// DANE only (parsed, not supported yet).
    DaneOnly,
}

impl SecurityLevel {
    /// Parse a level name (case-insensitive). Errors: an unknown name.
    pub fn parse(name: &str) -> Result<SecurityLevel, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "none" => SecurityLevel::None,
            "may" => SecurityLevel::May,
            "encrypt" => SecurityLevel::Encrypt,
            "fingerprint" => SecurityLevel::Fingerprint,
            "verify" => SecurityLevel::Verify,
            "secure" => SecurityLevel::Secure,
            "dane" => SecurityLevel::Dane,
            "dane-only" => SecurityLevel::DaneOnly,
            other => return Err(format!("invalid TLS security level: \"{other}\"")),
        })
    }

    /// The level's name as in main.cf.
    pub fn name(self) -> &'static str {
        match self {
            SecurityLevel::None => "none",
            SecurityLevel::May => "may",
            SecurityLevel::Encrypt => "encrypt",
            SecurityLevel::Fingerprint => "fingerprint",
            SecurityLevel::Verify => "verify",
            SecurityLevel::Secure => "secure",
            SecurityLevel::Dane => "dane",
            SecurityLevel::DaneOnly => "dane-only",
        }
    }

    /// Whether the level requires a trusted certificate chain.
    pub fn needs_trust(self) -> bool {
        matches!(self, SecurityLevel::Verify | SecurityLevel::Secure)
    }

    /// Whether the level requires the peer name (or fingerprint) to match.
    pub fn needs_match(self) -> bool {
        matches!(
            self,
            SecurityLevel::Verify | SecurityLevel::Secure | SecurityLevel::Fingerprint
        )
    }

    /// Whether TLS is mandatory (the `*_mandatory_*` parameters apply).
    pub fn is_mandatory(self) -> bool {
        self >= SecurityLevel::Encrypt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_ranges() {
        let p = parse_protocols(">=TLSv1.2").unwrap();
        assert_eq!(p.min, Some(SslVersion::TLS1_2));
        assert_eq!(p.max, None);
        assert!(p.disable.is_empty());
        let p = parse_protocols("!SSLv2, !SSLv3").unwrap();
        assert_eq!(p.min, Some(SslVersion::TLS1));
        assert_eq!(p.max, None);
        let p = parse_protocols("!SSLv2:!SSLv3:!TLSv1:!TLSv1.1").unwrap();
        assert_eq!(p.min, Some(SslVersion::TLS1_2));
        let p = parse_protocols("TLSv1.2").unwrap();
        assert_eq!(
            (p.min, p.max),
            (Some(SslVersion::TLS1_2), Some(SslVersion::TLS1_2))
        );
        let p = parse_protocols(">=TLSv1 <=TLSv1.2").unwrap();
        assert_eq!(
            (p.min, p.max),
            (Some(SslVersion::TLS1), Some(SslVersion::TLS1_2))
        );
        let p = parse_protocols(">=TLSv1 !TLSv1.2").unwrap();
        assert_eq!(p.min, Some(SslVersion::TLS1));
        assert!(p.disable.contains(SslOptions::NO_TLSV1_2));
        let p = parse_protocols("").unwrap();
        assert_eq!((p.min, p.max), (None, None));
    }

    #[test]
    fn bad_protocol_lists() {
        assert!(parse_protocols("TLSv9").unwrap_err().contains("TLSv9"));
        assert!(parse_protocols(">=TLSv1.3 <=TLSv1.2").is_err());
        assert!(parse_protocols("!SSLv3 !TLSv1 !TLSv1.1 !TLSv1.2 !TLSv1.3").is_err());
    }

    #[test]
    fn cipher_grades_and_exclusions() {
        let l = CipherLists {
            high: "HIGH".into(),
            medium: "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH".into(),
            ..Default::default()
        };
        assert_eq!(cipher_list("high", "", &l).unwrap(), "HIGH");
        assert_eq!(
            cipher_list("Medium", "aNULL, MD5 RC4", &l).unwrap(),
            "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH:!aNULL:!MD5:!RC4"
        );
        assert!(cipher_list("ultra", "", &l).unwrap_err().contains("ultra"));
    }

    #[test]
    fn ssl_options() {
        let o = parse_ssl_options("no_ticket, NO_COMPRESSION").unwrap();
        assert!(o.contains(SslOptions::NO_TICKET | SslOptions::NO_COMPRESSION));
        assert!(parse_ssl_options("0x4000")
            .unwrap()
            .contains(SslOptions::NO_TICKET));
        assert!(parse_ssl_options("").unwrap().is_empty());
        assert!(parse_ssl_options("BOGUS").unwrap_err().contains("BOGUS"));
    }

    #[test]
    fn levels() {
        assert_eq!(
            SecurityLevel::parse("Verify").unwrap(),
            SecurityLevel::Verify
        );
        assert_eq!(
            SecurityLevel::parse("dane-only").unwrap().name(),
            "dane-only"
        );
        assert!(SecurityLevel::parse("maybe").is_err());
        assert!(SecurityLevel::Secure.needs_trust() && SecurityLevel::Secure.needs_match());
        assert!(
            SecurityLevel::Fingerprint.needs_match() && !SecurityLevel::Fingerprint.needs_trust()
        );
        assert!(!SecurityLevel::May.is_mandatory() && SecurityLevel::Encrypt.is_mandatory());
    }
}
