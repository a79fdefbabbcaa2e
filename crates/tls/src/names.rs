//! NAME
//!   names - peer-name matching for server certificates
//!
//! DESCRIPTION
//!   The SMTP client checks that the server's certificate names the
//!   server it meant to reach (issue 7, DESIGN.md "TLS", RFC 6125 as
//!   Postfix applies it):
//!
//!   - the names a certificate offers are its subjectAltName dNSName
//!     entries; the subject CommonName counts only when there is no
//!     dNSName at all (RFC 2818; TLS_CHANGES 2003/06/19);
//!   - a `*` is allowed only as the whole leftmost label and stands for
//!     exactly one label (`*.example.com` matches `mx.example.com`, not
//!     `example.com` nor `a.b.example.com`; TLS_CHANGES 2001/08/15);
//!   - comparisons ignore case (TLS_CHANGES 2001/10/14) and one trailing
//!     dot;
//!   - an expected name given as `.example.com` (or the `dot-nexthop`
//!     strategy) matches any name strictly below that domain.
//!
//!   Everything here is a pure function, tested below.
//!
//! SEE ALSO
//!   postconf(5) smtp_tls_verify_cert_match, smtp_tls_secure_cert_match.

/// One name the client expects to find in the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The name, lower case, no trailing dot.
    pub name: String,
    /// Match names strictly below `name` instead of `name` itself.
    pub subdomains: bool,
}

/// Lower-case `name` and drop one trailing dot.
pub fn normalize(name: &str) -> String {
    let n = name.strip_suffix('.').unwrap_or(name);
    n.to_ascii_lowercase()
}

/// Whether certificate name `pattern` (possibly `*.domain`) covers host
/// name `host`. Both are normalized first; empty names never match.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let p = normalize(pattern);
    let h = normalize(host);
    if p.is_empty() || h.is_empty() || h.contains('*') {
        return false;
    }
    if !p.contains('*') {
        return p == h;
    }
    // Only "*." followed by a wildcard-free domain of two labels or more.
    let Some(rest) = p.strip_prefix("*.") else {
        return false;
    };
    if rest.contains('*') || !rest.contains('.') || rest.starts_with('.') {
        return false;
    }
    match h.split_once('.') {
        Some((label, tail)) => !label.is_empty() && tail == rest,
        None => false,
    }
}

/// The names a certificate is valid for: its dNSName entries, or its
/// CommonName when it has none.
pub fn certificate_names(dns_names: &[String], common_name: Option<&str>) -> Vec<String> {
    if !dns_names.is_empty() {
        return dns_names.to_vec();
    }
    common_name
        .filter(|c| !c.is_empty())
        .map(|c| vec![c.to_string()])
        .unwrap_or_default()
}

