//! NAME
//!   domains - Postfix domain lists (mydestination, relay_domains, ...)
//!
//! SYNOPSIS
//!   let list = DomainList::from_config(&cfg, "relay_domains")?;
//!   if list.matches("mail.example.com")? { ... }
//!
//! DESCRIPTION
//!   A domain list is a parameter value whose elements are tried in order
//!   (Postfix's match_list with host name matching, postconf(5)
//!   `mydestination`, `relay_domains`, `virtual_alias_domains`,
//!   `virtual_mailbox_domains`):
//!
//!   - `example.com` matches that domain, case-insensitively. When the
//!     parameter is listed in `parent_domain_matches_subdomains`, it also
//!     matches every subdomain (`mail.example.com`).
//!   - `.example.com` matches every subdomain of example.com.
//!   - `type:table` looks the domain up, then each parent domain: as
//!     `.parent` or, with `parent_domain_matches_subdomains`, as `parent`.
//!     A hit matches whatever the value.
//!   - `/file/name` is replaced by the patterns in that file (one or more
//!     per line, `#` comments).
//!   - `!pattern` is a negation: a domain it matches is *not* in the
//!     list, and the search stops.
//!
//!   The first element that matches decides.
//!
//! DIAGNOSTICS
//!   A table that cannot be opened is an error of [`DomainList::new`]; a
//!   table that fails during a lookup is an error of
//!   [`DomainList::matches`] (callers defer, as Postfix does).
use maps::{Dict, DictError, DictFlags};

/// One element of a domain list.
#[derive(Debug)]
enum Pattern {
    /// A domain name (lower case); `.name` for subdomains.
    Name(String),
    /// A lookup table.
    Table(Box<dyn Dict>),
}

/// A parsed domain list.
#[derive(Debug)]
pub struct DomainList {
    title: String,
    parent_matches: bool,
    items: Vec<(bool, Pattern)>,
}

impl DomainList {
    /// Parse the elements of `value` for parameter `title`;
    /// `parent_matches`: `title` is listed in
    /// `parent_domain_matches_subdomains`. Errors: a table or a
    /// `/file` cannot be opened.
    pub fn new(title: &str, value: &str, parent_matches: bool) -> Result<DomainList, DictError> {
        let mut items = Vec::new();
        add_elements(&mut items, value)?;
        Ok(DomainList {
            title: title.to_string(),
            parent_matches,
            items,
        })
    }

    /// The list named by parameter `name` in `cfg`. Errors: a bad value
    /// or a table that cannot be opened, as text for the log.
    pub fn from_config(cfg: &global::Config, name: &str) -> Result<DomainList, String> {
        let value = cfg.get(name).map_err(|e| e.to_string())?;
        let parents = cfg
            .get("parent_domain_matches_subdomains")
            .map_err(|e| e.to_string())?;
        let pm = maps::search::parent_domain_matches_subdomains(&parents, name);
        DomainList::new(name, &value, pm).map_err(|e| format!("{name}: {e}"))
    }

    /// The parameter this list came from.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `domain` is in the list (see the module description).
    /// Errors: a table lookup failed.
    pub fn matches(&self, domain: &str) -> Result<bool, DictError> {
        let domain = domain.to_ascii_lowercase();
        let domain = domain.trim_end_matches('.');
        if domain.is_empty() {
            return Ok(false);
        }
        for (negated, pat) in &self.items {
            let hit = match pat {
                Pattern::Name(name) => self.name_matches(name, domain),
                Pattern::Table(dict) => self.table_matches(dict.as_ref(), domain)?,
            };
            if hit {
                return Ok(!negated);
            }
        }
        Ok(false)
    }

    fn name_matches(&self, pattern: &str, domain: &str) -> bool {
        if let Some(suffix) = pattern.strip_prefix('.') {
            return domain.len() > suffix.len() + 1 && domain.ends_with(pattern);
        }
        if domain == pattern {
            return true;
        }
        self.parent_matches
            && domain.len() > pattern.len()
            && domain.ends_with(&format!(".{pattern}"))
    }

