//! NAME
//!   rewrite - which clients get their headers rewritten as local mail
//!   (local_header_rewrite_clients), and permit_inet_interfaces
//!
//! DESCRIPTION
//!   At every MAIL command smtpd decides whether the message is local
//!   mail or remote mail for header purposes, and tells cleanup with the
//!   `rewrite_context` attribute (doc/PIPELINE.md): `local` makes cleanup
//!   complete header addresses with `$myorigin`/`$mydomain` and add the
//!   missing Message-Id:, Date:, From: (and To:) headers; `remote` leaves
//!   the headers alone unless `remote_header_rewrite_domain` (or
//!   `always_add_missing_headers`) says otherwise (postconf(5)
//!   `local_header_rewrite_clients`). The envelope is always rewritten
//!   in the local context.
//!
//!   [`Checks::rewrite_local`] reads `local_header_rewrite_clients` left
//!   to right; the first element that matches the client makes the
//!   message local, and when none does it is remote. The elements are:
//!
//!   - `permit_inet_interfaces`: the client IP address is one of the
//!     addresses `inet_interfaces` names (every interface address for
//!     `all`, the loopback ones for `loopback-only`); the default;
//!   - `permit_mynetworks`: the client is in `mynetworks`;
//!   - `permit_sasl_authenticated`: the client authenticated with AUTH;
//!   - `permit_tls_clientcerts`: a verified client certificate whose
//!     fingerprint is in `relay_clientcerts`;
//!   - `permit_tls_all_clientcerts`: any verified client certificate;
//!   - `check_address_map type:table`, or just `type:table`: the client
//!     IP address (as text, no subnet search) is a key of the table; the
//!     value does not matter (pop-before-smtp tables).
//!
//!   A stand-alone server (`sendmail -bs`) always submits local mail, as
//!   Postfix's does through postdrop and pickup.
//!
//!   The restriction `permit_inet_interfaces` (in any
//!   `smtpd_*_restrictions`) uses the same address test
//!   ([`Checks::permit_inet_interfaces`]).
//!
//! DIAGNOSTICS
//!   An element Postfix does not allow here is skipped with `warning:
//!   parameter local_header_rewrite_clients: invalid request: NAME`. A
//!   table that fails (or could not be opened) makes MAIL answer `451
//!   4.3.0 Temporary lookup error`, as Postfix 3.7 does.
//!
//! SEE ALSO
//!   postconf(5) local_header_rewrite_clients, remote_header_rewrite_domain,
//!   always_add_missing_headers, inet_interfaces; cleanup(8).
use super::address::warn_dict;
use super::{Checks, Decision, Facts, Reject};
use global::Config;
use std::net::IpAddr;
use util::msg_warn;

/// The parameter this module implements.
pub const PARAM: &str = "local_header_rewrite_clients";

/// `local_header_rewrite_clients` as a list of elements, with the bare
/// `type:table` form spelled out as `check_address_map type:table`.
pub(super) fn parse_list(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for item in cfg
        .get_list("local_header_rewrite_clients")
        .unwrap_or_default()
    {
        if item.contains(':') && out.last().is_none_or(|l: &String| l != "check_address_map") {
            out.push("check_address_map".to_string());
        }
        out.push(item);
    }
    out
}

/// The addresses that `inet_interfaces` names (Postfix's own_inet_addr
/// list): interface addresses only, not their networks. A value that
/// names no local address leaves the list empty with a warning (master
/// refuses to start with it anyway).
pub(super) fn inet_addrs(cfg: &Config) -> Vec<IpAddr> {
    match cfg.own_networks() {
        Ok(nets) => nets.iter().map(|n| n.addr()).collect(),
        Err(e) => {
            msg_warn!("{e}");
            Vec::new()
        }
    }
}

/// The client's IP address as the checks see it: the peer's, or
/// 127.0.0.1 for a client without one (stand-alone mode), v4-mapped
/// IPv6 addresses as IPv4.
fn client_ip(f: &Facts) -> IpAddr {
    f.peer
        .as_ref()
        .and_then(|p| p.ip)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
        .to_canonical()
}

