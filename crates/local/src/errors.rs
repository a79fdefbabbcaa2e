//! NAME
//!   errors - delivery outcomes and write failures of the local agent
//!
//! DESCRIPTION
//!   [`Outcome`] is what one delivery attempt comes to: sent (with the
//!   text of the `status=sent (...)` line), bounced or deferred (with an
//!   RFC 3463 enhanced status code and a reason). [`WriteError`] is a
//!   failed mailbox or file write, classified as Postfix does: a full
//!   quota or a size limit (`EFBIG`, `EDQUOT`) is permanent (`5.2.2`);
//!   a mailbox or file that cannot be opened or created (permission
//!   denied, missing directory, not a regular file) is permanent
//!   (`5.2.0`) unless the error is a transient one (`EAGAIN`, `ESTALE`:
//!   `4.2.0`; `ENOSPC`: `4.3.0`); other write errors are temporary
//!   (`4.2.0` for locks, `4.3.0` otherwise).
use std::io;

/// The result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered; the text goes in `status=sent (TEXT)`.
    Sent(String),
    /// Permanent failure: enhanced status code and reason.
    Bounce(String, String),
    /// Temporary failure: enhanced status code and reason.
    Defer(String, String),
}

impl Outcome {
    /// A bounce with status `dsn` and reason `text`.
    pub fn bounce(dsn: &str, text: impl Into<String>) -> Outcome {
        Outcome::Bounce(dsn.to_string(), text.into())
    }

    /// A deferral with status `dsn` and reason `text`.
    pub fn defer(dsn: &str, text: impl Into<String>) -> Outcome {
        Outcome::Defer(dsn.to_string(), text.into())
    }

    /// The enhanced status code (`2.0.0` for sent).
    pub fn dsn(&self) -> &str {
        match self {
            Outcome::Sent(_) => "2.0.0",
            Outcome::Bounce(d, _) | Outcome::Defer(d, _) => d,
        }
    }

    /// The text in parentheses of the log line.
    pub fn text(&self) -> &str {
        match self {
            Outcome::Sent(t) | Outcome::Bounce(_, t) | Outcome::Defer(_, t) => t,
        }
    }

    /// Rank for combining the results of an alias expansion: a deferral
    /// beats a bounce beats a delivery.
    pub fn rank(&self) -> u8 {
        match self {
            Outcome::Sent(_) => 0,
            Outcome::Bounce(..) => 1,
            Outcome::Defer(..) => 2,
        }
    }
}

/// A failed write to a mailbox, Maildir or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    /// Whether the failure is permanent (size limit, quota).
    pub permanent: bool,
    /// The enhanced status code.
    pub dsn: String,
    /// What failed, with the system's reason.
    pub text: String,
}

impl WriteError {
    /// A temporary failure described by `text` (status 4.3.0).
    pub fn other(text: String) -> WriteError {
        WriteError {
            permanent: false,
            dsn: "4.3.0".into(),
            text,
        }
    }

    /// A lock failure (status 4.2.0).
    pub fn lock(text: String) -> WriteError {
        WriteError {
            permanent: false,
            dsn: "4.2.0".into(),
            text,
        }
    }

    /// A permanent problem with the destination itself (status 5.2.0):
    /// not a regular file, too many hard links.
    pub fn destination(text: String) -> WriteError {
        WriteError {
            permanent: true,
            dsn: "5.2.0".into(),
            text,
        }
    }

    /// The mailbox or file could not be opened (`existed`) or created:
    /// `cannot open file: REASON` / `cannot create file exclusively:
    /// REASON`, classified as Postfix's mailbox opener does (see the
    /// module text).
    pub fn open(existed: bool, e: &io::Error) -> WriteError {
        let dsn = match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::ESTALE) => "4.2.0",
            Some(libc::ENOSPC) => "4.3.0",
            Some(libc::EDQUOT) | Some(libc::EFBIG) => "5.2.2",
            _ => "5.2.0",
        };
        let what = if existed {
            "cannot open file"
        } else {
            "cannot create file exclusively"
        };
        WriteError {
            permanent: dsn.starts_with('5'),
            dsn: dsn.into(),
            text: format!("{what}: {}", strerror(e)),
        }
    }

    /// From an I/O error `e` while doing `what`: `EFBIG`/`EDQUOT` are
    /// permanent (5.2.2), the rest temporary (4.3.0).
    pub fn from_io(what: String, e: &io::Error) -> WriteError {
        let permanent = matches!(e.raw_os_error(), Some(libc::EFBIG) | Some(libc::EDQUOT));
        WriteError {
            permanent,
            dsn: if permanent { "5.2.2" } else { "4.3.0" }.into(),
            text: format!("{what}: {}", strerror(e)),
        }
    }

    /// As an outcome, with `prefix` (`cannot update mailbox X for user
    /// U. `) before the reason.
    pub fn outcome(&self, prefix: &str) -> Outcome {
        let text = format!("{prefix}{}", self.text);
        if self.permanent {
            Outcome::Bounce(self.dsn.clone(), text)
        } else {
            Outcome::Defer(self.dsn.clone(), text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_failures_bounce_unless_transient() {
        let denied = io::Error::from_raw_os_error(libc::EACCES);
        let w = WriteError::open(false, &denied);
        assert_eq!(
            w.outcome("cannot append message to file /x: "),
            Outcome::bounce(
                "5.2.0",
                "cannot append message to file /x: cannot create file exclusively: Permission denied"
            )
        );
        let w = WriteError::open(true, &denied);
        assert_eq!(w.text, "cannot open file: Permission denied");
        let again = io::Error::from_raw_os_error(libc::EAGAIN);
        assert!(!WriteError::open(true, &again).permanent);
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(WriteError::open(false, &full).dsn, "4.3.0");
    }
}

/// The system's text for `e` without Rust's ` (os error N)` suffix.
pub fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}
