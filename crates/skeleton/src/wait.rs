//! NAME
//!   wait - the idle wait shared by the frameworks
//!
//! DESCRIPTION
//!   [`wait_ready`] polls the listeners, any extra descriptors (a
//!   multi-server's clients) and the status pipe, and decides what an idle
//!   service process does next: serve a ready descriptor, or exit because
//!   master went away or `max_idle` passed without a client (Postfix logs
//!   both only in verbose mode and exits with status 0).
use crate::listen::Listener;
use crate::status::{is_gone, StatusChannel};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::BorrowedFd;
use std::time::Duration;
use util::{msg_fatal, msg_verbose};

/// What is ready after [`wait_ready`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// Indexes of listeners with a pending client or trigger.
    pub listeners: Vec<usize>,
    /// Indexes of extra descriptors with input (or hang-up).
    pub extra: Vec<usize>,
}

fn poll_timeout(t: Option<Duration>) -> PollTimeout {
    match t {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
    }
}

/// Wait until a listener or extra descriptor is readable. `listen` =
/// false leaves the listeners out (a multi-server past `max_use`).
/// `idle` is the idle limit (`None` = none). Exits the process (status
/// 0) when master is gone or the idle limit passes; fatal on poll errors.
pub fn wait_ready(
    listeners: &[Listener],
    listen: bool,
    extra: &[BorrowedFd<'_>],
    status: &StatusChannel,
    idle: Option<Duration>,
) -> Ready {
    loop {
        let mut fds: Vec<PollFd<'_>> = Vec::new();
        if listen {
            fds.extend(
                listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_poll_fd(), PollFlags::POLLIN)),
            );
        }
        let nl = fds.len();
        fds.extend(extra.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)));
        let status_at = fds.len();
        if let Some(fd) = status.as_poll_fd() {
            fds.push(PollFd::new(fd, PollFlags::empty()));
        }
        match poll(&mut fds, poll_timeout(idle)) {
            Err(Errno::EINTR) => continue,
            Err(e) => msg_fatal!("poll: {e}"),
            Ok(0) => {
                msg_verbose!("idle timeout -- exiting");
                std::process::exit(0);
            }
            Ok(_) => {}
        }
        if status_at < fds.len() && is_gone(fds[status_at].revents()) {
            msg_verbose!("master disconnect -- exiting");
            std::process::exit(0);
        }
        let hit = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
        let ready = Ready {
            listeners: (0..nl).filter(|&i| hit(&fds[i])).collect(),
            extra: (nl..status_at)
                .filter(|&i| hit(&fds[i]))
                .map(|i| i - nl)
                .collect(),
        };
        if !ready.listeners.is_empty() || !ready.extra.is_empty() {
            return ready;
        }
    }
}

/// Report to master, exiting quietly if it went away (Postfix's
/// skeletons treat a failed status write as master's disconnect).
pub fn report_or_exit(status: &StatusChannel, s: global::master_proto::Status) {
    if status.report(s).is_err() {
        msg_verbose!("master disconnect -- exiting");
        std::process::exit(0);
    }
}
