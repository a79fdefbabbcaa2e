//! NAME
//!   sys - the system calls that need `unsafe`
//!
//! DESCRIPTION
//!   Every other Postern crate is `#![forbid(unsafe_code)]`. The few
//!   operations that the safe wrappers in `nix` and `std` cannot express
//!   live here, each small and commented:
//!
//!   - [`take_fd`]: adopt a descriptor inherited from the parent (master
//!     hands a service its status pipe on fd 5 and listeners from fd 6).
//!   - [`fork`]: fork a single-threaded process (master, `postfix start`).
//!   - [`place_fds`]: in a child about to `exec`, move descriptors to fixed
//!     numbers (Postfix's master/child contract).
pub mod lmdb;
#[cfg(feature = "tls")]
pub mod tls;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

pub use nix::unistd::ForkResult;

/// Adopt descriptor `fd` that this process inherited.
///
/// Returns the descriptor as an [`OwnedFd`] (closed on drop) and sets
/// close-on-exec on it. Errors: `EBADF` when `fd` is not open. The caller
/// must not adopt the same number twice.
pub fn take_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD on any integer is harmless; it only reports EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is open (checked above) and, by the caller's contract, is
    // not owned by any other object in this process.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain fcntl on a descriptor we own.
    unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
    Ok(owned)
}

/// Whether descriptor `fd` is open in this process.
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD on any integer is harmless.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// `fork(2)`. Only call while the process has a single thread (master and
/// the `postfix` command are single-threaded). Errors: `EAGAIN`/`ENOMEM`.
pub fn fork() -> nix::Result<ForkResult> {
    // SAFETY: callers are single-threaded, so the child may run any code.
    unsafe { nix::unistd::fork() }
}

/// Arrange for `cmd`'s child to have each `(source, target)` descriptor
/// pair duplicated to `target` just before `exec`, with close-on-exec
/// cleared on the targets. Sources are first moved above every target so
/// that a source whose number equals another pair's target is not
/// clobbered. The sources must stay open until `spawn` returns.
pub fn place_fds(cmd: &mut Command, pairs: Vec<(RawFd, RawFd)>) {
    let top = pairs.iter().map(|(s, t)| (*s).max(*t)).max().unwrap_or(0) + 1;
    // SAFETY: the closure runs in the forked child before exec and uses only
    // async-signal-safe calls (fcntl, dup2, close) and no allocation.
    unsafe {
        cmd.pre_exec(move || {
            let mut temps = [0 as RawFd; 64];
            if pairs.len() > temps.len() {
                return Err(io::Error::from_raw_os_error(libc::EMFILE));
            }
            for (i, (src, _)) in pairs.iter().enumerate() {
                let t = libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, top);
                if t < 0 {
                    return Err(io::Error::last_os_error());
                }
                temps[i] = t;
            }
            for (i, (_, dst)) in pairs.iter().enumerate() {
                if libc::dup2(temps[i], *dst) < 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::close(temps[i]);
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_fd_is_refused() {
        assert!(take_fd(987_654).is_err());
        assert!(!fd_is_open(987_654));
    }

    #[test]
    fn fds_land_on_their_numbers() {
        use std::os::fd::AsRawFd;
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo hi >&7");
        place_fds(&mut cmd, vec![(w.as_raw_fd(), 7)]);
        let status = cmd.status().unwrap();
        drop(w);
        assert!(status.success());
        let mut s = String::new();
        use std::io::Read;
        std::fs::File::from(r).read_to_string(&mut s).unwrap();
        assert_eq!(s, "hi\n");
    }
}
