//! NAME
//!   address - restrictions about addresses and names: unknown clients,
//!   non-FQDN and unknown domains, relay permission, unlisted recipients
//!
//! DESCRIPTION
//!   The checks behind `reject_unknown_client_hostname`,
//!   `reject_unknown_reverse_client_hostname`, `reject_non_fqdn_sender` /
//!   `_recipient`, `reject_unknown_sender_domain` / `_recipient_domain`,
//!   `reject_unauth_destination` and friends ([`Checks::relay_ok`]), and
//!   `reject_unlisted_recipient` ([`Checks::unlisted_recipient`]: the
//!   recipient must be in the table of its address class —
//!   `local_recipient_maps`, `virtual_alias_maps`, `virtual_mailbox_maps`,
//!   `relay_recipient_maps`).
//!
//! DIAGNOSTICS
//!   A table that fails (a [`super::surrogate`] for one that could not be
//!   opened, or a read error) gives `451 4.3.0 <name>: Temporary lookup
//!   failure`, as Postfix 3.7 answers; the check is never skipped.
use super::{surrogate, Checks, Decision, Effects, Facts, Reject};
use crate::peer::{valid_hostname, DnsAnswer};
use crate::token::domain_of;
use maps::DictError;
use std::net::IpAddr;
use util::msg_warn;

/// `451 4.3.0 <name>: Temporary lookup failure` (Postfix's answer when
/// a table of an address class, a network or a domain list fails; the
/// warnings are logged where the lookup failed).
pub(super) fn temp_lookup_error(name: &str) -> Decision {
    Decision::Reject(Reject::new(
        451,
        "4.3.0",
        format!("<{name}>: Temporary lookup failure"),
    ))
}

/// Log a failed table lookup unless a surrogate table already did.
pub(super) fn warn_dict(e: &DictError) {
    if !surrogate::is_surrogate(e) {
        msg_warn!("{e}");
    }
}

pub(super) fn is_literal(h: &str) -> bool {
    h.starts_with('[') && h.ends_with(']')
}

impl Checks {
    /// reject_unknown_client_hostname (`reverse`: ..._reverse_...):
    /// the client has no (verified / reverse) name.
    pub(super) fn unknown_client(f: &Facts, code: u16, reverse: bool) -> Decision {
        let Some(p) = &f.peer else {
            return Decision::Dunno;
        };
        let name = if reverse { &p.reverse_name } else { &p.name };
        if p.ip.is_none() || name != "unknown" {
            return Decision::Dunno;
        }
        let what = if reverse {
            "reverse hostname"
        } else {
            "hostname"
        };
        Decision::Reject(Reject::new(
            if p.name_tempfail { 450 } else { code },
            "4.7.25",
            format!(
                "Client host rejected: cannot find your {what}, [{}]",
                p.addr
            ),
        ))
    }

    pub(super) fn non_fqdn(&self, addr: &str, class: &str) -> Decision {
        let ok = match domain_of(addr) {
            Some(d) => is_literal(d) || (d.contains('.') && valid_hostname(d)),
            None => false,
        };
        if ok {
            Decision::Dunno
        } else {
            Decision::Reject(Reject::new(
                self.codes.non_fqdn,
                "5.5.2",
                format!("<{addr}>: {class} rejected: need fully-qualified address"),
            ))
        }
    }

    pub(super) fn unknown_domain(
        &self,
        addr: &str,
        class: &str,
        dsn: &str,
        fx: &mut Effects,
    ) -> Decision {
        let Some(d) = domain_of(addr) else {
            return Decision::Dunno;
        };
        if is_literal(d) || matches!(self.is_final_or_relay(d), Ok(true)) {
            return Decision::Dunno;
        }
        match self.dns.mail_domain_exists(d) {
            DnsAnswer::Found(()) => Decision::Dunno,
            DnsAnswer::NotFound => Decision::Reject(Reject::new(
                self.codes.unknown_address,
                dsn,
                format!("<{addr}>: {class} rejected: Domain not found"),
            )),
            DnsAnswer::TempFail(_) => {
                fx.defer_if_permit = Some(Reject::new(
                    450,
                    dsn,
                    format!("<{addr}>: {class} rejected: Domain not found"),
                ));
                Decision::Dunno
            }
        }
    }

