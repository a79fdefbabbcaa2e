//! NAME
//!   lock - mailbox locking: fcntl(2) record locks and `.lock` files
//!
//! DESCRIPTION
//!   A UNIX mailbox is shared with mail readers, so local(8) locks it for
//!   the time of one delivery with the methods in
//!   `mailbox_delivery_lock` (default `fcntl, dotlock`; `flock` is also
//!   known):
//!
//!   - `fcntl`: an exclusive POSIX write lock on the whole open file;
//!   - `flock`: an exclusive flock(2) lock on the open file;
//!   - `dotlock`: the file `<mailbox>.lock`, created with `O_EXCL`; a lock
//!     file older than `stale_lock_time` is removed as stale. A lock file
//!     that stays is named in the error (`unable to create lock file
//!     /var/mail/u.lock: File exists`), and so is a stale one that
//!     cannot be removed (`unable to remove stale lock file ...: REASON`).
//!
//!   Each attempt that finds the lock taken is retried after
//!   `deliver_lock_delay`, up to `deliver_lock_attempts` times. The locks
//!   are released when the [`MailboxLock`] is dropped (the dot-lock file
//!   is removed; kernel locks go with the descriptor).
//!
//! DIAGNOSTICS
//!   Errors read like Postfix's: `unable to lock for exclusive access:
//!   Resource temporarily unavailable`, `unable to create lock file
//!   /var/mail/u.lock: Permission denied`.
//!
//! SEE ALSO
//!   postconf(5) `mailbox_delivery_lock`, `deliver_lock_attempts`,
//!   `deliver_lock_delay`, `stale_lock_time`.
use nix::fcntl::{fcntl, FcntlArg};
use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The locking methods and retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockPolicy {
    /// Take an fcntl(2) lock.
    pub fcntl: bool,
    /// Take an flock(2) lock.
    pub flock: bool,
    /// Create `<file>.lock`.
    pub dotlock: bool,
    /// Attempts before giving up (`deliver_lock_attempts`).
    pub attempts: u32,
    /// Pause between attempts (`deliver_lock_delay`).
    pub delay: Duration,
    /// Age after which a `.lock` file is removed (`stale_lock_time`).
    pub stale: Duration,
}

impl Default for LockPolicy {
    fn default() -> Self {
        LockPolicy {
            fcntl: true,
            flock: false,
            dotlock: true,
            attempts: 20,
            delay: Duration::from_secs(1),
            stale: Duration::from_secs(500),
        }
    }
}

impl LockPolicy {
    /// Set the methods from a `mailbox_delivery_lock` value. Errors: an
    /// unknown method name.
    pub fn with_methods(mut self, value: &[String]) -> Result<LockPolicy, String> {
        self.fcntl = false;
        self.flock = false;
        self.dotlock = false;
        for m in value {
            match m.as_str() {
                "fcntl" => self.fcntl = true,
                "flock" => self.flock = true,
                "dotlock" => self.dotlock = true,
                other => return Err(format!("unknown mailbox_delivery_lock method: {other}")),
            }
        }
        Ok(self)
    }
}

/// Locks held on one mailbox; released on drop.
#[derive(Debug)]
pub struct MailboxLock {
    dotlock: Option<PathBuf>,
}

impl Drop for MailboxLock {
    fn drop(&mut self) {
        if let Some(p) = self.dotlock.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Try `f` up to `deliver_lock_attempts` times; `busy` is the error
/// when the lock stayed taken.
fn retry<T>(
    policy: &LockPolicy,
    busy: &str,
    mut f: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    for attempt in 0..policy.attempts.max(1) {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if attempt + 1 < policy.attempts {
            std::thread::sleep(policy.delay);
        }
    }
    Err(busy.to_string())
}

/// Create `<path>.lock` (mode 0600, exclusive), removing a stale one.
/// Returns `None` when someone else holds it. Errors: any other failure.
fn try_dotlock(lock: &Path, stale: Duration) -> Result<Option<PathBuf>, String> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(lock)
    {
        Ok(_) => Ok(Some(lock.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let old = std::fs::metadata(lock)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > stale);
            if old {
                util::msg_warn!("{}: removing stale lock file", lock.display());
                match std::fs::remove_file(lock) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(format!(
                            "unable to remove stale lock file {}: {}",
                            lock.display(),
                            util::strings::strip_os_error(&e.to_string())
                        ))
                    }
                }
            }
            Ok(None)
        }
        Err(e) => Err(format!(
            "unable to create lock file {}: {e}",
            lock.display()
        )),
    }
}

