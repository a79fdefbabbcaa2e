//! NAME
//!   check - smtpd access restrictions (Postfix's smtpd_check)
//!
//! DESCRIPTION
//!   [`Checks`] holds the restriction lists of every stage
//!   (`smtpd_client_restrictions`, `smtpd_helo_restrictions`,
//!   `smtpd_sender_restrictions`, `smtpd_relay_restrictions`,
//!   `smtpd_recipient_restrictions`, `smtpd_data_restrictions`,
//!   `smtpd_end_of_data_restrictions`, `smtpd_etrn_restrictions`), the
//!   tables they name (opened once, before chroot), the network and
//!   domain lists, and the policy server connections.
//!
//!   [`Checks::run`] evaluates one stage's list for the [`Facts`] of the
//!   moment. A list is read left to right: a restriction answers
//!   permit (the stage is done and passes), reject (the request is
//!   refused) or dunno (go on); the end of the list passes. A name listed
//!   in `smtpd_restriction_classes` is evaluated as the list its
//!   parameter holds. `warn_if_reject` turns the next restriction's
//!   refusal into a logged warning. The RCPT stage as a whole (client,
//!   helo and sender too when `smtpd_delay_reject = yes`, then relay and
//!   recipient) is [`Checks::rcpt`].
//!
//!   The restrictions themselves are in [`restrict`]; their reply texts
//!   and codes are Postfix's (postconf(5) and the codes `reject_code`,
//!   `defer_code`, `access_map_reject_code`, `relay_domains_reject_code`,
//!   `unknown_address_reject_code`, `non_fqdn_reject_code`, ...).
//!
//! DIAGNOSTICS
//!   An unknown restriction name is logged (`warning: unknown smtpd
//!   restriction: "name"`) and answered with `451 4.3.5 Server
//!   configuration error`. A table that cannot be opened is logged at
//!   start and replaced by a [`surrogate`] that fails every lookup; a
//!   failed lookup in a `check_*_access` table is answered `451 4.3.5
//!   <name>: Class rejected: Server configuration error`, one in any
//!   other table (`local_recipient_maps`, `mynetworks`, `relay_domains`
//!   ...) `451 4.3.0 <name>: Temporary lookup failure`, as Postfix 3.7
//!   does. Nothing is skipped silently.
//!
//! SEE ALSO
//!   postconf(5), access(5), SMTPD_ACCESS_README, SMTPD_POLICY_README.
pub mod access;
pub mod address;
pub mod ccert;
pub mod lists;
pub mod login;
pub mod policy;
pub mod restrict;
pub mod rewrite;
pub mod surrogate;

use crate::peer::{Dns, Peer};
use global::Config;
use lists::{DomainList, NetList};
use maps::Maps;
use std::collections::HashMap;
use util::msg_warn;

/// A restriction stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// smtpd_client_restrictions.
    Client,
    /// smtpd_helo_restrictions.
    Helo,
    /// smtpd_sender_restrictions.
    Sender,
    /// smtpd_relay_restrictions.
    Relay,
    /// smtpd_recipient_restrictions.
    Recipient,
    /// smtpd_data_restrictions.
    Data,
    /// smtpd_end_of_data_restrictions.
    EndOfData,
    /// smtpd_etrn_restrictions.
    Etrn,
}

impl Stage {
    /// The parameter that lists this stage's restrictions.
    pub fn param(self) -> &'static str {
        match self {
            Stage::Client => "smtpd_client_restrictions",
            Stage::Helo => "smtpd_helo_restrictions",
            Stage::Sender => "smtpd_sender_restrictions",
            Stage::Relay => "smtpd_relay_restrictions",
            Stage::Recipient => "smtpd_recipient_restrictions",
            Stage::Data => "smtpd_data_restrictions",
            Stage::EndOfData => "smtpd_end_of_data_restrictions",
            Stage::Etrn => "smtpd_etrn_restrictions",
        }
    }
}

/// A refusal: the reply `code dsn text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// SMTP reply code (450, 554, ...).
    pub code: u16,
    /// Enhanced status code, its class matching `code`.
    pub dsn: String,
    /// The reply text.
    pub text: String,
}

impl Reject {
    /// Build a refusal; the DSN class digit follows the reply code.
    pub fn new(code: u16, dsn: &str, text: impl Into<String>) -> Reject {
        let class = if code / 100 == 4 { '4' } else { '5' };
        let mut d = dsn.to_string();
        if d.len() > 1 && (d.starts_with('4') || d.starts_with('5') || d.starts_with('2')) {
            d.replace_range(0..1, &class.to_string());
        }
        Reject {
            code,
            dsn: d,
            text: text.into(),
        }
    }

    /// The reply line: `554 5.7.1 <x>: Relay access denied`.
    pub fn reply(&self) -> String {
        format!("{} {} {}", self.code, self.dsn, self.text)
    }
}

