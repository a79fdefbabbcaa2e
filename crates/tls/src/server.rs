//! NAME
//!   server - the server side of the TLS engine (smtpd)
//!
//! SYNOPSIS
//!   let params = TlsServerParams::from_config(&config, "smtpd", mandatory)?;
//!   let ctx = ServerContext::init(&params)?;          // pre-init, as root
//!   let tls = server_start(&ctx, stream, &ServerStartProps { .. })?;
//!   let info = tls.info();                             // log, Received:
//!   let stream = tls.stop(timeout);
//!
//! DESCRIPTION
//!   [`ServerContext::init`] runs once per process before chroot and the
//!   privilege drop, so private keys may be readable by root only
//!   (TLS_CHANGES 1999/04/10). It loads `smtpd_tls_chain_files`, or the
//!   RSA pair `smtpd_tls_cert_file`/`smtpd_tls_key_file` and the ECDSA
//!   pair `smtpd_tls_eccert_file`/`smtpd_tls_eckey_file` (both at once;
//!   `smtpd_tls_dcert_file` only earns a warning: DSA is obsolete), the
//!   CA file and directory, protocols, ciphers, options, curves, DH
//!   parameters, SNI tables, and sets up session resumption: RFC 5077
//!   tickets whose keys tlsmgr issues and the server finds by name, so
//!   any smtpd process resumes any other's session and tickets survive
//!   a key rotation ([`crate::tickets`]), plus session-ID entries in
//!   tlsmgr's cache when `smtpd_tls_session_cache_database` is set.
//!   Sessions live `smtpd_tls_session_cache_timeout` (at least 2
//!   minutes, at most 100 days). It also asks tlsmgr for
//!   `tls_daemon_random_bytes` of entropy for OpenSSL's pool.
//!
//!   [`server_start`] runs the handshake with one deadline
//!   (`smtpd_starttls_timeout`), asks for a client certificate when
//!   `ask_ccert` is set (never failing the handshake over it: smtpd
//!   applies `smtpd_tls_req_ccert` afterwards; TLS_CHANGES 2000/08/09),
//!   and logs per `smtpd_tls_loglevel`. The stream it returns ends with
//!   a close_notify that does not wait for the client's unless
//!   `tls_fast_shutdown_enable = no`.
//!
//! SEE ALSO
//!   [`crate::engine`], [`crate::log`], postconf(5).
use crate::certs::{self, Common};
use crate::engine::{TlsError, TlsStream, Transport};
use crate::fprint::Digest;
use crate::mgr_client::MgrClient;
use crate::params::CipherLists;
use crate::tickets::{self, TicketKeys};
use crate::{info, log, prng, scache};
use global::Config;
use maps::Dict;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslSession, SslSessionCacheMode, SslVerifyMode,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::{msg_info, msg_warn};

/// Everything the server engine reads from main.cf.
#[derive(Debug, Clone, Default)]
pub struct TlsServerParams {
    /// Parameter prefix, `smtpd`.
    pub prefix: String,
    /// The server's key and certificate files.
    pub keys: certs::KeyFiles,
    /// `smtpd_tls_dcert_file` (warned about, not loaded).
    pub dcert_file: String,
    /// Protocols, ciphers, CA, options, curves.
    pub common: Common,
    /// `tls_preempt_cipherlist`.
    pub preempt: bool,
    /// `smtpd_tls_dh1024_param_file`.
    pub dh_param_file: String,
    /// `smtpd_tls_ask_ccert` (or req_ccert): request a client certificate.
    pub ask_ccert: bool,
    /// `smtpd_tls_fingerprint_digest`.
    pub digest: Option<Digest>,
    /// `smtpd_tls_loglevel`.
    pub loglevel: u32,
    /// `tls_server_sni_maps`.
    pub sni_maps: String,
    /// `smtpd_tls_session_cache_timeout`, seconds (0 = no resumption),
    /// as [`tickets::session_lifetime`] limits it.
    pub cache_timeout: u64,
    /// `smtpd_tls_session_cache_database` (empty = tickets only).
    pub cache_database: String,
    /// Session ID context: the same for every process of one service.
    pub session_id_context: String,
    /// The tlsmgr socket (`private/tlsmgr`); empty = no tlsmgr.
    pub tlsmgr_socket: String,
    /// `tls_daemon_random_bytes`: entropy to ask tlsmgr for at start,
    /// bytes (0 = none).
    pub daemon_random_bytes: usize,
    /// `tls_fast_shutdown_enable = no`: wait for the client's
    /// close_notify after sending ours.
    pub wait_close_notify: bool,
}

