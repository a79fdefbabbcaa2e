//! NAME
//!   cidr - network address tables (cidr_table(5))
//!
//! DESCRIPTION
//!   A `cidr:/path` table is a list of rules tried in order against an IP
//!   address key:
//!
//!   - `network/prefix result` or `address result` (exact match);
//!   - `!pattern result`: when the key does not match;
//!   - `if pattern` ... `endif` and `if !pattern` ... `endif`, nesting.
//!
//!   IPv4 and IPv6 are both supported; a pattern may be written inside
//!   `[]`. A rule only ever applies to keys of its own address family, and
//!   a key that is not an IP address matches nothing.
//!
//! DIAGNOSTICS
//!   A bad rule is skipped with a warning naming file and line, in
//!   Postfix's words: `cidr map /path, line N: bad address pattern: "foo":
//!   skipping this rule`, `bad mask length in "1.2.3.4/33"`, `non-null
//!   host address bits in "10.1.2.3/8", perhaps you should use
//!   "10.0.0.0/8" instead`.
use crate::dict::{Dict, DictError};
use crate::rules::{RuleList, Syntax};
use ipnet::IpNet;
use std::net::IpAddr;

/// A parsed `cidr:` table.
#[derive(Debug)]
pub struct CidrDict {
    name: String,
    rules: RuleList<IpNet, String>,
}

struct CidrSyntax;

impl Syntax for CidrSyntax {
    type Pattern = IpNet;
    type Result = String;
    fn pattern<'t>(&self, text: &'t str) -> Result<(IpNet, &'t str), String> {
        let end = text.find(char::is_whitespace).unwrap_or(text.len());
        Ok((parse_net(&text[..end])?, &text[end..]))
    }
    fn result(
        &self,
        net: &IpNet,
        _negate: bool,
        text: &str,
        warn: &mut dyn FnMut(&str),
    ) -> Option<String> {
        if text.is_empty() {
            warn(&format!(
                "no lookup result for \"{net}\": skipping this rule"
            ));
            return None;
        }
        Some(text.to_string())
    }
}

/// Parse one address pattern; `Err` holds the warning text.
fn parse_net(pattern: &str) -> Result<IpNet, String> {
    let (addr_text, len_text) = match pattern.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (pattern, None),
    };
    let addr_text = addr_text
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr_text);
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| format!("bad address pattern: \"{pattern}\": skipping this rule"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max && l.chars().all(|c| c.is_ascii_digit()) => n,
            _ => {
                return Err(format!(
                    "bad mask length in \"{pattern}\": skipping this rule"
                ))
            }
        },
    };
    let net = IpNet::new(addr, len)
        .map_err(|_| format!("bad mask length in \"{pattern}\": skipping this rule"))?;
    if net.network() != addr {
        return Err(format!(
            "non-null host address bits in \"{pattern}\", perhaps you should use \"{}/{len}\" instead: skipping this rule",
            net.network()
        ));
    }
    Ok(net)
}

impl CidrDict {
    /// Open `cidr:path`, or the inline form `cidr:{ {rule}, {rule} }`
    /// (Postfix 3.7). Warnings for skipped rules are logged. Errors: the
    /// file cannot be read, or unbalanced braces.
    pub fn open(body: &str) -> Result<CidrDict, DictError> {
        let (name, origin, text) = crate::rules::load("cidr", body)?;
        let (dict, warnings) = Self::parse(&name, &origin, &text);
        for w in warnings {
            util::msg_warn!("{w}");
        }
        Ok(dict)
    }

    /// Parse table `text` (`origin` names it in warnings). Returns the
    /// table and the warnings.
    pub fn parse(name: &str, origin: &str, text: &str) -> (CidrDict, Vec<String>) {
        let (rules, warnings) = RuleList::parse("cidr", origin, text, &CidrSyntax);
        (
            CidrDict {
                name: name.to_string(),
                rules,
            },
            warnings,
        )
    }
}

/// Whether `net` applies to `addr` (same family) and, if so, matches.
fn test(net: &IpNet, addr: &IpAddr) -> Option<bool> {
    match (net, addr) {
        (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_)) => Some(net.contains(addr)),
        _ => None,
    }
}

impl Dict for CidrDict {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_fixed(&self) -> bool {
        false
    }
    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        let Ok(addr) = key.parse::<IpAddr>() else {
            return Ok(None);
        };
        Ok(self.rules.find(
            |net| test(net, &addr),
            |net, negate, result| {
                (test(net, &addr).map(|m| m != negate) == Some(true)).then(|| result.clone())
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (CidrDict, Vec<String>) {
        CidrDict::parse("cidr:ci", "ci", text)
    }

    #[test]
    fn ipv4_ipv6_negation_and_if() {
        let text = "192.168.0.0/16 LAN\n::1 v6\n2001:db8::/32 doc\nif 172.16.0.0/12\n172.16.1.1 one\n!172.16.1.0/24 other\nendif\n[10.0.0.0]/8 ten\n";
        let (d, w) = table(text);
        assert!(w.is_empty(), "{w:?}");
        let get = |k: &str| d.lookup(k).unwrap();
        assert_eq!(get("192.168.5.5").as_deref(), Some("LAN"));
        assert_eq!(get("::1").as_deref(), Some("v6"));
        assert_eq!(get("2001:DB8::5").as_deref(), Some("doc"));
        assert_eq!(get("2001:db9::5"), None);
        assert_eq!(get("172.16.1.1").as_deref(), Some("one"));
        assert_eq!(get("172.16.1.2"), None);
        assert_eq!(get("172.17.0.1").as_deref(), Some("other"));
        assert_eq!(get("172.32.0.1"), None);
        assert_eq!(get("10.9.9.9").as_deref(), Some("ten"));
        assert_eq!(get("junk"), None);
    }

    #[test]
    fn negation_ignores_other_family() {
        let (d, _) = table("!10.0.0.0/8 notten\n");
        assert_eq!(d.lookup("1.2.3.4").unwrap().as_deref(), Some("notten"));
        assert_eq!(d.lookup("10.1.1.1").unwrap(), None);
        assert_eq!(d.lookup("::2").unwrap(), None);
    }

    #[test]
    fn bad_rules_are_skipped_with_file_and_line() {
        let (_, w) = table("10.1.2.3/8 bad\n1.2.3.4/33 x\nfoo bar\nendif\n");
        assert_eq!(
            w,
            vec![
                "cidr map ci, line 1: non-null host address bits in \"10.1.2.3/8\", perhaps you should use \"10.0.0.0/8\" instead: skipping this rule",
                "cidr map ci, line 2: bad mask length in \"1.2.3.4/33\": skipping this rule",
                "cidr map ci, line 3: bad address pattern: \"foo\": skipping this rule",
                "cidr map ci, line 4: ignoring ENDIF without matching IF",
            ]
        );
    }
}
