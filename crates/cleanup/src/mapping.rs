//! NAME
//!   mapping - canonical(5) and virtual(5) address mapping
//!
//! DESCRIPTION
//!   [`AddrMaps::canonical`] is Postfix's one-to-one mapping (cleanup's
//!   map11) used for `sender_canonical_maps`, `recipient_canonical_maps`
//!   and `canonical_maps`: the address is looked up in canonical(5) order
//!   (`user@domain`, `user` when the domain is local, `@domain`; with the
//!   `recipient_delimiter` extension forms first); a hit replaces it by
//!   the first address of the result, rewritten to canonical form, and
//!   the lookup repeats on the new address (at most 10 times) until it
//!   no longer matches or maps to itself.
//!
//!   [`AddrMaps::virtual_alias`] is the one-to-many mapping (map1n) of
//!   `virtual_alias_maps`: each result address replaces the one it came
//!   from and is expanded in turn, breadth-first. An address that maps to
//!   a list containing itself is kept and not expanded again. Duplicates
//!   are removed by the caller. More than `virtual_alias_expansion_limit`
//!   addresses, or more than `virtual_alias_recursion_limit` nested
//!   expansions of one address, stop the expansion: the message is
//!   deferred (`4.6.0 Alias expansion error`), as in Postfix.
//!
//!   With `canonical` / `virtual` in `propagate_unmatched_extensions`, an
//!   extension that the matching key did not include is added to the
//!   result (`user+foo@a` via `user@a -> u@b` gives `u+foo@b`).
//!
//!   A domain is local for the bare `user` key when it is `$myorigin`, in
//!   `$mydestination`, or an `[address]` of this host (resolve crate).
//!
//! DIAGNOSTICS
//!   Warnings as Postfix's: `ID: virtual_alias_maps map lookup problem for
//!   ADDR -- message not accepted, try again later`, `unreasonable
//!   virtual_alias_maps map nesting for ADDR`, `unreasonable
//!   virtual_alias_maps map expansion size for ADDR`, `multi-valued
//!   canonical_maps entry for ADDR`. The caller logs [`MapError`].
//!
//! SEE ALSO
//!   canonical(5), virtual(5), postconf(5) `propagate_unmatched_extensions`,
//!   `virtual_alias_recursion_limit`, `virtual_alias_expansion_limit`.
use crate::addrlist;
use maps::search::{find_address, split_address};
use maps::Maps;
use resolve::{Context, Resolver};
use std::collections::HashSet;

/// How many times a canonical mapping is applied to its own result.
pub const CANONICAL_RECURSION: usize = 10;

/// A mapping could not be completed; the message is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapError {
    /// A table failed (status write error: try again later).
    Lookup(String),
    /// Nesting or expansion limits (status defer).
    Limit(String),
}

impl MapError {
    /// The log text (after `ID: `).
    pub fn text(&self) -> &str {
        match self {
            MapError::Lookup(t) | MapError::Limit(t) => t,
        }
    }
}

/// The address mapping tables and their settings.
#[derive(Debug)]
pub struct AddrMaps {
    /// `canonical_maps`.
    pub canonical: Maps,
    /// `sender_canonical_maps`.
    pub sender_canonical: Maps,
    /// `recipient_canonical_maps`.
    pub recipient_canonical: Maps,
    /// `virtual_alias_maps`.
    pub virtual_alias: Maps,
    /// `recipient_delimiter`.
    pub delimiters: String,
    /// `canonical` in `propagate_unmatched_extensions`.
    pub propagate_canonical: bool,
    /// `virtual` in `propagate_unmatched_extensions`.
    pub propagate_virtual: bool,
    /// `virtual_alias_recursion_limit`.
    pub recursion_limit: usize,
    /// `virtual_alias_expansion_limit`.
    pub expansion_limit: usize,
    /// `myorigin`.
    pub myorigin: String,
}

/// Put `ext` (with its delimiter) into `addr` before the `@`.
fn add_extension(addr: &str, ext: &str) -> String {
    match addr.rfind('@') {
        Some(at) => format!("{}{ext}{}", &addr[..at], &addr[at..]),
        None => format!("{addr}{ext}"),
    }
}

impl AddrMaps {
    fn is_local(&self, r: &Resolver, addr: &str) -> bool {
        match split_address(addr).1 {
            None => true,
            Some(d) => {
                d.eq_ignore_ascii_case(&self.myorigin) || r.is_local_domain(d).unwrap_or(false)
            }
        }
    }

