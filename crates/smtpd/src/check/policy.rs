//! NAME
//!   policy - Postfix's policy delegation protocol (check_policy_service)
//!
//! DESCRIPTION
//!   `check_policy_service inet:host:port` or `unix:/path` (a relative
//!   path is under the queue directory, e.g. `unix:private/policy`) sends
//!   the policy server one request of `name=value` lines ended by an
//!   empty line, and reads one answer, `action=...` and an empty line
//!   (SMTPD_POLICY_README). The action is interpreted like an access(5)
//!   value. The connection is kept for the next request (until
//!   `smtpd_policy_service_max_idle`, `_max_ttl` or `_request_limit`).
//!
//!   The request carries: request=smtpd_access_policy, protocol_state,
//!   protocol_name, helo_name, queue_id, sender, recipient,
//!   recipient_count, client_address, client_name, reverse_client_name,
//!   instance, sasl_method, sasl_username, sasl_sender, size,
//!   ccert_subject, ccert_issuer, ccert_fingerprint,
//!   ccert_pubkey_fingerprint, encryption_protocol, encryption_cipher,
//!   encryption_keysize, etrn_domain, stress, compatibility_level,
//!   mail_version, client_port, policy_context.
//!
//! DIAGNOSTICS
//!   When the server cannot be reached or answers garbage after
//!   `smtpd_policy_service_try_limit` attempts
//!   (`smtpd_policy_service_retry_delay` apart, each bounded by
//!   `smtpd_policy_service_timeout`), smtpd logs a warning and uses
//!   `smtpd_policy_service_default_action`.
use super::{Facts, Stage};
use global::Config;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use util::msg_warn;

trait Stream: Read + Write + Send {}
impl Stream for TcpStream {}
impl Stream for UnixStream {}

struct Conn {
    reader: BufReader<Box<dyn Stream>>,
    opened: Instant,
    used: Instant,
    requests: u32,
}

/// The policy servers of one smtpd process and their open connections.
pub struct Policies {
    conns: HashMap<String, Conn>,
    timeout: Duration,
    max_idle: Duration,
    max_ttl: Duration,
    request_limit: u32,
    try_limit: u32,
    retry_delay: Duration,
    default_action: String,
    context: String,
    compat: String,
    version: String,
    instance: u64,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Policies({} open)", self.conns.len())
    }
}

fn secs(cfg: &Config, name: &str, dflt: u64) -> Duration {
    Duration::from_secs(cfg.get_time(name).unwrap_or(dflt))
}

impl Policies {
    /// Read the `smtpd_policy_service_*` parameters.
    pub fn new(cfg: &Config) -> Policies {
        Policies {
            conns: HashMap::new(),
            timeout: secs(cfg, "smtpd_policy_service_timeout", 100),
            max_idle: secs(cfg, "smtpd_policy_service_max_idle", 300),
            max_ttl: secs(cfg, "smtpd_policy_service_max_ttl", 1000),
            request_limit: u32::try_from(
                cfg.get_int("smtpd_policy_service_request_limit")
                    .unwrap_or(0),
            )
            .unwrap_or(0),
            try_limit: u32::try_from(cfg.get_int("smtpd_policy_service_try_limit").unwrap_or(2))
                .unwrap_or(2)
                .max(1),
            retry_delay: secs(cfg, "smtpd_policy_service_retry_delay", 1),
            default_action: cfg
                .get("smtpd_policy_service_default_action")
                .unwrap_or_else(|_| "451 4.3.5 Server configuration problem".into()),
            context: cfg
                .get("smtpd_policy_service_policy_context")
                .unwrap_or_default(),
            compat: cfg.get("compatibility_level").unwrap_or_default(),
            version: cfg.get("mail_version").unwrap_or_default(),
            instance: 0,
        }
    }

    /// Start a new mail transaction: the `instance` attribute changes.
    pub fn new_instance(&mut self) {
        self.instance += 1;
    }

