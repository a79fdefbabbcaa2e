//! NAME
//!   resolver - decide where a recipient goes (Postfix's trivial-rewrite resolve)
//!
//! SYNOPSIS
//!   let r = Resolver::new(&cfg)?;
//!   let res = r.resolve("user@example.com");
//!   // res.transport = "smtp", res.nexthop = "example.com", res.class = Default
//!
//! DESCRIPTION
//!   [`Resolver::resolve`] takes a recipient in internal form, rewrites it
//!   in the local context ([`crate::rewrite`]), and then, as long as its
//!   domain is local, removes the domain and applies the percent hack and
//!   the bang path rule to what is left (`user%remote@local` goes to
//!   `user@remote`). The address class follows ADDRESS_CLASS_README:
//!
//!   - local: no domain left, the domain is in `mydestination`, or it is
//!     `[ip]` for an address of `inet_interfaces` / `proxy_interfaces`.
//!     Route `local_transport`; the recipient keeps its local domain or
//!     gets `@$myhostname`.
//!   - virtual alias: the domain is in `virtual_alias_domains`. Route
//!     `error:5.1.1 User unknown in virtual alias table` (without "in
//!     virtual alias table" when `show_user_unknown_table_name = no`):
//!     cleanup should have rewritten every valid address of such a domain.
//!   - virtual mailbox: `virtual_mailbox_domains`, route `virtual_transport`.
//!   - relay: `relay_domains`, route `relay_transport`.
//!   - default: anything else, route `default_transport`.
//!
//!   The nexthop is the one written in the class's transport parameter,
//!   else, for relay and default, `relayhost`, else the recipient domain.
//!   Then `transport_maps` may override transport and nexthop
//!   ([`crate::transport`]).
//!
//!   An address ending in `@` is a syntax error unless
//!   `resolve_null_domain = yes` ([`Flags::error`]); `user@1.2.3.4` is
//!   treated as `user@[1.2.3.4]` when `resolve_numeric_domain = yes`. A
//!   table that fails sets [`Flags::fail`]; the caller defers (Postfix:
//!   `4.3.0 address resolver failure`), and bounces a [`Flags::error`]
//!   result (`5.1.3 bad address syntax`).
//!
//!   Nothing is cached: every call consults the tables opened by
//!   [`Resolver::new`]; [`Resolver::changed`] says when a table file was
//!   replaced, so a long-running daemon can restart.
//!
//! SEE ALSO
//!   trivial-rewrite(8), ADDRESS_CLASS_README, transport(5), postconf(5)
//!   `mydestination`, `inet_interfaces`, `proxy_interfaces`,
//!   `virtual_alias_domains`, `virtual_mailbox_domains`, `relay_domains`,
//!   `relayhost`, `resolve_null_domain`, `resolve_numeric_domain`,
//!   `empty_address_recipient`, `show_user_unknown_table_name`.
use crate::domains::DomainList;
use crate::rewrite::{percent_hack, rewrite_address, swap_bangpath, Context, RewriteParams};
use crate::transport::{self, Route};
use crate::ResolveError;
use global::Config;
use maps::{DictError, DictFlags, Maps};
use std::net::IpAddr;

/// Address classes (ADDRESS_CLASS_README).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// `mydestination`, local `[ip]`, or no domain.
    Local,
    /// `virtual_alias_domains`.
    VirtualAlias,
    /// `virtual_mailbox_domains`.
    VirtualMailbox,
    /// `relay_domains`.
    Relay,
    /// Everything else.
    Default,
}

/// Conditions found while resolving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// A table lookup failed: defer the recipient (`4.3.0 address
    /// resolver failure`).
    pub fail: bool,
    /// The address is malformed (ends in `@`): bounce it (`5.1.3 bad
    /// address syntax`).
    pub error: bool,
    /// The address still routes through another host after the domain:
    /// its local part holds `@`, `%` or `!` (smtpd's
    /// `allow_untrusted_routing` check uses this).
    pub routed: bool,
}

/// Where one recipient goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The master.cf service to deliver with (`local`, `smtp`, `error`, ...).
    pub transport: String,
    /// The next hop, as written (`example.com`, `[10.0.0.1]:2525`), or the
    /// reason text for `error` / `discard`.
    pub nexthop: String,
    /// The recipient after resolution (`user@domain`; local recipients of
    /// a bare user get `@$myhostname`).
    pub recipient: String,
    /// The address class.
    pub class: AddressClass,
    /// Conditions (failure, syntax error, routing).
    pub flags: Flags,
}

impl Resolved {
    /// Whether the domain is one this system is final destination or
    /// relay for (local, virtual alias, virtual mailbox, relay) — smtpd's
    /// `reject_unauth_destination` accepts these.
    pub fn is_final_or_relay(&self) -> bool {
        self.class != AddressClass::Default
    }
}

