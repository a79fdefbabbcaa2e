//! NAME
//!   host - defaults that depend on the host: myhostname, mydomain, mynetworks
//!
//! DESCRIPTION
//!   `myhostname` defaults to the system host name; a name without a dot
//!   gets `.localdomain` appended, as Postfix does. `mydomain` defaults to
//!   `myhostname` less its first label (or `localdomain`). `mynetworks`
//!   defaults, per `mynetworks_style` (postconf(5)), to the networks of the
//!   addresses Postfix receives mail on ([`own_networks`]: the interface
//!   addresses that `inet_interfaces` names): `subnet` (each address's
//!   network), `host` (each address alone) or `class` (the address's class
//!   A/B/C network), IPv4 first, IPv6 in `[addr]/len` form.
//!
//! DIAGNOSTICS
//!   [`own_networks`] fails as Postfix does: `config variable
//!   inet_interfaces: host not found: NAME` (a name that does not resolve
//!   to an address of an enabled protocol, `ipv4` for instance) and
//!   `parameter inet_interfaces: no local interface found for ADDR`.
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, ToSocketAddrs};

/// The default of `myhostname`: the system's host name, made
/// fully qualified with `.localdomain` when it has no dot.
pub fn default_myhostname() -> String {
    let name = nix::unistd::gethostname()
        .ok()
        .and_then(|s| s.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string());
    if name.contains('.') {
        name
    } else {
        format!("{name}.localdomain")
    }
}

/// The default of `mydomain` for a given `myhostname`.
pub fn default_mydomain(myhostname: &str) -> String {
    match myhostname.split_once('.') {
        Some((_, rest)) if rest.contains('.') || !rest.is_empty() => rest.to_string(),
        _ => "localdomain".to_string(),
    }
}

/// The addresses and prefix lengths of this machine's interfaces.
pub fn interface_networks() -> Vec<IpNet> {
    let mut out = Vec::new();
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return out;
    };
    for ifa in addrs {
        let (Some(addr), Some(mask)) = (ifa.address, ifa.netmask) else {
            continue;
        };
        if let (Some(a), Some(m)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) {
            let len = u32::from(m.ip()).count_ones() as u8;
            if let Ok(n) = Ipv4Net::new(a.ip(), len) {
                out.push(IpNet::V4(n));
            }
        } else if let (Some(a), Some(m)) = (addr.as_sockaddr_in6(), mask.as_sockaddr_in6()) {
            let len = u128::from(m.ip()).count_ones() as u8;
            if let Ok(n) = Ipv6Net::new(a.ip(), len) {
                out.push(IpNet::V6(n));
            }
        }
    }
    out
}

/// Resolve a host name with the system resolver (getaddrinfo); `None`
/// when it has no address.
pub fn resolve_host(name: &str) -> Option<Vec<IpAddr>> {
    let addrs: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// The interface networks Postfix receives mail on (Postfix's
/// own_inet_addr_list with their netmasks): for `inet_interfaces`
/// (the list, split) `all`, every network in `nets`; `loopback-only`,
/// the loopback ones; else each element is an address (`[...]` allowed)
/// or a host name (`resolve`), and each of its addresses must be one of
/// `nets`. Only the IP versions in `inet_protocols` count.
///
/// Errors: the fatal message Postfix gives (see DIAGNOSTICS).
pub fn own_networks(
    inet_interfaces: &[String],
    nets: &[IpNet],
    inet_protocols: &str,
    resolve: &dyn Fn(&str) -> Option<Vec<IpAddr>>,
) -> Result<Vec<IpNet>, String> {
    let want_v4 = inet_protocols.contains("all") || inet_protocols.contains("ipv4");
    let want_v6 = inet_protocols.contains("all") || inet_protocols.contains("ipv6");
    let wanted = |ip: &IpAddr| if ip.is_ipv4() { want_v4 } else { want_v6 };
    let single = match inet_interfaces {
        [one] => one.to_ascii_lowercase(),
        _ => String::new(),
    };
    if single == "all" {
        return Ok(nets.iter().filter(|n| wanted(&n.addr())).copied().collect());
    }
    if single == "loopback-only" {
        return Ok(nets
            .iter()
            .filter(|n| n.addr().is_loopback() && wanted(&n.addr()))
            .copied()
            .collect());
    }
    let mut out: Vec<IpNet> = Vec::new();
    for item in inet_interfaces {
        let bare = item
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(item);
        let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => resolve(bare).unwrap_or_default(),
        };
        let addrs: Vec<IpAddr> = addrs.into_iter().filter(|a| wanted(a)).collect();
        if addrs.is_empty() {
            return Err(format!(
                "config variable inet_interfaces: host not found: {item}"
            ));
        }
        for a in addrs {
            let net = nets.iter().find(|n| n.addr() == a).ok_or_else(|| {
                format!("parameter inet_interfaces: no local interface found for {a}")
            })?;
            if !out.contains(net) {
                out.push(*net);
            }
        }
    }
    Ok(out)
}