/// Postfix's limit on a `seed` request, bytes (tlsmgr refuses more).
pub const MAX_SEED_BYTES: i64 = 255;

fn p(config: &Config, name: &str) -> Result<String, TlsError> {
    config.get(name).map_err(|e| TlsError::Setup(e.to_string()))
}

impl TlsServerParams {
    /// Read the server parameters with prefix `prefix` (`smtpd`).
    /// `mandatory` selects `*_mandatory_protocols`/`_ciphers`/
    /// `_exclude_ciphers` (security level encrypt). Errors: a parameter
    /// that cannot be parsed.
    pub fn from_config(
        config: &Config,
        prefix: &str,
        mandatory: bool,
    ) -> Result<TlsServerParams, TlsError> {
        let g = |n: &str| p(config, &format!("{prefix}_{n}"));
        let m = if mandatory { "mandatory_" } else { "" };
        let mut exclude = g("tls_exclude_ciphers")?;
        if mandatory {
            exclude = format!("{exclude} {}", g("tls_mandatory_exclude_ciphers")?);
        }
        let digest = Digest::parse(&g("tls_fingerprint_digest")?).map_err(TlsError::Setup)?;
        let num = |n: &str| -> Result<i64, TlsError> {
            config
                .get_int(n)
                .map_err(|e| TlsError::Setup(e.to_string()))
        };
        Ok(TlsServerParams {
            prefix: prefix.to_string(),
            keys: certs::KeyFiles::from_config(config, prefix)?,
            dcert_file: g("tls_dcert_file")?,
            common: Common {
                protocols: g(&format!("tls_{m}protocols"))?,
                cipher_grade: g(&format!("tls_{m}ciphers"))?,
                exclude_ciphers: exclude,
                lists: CipherLists::from_config(config),
                ssl_options: p(config, "tls_ssl_options")?,
                ca_file: g("tls_CAfile")?,
                ca_path: g("tls_CApath")?,
                verify_depth: u32::try_from(num(&format!("{prefix}_tls_ccert_verifydepth"))?)
                    .unwrap_or(9),
                curves: util::strings::split_list(&p(config, "tls_eecdh_auto_curves")?),
            },
            preempt: config.get_bool("tls_preempt_cipherlist").unwrap_or(false),
            dh_param_file: g("tls_dh1024_param_file")?,
            ask_ccert: config
                .get_bool(&format!("{prefix}_tls_ask_ccert"))
                .unwrap_or(false)
                || config
                    .get_bool(&format!("{prefix}_tls_req_ccert"))
                    .unwrap_or(false),
            digest: Some(digest),
            loglevel: u32::try_from(num(&format!("{prefix}_tls_loglevel"))?).unwrap_or(0),
            sni_maps: p(config, "tls_server_sni_maps")?,
            cache_timeout: tickets::session_lifetime(
                config
                    .get_time(&format!("{prefix}_tls_session_cache_timeout"))
                    .map_err(|e| TlsError::Setup(e.to_string()))?,
            ),
            cache_database: g("tls_session_cache_database")?,
            session_id_context: prefix.to_string(),
            tlsmgr_socket: "private/tlsmgr".to_string(),
            daemon_random_bytes: num("tls_daemon_random_bytes")?.clamp(0, MAX_SEED_BYTES) as usize,
            wait_close_notify: !config
                .get_bool("tls_fast_shutdown_enable")
                .map_err(|e| TlsError::Setup(e.to_string()))?,
        })
    }
}