    pub(super) fn is_local_domain(&self, d: &str) -> Result<bool, String> {
        if is_literal(d) {
            let ip = d[1..d.len() - 1]
                .trim_start_matches("IPv6:")
                .parse::<IpAddr>();
            return Ok(ip.is_ok_and(|ip| ip.is_loopback() || self.interface_addrs.contains(&ip)));
        }
        self.local_domains.matches(d)
    }

    pub(super) fn is_final_or_relay(&self, d: &str) -> Result<bool, String> {
        Ok(self.is_local_domain(d)?
            || self.virtual_alias_domains.matches(d)?
            || self.virtual_mailbox_domains.matches(d)?
            || self.relay_domains.matches(d)?)
    }

    /// Whether mail for `rcpt` may be accepted from anyone (final
    /// destination or relay domain, no sender-specified routing).
    /// Errors: a table lookup failed.
    pub(crate) fn relay_ok(&self, rcpt: &str) -> Result<bool, String> {
        let (local, domain) = match rcpt.rfind('@') {
            Some(i) => (&rcpt[..i], Some(&rcpt[i + 1..])),
            None => (rcpt, None),
        };
        if !self.allow_untrusted_routing && local.contains(['@', '!', '%']) {
            return Ok(false);
        }
        match domain {
            None => Ok(true),
            Some(d) => self.is_final_or_relay(d),
        }
    }

    /// `reject_unlisted_recipient`: refuse an address that no table of
    /// its address class knows.
    pub(crate) fn unlisted_recipient(&self, rcpt: &str) -> Decision {
        let domain = domain_of(rcpt);
        let class = |d: &str| -> Result<u8, String> {
            Ok(if self.is_local_domain(d)? {
                0
            } else if self.virtual_alias_domains.matches(d)? {
                1
            } else if self.virtual_mailbox_domains.matches(d)? {
                2
            } else if self.relay_domains.matches(d)? {
                3
            } else {
                4
            })
        };
        let cls = match domain {
            None => 0,
            Some(d) => match class(d) {
                Ok(c) => c,
                Err(_) => return temp_lookup_error(rcpt),
            },
        };
        let (maps, code, table) = match cls {
            0 => (
                &self.local_rcpt_maps,
                self.codes.unknown_local,
                "local recipient table",
            ),
            1 => (
                &self.virtual_alias_maps,
                self.codes.unknown_virtual_alias,
                "virtual alias table",
            ),
            2 => (
                &self.virtual_mailbox_maps,
                self.codes.unknown_virtual_mailbox,
                "virtual mailbox table",
            ),
            3 => (
                &self.relay_rcpt_maps,
                self.codes.unknown_relay,
                "relay recipient table",
            ),
            _ => return Decision::Dunno,
        };
        let Some(maps) = maps else {
            return Decision::Dunno;
        };
        let lookup = |m: &maps::Maps| {
            maps::search::find_address(m, rcpt, &self.recipient_delimiter, cls == 0)
        };
        let mut hit = lookup(maps);
        if matches!(hit, Ok(None)) && cls != 1 {
            if let Some(va) = &self.virtual_alias_maps {
                hit = lookup(va);
            }
        }
        match hit {
            Err(e) => {
                warn_dict(&e);
                temp_lookup_error(rcpt)
            }
            Ok(Some(_)) => Decision::Dunno,
            Ok(None) => Decision::Reject(Reject::new(
                code,
                "5.1.1",
                format!("<{rcpt}>: Recipient address rejected: User unknown in {table}"),
            )),
        }
    }
}
