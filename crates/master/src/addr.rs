//! NAME
//!   addr - where an inet service listens
//!
//! DESCRIPTION
//!   An inet service in master.cf is `[host:]port` (master(5)):
//!
//!   - the port is a number or a name from /etc/services (`smtp`,
//!     `submission`; protocol tcp);
//!   - the host is an IPv4 address, an IPv6 address in brackets
//!     (`[::1]:2525`), or a name that is resolved;
//!   - without a host the service listens on every address in
//!     `inet_interfaces` (postconf(5)): `all` (the wildcard address of each
//!     protocol), `loopback-only` (127.0.0.1 and ::1), or a list of
//!     addresses and names.
//!
//!   Every result is filtered by `inet_protocols` (`all`, `ipv4`, `ipv6`).
//!   [`inet_addresses`] is pure (the resolver is passed in) so that the
//!   expansion is tested without DNS.
//!
//! DIAGNOSTICS
//!   `unknown service: foo/tcp`, `host not found: name`, `bad
//!   inet_protocols value: x`, `no address of host x matches
//!   inet_protocols`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Which IP versions `inet_protocols` enables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols {
    /// IPv4 enabled.
    pub v4: bool,
    /// IPv6 enabled.
    pub v6: bool,
}

impl Protocols {
    /// Whether `ip`'s version is enabled.
    pub fn allows(&self, ip: &IpAddr) -> bool {
        match ip {
            IpAddr::V4(_) => self.v4,
            IpAddr::V6(_) => self.v6,
        }
    }
}

/// Parse `inet_protocols` (already split into a list). Errors: an unknown
/// element, or an empty list.
pub fn parse_protocols(list: &[String]) -> Result<Protocols, String> {
    let mut p = Protocols {
        v4: false,
        v6: false,
    };
    for item in list {
        match item.to_ascii_lowercase().as_str() {
            "all" => {
                p.v4 = true;
                p.v6 = true;
            }
            "ipv4" => p.v4 = true,
            "ipv6" => p.v6 = true,
            _ => return Err(format!("bad inet_protocols value: {item}")),
        }
    }
    if !p.v4 && !p.v6 {
        return Err("bad inet_protocols value: (empty)".to_string());
    }
    Ok(p)
}

/// Look `name` up as a tcp service in `services` (the text of
/// /etc/services). Returns the port.
pub fn lookup_service(name: &str, services: &str) -> Option<u16> {
    for line in services.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(first), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        if proto != "tcp" {
            continue;
        }
        if first == name || words.any(|alias| alias == name) {
            return port.parse().ok();
        }
    }
    None
}

/// Ports that must resolve even when /etc/services is missing (inside a
/// minimal container).
const WELL_KNOWN: &[(&str, u16)] = &[
    ("smtp", 25),
    ("lmtp", 24),
    ("submission", 587),
    ("submissions", 465),
    ("smtps", 465),
];

/// The port for master.cf's port field `port`: a number, or a tcp service
/// name looked up in `services` (the text of /etc/services, if readable).
/// Errors: `unknown service: name/tcp`.
pub fn port_number(port: &str, services: Option<&str>) -> Result<u16, String> {
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return port.parse().map_err(|_| format!("bad port number: {port}"));
    }
    services
        .and_then(|s| lookup_service(port, s))
        .or_else(|| WELL_KNOWN.iter().find(|(n, _)| *n == port).map(|(_, p)| *p))
        .ok_or_else(|| format!("unknown service: {port}/tcp"))
}

/// Resolve a host name (or address literal) with the system resolver.
/// Errors: `host not found: name`.
pub fn system_resolve(host: &str) -> Result<Vec<IpAddr>, String> {
    let addrs = (host, 0)
        .to_socket_addrs()
        .map_err(|_| format!("host not found: {host}"))?;
    let mut out: Vec<IpAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a.ip()) {
            out.push(a.ip());
        }
    }
    if out.is_empty() {
        return Err(format!("host not found: {host}"));
    }
    Ok(out)
}

fn host_addresses(
    host: &str,
    protos: Protocols,
    resolve: &dyn Fn(&str) -> Result<Vec<IpAddr>, String>,
) -> Result<Vec<IpAddr>, String> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let all = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolve(bare)?,
    };
    let kept: Vec<IpAddr> = all.into_iter().filter(|ip| protos.allows(ip)).collect();
    if kept.is_empty() {
        return Err(format!("no address of host {bare} matches inet_protocols"));
    }
    Ok(kept)
}

