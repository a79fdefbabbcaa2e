//! NAME
//!   say - the postfix command's diagnostics
//!
//! DESCRIPTION
//!   Postfix's postfix(1) has two voices. The command itself reports
//!   configuration problems as `postfix: fatal: ...` (log ident
//!   `$syslog_name/postfix`). The administrative work (start, stop, ...)
//!   is done by postfix-script, which reports as
//!   `postfix/postfix-script: ...` both on standard error and in the log
//!   (ident `$syslog_name/postfix-script`). Postern keeps both voices.
//!
//!   Until [`open_log`] has read `syslog_name` and `maillog_file` from
//!   main.cf, messages go to standard error only.
use global::Config;
use util::msg::{self, Severity};

/// The log ident of the command's own messages before main.cf is read.
const DEFAULT_SYSLOG_NAME: &str = "postfix";

/// Set up standard-error reporting as `postfix: ...`.
pub fn init() {
    msg::init(
        &format!("{DEFAULT_SYSLOG_NAME}/postfix"),
        &global::host::default_myhostname(),
    );
    msg::log_to_stderr(true);
}

/// Open the log sink of the instance: `maillog_file` when set, else
/// syslog with `syslog_facility` (silently none when there is no syslog
/// daemon). The ident becomes `$syslog_name/postfix`.
pub fn open_log(cfg: &Config) {
    if let Err(global::cmdlog::SinkError::File(e)) = global::cmdlog::open_sink(cfg, "postfix") {
        util::msg_warn!("{e}");
    }
}

/// Report `text` in postfix-script's voice: standard error shows
/// `postfix/postfix-script: [severity: ]text`, the log gets the same line
/// under ident `$syslog_name/postfix-script`. A `Fatal` message exits
/// with status 1.
pub fn script(severity: Severity, text: &str) {
    let own = msg::ident();
    let base = own
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or_else(|| DEFAULT_SYSLOG_NAME.into());
    let ident = format!("{base}/postfix-script");
    let prefix = match severity {
        Severity::Info => "",
        Severity::Warning => "warning: ",
        Severity::Error => "error: ",
        Severity::Fatal => "fatal: ",
        Severity::Panic => "panic: ",
    };
    eprintln!("{ident}: {prefix}{text}");
    msg::set_ident(&ident);
    msg::log_to_stderr(false);
    msg::log(severity, text);
    msg::log_to_stderr(true);
    msg::set_ident(&own);
}

/// postfix-script's informational message.
pub fn info(text: &str) {
    script(Severity::Info, text);
}

/// postfix-script's warning.
pub fn warn(text: &str) {
    script(Severity::Warning, text);
}

/// postfix-script's fatal error: report and exit with status 1.
pub fn fatal(text: &str) -> ! {
    script(Severity::Fatal, text);
    std::process::exit(1)
}
