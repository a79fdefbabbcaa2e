//! NAME
//!   pidfile - one master per instance
//!
//! DESCRIPTION
//!   master keeps `$queue_directory/pid/master.pid` open and exclusively
//!   locked (flock(2), Postfix's internal lock style on Linux) for its
//!   whole life, with its process ID written in it (right-aligned, as
//!   Postfix writes it). A second master of the same instance fails to get
//!   the lock and stops with Postfix's message; `master -t` uses the same
//!   test. The file is not removed on exit: the lock, not the file, says
//!   whether master runs.
//!
//! DIAGNOSTICS
//!   `open lock file pid/master.pid: unable to set exclusive lock:
//!   Resource temporarily unavailable`.
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The path of the lock file relative to `queue_directory`.
pub const PID_FILE: &str = "pid/master.pid";

/// The held lock; released when master exits.
#[derive(Debug)]
pub struct PidLock {
    file: Flock<File>,
}

/// Open (creating, mode 0644) and lock `queue_dir/pid/master.pid`.
/// Errors: `open lock file pid/master.pid: reason`.
pub fn lock(queue_dir: &Path) -> Result<PidLock, String> {
    let path = queue_dir.join(PID_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(|e| format!("open lock file {PID_FILE}: cannot open file: {e}"))?;
    let file = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        format!(
            "open lock file {PID_FILE}: unable to set exclusive lock: {}",
            crate::listen::strerror(e)
        )
    })?;
    Ok(PidLock { file })
}

impl PidLock {
    /// Replace the file's contents with `pid`. Errors: write failures.
    pub fn write_pid(&mut self, pid: u32) -> std::io::Result<()> {
        let f: &mut File = &mut self.file;
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        f.write_all(format!("{pid:>32}\n").as_bytes())?;
        f.sync_all()
    }
}

/// `master -t`: `Ok` when no master of the instance at `queue_dir` runs
/// (no lock file, or it is not locked); else the lock error.
pub fn test(queue_dir: &Path) -> Result<(), String> {
    let path = queue_dir.join(PID_FILE);
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
        return Ok(());
    };
    Flock::lock(file, FlockArg::LockExclusiveNonblock)
        .map(drop)
        .map_err(|(_, e)| {
            format!(
                "open lock file {PID_FILE}: unable to set exclusive lock: {}",
                crate::listen::strerror(e)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pid")).unwrap();
        assert!(test(dir.path()).is_ok());
        let mut first = lock(dir.path()).unwrap();
        first.write_pid(4242).unwrap();
        let text = std::fs::read_to_string(dir.path().join(PID_FILE)).unwrap();
        assert_eq!(text.trim(), "4242");
        assert_eq!(
            lock(dir.path()).unwrap_err(),
            "open lock file pid/master.pid: unable to set exclusive lock: Resource temporarily unavailable"
        );
        assert!(test(dir.path())
            .unwrap_err()
            .contains("unable to set exclusive lock"));
        drop(first);
        assert!(test(dir.path()).is_ok());
    }
}
