//! NAME
//!   targets - choose the addresses to try for one destination
//!
//! DESCRIPTION
//!   [`plan`] turns an Internet destination into an ordered list of
//!   [`Target`]s (host name, address, port) as Postfix's smtp_addr does:
//!
//!   - an IP address literal is the only target;
//!   - with MX lookup (a bare domain, `smtp_host_lookup` including
//!     `dns`): the MX hosts sorted by preference, hosts of equal
//!     preference in random order (RFC 5321 5.1); a null MX (RFC 7505)
//!     bounces with `5.1.0 Domain D does not accept mail (nullMX)`; no
//!     MX record (NODATA) falls back to the domain's own addresses; a
//!     domain that does not exist bounces (`5.4.4`), a lookup that
//!     failed defers (`4.4.3`). MX hosts named `$myhostname` and every
//!     host of equal or worse preference are dropped; when that leaves
//!     nothing the mail "loops back to myself" (`5.4.6`);
//!   - each host's addresses are limited to `inet_protocols`, in random
//!     order when `smtp_randomize_addresses` is set, then ordered by
//!     `smtp_address_preference` (`ipv4` or `ipv6` first; `any` keeps
//!     the order);
//!   - at most `smtp_mx_address_limit` addresses in all (0 = no limit).
//!
//!   `smtp_host_lookup = native` asks getaddrinfo(3) for addresses and
//!   never looks up MX records; `dns, native` asks DNS first and the
//!   system when DNS does not know the name.
//!
//! SEE ALSO
//!   RFC 5321 section 5, RFC 7505, postconf(5) `smtp_host_lookup`,
//!   `smtp_address_preference`, `smtp_mx_address_limit`.
use crate::dns::{Answer, Families, Lookup, MxAnswer};
use crate::params::Params;
use deliver::Dsn;
use rand::seq::SliceRandom;
use std::net::IpAddr;

/// One address to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name for logs (`mx1.example.com`, or the address).
    pub name: String,
    /// The address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
}

/// The lookups available: DNS, native, or both in that order.
#[derive(Clone, Copy)]
pub struct Lookups<'a> {
    /// DNS (None when `smtp_host_lookup` leaves it out).
    pub dns: Option<&'a dyn Lookup>,
    /// The system resolver (None when not configured).
    pub native: Option<&'a dyn Lookup>,
}

fn not_found(name: &str, rtype: &str, answer: &Answer<Vec<IpAddr>>) -> Dsn {
    let (code, why) = match answer {
        Answer::TempFail(_) => ("4.4.3", "Host not found, try again"),
        Answer::NoData => ("5.4.4", "Host found but no data record of requested type"),
        _ => ("5.4.4", "Host not found"),
    };
    Dsn::new(
        code,
        &format!(
            "Host or domain name not found. Name service error for name={name} type={rtype}: {why}"
        ),
    )
}

/// Addresses of `host` through the configured lookups.
fn host_addrs(lk: Lookups<'_>, host: &str, fam: Families) -> Answer<Vec<IpAddr>> {
    let mut last = Answer::NotFound;
    for l in [lk.dns, lk.native].into_iter().flatten() {
        match l.addrs(host, fam) {
            Answer::Found(a) => return Answer::Found(a),
            Answer::TempFail(t) => return Answer::TempFail(t),
            other => last = other,
        }
    }
    last
}

fn order(mut addrs: Vec<IpAddr>, p: &Params) -> Vec<IpAddr> {
    addrs.retain(|a| (a.is_ipv4() && p.ipv4) || (a.is_ipv6() && p.ipv6));
    if p.randomize_addresses {
        addrs.shuffle(&mut rand::thread_rng());
    }
    match p.address_preference.as_str() {
        "ipv4" => addrs.sort_by_key(|a| !a.is_ipv4()),
        "ipv6" => addrs.sort_by_key(|a| !a.is_ipv6()),
        _ => {}
    }
    addrs
}

fn limit(mut t: Vec<Target>, p: &Params) -> Vec<Target> {
    if p.mx_address_limit > 0 {
        t.truncate(p.mx_address_limit);
    }
    t
}