/// A stage's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No restriction decided.
    Dunno,
    /// Permitted.
    Permit,
    /// Refused.
    Reject(Reject),
}

/// What the restrictions see of the session at the moment they run.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The client.
    pub peer: Option<Peer>,
    /// The HELO/EHLO argument.
    pub helo: Option<String>,
    /// The sender (empty: null sender), once MAIL was given.
    pub sender: Option<String>,
    /// The recipient being checked.
    pub recipient: Option<String>,
    /// The ETRN domain.
    pub etrn_domain: Option<String>,
    /// SMTP or ESMTP.
    pub protocol: String,
    /// The command being checked: CONNECT, HELO, MAIL, RCPT, DATA,
    /// END-OF-MESSAGE, ETRN, VRFY.
    pub state: String,
    /// The queue ID, once known.
    pub queue_id: Option<String>,
    /// Recipients accepted so far.
    pub rcpt_count: usize,
    /// The message size (SIZE=, or the real size at end of data).
    pub size: u64,
    /// The client sent commands ahead without PIPELINING.
    pub unauth_pipelining: bool,
    /// What TLS negotiated, when the session is encrypted (client
    /// certificate, fingerprints).
    pub tls: Option<tls::TlsInfo>,
    /// The SASL login name, once AUTH succeeded.
    pub sasl_username: Option<String>,
}

/// Side effects requested by access tables and policy servers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// PREPEND headers, in order.
    pub prepend: Vec<String>,
    /// HOLD, DISCARD, FILTER, REDIRECT as (kind, argument, log text).
    pub actions: Vec<(String, String, String)>,
    /// Log lines without a decision: (`reject_warning`/`warn`/`info`,
    /// text).
    pub warnings: Vec<(String, String)>,
    /// A DEFER_IF_PERMIT that applies when the request is permitted.
    pub defer_if_permit: Option<Reject>,
    /// A DEFER_IF_REJECT that turns a later refusal into this.
    pub defer_if_reject: Option<Reject>,
}

/// The codes Postfix makes configurable.
#[derive(Debug, Clone)]
pub struct Codes {
    /// `reject_code`.
    pub reject: u16,
    /// `defer_code`.
    pub defer: u16,
    /// `access_map_reject_code`.
    pub access_reject: u16,
    /// `access_map_defer_code`.
    pub access_defer: u16,
    /// `relay_domains_reject_code`.
    pub relay: u16,
    /// `unknown_address_reject_code`.
    pub unknown_address: u16,
    /// `unknown_client_reject_code`.
    pub unknown_client: u16,
    /// `unknown_hostname_reject_code`.
    pub unknown_hostname: u16,
    /// `non_fqdn_reject_code`.
    pub non_fqdn: u16,
    /// `invalid_hostname_reject_code`.
    pub invalid_hostname: u16,
    /// `unknown_local_recipient_reject_code`.
    pub unknown_local: u16,
    /// `unknown_virtual_alias_reject_code`.
    pub unknown_virtual_alias: u16,
    /// `unknown_virtual_mailbox_reject_code`.
    pub unknown_virtual_mailbox: u16,
    /// `unknown_relay_recipient_reject_code`.
    pub unknown_relay: u16,
}

/// Everything the restrictions need, opened once.
pub struct Checks {
    pub(crate) config: Config,
    pub(crate) codes: Codes,
    pub(crate) lists: HashMap<Stage, Vec<String>>,
    pub(crate) classes: Vec<String>,
    pub(crate) tables: HashMap<String, Maps>,
    pub(crate) mynetworks: NetList,
    pub(crate) local_domains: DomainList,
    pub(crate) virtual_alias_domains: DomainList,
    pub(crate) virtual_mailbox_domains: DomainList,
    pub(crate) relay_domains: DomainList,
    pub(crate) local_rcpt_maps: Option<Maps>,
    pub(crate) virtual_alias_maps: Option<Maps>,
    pub(crate) virtual_mailbox_maps: Option<Maps>,
    pub(crate) relay_rcpt_maps: Option<Maps>,
    /// `relay_clientcerts` (for `permit_tls_clientcerts`).
    pub(crate) relay_ccerts: Option<Maps>,
    /// `smtpd_sender_login_maps`.
    pub(crate) sender_login_maps: Option<Maps>,
    pub(crate) interface_addrs: Vec<std::net::IpAddr>,
    /// The addresses `inet_interfaces` names (`permit_inet_interfaces`).
    pub(crate) inet_addrs: Vec<std::net::IpAddr>,
    /// `local_header_rewrite_clients`, see [`rewrite`].
    pub(crate) rewrite_clients: Vec<String>,
    pub(crate) reject_unlisted_recipient: bool,
    pub(crate) allow_untrusted_routing: bool,
    pub(crate) delay_reject: bool,
    pub(crate) recipient_delimiter: String,
    pub(crate) access_parent_matches: bool,
    pub(crate) null_key: String,
    pub(crate) policy: policy::Policies,
    pub(crate) dns: Box<dyn Dns>,
}

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checks")
            .field("lists", &self.lists)
            .finish_non_exhaustive()
    }
}

