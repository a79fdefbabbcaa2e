//! NAME
//!   users - dedicated local users for delivery tests
//!
//! DESCRIPTION
//!   Local delivery runs as the recipient, so tests of the whole pipeline
//!   need real accounts. [`test_user`] creates (idempotently) a user named
//!   `postern-t-<name>` with a fresh, empty home directory under
//!   `/tmp/postern-test-homes`, owned by that user. It needs root; without
//!   root it returns `None` and the caller skips its test with a message.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where test users' homes live.
pub const HOMES: &str = "/tmp/postern-test-homes";

/// A test account.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The login name (`postern-t-...`).
    pub name: String,
    /// The (empty at creation) home directory.
    pub home: PathBuf,
    /// Numeric user ID.
    pub uid: u32,
    /// Numeric group ID.
    pub gid: u32,
}

impl TestUser {
    /// The user's Maildir `new/` directory (`home_mailbox = Maildir/`).
    pub fn maildir_new(&self) -> PathBuf {
        self.home.join("Maildir/new")
    }

    /// The concatenated text of every message in the user's Maildir.
    pub fn maildir_text(&self) -> String {
        let mut out = String::new();
        if let Ok(rd) = std::fs::read_dir(self.maildir_new()) {
            for e in rd.flatten() {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                out.push('\n');
            }
        }
        out
    }

    /// How many messages the user's Maildir `new/` holds.
    pub fn maildir_count(&self) -> usize {
        std::fs::read_dir(self.maildir_new())
            .map(|rd| rd.count())
            .unwrap_or(0)
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Create (or reuse) user `postern-t-<name>` with an empty home; `None`
/// when not root. Panics when `useradd` cannot make the account.
pub fn test_user(name: &str) -> Option<TestUser> {
    if !is_root() {
        return None;
    }
    let login = format!("postern-t-{name}");
    let home = Path::new(HOMES).join(&login);
    std::fs::create_dir_all(HOMES).expect("create test homes");
    let _ = Command::new("useradd")
        .args([
            "-M",
            "-d",
            home.to_str().unwrap_or_default(),
            "-s",
            "/bin/sh",
            &login,
        ])
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("create test home");
    let u = nix::unistd::User::from_name(&login)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("useradd did not create {login}"));
    nix::unistd::chown(&home, Some(u.uid), Some(u.gid)).expect("chown test home");
    Some(TestUser {
        name: login,
        home,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
    })
}
