//! NAME
//!   privs - recipient accounts and the switch to their privileges
//!
//! DESCRIPTION
//!   local(8) runs as root (master.cf `unpriv` = `n`) and does each
//!   delivery with the privileges it calls for, as Postfix does:
//!
//!   - mailbox, Maildir and `.forward`-file deliveries as the recipient;
//!   - `|command` and `/file` deliveries from an alias as `default_privs`
//!     (or as the owner of the alias file), from a `.forward` file as the
//!     recipient.
//!
//!   Files are written with the effective IDs switched ([`AsUser`], a
//!   guard that switches back to root when dropped); commands run in a
//!   child that changes its real and effective IDs before exec (see
//!   [`crate::command`]). Root (UID 0) is never used as a delivery
//!   identity for commands or files: Postfix refuses that too.
//!
//!   A local(8) that does not run as root (a development instance) keeps
//!   its own identity for everything.
//!
//! DIAGNOSTICS
//!   Failed switches are reported as errors naming the call, e.g.
//!   `seteuid(1001): Operation not permitted`.
use nix::unistd::{Gid, Uid, User};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turn identity switching on (the daemon does this at start when it
/// runs as root). Off by default, so unit tests, which run threads in
/// one process, never change the IDs of the whole test process.
pub fn enable() {
    ENABLED.store(Uid::effective().is_root(), Ordering::SeqCst);
}

/// Whether deliveries switch identities ([`enable`] was called as root).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::SeqCst)
}

/// What local(8) needs to know about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: Uid,
    /// Primary group ID.
    pub gid: Gid,
    /// Home directory.
    pub home: PathBuf,
    /// Login shell.
    pub shell: String,
}

impl From<User> for Account {
    fn from(u: User) -> Account {
        Account {
            name: u.name,
            uid: u.uid,
            gid: u.gid,
            home: u.dir,
            shell: u.shell.display().to_string(),
        }
    }
}

/// Look up the account `name` (getpwnam). `Ok(None)` for no such user.
/// Errors: the password database could not be read.
pub fn lookup(name: &str) -> Result<Option<Account>, String> {
    User::from_name(name)
        .map(|u| u.map(Account::from))
        .map_err(|e| format!("getpwnam(\"{name}\"): {}", e.desc()))
}

/// Look up an account by user ID. Errors as [`lookup`].
pub fn lookup_uid(uid: Uid) -> Result<Option<Account>, String> {
    User::from_uid(uid)
        .map(|u| u.map(Account::from))
        .map_err(|e| format!("getpwuid({uid}): {}", e.desc()))
}

/// While alive, the process's effective user and group IDs are an
/// account's; dropping it restores root. A no-op when not root.
#[derive(Debug)]
pub struct AsUser {
    switched: bool,
}

impl AsUser {
    /// Switch the effective IDs to `uid`/`gid` (supplementary groups:
    /// just `gid`). Errors: a failed system call; nothing stays switched.
    pub fn enter(uid: Uid, gid: Gid) -> Result<AsUser, String> {
        if !enabled() || uid.is_root() {
            return Ok(AsUser { switched: false });
        }
        let guard = AsUser { switched: true };
        nix::unistd::setgroups(&[gid])
            .map_err(|e| format!("setgroups(1, [{gid}]): {}", e.desc()))?;
        nix::unistd::setegid(gid).map_err(|e| format!("setegid({gid}): {}", e.desc()))?;
        nix::unistd::seteuid(uid).map_err(|e| format!("seteuid({uid}): {}", e.desc()))?;
        Ok(guard)
    }
}

impl Drop for AsUser {
    fn drop(&mut self) {
        if self.switched {
            if let Err(e) = nix::unistd::seteuid(Uid::from_raw(0)) {
                util::msg_fatal!("seteuid(0): {}", e.desc());
            }
            let _ = nix::unistd::setegid(Gid::from_raw(0));
            let _ = nix::unistd::setgroups(&[Gid::from_raw(0)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_unknown_does_not() {
        assert_eq!(lookup("root").unwrap().unwrap().uid, Uid::from_raw(0));
        assert!(lookup("no-such-user-postern").unwrap().is_none());
    }
}
