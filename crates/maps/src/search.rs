//! NAME
//!   search - Postfix's table search orders for addresses and domains
//!
//! DESCRIPTION
//!   Indexed tables hold exact keys, so Postfix asks them a sequence of
//!   keys derived from one address. Every key is sent to every table of
//!   the list before the next key is tried. Only the first (full) key goes
//!   to pattern tables (regexp:, cidr:); the derived keys are "partial".
//!
//!   - [`find_address`]: virtual(5), canonical(5) and aliases(5) order,
//!     for `user+foo@domain`: `user+foo@domain`, `user@domain`,
//!     `user+foo` and `user` (only when the domain is local), `@domain`.
//!   - [`find_access_address`]: access(5) order for mail addresses:
//!     `user+foo@domain`, `user@domain`, the domain and its parents
//!     ([`find_domain`]), `user+foo@`, `user@`.
//!   - [`find_domain`]: `sub.example.com`, then the parent domains,
//!     either `.example.com`, `.com` or — when the feature is listed in
//!     `parent_domain_matches_subdomains` — `example.com`, `com`.
//!   - [`find_host_address`]: access(5) order for client addresses:
//!     `1.2.3.4`, `1.2.3`, `1.2`, `1`; `2001:db8::1`, `2001:db8:`,
//!     `2001:db8`, `2001`.
//!
//!   The extension starts at the first character of the local part that
//!   is in `recipient_delimiter` (a set of characters), unless that is the
//!   first character.
//!
//! SEE ALSO
//!   access(5), virtual(5), canonical(5), aliases(5), postconf(5)
//!   `parent_domain_matches_subdomains`, `recipient_delimiter`.
use crate::dict::DictError;
use crate::registry::Maps;

/// A successful search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The table's value.
    pub value: String,
    /// The key that matched (`user@domain`, `@domain`, `.example.com`).
    pub key: String,
    /// The address extension, with its delimiter (`+foo`), when the
    /// matching key did not include it; callers apply
    /// `propagate_unmatched_extensions` with it.
    pub extension: Option<String>,
}

/// Split `addr` at its last `@`: `("user", Some("domain"))`, or
/// `("user", None)` for a bare local part.
pub fn split_address(addr: &str) -> (&str, Option<&str>) {
    match addr.rfind('@') {
        Some(at) => (&addr[..at], Some(&addr[at + 1..])),
        None => (addr, None),
    }
}

/// Split `localpart` at the first character that is in `delimiters`
/// (parameter `recipient_delimiter`): `("user", Some("+foo"))`. No split
/// when `delimiters` is empty or the local part starts with a delimiter.
pub fn split_extension<'a>(localpart: &'a str, delimiters: &str) -> (&'a str, Option<&'a str>) {
    if delimiters.is_empty() {
        return (localpart, None);
    }
    match localpart.find(|c| delimiters.contains(c)) {
        Some(pos) if pos > 0 => (&localpart[..pos], Some(&localpart[pos..])),
        _ => (localpart, None),
    }
}

fn try_key(
    maps: &Maps,
    key: String,
    partial: bool,
    ext: Option<&str>,
) -> Result<Option<Found>, DictError> {
    Ok(maps.find(&key, partial)?.map(|value| Found {
        value,
        key,
        extension: ext.map(str::to_string),
    }))
}

/// Search `maps` for `addr` in virtual(5)/canonical(5) order.
/// `delimiters` is `recipient_delimiter`; `local` says whether the
/// domain is local (`$myorigin`, `$mydestination`, `$inet_interfaces`,
/// `$proxy_interfaces`), which allows the bare `user` keys. A bare local
/// part is treated as local. Errors: a table failed.
pub fn find_address(
    maps: &Maps,
    addr: &str,
    delimiters: &str,
    local: bool,
) -> Result<Option<Found>, DictError> {
    let (localpart, domain) = split_address(addr);
    let (user, ext) = split_extension(localpart, delimiters);
    if let Some(f) = try_key(maps, addr.to_string(), false, None)? {
        return Ok(Some(f));
    }
    if let (Some(domain), Some(_)) = (domain, ext) {
        if let Some(f) = try_key(maps, format!("{user}@{domain}"), true, ext)? {
            return Ok(Some(f));
        }
    }
    if local || domain.is_none() {
        if domain.is_some() {
            if let Some(f) = try_key(maps, localpart.to_string(), true, None)? {
                return Ok(Some(f));
            }
        }
        if ext.is_some() {
            if let Some(f) = try_key(maps, user.to_string(), true, ext)? {
                return Ok(Some(f));
            }
        }
    }
    if let Some(domain) = domain {
        return try_key(maps, format!("@{domain}"), true, ext);
    }
    Ok(None)
}

