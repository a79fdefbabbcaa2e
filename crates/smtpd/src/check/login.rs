//! NAME
//!   login - SASL restrictions: permit_sasl_authenticated and the sender
//!   login mismatch checks
//!
//! DESCRIPTION
//!   - `permit_sasl_authenticated`: permit a client that authenticated
//!     with AUTH.
//!   - `reject_authenticated_sender_login_mismatch`: an authenticated
//!     client whose login does not own the MAIL FROM address in
//!     `smtpd_sender_login_maps` is refused (`553 5.7.1 <addr>: Sender
//!     address rejected: not owned by user NAME`).
//!   - `reject_unauthenticated_sender_login_mismatch`: a client that did
//!     not authenticate may not use an address that has an owner there
//!     (`553 5.7.1 <addr>: Sender address rejected: not logged in`).
//!   - `reject_sender_login_mismatch`: both.
//!   - `reject_known_sender_login_mismatch`: as the authenticated check,
//!     but only for addresses the table knows.
//!
//!   The table is searched as virtual(5) does (full address, address
//!   without extension, `@domain`); the value is a list of login names
//!   separated by commas or spaces. The null sender is not checked.
//!
//! SEE ALSO
//!   postconf(5) smtpd_sender_login_maps.
use super::address::warn_dict;
use super::{Checks, Decision, Facts, Reject};

impl Checks {
    /// `permit_sasl_authenticated`.
    pub(super) fn permit_sasl(f: &Facts) -> Decision {
        match f.sasl_username {
            Some(_) => Decision::Permit,
            None => Decision::Dunno,
        }
    }

    /// The login mismatch restrictions named `name` (lower case).
    pub(super) fn login_mismatch(&self, name: &str, f: &Facts) -> Decision {
        let Some(sender) = f.sender.as_deref().filter(|s| !s.is_empty()) else {
            return Decision::Dunno;
        };
        let Some(m) = self.sender_login_maps.as_ref() else {
            return Decision::Dunno;
        };
        let owners = match maps::search::find_address(m, sender, &self.recipient_delimiter, false) {
            Ok(found) => found.map(|f| f.value),
            Err(e) => {
                warn_dict(&e);
                return Decision::Reject(Reject::new(
                    451,
                    "4.3.0",
                    format!("<{sender}>: Sender address rejected: Temporary lookup failure"),
                ));
            }
        };
        let authenticated_check = name != "reject_unauthenticated_sender_login_mismatch";
        let unauthenticated_check = name == "reject_sender_login_mismatch"
            || name == "reject_unauthenticated_sender_login_mismatch";
        match (&f.sasl_username, owners) {
            (Some(user), owners) if authenticated_check => {
                if name == "reject_known_sender_login_mismatch" && owners.is_none() {
                    return Decision::Dunno;
                }
                let owned = owners.is_some_and(|o| {
                    util::strings::split_list(&o)
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(user))
                });
                if owned {
                    Decision::Dunno
                } else {
                    Decision::Reject(Reject::new(
                        553,
                        "5.7.1",
                        format!("<{sender}>: Sender address rejected: not owned by user {user}"),
                    ))
                }
            }
            (None, Some(_)) if unauthenticated_check => Decision::Reject(Reject::new(
                553,
                "5.7.1",
                format!("<{sender}>: Sender address rejected: not logged in"),
            )),
            _ => Decision::Dunno,
        }
    }
}