    /// Look `addr` up in `maps`; the result addresses, in internal and
    /// canonical form, with the extension propagated when asked.
    fn lookup(
        &self,
        r: &Resolver,
        maps: &Maps,
        addr: &str,
        propagate: bool,
        qid: &str,
    ) -> Result<Option<Vec<String>>, MapError> {
        let found = find_address(maps, addr, &self.delimiters, self.is_local(r, addr)).map_err(|e| {
            MapError::Lookup(format!(
                "{qid}: {} map lookup problem for {addr} -- message not accepted, try again later ({e})",
                maps.title()
            ))
        })?;
        let Some(found) = found else { return Ok(None) };
        let mut out = Vec::new();
        for span in addrlist::find(&found.value) {
            let mut a = r.rewrite(Context::Local, &addrlist::to_internal(&found.value[span]));
            if let (true, Some(ext)) = (propagate, &found.extension) {
                a = add_extension(&a, ext);
            }
            out.push(a);
        }
        Ok(Some(out))
    }

    /// Apply one canonical table to `addr` (module description).
    /// Returns the new address (the same when nothing matched).
    pub fn canonical(
        &self,
        r: &Resolver,
        maps: &Maps,
        addr: &str,
        qid: &str,
    ) -> Result<String, MapError> {
        let mut cur = addr.to_string();
        if maps.is_empty() || addr.is_empty() {
            return Ok(cur);
        }
        for _ in 0..CANONICAL_RECURSION {
            let Some(list) = self.lookup(r, maps, &cur, self.propagate_canonical, qid)? else {
                return Ok(cur);
            };
            if list.len() > 1 {
                util::msg_warn!("{qid}: multi-valued {} entry for {cur}", maps.title());
            }
            let Some(next) = list.into_iter().next() else {
                return Ok(cur);
            };
            if next.eq_ignore_ascii_case(&cur) {
                return Ok(next);
            }
            cur = next;
        }
        Err(MapError::Limit(format!(
            "{qid}: unreasonable {} map nesting for {addr} -- message not accepted, try again later",
            maps.title()
        )))
    }

