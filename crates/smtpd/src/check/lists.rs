//! NAME
//!   lists - Postfix network lists and domain lists
//!
//! DESCRIPTION
//!   [`NetList`] matches a client address against a list such as
//!   `mynetworks`: `net/mask` (`127.0.0.0/8`, `[::1]/128`), single
//!   addresses, `type:table` (looked up with the address and its
//!   shorter prefixes, access(5) order), `/file/name` (a file of such
//!   patterns) and `!pattern` (a match is a non-match and ends the
//!   search).
//!
//!   [`DomainList`] matches a domain against a list such as
//!   `mydestination` or `relay_domains`: names (subdomains match too when
//!   the parameter is in `parent_domain_matches_subdomains`, else a
//!   `.domain` entry matches subdomains), `type:table`, `/file/name` and
//!   `!pattern`.
//!
//! DIAGNOSTICS
//!   A file of patterns that cannot be read is logged as a warning at
//!   start and ignored; a table that cannot be opened is logged and
//!   replaced by a [`super::surrogate`] whose lookups fail. A lookup
//!   error is logged (`warning: mynetworks: lmdb:/x: table lookup
//!   problem`) and returned as an error; the caller answers `451 4.3.0
//!   <name>: Temporary lookup failure`, as Postfix does.
use super::surrogate;
use ipnet::IpNet;
use maps::Maps;
use std::net::IpAddr;
use util::{msg_error, msg_warn};

enum NetItem {
    Net(IpNet, bool),
    Table(Maps, bool),
}

/// A network list (`mynetworks`, `smtpd_forbid_bare_newline_exclusions`).
pub struct NetList {
    items: Vec<NetItem>,
}

impl std::fmt::Debug for NetList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetList({} items)", self.items.len())
    }
}

/// The items of list `value` with `/file/name` entries replaced by the
/// file's patterns. A file that cannot be read becomes an `Err` item
/// (name, why), which the caller turns into a failing table.
fn expand_files(value: &str) -> Vec<Result<String, (String, String)>> {
    let mut out = Vec::new();
    for item in util::strings::split_list(value) {
        let (neg, body) = match item.strip_prefix('!') {
            Some(b) => ("!", b.to_string()),
            None => ("", item.clone()),
        };
        if body.starts_with('/') && !body.contains(':') {
            match std::fs::read_to_string(&body) {
                Ok(text) => {
                    for line in text.lines() {
                        let line = line.split('#').next().unwrap_or("");
                        for w in util::strings::split_list(line) {
                            out.push(Ok(format!("{neg}{w}")));
                        }
                    }
                }
                Err(e) => {
                    let why = format!(
                        "open {body}: {}",
                        util::strings::strip_os_error(&e.to_string())
                    );
                    msg_error!("{why}");
                    out.push(Err((body, why)));
                }
            }
        } else {
            out.push(Ok(item));
        }
    }
    out
}

/// A table of list `title` standing for file `name` that could not be
/// read (`why`): its lookups fail.
fn broken(title: &str, name: &str, why: &str) -> Maps {
    Maps::from_dicts(title, vec![Box::new(surrogate::Surrogate::new(name, why))])
}

/// Log a failed lookup in table list `m` and return the error text.
fn lookup_problem(m: &Maps, e: &maps::DictError) -> String {
    surrogate::warn_lookup(m.title(), e);
    e.to_string()
}

/// Parse `a.b.c.d/n`, `[v6]/n`, `a.b.c.d`, `[v6]`, `v6`.
pub fn parse_net(s: &str) -> Option<IpNet> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = addr.parse().ok()?;
    let bits = match mask {
        Some(m) => m.parse::<u8>().ok()?,
        None => match ip {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        },
    };
    IpNet::new(ip, bits).ok().map(|n| n.trunc())
}

impl NetList {
    /// Parse list `value` of parameter `title`; bad entries are logged.
    pub fn parse(title: &str, value: &str) -> NetList {
        let mut items = Vec::new();
        for item in expand_files(value) {
            let item = match item {
                Ok(i) => i,
                Err((name, why)) => {
                    items.push(NetItem::Table(broken(title, &name, &why), false));
                    continue;
                }
            };
            let (neg, body) = match item.strip_prefix('!') {
                Some(b) => (true, b),
                None => (false, item.as_str()),
            };
            if body.contains(':') && !body.starts_with('[') && parse_net(body).is_none() {
                let m = Maps::from_dicts(title, vec![surrogate::open(body)]);
                items.push(NetItem::Table(m, neg));
            } else if let Some(n) = parse_net(body) {
                items.push(NetItem::Net(n, neg));
            } else {
                msg_warn!("{title}: bad network pattern: {body}");
            }
        }
        NetList { items }
    }

