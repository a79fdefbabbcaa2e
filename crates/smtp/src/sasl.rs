//! NAME
//!   sasl - SMTP AUTH in the SMTP client (authenticated relaying)
//!
//! DESCRIPTION
//!   With `smtp_sasl_auth_enable = yes` (`lmtp_...` for LMTP) the client
//!   authenticates after EHLO (and after STARTTLS, when the session uses
//!   TLS: the mechanism list is the one the server announced after the
//!   handshake, TLS_CHANGES 2002/05/24, in either the `AUTH mech` or the
//!   old `AUTH=mech` form, 2002/05/25) when `smtp_sasl_password_maps`
//!   has a `username:password` for the server. The keys tried, in order:
//!   the next hop as configured (`[smtp.example.com]:587`), the next-hop
//!   domain, the remote host name, and `[host]`.
//!
//!   Mechanisms, in order of preference: CRAM-MD5 (RFC 2195, with the
//!   RustCrypto hmac and md-5 crates), PLAIN (RFC 4616) and LOGIN. PLAIN
//!   and LOGIN send the password itself, so `smtp_sasl_security_options`
//!   (plain sessions) or `smtp_sasl_tls_security_options` (TLS sessions)
//!   must not contain `noplaintext` for them to be used; `nodictionary`
//!   excludes CRAM-MD5. `smtp_sasl_mechanism_filter` limits the server's
//!   list further.
//!
//!   Failures: no usable mechanism defers with `4.7.0 SASL
//!   authentication failed; cannot authenticate to server H: no
//!   mechanism available`; a refusal gives `SASL authentication failed;
//!   server H said: REPLY`, deferred (class 4) when
//!   `smtp_sasl_auth_soft_bounce = yes`, else with the server's status.
//!   A server that offers no AUTH is used without authentication.
//!
//! BUGS
//!   No SCRAM; `smtp_sasl_tls_verified_security_options` is not read
//!   (a verified TLS session uses `smtp_sasl_tls_security_options`).
use crate::params::Proto;
use crate::session::{Session, Stage};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use deliver::dsn::Dsn;
use global::Config;
use maps::{DictFlags, Maps};
use util::msg_warn;

/// The client SASL settings of one process.
#[derive(Default)]
pub struct SaslClient {
    /// `smtp_sasl_auth_enable`.
    pub enabled: bool,
    maps: Option<Maps>,
    filter: Vec<String>,
    plain_ok: bool,
    tls_plain_ok: bool,
    dict_ok: bool,
    tls_dict_ok: bool,
    soft_bounce: bool,
}

impl std::fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslClient")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Whether the security option list `opts` lacks `word`.
fn allows(opts: &str, word: &str) -> bool {
    !util::strings::split_list(opts)
        .iter()
        .any(|o| o.eq_ignore_ascii_case(word))
}

/// The CRAM-MD5 answer (RFC 2195) to the base64 `challenge`: `user`,
/// a space and the hex HMAC-MD5 of the challenge keyed with `pass`.
/// Errors: the challenge is not base64.
pub fn cram_md5(user: &str, pass: &str, challenge: &str) -> Result<String, String> {
    use hmac::{Hmac, Mac};
    let c = B64
        .decode(challenge.trim())
        .map_err(|e| format!("bad CRAM-MD5 challenge: {e}"))?;
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(pass.as_bytes())
        .map_err(|e| format!("CRAM-MD5 key: {e}"))?;
    mac.update(&c);
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(B64.encode(format!("{user} {digest}")))
}

impl SaslClient {
    /// Read `smtp_sasl_*` (or `lmtp_sasl_*`) and open the password
    /// maps (before chroot). A table that cannot be opened is logged and
    /// AUTH stays off.
    pub fn from_config(cfg: &Config, proto: Proto) -> SaslClient {
        let pre = proto.name();
        let get = |n: &str| cfg.get(&format!("{pre}_{n}")).unwrap_or_default();
        let enabled = cfg
            .get_bool(&format!("{pre}_sasl_auth_enable"))
            .unwrap_or(false);
        if !enabled {
            return SaslClient::default();
        }
        let mut dicts = Vec::new();
        for spec in util::strings::split_list(&get("sasl_password_maps")) {
            match maps::open(&spec, DictFlags::default()) {
                Ok(d) => dicts.push(d),
                Err(e) => {
                    msg_warn!("{pre}_sasl_password_maps: {spec}: {e}");
                    return SaslClient::default();
                }
            }
        }
        let title = format!("{pre}_sasl_password_maps");
        SaslClient {
            enabled,
            maps: (!dicts.is_empty()).then(|| Maps::from_dicts(&title, dicts)),
            filter: util::strings::split_list(&get("sasl_mechanism_filter"))
                .into_iter()
                .map(|m| m.to_ascii_uppercase())
                .collect(),
            plain_ok: allows(&get("sasl_security_options"), "noplaintext"),
            tls_plain_ok: allows(&get("sasl_tls_security_options"), "noplaintext"),
            dict_ok: allows(&get("sasl_security_options"), "nodictionary"),
            tls_dict_ok: allows(&get("sasl_tls_security_options"), "nodictionary"),
            soft_bounce: cfg
                .get_bool(&format!("{pre}_sasl_auth_soft_bounce"))
                .unwrap_or(true),
        }
    }

