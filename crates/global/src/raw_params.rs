//! NAME
//!   raw_params - parameters that are not subject to `$name` expansion
//!
//! DESCRIPTION
//!   A few Postfix parameters hold text that the program using them
//!   expands at run time with its own per-message or per-recipient
//!   attributes (`$user`, `$client_address`, ...), or hands unchanged to a
//!   shell (`mailbox_command`, postconf(5): "not subject to $parameter
//!   substitutions"). Postfix keeps these "raw": the configuration layer
//!   returns them as written, `postconf -x` prints them unexpanded, and
//!   postconf neither warns about the `$name`s in them nor counts those
//!   names as references that make a main.cf setting used.
//!
//!   The list is Postfix 3.7's: found by setting every parameter of
//!   Debian's Postfix 3.7 `postconf -d` to `$undefined_name` and keeping
//!   the ones for which `postconf -n` gives no "undefined parameter"
//!   warning.
//!
//! SEE ALSO
//!   postconf(5), local(8), smtpd(8), postscreen(8).

/// Postfix 3.7's raw parameters, sorted.
pub const RAW_PARAMS: &[&str] = &[
    "command_execution_directory",
    "default_rbl_reply",
    "forward_path",
    "luser_relay",
    "mailbox_command",
    "postscreen_expansion_filter",
    "postscreen_reject_footer",
    "smtpd_expansion_filter",
    "smtpd_reject_footer",
];

/// Whether `name` is a raw parameter (not `$name`-expanded by the
/// configuration layer).
pub fn is_raw(name: &str) -> bool {
    RAW_PARAMS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_complete() {
        assert!(RAW_PARAMS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_raw("mailbox_command") && is_raw("smtpd_reject_footer"));
        assert!(!is_raw("home_mailbox") && !is_raw("mailbox_command_maps"));
    }
}