    /// Expand `addr` with `virtual_alias_maps` (module description).
    pub fn virtual_alias(
        &self,
        r: &Resolver,
        addr: &str,
        qid: &str,
    ) -> Result<Vec<String>, MapError> {
        let maps = &self.virtual_alias;
        let mut list = vec![addr.to_string()];
        if maps.is_empty() {
            return Ok(list);
        }
        let mut done: HashSet<String> = HashSet::new();
        let limit_err = |what: &str, a: &str| {
            MapError::Limit(format!(
                "{qid}: unreasonable {} map {what} for {a} -- message not accepted, try again later",
                maps.title()
            ))
        };
        let mut i = 0;
        while i < list.len() {
            if list.len() > self.expansion_limit {
                return Err(limit_err("expansion size", addr));
            }
            let mut count = 0;
            loop {
                if done.contains(&list[i].to_ascii_lowercase()) {
                    break;
                }
                if count >= self.recursion_limit {
                    return Err(limit_err("nesting", addr));
                }
                count += 1;
                let lhs = list[i].clone();
                let Some(results) = self.lookup(r, maps, &lhs, self.propagate_virtual, qid)? else {
                    break;
                };
                if results.is_empty() {
                    break;
                }
                for (n, a) in results.into_iter().enumerate() {
                    if a.eq_ignore_ascii_case(&lhs) {
                        done.insert(lhs.to_ascii_lowercase());
                    }
                    if n == 0 {
                        list[i] = a;
                    } else {
                        list.push(a);
                    }
                }
            }
            i += 1;
        }
        Ok(list)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use global::Config;
    use maps::DictFlags;
    use std::path::Path;

    /// A resolver and address maps for mx.example.com with inline
    /// `canonical_maps` and `virtual_alias_maps` (also used by the
    /// header tests).
    pub(crate) fn setup(canon: &str, virt: &str, extra: &str) -> (Resolver, AddrMaps) {
        let cfg = Config::from_text(
            Path::new("/cfg"),
            &format!("myhostname = mx.example.com\nmydomain = example.com\ninet_interfaces = 127.0.0.1\n{extra}"),
        )
        .unwrap();
        let open = |t: &str, v: &str| {
            let spec = if v.is_empty() {
                String::new()
            } else {
                format!("inline:{{ {v} }}")
            };
            Maps::open(t, &spec, DictFlags::default()).unwrap()
        };
        let m = AddrMaps {
            canonical: open("canonical_maps", canon),
            sender_canonical: open("sender_canonical_maps", ""),
            recipient_canonical: open("recipient_canonical_maps", ""),
            virtual_alias: open("virtual_alias_maps", virt),
            delimiters: "+".into(),
            propagate_canonical: true,
            propagate_virtual: true,
            recursion_limit: 1000,
            expansion_limit: 1000,
            myorigin: "mx.example.com".into(),
        };
        (Resolver::new(&cfg).unwrap(), m)
    }

    #[test]
    fn canonical_one_to_one_with_recursion_and_extension() {
        let (r, m) = setup(
            "a@x.example=b@y.example, b@y.example=c, {root=Charlie Root <admin>}",
            "",
            "",
        );
        assert_eq!(
            m.canonical(&r, &m.canonical, "a@x.example", "Q").unwrap(),
            "c@mx.example.com"
        );
        assert_eq!(
            m.canonical(&r, &m.canonical, "a+ext@x.example", "Q")
                .unwrap(),
            "c+ext@mx.example.com"
        );
        assert_eq!(
            m.canonical(&r, &m.canonical, "root@mx.example.com", "Q")
                .unwrap(),
            "admin@mx.example.com"
        );
        assert_eq!(
            m.canonical(&r, &m.canonical, "other@z.example", "Q")
                .unwrap(),
            "other@z.example"
        );
        assert_eq!(m.canonical(&r, &m.canonical, "", "Q").unwrap(), "");
    }

    #[test]
    fn canonical_loops_are_an_error() {
        let (r, m) = setup("a@x.example=b@x.example, b@x.example=a@x.example", "", "");
        let e = m
            .canonical(&r, &m.canonical, "a@x.example", "Q")
            .unwrap_err();
        assert!(
            e.text()
                .contains("unreasonable canonical_maps map nesting for a@x.example"),
            "{e:?}"
        );
    }

    #[test]
    fn canonical_user_key_only_for_local_domains() {
        let (r, m) = setup("joe=joseph@example.org", "", "");
        assert_eq!(
            m.canonical(&r, &m.canonical, "joe@mx.example.com", "Q")
                .unwrap(),
            "joseph@example.org"
        );
        assert_eq!(
            m.canonical(&r, &m.canonical, "joe@remote.example", "Q")
                .unwrap(),
            "joe@remote.example"
        );
    }

    #[test]
    fn virtual_expansion_is_recursive_with_self_reference() {
        let (r, m) = setup(
            "",
            "{list@v.example=a@v.example, b@r.example}, a@v.example=x@r.example, \
             {self@v.example=self@v.example, copy@r.example}, @catch.example=catch@r.example",
            "",
        );
        assert_eq!(
            m.virtual_alias(&r, "list@v.example", "Q").unwrap(),
            vec!["x@r.example", "b@r.example"]
        );
        assert_eq!(
            m.virtual_alias(&r, "self@v.example", "Q").unwrap(),
            vec!["self@v.example", "copy@r.example"]
        );
        assert_eq!(
            m.virtual_alias(&r, "any+tag@catch.example", "Q").unwrap(),
            vec!["catch+tag@r.example"]
        );
        assert_eq!(
            m.virtual_alias(&r, "none@r.example", "Q").unwrap(),
            vec!["none@r.example"]
        );
    }

    #[test]
    fn virtual_limits_defer() {
        let (r, mut m) = setup(
            "",
            "a@v.example=b@v.example, b@v.example=a@v.example, {w@v.example=1@x, 2@x, 3@x}",
            "",
        );
        m.recursion_limit = 5;
        let e = m.virtual_alias(&r, "a@v.example", "Q").unwrap_err();
        assert!(matches!(e, MapError::Limit(_)));
        assert!(
            e.text()
                .contains("unreasonable virtual_alias_maps map nesting for a@v.example"),
            "{e:?}"
        );
        m.expansion_limit = 2;
        let e = m.virtual_alias(&r, "w@v.example", "Q").unwrap_err();
        assert!(
            e.text().contains("map expansion size for w@v.example"),
            "{e:?}"
        );
    }

    #[test]
    fn table_failure_is_a_lookup_error() {
        let (r, mut m) = setup("", "", "");
        m.virtual_alias = Maps::open("virtual_alias_maps", "fail:x", DictFlags::default()).unwrap();
        let e = m.virtual_alias(&r, "a@b.example", "Q").unwrap_err();
        assert!(matches!(e, MapError::Lookup(_)));
        assert!(e.text().starts_with(
            "Q: virtual_alias_maps map lookup problem for a@b.example -- message not accepted"
        ));
    }
}