fn code(cfg: &Config, name: &str, dflt: u16) -> u16 {
    cfg.get_int(name)
        .ok()
        .and_then(|v| u16::try_from(v).ok())
        .unwrap_or(dflt)
}

fn open_maps(title: &str, value: &str) -> Option<Maps> {
    let mut dicts = Vec::new();
    for spec in util::strings::split_list(value) {
        let spec = spec.strip_prefix("proxy:").unwrap_or(&spec).to_string();
        if spec == "unix:passwd.byname" {
            dicts.push(Box::new(restrict::PasswdDict::load()) as Box<dyn maps::Dict>);
            continue;
        }
        dicts.push(surrogate::open(&spec));
    }
    (!util::strings::split_list(value).is_empty()).then(|| Maps::from_dicts(title, dicts))
}

impl Checks {
    /// Read the restriction lists and open every table they and the
    /// address classes name. Runs before chroot. `dns` answers the DNS
    /// questions of `reject_unknown_*`.
    pub fn new(cfg: &Config, dns: Box<dyn Dns>) -> Checks {
        let get = |n: &str| cfg.get(n).unwrap_or_default();
        let pdms = get("parent_domain_matches_subdomains");
        let parent = |f: &str| maps::search::parent_domain_matches_subdomains(&pdms, f);
        let mut lists = HashMap::new();
        for st in [
            Stage::Client,
            Stage::Helo,
            Stage::Sender,
            Stage::Relay,
            Stage::Recipient,
            Stage::Data,
            Stage::EndOfData,
            Stage::Etrn,
        ] {
            lists.insert(st, cfg.get_list(st.param()).unwrap_or_default());
        }
        let classes = cfg
            .get_list("smtpd_restriction_classes")
            .unwrap_or_default();
        let mut checks = Checks {
            codes: Codes {
                reject: code(cfg, "reject_code", 554),
                defer: code(cfg, "defer_code", 450),
                access_reject: code(cfg, "access_map_reject_code", 554),
                access_defer: code(cfg, "access_map_defer_code", 450),
                relay: code(cfg, "relay_domains_reject_code", 554),
                unknown_address: code(cfg, "unknown_address_reject_code", 450),
                unknown_client: code(cfg, "unknown_client_reject_code", 450),
                unknown_hostname: code(cfg, "unknown_hostname_reject_code", 450),
                non_fqdn: code(cfg, "non_fqdn_reject_code", 504),
                invalid_hostname: code(cfg, "invalid_hostname_reject_code", 501),
                unknown_local: code(cfg, "unknown_local_recipient_reject_code", 550),
                unknown_virtual_alias: code(cfg, "unknown_virtual_alias_reject_code", 550),
                unknown_virtual_mailbox: code(cfg, "unknown_virtual_mailbox_reject_code", 550),
                unknown_relay: code(cfg, "unknown_relay_recipient_reject_code", 550),
            },
            mynetworks: NetList::parse("mynetworks", &get("mynetworks")),
            local_domains: DomainList::parse(
                "mydestination",
                &get("mydestination"),
                parent("mydestination"),
            ),
            virtual_alias_domains: DomainList::parse(
                "virtual_alias_domains",
                &get("virtual_alias_domains"),
                false,
            ),
            virtual_mailbox_domains: DomainList::parse(
                "virtual_mailbox_domains",
                &get("virtual_mailbox_domains"),
                false,
            ),
            relay_domains: DomainList::parse(
                "relay_domains",
                &get("relay_domains"),
                parent("relay_domains"),
            ),
            local_rcpt_maps: open_maps("local_recipient_maps", &get("local_recipient_maps")),
            virtual_alias_maps: open_maps("virtual_alias_maps", &get("virtual_alias_maps")),
            virtual_mailbox_maps: open_maps("virtual_mailbox_maps", &get("virtual_mailbox_maps")),
            relay_rcpt_maps: open_maps("relay_recipient_maps", &get("relay_recipient_maps")),
            relay_ccerts: open_maps("relay_clientcerts", &get("relay_clientcerts")),
            sender_login_maps: open_maps(
                "smtpd_sender_login_maps",
                &get("smtpd_sender_login_maps"),
            ),
            interface_addrs: global::host::interface_networks()
                .iter()
                .map(|n| n.addr())
                .collect(),
            inet_addrs: rewrite::inet_addrs(cfg),
            rewrite_clients: rewrite::parse_list(cfg),
            reject_unlisted_recipient: cfg
                .get_bool("smtpd_reject_unlisted_recipient")
                .unwrap_or(true),
            allow_untrusted_routing: cfg.get_bool("allow_untrusted_routing").unwrap_or(false),
            delay_reject: cfg.get_bool("smtpd_delay_reject").unwrap_or(true),
            recipient_delimiter: get("recipient_delimiter"),
            access_parent_matches: parent("smtpd_access_maps"),
            null_key: get("smtpd_null_access_lookup_key"),
            policy: policy::Policies::new(cfg),
            dns,
            tables: HashMap::new(),
            lists,
            classes,
            config: cfg.clone(),
        };
        checks.open_tables();
        checks
    }