/// A server TLS context, made once per process.
#[derive(Debug)]
pub struct ServerContext {
    ctx: SslContext,
    params: TlsServerParams,
}

#[derive(Debug)]
struct Sni {
    table: Mutex<Box<dyn Dict>>,
    contexts: Mutex<HashMap<String, Option<SslContext>>>,
    params: TlsServerParams,
    tickets: Option<Arc<TicketKeys>>,
}

fn load_keys(params: &TlsServerParams) -> Result<Vec<certs::KeyChain>, TlsError> {
    if !params.dcert_file.is_empty() {
        msg_warn!(
            "DSA certificates are obsolete; ignoring {}_tls_dcert_file = {}",
            params.prefix,
            params.dcert_file
        );
    }
    let keys = params.keys.load()?;
    if keys.is_empty() {
        return Err(TlsError::Setup(format!(
            "no server certificate: set {0}_tls_chain_files, or {0}_tls_cert_file and {0}_tls_key_file",
            params.prefix
        )));
    }
    Ok(keys)
}

fn builder(
    params: &TlsServerParams,
    keys: Vec<certs::KeyChain>,
    tickets: Option<&Arc<TicketKeys>>,
) -> Result<SslContextBuilder, TlsError> {
    let mut b = SslContextBuilder::new(SslMethod::tls_server())
        .map_err(|e| TlsError::Setup(format!("cannot create the server TLS context: {e}")))?;
    certs::apply_common(&mut b, &params.common)?;
    if params.preempt {
        b.set_options(openssl::ssl::SslOptions::CIPHER_SERVER_PREFERENCE);
    } else {
        b.clear_options(openssl::ssl::SslOptions::CIPHER_SERVER_PREFERENCE);
    }
    if !params.dh_param_file.is_empty() {
        let pem = std::fs::read(&params.dh_param_file).map_err(|e| {
            TlsError::Setup(format!(
                "cannot load DH parameters: {}: {}",
                params.dh_param_file,
                crate::strerror(&e)
            ))
        })?;
        let dh = openssl::dh::Dh::params_from_pem(&pem).map_err(|e| {
            TlsError::Setup(format!(
                "cannot load DH parameters: {}: {e}",
                params.dh_param_file
            ))
        })?;
        b.set_tmp_dh(&dh)
            .map_err(|e| TlsError::Setup(format!("cannot use DH parameters: {e}")))?;
    }
    certs::install(&mut b, keys)?;
    if params.ask_ccert && !params.common.ca_file.is_empty() {
        if let Ok(names) = openssl::x509::X509Name::load_client_ca_file(&params.common.ca_file) {
            b.set_client_ca_list(names);
        }
    }
    let sid = openssl::sha::sha256(params.session_id_context.as_bytes());
    b.set_session_id_context(&sid[..32])
        .map_err(|e| TlsError::Setup(format!("cannot set the session ID context: {e}")))?;
    if params.cache_timeout == 0 {
        b.set_options(openssl::ssl::SslOptions::NO_TICKET);
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
    } else {
        sys::tls::set_session_timeout(
            &mut b,
            u32::try_from(params.cache_timeout).unwrap_or(u32::MAX),
        );
    }
    if let Some(t) = tickets {
        tickets::install(&mut b, t, params.loglevel)?;
    }
    Ok(b)
}