impl Checks {
    /// The restriction `permit_inet_interfaces`: permit when the client
    /// IP address is one of the `inet_interfaces` addresses.
    pub(super) fn permit_inet_interfaces(&self, f: &Facts) -> Decision {
        if self.inet_addrs.contains(&client_ip(f)) {
            Decision::Permit
        } else {
            Decision::Dunno
        }
    }

    /// Whether headers of mail from this client are rewritten in the
    /// `local` context (`true`) or the `remote` one
    /// (`local_header_rewrite_clients`, module description).
    /// `stand_alone`: `sendmail -bs`, always local.
    ///
    /// Errors: a table lookup failed: the refusal `451 4.3.0 Temporary
    /// lookup error` for the MAIL command.
    pub fn rewrite_local(&self, f: &Facts, stand_alone: bool) -> Result<bool, Reject> {
        if stand_alone {
            return Ok(true);
        }
        let list = &self.rewrite_clients;
        let mut i = 0;
        while i < list.len() {
            let name = list[i].to_ascii_lowercase();
            i += 1;
            let hit = match name.as_str() {
                "permit_inet_interfaces" => self.permit_inet_interfaces(f) == Decision::Permit,
                "permit_mynetworks" => match self.mynetworks.matches(client_ip(f)) {
                    Ok(m) => m,
                    Err(_) => return Err(lookup_error()),
                },
                "permit_sasl_authenticated" => Self::permit_sasl(f) == Decision::Permit,
                "permit_tls_clientcerts" => self.permit_clientcerts(f) == Decision::Permit,
                "permit_tls_all_clientcerts" => Self::permit_all_clientcerts(f) == Decision::Permit,
                "check_address_map" => {
                    let Some(table) = list.get(i) else {
                        msg_warn!("parameter {PARAM}: missing table after check_address_map");
                        continue;
                    };
                    i += 1;
                    self.address_map_has(table, f)?
                }
                _ => {
                    msg_warn!("parameter {PARAM}: invalid request: {}", list[i - 1]);
                    false
                }
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the client IP address is a key of `table` (opened by
    /// [`Checks::new`]). Errors: the lookup failed.
    fn address_map_has(&self, table: &str, f: &Facts) -> Result<bool, Reject> {
        let Some(m) = self.tables.get(table) else {
            return Ok(false);
        };
        let addr = f
            .peer
            .as_ref()
            .map_or_else(|| client_ip(f).to_string(), |p| p.addr.clone());
        match m.find(&addr, false) {
            Ok(v) => Ok(v.is_some()),
            Err(e) => {
                warn_dict(&e);
                Err(lookup_error())
            }
        }
    }
}

fn lookup_error() -> Reject {
    Reject::new(451, "4.3.0", "Temporary lookup error")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_text(&std::env::temp_dir(), text).unwrap()
    }

    #[test]
    fn bare_tables_become_check_address_map() {
        let c = cfg("local_header_rewrite_clients = permit_mynetworks, \
             inline:{1.2.3.4=x}, check_address_map texthash:/x\n");
        assert_eq!(
            parse_list(&c),
            vec![
                "permit_mynetworks",
                "check_address_map",
                "inline:{1.2.3.4=x}",
                "check_address_map",
                "texthash:/x",
            ]
        );
        assert_eq!(parse_list(&cfg("")), vec!["permit_inet_interfaces"]);
    }

    #[test]
    fn loopback_only_names_the_loopback_addresses() {
        let addrs = inet_addrs(&cfg(
            "inet_interfaces = loopback-only\ninet_protocols = ipv4\n",
        ));
        assert!(addrs.iter().all(IpAddr::is_loopback), "{addrs:?}");
        assert!(addrs.contains(&IpAddr::from([127, 0, 0, 1])), "{addrs:?}");
    }
}
