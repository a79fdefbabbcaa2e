//! NAME
//!   peer - who the client is: address, names, and the DNS behind them
//!
//! DESCRIPTION
//!   [`Peer::lookup`] fills in the client's names as Postfix's smtpd_peer
//!   does when `smtpd_peername_lookup = yes`: the reverse name is the
//!   first PTR name (or `unknown`); the verified name is that name only
//!   when it resolves back to the client address (forward-confirmed
//!   reverse DNS), else `unknown`. With the lookup off, or for a client
//!   that is not on an IP socket, the names are `unknown`; stand-alone
//!   mode (`sendmail -bs`) is `localhost[127.0.0.1]`.
//!
//!   DNS goes through the [`Dns`] trait: [`crate::dns`] implements it
//!   with a resolver library; tests use a table.
//!
//! SEE ALSO
//!   postconf(5) `smtpd_peername_lookup`, `smtpd_client_port_logging`.
use std::net::IpAddr;

/// The answer of one DNS question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer<T> {
    /// Records were found.
    Found(T),
    /// The name or record does not exist.
    NotFound,
    /// A temporary failure (timeout, SERVFAIL): try again later.
    TempFail(String),
}

/// The DNS questions smtpd asks.
pub trait Dns: Send {
    /// PTR names of `ip`.
    fn reverse(&self, ip: IpAddr) -> DnsAnswer<Vec<String>>;
    /// A and AAAA addresses of `name`.
    fn addresses(&self, name: &str) -> DnsAnswer<Vec<IpAddr>>;
    /// Whether `domain` has an MX record, or else an A/AAAA record
    /// (reject_unknown_sender_domain and friends).
    fn mail_domain_exists(&self, domain: &str) -> DnsAnswer<()>;
}

/// A resolver that knows nothing (DNS off): every name is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDns;

impl Dns for NoDns {
    fn reverse(&self, _: IpAddr) -> DnsAnswer<Vec<String>> {
        DnsAnswer::NotFound
    }
    fn addresses(&self, _: &str) -> DnsAnswer<Vec<IpAddr>> {
        DnsAnswer::NotFound
    }
    fn mail_domain_exists(&self, _: &str) -> DnsAnswer<()> {
        DnsAnswer::NotFound
    }
}

/// The SMTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Forward-confirmed name, or `unknown`.
    pub name: String,
    /// PTR name, or `unknown`.
    pub reverse_name: String,
    /// The name lookup failed temporarily (names are `unknown`).
    pub name_tempfail: bool,
    /// The address as text (`192.0.2.1`, `2001:db8::1`).
    pub addr: String,
    /// The address as used in Received: (`IPv6:2001:db8::1`).
    pub rfc_addr: String,
    /// The client port, or `unknown`.
    pub port: String,
    /// The address, when the client is on an IP socket.
    pub ip: Option<IpAddr>,
    /// `name[addr]` (with `:port` when `smtpd_client_port_logging`).
    pub namaddr: String,
}

impl Peer {
    /// A client at `ip:port`, names not looked up (`unknown`).
    pub fn unknown(ip: IpAddr, port: u16) -> Peer {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let addr = ip.to_string();
        Peer {
            name: "unknown".into(),
            reverse_name: "unknown".into(),
            name_tempfail: false,
            rfc_addr: match ip {
                IpAddr::V6(_) => format!("IPv6:{addr}"),
                IpAddr::V4(_) => addr.clone(),
            },
            namaddr: format!("unknown[{addr}]"),
            addr,
            port: port.to_string(),
            ip: Some(ip),
        }
    }

    /// The stand-alone (`sendmail -bs`) or non-IP client:
    /// `localhost[127.0.0.1]`.
    pub fn local() -> Peer {
        Peer {
            name: "localhost".into(),
            reverse_name: "localhost".into(),
            name_tempfail: false,
            addr: "127.0.0.1".into(),
            rfc_addr: "127.0.0.1".into(),
            port: "unknown".into(),
            ip: None,
            namaddr: "localhost[127.0.0.1]".into(),
        }
    }

