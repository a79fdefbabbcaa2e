//! NAME
//!   nexthop - where a delivery request goes: parse the next-hop text
//!
//! DESCRIPTION
//!   qmgr hands the agent the next hop that address resolution chose
//!   (`relayhost`, `transport_maps`, the recipient domain). [`parse`]
//!   turns it into one or more [`Dest`]s, tried in order (Postfix 3.5 and
//!   later accept a list separated by commas or spaces):
//!
//!   SMTP (transport(5), postconf(5) `relayhost`):
//!   - `domain` / `domain:port`: look up MX records, fall back to A/AAAA;
//!   - `[host]` / `[host]:port`: no MX lookup (`[ipv6:2001:db8::1]` and
//!     `[2001:db8::1]` are IPv6 literals);
//!   - the port is a number or `smtp`, `submission`, `smtps`, `lmtp`;
//!     default `smtp_tcp_port`.
//!
//!   LMTP (lmtp(8)): `unix:/path` (a relative path is relative to
//!   `queue_directory`, e.g. `unix:private/dovecot-lmtp`), `inet:host`,
//!   `inet:host:port`, `inet:[host]:port`, or a bare `host[:port]`
//!   (TCP). LMTP never looks up MX records; the default port is
//!   `lmtp_tcp_port` (24).
//!
//! DIAGNOSTICS
//!   [`parse`] fails with the text of the problem for an empty next hop,
//!   a bad port, or an unbalanced `[`.
//!
//! SEE ALSO
//!   transport(5), smtp(8), lmtp(8).
use crate::params::{port_number, Proto};
use std::path::PathBuf;

/// One destination to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// A TCP destination.
    Inet {
        /// Domain, host name or IP address literal (without brackets).
        host: String,
        /// TCP port.
        port: u16,
        /// Look up MX records first (a bare domain with SMTP).
        mx: bool,
    },
    /// A UNIX-domain socket (LMTP).
    Unix(PathBuf),
}

impl Dest {
    /// The label of the destination in the connection cache.
    pub fn cache_label(&self, proto: Proto) -> String {
        match self {
            Dest::Inet { host, port, mx } => {
                let h = if *mx {
                    host.clone()
                } else {
                    format!("[{host}]")
                };
                format!("{}:{}:{port}", proto.name(), h.to_ascii_lowercase())
            }
            Dest::Unix(p) => format!("{}:unix:{}", proto.name(), p.display()),
        }
    }
}

/// Split `host:port` (the port part optional) after brackets were
/// removed or when there are none.
fn host_port(text: &str, default_port: u16) -> Result<(String, u16, bool), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(format!("unbalanced '[' in next-hop \"{text}\""));
        };
        let inner = inner
            .strip_prefix("ipv6:")
            .or_else(|| inner.strip_prefix("IPv6:"))
            .unwrap_or(inner);
        let port = match after {
            "" => default_port,
            a => {
                let p = a
                    .strip_prefix(':')
                    .ok_or_else(|| format!("bad next-hop \"{text}\""))?;
                port_number(p).ok_or_else(|| format!("bad port in next-hop \"{text}\""))?
            }
        };
        if inner.is_empty() {
            return Err(format!("empty host in next-hop \"{text}\""));
        }
        return Ok((inner.to_string(), port, false));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (
            h,
            port_number(p).ok_or_else(|| format!("bad port in next-hop \"{text}\""))?,
        ),
        _ => (text, default_port),
    };
    if host.is_empty() {
        return Err(format!("empty host in next-hop \"{text}\""));
    }
    Ok((host.trim_end_matches('.').to_string(), port, true))
}

fn parse_one(text: &str, proto: Proto, default_port: u16) -> Result<Dest, String> {
    if proto == Proto::Lmtp {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("empty path in next-hop \"unix:\"".into());
            }
            return Ok(Dest::Unix(PathBuf::from(path)));
        }
        let rest = text.strip_prefix("inet:").unwrap_or(text);
        let (host, port, _) = host_port(rest, default_port)?;
        return Ok(Dest::Inet {
            host,
            port,
            mx: false,
        });
    }
    let (host, port, mx) = host_port(text, default_port)?;
    // An IP address is never looked up, bracketed or not.
    let mx = mx && host.parse::<std::net::IpAddr>().is_err();
    Ok(Dest::Inet { host, port, mx })
}

/// Parse next-hop text `nexthop` (see the module description). Errors:
/// see DIAGNOSTICS.
pub fn parse(nexthop: &str, proto: Proto, default_port: u16) -> Result<Vec<Dest>, String> {
    let items: Vec<&str> = nexthop
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err("empty next-hop destination".into());
    }
    items
        .iter()
        .map(|i| parse_one(i, proto, default_port))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inet(host: &str, port: u16, mx: bool) -> Dest {
        Dest::Inet {
            host: host.into(),
            port,
            mx,
        }
    }

    #[test]
    fn smtp_forms() {
        let p = |t: &str| parse(t, Proto::Smtp, 25);
        assert_eq!(
            p("example.com").unwrap(),
            vec![inet("example.com", 25, true)]
        );
        assert_eq!(
            p("Example.COM.").unwrap(),
            vec![inet("Example.COM", 25, true)]
        );
        assert_eq!(
            p("[mail.example.com]").unwrap(),
            vec![inet("mail.example.com", 25, false)]
        );
        assert_eq!(
            p("[127.0.0.1]:2525").unwrap(),
            vec![inet("127.0.0.1", 2525, false)]
        );
        assert_eq!(
            p("relay.example:submission").unwrap(),
            vec![inet("relay.example", 587, true)]
        );
        assert_eq!(
            p("[ipv6:2001:db8::1]:26").unwrap(),
            vec![inet("2001:db8::1", 26, false)]
        );
        assert_eq!(p("[::1]").unwrap(), vec![inet("::1", 25, false)]);
        assert_eq!(p("10.1.2.3").unwrap(), vec![inet("10.1.2.3", 25, false)]);
        assert_eq!(
            p("[a.example]:26, b.example").unwrap(),
            vec![inet("a.example", 26, false), inet("b.example", 25, true)]
        );
        for bad in ["", "[x", "[x]y", "host:nope", "[]", ":25"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lmtp_forms() {
        let p = |t: &str| parse(t, Proto::Lmtp, 24);
        assert_eq!(
            p("unix:private/dovecot-lmtp").unwrap(),
            vec![Dest::Unix("private/dovecot-lmtp".into())]
        );
        assert_eq!(
            p("inet:127.0.0.1:2424").unwrap(),
            vec![inet("127.0.0.1", 2424, false)]
        );
        assert_eq!(
            p("inet:mailbox.example").unwrap(),
            vec![inet("mailbox.example", 24, false)]
        );
        assert_eq!(
            p("mailbox.example:25").unwrap(),
            vec![inet("mailbox.example", 25, false)]
        );
        assert!(p("unix:").is_err());
    }

    #[test]
    fn cache_labels() {
        assert_eq!(
            inet("Example.com", 25, true).cache_label(Proto::Smtp),
            "smtp:example.com:25"
        );
        assert_eq!(inet("h", 24, false).cache_label(Proto::Lmtp), "lmtp:[h]:24");
    }
}