impl ServerContext {
    /// Build the server context from `params`, reading keys and
    /// certificates now (call before chroot and privilege drop). Errors:
    /// [`TlsError::Setup`] naming the file or parameter; smtpd then logs
    /// it and answers STARTTLS with `454 4.7.0 TLS not available due to
    /// local problem`.
    pub fn init(params: &TlsServerParams) -> Result<ServerContext, TlsError> {
        let keys = load_keys(params)?;
        seed_from_tlsmgr(&params.tlsmgr_socket, params.daemon_random_bytes);
        let mgr = (!params.tlsmgr_socket.is_empty() && params.cache_timeout > 0)
            .then(|| Arc::new(MgrClient::new(&params.tlsmgr_socket)));
        let tickets = mgr.as_ref().map(|m| {
            let source: Arc<dyn tickets::KeySource> = m.clone();
            Arc::new(TicketKeys::new(source, params.cache_timeout))
        });
        let mut b = builder(params, keys, tickets.as_ref())?;
        if let (Some(m), false) = (&mgr, params.cache_database.is_empty()) {
            set_cache_callbacks(&mut b, m, &params.prefix, params.loglevel);
        }
        if !params.sni_maps.is_empty() {
            let table = maps::open(&params.sni_maps, maps::DictFlags::default())
                .map_err(|e| TlsError::Setup(format!("tls_server_sni_maps: {e}")))?;
            let sni = Arc::new(Sni {
                table: Mutex::new(table),
                contexts: Mutex::new(HashMap::new()),
                params: params.clone(),
                tickets: tickets.clone(),
            });
            b.set_servername_callback(move |ssl, _alert| {
                let Some(name) = ssl.servername(openssl::ssl::NameType::HOST_NAME) else {
                    return Ok(());
                };
                match sni.context_for(&name.to_ascii_lowercase()) {
                    Some(ctx) => {
                        let _ = ssl.set_ssl_context(&ctx);
                        Ok(())
                    }
                    None => Ok(()),
                }
            });
        }
        Ok(ServerContext {
            ctx: b.build(),
            params: params.clone(),
        })
    }

    /// The parameters this context was made from.
    pub fn params(&self) -> &TlsServerParams {
        &self.params
    }
}

impl Sni {
    fn context_for(&self, name: &str) -> Option<SslContext> {
        let mut cache = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(name) {
            return c.clone();
        }
        let value = {
            let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
            let mut hit = None;
            // Exact name, then parent domains (".example.com" style keys).
            let mut probe = name.to_string();
            loop {
                if let Ok(Some(v)) = table.lookup(&probe) {
                    hit = Some(v);
                    break;
                }
                let Some((_, rest)) = probe.trim_start_matches('.').split_once('.') else {
                    break;
                };
                probe = format!(".{rest}");
            }
            hit
        };
        let ctx = value.and_then(|v| {
            let files = util::strings::split_list(&v);
            match certs::load_chain_files(&files)
                .and_then(|k| builder(&self.params, k, self.tickets.as_ref()))
            {
                Ok(b) => Some(b.build()),
                Err(e) => {
                    msg_warn!("tls_server_sni_maps: {name}: {e}");
                    None
                }
            }
        });
        cache.insert(name.to_string(), ctx.clone());
        ctx
    }
}

fn set_cache_callbacks(
    b: &mut SslContextBuilder,
    mgr: &Arc<MgrClient>,
    cache_type: &str,
    loglevel: u32,
) {
    b.set_session_cache_mode(SslSessionCacheMode::SERVER | SslSessionCacheMode::NO_INTERNAL);
    let (m, t) = (Arc::clone(mgr), cache_type.to_string());
    b.set_new_session_callback(move |_ssl, session| {
        if let Ok(der) = session.to_der() {
            if der.len() <= scache::MAX_BLOB {
                let id = scache::hex(session.id());
                if m.update(&t, &id, &scache::encode_blob(0, &der)) && loglevel >= 2 {
                    msg_info!("save session {id} to {t} cache");
                }
            }
        }
    });
    let (m, t) = (Arc::clone(mgr), cache_type.to_string());
    b.set_remove_session_callback(move |_ctx, session| {
        m.delete(&t, &scache::hex(session.id()));
    });
    let (m, t) = (Arc::clone(mgr), cache_type.to_string());
    sys::tls::set_server_session_lookup(b, move |_ssl, id| {
        let hid = scache::hex(id);
        let blob = m.lookup(&t, &hid)?;
        match scache::decode_blob(&blob) {
            Ok(d) => {
                let s = SslSession::from_der(&d.der).ok();
                if s.is_some() && loglevel >= 2 {
                    msg_info!("reloaded session {hid} from {t} cache");
                }
                s
            }
            Err(_) => {
                m.delete(&t, &hid);
                None
            }
        }
    });
}

