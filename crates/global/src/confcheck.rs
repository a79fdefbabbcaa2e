//! NAME
//!   confcheck - may this user name a configuration directory?
//!
//! DESCRIPTION
//!   The set-gid programs (postdrop, postqueue) must not let an ordinary
//!   user point them at a configuration of the user's making, or the
//!   user could write into, or list, a queue that is not theirs. As in
//!   Postfix, a directory other than the default `/etc/postfix` is
//!   accepted from root and from `mail_owner`, and from others only when
//!   the default configuration lists it in `alternate_config_directories`
//!   or `multi_instance_directories`.
//!
//! DIAGNOSTICS
//!   `unauthorized configuration directory name: DIR`.
//!
//! SEE ALSO
//!   postconf(5) `alternate_config_directories`,
//!   `multi_instance_directories`.
use crate::config::{Config, DEFAULT_CONFIG_DIR};
use std::path::Path;

/// Check that the real user may use configuration directory `dir`
/// (see DESCRIPTION). Errors: the message for a `fatal:` line.
pub fn check_config_dir(dir: &Path) -> Result<(), String> {
    let uid = nix::unistd::getuid();
    if uid.is_root() || dir == Path::new(DEFAULT_CONFIG_DIR) {
        return Ok(());
    }
    let deny = || {
        format!(
            "unauthorized configuration directory name: {}",
            dir.display()
        )
    };
    let default = Config::load(Some(Path::new(DEFAULT_CONFIG_DIR))).map_err(|_| deny())?;
    if let Ok(owner) = default.get("mail_owner") {
        if nix::unistd::User::from_name(&owner)
            .ok()
            .flatten()
            .is_some_and(|u| u.uid == uid)
        {
            return Ok(());
        }
    }
    let mut allowed = default
        .get_list("alternate_config_directories")
        .unwrap_or_default();
    allowed.extend(
        default
            .get_list("multi_instance_directories")
            .unwrap_or_default(),
    );
    if allowed.iter().any(|a| Path::new(a) == dir) {
        Ok(())
    } else {
        Err(deny())
    }
}