/// The resolver: parameters read and tables opened once.
#[derive(Debug)]
pub struct Resolver {
    local_rw: RewriteParams,
    remote_rw: RewriteParams,
    myhostname: String,
    mydestination: DomainList,
    virtual_alias_domains: DomainList,
    virtual_mailbox_domains: DomainList,
    relay_domains: DomainList,
    local_addrs: Vec<IpAddr>,
    local_transport: Route,
    virtual_transport: Route,
    relay_transport: Route,
    default_transport: Route,
    relayhost: String,
    transport_maps: Maps,
    transport_parent_matches: bool,
    delimiters: String,
    empty_address_recipient: String,
    resolve_null_domain: bool,
    resolve_numeric_domain: bool,
    show_table: bool,
}

fn cfg_err(e: global::ConfigError) -> ResolveError {
    ResolveError::Config(e.to_string())
}

impl Resolver {
    /// Read the parameters (module description) from `cfg` and open the
    /// tables they name. Errors: a bad parameter value, or a table that
    /// cannot be opened.
    pub fn new(cfg: &Config) -> Result<Resolver, ResolveError> {
        let list = |n: &str| DomainList::from_config(cfg, n).map_err(ResolveError::Table);
        let route = |n: &str| cfg.get(n).map(|v| Route::parse(&v)).map_err(cfg_err);
        let parents = cfg
            .get("parent_domain_matches_subdomains")
            .map_err(cfg_err)?;
        let tm = cfg.get("transport_maps").map_err(cfg_err)?;
        let transport_maps = Maps::open("transport_maps", &tm, DictFlags::default())
            .map_err(|e| ResolveError::Table(format!("transport_maps: {e}")))?;
        let mut local_addrs = interface_addrs(&cfg.get("inet_interfaces").map_err(cfg_err)?);
        local_addrs.extend(interface_addrs(
            &cfg.get("proxy_interfaces").map_err(cfg_err)?,
        ));
        Ok(Resolver {
            local_rw: RewriteParams::from_config(cfg, Context::Local).map_err(cfg_err)?,
            remote_rw: RewriteParams::from_config(cfg, Context::Remote).map_err(cfg_err)?,
            myhostname: cfg.get("myhostname").map_err(cfg_err)?,
            mydestination: list("mydestination")?,
            virtual_alias_domains: list("virtual_alias_domains")?,
            virtual_mailbox_domains: list("virtual_mailbox_domains")?,
            relay_domains: list("relay_domains")?,
            local_addrs,
            local_transport: route("local_transport")?,
            virtual_transport: route("virtual_transport")?,
            relay_transport: route("relay_transport")?,
            default_transport: route("default_transport")?,
            relayhost: cfg.get("relayhost").map_err(cfg_err)?.trim().to_string(),
            transport_maps,
            transport_parent_matches: maps::search::parent_domain_matches_subdomains(
                &parents,
                "transport_maps",
            ),
            delimiters: cfg.get("recipient_delimiter").map_err(cfg_err)?,
            empty_address_recipient: cfg.get("empty_address_recipient").map_err(cfg_err)?,
            resolve_null_domain: cfg.get_bool("resolve_null_domain").map_err(cfg_err)?,
            resolve_numeric_domain: cfg.get_bool("resolve_numeric_domain").map_err(cfg_err)?,
            show_table: cfg
                .get_bool("show_user_unknown_table_name")
                .map_err(cfg_err)?,
        })
    }

    /// Rewrite `addr` to canonical form in context `ctx`
    /// ([`crate::rewrite`]).
    pub fn rewrite(&self, ctx: Context, addr: &str) -> String {
        match ctx {
            Context::Local => rewrite_address(&self.local_rw, addr),
            Context::Remote => rewrite_address(&self.remote_rw, addr),
        }
    }

    /// Whether the remote context rewrites anything
    /// (`remote_header_rewrite_domain` is set); cleanup leaves remote
    /// headers alone otherwise.
    pub fn rewrites_remote(&self) -> bool {
        !self.remote_rw.origin.is_empty()
    }

