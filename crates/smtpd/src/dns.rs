//! NAME
//!   dns - the resolver behind smtpd's DNS questions
//!
//! DESCRIPTION
//!   [`system`] builds a [`crate::peer::Dns`] on hickory-resolver with the
//!   system configuration (/etc/resolv.conf, /etc/hosts), read once
//!   before chroot. It answers PTR lookups (peer names), A/AAAA lookups
//!   (forward confirmation) and "does this mail domain exist" (an MX
//!   record, else an A or AAAA record), as `reject_unknown_*_domain`
//!   need. A name that does not exist is [`DnsAnswer::NotFound`]; a
//!   timeout or server failure is [`DnsAnswer::TempFail`].
//!
//! DIAGNOSTICS
//!   An unreadable resolver configuration is logged as a warning; every
//!   lookup then fails temporarily.
use crate::peer::{Dns, DnsAnswer};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::Resolver;
use std::net::IpAddr;
use util::msg_warn;

struct Hickory(Option<Resolver>);

fn classify<T>(e: &ResolveError) -> DnsAnswer<T> {
    match e.kind() {
        ResolveErrorKind::NoRecordsFound { .. } => DnsAnswer::NotFound,
        _ => DnsAnswer::TempFail(e.to_string()),
    }
}

/// The system resolver (see the module description).
pub fn system() -> Box<dyn Dns> {
    let r = match Resolver::from_system_conf() {
        Ok(r) => Some(r),
        Err(e) => {
            msg_warn!("DNS resolver configuration: {e}");
            None
        }
    };
    Box::new(Hickory(r))
}

impl Dns for Hickory {
    fn reverse(&self, ip: IpAddr) -> DnsAnswer<Vec<String>> {
        let Some(r) = &self.0 else {
            return DnsAnswer::TempFail("no resolver".into());
        };
        match r.reverse_lookup(ip) {
            Ok(names) => DnsAnswer::Found(names.iter().map(|n| n.to_utf8()).collect()),
            Err(e) => classify(&e),
        }
    }

    fn addresses(&self, name: &str) -> DnsAnswer<Vec<IpAddr>> {
        let Some(r) = &self.0 else {
            return DnsAnswer::TempFail("no resolver".into());
        };
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match r.lookup_ip(fqdn.as_str()) {
            Ok(ips) => DnsAnswer::Found(ips.iter().collect()),
            Err(e) => classify(&e),
        }
    }

    fn mail_domain_exists(&self, domain: &str) -> DnsAnswer<()> {
        let Some(r) = &self.0 else {
            return DnsAnswer::TempFail("no resolver".into());
        };
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        match r.mx_lookup(fqdn.as_str()) {
            Ok(mx) if mx.iter().next().is_some() => return DnsAnswer::Found(()),
            Ok(_) => {}
            Err(e) => {
                if let DnsAnswer::TempFail(t) = classify::<()>(&e) {
                    return DnsAnswer::TempFail(t);
                }
            }
        }
        match self.addresses(domain) {
            DnsAnswer::Found(a) if !a.is_empty() => DnsAnswer::Found(()),
            DnsAnswer::TempFail(t) => DnsAnswer::TempFail(t),
            _ => DnsAnswer::NotFound,
        }
    }
}
