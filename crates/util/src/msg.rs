//! NAME
//!   msg - Postfix-compatible diagnostics and logging
//!
//! DESCRIPTION
//!   Every Postern program logs through this module. A program calls
//!   [`init`] with its ident (`postfix/smtpd`, from `$syslog_name/<service>`),
//!   then opens its sink *before* it chroots: [`open_syslog`]
//!   (facility `syslog_facility`) or [`open_file`] (`maillog_file`, a path;
//!   `/dev/stdout` is allowed). Command-line programs also call
//!   [`log_to_stderr`] so the user sees `postconf: warning: ...`.
//!
//!   File lines have Postfix's form:
//!   `Mon DD HH:MM:SS host postfix/smtpd[pid]: text`, written with one
//!   `write(2)` on an `O_APPEND` descriptor, so lines from many processes
//!   never interleave.
//!
//!   Severities are Postfix's: info (no prefix), `warning:`, `error:`,
//!   `fatal:` (logged, then the process exits with status 1) and `panic:`
//!   (logged, then the process aborts).
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How serious a message is; decides its prefix and what happens next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Normal operation, no prefix.
    Info,
    /// `warning:` – something is wrong but work continues.
    Warning,
    /// `error:` – a request failed.
    Error,
    /// `fatal:` – the process cannot continue; exits with status 1.
    Fatal,
    /// `panic:` – a bug; the process aborts.
    Panic,
}

impl Severity {
    fn prefix(self) -> &'static str {
        match self {
            Severity::Info => "",
            Severity::Warning => "warning: ",
            Severity::Error => "error: ",
            Severity::Fatal => "fatal: ",
            Severity::Panic => "panic: ",
        }
    }
}

enum Sink {
    None,
    File(LogFile),
    Syslog(syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>),
}

/// An open `maillog_file` and what is needed to notice that it was
/// renamed or removed (log rotation) and open the path again.
struct LogFile {
    file: File,
    /// The path to reopen; `None` for /dev/stdout and /dev/stderr.
    path: Option<String>,
    /// When the path was last compared with the open file.
    checked: Instant,
}

/// How often a process compares `maillog_file` with the file it has
/// open (one stat(2) at most this often, and only when it logs).
pub const REOPEN_CHECK: Duration = Duration::from_secs(1);

fn open_append(path: &str) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
}

impl LogFile {
    /// Whether `path` still names the open file (same device and inode).
    fn current(&self, path: &str) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(path), self.file.metadata()) {
            (Ok(p), Ok(f)) => p.dev() == f.dev() && p.ino() == f.ino(),
            _ => false,
        }
    }

    /// Open the path again when it no longer names the open file (or
    /// always, with `force`). A path that cannot be opened (a chrooted or
    /// unprivileged process) keeps the old file.
    fn refresh(&mut self, force: bool) {
        let Some(path) = self.path.clone() else {
            return;
        };
        self.checked = Instant::now();
        if !force && self.current(&path) {
            return;
        }
        if let Ok(f) = open_append(&path) {
            self.file = f;
        }
    }
}

struct State {
    ident: String,
    hostname: String,
    sink: Sink,
    stderr: bool,
    verbose: u32,
}

/// Exit status of a `fatal:` message (1 unless [`set_fatal_status`]).
static FATAL_STATUS: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);

/// Make `fatal:` messages exit with `status` instead of 1 (sendmail and
/// postdrop use `EX_TEMPFAIL`, 75, as Postfix's do).
pub fn set_fatal_status(status: i32) {
    FATAL_STATUS.store(status, std::sync::atomic::Ordering::Relaxed);
}

static STATE: Mutex<State> = Mutex::new(State {
    ident: String::new(),
    hostname: String::new(),
    sink: Sink::None,
    stderr: true,
    verbose: 0,
});

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut guard = match STATE.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(&mut guard)
}

/// Set the ident (`postfix/smtpd`) and the host name written in file lines.
/// Until a sink is opened, messages go to standard error only.
pub fn init(ident: &str, hostname: &str) {
    with_state(|s| {
        s.ident = ident.to_string();
        s.hostname = hostname.to_string();
    });
}

