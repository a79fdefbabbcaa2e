//! NAME
//!   status - a service program's reports to master
//!
//! DESCRIPTION
//!   master gives each child the write end of its service's status pipe on
//!   fd 5 ([`global::master_proto::STATUS_FD`]). The child writes a
//!   [`StatusRecord`] with `BUSY` when it takes a client and `AVAIL` when it
//!   is ready for the next one, so master forks another process only when
//!   no child is available.
//!
//!   How a child learns that master went away (stopped, or reloaded and
//!   retired this generation of children): master holds the only read end
//!   of the pipe. When it closes it, poll(2) on the write end reports
//!   `POLLERR` (Linux `pipe_poll` sets it on a writer without readers), and
//!   a write fails with `EPIPE` (SIGPIPE is ignored). Both are reliable and
//!   immediate, unlike watching `getppid()`. The frameworks poll fd 5 while
//!   idle and check every write, and exit when either says master is gone.
//!
//!   In stand-alone mode there is no status pipe; reports are no-ops.
use global::master_proto::{Status, StatusRecord, STATUS_FD};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The status channel to master (fd 5), or nothing in stand-alone mode.
#[derive(Debug)]
pub struct StatusChannel {
    fd: Option<OwnedFd>,
    generation: u32,
}

impl StatusChannel {
    /// Adopt fd 5. `generation` is master's `GENERATION` (hexadecimal in
    /// the environment). Errors: fd 5 is not open.
    pub fn inherit(generation: u32) -> io::Result<StatusChannel> {
        Ok(StatusChannel {
            fd: Some(sys::take_fd(STATUS_FD)?),
            generation,
        })
    }

    /// A channel that reports to nobody (stand-alone mode, tests).
    pub fn none() -> StatusChannel {
        StatusChannel {
            fd: None,
            generation: 0,
        }
    }

    /// The descriptor to poll for master's going away.
    pub fn as_poll_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }

    /// Report `status` for this process. Errors: master went away
    /// (`EPIPE`) or the write was short.
    pub fn report(&self, status: Status) -> io::Result<()> {
        let Some(fd) = &self.fd else { return Ok(()) };
        let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let rec = StatusRecord {
            pid,
            generation: self.generation,
            status,
        }
        .encode();
        let n = nix::unistd::write(fd, &rec).map_err(io::Error::from)?;
        if n != rec.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short status write",
            ));
        }
        Ok(())
    }

    /// Whether master has closed its end (checked without waiting).
    pub fn master_gone(&self) -> bool {
        let Some(fd) = &self.fd else { return false };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 => is_gone(fds[0].revents()),
            _ => false,
        }
    }
}

/// Whether poll's `revents` on the status descriptor mean master is gone.
pub fn is_gone(revents: Option<PollFlags>) -> bool {
    revents.is_some_and(|r| {
        r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_read_end_is_seen() {
        let (r, w) = nix::unistd::pipe().unwrap();
        let ch = StatusChannel {
            fd: Some(w),
            generation: 3,
        };
        assert!(!ch.master_gone());
        ch.report(Status::Busy).unwrap();
        let mut buf = [0u8; global::master_proto::STATUS_RECORD_LEN];
        nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&r), &mut buf).unwrap();
        let rec = StatusRecord::decode(&buf).unwrap();
        assert_eq!(rec.status, Status::Busy);
        assert_eq!(rec.generation, 3);
        assert_eq!(rec.pid as u32, std::process::id());
        drop(r);
        assert!(ch.master_gone());
        assert!(ch.report(Status::Avail).is_err());
    }
}
