//! NAME
//!   dns - MX and address lookups for the delivery client
//!
//! DESCRIPTION
//!   [`Lookup`] is what target selection ([`crate::targets`]) asks:
//!   the MX records of a domain and the addresses of a host. [`Hickory`]
//!   answers through hickory-resolver (no hand-written DNS), with the
//!   system configuration (`/etc/resolv.conf`, read once before chroot)
//!   or, when the Postern-only parameter `postern_dns_servers` lists
//!   servers (`127.0.0.1:5353`, `[::1]:53`, `192.0.2.53`), with exactly
//!   those servers, no search list and no hosts file: this is how tests
//!   point the client at a DNS server on a loopback port. [`Native`]
//!   answers address questions with the system's getaddrinfo(3)
//!   (`smtp_host_lookup = native`) and never has MX records.
//!
//!   Answers follow Postfix's classification: a name that does not
//!   exist (NXDOMAIN) is [`Answer::NotFound`]; a name with no record of
//!   the type asked is [`Answer::NoData`]; a timeout, SERVFAIL or
//!   REFUSED is [`Answer::TempFail`]. An MX set that is exactly one
//!   record with the root as exchange is the RFC 7505 null MX
//!   ([`MxAnswer::NullMx`]).
//!
//! SEE ALSO
//!   RFC 5321 section 5.1, RFC 7505, postconf(5) `smtp_host_lookup`.
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::Resolver;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Records found.
    Found(T),
    /// The name exists but has no record of this type.
    NoData,
    /// The name does not exist.
    NotFound,
    /// The question could not be answered now (the text says why).
    TempFail(String),
}

/// The outcome of an MX question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// `(preference, exchange)` pairs, unsorted; exchanges without the
    /// trailing dot.
    Found(Vec<(u16, String)>),
    /// RFC 7505: the domain accepts no mail.
    NullMx,
    /// Anything else.
    Other(Answer<()>),
}

/// Address families to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    /// A records.
    pub v4: bool,
    /// AAAA records.
    pub v6: bool,
}

/// The questions target selection asks.
pub trait Lookup {
    /// MX records of `domain`.
    fn mx(&self, domain: &str) -> MxAnswer;
    /// Addresses of `host` in `families`, IPv6 after IPv4 as returned.
    fn addrs(&self, host: &str, families: Families) -> Answer<Vec<IpAddr>>;
}

/// hickory-resolver behind [`Lookup`].
pub struct Hickory {
    resolver: Result<Resolver, String>,
}

impl std::fmt::Debug for Hickory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hickory")
            .field("ok", &self.resolver.is_ok())
            .finish()
    }
}

/// Parse one `postern_dns_servers` element: `ip`, `ip:port`, `[ip]:port`.
pub fn server_addr(text: &str) -> Option<SocketAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa);
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

impl Hickory {
    /// A resolver with the system configuration, or with `servers`
    /// (`postern_dns_servers`) when not empty. A configuration problem
    /// is kept and reported as a temporary failure of every lookup.
    pub fn new(servers: &[String]) -> Hickory {
        if servers.is_empty() {
            return Hickory {
                resolver: Resolver::from_system_conf()
                    .map_err(|e| format!("DNS resolver configuration: {e}")),
            };
        }
        let mut group = NameServerConfigGroup::new();
        for s in servers {
            let Some(sa) = server_addr(s) else {
                return Hickory {
                    resolver: Err(format!("bad postern_dns_servers element: {s}")),
                };
            };
            group.merge(NameServerConfigGroup::from_ips_clear(
                &[sa.ip()],
                sa.port(),
                true,
            ));
        }
        let config = ResolverConfig::from_parts(None, Vec::new(), group);
        let mut opts = ResolverOpts::default();
        opts.use_hosts_file = false;
        opts.ndots = 0;
        opts.timeout = Duration::from_secs(5);
        opts.attempts = 2;
        Hickory {
            resolver: Resolver::new(config, opts).map_err(|e| format!("DNS resolver: {e}")),
        }
    }

    /// Why the resolver cannot be used, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.resolver.as_ref().err().map(String::as_str)
    }
}

fn classify<T>(e: &ResolveError) -> Answer<T> {
    match e.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
            ResponseCode::NXDomain => Answer::NotFound,
            ResponseCode::NoError => Answer::NoData,
            other => Answer::TempFail(format!("server answered {other}")),
        },
        _ => Answer::TempFail(e.to_string()),
    }
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