/// Change only the ident, e.g. after `syslog_name` was read from main.cf.
pub fn set_ident(ident: &str) {
    with_state(|s| s.ident = ident.to_string());
}

/// The current ident (`postfix/smtpd`).
pub fn ident() -> String {
    with_state(|s| s.ident.clone())
}

/// Set the host name written in `maillog_file` lines (`myhostname`).
pub fn set_hostname(hostname: &str) {
    with_state(|s| s.hostname = hostname.to_string());
}

/// Also (or no longer) copy every message to standard error as
/// `program: severity: text`, as Postfix's commands do.
pub fn log_to_stderr(on: bool) {
    with_state(|s| s.stderr = on);
}

/// Set the verbosity (`-v` flags); [`verbose`] messages need at least 1.
pub fn set_verbose(level: u32) {
    with_state(|s| s.verbose = level);
}

/// The verbosity set with [`set_verbose`].
pub fn verbose_level() -> u32 {
    with_state(|s| s.verbose)
}

/// Append log lines to `path` (parameter `maillog_file`).
///
/// The file is opened (created with mode 0600 if missing) with `O_APPEND`.
/// Call before chroot. Errors: the file cannot be opened.
///
/// Log rotation: when the process logs and [`REOPEN_CHECK`] has passed
/// since the last look, it compares the path with the file it has open
/// (device and inode) and opens the path again when it was renamed or
/// removed (`postfix logrotate`, logrotate(8) without copytruncate).
/// A process that cannot reach the path (chrooted, or no permission)
/// keeps writing to the old file until it exits; master also reopens
/// on SIGHUP ([`reopen`]).
pub fn open_file(path: &str) -> io::Result<()> {
    let (file, reopen_path) = if path == "/dev/stdout" || path == "/dev/stderr" {
        (OpenOptions::new().append(true).open(path)?, None)
    } else {
        (open_append(path)?, Some(path.to_string()))
    };
    let log = LogFile {
        file,
        path: reopen_path,
        checked: Instant::now(),
    };
    with_state(|s| s.sink = Sink::File(log));
    Ok(())
}

/// Open `maillog_file` again now, whatever it names (master on SIGHUP,
/// after `postfix logrotate`). Without a log file this does nothing; a
/// path that cannot be opened keeps the old file.
pub fn reopen() {
    with_state(|s| {
        if let Sink::File(f) = &mut s.sink {
            f.refresh(true);
        }
    });
}

/// Log through the local syslog daemon with `facility` (parameter
/// `syslog_facility`, e.g. `mail`). Call before chroot: the connection to
/// `/dev/log` is made here. Errors: unknown facility or no syslog socket.
pub fn open_syslog(facility: &str) -> Result<(), String> {
    let fac: syslog::Facility = facility
        .parse()
        .map_err(|_| format!("unknown syslog facility: {facility}"))?;
    let ident = with_state(|s| s.ident.clone());
    let formatter = syslog::Formatter3164 {
        facility: fac,
        hostname: None,
        process: ident,
        pid: std::process::id(),
    };
    let logger = syslog::unix(formatter).map_err(|e| format!("connect to syslog: {e}"))?;
    with_state(|s| s.sink = Sink::Syslog(logger));
    Ok(())
}

/// Stop logging to the file or syslog (messages go to stderr only, if on).
pub fn close_sink() {
    with_state(|s| s.sink = Sink::None);
}

/// Format one `maillog_file` line (without the newline).
pub fn format_file_line(hostname: &str, ident: &str, pid: u32, text: &str) -> String {
    let now = chrono::Local::now();
    format!(
        "{} {} {}[{}]: {}",
        now.format("%b %e %H:%M:%S"),
        hostname,
        ident,
        pid,
        text
    )
}