/// The targets of `host:port` (see the module description); `mx`
/// asks for MX lookup. Errors: the status for every recipient.
pub fn plan(
    lk: Lookups<'_>,
    p: &Params,
    host: &str,
    port: u16,
    mx: bool,
) -> Result<Vec<Target>, Dsn> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![Target {
            name: ip.to_string(),
            addr: ip,
            port,
        }]);
    }
    let fam = Families {
        v4: p.ipv4,
        v6: p.ipv6,
    };
    let direct = |name: &str| -> Result<Vec<Target>, Dsn> {
        match host_addrs(lk, name, fam) {
            Answer::Found(a) => Ok(limit(
                order(a, p)
                    .into_iter()
                    .map(|addr| Target {
                        name: name.to_string(),
                        addr,
                        port,
                    })
                    .collect(),
                p,
            )),
            other => Err(not_found(name, if p.ipv4 { "A" } else { "AAAA" }, &other)),
        }
    };
    let Some(dns) = lk.dns.filter(|_| mx) else {
        return direct(host);
    };
    let mut mxs = match dns.mx(host) {
        MxAnswer::NullMx => {
            return Err(Dsn::new(
                "5.1.0",
                &format!("Domain {host} does not accept mail (nullMX)"),
            ));
        }
        MxAnswer::Found(list) => list,
        MxAnswer::Other(Answer::NoData) => return direct(host),
        MxAnswer::Other(Answer::NotFound) if lk.native.is_some() => return direct(host),
        MxAnswer::Other(a) => {
            let why = match a {
                Answer::TempFail(_) => ("4.4.3", "Host not found, try again"),
                _ => ("5.4.4", "Host not found"),
            };
            return Err(Dsn::new(
                why.0,
                &format!(
                    "Host or domain name not found. Name service error for name={host} type=MX: {}",
                    why.1
                ),
            ));
        }
    };
    // Random order among equal preferences: shuffle, then stable sort.
    mxs.shuffle(&mut rand::thread_rng());
    mxs.sort_by_key(|(pref, _)| *pref);
    if let Some(mine) = mxs
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(&p.myhostname))
        .map(|(pref, _)| *pref)
    {
        mxs.retain(|(pref, _)| *pref < mine);
        if mxs.is_empty() {
            return Err(Dsn::new(
                "5.4.6",
                &format!("mail for {host} loops back to myself"),
            ));
        }
    }
    let mut out = Vec::new();
    let mut last_err: Option<Dsn> = None;
    for (_, name) in &mxs {
        match host_addrs(lk, name, fam) {
            Answer::Found(a) => out.extend(order(a, p).into_iter().map(|addr| Target {
                name: name.clone(),
                addr,
                port,
            })),
            other => {
                let d = not_found(name, if p.ipv4 { "A" } else { "AAAA" }, &other);
                // A temporary failure outranks a permanent one.
                if !matches!(&last_err, Some(l) if l.status.class == 4) {
                    last_err = Some(d);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(last_err.unwrap_or_else(|| Dsn::new("4.4.3", "no MX host has an address")));
    }
    Ok(limit(out, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Proto;
    use std::collections::HashMap;
    use std::path::Path;

    #[derive(Default)]
    struct Fake {
        mx: HashMap<String, MxAnswer>,
        a: HashMap<String, Answer<Vec<IpAddr>>>,
    }

    impl Lookup for Fake {
        fn mx(&self, d: &str) -> MxAnswer {
            self.mx
                .get(d)
                .cloned()
                .unwrap_or(MxAnswer::Other(Answer::NotFound))
        }
        fn addrs(&self, h: &str, _f: Families) -> Answer<Vec<IpAddr>> {
            self.a.get(h).cloned().unwrap_or(Answer::NotFound)
        }
    }

    fn params(extra: &str) -> Params {
        let cfg = global::Config::from_text(
            Path::new("/nonexistent"),
            &format!("myhostname = me.example\nsmtp_randomize_addresses = no\n{extra}"),
        )
        .unwrap();
        Params::from_config(&cfg, Proto::Smtp)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn fake() -> Fake {
        let mut f = Fake::default();
        f.mx.insert(
            "example.com".into(),
            MxAnswer::Found(vec![
                (20, "mx2.example.com".into()),
                (10, "mx1.example.com".into()),
            ]),
        );
        f.mx.insert("null.example".into(), MxAnswer::NullMx);
        f.mx.insert("anoMX.example".into(), MxAnswer::Other(Answer::NoData));
        f.mx.insert(
            "fail.example".into(),
            MxAnswer::Other(Answer::TempFail("x".into())),
        );
        f.mx.insert(
            "loop.example".into(),
            MxAnswer::Found(vec![
                (10, "ME.example".into()),
                (20, "mx2.example.com".into()),
            ]),
        );
        f.a.insert(
            "mx1.example.com".into(),
            Answer::Found(vec![ip("192.0.2.1"), ip("2001:db8::1")]),
        );
        f.a.insert(
            "mx2.example.com".into(),
            Answer::Found(vec![ip("192.0.2.2")]),
        );
        f.a.insert("anoMX.example".into(), Answer::Found(vec![ip("192.0.2.9")]));
        f
    }

    fn run(f: &Fake, p: &Params, host: &str, mx: bool) -> Result<Vec<String>, String> {
        let lk = Lookups {
            dns: Some(f),
            native: None,
        };
        plan(lk, p, host, 25, mx)
            .map(|t| {
                t.iter()
                    .map(|t| format!("{}[{}]", t.name, t.addr))
                    .collect()
            })
            .map_err(|d| format!("{} {}", d.status, d.reason))
    }

    #[test]
    fn mx_order_and_limits() {
        let f = fake();
        let p = params("");
        assert_eq!(
            run(&f, &p, "example.com", true).unwrap(),
            [
                "mx1.example.com[192.0.2.1]",
                "mx1.example.com[2001:db8::1]",
                "mx2.example.com[192.0.2.2]"
            ]
        );
        let p6 = params("smtp_address_preference = ipv6\nsmtp_mx_address_limit = 2");
        assert_eq!(
            run(&f, &p6, "example.com", true).unwrap(),
            ["mx1.example.com[2001:db8::1]", "mx1.example.com[192.0.2.1]"]
        );
        let p4 = params("inet_protocols = ipv4");
        assert_eq!(run(&f, &p4, "example.com", true).unwrap().len(), 2);
        // [host] suppresses MX lookup.
        assert_eq!(
            run(&f, &p, "mx2.example.com", false).unwrap(),
            ["mx2.example.com[192.0.2.2]"]
        );
        assert_eq!(
            run(&f, &p, "192.0.2.7", false).unwrap(),
            ["192.0.2.7[192.0.2.7]"]
        );
    }

    #[test]
    fn dns_failures() {
        let f = fake();
        let p = params("");
        assert_eq!(
            run(&f, &p, "null.example", true).unwrap_err(),
            "5.1.0 Domain null.example does not accept mail (nullMX)"
        );
        assert_eq!(
            run(&f, &p, "anoMX.example", true).unwrap(),
            ["anoMX.example[192.0.2.9]"]
        );
        assert_eq!(
            run(&f, &p, "fail.example", true).unwrap_err(),
            "4.4.3 Host or domain name not found. Name service error for name=fail.example type=MX: Host not found, try again"
        );
        assert_eq!(
            run(&f, &p, "nx.example", true).unwrap_err(),
            "5.4.4 Host or domain name not found. Name service error for name=nx.example type=MX: Host not found"
        );
        assert_eq!(
            run(&f, &p, "nx.example", false).unwrap_err(),
            "5.4.4 Host or domain name not found. Name service error for name=nx.example type=A: Host not found"
        );
        assert_eq!(
            run(&f, &p, "loop.example", true).unwrap_err(),
            "5.4.6 mail for loop.example loops back to myself"
        );
    }

    #[test]
    fn equal_preferences_are_shuffled() {
        let mut f = Fake::default();
        let names: Vec<String> = (0..6).map(|i| format!("m{i}.example")).collect();
        f.mx.insert(
            "eq.example".into(),
            MxAnswer::Found(names.iter().map(|n| (10, n.clone())).collect()),
        );
        for (i, n) in names.iter().enumerate() {
            f.a.insert(
                n.clone(),
                Answer::Found(vec![ip(&format!("192.0.2.{}", i + 1))]),
            );
        }
        let p = params("smtp_mx_address_limit = 0");
        let firsts: std::collections::HashSet<String> = (0..60)
            .map(|_| run(&f, &p, "eq.example", true).unwrap()[0].clone())
            .collect();
        assert!(firsts.len() > 1, "always the same first MX");
    }
}