    /// Open every table named after a `check_*_access` restriction in
    /// any list or class, and after `check_address_map` in
    /// `local_header_rewrite_clients`, so lookups work after chroot.
    fn open_tables(&mut self) {
        let mut all: Vec<Vec<String>> = self.lists.values().cloned().collect();
        all.push(self.rewrite_clients.clone());
        for c in &self.classes {
            all.push(self.config.get_list(c).unwrap_or_default());
        }
        for list in all {
            for pair in list.windows(2) {
                let name = pair[0].as_str();
                if name.starts_with("check_")
                    && (name.ends_with("_access") || name == "check_address_map")
                    && !self.tables.contains_key(&pair[1])
                {
                    if let Some(m) = open_maps(name, &pair[1]) {
                        self.tables.insert(pair[1].clone(), m);
                    }
                }
            }
        }
    }

    /// The resolver (peer name lookups use it too).
    pub fn dns(&self) -> &dyn Dns {
        self.dns.as_ref()
    }

    /// Whether the restriction lists of `stage` are empty.
    pub fn is_empty(&self, stage: Stage) -> bool {
        self.lists.get(&stage).is_none_or(|l| l.is_empty())
    }

    /// Evaluate `stage`'s list for `facts`, collecting side effects.
    pub fn run(&mut self, stage: Stage, facts: &Facts, fx: &mut Effects) -> Decision {
        let list = self.lists.get(&stage).cloned().unwrap_or_default();
        let d = self.eval(stage, &list, facts, fx, 0);
        self.apply_defer_if(d, fx)
    }

    fn apply_defer_if(&self, d: Decision, fx: &mut Effects) -> Decision {
        match d {
            Decision::Reject(_) if fx.defer_if_reject.is_some() => Decision::Reject(
                fx.defer_if_reject
                    .take()
                    .unwrap_or_else(|| Reject::new(450, "4.7.1", "")),
            ),
            d => d,
        }
    }

    /// The RCPT-time checks: (client, helo, sender when delayed), relay,
    /// recipient, then `smtpd_reject_unlisted_recipient`.
    pub fn rcpt(&mut self, facts: &Facts, fx: &mut Effects) -> Decision {
        if self.delay_reject {
            for st in [Stage::Client, Stage::Helo, Stage::Sender] {
                if let Decision::Reject(r) = self.run(st, facts, fx) {
                    return Decision::Reject(r);
                }
            }
        }
        let mut permitted = false;
        for st in [Stage::Relay, Stage::Recipient] {
            match self.run(st, facts, fx) {
                Decision::Reject(r) => return Decision::Reject(r),
                Decision::Permit => permitted = true,
                Decision::Dunno => {}
            }
        }
        if self.reject_unlisted_recipient {
            if let Some(r) = facts.recipient.as_deref() {
                if let Decision::Reject(rej) = self.unlisted_recipient(r) {
                    return Decision::Reject(rej);
                }
            }
        }
        if let Some(d) = fx.defer_if_permit.take() {
            return Decision::Reject(d);
        }
        if permitted {
            Decision::Permit
        } else {
            Decision::Dunno
        }
    }

    /// Evaluate `list` (depth guards against class loops).
    pub(crate) fn eval(
        &mut self,
        stage: Stage,
        list: &[String],
        facts: &Facts,
        fx: &mut Effects,
        depth: usize,
    ) -> Decision {
        if depth > 20 {
            msg_warn!("restriction class nesting too deep");
            return Decision::Reject(Reject::new(451, "4.3.5", "Server configuration error"));
        }
        let mut i = 0;
        let mut warn_next = false;
        while i < list.len() {
            let name = list[i].as_str();
            i += 1;
            if name.eq_ignore_ascii_case("warn_if_reject") {
                warn_next = true;
                continue;
            }
            let arg = list.get(i).map(String::as_str);
            let (d, used) = self.restriction(stage, name, arg, facts, fx, depth);
            if used {
                i += 1;
            }
            match d {
                Decision::Dunno => {}
                Decision::Reject(r) if warn_next => {
                    fx.warnings.push(("reject_warning".into(), r.reply()))
                }
                d => return d,
            }
            warn_next = false;
        }
        Decision::Dunno
    }
}
