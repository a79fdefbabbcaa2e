//! NAME
//!   instance - one Postfix instance: its configuration and its paths
//!
//! DESCRIPTION
//!   An instance is a configuration directory (`-c dir`, else
//!   `MAIL_CONFIG`, else `/etc/postfix`) with main.cf and master.cf. Every
//!   path the postfix command uses comes from that main.cf:
//!   `queue_directory`, `data_directory`, `daemon_directory`,
//!   `command_directory`; the owners come from `mail_owner` and
//!   `setgid_group`.
//!
//! DIAGNOSTICS
//!   As Postfix: a missing main.cf is `open DIR/main.cf: No such file or
//!   directory`; syntax and value errors carry file and line; an unknown
//!   or privileged `mail_owner` / `setgid_group` is fatal.
use global::master_cf::{self, MasterCf};
use global::Config;
use nix::unistd::{Gid, Group, Uid, User};
use std::path::{Path, PathBuf};

/// The configuration and paths of one instance.
#[derive(Debug)]
pub struct Instance {
    /// The effective configuration (main.cf plus defaults).
    pub cfg: Config,
    /// The configuration directory, absolute.
    pub config_dir: PathBuf,
    /// `queue_directory`.
    pub queue_dir: PathBuf,
    /// `data_directory`.
    pub data_dir: PathBuf,
    /// `daemon_directory`.
    pub daemon_dir: PathBuf,
    /// `command_directory`.
    pub command_dir: PathBuf,
    /// `mail_owner`.
    pub mail_owner: String,
    /// `setgid_group`.
    pub setgid_group: String,
}

/// The user and group IDs the layout uses.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    /// `mail_owner`'s user ID.
    pub owner_uid: Uid,
    /// `setgid_group`'s group ID.
    pub setgid_gid: Gid,
}

impl Instance {
    /// Load the instance whose configuration directory is `dir` (see
    /// [`Config::resolve_dir`]).
    ///
    /// Errors: the text of a `fatal:` message (missing main.cf, syntax or
    /// value errors with file and line).
    pub fn load(dir: Option<&Path>) -> Result<Instance, String> {
        let dir = Config::resolve_dir(dir);
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let main = dir.join("main.cf");
        if let Err(e) = std::fs::metadata(&main) {
            return Err(format!("open {}: {}", main.display(), io_reason(&e)));
        }
        let cfg = Config::load(Some(&dir)).map_err(|e| e.to_string())?;
        let path = |name: &str| cfg.get(name).map(PathBuf::from).map_err(|e| e.to_string());
        Ok(Instance {
            queue_dir: path("queue_directory")?,
            data_dir: path("data_directory")?,
            daemon_dir: path("daemon_directory")?,
            command_dir: path("command_directory")?,
            mail_owner: cfg.get("mail_owner").map_err(|e| e.to_string())?,
            setgid_group: cfg.get("setgid_group").map_err(|e| e.to_string())?,
            config_dir: dir,
            cfg,
        })
    }

    /// `$queue_directory/pid/master.pid`, master's lock file.
    pub fn pid_file(&self) -> PathBuf {
        self.queue_dir.join("pid/master.pid")
    }

    /// `$daemon_directory/master`.
    pub fn master_program(&self) -> PathBuf {
        self.daemon_dir.join("master")
    }

    /// `$config_directory/master.cf`.
    pub fn master_cf_path(&self) -> PathBuf {
        self.config_dir.join("master.cf")
    }

    /// Read and parse master.cf. Errors: `file, line N: reason`.
    pub fn master_cf(&self) -> Result<MasterCf, String> {
        master_cf::read(&self.master_cf_path()).map_err(|e| e.to_string())
    }

    /// Look up `mail_owner` and `setgid_group`.
    ///
    /// Errors (Postfix's wording): `file DIR/main.cf: parameter
    /// mail_owner: unknown user name value: NAME`, the same for an unknown
    /// group, and a `mail_owner` or `setgid_group` with ID 0.
    pub fn ids(&self) -> Result<Ids, String> {
        let file = self.config_dir.join("main.cf");
        let file = file.display();
        let user = User::from_name(&self.mail_owner)
            .ok()
            .flatten()
            .ok_or_else(|| {
                format!(
                    "file {file}: parameter mail_owner: unknown user name value: {}",
                    self.mail_owner
                )
            })?;
        if user.uid.is_root() {
            return Err(format!(
                "file {file}: parameter mail_owner: user {} has privileged user ID",
                self.mail_owner
            ));
        }
        let group = Group::from_name(&self.setgid_group)
            .ok()
            .flatten()
            .ok_or_else(|| {
                format!(
                    "file {file}: parameter setgid_group: unknown group name: {}",
                    self.setgid_group
                )
            })?;
        if group.gid.as_raw() == 0 {
            return Err(format!(
                "file {file}: parameter setgid_group: group {} has privileged group ID",
                self.setgid_group
            ));
        }
        Ok(Ids {
            owner_uid: user.uid,
            setgid_gid: group.gid,
        })
    }

    /// The first line of the pid file, as a process ID.
    pub fn master_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.pid_file()).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

/// The strerror-like text of an I/O error, without Rust's "(os error N)".
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_come_from_main_cf() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("q");
        std::fs::write(
            dir.path().join("main.cf"),
            format!(
                "queue_directory = {}\ndaemon_directory = /x/libexec\n",
                q.display()
            ),
        )
        .unwrap();
        let inst = Instance::load(Some(dir.path())).unwrap();
        assert_eq!(inst.queue_dir, q);
        assert_eq!(inst.pid_file(), q.join("pid/master.pid"));
        assert_eq!(inst.master_program(), PathBuf::from("/x/libexec/master"));
        assert_eq!(inst.mail_owner, "postfix");
    }

    #[test]
    fn missing_main_cf_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Instance::load(Some(&dir.path().join("nope"))).unwrap_err();
        assert!(
            err.ends_with("nope/main.cf: No such file or directory"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.cf"), "a = 1\njunk\n").unwrap();
        let err = Instance::load(Some(dir.path())).unwrap_err();
        assert!(
            err.contains("main.cf, line 2: missing '=' after attribute name"),
            "{err}"
        );
    }

    #[test]
    fn unknown_owner_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.cf"),
            "mail_owner = no-such-user-xyz\n",
        )
        .unwrap();
        let inst = Instance::load(Some(dir.path())).unwrap();
        let err = inst.ids().unwrap_err();
        assert!(
            err.ends_with("parameter mail_owner: unknown user name value: no-such-user-xyz"),
            "{err}"
        );
    }
}
