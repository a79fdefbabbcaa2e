//! NAME
//!   tls_policy - which TLS the client uses for a next hop and server
//!
//! DESCRIPTION
//!   [`TlsClient::from_config`] reads the client's TLS parameters once per
//!   process (before chroot: the TLS context loads the CA and client
//!   certificate files) and [`TlsClient::policy`] decides, per next hop
//!   and server host, the [`Policy`] of one connection:
//!
//!   - the global level is `smtp_tls_security_level` when set; otherwise
//!     the obsolete switches decide: `smtp_enforce_tls = yes` gives
//!     `verify` (or, with `smtp_tls_enforce_peername = no`, `encrypt`
//!     with a trusted chain: see below), `smtp_use_tls = yes` gives
//!     `may`, else `none`;
//!   - `smtp_tls_policy_maps`: the key is the request's next hop as
//!     written (`example.com`, `[mx.example.com]:587`); a bare domain
//!     that is not found is looked up as `.parent`, `.grandparent`, ...
//!     (pattern tables only see the full key). The value is a level and
//!     attributes: `match=a:b` (names, strategies or fingerprints),
//!     `ciphers=`, `protocols=`, `exclude=`. A found entry replaces the
//!     global level; a malformed entry defers the mail (`4.7.5 client
//!     TLS configuration problem`) rather than weaken the policy;
//!   - `smtp_tls_per_site` (ignored with a warning when
//!     `smtp_tls_policy_maps` is set): `NONE`, `MAY`,
//!     `MUST_NOPEERMATCH` (encrypt with a trusted chain), `MUST` (verify), looked up by the
//!     next-hop domain and then by the server host name. Combining the
//!     two answers: NONE beats MAY or nothing, MAY beats nothing,
//!     the MUST forms beat anything weaker. A per-site answer replaces
//!     the global level, except that a per-site MAY does not weaken a
//!     stronger global level (TLS_CHANGES 2002/03/29: a NONE for the
//!     recipient domain switches TLS off, as one for the host does).
//!   - the two legacy ways of saying "TLS, any certificate name"
//!     (`MUST_NOPEERMATCH`, and `smtp_enforce_tls` with
//!     `smtp_tls_enforce_peername = no`) still require a chain that
//!     verifies against the CA list, as TLS_CHANGES 2000/11/26 records
//!     ("The server's certificate must still pass the verification
//!     process against a trusted CA!"): [`Policy::require_trust`]. Postfix
//!     2.3 and later map both to plain `encrypt`, which accepts any
//!     certificate; Postern keeps the recorded, stricter meaning.
//!   - `dane` and `dane-only` are parsed and refused: the mail is
//!     deferred with `4.7.5 TLS security level dane is not supported yet`
//!     (never silently downgraded).
//!
//!   Mandatory levels (encrypt and up) use `smtp_tls_mandatory_protocols`,
//!   `smtp_tls_mandatory_ciphers` and `smtp_tls_mandatory_exclude_ciphers`;
//!   `may` uses `smtp_tls_protocols`, `smtp_tls_ciphers` and
//!   `smtp_tls_exclude_ciphers` (the TLS context's defaults). Expected
//!   names: `smtp_tls_verify_cert_match` (verify),
//!   `smtp_tls_secure_cert_match` (secure), fingerprints from
//!   `smtp_tls_fingerprint_cert_match` (fingerprint), unless the policy
//!   entry has `match=`.
//!
//!   LMTP reads the `lmtp_tls_*` twins.
//!
//! SEE ALSO
//!   postconf(5) smtp_tls_security_level, smtp_tls_policy_maps,
//!   smtp_tls_per_site; TLS_README.
use crate::params::Proto;
use global::Config;
use maps::{DictFlags, Maps};
use std::sync::Arc;
use std::time::Duration;
use tls::{ClientContext, SecurityLevel, TlsClientParams};
use util::msg_warn;

/// The TLS policy of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The security level (never Dane here: see [`TlsClient::policy`]).
    pub level: SecurityLevel,
    /// Names/strategies (verify, secure) or fingerprints (fingerprint).
    pub matches: Vec<String>,
    /// Protocols for this connection (empty: the context's).
    pub protocols: String,
    /// Cipher grade (empty: the context's).
    pub ciphers: String,
    /// Extra excluded ciphers.
    pub exclude: String,
    /// Level `encrypt` from a legacy setting that also requires a trusted
    /// chain (`MUST_NOPEERMATCH`; TLS_CHANGES 2000/11/26).
    pub require_trust: bool,
}