/// Search `maps` for `domain` and then its parent domains. The first
/// lookup is partial when `first_partial` is set (a domain taken from an
/// address); `parent_matches` selects bare parents (`example.com`) over
/// dotted ones (`.example.com`). Errors: a table failed.
pub fn find_domain(
    maps: &Maps,
    domain: &str,
    parent_matches: bool,
    first_partial: bool,
) -> Result<Option<Found>, DictError> {
    if let Some(f) = try_key(maps, domain.to_string(), first_partial, None)? {
        return Ok(Some(f));
    }
    let mut name = domain;
    while let Some(dot) = name.get(1..).and_then(|rest| rest.find('.')).map(|p| p + 1) {
        let parent = if parent_matches {
            &name[dot + 1..]
        } else {
            &name[dot..]
        };
        if parent.is_empty() || parent == "." {
            break;
        }
        if let Some(f) = try_key(maps, parent.to_string(), true, None)? {
            return Ok(Some(f));
        }
        name = parent;
    }
    Ok(None)
}

/// Search `maps` for a mail address in access(5) order (see the module
/// description). `parent_matches`: `smtpd_access_maps` is listed in
/// `parent_domain_matches_subdomains`. Errors: a table failed.
pub fn find_access_address(
    maps: &Maps,
    addr: &str,
    delimiters: &str,
    parent_matches: bool,
) -> Result<Option<Found>, DictError> {
    let (localpart, domain) = split_address(addr);
    let (user, ext) = split_extension(localpart, delimiters);
    if let Some(f) = try_key(maps, addr.to_string(), false, None)? {
        return Ok(Some(f));
    }
    let Some(domain) = domain else {
        return Ok(None);
    };
    if ext.is_some() {
        if let Some(f) = try_key(maps, format!("{user}@{domain}"), true, ext)? {
            return Ok(Some(f));
        }
    }
    if !domain.is_empty() {
        if let Some(f) = find_domain(maps, domain, parent_matches, true)? {
            return Ok(Some(f));
        }
    }
    if let Some(f) = try_key(maps, format!("{localpart}@"), true, None)? {
        return Ok(Some(f));
    }
    if ext.is_some() {
        return try_key(maps, format!("{user}@"), true, ext);
    }
    Ok(None)
}

/// Search `maps` for a client IP address in access(5) order: the whole
/// address, then shorter and shorter prefixes cut at `.` (IPv4) or `:`
/// (IPv6). Errors: a table failed.
pub fn find_host_address(maps: &Maps, addr: &str) -> Result<Option<Found>, DictError> {
    let delim = if addr.contains(':') { ':' } else { '.' };
    let mut key = addr;
    let mut partial = false;
    loop {
        if let Some(f) = try_key(maps, key.to_string(), partial, None)? {
            return Ok(Some(f));
        }
        match key.rfind(delim) {
            Some(pos) if pos > 0 => key = &key[..pos],
            _ => return Ok(None),
        }
        partial = true;
    }
}

