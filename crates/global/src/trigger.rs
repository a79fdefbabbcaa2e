//! NAME
//!   trigger - wake a trigger service (qmgr, pickup)
//!
//! SYNOPSIS
//!   `trigger::send(Path::new("public/qmgr"), b"I")`
//!
//! DESCRIPTION
//!   Trigger services (Postfix's `trigger_server`: pickup, qmgr) sleep
//!   until a client writes a few bytes to their FIFO or UNIX socket under
//!   `queue_directory` (`public/qmgr`, `public/pickup`). [`send`] opens the
//!   endpoint without blocking (a FIFO with `O_NONBLOCK`, a socket with a
//!   non-blocking connect), writes the request bytes, and closes it. A
//!   full FIFO or a full listen backlog (the service is down or busy and
//!   master holds its socket) counts as delivered: a wake-up is already
//!   pending, and the sender — cleanup after a `250`, postdrop — must
//!   never wait for the service.
//!
//!   qmgr's request bytes (doc/PIPELINE.md): [`QMGR_SCAN_INCOMING`] `I`,
//!   [`QMGR_SCAN_DEFERRED`] `D`, [`QMGR_FLUSH_ALL`] `A` (deferred mail,
//!   ignoring retry times), [`QMGR_FORGET_DEAD`] `F`, [`WAKEUP`] `W`.
//!
//! DIAGNOSTICS
//!   A failure is returned for the caller to log as a warning; a missed
//!   trigger is never fatal, since every trigger service also wakes up on
//!   its master.cf timer.
use nix::errno::Errno;
use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// qmgr: scan the incoming queue.
pub const QMGR_SCAN_INCOMING: u8 = b'I';
/// qmgr: scan the deferred queue (messages whose retry time has come).
pub const QMGR_SCAN_DEFERRED: u8 = b'D';
/// qmgr: scan the deferred queue ignoring retry times (`postqueue -f`).
pub const QMGR_FLUSH_ALL: u8 = b'A';
/// qmgr: forget which destinations were found dead.
pub const QMGR_FORGET_DEAD: u8 = b'F';
/// Any trigger service: plain wake-up.
pub const WAKEUP: u8 = b'W';
/// [`WAKEUP`] as a request to pass to [`send`].
pub const WAKEUP_REQUEST: &[u8] = b"W";

/// Write `request` to the trigger endpoint `path` (a FIFO or a UNIX
/// stream socket; relative paths are resolved against the current
/// directory, which is `queue_directory` inside daemons).
///
/// Errors: the endpoint does not exist, nobody listens, or the write
/// fails (a full FIFO or listen backlog counts as success: a wake-up is
/// already pending). Never blocks.
pub fn send(path: &Path, request: &[u8]) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.file_type().is_fifo() {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(path)?;
        match f.write(request) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    } else {
        let fd = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        match connect(fd.as_raw_fd(), &UnixAddr::new(path)?) {
            Ok(()) => {}
            // The backlog is full: the service has wake-ups waiting.
            Err(Errno::EAGAIN) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let mut s = UnixStream::from(fd);
        match s.write(request) {
            Ok(n) if n == request.len() => Ok(()),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short trigger write",
            )),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;

    #[test]
    fn socket_trigger_delivers_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("qmgr");
        let l = UnixListener::bind(&p).unwrap();
        send(&p, b"I").unwrap();
        let (mut c, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        c.read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"I");
    }

    #[test]
    fn fifo_trigger_without_reader_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pickup");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o622)).unwrap();
        // No reader: O_NONBLOCK open of a FIFO for writing fails with ENXIO.
        assert!(send(&p, b"W").is_err());
        assert!(send(&dir.path().join("absent"), b"W").is_err());
    }

    #[test]
    fn socket_trigger_never_waits_for_a_service_that_does_not_accept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("qmgr");
        // Nobody accepts: once the backlog is full, connect would block.
        let _l = UnixListener::bind(&p).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..1000 {
            send(&p, b"I").unwrap();
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn socket_without_listener_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("qmgr");
        drop(UnixListener::bind(&p).unwrap());
        assert!(send(&p, b"I").is_err());
    }
}
