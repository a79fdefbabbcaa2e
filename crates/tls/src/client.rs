//! NAME
//!   client - the client side of the TLS engine (smtp, lmtp)
//!
//! SYNOPSIS
//!   let ctx = ClientContext::init(&TlsClientParams::from_config(&config, "smtp")?)?;
//!   let tls = client_start(&ctx, stream, &ClientStartProps { .. })?;
//!
//! DESCRIPTION
//!   [`ClientContext::init`] runs once per process (before chroot: the
//!   optional client certificate key may be root-only). It loads the
//!   client certificate (`*_tls_chain_files`, or `*_tls_cert_file` /
//!   `*_tls_key_file`, `*_tls_eccert_file` / `*_tls_eckey_file`), the CA
//!   file and directory, and the verify depth (`*_tls_scert_verifydepth`).
//!
//!   [`client_start`] applies the per-connection policy (protocols,
//!   ciphers, SNI, security level, expected names or fingerprints),
//!   offers a cached session for the same next hop, host and policy, and
//!   runs the handshake with one deadline (`*_starttls_timeout`).
//!
//!   Verification happens INSIDE the handshake (TLS_CHANGES 2001/01/05):
//!   the verify callback records whether the chain is trusted and, at the
//!   leaf, whether its names (subjectAltName dNSName first, CN only
//!   without dNSName; [`crate::names`]) or fingerprints match; when the
//!   level requires what is missing, it fails the handshake, so no
//!   session is ever made — or cached — for a peer that failed. A cached
//!   session carries the verification flags it was made with; a resumed
//!   session is trusted exactly as the first was (TLS_CHANGES
//!   2000/11/29), and an entry that fails the current policy is deleted.
//!   Sessions are saved to tlsmgr when OpenSSL reports them (TLS 1.3
//!   tickets arrive after the handshake) and removed when a handshake
//!   fails (TLS_CHANGES 2000/12/04).
//!
//! SEE ALSO
//!   [`crate::engine`], [`crate::names`], [`crate::scache`].
use crate::certs::{self, Common};
use crate::engine::{TlsError, TlsStream, Transport};
use crate::fprint::{self, Digest};
use crate::mgr_client::MgrClient;
use crate::params::{self, CipherLists, SecurityLevel};
use crate::{info, log, names, scache};
use global::Config;
use openssl::ex_data::Index;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslSession, SslSessionCacheMode, SslVerifyMode,
};
use openssl::x509::X509VerifyResult;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::msg_info;

/// What the client engine reads from main.cf.
#[derive(Debug, Clone, Default)]
pub struct TlsClientParams {
    /// `smtp` or `lmtp` (also the session cache type).
    pub prefix: String,
    /// The client certificate files (none: no client certificate).
    pub keys: certs::KeyFiles,
    /// CA file, CA directory, verify depth, curves, options; protocols
    /// and ciphers here are the defaults, a connection may override them.
    pub common: Common,
    /// `*_tls_fingerprint_digest`.
    pub digest: Option<Digest>,
    /// `*_tls_loglevel`.
    pub loglevel: u32,
    /// `*_tls_session_cache_timeout`, seconds.
    pub cache_timeout: u64,
    /// `*_tls_session_cache_database` (empty: no client session cache).
    pub cache_database: String,
    /// The tlsmgr socket (`private/tlsmgr`).
    pub tlsmgr_socket: String,
    /// `tls_daemon_random_bytes` (see [`crate::server::seed_from_tlsmgr`]).
    pub daemon_random_bytes: usize,
    /// `tls_fast_shutdown_enable = no`: wait for the server's close_notify.
    pub wait_close_notify: bool,
}

impl TlsClientParams {
    /// Read the client parameters with prefix `prefix` (`smtp`, `lmtp`).
    /// Errors: an unparsable parameter.
    pub fn from_config(config: &Config, prefix: &str) -> Result<TlsClientParams, TlsError> {
        let se = |e: global::config::ConfigError| TlsError::Setup(e.to_string());
        let g = |n: &str| config.get(&format!("{prefix}_{n}")).map_err(se);
        Ok(TlsClientParams {
            prefix: prefix.to_string(),
            keys: certs::KeyFiles::from_config(config, prefix)?,
            common: Common {
                protocols: g("tls_protocols")?,
                cipher_grade: g("tls_ciphers")?,
                exclude_ciphers: g("tls_exclude_ciphers")?,
                lists: CipherLists::from_config(config),
                ssl_options: config.get("tls_ssl_options").map_err(se)?,
                ca_file: g("tls_CAfile")?,
                ca_path: g("tls_CApath")?,
                verify_depth: u32::try_from(
                    config
                        .get_int(&format!("{prefix}_tls_scert_verifydepth"))
                        .map_err(se)?,
                )
                .unwrap_or(9),
                curves: util::strings::split_list(
                    &config.get("tls_eecdh_auto_curves").map_err(se)?,
                ),
            },
            digest: Some(Digest::parse(&g("tls_fingerprint_digest")?).map_err(TlsError::Setup)?),
            loglevel: u32::try_from(
                config
                    .get_int(&format!("{prefix}_tls_loglevel"))
                    .map_err(se)?,
            )
            .unwrap_or(0),
            cache_timeout: config
                .get_time(&format!("{prefix}_tls_session_cache_timeout"))
                .map_err(se)?,
            cache_database: g("tls_session_cache_database")?,
            tlsmgr_socket: "private/tlsmgr".to_string(),
            daemon_random_bytes: config
                .get_int("tls_daemon_random_bytes")
                .map_err(se)?
                .clamp(0, crate::server::MAX_SEED_BYTES) as usize,
            wait_close_notify: !config.get_bool("tls_fast_shutdown_enable").map_err(se)?,
        })
    }
}