    fn table_matches(&self, dict: &dyn Dict, domain: &str) -> Result<bool, DictError> {
        if dict.lookup(domain)?.is_some() {
            return Ok(true);
        }
        if !dict.is_fixed() {
            return Ok(false);
        }
        let mut rest = domain;
        while let Some(dot) = rest.get(1..).and_then(|r| r.find('.')).map(|p| p + 1) {
            let parent = if self.parent_matches {
                &rest[dot + 1..]
            } else {
                &rest[dot..]
            };
            if parent.is_empty() || parent == "." {
                break;
            }
            if dict.lookup(parent)?.is_some() {
                return Ok(true);
            }
            rest = &rest[dot..];
        }
        Ok(false)
    }
}

fn add_elements(items: &mut Vec<(bool, Pattern)>, value: &str) -> Result<(), DictError> {
    for elem in util::strings::split_list(value) {
        let (negated, pat) = match elem.strip_prefix('!') {
            Some(p) => (true, p.to_string()),
            None => (false, elem),
        };
        if pat.starts_with('/') || pat.starts_with("./") {
            let text = std::fs::read_to_string(&pat).map_err(|e| DictError::Open {
                path: pat.clone(),
                source: e,
            })?;
            let lines: Vec<&str> = text
                .lines()
                .map(|l| l.split('#').next().unwrap_or(""))
                .collect();
            add_elements(items, &lines.join(" "))?;
            continue;
        }
        let p = if maps::registry::split_type(&pat).0.is_some() {
            Pattern::Table(maps::open(&pat, DictFlags::default())?)
        } else {
            Pattern::Name(pat.to_ascii_lowercase())
        };
        items.push((negated, p));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &str, parent: bool) -> DomainList {
        DomainList::new("test", v, parent).unwrap()
    }

    #[test]
    fn names_match_exactly_or_with_parent_style() {
        let l = list("example.com, Other.Example", false);
        assert!(l.matches("example.com").unwrap());
        assert!(l.matches("EXAMPLE.com.").unwrap());
        assert!(l.matches("other.example").unwrap());
        assert!(!l.matches("mail.example.com").unwrap());
        let l = list("example.com", true);
        assert!(l.matches("mail.example.com").unwrap());
        assert!(!l.matches("badexample.com").unwrap());
    }

    #[test]
    fn dotted_patterns_match_subdomains_only() {
        let l = list(".example.com", false);
        assert!(l.matches("a.b.example.com").unwrap());
        assert!(!l.matches("example.com").unwrap());
        assert!(!l.matches("xexample.com").unwrap());
    }

    #[test]
    fn negation_stops_the_search() {
        let l = list("!secret.example.com, .example.com", false);
        assert!(!l.matches("secret.example.com").unwrap());
        assert!(l.matches("open.example.com").unwrap());
    }

    #[test]
    fn tables_with_parent_lookups() {
        let l = list("inline:{ example.com=x, .sub.example=y }", false);
        assert!(l.matches("example.com").unwrap());
        assert!(!l.matches("a.example.com").unwrap());
        assert!(l.matches("a.b.sub.example").unwrap());
        let l = list("inline:{ example.com=x }", true);
        assert!(l.matches("a.example.com").unwrap());
        let l = list("regexp:{ {/^mx\\./ ok} }", true);
        assert!(l.matches("mx.example.org").unwrap());
        assert!(!l.matches("www.mx.example.org").unwrap());
    }

    #[test]
    fn files_of_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("domains");
        std::fs::write(
            &f,
            "# local domains\none.example two.example\n.three.example # subs\n",
        )
        .unwrap();
        let l = list(&format!("{}, four.example", f.display()), false);
        for d in [
            "one.example",
            "two.example",
            "x.three.example",
            "four.example",
        ] {
            assert!(l.matches(d).unwrap(), "{d}");
        }
        assert!(DomainList::new("t", "/nonexistent/file", false).is_err());
    }

    #[test]
    fn empty_domain_and_empty_list_never_match() {
        assert!(!list("", false).matches("example.com").unwrap());
        assert!(list("", false).is_empty());
        assert!(!list("example.com", false).matches("").unwrap());
    }
}
