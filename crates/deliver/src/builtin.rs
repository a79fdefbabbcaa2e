//! NAME
//!   builtin - the handlers of the error, retry and discard agents
//!
//! DESCRIPTION
//!   These are the whole delivery logic of error(8) and discard(8); qmgr
//!   also runs them in-process when it must defer recipients and the
//!   `retry` service cannot be reached.
//!
//!   [`error_handler`]: the request's next hop is the reason. It may start
//!   with an RFC 3463 code (`5.1.1 no such user`); otherwise `5.0.0` is
//!   used when bouncing and `4.0.0` when deferring. An empty next hop
//!   reads `Address is undeliverable`, as Postfix logs for a bare
//!   `error:` transport. With `bounce` = true (service `error`) every
//!   recipient is bounced, else (service `retry`) deferred. A code of the
//!   wrong class for the service is replaced by the default code.
//!
//!   [`discard_handler`]: every recipient is reported sent with the next
//!   hop text as the reason (`status=sent (gone)`, or the recipient's
//!   domain for a bare `discard:`), code `2.0.0` unless the text carries
//!   a 2.X.Y code. `relay=none` for all of them.
//!
//! SEE ALSO
//!   error(8), discard(8), RFC 3463.
use crate::agent::Delivery;
use crate::dsn::{Dsn, DsnStatus};

/// The reason used for an `error:` transport without text.
pub const UNDELIVERABLE: &str = "Address is undeliverable";

/// The reason of a request's next hop, with `default` when it carries no
/// code, and `default`'s class forced.
fn nexthop_dsn(nexthop: &str, default: DsnStatus) -> Dsn {
    let text = if nexthop.trim().is_empty() {
        UNDELIVERABLE
    } else {
        nexthop
    };
    let mut d = Dsn::split(default, text);
    if d.status.class != default.class {
        d.status = default;
    }
    if d.reason.is_empty() {
        d.reason = UNDELIVERABLE.to_string();
    }
    d
}

/// Bounce (`bounce` = true) or defer every recipient with the next hop
/// as the reason. Errors: a toolkit failure (the rest is then deferred).
// reason: Dsn is the handler's error type of agent_serve; one per request, size irrelevant
#[allow(clippy::result_large_err)]
pub fn error_handler(d: &mut Delivery<'_>, bounce: bool) -> Result<(), Dsn> {
    let default = if bounce {
        DsnStatus::BOUNCE
    } else {
        DsnStatus::DEFER
    };
    let dsn = nexthop_dsn(&d.request().nexthop, default);
    for pos in 0..d.request().recipients.len() {
        if bounce {
            d.bounce(pos, "none", &dsn)?;
        } else {
            d.defer(pos, "none", &dsn)?;
        }
    }
    Ok(())
}

/// Report every recipient sent with the next hop as the reason.
// reason: as error_handler
#[allow(clippy::result_large_err)]
pub fn discard_handler(d: &mut Delivery<'_>) -> Result<(), Dsn> {
    let dsn = nexthop_dsn(&d.request().nexthop, DsnStatus::SENT);
    for pos in 0..d.request().recipients.len() {
        d.sent(pos, "none", &dsn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nexthop_reasons() {
        let d = nexthop_dsn("5.1.1 nope here", DsnStatus::BOUNCE);
        assert_eq!(
            (d.status.to_string(), d.reason.as_str()),
            ("5.1.1".into(), "nope here")
        );
        let d = nexthop_dsn("", DsnStatus::BOUNCE);
        assert_eq!(
            (d.status.to_string(), d.reason.as_str()),
            ("5.0.0".into(), UNDELIVERABLE)
        );
        let d = nexthop_dsn("4.4.4 try later", DsnStatus::DEFER);
        assert_eq!(
            (d.status.to_string(), d.reason.as_str()),
            ("4.4.4".into(), "try later")
        );
        let d = nexthop_dsn("5.1.1 wrong class", DsnStatus::DEFER);
        assert_eq!(d.status, DsnStatus::DEFER);
        let d = nexthop_dsn("gone", DsnStatus::SENT);
        assert_eq!(
            (d.status.to_string(), d.reason.as_str()),
            ("2.0.0".into(), "gone")
        );
    }
}
