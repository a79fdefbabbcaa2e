//! NAME
//!   transport - `transport:nexthop` values and the transport(5) search
//!
//! DESCRIPTION
//!   A delivery route is written `transport:nexthop` in the class
//!   parameters (`local_transport = local:$myhostname`, `relay_transport
//!   = relay`, `default_transport = smtp`) and in `transport_maps`
//!   results. Either part may be empty. The nexthop is kept as written:
//!   a domain, a host, `[host]`, `[host]:port`, `host:port`, or for the
//!   `error` and `discard` transports the text of the reason. Only the
//!   first `:` separates the parts, so `smtp:[10.0.0.1]:2525` is the
//!   transport `smtp` with nexthop `[10.0.0.1]:2525`.
//!
//!   transport(5) search order for `user+ext@domain` with
//!   `recipient_delimiter = +`: `user+ext@domain`, `user@domain`,
//!   `domain`, then the parent domains (`.parent`, or `parent` when
//!   `transport_maps` is listed in `parent_domain_matches_subdomains`),
//!   then `*`. Only the first key is given to pattern tables (regexp:,
//!   cidr:). The null recipient is looked up as
//!   `$empty_address_recipient@$myhostname`.
//!
//!   Applying a result ([`Route::apply`]): an empty transport keeps the
//!   transport of the address class; an empty nexthop after a non-empty
//!   transport means the recipient domain; `:` alone (both empty)
//!   changes nothing.
//!
//! SEE ALSO
//!   transport(5), postconf(5) `transport_maps`, `local_transport`,
//!   `virtual_transport`, `relay_transport`, `default_transport`.
use maps::search::{split_address, split_extension};
use maps::{DictError, Maps};

/// A parsed `transport:nexthop` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// The master.cf service name (may be empty).
    pub transport: String,
    /// The next hop (may be empty).
    pub nexthop: String,
}

impl Route {
    /// Split `value` at its first `:`; without a colon the whole value is
    /// the transport.
    pub fn parse(value: &str) -> Route {
        let value = value.trim();
        match value.split_once(':') {
            Some((t, n)) => Route {
                transport: t.trim().to_string(),
                nexthop: n.trim().to_string(),
            },
            None => Route {
                transport: value.to_string(),
                nexthop: String::new(),
            },
        }
    }

    /// Apply a transport table result `self` to the class route `base`
    /// for a recipient in `rcpt_domain` (module description).
    pub fn apply(&self, base: &Route, rcpt_domain: &str) -> Route {
        match (self.transport.is_empty(), self.nexthop.is_empty()) {
            (true, true) => base.clone(),
            (true, false) => Route {
                transport: base.transport.clone(),
                nexthop: self.nexthop.clone(),
            },
            (false, true) => Route {
                transport: self.transport.clone(),
                nexthop: rcpt_domain.to_string(),
            },
            (false, false) => self.clone(),
        }
    }
}

/// Look `addr` (a resolved `user@domain`, or empty for the null
/// recipient, already replaced by the caller) up in `maps` in
/// transport(5) order. `delimiters` is `recipient_delimiter`;
/// `parent_matches` is the `parent_domain_matches_subdomains` setting
/// for `transport_maps`. Returns the raw value. Errors: a table failed.
pub fn find(
    maps: &Maps,
    addr: &str,
    delimiters: &str,
    parent_matches: bool,
) -> Result<Option<String>, DictError> {
    let lower = addr.to_ascii_lowercase();
    if let Some(v) = maps.find(&lower, false)? {
        return Ok(Some(v));
    }
    let (localpart, domain) = split_address(&lower);
    if let Some(domain) = domain {
        if let (user, Some(_)) = split_extension(localpart, delimiters) {
            if let Some(v) = maps.find(&format!("{user}@{domain}"), true)? {
                return Ok(Some(v));
            }
        }
        if !domain.is_empty() {
            if let Some(f) = maps::search::find_domain(maps, domain, parent_matches, true)? {
                return Ok(Some(f.value));
            }
        }
    }
    maps.find("*", true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use maps::DictFlags;

    fn table(entries: &str) -> Maps {
        Maps::open(
            "transport_maps",
            &format!("inline:{{ {entries} }}"),
            DictFlags::default(),
        )
        .unwrap()
    }

    #[test]
    fn route_parsing_keeps_nexthop_as_written() {
        assert_eq!(
            Route::parse("local:mx.example"),
            Route {
                transport: "local".into(),
                nexthop: "mx.example".into()
            }
        );
        assert_eq!(
            Route::parse("relay"),
            Route {
                transport: "relay".into(),
                nexthop: String::new()
            }
        );
        assert_eq!(
            Route::parse("smtp:[10.0.0.1]:2525"),
            Route {
                transport: "smtp".into(),
                nexthop: "[10.0.0.1]:2525".into()
            }
        );
        assert_eq!(
            Route::parse("error:5.7.1 no mail here: go away"),
            Route {
                transport: "error".into(),
                nexthop: "5.7.1 no mail here: go away".into()
            }
        );
        assert_eq!(Route::parse(":[gw.example]").transport, "");
    }

    #[test]
    fn apply_rules_of_transport5() {
        let base = Route {
            transport: "smtp".into(),
            nexthop: "relay.example".into(),
        };
        assert_eq!(Route::parse(":").apply(&base, "d.example"), base);
        assert_eq!(
            Route::parse("slow:").apply(&base, "d.example"),
            Route {
                transport: "slow".into(),
                nexthop: "d.example".into()
            }
        );
        assert_eq!(
            Route::parse(":[gw.example]").apply(&base, "d.example"),
            Route {
                transport: "smtp".into(),
                nexthop: "[gw.example]".into()
            }
        );
        assert_eq!(
            Route::parse("uucp:example").apply(&base, "d.example"),
            Route {
                transport: "uucp".into(),
                nexthop: "example".into()
            }
        );
    }

    #[test]
    fn search_order() {
        let all = "user+ext@d.example=1, user@d.example=2, d.example=3, .example=4, *=5";
        let keys = [
            "user+ext@d.example",
            "user@d.example",
            "d.example",
            ".example",
            "*",
        ];
        for skip in 0..keys.len() {
            let entries: Vec<&str> = all.split(", ").skip(skip).collect();
            let m = table(&entries.join(", "));
            let v = find(&m, "User+Ext@D.example", "+", false).unwrap();
            assert_eq!(v.as_deref(), Some(&*(skip + 1).to_string()), "skip {skip}");
        }
        assert_eq!(
            find(&table("x=1"), "u@d.example", "+", false).unwrap(),
            None
        );
        let m = table("example=bare");
        assert_eq!(
            find(&m, "u@d.example", "", true).unwrap().as_deref(),
            Some("bare")
        );
        assert_eq!(find(&m, "u@d.example", "", false).unwrap(), None);
    }
}