/// Whether `feature` (e.g. `smtpd_access_maps`, `relay_domains`) is
/// listed in the value of `parent_domain_matches_subdomains`.
pub fn parent_domain_matches_subdomains(param_value: &str, feature: &str) -> bool {
    util::strings::split_list(param_value)
        .iter()
        .any(|f| f == feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::DictFlags;

    fn maps(entries: &str) -> Maps {
        Maps::open(
            "test",
            &format!("inline:{{ {entries} }}"),
            DictFlags::default(),
        )
        .unwrap()
    }

    fn key_of(r: Option<Found>) -> Option<String> {
        r.map(|f| f.key)
    }

    #[test]
    fn virtual_order_with_extension() {
        // virtual(5): user+foo@domain, user@domain, user+foo, user, @domain.
        let all = "user+foo@example.com=1, user@example.com=2, user+foo=3, user=4, @example.com=5";
        let order = [
            "user+foo@example.com",
            "user@example.com",
            "user+foo",
            "user",
            "@example.com",
        ];
        for (skip, want) in order.iter().enumerate() {
            let entries: Vec<&str> = all.split(", ").skip(skip).collect();
            let m = maps(&entries.join(", "));
            let found = find_address(&m, "user+foo@example.com", "+", true)
                .unwrap()
                .unwrap();
            assert_eq!(found.key, *want);
            let expect_ext = matches!(skip, 1 | 3 | 4);
            assert_eq!(found.extension.is_some(), expect_ext, "{found:?}");
        }
    }

    #[test]
    fn virtual_user_keys_only_for_local_domains() {
        let m = maps("user=local");
        assert_eq!(
            find_address(&m, "user@remote.example", "+", false).unwrap(),
            None
        );
        assert_eq!(
            key_of(find_address(&m, "user@here.example", "+", true).unwrap()).as_deref(),
            Some("user")
        );
        assert_eq!(
            key_of(find_address(&m, "user+x", "+", false).unwrap()).as_deref(),
            Some("user")
        );
    }

    #[test]
    fn regexp_tables_see_only_the_full_address() {
        let m = Maps::open("t", "regexp:{ {/^user@/ RE} }", DictFlags::default()).unwrap();
        assert_eq!(
            find_address(&m, "user+foo@example.com", "+", true).unwrap(),
            None
        );
        assert!(find_address(&m, "user@example.com", "+", true)
            .unwrap()
            .is_some());
    }

    #[test]
    fn access_order_with_extension() {
        // access(5): user+foo@domain, user@domain, domain, user+foo@, user@.
        let all = "user+foo@example.com=1, user@example.com=2, example.com=3, user+foo@=4, user@=5";
        let order = [
            "user+foo@example.com",
            "user@example.com",
            "example.com",
            "user+foo@",
            "user@",
        ];
        for (skip, want) in order.iter().enumerate() {
            let entries: Vec<&str> = all.split(", ").skip(skip).collect();
            let m = maps(&entries.join(", "));
            let found = find_access_address(&m, "user+foo@example.com", "+", false)
                .unwrap()
                .unwrap();
            assert_eq!(found.key, *want);
        }
    }

    #[test]
    fn parent_domain_styles() {
        let m = maps(".example.com=dot, com=bare");
        assert_eq!(
            key_of(find_domain(&m, "a.b.example.com", false, false).unwrap()).as_deref(),
            Some(".example.com")
        );
        assert_eq!(
            key_of(find_domain(&m, "example.com", false, false).unwrap()),
            None
        );
        assert_eq!(
            key_of(find_domain(&m, "a.example.com", true, false).unwrap()).as_deref(),
            Some("com")
        );
        let m = maps("example.com=bare");
        assert_eq!(
            key_of(find_domain(&m, "x.example.com", true, false).unwrap()).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            find_domain(&m, "x.example.com", false, false).unwrap(),
            None
        );
        let m = maps(".com=tld");
        assert_eq!(
            key_of(find_domain(&m, "example.com", false, false).unwrap()).as_deref(),
            Some(".com")
        );
    }

    #[test]
    fn host_address_prefixes() {
        let m = maps("1.2=net, 2001:db8=six");
        assert_eq!(
            key_of(find_host_address(&m, "1.2.3.4").unwrap()).as_deref(),
            Some("1.2")
        );
        assert_eq!(find_host_address(&m, "1.3.3.4").unwrap(), None);
        assert_eq!(
            key_of(find_host_address(&m, "2001:db8::1").unwrap()).as_deref(),
            Some("2001:db8")
        );
    }

    #[test]
    fn extension_split_rules() {
        assert_eq!(split_extension("user+foo", "+"), ("user", Some("+foo")));
        assert_eq!(
            split_extension("user-foo+bar", "+-"),
            ("user", Some("-foo+bar"))
        );
        assert_eq!(split_extension("+foo", "+"), ("+foo", None));
        assert_eq!(split_extension("user+foo", ""), ("user+foo", None));
        assert!(parent_domain_matches_subdomains(
            "debug_peer_list, smtpd_access_maps",
            "smtpd_access_maps"
        ));
        assert!(!parent_domain_matches_subdomains(
            "relay_domains",
            "smtpd_access_maps"
        ));
    }
}
