//! NAME
//!   privs - chroot and privilege drop for service programs
//!
//! DESCRIPTION
//!   After its privileged pre-init hook a service program changes to
//!   `queue_directory` (always), then, only when running as root: chroots
//!   there when master passed `-c` (master.cf column 5), and becomes
//!   `mail_owner` when master passed `-u` (column 4) with setgid,
//!   setgroups (just that group) and setuid, in that order, so it cannot
//!   regain root. The user is looked up before the chroot, since the
//!   chroot jail need not contain the password file.
//!
//!   A process that does not run as root (a development instance) skips
//!   chroot and setuid: it cannot do them and needs no protection from
//!   itself.
//!
//! DIAGNOSTICS
//!   Errors name the parameter: `file /etc/postfix/main.cf: parameter
//!   mail_owner: unknown user name value: postfix`.
use nix::unistd::{Gid, Uid, User};
use std::path::Path;

/// The user and group that `mail_owner` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User ID.
    pub uid: Uid,
    /// Primary group ID.
    pub gid: Gid,
}

/// Look up user `name` (parameter `mail_owner`). `config_dir` is only for
/// the message. Errors: unknown user, or a user with UID 0.
pub fn lookup_owner(name: &str, config_dir: &Path) -> Result<Owner, String> {
    match User::from_name(name) {
        Ok(Some(u)) if u.uid.is_root() => Err(format!(
            "file {}/main.cf: parameter mail_owner: user {name} has privileged user ID",
            config_dir.display()
        )),
        Ok(Some(u)) => Ok(Owner {
            uid: u.uid,
            gid: u.gid,
        }),
        _ => Err(format!(
            "file {}/main.cf: parameter mail_owner: unknown user name value: {name}",
            config_dir.display()
        )),
    }
}

/// Change to `queue_dir`; then, when running as root, chroot there if
/// `chroot`, and become `owner` if given. Errors: the failing system call
/// with its argument, as Postfix words them (`chdir("/x"): ...`).
pub fn enter_jail(queue_dir: &str, chroot: bool, owner: Option<Owner>) -> Result<(), String> {
    std::env::set_current_dir(queue_dir).map_err(|e| format!("chdir(\"{queue_dir}\"): {e}"))?;
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    if chroot {
        nix::unistd::chroot(".").map_err(|e| format!("chroot(\"{queue_dir}\"): {e}"))?;
        std::env::set_current_dir("/").map_err(|e| format!("chdir(\"/\"): {e}"))?;
    }
    if let Some(o) = owner {
        nix::unistd::setgid(o.gid).map_err(|e| format!("setgid({}): {e}", o.gid))?;
        nix::unistd::setgroups(&[o.gid]).map_err(|e| format!("setgroups(1, [{}]): {e}", o.gid))?;
        nix::unistd::setuid(o.uid).map_err(|e| format!("setuid({}): {e}", o.uid))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_unknown_users_are_refused() {
        let e = lookup_owner("root", Path::new("/etc/postfix")).unwrap_err();
        assert!(e.contains("privileged user ID"), "{e}");
        let e = lookup_owner("no-such-user-xyz", Path::new("/etc/postfix")).unwrap_err();
        assert_eq!(e, "file /etc/postfix/main.cf: parameter mail_owner: unknown user name value: no-such-user-xyz");
    }
}
