//! NAME
//!   restrict - the individual smtpd restrictions
//!
//! DESCRIPTION
//!   [`Checks::restriction`] evaluates one restriction name (and its
//!   table argument, for `check_*_access`, `check_policy_service` and
//!   `sleep`). The texts follow Postfix: the generic `reject`/`defer`
//!   speak for the stage (`<addr>: Recipient address rejected: Access
//!   denied`), the specific ones for what they test (`<helo>: Helo
//!   command rejected: need fully-qualified hostname`).
//!
//!   The address and name checks (unknown clients and domains, non-FQDN
//!   addresses, relay permission, unlisted recipients) are in
//!   [`super::address`].
//!
//!   The TLS client-certificate restrictions are in [`super::ccert`],
//!   the SASL ones in [`super::login`], `permit_inet_interfaces` in
//!   [`super::rewrite`].
use super::access::{self, Action};
use super::address::{is_literal, temp_lookup_error, warn_dict};
use super::{Checks, Decision, Effects, Facts, Reject, Stage};
use crate::peer::{valid_hostname, DnsAnswer};
use maps::DictError;
use std::collections::BTreeSet;
use std::net::IpAddr;
use util::msg_warn;

/// `unix:passwd.byname`: the user names of /etc/passwd, read once at
/// start (before chroot).
#[derive(Debug)]
pub struct PasswdDict {
    users: BTreeSet<String>,
}