/// Per-connection inputs of [`server_start`].
#[derive(Debug, Clone)]
pub struct ServerStartProps<'a> {
    /// The client as `host[addr]`, for log lines.
    pub namaddr: &'a str,
    /// Handshake deadline (`smtpd_starttls_timeout`).
    pub timeout: Duration,
}

#[derive(Debug, Default)]
struct ChainState {
    failed: bool,
}

/// Run the server handshake on `stream` (TLS starts with the next byte
/// the client sends; the caller has discarded anything buffered). On
/// success returns the TLS stream with [`crate::info::TlsInfo`] filled
/// in and logged. Errors: handshake failure, timeout (after
/// `props.timeout`, however slowly the client trickles bytes), lost
/// connection — each already logged as `SSL_accept error from ...`.
pub fn server_start<S: Transport>(
    ctx: &ServerContext,
    stream: S,
    props: &ServerStartProps<'_>,
) -> Result<TlsStream<S>, TlsError> {
    let lvl = ctx.params.loglevel;
    if lvl >= 2 {
        msg_info!("{}", log::setting_up(true, props.namaddr));
    }
    let mut ssl = Ssl::new(&ctx.ctx).map_err(|e| TlsError::Setup(e.to_string()))?;
    tickets::set_namaddr(&mut ssl, props.namaddr);
    let chain = Arc::new(Mutex::new(ChainState::default()));
    if ctx.params.ask_ccert {
        let st = Arc::clone(&chain);
        ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, x509| {
            if !ok {
                st.lock().unwrap_or_else(|p| p.into_inner()).failed = true;
                if lvl >= 2 {
                    msg_info!(
                        "client certificate verification: depth={} error={}",
                        x509.error_depth(),
                        x509.error().error_string()
                    );
                }
            }
            true
        });
    } else {
        ssl.set_verify(SslVerifyMode::NONE);
    }
    let deadline = Some(Instant::now() + props.timeout);
    let mut tls = TlsStream::new(ssl, stream)?;
    tls.set_wait_close_notify(ctx.params.wait_close_notify);
    if let Err(e) = tls.drive(deadline, |s| s.accept()) {
        log::failed(true, props.namaddr, &e.log_reason(), e.library_errors());
        return Err(e);
    }
    let digest = ctx.params.digest.unwrap_or(Digest::Sha256);
    let mut i = info::collect(tls.ssl(), true, digest, props.namaddr);
    let failed = chain.lock().unwrap_or_else(|p| p.into_inner()).failed;
    i.peer_trusted = i.peer_cert_present
        && if i.resumed {
            tls.ssl().verify_result() == openssl::x509::X509VerifyResult::OK
        } else {
            !failed && tls.ssl().verify_result() == openssl::x509::X509VerifyResult::OK
        };
    if lvl >= 2 && i.resumed {
        msg_info!("{}: Reusing old session", props.namaddr);
    }
    log::established(true, lvl, &i);
    tls.set_info(i);
    Ok(tls)
}

/// Ask tlsmgr at `socket` for `bytes` of entropy and mix them into
/// OpenSSL's pool (`tls_daemon_random_bytes`, TLS_CHANGES 2000/07/23).
/// Nothing happens for 0 bytes or no socket; when tlsmgr cannot be
/// reached the stub has logged why and the process goes on with
/// OpenSSL's own seeding. Returns how many bytes were added.
pub fn seed_from_tlsmgr(socket: &str, bytes: usize) -> usize {
    if bytes == 0 || socket.is_empty() {
        return 0;
    }
    match MgrClient::new(socket).seed(bytes) {
        Some(seed) => {
            prng::add(&seed);
            seed.len()
        }
        None => {
            msg_warn!("no entropy for TLS key generation from {socket}: OpenSSL seeds itself");
            0
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
