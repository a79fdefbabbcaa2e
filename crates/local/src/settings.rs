//! NAME
//!   settings - the parameters local(8) reads, read once per process
//!
//! DESCRIPTION
//!   [`Settings::from_config`] reads every main.cf parameter the local
//!   delivery agent uses. The raw parameters (`forward_path`,
//!   `luser_relay`: [`crate::attrs`] expands them with the recipient's
//!   `$user`, `$home`, `$extension`, ...; `mailbox_command`: the shell
//!   gets it as written) are kept unexpanded.
//!
//! DIAGNOSTICS
//!   A bad parameter value is an error naming it; the caller logs it
//!   fatally at start-up. So is a non-zero `mailbox_size_limit` smaller
//!   than `message_size_limit` (`configuration error: mailbox_size_limit
//!   is smaller than message_size_limit`, as Postfix's local(8)); the
//!   mail waits in the queue until the configuration is fixed.
//!
//! SEE ALSO
//!   local(8), postconf(5).
use crate::lock::LockPolicy;
use global::Config;
use std::time::Duration;

/// local(8)'s parameters.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `alias_maps` (unexpanded list of tables).
    pub alias_maps: String,
    /// `recipient_delimiter`.
    pub recipient_delimiter: String,
    /// `forward_path` (raw, expanded per recipient).
    pub forward_path: String,
    /// `home_mailbox`: a path under the home directory.
    pub home_mailbox: String,
    /// `mail_spool_directory`.
    pub mail_spool_directory: String,
    /// `mailbox_command` (raw).
    pub mailbox_command: String,
    /// `luser_relay` (raw).
    pub luser_relay: String,
    /// `allow_mail_to_commands`: classes (`alias`, `forward`, `include`).
    pub allow_commands: Vec<String>,
    /// `allow_mail_to_files`: classes.
    pub allow_files: Vec<String>,
    /// `default_privs`: the account for alias commands and files.
    pub default_privs: String,
    /// `prepend_delivered_header`: `command`, `file`, `forward`.
    pub prepend_delivered: Vec<String>,
    /// `mailbox_size_limit` in bytes (0 = none).
    pub mailbox_size_limit: u64,
    /// `mailbox_delivery_lock` and the lock retry parameters.
    pub lock: LockPolicy,
    /// `local_command_shell`.
    pub local_command_shell: String,
    /// `command_time_limit`.
    pub command_time_limit: Duration,
    /// `export_environment`.
    pub export_environment: Vec<String>,
    /// `myhostname` (Maildir file names).
    pub myhostname: String,
    /// `owner_request_special`.
    pub owner_request_special: bool,
    /// `expand_owner_alias`.
    pub expand_owner_alias: bool,
}

fn size(cfg: &Config, name: &str) -> Result<u64, String> {
    let v = cfg.get_int(name).map_err(|e| e.to_string())?;
    u64::try_from(v).map_err(|_| format!("bad numerical parameter value: {name} = {v}"))
}

