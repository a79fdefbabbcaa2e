//! NAME
//!   guard - protocol abuse checks on each command line
//!
//! DESCRIPTION
//!   Checks the session loop makes on a command line before it runs the
//!   command, as Postfix's smtpd does:
//!
//!   - Non-SMTP commands. A line whose verb is not an SMTP command and
//!     either looks like a message header (`Name:`, [`looks_like_header`])
//!     or matches `smtpd_forbidden_commands` (names, or tables such as
//!     the default `regexp:{{/^[^A-Z]/ Bogus}}`) is logged as `warning:
//!     non-SMTP command from host[addr]: LINE` and answered `221 2.7.0
//!     Error: I can break rules, too. Goodbye.`, and the session ends.
//!     This stops a client (or a web page that makes a browser talk to
//!     the port) from having message text run as commands, e.g. the body
//!     of a DATA that was refused while the client had already pipelined
//!     it (SMTP command injection).
//!   - Bare LF in a command line with `smtpd_forbid_bare_newline =
//!     reject`: `550 5.5.2 host Error: bare <LF> received` (code
//!     `smtpd_forbid_bare_newline_reject_code`), logged as `NOQUEUE:
//!     reject: CMD from host[addr]: bare <LF> received; ...` with the
//!     previous command, and the session ends.
//!   - Improper pipelining (RFC 2920): input sent ahead of a command that
//!     must be the last of a group, or by a client that did not say EHLO
//!     (not in stand-alone mode, where input comes from a pipe).
//!     Logged as `improper command pipelining after CMD from host[addr]:
//!     NEXT-INPUT`; with `smtpd_forbid_unauth_pipelining` the session
//!     ends with `554 5.5.0 Error: SMTP protocol synchronization`.
//!
//! SEE ALSO
//!   smtpd(8), postconf(5) smtpd_forbidden_commands,
//!   smtpd_forbid_bare_newline, smtpd_forbid_unauth_pipelining.
use crate::session::Session;
use util::{msg_info, msg_warn};

/// Whether `verb` (the first word of a command line) has the form of
/// a message header name: one or more printable ASCII characters other
/// than `:`, then optional spaces or tabs, then `:` (RFC 5322 2.2 and
/// the obsolete form of 4.5.1, as Postfix's is_header() test).
pub fn looks_like_header(verb: &str) -> bool {
    let Some((name, _)) = verb.split_once(':') else {
        return false;
    };
    let name = name.trim_end_matches([' ', '\t']);
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic())
}

/// `text` as it may appear in a log line: at most 100 characters,
/// control characters as `?`.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

impl Session<'_, '_> {
    /// An unknown command `verb` on line `text`: when it is a header or
    /// a forbidden command, log the warning, queue the 221 reply and
    /// return true (the caller hangs up).
    pub(crate) fn non_smtp_command(&mut self, verb: &str, text: &str) -> bool {
        if !looks_like_header(verb) && !self.forbidden(verb) {
            return false;
        }
        msg_warn!(
            "non-SMTP command from {}: {}",
            self.peer.namaddr,
            printable(text)
        );
        self.reply("221 2.7.0 Error: I can break rules, too. Goodbye.");
        true
    }

    /// Whether `verb` matches `smtpd_forbidden_commands` (a name,
    /// case-insensitive, or a key of one of its tables).
    fn forbidden(&self, verb: &str) -> bool {
        let st = &self.srv.settings;
        st.forbidden_commands
            .iter()
            .any(|c| !c.contains(':') && c.eq_ignore_ascii_case(verb))
            || self
                .srv
                .forbidden_tables
                .iter()
                .any(|m| matches!(m.find(verb, false), Ok(Some(_))))
    }

    /// A command line ended in a bare LF under `smtpd_forbid_bare_newline
    /// = reject`: reply, log as a reject after the previous command, and
    /// let the caller hang up.
    pub(crate) fn bare_newline_command(&mut self) {
        let st = &self.srv.settings;
        let r = format!(
            "{} 5.5.2 {} Error: bare <LF> received",
            st.bare_newline_code, st.myhostname
        );
        let last = self.last.clone();
        self.log_reject("reject", &last, "bare <LF> received", None);
        self.reply(&r);
    }

    /// Detect commands sent ahead when not allowed; true: close.
    pub(crate) fn check_pipelining(&mut self, name: &str) -> bool {
        // A stand-alone server (sendmail -bs) reads a pipe or a
        // terminal: input sent ahead is normal there.
        if !self.chat.pending() || self.unauth_pipelining || self.srv.stand_alone {
            return false;
        }
        let last_in_group = matches!(name, "helo" | "ehlo" | "data" | "starttls");
        let allowed = self.esmtp && !self.srv.settings.discarded("pipelining");
        if !last_in_group && allowed {
            return false;
        }
        let peek: String = String::from_utf8_lossy(self.chat.peek_pending(100))
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let shown = peek.replace("??", "\\r\\n");
        msg_info!(
            "improper command pipelining after {} from {}: {}",
            name.to_ascii_uppercase(),
            self.peer.namaddr,
            shown
        );
        self.unauth_pipelining = true;
        self.srv.settings.forbid_unauth_pipelining
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_recognised() {
        for h in ["Subject:", "X:", "From:a", "X-Y:", "Subject\t:", "a.b@c:"] {
            assert!(looks_like_header(h), "{h}");
        }
        for h in [":x", "MAIL", "Foo", "Sub ject:", "", "é:", "\u{1}:"] {
            assert!(!looks_like_header(h), "{h}");
        }
    }

    #[test]
    fn log_text_is_printable_and_short() {
        assert_eq!(printable("a\u{7}b"), "a?b");
        assert_eq!(printable(&"x".repeat(300)).len(), 100);
    }
}