impl PasswdDict {
    /// Read /etc/passwd; an unreadable file gives an empty table and a
    /// warning.
    pub fn load() -> PasswdDict {
        let text = std::fs::read_to_string("/etc/passwd").unwrap_or_else(|e| {
            msg_warn!("open /etc/passwd: {e}");
            String::new()
        });
        PasswdDict {
            users: text
                .lines()
                .filter_map(|l| l.split(':').next())
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

impl maps::Dict for PasswdDict {
    fn name(&self) -> &str {
        "unix:passwd.byname"
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        Ok(self.users.contains(key).then(|| key.to_string()))
    }
}

fn valid_hostaddr(h: &str) -> bool {
    let inner = if is_literal(h) { &h[1..h.len() - 1] } else { h };
    let inner = inner
        .strip_prefix("IPv6:")
        .or_else(|| inner.strip_prefix("ipv6:"))
        .unwrap_or(inner);
    inner.parse::<IpAddr>().is_ok()
}

impl Checks {
    /// The `<name>` and class of refusals made by generic restrictions in
    /// `stage`.
    fn subject(stage: Stage, f: &Facts) -> (String, &'static str) {
        match stage {
            Stage::Client => (Self::client_name(f), "Client host"),
            Stage::Helo => (f.helo.clone().unwrap_or_default(), "Helo command"),
            Stage::Sender => (f.sender.clone().unwrap_or_default(), "Sender address"),
            Stage::Relay | Stage::Recipient => {
                (f.recipient.clone().unwrap_or_default(), "Recipient address")
            }
            Stage::Data => ("DATA".into(), "Data command"),
            Stage::EndOfData => ("END-OF-MESSAGE".into(), "End-of-data"),
            Stage::Etrn => (f.etrn_domain.clone().unwrap_or_default(), "Etrn command"),
        }
    }

    fn client_name(f: &Facts) -> String {
        f.peer
            .as_ref()
            .map(|p| p.namaddr.clone())
            .unwrap_or_default()
    }

    /// Evaluate restriction `name` (argument `arg` when it takes one).
    /// Returns the decision and whether `arg` was consumed.
    pub(crate) fn restriction(
        &mut self,
        stage: Stage,
        name: &str,
        arg: Option<&str>,
        f: &Facts,
        fx: &mut Effects,
        depth: usize,
    ) -> (Decision, bool) {
        let (what, class) = Self::subject(stage, f);
        let lname = name.to_ascii_lowercase();
        let c = self.codes.clone();
        let refuse = |code: u16, dsn: &str, who: &str, cls: &str, text: &str| {
            Decision::Reject(Reject::new(
                code,
                dsn,
                format!("<{who}>: {cls} rejected: {text}"),
            ))
        };
        let d = match lname.as_str() {
            "permit" => Decision::Permit,
            "reject" => refuse(c.reject, "5.7.1", &what, class, "Access denied"),
            "defer" => refuse(c.defer, "4.7.1", &what, class, "Try again later"),
            "defer_if_permit" => {
                fx.defer_if_permit = Some(Reject::new(
                    c.defer,
                    "4.7.1",
                    format!("<{what}>: {class} rejected: defer_if_permit requested"),
                ));
                Decision::Dunno
            }
            "defer_if_reject" => {
                fx.defer_if_reject = Some(Reject::new(
                    c.defer,
                    "4.7.1",
                    format!("<{what}>: {class} rejected: defer_if_reject requested"),
                ));
                Decision::Dunno
            }
            "permit_mynetworks" => {
                let ip = f
                    .peer
                    .as_ref()
                    .and_then(|p| p.ip)
                    .unwrap_or(IpAddr::from([127, 0, 0, 1]));
                match self.mynetworks.matches(ip) {
                    Ok(true) => Decision::Permit,
                    Ok(false) => Decision::Dunno,
                    Err(_) => temp_lookup_error(&what),
                }
            }
            "reject_unauth_destination"
            | "defer_unauth_destination"
            | "permit_auth_destination" => match f.recipient.as_deref() {
                None => Decision::Dunno,
                Some(r) => match self.relay_ok(r) {
                    Err(_) => temp_lookup_error(r),
                    Ok(true) if lname == "permit_auth_destination" => Decision::Permit,
                    Ok(true) => Decision::Dunno,
                    Ok(false) if lname == "permit_auth_destination" => Decision::Dunno,
                    Ok(false) => {
                        let code = if lname.starts_with("defer") {
                            454
                        } else {
                            c.relay
                        };
                        Decision::Reject(Reject::new(
                            code,
                            "5.7.1",
                            format!("<{r}>: Relay access denied"),
                        ))
                    }
                },
            },
            "reject_unauth_pipelining" if f.unauth_pipelining => refuse(
                503,
                "5.5.0",
                &what,
                class,
                "Improper use of SMTP command pipelining",
            ),
            "reject_unauth_pipelining" => Decision::Dunno,
            "reject_invalid_helo_hostname" | "reject_invalid_hostname" => match f.helo.as_deref() {
                Some(h) if !valid_hostname(h) && !valid_hostaddr(h) => refuse(
                    c.invalid_hostname,
                    "5.5.2",
                    h,
                    "Helo command",
                    "Invalid name",
                ),
                _ => Decision::Dunno,
            },
            "reject_non_fqdn_helo_hostname" | "reject_non_fqdn_hostname" => match f.helo.as_deref()
            {
                Some(h) if !valid_hostaddr(h) && (!valid_hostname(h) || !h.contains('.')) => {
                    refuse(
                        c.non_fqdn,
                        "5.5.2",
                        h,
                        "Helo command",
                        "need fully-qualified hostname",
                    )
                }
                _ => Decision::Dunno,
            },
            "reject_unknown_helo_hostname" | "reject_unknown_hostname" => match f.helo.as_deref() {
                Some(h) if !valid_hostaddr(h) => match self.dns.mail_domain_exists(h) {
                    DnsAnswer::Found(()) => Decision::Dunno,
                    DnsAnswer::NotFound => refuse(
                        c.unknown_hostname,
                        "4.7.1",
                        h,
                        "Helo command",
                        "Host not found",
                    ),
                    DnsAnswer::TempFail(_) => refuse(
                        c.unknown_hostname.clamp(450, 499),
                        "4.7.1",
                        h,
                        "Helo command",
                        "Host not found",
                    ),
                },
                _ => Decision::Dunno,
            },
            "reject_non_fqdn_sender" => match f.sender.as_deref() {
                Some(s) if !s.is_empty() => self.non_fqdn(s, "Sender address"),
                _ => Decision::Dunno,
            },
            "reject_non_fqdn_recipient" => match f.recipient.as_deref() {
                Some(r) => self.non_fqdn(r, "Recipient address"),
                None => Decision::Dunno,
            },
            "reject_unknown_sender_domain" => match f.sender.as_deref() {
                Some(s) if !s.is_empty() => self.unknown_domain(s, "Sender address", "4.1.8", fx),
                _ => Decision::Dunno,
            },
            "reject_unknown_recipient_domain" => match f.recipient.as_deref() {
                Some(r) => self.unknown_domain(r, "Recipient address", "4.1.2", fx),
                None => Decision::Dunno,
            },
            "reject_unlisted_recipient" | "check_recipient_maps" => match f.recipient.as_deref() {
                Some(r) => self.unlisted_recipient(r),
                None => Decision::Dunno,
            },
            "reject_unknown_client_hostname" | "reject_unknown_client" => {
                Self::unknown_client(f, c.unknown_client, false)
            }
            "reject_unknown_reverse_client_hostname" => {
                Self::unknown_client(f, c.unknown_client, true)
            }
            "permit_tls_all_clientcerts" => Self::permit_all_clientcerts(f),
            "permit_tls_clientcerts" => self.permit_clientcerts(f),
            "permit_sasl_authenticated" => Self::permit_sasl(f),
            "reject_sender_login_mismatch"
            | "reject_authenticated_sender_login_mismatch"
            | "reject_known_sender_login_mismatch"
            | "reject_unauthenticated_sender_login_mismatch" => self.login_mismatch(&lname, f),
            "permit_inet_interfaces" => self.permit_inet_interfaces(f),
            "reject_unlisted_sender" | "reject_plaintext_session" => Decision::Dunno,
            "check_client_access"
            | "check_helo_access"
            | "check_sender_access"
            | "check_recipient_access"
            | "check_policy_service"
            | "sleep"
            | "check_ccert_access"
            | "reject_rbl_client"
            | "reject_rhsbl_client"
            | "reject_rhsbl_sender"
            | "reject_rhsbl_recipient"
            | "reject_rhsbl_helo"
            | "check_sender_mx_access"
            | "check_recipient_mx_access"
            | "check_sender_ns_access"
            | "check_helo_mx_access"
            | "check_reverse_client_hostname_access"
            | "check_client_a_access" => {
                let Some(arg) = arg else {
                    msg_warn!("restriction {name} requires an argument");
                    return (
                        Decision::Reject(Reject::new(451, "4.3.5", "Server configuration error")),
                        false,
                    );
                };
                return (self.with_arg(stage, &lname, arg, f, fx, depth), true);
            }
            _ if self.classes.iter().any(|k| k == name) => {
                let list = self.config.get_list(name).unwrap_or_default();
                self.eval(stage, &list, f, fx, depth + 1)
            }
            _ => {
                msg_warn!("unknown smtpd restriction: \"{name}\"");
                Decision::Reject(Reject::new(451, "4.3.5", "Server configuration error"))
            }
        };
        (d, false)
    }

    fn with_arg(
        &mut self,
        stage: Stage,
        name: &str,
        arg: &str,
        f: &Facts,
        fx: &mut Effects,
        depth: usize,
    ) -> Decision {
        let found = match name {
            "check_client_access" => {
                let Some(p) = f.peer.clone() else {
                    return Decision::Dunno;
                };
                let who = p.namaddr.clone();
                let Some(m) = self.tables.get(arg) else {
                    return Decision::Dunno;
                };
                let mut hit = Ok(None);
                if p.name != "unknown" {
                    hit = maps::search::find_domain(m, &p.name, self.access_parent_matches, false);
                }
                if matches!(hit, Ok(None)) {
                    hit = maps::search::find_host_address(m, &p.addr);
                }
                (hit, who, "Client host")
            }
            "check_helo_access" => {
                let Some(h) = f.helo.clone() else {
                    return Decision::Dunno;
                };
                let Some(m) = self.tables.get(arg) else {
                    return Decision::Dunno;
                };
                (
                    maps::search::find_domain(
                        m,
                        &h.to_ascii_lowercase(),
                        self.access_parent_matches,
                        false,
                    ),
                    h,
                    "Helo command",
                )
            }
            "check_sender_access" | "check_recipient_access" => {
                let (addr, cls) = if name == "check_sender_access" {
                    (f.sender.clone(), "Sender address")
                } else {
                    (f.recipient.clone(), "Recipient address")
                };
                let Some(addr) = addr else {
                    return Decision::Dunno;
                };
                let Some(m) = self.tables.get(arg) else {
                    return Decision::Dunno;
                };
                let hit = if addr.is_empty() {
                    m.find(&self.null_key, false).map(|v| {
                        v.map(|value| maps::search::Found {
                            value,
                            key: self.null_key.clone(),
                            extension: None,
                        })
                    })
                } else {
                    maps::search::find_access_address(
                        m,
                        &addr,
                        &self.recipient_delimiter,
                        self.access_parent_matches,
                    )
                };
                (hit, addr, cls)
            }
            "check_ccert_access" => {
                let Some(t) = super::ccert::verified(f) else {
                    return Decision::Dunno;
                };
                let Some(m) = self.tables.get(arg) else {
                    return Decision::Dunno;
                };
                (
                    super::ccert::find_prints(m, t),
                    t.peer_cn.clone(),
                    "Client certificate",
                )
            }
            "check_policy_service" => {
                let action = self.policy.query(arg, stage, f);
                let (what, class) = Self::subject(stage, f);
                return self.apply(
                    access::parse_action(&action),
                    (arg, "policy query"),
                    (&what, class),
                    stage,
                    f,
                    fx,
                    depth,
                );
            }
            "sleep" => {
                let secs = arg.parse::<u64>().unwrap_or(0);
                std::thread::sleep(std::time::Duration::from_secs(secs.min(60)));
                return Decision::Dunno;
            }
            other => {
                msg_warn!("restriction {other} is not implemented by Postern; ignored");
                return Decision::Dunno;
            }
        };
        let (hit, who, class) = found;
        match hit {
            Err(e) => {
                // Postfix 3.7: an access table that fails answers as if it
                // had said "451 4.3.5 Server configuration error".
                warn_dict(&e);
                self.apply(
                    Action::Refuse {
                        code: 451,
                        dsn: Some("4.3.5".into()),
                        text: "Server configuration error".into(),
                    },
                    (arg, &who),
                    (&who, class),
                    stage,
                    f,
                    fx,
                    depth,
                )
            }
            Ok(None) => Decision::Dunno,
            Ok(Some(found)) => self.apply(
                access::parse_action(&found.value),
                (arg, &found.key),
                (&who, class),
                stage,
                f,
                fx,
                depth,
            ),
        }
    }

    /// Carry out an access table or policy answer about `who` (of
    /// `class`, e.g. "Recipient address"); `source` is (table, key) for
    /// warnings about bad values.
    #[allow(clippy::too_many_arguments)] // reason: one call site per answer source, all context needed
    fn apply(
        &mut self,
        action: Action,
        source: (&str, &str),
        (who, class): (&str, &str),
        stage: Stage,
        f: &Facts,
        fx: &mut Effects,
        depth: usize,
    ) -> Decision {
        let c = &self.codes;
        let text = |t: &str| {
            if t.is_empty() {
                "Access denied".to_string()
            } else {
                t.to_string()
            }
        };
        match action {
            Action::Permit => Decision::Permit,
            Action::Dunno => Decision::Dunno,
            Action::Reject(t) => {
                let (dsn, t) = access::split_dsn(&t);
                Decision::Reject(Reject::new(
                    c.access_reject,
                    dsn.as_deref().unwrap_or("5.7.1"),
                    format!("<{who}>: {class} rejected: {}", text(&t)),
                ))
            }
            Action::Defer(t) => {
                let (dsn, t) = access::split_dsn(&t);
                Decision::Reject(Reject::new(
                    c.access_defer,
                    dsn.as_deref().unwrap_or("4.7.1"),
                    format!("<{who}>: {class} rejected: {}", text(&t)),
                ))
            }
            Action::Refuse { code, dsn, text: t } => Decision::Reject(Reject::new(
                code,
                dsn.as_deref().unwrap_or("5.7.1"),
                format!("<{who}>: {class} rejected: {}", text(&t)),
            )),
            Action::DeferIf { permit, text: t } => {
                let r = Reject::new(
                    c.defer,
                    "4.7.1",
                    format!("<{who}>: {class} rejected: {}", text(&t)),
                );
                if permit {
                    fx.defer_if_permit = Some(r);
                } else {
                    fx.defer_if_reject = Some(r);
                }
                Decision::Dunno
            }
            Action::Effect { kind, arg } => {
                match kind {
                    "PREPEND" => fx.prepend.push(arg),
                    "WARN" | "INFO" => fx.warnings.push((
                        kind.to_ascii_lowercase(),
                        format!(
                            "<{who}>: {class} {}",
                            if arg.is_empty() {
                                "triggers WARN action".into()
                            } else {
                                arg
                            }
                        ),
                    )),
                    "FILTER" | "REDIRECT" => {
                        let (table, key) = source;
                        if kind == "FILTER" && arg.is_empty() {
                            msg_warn!(
                                "access table {table} entry \"{key}\" has FILTER entry without value"
                            );
                        } else if kind == "FILTER" && !arg.contains(':') {
                            msg_warn!("access table {table} entry \"{key}\" requires transport:destination");
                        } else if kind == "REDIRECT" && !arg.contains('@') {
                            msg_warn!(
                                "access table {table} entry \"{key}\" requires user@domain target"
                            );
                        } else {
                            let log = format!("<{who}>: {class} triggers {kind} {arg}");
                            fx.actions.push((kind.to_string(), arg, log));
                        }
                    }
                    _ => {
                        let log = if arg.is_empty() {
                            format!(
                                "<{who}>: {class} triggers {kind} {}",
                                if arg.is_empty() {
                                    "action".into()
                                } else {
                                    arg.clone()
                                }
                            )
                        } else {
                            format!("<{who}>: {class} {arg}")
                        };
                        fx.actions.push((kind.to_string(), arg, log));
                        if kind == "DISCARD" {
                            // Postfix: DISCARD also permits the request.
                            return Decision::Permit;
                        }
                    }
                }
                Decision::Dunno
            }
            Action::Restrictions(list) => self.eval(stage, &list, f, fx, depth + 1),
        }
    }
}
