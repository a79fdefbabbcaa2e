//! NAME
//!   xclient - XCLIENT and XFORWARD: refused, no client is authorized
//!
//! DESCRIPTION
//!   Postfix's XCLIENT and XFORWARD commands let a trusted proxy or
//!   content filter override the client attributes smtpd logs and
//!   checks. Postern implements neither (`smtpd_authorized_xclient_hosts`
//!   and `smtpd_authorized_xforward_hosts` are not read), so it answers
//!   both as Postfix answers a client that is not in those lists, and
//!   never offers them in the EHLO reply:
//!
//!   - `503 5.5.1 Error: MAIL transaction in progress` inside a
//!     transaction;
//!   - `501 5.5.4 Syntax: XCLIENT attribute=value...` (XFORWARD
//!     likewise) without arguments;
//!   - `550 5.7.0 Error: insufficient authorization` otherwise.
//!
//!   Each refusal counts as an error (`smtpd_hard_error_limit`).
//!
//! SEE ALSO
//!   XCLIENT_README, XFORWARD_README (Postfix).
use crate::conn::Outcome;
use crate::session::Session;

impl Session<'_, '_> {
    /// XCLIENT or XFORWARD (`verb`, upper case) with arguments `rest`.
    pub(crate) fn xclient_cmd(&mut self, verb: &str, rest: &str) -> Outcome {
        if self.tx.is_some() {
            self.reply("503 5.5.1 Error: MAIL transaction in progress");
        } else if rest.trim().is_empty() {
            self.reply(&format!("501 5.5.4 Syntax: {verb} attribute=value..."));
        } else {
            self.reply("550 5.7.0 Error: insufficient authorization");
        }
        Outcome::Continue
    }
}
