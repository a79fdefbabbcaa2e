//! NAME
//!   dsn - enhanced status codes and per-recipient delivery status
//!
//! DESCRIPTION
//!   [`DsnStatus`] is an RFC 3463 enhanced status code `class.subject.detail`:
//!   class 2 (success), 4 (persistent transient failure) or 5 (permanent
//!   failure); subject and detail are 1 to 3 digits each.
//!
//!   [`Dsn`] is what a delivery agent says about one recipient: the status,
//!   the human-readable reason that goes in the `status=... (reason)` log
//!   text and the DSN, and optionally the diagnostic (RFC 3464
//!   `Diagnostic-Code:`, e.g. type `smtp`, text `550 5.1.1 unknown user`)
//!   and the remote MTA (`Remote-MTA:`, e.g. type `dns`, name `mx.example`).
//!
//!   [`Dsn::split`] takes a text such as the next-hop of an `error:`
//!   transport (`5.1.1 no such user`) apart into code and reason, with a
//!   default code when the text has none (error(8)).
//!
//! SEE ALSO
//!   RFC 3463 (enhanced status codes), RFC 3464 (DSN format), error(8).
use std::fmt;

/// An RFC 3463 enhanced status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DsnStatus {
    /// 2, 4 or 5.
    pub class: u8,
    /// 0..=999.
    pub subject: u16,
    /// 0..=999.
    pub detail: u16,
}

impl DsnStatus {
    /// `2.0.0`: delivered.
    pub const SENT: DsnStatus = DsnStatus::new(2, 0, 0);
    /// `4.0.0`: the default temporary failure.
    pub const DEFER: DsnStatus = DsnStatus::new(4, 0, 0);
    /// `5.0.0`: the default permanent failure.
    pub const BOUNCE: DsnStatus = DsnStatus::new(5, 0, 0);

    /// A code from its parts (not checked; see [`DsnStatus::parse`]).
    pub const fn new(class: u8, subject: u16, detail: u16) -> DsnStatus {
        DsnStatus {
            class,
            subject,
            detail,
        }
    }

    /// Parse `X.Y.Z` exactly (RFC 3463: X in 2, 4, 5; Y and Z 1 to 3
    /// digits). `None` when malformed.
    pub fn parse(s: &str) -> Option<DsnStatus> {
        let mut it = s.split('.');
        let class = it.next()?;
        let subject = it.next()?;
        let detail = it.next()?;
        if it.next().is_some() {
            return None;
        }
        let num = |p: &str| -> Option<u16> {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        Some(DsnStatus::new(class, num(subject)?, num(detail)?))
    }

    /// The same code with another class (`4.1.1` -> `5.1.1`).
    pub fn with_class(self, class: u8) -> DsnStatus {
        DsnStatus { class, ..self }
    }
}

impl fmt::Display for DsnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// What a delivery agent says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    /// The enhanced status code.
    pub status: DsnStatus,
    /// The reason: the text in `status=sent (...)` and in the DSN.
    pub reason: String,
    /// Diagnostic type and text (RFC 3464 `Diagnostic-Code: smtp; 550 ...`).
    pub diagnostic: Option<(String, String)>,
    /// Remote MTA type and name (RFC 3464 `Remote-MTA: dns; mx.example`).
    pub mta: Option<(String, String)>,
}

impl Dsn {
    /// A status with a reason. A malformed `status` becomes `4.0.0`
    /// (the caller's bug must not lose mail; the toolkit logs it). Rust's
    /// ` (os error N)` suffixes are removed from the reason (a reason
    /// reads like Postfix's `%m`: `Permission denied`).
    pub fn new(status: &str, reason: &str) -> Dsn {
        Dsn::with_status(DsnStatus::parse(status).unwrap_or(DsnStatus::DEFER), reason)
    }

    /// A parsed status with a reason (cleaned as in [`Dsn::new`]).
    pub fn with_status(status: DsnStatus, reason: &str) -> Dsn {
        Dsn {
            status,
            reason: util::strings::strip_os_error(reason),
            diagnostic: None,
            mta: None,
        }
    }

    /// Split `text` into an optional leading `X.Y.Z` code and the rest:
    /// `"5.1.1 no such user"` gives 5.1.1 and `no such user`; a text
    /// without a code gets `default` and stays whole. A code alone gives
    /// an empty reason. (error(8): "The reason may be prefixed with an RFC
    /// 3463-compatible detail code".)
    pub fn split(default: DsnStatus, text: &str) -> Dsn {
        let text = text.trim_start();
        let (head, rest) = match text.find(|c: char| c.is_ascii_whitespace()) {
            Some(i) => (&text[..i], text[i..].trim_start()),
            None => (text, ""),
        };
        match DsnStatus::parse(head) {
            Some(st) => Dsn::with_status(st, rest),
            None => Dsn::with_status(default, text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(DsnStatus::parse("5.1.1"), Some(DsnStatus::new(5, 1, 1)));
        assert_eq!(
            DsnStatus::parse("4.123.999").unwrap().to_string(),
            "4.123.999"
        );
        for bad in [
            "3.0.0", "5.1", "5.1.1.1", "5.1000.0", "5..1", "5.a.1", "", "5.1.1 ",
        ] {
            assert_eq!(DsnStatus::parse(bad), None, "{bad}");
        }
        assert_eq!(
            DsnStatus::parse("4.4.1").unwrap().with_class(5).to_string(),
            "5.4.1"
        );
    }

    #[test]
    fn split_text() {
        let d = Dsn::split(DsnStatus::BOUNCE, "5.1.1 no such user here");
        assert_eq!(
            (d.status.to_string(), d.reason.as_str()),
            ("5.1.1".into(), "no such user here")
        );
        let d = Dsn::split(DsnStatus::BOUNCE, "mail for this domain is not accepted");
        assert_eq!(d.status, DsnStatus::BOUNCE);
        assert_eq!(d.reason, "mail for this domain is not accepted");
        let d = Dsn::split(DsnStatus::DEFER, "4.3.2");
        assert_eq!((d.status, d.reason.as_str()), (DsnStatus::new(4, 3, 2), ""));
        assert_eq!(Dsn::split(DsnStatus::DEFER, "").reason, "");
    }

    #[test]
    fn reasons_carry_no_rust_error_suffix() {
        let e = std::io::Error::from_raw_os_error(13);
        let d = Dsn::new("4.2.0", &format!("cannot open mailbox /var/mail/u: {e}"));
        assert_eq!(
            d.reason,
            "cannot open mailbox /var/mail/u: Permission denied"
        );
    }
}