/// Log `text` at `severity`. Fatal exits with status 1; Panic aborts.
/// Rust's ` (os error N)` suffixes are removed, so system errors read as
/// Postfix's `%m` does (`Permission denied`).
pub fn log(severity: Severity, text: &str) {
    let full = format!(
        "{}{}",
        severity.prefix(),
        crate::strings::strip_os_error(text)
    );
    with_state(|s| {
        let program = s.ident.rsplit('/').next().unwrap_or("postfix").to_string();
        match &mut s.sink {
            Sink::None => {}
            Sink::File(f) => {
                if f.checked.elapsed() >= REOPEN_CHECK {
                    f.refresh(false);
                }
                let line = format_file_line(&s.hostname, &s.ident, std::process::id(), &full);
                let _ = f.file.write_all(format!("{line}\n").as_bytes());
            }
            Sink::Syslog(l) => {
                let _ = match severity {
                    Severity::Info => l.info(&full),
                    Severity::Warning => l.warning(&full),
                    Severity::Error => l.err(&full),
                    Severity::Fatal => l.crit(&full),
                    Severity::Panic => l.alert(&full),
                };
            }
        }
        if s.stderr {
            let _ = writeln!(io::stderr(), "{program}: {full}");
        }
    });
    match severity {
        Severity::Fatal => {
            std::process::exit(FATAL_STATUS.load(std::sync::atomic::Ordering::Relaxed))
        }
        Severity::Panic => std::process::abort(),
        _ => {}
    }
}

/// Log an informational message (`format!` syntax).
#[macro_export]
macro_rules! msg_info { ($($a:tt)*) => { $crate::msg::log($crate::msg::Severity::Info, &format!($($a)*)) } }
/// Log a `warning:` message.
#[macro_export]
macro_rules! msg_warn { ($($a:tt)*) => { $crate::msg::log($crate::msg::Severity::Warning, &format!($($a)*)) } }
/// Log an `error:` message.
#[macro_export]
macro_rules! msg_error { ($($a:tt)*) => { $crate::msg::log($crate::msg::Severity::Error, &format!($($a)*)) } }
/// Log a `fatal:` message and exit with status 1.
#[macro_export]
macro_rules! msg_fatal { ($($a:tt)*) => {{ $crate::msg::log($crate::msg::Severity::Fatal, &format!($($a)*)); unreachable!() }} }
/// Log a `panic:` message and abort.
#[macro_export]
macro_rules! msg_panic { ($($a:tt)*) => {{ $crate::msg::log($crate::msg::Severity::Panic, &format!($($a)*)); unreachable!() }} }
/// Log an informational message only when `-v` was given.
#[macro_export]
macro_rules! msg_verbose { ($($a:tt)*) => { if $crate::msg::verbose_level() > 0 { $crate::msg::log($crate::msg::Severity::Info, &format!($($a)*)) } } }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_line_has_postfix_shape() {
        let line = format_file_line("mx.example", "postfix/smtpd", 42, "connect from x[1.2.3.4]");
        let re_ok = line.ends_with(" mx.example postfix/smtpd[42]: connect from x[1.2.3.4]");
        assert!(re_ok, "{line}");
        // "Nov 30 00:15:38" is 15 characters.
        assert_eq!(&line[15..16], " ");
    }

    /// The sink is process-wide: tests that open one take turns.
    static SINK_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn a_renamed_log_file_is_reopened() {
        let _one = SINK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = std::env::temp_dir().join(format!("msg-reopen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("maillog");
        let p = path.to_str().unwrap();
        open_file(p).unwrap();
        log(Severity::Info, "before");
        std::fs::rename(&path, dir.join("maillog.1")).unwrap();
        // Within REOPEN_CHECK the old file is still used; force the check.
        with_state(|s| {
            if let Sink::File(f) = &mut s.sink {
                f.checked = Instant::now() - REOPEN_CHECK;
            }
        });
        log(Severity::Info, "after");
        close_sink();
        let old = std::fs::read_to_string(dir.join("maillog.1")).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(old.contains("before") && !old.contains("after"), "{old}");
        assert!(new.contains("after") && !new.contains("before"), "{new}");
    }

    #[test]
    fn system_error_text_reads_like_strerror() {
        let _one = SINK_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let dir = std::env::temp_dir().join(format!("msg-test-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let path = dir.join("log");
        open_file(path.to_str().unwrap()).unwrap();
        let e = io::Error::from_raw_os_error(13);
        log(Severity::Warning, &format!("open /x: {e}"));
        close_sink();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            text.ends_with(": warning: open /x: Permission denied\n"),
            "{text}"
        );
    }
}