/// Per-connection state shared with OpenSSL's callbacks.
#[derive(Debug, Default)]
struct ConnState {
    cache_id: String,
    flags: u32,
}

/// A client TLS context, made once per process.
pub struct ClientContext {
    ctx: SslContext,
    params: TlsClientParams,
    mgr: Option<Arc<MgrClient>>,
    index: Index<Ssl, Arc<Mutex<ConnState>>>,
}

impl ClientContext {
    /// Build the client context. Errors: [`TlsError::Setup`] naming the
    /// file or parameter.
    pub fn init(params: &TlsClientParams) -> Result<ClientContext, TlsError> {
        let mut b = SslContextBuilder::new(SslMethod::tls_client())
            .map_err(|e| TlsError::Setup(format!("cannot create the client TLS context: {e}")))?;
        crate::server::seed_from_tlsmgr(&params.tlsmgr_socket, params.daemon_random_bytes);
        certs::apply_common(&mut b, &params.common)?;
        let keys = params.keys.load()?;
        certs::install(&mut b, keys)?;
        let index = Ssl::new_ex_index::<Arc<Mutex<ConnState>>>()
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        let mgr = (!params.cache_database.is_empty()
            && params.cache_timeout > 0
            && !params.tlsmgr_socket.is_empty())
        .then(|| Arc::new(MgrClient::new(&params.tlsmgr_socket)));
        if let Some(m) = &mgr {
            b.set_session_cache_mode(
                SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL,
            );
            let (m, t, lvl) = (Arc::clone(m), params.prefix.clone(), params.loglevel);
            b.set_new_session_callback(move |ssl, session| {
                let Some(st) = ssl.ex_data(index) else { return };
                let st = st.lock().unwrap_or_else(|p| p.into_inner());
                if st.cache_id.is_empty() {
                    return;
                }
                if let Ok(der) = session.to_der() {
                    if der.len() <= scache::MAX_BLOB
                        && m.update(&t, &st.cache_id, &scache::encode_blob(st.flags, &der))
                        && lvl >= 2
                    {
                        msg_info!("save session {} to {t} cache", st.cache_id);
                    }
                }
            });
        } else {
            b.set_session_cache_mode(SslSessionCacheMode::OFF);
        }
        Ok(ClientContext {
            ctx: b.build(),
            params: params.clone(),
            mgr,
            index,
        })
    }

    /// The parameters this context was made from.
    pub fn params(&self) -> &TlsClientParams {
        &self.params
    }
}

impl std::fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientContext")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Per-connection policy of [`client_start`].
#[derive(Debug, Clone, Default)]
pub struct ClientStartProps {
    /// The server as `host[addr]:port`, for log lines.
    pub namaddr: String,
    /// Next-hop destination (domain, or `[host]:port`).
    pub nexthop: String,
    /// Server host name (the MX name).
    pub host: String,
    /// Server address.
    pub addr: String,
    /// Server port.
    pub port: u16,
    /// SNI name to send (`None`: none).
    pub servername: Option<String>,
    /// Security level (may, encrypt, fingerprint, verify, secure).
    pub level: Option<SecurityLevel>,
    /// Name match strategies and names (`hostname`, `nexthop`,
    /// `dot-nexthop`, literal names).
    pub matches: Vec<String>,
    /// Fingerprints for level `fingerprint`.
    pub fingerprints: Vec<String>,
    /// Protocol list for this connection (empty: the context's).
    pub protocols: String,
    /// Cipher grade for this connection (empty: the context's).
    pub cipher_grade: String,
    /// Excluded ciphers for this connection.
    pub exclude_ciphers: String,
    /// Handshake deadline (`*_starttls_timeout`).
    pub timeout: Duration,
    /// Also require a trusted chain at a level that does not
    /// (`encrypt` from the legacy `MUST_NOPEERMATCH`, TLS_CHANGES
    /// 2000/11/26: the name need not match, the chain must verify).
    pub require_trust: bool,
}