impl Lookup for Hickory {
    fn mx(&self, domain: &str) -> MxAnswer {
        let r = match &self.resolver {
            Ok(r) => r,
            Err(e) => return MxAnswer::Other(Answer::TempFail(e.clone())),
        };
        match r.mx_lookup(fqdn(domain).as_str()) {
            Ok(mx) => {
                let list: Vec<(u16, String)> = mx
                    .iter()
                    .map(|m| {
                        (
                            m.preference(),
                            m.exchange().to_utf8().trim_end_matches('.').to_string(),
                        )
                    })
                    .collect();
                if list.len() == 1 && list[0].1.is_empty() {
                    MxAnswer::NullMx
                } else if list.is_empty() {
                    MxAnswer::Other(Answer::NoData)
                } else {
                    MxAnswer::Found(list)
                }
            }
            Err(e) => MxAnswer::Other(classify(&e)),
        }
    }

    fn addrs(&self, host: &str, families: Families) -> Answer<Vec<IpAddr>> {
        let r = match &self.resolver {
            Ok(r) => r,
            Err(e) => return Answer::TempFail(e.clone()),
        };
        let name = fqdn(host);
        let mut out = Vec::new();
        let mut worst: Option<Answer<Vec<IpAddr>>> = None;
        let mut note = |a: Answer<Vec<IpAddr>>| {
            // TempFail beats NoData beats NotFound when nothing is found.
            let rank = |x: &Answer<Vec<IpAddr>>| match x {
                Answer::TempFail(_) => 3,
                Answer::NoData => 2,
                _ => 1,
            };
            if !matches!(worst.as_ref(), Some(w) if rank(&a) <= rank(w)) {
                worst = Some(a);
            }
        };
        if families.v4 {
            match r.ipv4_lookup(name.as_str()) {
                Ok(l) => out.extend(l.iter().map(|a| IpAddr::V4(a.0))),
                Err(e) => note(classify(&e)),
            }
        }
        if families.v6 {
            match r.ipv6_lookup(name.as_str()) {
                Ok(l) => out.extend(l.iter().map(|a| IpAddr::V6(a.0))),
                Err(e) => note(classify(&e)),
            }
        }
        if !out.is_empty() {
            return Answer::Found(out);
        }
        worst.unwrap_or(Answer::NoData)
    }
}

/// The system resolver (getaddrinfo) behind [`Lookup`]: no MX records.
#[derive(Debug, Default)]
pub struct Native;

impl Lookup for Native {
    fn mx(&self, _domain: &str) -> MxAnswer {
        MxAnswer::Other(Answer::NoData)
    }

    fn addrs(&self, host: &str, families: Families) -> Answer<Vec<IpAddr>> {
        match (host, 0u16).to_socket_addrs() {
            Ok(it) => {
                let mut out: Vec<IpAddr> = Vec::new();
                for a in it {
                    let ip = a.ip();
                    let ok = (ip.is_ipv4() && families.v4) || (ip.is_ipv6() && families.v6);
                    if ok && !out.contains(&ip) {
                        out.push(ip);
                    }
                }
                if out.is_empty() {
                    Answer::NoData
                } else {
                    Answer::Found(out)
                }
            }
            Err(e) => {
                let text = e.to_string();
                if text.contains("emporary") || text.contains("try again") {
                    Answer::TempFail(text)
                } else {
                    Answer::NotFound
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        assert_eq!(
            server_addr("127.0.0.1:5353"),
            Some("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(
            server_addr("192.0.2.1"),
            Some("192.0.2.1:53".parse().unwrap())
        );
        assert_eq!(server_addr("[::1]:54"), Some("[::1]:54".parse().unwrap()));
        assert_eq!(server_addr("[::1]"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(server_addr("::1"), Some("[::1]:53".parse().unwrap()));
        assert_eq!(server_addr("dns.example"), None);
    }

    #[test]
    fn bad_server_is_a_temporary_failure() {
        let h = Hickory::new(&["nope".to_string()]);
        assert!(h.problem().is_some());
        assert!(matches!(
            h.mx("example.com"),
            MxAnswer::Other(Answer::TempFail(_))
        ));
    }
}
