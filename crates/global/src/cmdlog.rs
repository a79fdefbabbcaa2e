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

/// Open the instance's log for the program named in [`init`]
/// (parameters `syslog_name`, `myhostname`, `maillog_file`,
/// `syslog_facility`).
pub fn open(cfg: &Config) {
    let program = msg::ident()
        .rsplit('/')
        .next()
        .unwrap_or("postfix")
        .to_string();
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
        if let Err(e) = msg::open_file(&file) {
            util::msg_warn!("open {file}: {e}");
        }
    } else {
        let facility = cfg.get("syslog_facility").unwrap_or_else(|_| "mail".into());
        let _ = msg::open_syslog(&facility);
    }
}
