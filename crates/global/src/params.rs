//! NAME
//!   params - the parameter registry
//!
//! DESCRIPTION
//!   Every parameter of Postfix 3.7 with its compiled-in default
//!   (`params.txt`, facts from postconf(5)), the host-dependent defaults
//!   computed at run time (`myhostname`, `mydomain`, `mynetworks`,
//!   `process_id`, `process_name`), and the per-transport parameters that
//!   Postfix derives from each delivery service in master.cf.
//!
//!   [`IMPLEMENTED`] lists the parameters that Postern's code reads, with a
//!   one-line description each; it drives postconf(5) and the warning for
//!   parameters set to a value that Postern does not implement yet.
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use crate::params_doc::IMPLEMENTED;

static TABLE_TEXT: &str = include_str!("params.txt");

/// Names of the parameters whose default depends on the host or process.
pub const HOST_DEPENDENT: &[&str] = &[
    "myhostname",
    "mydomain",
    "mynetworks",
    "process_id",
    "process_name",
];

/// Suffixes Postfix adds to each delivery service name from master.cf
/// (`smtp_destination_concurrency_limit`, ...), with their defaults.
pub const TRANSPORT_SUFFIXES: &[(&str, &str)] = &[
    ("delivery_slot_cost", "$default_delivery_slot_cost"),
    ("delivery_slot_discount", "$default_delivery_slot_discount"),
    ("delivery_slot_loan", "$default_delivery_slot_loan"),
    (
        "destination_concurrency_failed_cohort_limit",
        "$default_destination_concurrency_failed_cohort_limit",
    ),
    (
        "destination_concurrency_limit",
        "$default_destination_concurrency_limit",
    ),
    (
        "destination_concurrency_negative_feedback",
        "$default_destination_concurrency_negative_feedback",
    ),
    (
        "destination_concurrency_positive_feedback",
        "$default_destination_concurrency_positive_feedback",
    ),
    ("destination_rate_delay", "$default_destination_rate_delay"),
    (
        "destination_recipient_limit",
        "$default_destination_recipient_limit",
    ),
    ("extra_recipient_limit", "$default_extra_recipient_limit"),
    (
        "initial_destination_concurrency",
        "$initial_destination_concurrency",
    ),
    ("minimum_delivery_slots", "$default_minimum_delivery_slots"),
    ("recipient_limit", "$default_recipient_limit"),
    ("recipient_refill_delay", "$default_recipient_refill_delay"),
    ("recipient_refill_limit", "$default_recipient_refill_limit"),
    ("transport_rate_delay", "$default_transport_rate_delay"),
];

/// master.cf commands that are delivery agents; each of their services
/// gets the [`TRANSPORT_SUFFIXES`] parameters (and `pipe` also `_time_limit`).
pub const DELIVERY_AGENTS: &[&str] = &["smtp", "lmtp", "local", "virtual", "pipe", "error"];

/// The static table: name -> compiled-in default (unexpanded).
pub fn table() -> &'static BTreeMap<&'static str, &'static str> {
    static TABLE: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        TABLE_TEXT
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (n, v) = l.split_once(" =")?;
                Some((n, v.strip_prefix(' ').unwrap_or(v)))
            })
            .collect()
    })
}

/// The per-transport parameters for a delivery service `service` run by
/// `command` (master.cf columns 1 and 8): name -> default. Empty when the
/// command is not a delivery agent. Names that are already static
/// parameters are left out (e.g. `local_destination_concurrency_limit`).
pub fn transport_params(service: &str, command: &str) -> Vec<(String, String)> {
    if !DELIVERY_AGENTS.contains(&command) {
        return Vec::new();
    }
    let mut out: Vec<(String, String)> = TRANSPORT_SUFFIXES
        .iter()
        .map(|(s, d)| (format!("{service}_{s}"), (*d).to_string()))
        .collect();
    if command == "pipe" {
        out.push((
            format!("{service}_time_limit"),
            "$command_time_limit".to_string(),
        ));
    }
    out.retain(|(n, _)| !table().contains_key(n.as_str()));
    out
}

/// What kind of value a parameter holds, inferred from its default
/// (or fixed in [`IMPLEMENTED`] for parameters the code reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text or a list.
    Str,
    /// `yes` / `no`.
    Bool,
    /// A decimal integer.
    Int,
    /// A time with the given default unit (`s`, `m`, `h`, `d`, `w`).
    Time(char),
}

/// Infer the kind of a parameter from its compiled-in default.
pub fn kind_of(name: &str) -> Kind {
    if let Some(k) = crate::params_doc::kind_override(name) {
        return k;
    }
    let Some(def) = table().get(name) else {
        return Kind::Str;
    };
    infer_kind(def)
}

fn infer_kind(def: &str) -> Kind {
    // A default chosen by compatibility_level,
    // `${{$compatibility_level} <level {N} ? {A} : {B}}`, has the kind
    // that both branches share.
    if let Some((a, b)) = compat_branches(def) {
        let (ka, kb) = (infer_kind(a), infer_kind(b));
        return if ka == kb { ka } else { Kind::Str };
    }
    if def == "yes" || def == "no" {
        return Kind::Bool;
    }
    if !def.is_empty() && def.chars().all(|c| c.is_ascii_digit()) {
        return Kind::Int;
    }
    let digits = def.trim_end_matches(|c: char| "smhdw".contains(c));
    if !digits.is_empty()
        && digits.len() + 1 == def.len()
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        return Kind::Time(def.chars().last().unwrap_or('s'));
    }
    Kind::Str
}

/// The two values of a compatibility-level default
/// `${{$compatibility_level} <level {N} ? {A} : {B}}`.
fn compat_branches(def: &str) -> Option<(&str, &str)> {
    let rest = def
        .strip_prefix("${{$compatibility_level} ")?
        .strip_suffix("}}")?;
    let (_, branches) = rest.split_once(" ? {")?;
    branches.split_once("} : {")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_knows_postfix_parameters() {
        let t = table();
        assert!(t.len() > 800);
        assert_eq!(t.get("smtpd_banner"), Some(&"$myhostname ESMTP $mail_name"));
        assert_eq!(t.get("relayhost"), Some(&""));
        assert!(!t.contains_key("myhostname"));
    }

    #[test]
    fn kinds_are_inferred() {
        assert_eq!(kind_of("smtpd_use_tls"), Kind::Bool);
        assert_eq!(kind_of("default_process_limit"), Kind::Int);
        assert_eq!(kind_of("maximal_queue_lifetime"), Kind::Time('d'));
        assert_eq!(kind_of("myorigin"), Kind::Str);
        assert_eq!(kind_of("append_dot_mydomain"), Kind::Bool);
        assert_eq!(kind_of("smtputf8_enable"), Kind::Bool);
        assert_eq!(kind_of("relay_domains"), Kind::Str);
        assert_eq!(kind_of("mynetworks_style"), Kind::Str);
    }

    #[test]
    fn transport_parameters_follow_master_cf() {
        let p = transport_params("relay", "smtp");
        assert_eq!(p.len(), 16);
        assert!(p
            .iter()
            .any(|(n, d)| n == "relay_destination_concurrency_limit"
                && d == "$default_destination_concurrency_limit"));
        assert_eq!(transport_params("bsmtp", "pipe").len(), 17);
        assert!(transport_params("showq", "showq").is_empty());
        assert_eq!(transport_params("local", "local").len(), 14);
    }
}