fn try_kernel_lock(file: &File, policy: &LockPolicy) -> Result<bool, String> {
    if policy.fcntl {
        let fl = libc::flock {
            l_type: libc::F_WRLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 0,
            l_len: 0,
            l_pid: 0,
        };
        match fcntl(file.as_fd().as_raw_fd_compat(), FcntlArg::F_SETLK(&fl)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => return Ok(false),
            Err(e) => return Err(format!("unable to lock for exclusive access: {}", e.desc())),
        }
    }
    if policy.flock {
        // reason: nix's Flock wrapper takes ownership of the File, but the
        // caller keeps writing through its own handle.
        #[allow(deprecated)]
        match nix::fcntl::flock(
            file.as_fd().as_raw_fd_compat(),
            nix::fcntl::FlockArg::LockExclusiveNonblock,
        ) {
            Ok(()) => {}
            Err(nix::errno::Errno::EWOULDBLOCK) => return Ok(false),
            Err(e) => return Err(format!("unable to lock for exclusive access: {}", e.desc())),
        }
    }
    Ok(true)
}

/// Small helper so the nix 0.29 raw-fd APIs read cleanly.
trait RawCompat {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd;
}

impl RawCompat for std::os::fd::BorrowedFd<'_> {
    fn as_raw_fd_compat(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.as_raw_fd()
    }
}

/// Lock the mailbox `path`, open as `file`, per `policy`: the dot-lock
/// first (it guards the file's creation), then the kernel locks.
/// Errors: the lock stayed taken for every attempt, or a lock could not
/// be made at all (text for the bounce/defer reason).
pub fn lock_mailbox(path: &Path, file: &File, policy: &LockPolicy) -> Result<MailboxLock, String> {
    let mut held = MailboxLock { dotlock: None };
    if policy.dotlock {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        // As Postfix's dot_lockfile: the lock file that stayed is named.
        let busy = format!("unable to create lock file {}: File exists", lock.display());
        held.dotlock = Some(retry(policy, &busy, || try_dotlock(&lock, policy.stale))?);
    }
    let busy = "unable to lock for exclusive access: Resource temporarily unavailable";
    retry(policy, busy, || {
        Ok(try_kernel_lock(file, policy)?.then_some(()))
    })?;
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> LockPolicy {
        LockPolicy {
            attempts: 2,
            delay: Duration::from_millis(10),
            ..LockPolicy::default()
        }
    }

    #[test]
    fn dotlock_is_exclusive_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("u");
        let f = File::create(&mbox).unwrap();
        let policy = quick().with_methods(&["dotlock".into()]).unwrap();
        let held = lock_mailbox(&mbox, &f, &policy).unwrap();
        assert!(dir.path().join("u.lock").exists());
        let e = lock_mailbox(&mbox, &f, &policy).unwrap_err();
        let want = format!(
            "unable to create lock file {}: File exists",
            dir.path().join("u.lock").display()
        );
        assert_eq!(e, want);
        drop(held);
        assert!(!dir.path().join("u.lock").exists());
        lock_mailbox(&mbox, &f, &policy).unwrap();
    }

    #[test]
    fn stale_dotlock_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("u");
        let f = File::create(&mbox).unwrap();
        File::create(dir.path().join("u.lock")).unwrap();
        let policy = LockPolicy {
            stale: Duration::ZERO,
            ..quick()
        };
        std::thread::sleep(Duration::from_millis(20));
        lock_mailbox(&mbox, &f, &policy).unwrap();
    }

    #[test]
    fn a_stale_lock_that_cannot_be_removed_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("u");
        let f = File::create(&mbox).unwrap();
        // Something that remove_file cannot remove, even for root.
        std::fs::create_dir(dir.path().join("u.lock")).unwrap();
        let policy = LockPolicy {
            stale: Duration::ZERO,
            ..quick()
        };
        std::thread::sleep(Duration::from_millis(20));
        let e = lock_mailbox(&mbox, &f, &policy).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "unable to remove stale lock file {}: ",
                dir.path().join("u.lock").display()
            )),
            "{e}"
        );
        assert!(!e.contains("os error"), "{e}");
    }

    #[test]
    fn fcntl_lock_is_taken_and_methods_parse() {
        let dir = tempfile::tempdir().unwrap();
        let mbox = dir.path().join("u");
        let f = File::create(&mbox).unwrap();
        lock_mailbox(&mbox, &f, &quick()).unwrap();
        assert!(quick().with_methods(&["bogus".into()]).is_err());
        let p = quick()
            .with_methods(&["fcntl".into(), "flock".into()])
            .unwrap();
        assert!(p.fcntl && p.flock && !p.dotlock);
    }
}
