//! NAME
//!   anvil_proto - the names of the anvil(8) request/reply protocol
//!
//! SYNOPSIS
//!   ```ignore
//!   use global::anvil_proto::{self as ap, REQ_CONNECT};
//!   let req = Attrs::new().put_str(ap::ATTR_REQUEST, REQ_CONNECT)
//!       .put_str(ap::ATTR_IDENT, &ap::ident("smtp", "192.0.2.1"));
//!   ```
//!
//! DESCRIPTION
//!   The connection count and request rate service anvil(8) and its
//!   clients (smtpd) speak the attribute protocol of [`crate::attr`]
//!   over `private/anvil`. Every request is `request=NAME` and
//!   `ident=SERVICE:CLIENT`, as in Postfix's anvil(8); every reply has
//!   `status` ([`STAT_OK`], or [`STAT_FAIL`] for a request the server
//!   does not understand) and the counters that request reports:
//!
//!   - `connect`: `count` (simultaneous sessions) and `rate` (sessions
//!     in the current time unit);
//!   - `disconnect`: nothing more;
//!   - `message`, `recipient`, `newtls`, `auth`: the `rate` after
//!     counting this event;
//!   - `newtls_status` (documented as `newtls_report`; both names are
//!     accepted): the new-TLS-session `rate`, without counting;
//!   - `lookup`: every counter (`count`, `rate`, `mail`, `rcpt`,
//!     `newtls`, `auth`), without counting.
//!
//! SEE ALSO
//!   anvil(8), smtpd(8), Postfix anvil_clnt(3).

/// The service's socket, relative to `queue_directory`.
pub const SERVICE_PATH: &str = "private/anvil";

/// Attribute: the request name.
pub const ATTR_REQUEST: &str = "request";
/// Attribute: `service:client`.
pub const ATTR_IDENT: &str = "ident";
/// Attribute: the reply status.
pub const ATTR_STATUS: &str = "status";
/// Attribute: simultaneous sessions.
pub const ATTR_COUNT: &str = "count";
/// Attribute: an event rate (events in the current time unit).
pub const ATTR_RATE: &str = "rate";
/// Attribute (lookup): the message rate.
pub const ATTR_MAIL: &str = "mail";
/// Attribute (lookup): the recipient rate.
pub const ATTR_RCPT: &str = "rcpt";
/// Attribute (lookup): the new TLS session rate.
pub const ATTR_NEWTLS: &str = "newtls";
/// Attribute (lookup): the AUTH rate.
pub const ATTR_AUTH: &str = "auth";

/// Register a session.
pub const REQ_CONNECT: &str = "connect";
/// Unregister a session.
pub const REQ_DISCONNECT: &str = "disconnect";
/// Count a message delivery request (MAIL FROM).
pub const REQ_MESSAGE: &str = "message";
/// Count a recipient (RCPT TO).
pub const REQ_RECIPIENT: &str = "recipient";
/// Count a new (not resumed) TLS session.
pub const REQ_NEWTLS: &str = "newtls";
/// Report the new TLS session rate without counting (Postfix's wire name).
pub const REQ_NEWTLS_STATUS: &str = "newtls_status";
/// Same as [`REQ_NEWTLS_STATUS`], the name anvil(8) documents.
pub const REQ_NEWTLS_REPORT: &str = "newtls_report";
/// Count an AUTH command.
pub const REQ_AUTH: &str = "auth";
/// Report every counter without counting.
pub const REQ_LOOKUP: &str = "lookup";

/// Reply status: done.
pub const STAT_OK: i64 = 0;
/// Reply status: the request was not understood.
pub const STAT_FAIL: i64 = -1;

/// The ident of client address `addr` of master.cf service `service`
/// (`smtp:192.0.2.1`), as Postfix's smtpd forms it.
pub fn ident(service: &str, addr: &str) -> String {
    format!("{service}:{addr}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ident_is_service_colon_address() {
        assert_eq!(super::ident("smtp", "127.0.0.1"), "smtp:127.0.0.1");
    }
}