    /// Look up the names of the client at `ip:port` (module description).
    /// `port_logging`: `smtpd_client_port_logging`.
    pub fn lookup(ip: IpAddr, port: u16, dns: &dyn Dns, port_logging: bool) -> Peer {
        let mut p = Peer::unknown(ip, port);
        let ip = p.ip.unwrap_or(ip);
        match dns.reverse(ip) {
            DnsAnswer::Found(names) if !names.is_empty() => {
                let name = names[0].trim_end_matches('.').to_ascii_lowercase();
                if valid_hostname(&name) {
                    p.reverse_name = name.clone();
                    match dns.addresses(&name) {
                        DnsAnswer::Found(addrs) if addrs.contains(&ip) => p.name = name,
                        DnsAnswer::TempFail(_) => p.name_tempfail = true,
                        _ => {}
                    }
                }
            }
            DnsAnswer::TempFail(_) => p.name_tempfail = true,
            _ => {}
        }
        p.set_namaddr(port_logging);
        p
    }

    /// Recompute `namaddr` from name, address and port.
    pub fn set_namaddr(&mut self, port_logging: bool) {
        self.namaddr = if port_logging && self.port != "unknown" {
            format!("{}[{}]:{}", self.name, self.addr, self.port)
        } else {
            format!("{}[{}]", self.name, self.addr)
        };
    }
}

/// RFC 1035 host name syntax as Postfix's `valid_hostname`: labels of
/// letters, digits, `-` (not at either end) and `_`, at most 63 bytes
/// each, 255 in all, not all-numeric.
pub fn valid_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    let mut all_numeric = true;
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return false;
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
        if !label.bytes().all(|b| b.is_ascii_digit()) {
            all_numeric = false;
        }
    }
    !all_numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Table;
    impl Dns for Table {
        fn reverse(&self, ip: IpAddr) -> DnsAnswer<Vec<String>> {
            match ip.to_string().as_str() {
                "192.0.2.1" => DnsAnswer::Found(vec!["good.example.".into()]),
                "192.0.2.2" => DnsAnswer::Found(vec!["liar.example".into()]),
                "192.0.2.3" => DnsAnswer::TempFail("timeout".into()),
                _ => DnsAnswer::NotFound,
            }
        }
        fn addresses(&self, name: &str) -> DnsAnswer<Vec<IpAddr>> {
            match name {
                "good.example" => DnsAnswer::Found(vec!["192.0.2.1".parse().unwrap()]),
                "liar.example" => DnsAnswer::Found(vec!["198.51.100.1".parse().unwrap()]),
                _ => DnsAnswer::NotFound,
            }
        }
        fn mail_domain_exists(&self, _: &str) -> DnsAnswer<()> {
            DnsAnswer::NotFound
        }
    }

    #[test]
    fn forward_confirmed_names() {
        let p = Peer::lookup("192.0.2.1".parse().unwrap(), 25, &Table, false);
        assert_eq!(p.namaddr, "good.example[192.0.2.1]");
        let p = Peer::lookup("192.0.2.2".parse().unwrap(), 25, &Table, true);
        assert_eq!(
            (p.name.as_str(), p.reverse_name.as_str()),
            ("unknown", "liar.example")
        );
        assert_eq!(p.namaddr, "unknown[192.0.2.2]:25");
        let p = Peer::lookup("192.0.2.3".parse().unwrap(), 25, &Table, false);
        assert!(p.name_tempfail);
        let p = Peer::lookup("::1".parse().unwrap(), 25, &Table, false);
        assert_eq!(
            (p.namaddr.as_str(), p.rfc_addr.as_str()),
            ("unknown[::1]", "IPv6:::1")
        );
    }

    #[test]
    fn hostnames() {
        assert!(valid_hostname("mail.example.com"));
        assert!(valid_hostname("localhost"));
        assert!(!valid_hostname("1.2.3.4"));
        assert!(!valid_hostname("-a.example"));
        assert!(!valid_hostname("a..b"));
        assert!(!valid_hostname("a b"));
    }
}