    /// The `user:password` for this server, if any.
    fn credentials(&self, keys: &[String]) -> Option<(String, String)> {
        let m = self.maps.as_ref()?;
        for k in keys {
            match m.find(k, false) {
                Ok(Some(v)) => {
                    let (u, p) = v.split_once(':').unwrap_or((v.as_str(), ""));
                    return Some((u.to_string(), p.to_string()));
                }
                Ok(None) => {}
                Err(e) => msg_warn!("{}: {e}", m.title()),
            }
        }
        None
    }

    /// Authenticate on `s` when enabled and a password is known.
    /// `nexthop` is the next hop as configured, `domain` its domain.
    /// Errors: the status for every recipient (see the module text).
    pub fn authenticate(
        &self,
        s: &mut Session,
        p: &crate::params::Params,
        nexthop: &str,
        domain: &str,
    ) -> Result<(), Dsn> {
        if !self.enabled || s.features.auth.is_empty() {
            return Ok(());
        }
        let mut keys = vec![nexthop.to_string(), domain.to_string(), s.host.clone()];
        keys.push(format!("[{}]", s.host));
        keys.dedup();
        let Some((user, pass)) = self.credentials(&keys) else {
            return Ok(());
        };
        let (plain_ok, dict_ok) = if s.tls_on {
            (self.tls_plain_ok, self.tls_dict_ok)
        } else {
            (self.plain_ok, self.dict_ok)
        };
        let usable = |m: &str| {
            let safe = if m == "CRAM-MD5" { dict_ok } else { plain_ok };
            safe && s.features.auth.iter().any(|a| a == m)
                && (self.filter.is_empty() || self.filter.iter().any(|f| f == m))
        };
        let mech = ["CRAM-MD5", "PLAIN", "LOGIN"]
            .into_iter()
            .find(|m| usable(m));
        let Some(mech) = mech else {
            return Err(s.remote(
                Dsn::new(
                    "4.7.0",
                    &format!(
                        "SASL authentication failed; cannot authenticate to server {}: no mechanism available",
                        s.namaddr()
                    ),
                ),
                None,
            ));
        };
        let t = p.timeouts.helo;
        let stage = Stage::Helo("AUTH");
        let exchange = |s: &mut Session, line: &str| {
            s.command(line, t)
                .and_then(|()| s.read_reply(t))
                .map_err(|e| s.io_failure(&e, stage))
        };
        let mut r = if mech == "PLAIN" {
            let ir = B64.encode(format!("\0{user}\0{pass}"));
            exchange(s, &format!("AUTH PLAIN {ir}"))?
        } else if mech == "CRAM-MD5" {
            let r = exchange(s, "AUTH CRAM-MD5")?;
            let challenge = r
                .lines
                .first()
                .map(|l| l.get(4..).unwrap_or(""))
                .unwrap_or("");
            match (r.code, cram_md5(&user, &pass, challenge)) {
                (334, Ok(answer)) => exchange(s, &answer)?,
                (334, Err(e)) => {
                    msg_warn!("{}: {e}", s.namaddr());
                    r
                }
                _ => r,
            }
        } else {
            let mut r = exchange(s, "AUTH LOGIN")?;
            for answer in [&user, &pass] {
                if r.code != 334 {
                    break;
                }
                r = exchange(s, &B64.encode(answer))?;
            }
            r
        };
        if r.code == 334 {
            // A challenge we cannot answer: end the exchange.
            r = exchange(s, "*")?;
        }
        if r.class() == 2 {
            return Ok(());
        }
        let text = format!(
            "SASL authentication failed; server {} said: {}",
            s.namaddr(),
            r.text()
        );
        let mut d = Dsn::with_status(r.status, &text);
        if self.soft_bounce && d.status.class == 5 {
            d.status = d.status.with_class(4);
        }
        s.broken = true;
        Err(s.remote(d, Some(&r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cram_md5_matches_rfc_2195() {
        // The example of RFC 2195 section 2.
        let challenge = B64.encode("<1896.697170952@postoffice.reston.mci.net>");
        let answer = cram_md5("tim", "tanstaaftanstaaf", &challenge).unwrap();
        assert_eq!(
            B64.decode(answer).unwrap(),
            b"tim b913a602c7eda7a495b4e6e7334d3890".to_vec()
        );
    }
}
