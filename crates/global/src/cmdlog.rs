//! NAME
//!   cmdlog - the log of a command-line program (sendmail, postqueue, ...)
//!
//! SYNOPSIS
//!   `cmdlog::init("postsuper");` then, once main.cf is read,
//!   `cmdlog::open(&config);`
//!
//! DESCRIPTION
//!   Postfix's commands report both on standard error (`postsuper:
//!   Deleted: 1 message`) and in the mail log (ident
//!   `$syslog_name/postsuper`). [`init`] starts with standard error only
//!   and ident `postfix/<program>`; [`open`] reads `syslog_name`,
//!   `myhostname` and `maillog_file` (else `syslog_facility`) and opens
//!   the sink. A sink that cannot be opened is a warning, not an error:
//!   the command's own output still reaches the user.
//!
//! SEE ALSO
//!   postconf(5) `syslog_name`, `maillog_file`, `syslog_facility`.
use crate::Config;
use util::msg;

/// Start reporting on standard error as `program: ...`.
pub fn init(program: &str) {
    msg::init(&format!("postfix/{program}"), "localhost");
    msg::log_to_stderr(true);
}

/// Why [`open_sink`] could not open the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkError {
    /// `maillog_file` is not allowed by `maillog_file_prefixes` or cannot
    /// be opened; daemons treat this as fatal.
    File(String),
    /// No syslog daemon could be reached; daemons warn, commands stay quiet.
    Syslog(String),
}

/// Whether `file` starts with one of the `maillog_file_prefixes` (as
/// Postfix checks before it writes a log file anywhere).
pub fn prefix_allowed(file: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| file.starts_with(p.as_str()))
}

/// Set the log ident to `$syslog_name/<program>` and the host name to
/// `myhostname`, then open `maillog_file` (after checking it against
/// `maillog_file_prefixes`) or, when that is empty, syslog with
/// `syslog_facility`. Used by every daemon and command, before chroot.
///
/// Errors: [`SinkError`].
pub fn open_sink(cfg: &Config, program: &str) -> Result<(), SinkError> {
    let name = match cfg.get("syslog_name") {
        Ok(n) if !n.is_empty() => n,
        _ => "postfix".to_string(),
    };
    msg::set_ident(&format!("{name}/{program}"));
    if let Ok(host) = cfg.get("myhostname") {
        msg::set_hostname(&host);
    }
    let file = cfg.get("maillog_file").unwrap_or_default();
    if !file.is_empty() {
        let prefixes = cfg.get_list("maillog_file_prefixes").unwrap_or_default();
        if !prefix_allowed(&file, &prefixes) {
            return Err(SinkError::File(format!(
                "maillog_file value '{file}' does not match any prefix in maillog_file_prefixes"
            )));
        }
        msg::open_file(&file).map_err(|e| SinkError::File(format!("open maillog_file {file}: {e}")))
    } else {
        let facility = cfg.get("syslog_facility").unwrap_or_else(|_| "mail".into());
        msg::open_syslog(&facility).map_err(SinkError::Syslog)
    }
}

/// Open the instance's log for the program named in [`init`]
/// (parameters `syslog_name`, `myhostname`, `maillog_file`,
/// `maillog_file_prefixes`, `syslog_facility`). A log file that cannot be
/// opened is a warning: the command's own output still reaches the user.
/// Then report main.cf's warnings and check the core parameters, as
/// every Postfix program does ([`crate::core_params::report_or_exit`]:
/// a bad `myhostname` is fatal).
pub fn open(cfg: &Config) {
    let program = msg::ident()
        .rsplit('/')
        .next()
        .unwrap_or("postfix")
        .to_string();
    if let Err(SinkError::File(e)) = open_sink(cfg, &program) {
        util::msg_warn!("{e}");
    }
    crate::core_params::report_or_exit(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_matched_at_the_start() {
        let p = vec!["/var".to_string(), "/dev/stdout".to_string()];
        assert!(prefix_allowed("/var/log/postfix.log", &p));
        assert!(prefix_allowed("/dev/stdout", &p));
        assert!(!prefix_allowed("/tmp/maillog", &p));
        assert!(!prefix_allowed("/srv/var/x", &p));
    }
}