/// Format a network as Postfix prints it in `mynetworks`:
/// `10.0.0.0/8`, `[fe80::]/64`.
pub fn format_network(n: &IpNet) -> String {
    match n {
        IpNet::V4(v4) => format!("{}/{}", v4.network(), v4.prefix_len()),
        IpNet::V6(v6) => format!("[{}]/{}", v6.network(), v6.prefix_len()),
    }
}

/// The default of `mynetworks` for `style` (`subnet`, `host`, `class`)
/// from the interface addresses `nets`, keeping only the IP versions in
/// `inet_protocols` (`all`, `ipv4`, `ipv6`).
pub fn default_mynetworks(style: &str, nets: &[IpNet], inet_protocols: &str) -> String {
    let want_v4 = inet_protocols.contains("all") || inet_protocols.contains("ipv4");
    let want_v6 = inet_protocols.contains("all") || inet_protocols.contains("ipv6");
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in nets {
        let shaped = match (style, n) {
            ("host", IpNet::V4(x)) => IpNet::V4(Ipv4Net::new(x.addr(), 32).unwrap_or(*x)),
            ("host", IpNet::V6(x)) => IpNet::V6(Ipv6Net::new(x.addr(), 128).unwrap_or(*x)),
            ("class", IpNet::V4(x)) => {
                let first = x.addr().octets()[0];
                let len = if first < 128 {
                    8
                } else if first < 192 {
                    16
                } else {
                    24
                };
                IpNet::V4(Ipv4Net::new(x.addr(), len).map(|n| n.trunc()).unwrap_or(*x))
            }
            (_, other) => other.trunc(),
        };
        let s = format_network(&shaped);
        match shaped.addr() {
            IpAddr::V4(_) if want_v4 && !v4.contains(&s) => v4.push(s),
            IpAddr::V6(_) if want_v6 && !v6.contains(&s) => v6.push(s),
            _ => {}
        }
    }
    v4.extend(v6);
    v4.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_from_hostname() {
        assert_eq!(default_mydomain("vm.localdomain"), "localdomain");
        assert_eq!(default_mydomain("mx.example.org"), "example.org");
        assert_eq!(default_mydomain("plain"), "localdomain");
    }

    #[test]
    fn networks_by_style() {
        let nets: Vec<IpNet> = ["127.0.0.1/8", "192.0.2.10/24", "::1/128", "fe80::1/64"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(
            default_mynetworks("subnet", &nets, "all"),
            "127.0.0.0/8 192.0.2.0/24 [::1]/128 [fe80::]/64"
        );
        assert_eq!(
            default_mynetworks("host", &nets, "ipv4"),
            "127.0.0.1/32 192.0.2.10/32"
        );
        assert_eq!(
            default_mynetworks("class", &nets, "ipv4"),
            "127.0.0.0/8 192.0.2.0/24"
        );
    }

    fn own(list: &[&str], protos: &str) -> Result<String, String> {
        let nets: Vec<IpNet> = ["127.0.0.1/8", "192.0.2.2/24", "::1/128", "fd00::2/64"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let resolve = |name: &str| -> Option<Vec<IpAddr>> {
            (name == "localhost").then(|| vec!["127.0.0.1".parse().unwrap()])
        };
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        own_networks(&list, &nets, protos, &resolve).map(|n| default_mynetworks("host", &n, protos))
    }

    #[test]
    fn networks_follow_inet_interfaces() {
        // The values Debian's Postfix 3.7 gives on a host with these addresses.
        assert_eq!(
            own(&["loopback-only"], "all").unwrap(),
            "127.0.0.1/32 [::1]/128"
        );
        assert_eq!(own(&["loopback-only"], "ipv4").unwrap(), "127.0.0.1/32");
        assert_eq!(
            own(&["all"], "all").unwrap(),
            "127.0.0.1/32 192.0.2.2/32 [::1]/128 [fd00::2]/128"
        );
        assert_eq!(own(&["127.0.0.1"], "all").unwrap(), "127.0.0.1/32");
        assert_eq!(own(&["localhost"], "all").unwrap(), "127.0.0.1/32");
        assert_eq!(
            own(&["localhost", "127.0.0.1"], "all").unwrap(),
            "127.0.0.1/32"
        );
        assert_eq!(
            own(&["[::1]", "127.0.0.1"], "all").unwrap(),
            "127.0.0.1/32 [::1]/128"
        );
        assert_eq!(own(&["fd00::2"], "all").unwrap(), "[fd00::2]/128");
        assert_eq!(own(&[], "all").unwrap(), "");
        assert_eq!(
            own(&["ipv4"], "all").unwrap_err(),
            "config variable inet_interfaces: host not found: ipv4"
        );
        assert_eq!(
            own(&["[::1]"], "ipv4").unwrap_err(),
            "config variable inet_interfaces: host not found: [::1]"
        );
        assert_eq!(
            own(&["all", "127.0.0.1"], "all").unwrap_err(),
            "config variable inet_interfaces: host not found: all"
        );
        assert_eq!(
            own(&["192.0.2.99"], "all").unwrap_err(),
            "parameter inet_interfaces: no local interface found for 192.0.2.99"
        );
    }
}