    /// Whether `ip` matches. Errors: a table lookup failed.
    pub fn matches(&self, ip: IpAddr) -> Result<bool, String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        for item in &self.items {
            match item {
                NetItem::Net(n, neg) if n.contains(&ip) => return Ok(!neg),
                NetItem::Table(m, neg) => {
                    let hit = maps::search::find_host_address(m, &ip.to_string())
                        .map_err(|e| lookup_problem(m, &e))?;
                    if hit.is_some() {
                        return Ok(!neg);
                    }
                }
                NetItem::Net(..) => {}
            }
        }
        Ok(false)
    }
}

enum DomainItem {
    Name(String, bool),
    Table(Maps, bool),
}

/// A domain list (`mydestination`, `relay_domains`, ...).
pub struct DomainList {
    items: Vec<DomainItem>,
    parent_matches: bool,
}

impl std::fmt::Debug for DomainList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DomainList({} items)", self.items.len())
    }
}

impl DomainList {
    /// Parse list `value` of parameter `title`. `parent_matches`: the
    /// parameter is listed in `parent_domain_matches_subdomains`.
    pub fn parse(title: &str, value: &str, parent_matches: bool) -> DomainList {
        let mut items = Vec::new();
        for item in expand_files(value) {
            let item = match item {
                Ok(i) => i,
                Err((name, why)) => {
                    items.push(DomainItem::Table(broken(title, &name, &why), false));
                    continue;
                }
            };
            let (neg, body) = match item.strip_prefix('!') {
                Some(b) => (true, b.to_string()),
                None => (false, item.clone()),
            };
            if body.contains(':') && !body.starts_with('[') {
                let m = Maps::from_dicts(title, vec![surrogate::open(&body)]);
                items.push(DomainItem::Table(m, neg));
            } else {
                items.push(DomainItem::Name(body.to_ascii_lowercase(), neg));
            }
        }
        DomainList {
            items,
            parent_matches,
        }
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `domain` (case-insensitive) matches. Errors: a table
    /// lookup failed.
    pub fn matches(&self, domain: &str) -> Result<bool, String> {
        let d = domain.to_ascii_lowercase();
        let d = d.trim_end_matches('.');
        for item in &self.items {
            match item {
                DomainItem::Name(name, neg) => {
                    let hit = if let Some(parent) = name.strip_prefix('.') {
                        d.ends_with(&format!(".{parent}"))
                    } else {
                        d == name || (self.parent_matches && d.ends_with(&format!(".{name}")))
                    };
                    if hit {
                        return Ok(!neg);
                    }
                }
                DomainItem::Table(m, neg) => {
                    let hit = maps::search::find_domain(m, d, self.parent_matches, false)
                        .map_err(|e| lookup_problem(m, &e))?;
                    if hit.is_some() {
                        return Ok(!neg);
                    }
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let l = NetList::parse(
            "mynetworks",
            "127.0.0.0/8 [::1]/128 !192.0.2.7 192.0.2.0/24",
        );
        assert!(l.matches("127.0.0.1".parse().unwrap()).unwrap());
        assert!(l.matches("::1".parse().unwrap()).unwrap());
        assert!(l.matches("::ffff:127.0.0.1".parse().unwrap()).unwrap());
        assert!(!l.matches("192.0.2.7".parse().unwrap()).unwrap());
        assert!(l.matches("192.0.2.8".parse().unwrap()).unwrap());
        assert!(!l.matches("10.0.0.1".parse().unwrap()).unwrap());
    }

    #[test]
    fn domains() {
        let l = DomainList::parse(
            "relay_domains",
            "example.com, .sub.example.org !bad.example.net example.net",
            true,
        );
        assert!(l.matches("EXAMPLE.com").unwrap());
        assert!(l.matches("a.example.com").unwrap());
        assert!(l.matches("x.sub.example.org").unwrap());
        assert!(!l.matches("sub.example.org").unwrap());
        assert!(!l.matches("bad.example.net").unwrap());
        let strict = DomainList::parse("mydestination", "example.com", false);
        assert!(!strict.matches("a.example.com").unwrap());
        let t = DomainList::parse("x", "inline:{ one.example=1 }", false);
        assert!(t.matches("one.example").unwrap());
        let broken = DomainList::parse("relay_domains", "lmdb:/nonexistent/relay", false);
        assert!(broken.matches("one.example").is_err());
        let nets = NetList::parse("mynetworks", "lmdb:/nonexistent/nets");
        assert!(nets.matches("192.0.2.1".parse().unwrap()).is_err());
    }
}