#[derive(Debug, Default)]
struct Verify {
    chain_failed: bool,
    first_error: Option<String>,
    matched: bool,
    policy_failure: Option<String>,
}

/// The reason Postfix gives for an untrusted chain.
fn chain_reason(code: X509VerifyResult, issuer: Option<String>) -> String {
    match code.as_raw() {
        2 | 19 | 20 => format!("untrusted issuer {}", issuer.unwrap_or_default()),
        18 => "self-signed certificate".to_string(),
        9 => "certificate not yet valid".to_string(),
        10 => "certificate has expired".to_string(),
        n => format!("num={n}:{}", code.error_string()),
    }
}

fn oneline(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            format!(
                "/{}={}",
                e.object().nid().short_name().unwrap_or("?"),
                e.data().to_string().unwrap_or_default()
            )
        })
        .collect()
}

/// Run the client handshake on `stream` with `props`. On success the
/// TLS stream, with [`crate::info::TlsInfo`] filled in (a resumed
/// session carries the verification result it was made with) and logged
/// per `*_tls_loglevel`. Errors: [`TlsError::Policy`] when the
/// certificate fails the level (`certificate verification failed for
/// ...`, already logged), or a handshake failure (`SSL_connect error to
/// ...`, already logged). The cached session for this key is deleted on
/// any failure.
pub fn client_start<S: Transport>(
    ctx: &ClientContext,
    stream: S,
    props: &ClientStartProps,
) -> Result<TlsStream<S>, TlsError> {
    let lvl = ctx.params.loglevel;
    let level = props.level.unwrap_or(SecurityLevel::May);
    let needs_trust = level.needs_trust() || props.require_trust;
    let digest = ctx.params.digest.unwrap_or(Digest::Sha256);
    if lvl >= 2 {
        msg_info!("{}", log::setting_up(false, &props.namaddr));
    }
    let mut ssl = Ssl::new(&ctx.ctx).map_err(|e| TlsError::Setup(e.to_string()))?;
    let protocols = if props.protocols.is_empty() {
        &ctx.params.common.protocols
    } else {
        &props.protocols
    };
    let grade = if props.cipher_grade.is_empty() {
        &ctx.params.common.cipher_grade
    } else {
        &props.cipher_grade
    };
    let exclude = format!(
        "{} {}",
        ctx.params.common.exclude_ciphers, props.exclude_ciphers
    );
    let pr = params::parse_protocols(protocols).map_err(TlsError::Setup)?;
    ssl.set_min_proto_version(pr.min)
        .and_then(|_| ssl.set_max_proto_version(pr.max))
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    let list =
        params::cipher_list(grade, &exclude, &ctx.params.common.lists).map_err(TlsError::Setup)?;
    ssl.set_cipher_list(&list)
        .map_err(|e| TlsError::Setup(format!("invalid cipher list: \"{list}\": {e}")))?;
    if let Some(sni) = props.servername.as_deref().filter(|s| !s.is_empty()) {
        ssl.set_hostname(sni)
            .map_err(|e| TlsError::Setup(e.to_string()))?;
    }

    // The verify callback: trust and name/fingerprint checks in the handshake.
    let expected = names::expected_names(&props.matches, &props.host, &props.nexthop);
    let verify = Arc::new(Mutex::new(Verify::default()));
    {
        let v = Arc::clone(&verify);
        let fps = props.fingerprints.clone();
        let namaddr = props.namaddr.clone();
        ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, x509| {
            let mut st = v.lock().unwrap_or_else(|p| p.into_inner());
            if !ok && !st.chain_failed {
                st.chain_failed = true;
                let issuer = x509.current_cert().map(|c| oneline(c.issuer_name()));
                st.first_error = Some(chain_reason(x509.error(), issuer));
            }
            if x509.error_depth() != 0 {
                return true;
            }
            let Some(leaf) = x509.current_cert() else { return true };
            st.matched = if level == SecurityLevel::Fingerprint {
                fprint::matches_any(
                    &fps,
                    &fprint::cert_fingerprint(leaf, digest),
                    &fprint::pkey_fingerprint(leaf, digest),
                )
            } else {
                let cn = info::raw_subject_cn(leaf);
                let names = names::certificate_names(&info::dns_names(leaf), cn.as_deref());
                names::find_match(&names, &expected).is_some()
            };
            if needs_trust && st.chain_failed {
                st.policy_failure = Some(format!(
                    "certificate verification failed for {namaddr}: {}",
                    st.first_error.clone().unwrap_or_default()
                ));
                return false;
            }
            if level.needs_match() && !st.matched {
                st.policy_failure = Some(if level == SecurityLevel::Fingerprint {
                    format!("certificate verification failed for {namaddr}: fingerprint mismatch")
                } else {
                    format!("server certificate verification failed for {namaddr}: num=62:hostname mismatch")
                });
                return false;
            }
            true
        });
    }

    // Offer a cached session made under the same policy.
    let cache_id = scache::client_cache_id(&scache::ClientKey {
        nexthop: &props.nexthop,
        host: &props.host,
        addr: &props.addr,
        port: props.port,
        level: if needs_trust && !level.needs_trust() {
            "encrypt+trust"
        } else {
            level.name()
        },
        servername: props.servername.as_deref().unwrap_or(""),
        matches: &props.matches,
        fingerprints: &props.fingerprints,
        protocols,
        ciphers: &list,
        extra: &ctx.params.common.ca_file,
    });
    let state = Arc::new(Mutex::new(ConnState {
        cache_id: String::new(),
        flags: 0,
    }));
    let mut offered: Option<u32> = None;
    if let Some(m) = &ctx.mgr {
        if let Some(blob) = m.lookup(&ctx.params.prefix, &cache_id) {
            match scache::decode_blob(&blob) {
                Ok(b) => {
                    if let Ok(s) = SslSession::from_der(&b.der) {
                        if sys::tls::set_client_session(&mut ssl, &s).is_ok() {
                            offered = Some(b.flags);
                            if lvl >= 2 {
                                msg_info!("{}: Reusing old session", props.namaddr);
                            }
                        }
                    }
                }
                Err(_) => {
                    m.delete(&ctx.params.prefix, &cache_id);
                }
            }
        }
    }
    ssl.set_ex_data(ctx.index, Arc::clone(&state));

    let forget = || {
        if let Some(m) = &ctx.mgr {
            m.delete(&ctx.params.prefix, &cache_id);
        }
    };
    let deadline = Some(Instant::now() + props.timeout);
    let mut tls = TlsStream::new(ssl, stream)?;
    tls.set_wait_close_notify(ctx.params.wait_close_notify);
    if let Err(e) = tls.drive(deadline, |s| s.connect()) {
        forget();
        let policy = verify
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .policy_failure
            .take();
        if let Some(why) = policy {
            util::msg_info!("{why}");
            return Err(TlsError::Policy(why));
        }
        log::failed(false, &props.namaddr, &e.log_reason(), e.library_errors());
        return Err(e);
    }
    let mut i = info::collect(tls.ssl(), false, digest, &props.namaddr);
    if i.resumed {
        let flags = offered.unwrap_or(0);
        i.peer_trusted = i.peer_cert_present && flags & scache::FLAG_TRUSTED != 0;
        i.peer_matched = i.peer_cert_present && flags & scache::FLAG_MATCHED != 0;
    } else {
        let v = verify.lock().unwrap_or_else(|p| p.into_inner());
        i.peer_trusted = i.peer_cert_present && !v.chain_failed;
        i.peer_matched = i.peer_cert_present && v.matched;
        if lvl >= 2 || needs_trust {
            if let (true, Some(why)) = (
                i.peer_cert_present && v.chain_failed && lvl >= 2,
                &v.first_error,
            ) {
                msg_info!(
                    "certificate verification failed for {}: {why}",
                    props.namaddr
                );
            }
        }
    }
    // A resumed session is held to the current policy with the flags it
    // was made with (TLS_CHANGES 2000/11/29).
    if (needs_trust && !i.peer_trusted) || (level.needs_match() && !i.peer_matched) {
        forget();
        let why = format!(
            "certificate verification failed for {}: cached session not verified",
            props.namaddr
        );
        msg_info!("{why}");
        return Err(TlsError::Policy(why));
    }
    {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.flags = (if i.peer_cert_present {
            scache::FLAG_CERT_PRESENT
        } else {
            0
        }) | (if i.peer_trusted {
            scache::FLAG_TRUSTED
        } else {
            0
        }) | (if i.peer_matched {
            scache::FLAG_MATCHED
        } else {
            0
        });
        st.cache_id = cache_id.clone();
    }
    // TLS 1.2 sessions are complete now; TLS 1.3 tickets come later and
    // are saved by the new-session callback.
    if !i.resumed {
        if let (Some(m), Some(s)) = (&ctx.mgr, tls.ssl().session()) {
            if tls.ssl().version2() != Some(openssl::ssl::SslVersion::TLS1_3) {
                if let Ok(der) = s.to_der() {
                    let flags = state.lock().unwrap_or_else(|p| p.into_inner()).flags;
                    m.update(
                        &ctx.params.prefix,
                        &cache_id,
                        &scache::encode_blob(flags, &der),
                    );
                }
            }
        }
    }
    log::established(false, lvl, &i);
    tls.set_info(i);
    Ok(tls)
}
