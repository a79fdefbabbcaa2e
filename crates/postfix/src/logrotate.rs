//! NAME
//!   logrotate - `postfix logrotate`: rotate `maillog_file`
//!
//! DESCRIPTION
//!   As Postfix 3.4 and later: the file named by `maillog_file` is renamed
//!   to `$maillog_file.SUFFIX`, where SUFFIX is the current local time
//!   formatted with the strftime(3) format `maillog_file_rotate_suffix`
//!   (default `%Y%m%d-%H%M%S`); a running master gets SIGHUP; one second
//!   later `$maillog_file_compressor` (default `gzip`) is run with the
//!   renamed file as its argument. /dev/* files are not rotated.
//!
//!   Postern has no postlogd: every process writes the file itself. After
//!   the rename, master opens the path again on SIGHUP (and the processes
//!   a reload starts open it fresh); a process that still runs compares
//!   the path with its open file at most once a second when it logs, and
//!   switches to the new file when it can open it (see util's msg(3)).
//!
//! DIAGNOSTICS
//!   postfix-script's texts: `empty 'maillog_file' parameter value -
//!   logfile rotation failed`, `not rotating '/dev/stdout'`, `logfile
//!   '/var/log/postfix.log' rotation failed: REASON`, `usage postfix
//!   logrotate (no arguments)`; all fatal (exit status 1).
use crate::instance::{io_reason, Instance};
use crate::{control, say};
use chrono::format::{Item, StrftimeItems};
use std::process::Command;
use std::time::Duration;

/// How long the compressor waits after the rename (Postfix: 1 second),
/// so that the processes have switched to the new file.
const SETTLE: Duration = Duration::from_secs(1);

/// Format `fmt` (strftime) for the local time now. Errors: an invalid
/// format.
pub fn suffix(fmt: &str, now: chrono::DateTime<chrono::Local>) -> Result<String, String> {
    let items: Vec<Item<'_>> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!("invalid maillog_file_rotate_suffix format: {fmt}"));
    }
    Ok(now.format_with_items(items.into_iter()).to_string())
}

/// `postfix logrotate` (see DESCRIPTION). `args` are the words after
/// the command (there must be none). Returns the exit status 0; errors
/// are fatal.
pub fn run(inst: &Instance, args: &[String]) -> i32 {
    if !args.is_empty() {
        say::fatal("usage postfix logrotate (no arguments)");
    }
    let get = |name: &str| {
        let v = inst.cfg.get(name).unwrap_or_default();
        if v.is_empty() {
            say::fatal(&format!(
                "empty '{name}' parameter value - logfile rotation failed"
            ));
        }
        v
    };
    let file = get("maillog_file");
    let compressor = get("maillog_file_compressor");
    let format = get("maillog_file_rotate_suffix");
    if file.starts_with("/dev/") {
        say::fatal(&format!("not rotating '{file}'"));
    }
    let failed = |why: String| -> ! {
        say::fatal(&format!("logfile '{file}' rotation failed: {why}"));
    };
    let suffix = suffix(&format, chrono::Local::now()).unwrap_or_else(|e| failed(e));
    let rotated = format!("{file}.{suffix}");
    if let Err(e) = std::fs::rename(&file, &rotated) {
        failed(format!(
            "cannot rename {file} to {rotated}: {}",
            io_reason(&e)
        ));
    }
    control::hup_if_running(inst);
    std::thread::sleep(SETTLE);
    match Command::new(&compressor).arg(&rotated).status() {
        Ok(s) if s.success() => 0,
        Ok(s) => failed(format!("{compressor} {rotated}: {s}")),
        Err(e) => failed(format!("cannot execute {compressor}: {}", io_reason(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn suffix_is_strftime() {
        let t = chrono::Local
            .with_ymd_and_hms(2026, 11, 30, 4, 5, 6)
            .single()
            .unwrap();
        assert_eq!(suffix("%Y%m%d-%H%M%S", t).unwrap(), "20261130-040506");
        assert!(suffix("%Q", t).is_err());
    }
}