    /// Whether `domain` is local: in `mydestination`, or `[ip]` of an
    /// `inet_interfaces` / `proxy_interfaces` address. Errors: a table
    /// of `mydestination` failed.
    pub fn is_local_domain(&self, domain: &str) -> Result<bool, DictError> {
        if let Some(lit) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
            let lit = lit
                .strip_prefix("IPv6:")
                .or_else(|| lit.strip_prefix("ipv6:"))
                .unwrap_or(lit);
            return Ok(lit
                .parse::<IpAddr>()
                .is_ok_and(|ip| self.local_addrs.contains(&ip)));
        }
        self.mydestination.matches(domain)
    }

    /// Whether a table file changed since [`Resolver::new`].
    pub fn changed(&self) -> bool {
        self.transport_maps.changed()
    }

    /// Resolve recipient `addr` (module description). Never fails:
    /// problems are reported in [`Resolved::flags`].
    pub fn resolve(&self, addr: &str) -> Resolved {
        let mut flags = Flags::default();
        let input = if addr.is_empty() {
            self.empty_address_recipient.as_str()
        } else {
            addr
        };
        let mut cur = self.rewrite(Context::Local, input);
        let mut saved_domain: Option<String> = None;
        let mut local = false;
        loop {
            let Some(at) = cur.rfind('@') else {
                local = true;
                break;
            };
            let mut domain = cur[at + 1..].to_string();
            if domain.is_empty() {
                if self.resolve_null_domain {
                    cur.truncate(at);
                    continue;
                }
                flags.error = true;
                break;
            }
            if self.resolve_numeric_domain && domain.parse::<IpAddr>().is_ok() {
                domain = format!("[{domain}]");
                cur = format!("{}@{domain}", &cur[..at]);
            }
            match self.is_local_domain(&domain) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    util::msg_warn!("{}: table lookup problem: {e}", self.mydestination.title());
                    flags.fail = true;
                    break;
                }
            }
            let user = cur[..at].to_string();
            saved_domain = Some(domain);
            if let Some(next) = self.local_reroute(&user) {
                cur = next;
                saved_domain = None;
                continue;
            }
            cur = user;
            local = true;
            break;
        }
        let (recipient, rcpt_domain) = if local {
            let d = saved_domain.unwrap_or_else(|| self.myhostname.clone());
            (format!("{cur}@{d}"), d)
        } else {
            let d = cur
                .rfind('@')
                .map(|at| cur[at + 1..].to_string())
                .unwrap_or_default();
            (cur.clone(), d)
        };
        let localpart = &recipient[..recipient.len() - rcpt_domain.len() - 1];
        if !local && localpart.contains(['@', '%', '!']) {
            flags.routed = true;
        }
        let (class, base) = self.classify(local, &rcpt_domain, &mut flags);
        let mut route = Route {
            transport: base.transport.clone(),
            nexthop: self.default_nexthop(class, &base, &rcpt_domain),
        };
        if !flags.error && !flags.fail && !self.transport_maps.is_empty() {
            let key = if addr.is_empty() {
                format!("{}@{}", self.empty_address_recipient, self.myhostname)
            } else {
                recipient.clone()
            };
            match transport::find(
                &self.transport_maps,
                &key,
                &self.delimiters,
                self.transport_parent_matches,
            ) {
                Ok(Some(v)) => route = Route::parse(&v).apply(&route, &rcpt_domain),
                Ok(None) => {}
                Err(e) => {
                    util::msg_warn!("transport_maps: table lookup problem: {e}");
                    flags.fail = true;
                }
            }
        }
        Resolved {
            transport: route.transport,
            nexthop: route.nexthop,
            recipient,
            class,
            flags,
        }
    }

    /// After a local domain was removed: `user%domain` or `site!user`
    /// become a new address to resolve.
    fn local_reroute(&self, user: &str) -> Option<String> {
        if self.local_rw.percent_hack {
            if let Some(next) = percent_hack(user) {
                return Some(next);
            }
        }
        if self.local_rw.swap_bangpath {
            return swap_bangpath(user);
        }
        None
    }

    fn classify(&self, local: bool, domain: &str, flags: &mut Flags) -> (AddressClass, Route) {
        if local {
            return (AddressClass::Local, self.local_transport.clone());
        }
        if flags.error || flags.fail {
            return (AddressClass::Default, self.default_transport.clone());
        }
        let mut check = |list: &DomainList| match list.matches(domain) {
            Ok(hit) => hit,
            Err(e) => {
                util::msg_warn!("{}: table lookup problem: {e}", list.title());
                flags.fail = true;
                false
            }
        };
        if check(&self.virtual_alias_domains) {
            let text = if self.show_table {
                "5.1.1 User unknown in virtual alias table"
            } else {
                "5.1.1 User unknown"
            };
            let r = Route {
                transport: "error".into(),
                nexthop: text.into(),
            };
            return (AddressClass::VirtualAlias, r);
        }
        if check(&self.virtual_mailbox_domains) {
            return (AddressClass::VirtualMailbox, self.virtual_transport.clone());
        }
        if check(&self.relay_domains) {
            return (AddressClass::Relay, self.relay_transport.clone());
        }
        (AddressClass::Default, self.default_transport.clone())
    }

    fn default_nexthop(&self, class: AddressClass, base: &Route, rcpt_domain: &str) -> String {
        if !base.nexthop.is_empty() {
            return base.nexthop.clone();
        }
        if matches!(class, AddressClass::Relay | AddressClass::Default)
            && !self.relayhost.is_empty()
        {
            return self.relayhost.clone();
        }
        rcpt_domain.to_string()
    }
}

/// The IP addresses named by an `inet_interfaces`-style value: `all`
/// (every interface address), `loopback-only`, literal addresses, or
/// host names (resolved with the system resolver).
pub fn interface_addrs(value: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for item in util::strings::split_list(value) {
        match item.to_ascii_lowercase().as_str() {
            "all" => out.extend(global::host::interface_networks().iter().map(|n| n.addr())),
            "loopback-only" => {
                out.push(IpAddr::from([127, 0, 0, 1]));
                out.push(IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
            }
            _ => {
                let bare = item.trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = bare.parse::<IpAddr>() {
                    out.push(ip);
                } else if let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(&(bare, 0)) {
                    out.extend(addrs.map(|a| a.ip()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