/// Turn a match list (`smtp_tls_verify_cert_match`,
/// `smtp_tls_secure_cert_match`, a policy's `match=` list with `:`
/// already split) into expected names. `hostname` = the MX host name,
/// `nexthop` = the next-hop domain. Strategies: `hostname`, `nexthop`,
/// `dot-nexthop`; anything else is a literal name (`.domain` for
/// subdomains).
pub fn expected_names(matches: &[String], hostname: &str, nexthop: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for m in matches {
        let (name, subdomains) = match m.to_ascii_lowercase().as_str() {
            "hostname" => (normalize(hostname), false),
            "nexthop" => (normalize(nexthop), false),
            "dot-nexthop" => (normalize(nexthop), true),
            _ => match m.strip_prefix('.') {
                Some(d) => (normalize(d), true),
                None => (normalize(m), false),
            },
        };
        if name.is_empty() {
            continue;
        }
        let e = Expected { name, subdomains };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The first certificate name that satisfies one of `expected`, if any.
pub fn find_match(cert_names: &[String], expected: &[Expected]) -> Option<String> {
    for e in expected {
        for c in cert_names {
            let ok = if e.subdomains {
                let cn = normalize(c);
                cn.len() > e.name.len() + 1
                    && cn.ends_with(&e.name)
                    && cn.as_bytes()[cn.len() - e.name.len() - 1] == b'.'
                    && !cn.starts_with('.')
            } else {
                name_matches(c, &e.name)
            };
            if ok {
                return Some(c.clone());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn exact_names_ignore_case_and_trailing_dot() {
        assert!(name_matches("mx.example.com", "mx.example.com"));
        assert!(name_matches("MX.Example.COM", "mx.example.com."));
        assert!(name_matches("mx.example.com.", "MX.EXAMPLE.COM"));
        assert!(!name_matches("mx.example.com", "mx2.example.com"));
        assert!(!name_matches("", "mx.example.com"));
        assert!(!name_matches("mx.example.com", ""));
    }

    #[test]
    fn wildcard_is_one_whole_leftmost_label() {
        assert!(name_matches("*.example.com", "mx.example.com"));
        assert!(name_matches("*.EXAMPLE.com", "MX.example.com."));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("m*.example.com", "mx.example.com"));
        assert!(!name_matches("*x.example.com", "mx.example.com"));
        assert!(!name_matches("mx.*.com", "mx.example.com"));
        assert!(!name_matches("*.*.com", "a.b.com"));
        assert!(!name_matches("*.com", "example.com"));
        assert!(!name_matches("*", "localhost"));
        assert!(!name_matches("*.example.com", "*.example.com"));
    }

    #[test]
    fn dns_names_hide_the_common_name() {
        // SAN-only.
        assert_eq!(
            certificate_names(&s(&["mx.example.com"]), None),
            s(&["mx.example.com"])
        );
        // CN-only.
        assert_eq!(
            certificate_names(&[], Some("mx.example.com")),
            s(&["mx.example.com"])
        );
        // SAN lists other names while the CN matches: the CN is ignored.
        let names = certificate_names(&s(&["other.example.net"]), Some("mx.example.com"));
        let exp = expected_names(&s(&["hostname"]), "mx.example.com", "example.com");
        assert_eq!(find_match(&names, &exp), None);
        assert!(certificate_names(&[], Some("")).is_empty());
    }

    #[test]
    fn strategies_hostname_nexthop_dot_nexthop() {
        let exp = expected_names(&s(&["hostname"]), "MX.Example.com.", "example.com");
        assert_eq!(
            exp,
            vec![Expected {
                name: "mx.example.com".into(),
                subdomains: false
            }]
        );
        let names = s(&["mx.example.com"]);
        assert!(find_match(&names, &exp).is_some());
        // Upper-case MX name.
        let exp = expected_names(&s(&["hostname"]), "MX.EXAMPLE.COM", "example.com");
        assert!(find_match(&names, &exp).is_some());
        // secure default: nexthop, dot-nexthop.
        let exp = expected_names(
            &s(&["nexthop", "dot-nexthop"]),
            "mx.example.com",
            "example.com",
        );
        assert!(find_match(&s(&["example.com"]), &exp).is_some());
        assert!(find_match(&s(&["mx.example.com"]), &exp).is_some());
        assert!(find_match(&s(&["a.b.example.com"]), &exp).is_some());
        assert!(find_match(&s(&["badexample.com"]), &exp).is_none());
        assert!(find_match(&s(&["example.org"]), &exp).is_none());
        // Only nexthop: the MX name is not enough.
        let exp = expected_names(&s(&["nexthop"]), "mx.example.com", "example.com");
        assert!(find_match(&s(&["mx.example.com"]), &exp).is_none());
    }

    #[test]
    fn literal_names_and_dot_domains() {
        let exp = expected_names(&s(&["mail.example.net", ".example.org"]), "h", "n");
        assert!(find_match(&s(&["MAIL.example.net"]), &exp).is_some());
        assert!(find_match(&s(&["x.example.org"]), &exp).is_some());
        assert!(find_match(&s(&["example.org"]), &exp).is_none());
        // Wildcard certificate against a literal.
        assert!(find_match(&s(&["*.example.net"]), &exp).is_some());
        // Empty host names add nothing.
        assert!(expected_names(&s(&["hostname"]), "", "n").is_empty());
    }

    #[test]
    fn wildcard_certificate_matrix() {
        let cert = s(&["*.example.com"]);
        for (host, ok) in [
            ("mx.example.com", true),
            ("a.b.example.com", false),
            ("example.com", false),
            ("MX.EXAMPLE.COM", true),
        ] {
            let exp = expected_names(&s(&["hostname"]), host, "example.com");
            assert_eq!(find_match(&cert, &exp).is_some(), ok, "{host}");
        }
    }
}
