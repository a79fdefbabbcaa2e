//! NAME
//!   access - what an access(5) table or policy server answer means
//!
//! DESCRIPTION
//!   [`parse_action`] turns a table value or a policy server's `action=`
//!   into an [`Action`]: `OK` and all-digit values permit; `REJECT
//!   [text]`, `DEFER [text]`, `4NN text`, `5NN text` refuse (with the
//!   enhanced status code taken from the text when it starts with one);
//!   `DUNNO` goes on; `PREPEND header`, `HOLD`, `DISCARD`, `FILTER
//!   transport:dest`, `REDIRECT addr`, `WARN text`, `INFO text`,
//!   `DEFER_IF_REJECT`, `DEFER_IF_PERMIT` set a side effect and go on
//!   (DISCARD also permits, as in Postfix; FILTER needs
//!   `transport:destination` and REDIRECT `user@domain`, else they are
//!   logged and ignored); anything else is a
//!   restriction list (a restriction class name or built-in restriction
//!   names), evaluated in place.
//!
//! SEE ALSO
//!   access(5), SMTPD_POLICY_README.

/// The meaning of one access table value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// OK or a number: permit.
    Permit,
    /// DUNNO: go on with the next restriction.
    Dunno,
    /// Refuse with `code`, `dsn` and the text (maybe empty: default text).
    Refuse {
        /// The SMTP reply code.
        code: u16,
        /// The enhanced status code given in the text, if any.
        dsn: Option<String>,
        /// The text after the code(s).
        text: String,
    },
    /// REJECT [text]: the table's reject code.
    Reject(String),
    /// DEFER [text]: the table's defer code.
    Defer(String),
    /// DEFER_IF_REJECT / DEFER_IF_PERMIT with optional text.
    DeferIf {
        /// true: DEFER_IF_PERMIT, false: DEFER_IF_REJECT.
        permit: bool,
        /// The text.
        text: String,
    },
    /// A side effect, then as OK (HOLD, DISCARD, FILTER, REDIRECT) or
    /// as DUNNO (PREPEND, WARN, INFO).
    Effect {
        /// HOLD, DISCARD, FILTER, REDIRECT, PREPEND, WARN, INFO.
        kind: &'static str,
        /// Its argument.
        arg: String,
    },
    /// A restriction list to evaluate.
    Restrictions(Vec<String>),
}

fn split_word(v: &str) -> (&str, &str) {
    let v = v.trim();
    match v.find([' ', '\t']) {
        Some(i) => (&v[..i], v[i..].trim_start()),
        None => (v, ""),
    }
}

/// Split a leading enhanced status code `X.Y.Z` off `text`.
pub fn split_dsn(text: &str) -> (Option<String>, String) {
    let (w, rest) = split_word(text);
    let parts: Vec<&str> = w.split('.').collect();
    let ok = parts.len() == 3
        && (parts[0] == "2" || parts[0] == "4" || parts[0] == "5")
        && parts[1..]
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        (Some(w.to_string()), rest.to_string())
    } else {
        (None, text.trim().to_string())
    }
}

/// Interpret table value `value` (see the module description).
pub fn parse_action(value: &str) -> Action {
    let (word, rest) = split_word(value);
    let upper = word.to_ascii_uppercase();
    if upper == "OK"
        || (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) && word.len() != 3)
    {
        return Action::Permit;
    }
    if word.len() == 3
        && (word.starts_with('4') || word.starts_with('5'))
        && word.bytes().all(|b| b.is_ascii_digit())
    {
        let (dsn, text) = split_dsn(rest);
        return Action::Refuse {
            code: word.parse().unwrap_or(554),
            dsn,
            text,
        };
    }
    if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        return Action::Permit;
    }
    let effect = |kind: &'static str| Action::Effect {
        kind,
        arg: rest.to_string(),
    };
    match upper.as_str() {
        "DUNNO" => Action::Dunno,
        "REJECT" => Action::Reject(rest.to_string()),
        "DEFER" => Action::Defer(rest.to_string()),
        "DEFER_IF_REJECT" => Action::DeferIf {
            permit: false,
            text: rest.to_string(),
        },
        "DEFER_IF_PERMIT" => Action::DeferIf {
            permit: true,
            text: rest.to_string(),
        },
        "HOLD" => effect("HOLD"),
        "DISCARD" => effect("DISCARD"),
        "FILTER" => effect("FILTER"),
        "REDIRECT" => effect("REDIRECT"),
        "PREPEND" => effect("PREPEND"),
        "WARN" => effect("WARN"),
        "INFO" => effect("INFO"),
        _ => Action::Restrictions(util::strings::split_list(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_action("OK"), Action::Permit);
        assert_eq!(parse_action("1234"), Action::Permit);
        assert_eq!(parse_action("dunno"), Action::Dunno);
        assert_eq!(
            parse_action("REJECT go away"),
            Action::Reject("go away".into())
        );
        assert_eq!(
            parse_action("550 5.1.1 no such user"),
            Action::Refuse {
                code: 550,
                dsn: Some("5.1.1".into()),
                text: "no such user".into()
            }
        );
        assert_eq!(
            parse_action("450 busy"),
            Action::Refuse {
                code: 450,
                dsn: None,
                text: "busy".into()
            }
        );
        assert_eq!(
            parse_action("PREPEND X-A: b"),
            Action::Effect {
                kind: "PREPEND",
                arg: "X-A: b".into()
            }
        );
        assert_eq!(
            parse_action("permit_mynetworks, reject"),
            Action::Restrictions(vec!["permit_mynetworks".into(), "reject".into()])
        );
    }
}