/// The socket addresses of an inet service with optional `host` and
/// `port`, given `inet_interfaces` (split into a list) and the enabled
/// protocols. `resolve` turns a host name into addresses. IPv4 addresses
/// come first when both are wildcards; duplicates are dropped.
/// Errors: a host that does not resolve (`host not found: name`) or
/// has no address of an enabled protocol.
pub fn inet_addresses(
    host: Option<&str>,
    port: u16,
    interfaces: &[String],
    protos: Protocols,
    resolve: &dyn Fn(&str) -> Result<Vec<IpAddr>, String>,
) -> Result<Vec<SocketAddr>, String> {
    let mut ips: Vec<IpAddr> = Vec::new();
    if let Some(h) = host {
        ips = host_addresses(h, protos, resolve)?;
    } else {
        for item in interfaces {
            match item.to_ascii_lowercase().as_str() {
                "all" => {
                    if protos.v4 {
                        ips.push(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                    }
                    if protos.v6 {
                        ips.push(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
                    }
                }
                "loopback-only" => {
                    if protos.v4 {
                        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
                    }
                    if protos.v6 {
                        ips.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
                    }
                }
                _ => ips.extend(host_addresses(item, protos, resolve)?),
            }
        }
    }
    let mut out: Vec<SocketAddr> = Vec::new();
    for ip in ips {
        let sa = SocketAddr::new(ip, port);
        if !out.contains(&sa) {
            out.push(sa);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(host: &str) -> Result<Vec<IpAddr>, String> {
        match host {
            "mx.example" => Ok(vec![
                "192.0.2.1".parse().unwrap(),
                "2001:db8::1".parse().unwrap(),
            ]),
            _ => Err(format!("host not found: {host}")),
        }
    }

    fn list(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    const BOTH: Protocols = Protocols { v4: true, v6: true };
    const V4: Protocols = Protocols {
        v4: true,
        v6: false,
    };

    #[test]
    fn protocols() {
        assert_eq!(parse_protocols(&list("all")).unwrap(), BOTH);
        assert_eq!(parse_protocols(&list("ipv4")).unwrap(), V4);
        assert_eq!(parse_protocols(&list("ipv4 ipv6")).unwrap(), BOTH);
        assert!(parse_protocols(&list("ipx")).is_err());
        assert!(parse_protocols(&[]).is_err());
    }

    #[test]
    fn ports() {
        let services = "smtp\t\t25/tcp\t\tmail\nfoo 99/udp\nsubmission 587/tcp # comment\n";
        assert_eq!(port_number("2525", Some(services)), Ok(2525));
        assert_eq!(port_number("smtp", Some(services)), Ok(25));
        assert_eq!(port_number("mail", Some(services)), Ok(25));
        assert_eq!(port_number("submission", Some(services)), Ok(587));
        assert_eq!(
            port_number("foo", Some(services)),
            Err("unknown service: foo/tcp".into())
        );
        assert_eq!(port_number("submissions", None), Ok(465));
        assert!(port_number("99999", None).is_err());
    }

    #[test]
    fn explicit_hosts() {
        let a = inet_addresses(Some("127.0.0.1"), 25, &list("all"), BOTH, &fake).unwrap();
        assert_eq!(a, vec!["127.0.0.1:25".parse().unwrap()]);
        let a = inet_addresses(Some("::1"), 25, &list("all"), BOTH, &fake).unwrap();
        assert_eq!(a, vec!["[::1]:25".parse().unwrap()]);
        let a = inet_addresses(Some("mx.example"), 25, &[], V4, &fake).unwrap();
        assert_eq!(a, vec!["192.0.2.1:25".parse().unwrap()]);
        assert!(inet_addresses(Some("::1"), 25, &[], V4, &fake)
            .unwrap_err()
            .contains("matches inet_protocols"));
        assert_eq!(
            inet_addresses(Some("nowhere"), 25, &[], V4, &fake).unwrap_err(),
            "host not found: nowhere"
        );
    }

    #[test]
    fn interfaces_expand() {
        let a = inet_addresses(None, 25, &list("all"), BOTH, &fake).unwrap();
        assert_eq!(
            a,
            vec!["0.0.0.0:25".parse().unwrap(), "[::]:25".parse().unwrap()]
        );
        let a = inet_addresses(None, 25, &list("all"), V4, &fake).unwrap();
        assert_eq!(a, vec!["0.0.0.0:25".parse().unwrap()]);
        let a = inet_addresses(None, 2525, &list("loopback-only"), BOTH, &fake).unwrap();
        assert_eq!(
            a,
            vec![
                "127.0.0.1:2525".parse().unwrap(),
                "[::1]:2525".parse().unwrap()
            ]
        );
        let a = inet_addresses(
            None,
            25,
            &list("127.0.0.1 [::1] mx.example 127.0.0.1"),
            BOTH,
            &fake,
        )
        .unwrap();
        let want: Vec<SocketAddr> = [
            "127.0.0.1:25",
            "[::1]:25",
            "192.0.2.1:25",
            "[2001:db8::1]:25",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(a, want);
    }
}