    fn request(&self, stage: Stage, f: &Facts) -> String {
        let state = match stage {
            Stage::Data => "DATA",
            Stage::EndOfData => "END-OF-MESSAGE",
            Stage::Etrn => "ETRN",
            _ => f.state.as_str(),
        };
        let peer = f.peer.clone();
        let pv = |g: fn(&crate::peer::Peer) -> String| peer.as_ref().map(g).unwrap_or_default();
        let clean = |s: &str| s.replace(['\n', '\r'], " ");
        let attrs: Vec<(&str, String)> = vec![
            ("request", "smtpd_access_policy".into()),
            ("protocol_state", state.into()),
            ("protocol_name", f.protocol.clone()),
            ("helo_name", f.helo.clone().unwrap_or_default()),
            ("queue_id", f.queue_id.clone().unwrap_or_default()),
            ("sender", f.sender.clone().unwrap_or_default()),
            ("recipient", f.recipient.clone().unwrap_or_default()),
            ("recipient_count", f.rcpt_count.to_string()),
            ("client_address", pv(|p| p.addr.clone())),
            ("client_name", pv(|p| p.name.clone())),
            ("reverse_client_name", pv(|p| p.reverse_name.clone())),
            (
                "instance",
                format!("{:x}.{:x}", std::process::id(), self.instance),
            ),
            ("sasl_method", String::new()),
            ("sasl_username", String::new()),
            ("sasl_sender", String::new()),
            ("size", f.size.to_string()),
            ("ccert_subject", String::new()),
            ("ccert_issuer", String::new()),
            ("ccert_fingerprint", String::new()),
            ("ccert_pubkey_fingerprint", String::new()),
            ("encryption_protocol", String::new()),
            ("encryption_cipher", String::new()),
            ("encryption_keysize", "0".into()),
            ("etrn_domain", f.etrn_domain.clone().unwrap_or_default()),
            ("stress", String::new()),
            ("compatibility_level", self.compat.clone()),
            ("mail_version", self.version.clone()),
            ("client_port", pv(|p| p.port.clone())),
            ("policy_context", self.context.clone()),
        ];
        let mut out = String::new();
        for (n, v) in attrs {
            out.push_str(n);
            out.push('=');
            out.push_str(&clean(&v));
            out.push('\n');
        }
        out.push('\n');
        out
    }

    fn connect(&self, spec: &str) -> std::io::Result<Box<dyn Stream>> {
        let s: Box<dyn Stream> = if let Some(path) = spec.strip_prefix("unix:") {
            let s = UnixStream::connect(path)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(self.timeout))?;
            Box::new(s)
        } else {
            let hp = spec.strip_prefix("inet:").unwrap_or(spec);
            let addr = std::net::ToSocketAddrs::to_socket_addrs(hp)?
                .next()
                .ok_or_else(|| std::io::Error::other("no address"))?;
            let s = TcpStream::connect_timeout(&addr, self.timeout)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(self.timeout))?;
            Box::new(s)
        };
        Ok(s)
    }

    fn once(&mut self, spec: &str, req: &str) -> std::io::Result<String> {
        let now = Instant::now();
        let stale = self.conns.get(spec).is_some_and(|c| {
            now.duration_since(c.used) > self.max_idle
                || now.duration_since(c.opened) > self.max_ttl
                || (self.request_limit > 0 && c.requests >= self.request_limit)
        });
        if stale {
            self.conns.remove(spec);
        }
        if !self.conns.contains_key(spec) {
            let s = self.connect(spec)?;
            self.conns.insert(
                spec.to_string(),
                Conn {
                    reader: BufReader::new(s),
                    opened: now,
                    used: now,
                    requests: 0,
                },
            );
        }
        let conn = self
            .conns
            .get_mut(spec)
            .ok_or_else(|| std::io::Error::other("lost"))?;
        conn.reader.get_mut().write_all(req.as_bytes())?;
        conn.reader.get_mut().flush()?;
        conn.used = now;
        conn.requests += 1;
        let mut action = None;
        loop {
            let mut line = String::new();
            let n = (&mut conn.reader).take(8192).read_line(&mut line)?;
            if n == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("action=") {
                action = Some(v.to_string());
            }
        }
        action.ok_or_else(|| std::io::Error::other("missing action attribute"))
    }

    /// Ask policy server `spec` about `f` at `stage`; the `action=`
    /// value, or `smtpd_policy_service_default_action` on failure.
    pub fn query(&mut self, spec: &str, stage: Stage, f: &Facts) -> String {
        let req = self.request(stage, f);
        for attempt in 1..=self.try_limit {
            match self.once(spec, &req) {
                Ok(a) => return a,
                Err(e) => {
                    self.conns.remove(spec);
                    msg_warn!("problem talking to server {spec}: {e}");
                    if attempt < self.try_limit {
                        std::thread::sleep(self.retry_delay);
                    }
                }
            }
        }
        msg_warn!(
            "access policy {spec}: using default action \"{}\"",
            self.default_action
        );
        self.default_action.clone()
    }
}