/// The client's TLS parameters and context, one per process.
pub struct TlsClient {
    /// `smtp` or `lmtp`.
    pub prefix: &'static str,
    /// Global level (after the legacy switches); `None` = not usable.
    pub level: Result<SecurityLevel, String>,
    /// The global level is the legacy `smtp_enforce_tls` without peer
    /// name enforcement: encrypt with a trusted chain.
    pub legacy_trust: bool,
    policy_maps: Option<Maps>,
    per_site: Option<Maps>,
    verify_match: Vec<String>,
    secure_match: Vec<String>,
    fingerprint_match: Vec<String>,
    mandatory_protocols: String,
    mandatory_ciphers: String,
    mandatory_exclude: String,
    /// `smtp_tls_servername` (empty: no SNI).
    pub servername: String,
    /// `smtp_tls_note_starttls_offer`.
    pub note_starttls_offer: bool,
    /// `smtp_starttls_timeout`.
    pub starttls_timeout: Duration,
    /// `minimal_backoff_time`: a `may` handshake failure retries in plain
    /// text at once only for mail queued at least this long.
    pub min_backoff: Duration,
    /// The TLS context; `None` when it could not be made (a warning was
    /// logged, and every TLS level but none defers).
    pub ctx: Option<Arc<ClientContext>>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("level", &self.level)
            .field("policy_maps", &self.policy_maps.as_ref().map(Maps::title))
            .field("per_site", &self.per_site.as_ref().map(Maps::title))
            .finish_non_exhaustive()
    }
}