impl Settings {
    /// Read the parameters from `cfg`. Errors: a bad value, as text.
    pub fn from_config(cfg: &Config) -> Result<Settings, String> {
        let s = |n: &str| cfg.get(n).map_err(|e| e.to_string());
        let raw = |n: &str| cfg.raw(n).unwrap_or_default();
        let list = |n: &str| cfg.get_list(n).map_err(|e| e.to_string());
        let time = |n: &str| cfg.get_time(n).map_err(|e| e.to_string());
        let attempts = cfg
            .get_int("deliver_lock_attempts")
            .map_err(|e| e.to_string())?;
        let lock = LockPolicy {
            attempts: u32::try_from(attempts.max(1)).unwrap_or(1),
            delay: Duration::from_secs(time("deliver_lock_delay")?),
            stale: Duration::from_secs(time("stale_lock_time")?),
            ..LockPolicy::default()
        }
        .with_methods(&list("mailbox_delivery_lock")?)?;
        let mailbox_size_limit = size(cfg, "mailbox_size_limit")?;
        let message_size_limit = size(cfg, "message_size_limit")?;
        if mailbox_size_limit > 0 && mailbox_size_limit < message_size_limit {
            // Postfix's local(8) refuses to start: a message that cleanup
            // accepts could never fit in a mailbox.
            return Err(
                "configuration error: mailbox_size_limit is smaller than message_size_limit".into(),
            );
        }
        Ok(Settings {
            alias_maps: s("alias_maps")?,
            recipient_delimiter: s("recipient_delimiter")?,
            forward_path: raw("forward_path"),
            home_mailbox: s("home_mailbox")?,
            mail_spool_directory: s("mail_spool_directory")?,
            mailbox_command: raw("mailbox_command"),
            luser_relay: raw("luser_relay"),
            allow_commands: list("allow_mail_to_commands")?,
            allow_files: list("allow_mail_to_files")?,
            default_privs: s("default_privs")?,
            prepend_delivered: list("prepend_delivered_header")?,
            mailbox_size_limit,
            lock,
            local_command_shell: s("local_command_shell")?,
            command_time_limit: Duration::from_secs(time("command_time_limit")?),
            export_environment: list("export_environment")?,
            myhostname: s("myhostname")?,
            owner_request_special: cfg
                .get_bool("owner_request_special")
                .map_err(|e| e.to_string())?,
            expand_owner_alias: cfg
                .get_bool("expand_owner_alias")
                .map_err(|e| e.to_string())?,
        })
    }

    /// Whether `class` (`alias`, `forward`, `include`) may deliver to
    /// commands (`allow_mail_to_commands`).
    pub fn commands_allowed(&self, class: &str) -> bool {
        self.allow_commands.iter().any(|c| c == class)
    }

    /// Whether `class` may deliver to files (`allow_mail_to_files`).
    pub fn files_allowed(&self, class: &str) -> bool {
        self.allow_files.iter().any(|c| c == class)
    }

    /// Whether deliveries of `kind` (`command`, `file`, `forward`) get a
    /// `Delivered-To:` header (`prepend_delivered_header`; mailbox
    /// deliveries always do).
    pub fn delivered_header(&self, kind: &str) -> bool {
        self.prepend_delivered.iter().any(|c| c == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_postfix_defaults() {
        let cfg = Config::from_text(std::path::Path::new("/nonexistent"), "").unwrap();
        let s = Settings::from_config(&cfg).unwrap();
        assert_eq!(
            s.forward_path,
            "$home/.forward${recipient_delimiter}${extension}, $home/.forward"
        );
        assert_eq!(s.mail_spool_directory, "/var/mail");
        assert_eq!(s.mailbox_size_limit, 51_200_000);
        assert!(s.lock.fcntl && s.lock.dotlock && !s.lock.flock);
        assert!(s.commands_allowed("alias") && s.commands_allowed("forward"));
        assert!(!s.commands_allowed("include"));
        assert!(s.delivered_header("forward"));
        assert_eq!(s.default_privs, "nobody");
    }

    #[test]
    fn mailbox_limit_below_message_limit_is_a_configuration_error() {
        let cfg = |t: &str| Config::from_text(std::path::Path::new("/nonexistent"), t).unwrap();
        let e = Settings::from_config(&cfg("mailbox_size_limit = 1000\n")).unwrap_err();
        assert_eq!(
            e,
            "configuration error: mailbox_size_limit is smaller than message_size_limit"
        );
        let ok = "mailbox_size_limit = 1000\nmessage_size_limit = 1000\n";
        assert!(Settings::from_config(&cfg(ok)).is_ok());
        let ok = "mailbox_size_limit = 0\nmessage_size_limit = 1000000000\n";
        assert!(Settings::from_config(&cfg(ok)).is_ok());
        let ok = "mailbox_size_limit = 10\nmessage_size_limit = 0\n";
        assert!(Settings::from_config(&cfg(ok)).is_ok());
    }
}