fn split_match(v: &str) -> Vec<String> {
    v.split(|c: char| c == ':' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl TlsClient {
    /// A client that never uses TLS (tests, and when nothing is set).
    pub fn disabled(prefix: &'static str) -> TlsClient {
        TlsClient {
            prefix,
            level: Ok(SecurityLevel::None),
            legacy_trust: false,
            policy_maps: None,
            per_site: None,
            verify_match: vec!["hostname".into()],
            secure_match: vec!["nexthop".into(), "dot-nexthop".into()],
            fingerprint_match: Vec::new(),
            mandatory_protocols: String::new(),
            mandatory_ciphers: String::new(),
            mandatory_exclude: String::new(),
            servername: String::new(),
            note_starttls_offer: false,
            starttls_timeout: Duration::from_secs(300),
            min_backoff: Duration::from_secs(300),
            ctx: None,
        }
    }

    /// Read the parameters of `proto` (see the module description). Bad
    /// values are logged; a level that cannot be honoured defers mail.
    pub fn from_config(cfg: &Config, proto: Proto) -> TlsClient {
        let prefix = proto.name();
        let get = |n: &str| {
            cfg.get(&format!("{prefix}_{n}")).unwrap_or_else(|e| {
                msg_warn!("{e}");
                String::new()
            })
        };
        let flag = |n: &str, d: bool| {
            cfg.get_bool(&format!("{prefix}_{n}")).unwrap_or_else(|e| {
                msg_warn!("{e}");
                d
            })
        };
        let mut c = TlsClient::disabled(prefix);
        let level_text = get("tls_security_level");
        c.level = if level_text.trim().is_empty() {
            Ok(if flag("enforce_tls", false) {
                if flag("tls_enforce_peername", true) {
                    SecurityLevel::Verify
                } else {
                    c.legacy_trust = true;
                    SecurityLevel::Encrypt
                }
            } else if flag("use_tls", false) {
                SecurityLevel::May
            } else {
                SecurityLevel::None
            })
        } else {
            SecurityLevel::parse(&level_text)
        };
        if let Err(e) = &c.level {
            msg_warn!("{prefix}_tls_security_level: {e}");
        }
        let open = |name: &str| -> Option<Maps> {
            let full = format!("{prefix}_{name}");
            let v = get(name);
            if v.trim().is_empty() {
                return None;
            }
            match Maps::open(&full, &v, DictFlags::default()) {
                Ok(m) => Some(m),
                Err(e) => {
                    msg_warn!("{full}: {e}");
                    // An unusable table must not weaken the policy: an
                    // empty list defers (see TlsClient::policy).
                    Some(Maps::from_dicts(&full, Vec::new()))
                }
            }
        };
        c.policy_maps = open("tls_policy_maps");
        c.per_site = open("tls_per_site");
        if c.policy_maps.is_some() && c.per_site.is_some() {
            msg_warn!("{prefix}_tls_per_site ignored when {prefix}_tls_policy_maps is not empty.");
            c.per_site = None;
        }
        c.verify_match = split_match(&get("tls_verify_cert_match"));
        c.secure_match = split_match(&get("tls_secure_cert_match"));
        c.fingerprint_match = util::strings::split_list(&get("tls_fingerprint_cert_match"));
        c.mandatory_protocols = get("tls_mandatory_protocols");
        c.mandatory_ciphers = get("tls_mandatory_ciphers");
        c.mandatory_exclude = get("tls_mandatory_exclude_ciphers");
        c.servername = get("tls_servername").trim().to_string();
        c.note_starttls_offer = flag("tls_note_starttls_offer", false);
        c.starttls_timeout = Duration::from_secs(
            cfg.get_time(&format!("{prefix}_starttls_timeout"))
                .unwrap_or(300),
        );
        c.min_backoff = Duration::from_secs(cfg.get_time("minimal_backoff_time").unwrap_or(300));
        let wanted = !matches!(c.level, Ok(SecurityLevel::None))
            || c.policy_maps.is_some()
            || c.per_site.is_some();
        if wanted {
            match TlsClientParams::from_config(cfg, prefix).and_then(|p| ClientContext::init(&p)) {
                Ok(ctx) => c.ctx = Some(Arc::new(ctx)),
                Err(e) => msg_warn!("cannot initialize the {prefix} TLS client engine: {e}"),
            }
        }
        c
    }

    /// The per-site level of `key`, combined into `site` (Postfix's
    /// rules, see the module description). Errors: an unknown value.
    fn per_site_lookup(
        &self,
        maps: &Maps,
        key: &str,
        site: &mut Option<SecurityLevel>,
    ) -> Result<(), String> {
        let v = maps
            .find(&key.to_ascii_lowercase(), false)
            .map_err(|e| e.to_string())?;
        let Some(v) = v else { return Ok(()) };
        let rank = |l: Option<SecurityLevel>| l.map_or(0, |l| l as u8 + 1);
        match v.trim().to_ascii_uppercase().as_str() {
            "NONE" if rank(*site) <= rank(Some(SecurityLevel::May)) => {
                *site = Some(SecurityLevel::None);
            }
            "NONE" => {}
            "MAY" if site.is_none() => *site = Some(SecurityLevel::May),
            "MAY" => {}
            "MUST_NOPEERMATCH" if rank(*site) < rank(Some(SecurityLevel::Encrypt)) => {
                *site = Some(SecurityLevel::Encrypt);
            }
            "MUST" if rank(*site) < rank(Some(SecurityLevel::Verify)) => {
                *site = Some(SecurityLevel::Verify);
            }
            "MUST_NOPEERMATCH" | "MUST" => {}
            other => {
                return Err(format!(
                    "{}: unknown TLS policy '{other}' for {key}",
                    maps.title()
                ))
            }
        }
        Ok(())
    }

    /// Look `nexthop` up in the policy table: the key itself, then for a
    /// bare domain each `.parent`. Errors: a table failure.
    fn policy_lookup(&self, maps: &Maps, nexthop: &str) -> Result<Option<String>, String> {
        let key = nexthop.to_ascii_lowercase();
        if let Some(v) = maps.find(&key, false).map_err(|e| e.to_string())? {
            return Ok(Some(v));
        }
        if key.starts_with('[') || key.contains(':') {
            return Ok(None);
        }
        let mut rest = key.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(v) = maps
                .find(&format!(".{parent}"), true)
                .map_err(|e| e.to_string())?
            {
                return Ok(Some(v));
            }
            rest = parent;
        }
        Ok(None)
    }

    /// The policy for a connection to server `host` for next hop
    /// `nexthop` (the request's text) whose domain is `nexthop_domain`.
    /// Errors: the deferral reason (a table failure, a malformed entry,
    /// an unsupported level).
    pub fn policy(
        &self,
        nexthop: &str,
        nexthop_domain: &str,
        host: &str,
    ) -> Result<Policy, String> {
        let global = self
            .level
            .clone()
            .map_err(|_| "client TLS configuration problem".to_string())?;
        let mut level = global;
        // Only the legacy settings make `encrypt` also need trust.
        let mut require_trust = self.legacy_trust;
        let mut attrs: Vec<(String, String)> = Vec::new();
        if let Some(m) = &self.policy_maps {
            if m.is_empty() {
                return Err("client TLS configuration problem".into());
            }
            let found = self.policy_lookup(m, nexthop).map_err(|e| {
                msg_warn!("{}: table lookup problem for {nexthop}: {e}", m.title());
                "client TLS configuration problem".to_string()
            })?;
            if let Some(v) = found {
                require_trust = false;
                let mut words = v.split_whitespace();
                let lv = words.next().unwrap_or("");
                level = SecurityLevel::parse(lv).map_err(|e| {
                    msg_warn!("{}: {e} for {nexthop}", m.title());
                    "client TLS configuration problem".to_string()
                })?;
                for w in words {
                    let Some((k, v)) = w.split_once('=') else {
                        msg_warn!("{}: malformed attribute '{w}' for {nexthop}", m.title());
                        return Err("client TLS configuration problem".into());
                    };
                    attrs.push((k.to_ascii_lowercase(), v.to_string()));
                }
            }
        } else if let Some(m) = &self.per_site {
            if m.is_empty() {
                return Err("client TLS configuration problem".into());
            }
            let mut site = None;
            let r = self
                .per_site_lookup(m, nexthop_domain, &mut site)
                .and_then(|_| {
                    if host.eq_ignore_ascii_case(nexthop_domain) {
                        Ok(())
                    } else {
                        self.per_site_lookup(m, host, &mut site)
                    }
                });
            if let Err(e) = r {
                msg_warn!("{e}");
                return Err("client TLS configuration problem".into());
            }
            if let Some(s) = site {
                if s == SecurityLevel::May && global > SecurityLevel::May {
                    level = global;
                } else {
                    level = s;
                    // Encrypt from the per-site table is MUST_NOPEERMATCH.
                    require_trust = s == SecurityLevel::Encrypt;
                }
            }
        }
        if matches!(level, SecurityLevel::Dane | SecurityLevel::DaneOnly) {
            msg_warn!(
                "TLS security level {} is not supported yet; deferring mail for {nexthop}",
                level.name()
            );
            return Err(format!(
                "TLS security level {} is not supported yet",
                level.name()
            ));
        }
        let mandatory = level.is_mandatory();
        let mut p = Policy {
            level,
            matches: match level {
                SecurityLevel::Verify => self.verify_match.clone(),
                SecurityLevel::Secure => self.secure_match.clone(),
                SecurityLevel::Fingerprint => self.fingerprint_match.clone(),
                _ => Vec::new(),
            },
            protocols: if mandatory {
                self.mandatory_protocols.clone()
            } else {
                String::new()
            },
            ciphers: if mandatory {
                self.mandatory_ciphers.clone()
            } else {
                String::new()
            },
            exclude: if mandatory {
                self.mandatory_exclude.clone()
            } else {
                String::new()
            },
            require_trust: require_trust && level == SecurityLevel::Encrypt,
        };
        let mut replaced = false;
        for (k, v) in attrs {
            match k.as_str() {
                "match" => {
                    if !replaced {
                        p.matches.clear();
                        replaced = true;
                    }
                    if level == SecurityLevel::Fingerprint {
                        p.matches.extend(v.split('|').map(str::to_string));
                    } else {
                        p.matches.extend(split_match(&v));
                    }
                }
                "ciphers" => p.ciphers = v,
                "protocols" => p.protocols = v.replace(':', " "),
                "exclude" => p.exclude = v.replace(':', " "),
                other => {
                    msg_warn!("unknown TLS policy attribute '{other}' for {nexthop}");
                    return Err("client TLS configuration problem".into());
                }
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests;
