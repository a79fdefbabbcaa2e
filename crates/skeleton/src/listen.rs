//! NAME
//!   listen - the listen descriptors a service program inherits
//!
//! DESCRIPTION
//!   master opens every listener and hands a child `-s count` of them from
//!   fd 6 ([`global::master_proto::LISTEN_FD`]); `-t type` tells what they
//!   are. [`Listener`] wraps one, made non-blocking: several children of
//!   one service poll the same listener, and those that lose the race for
//!   a connection see `WouldBlock` and wait again.
//!
//!   - inet: a TCP listener; `accept` yields a TCP client.
//!   - unix: a UNIX-domain stream listener.
//!   - pass: a UNIX-domain stream listener over which a client (postscreen)
//!     passes an already connected socket with `SCM_RIGHTS`; `accept`
//!     yields that socket.
//!   - fifo: a named pipe opened read-write; trigger servers read it.
//!   - unix-dgram: a bound datagram socket; trigger servers read it.
use crate::stream::ClientStream;
use global::master_cf::ServiceType;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::fs::File;
use std::io::{self, IoSliceMut, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

/// One inherited listener.
#[derive(Debug)]
pub enum Listener {
    /// `inet`.
    Tcp(TcpListener),
    /// `unix`.
    Unix(UnixListener),
    /// `pass`.
    Pass(UnixListener),
    /// `fifo`.
    Fifo(File),
    /// `unix-dgram`.
    Dgram(UnixDatagram),
}

fn nonblocking(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}

impl Listener {
    /// Wrap descriptor `fd` of service type `kind`, and make it
    /// non-blocking. Errors: `fcntl` failed.
    pub fn adopt(kind: ServiceType, fd: OwnedFd) -> io::Result<Listener> {
        nonblocking(&fd)?;
        Ok(match kind {
            ServiceType::Inet => Listener::Tcp(TcpListener::from(fd)),
            ServiceType::Unix => Listener::Unix(UnixListener::from(fd)),
            ServiceType::Pass => Listener::Pass(UnixListener::from(fd)),
            ServiceType::Fifo => Listener::Fifo(File::from(fd)),
            ServiceType::UnixDgram => Listener::Dgram(UnixDatagram::from(fd)),
        })
    }

    /// The descriptor, for poll(2).
    pub fn as_poll_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) | Listener::Pass(l) => l.as_fd(),
            Listener::Fifo(f) => f.as_fd(),
            Listener::Dgram(d) => d.as_fd(),
        }
    }

    /// Accept one client of a stream listener, as a blocking stream.
    ///
    /// Returns `Ok(None)` when another process took the connection first
    /// (`WouldBlock`, `ECONNABORTED`). Errors: accept(2) failed, a pass
    /// connection carried no descriptor, or the listener is a FIFO or
    /// datagram socket (`Unsupported`).
    pub fn accept(&self) -> io::Result<Option<ClientStream>> {
        let res = match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nonblocking(false);
                ClientStream::Tcp(s)
            }),
            Listener::Unix(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nonblocking(false);
                ClientStream::Unix(s)
            }),
            Listener::Pass(l) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                receive_passed(&s).map(ClientStream::Tcp)
            }),
            Listener::Fifo(_) | Listener::Dgram(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not a stream listener",
                ))
            }
        };
        match res {
            Ok(c) => Ok(Some(c)),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.raw_os_error() == Some(libc_econnaborted()) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// [`Listener::accept`], logging a failure as a warning (`accept
    /// connection: ...`); `None` when no client was taken.
    pub fn accept_or_warn(&self) -> Option<ClientStream> {
        match self.accept() {
            Ok(c) => c,
            Err(e) => {
                util::msg_warn!("accept connection: {e}");
                None
            }
        }
    }

    /// Read what is waiting on a FIFO or datagram socket (up to `buf.len()`
    /// bytes). Returns `Ok(0)` when nothing is waiting. Errors: read(2)
    /// failed, or the listener is a stream listener (`Unsupported`).
    pub fn read_trigger(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let res = match self {
            Listener::Fifo(f) => f.read(buf),
            Listener::Dgram(d) => d.recv(buf),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "not a trigger listener",
                ))
            }
        };
        match res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            other => other,
        }
    }
}

fn libc_econnaborted() -> i32 {
    nix::errno::Errno::ECONNABORTED as i32
}

/// Receive one descriptor sent with `SCM_RIGHTS` over `s` (the pass
/// service protocol: one data byte carrying the descriptor).
fn receive_passed(s: &UnixStream) -> io::Result<TcpStream> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        s.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut owned = Vec::new();
            for fd in fds {
                owned.push(sys::take_fd(fd)?);
            }
            if let Some(first) = owned.into_iter().next() {
                return Ok(TcpStream::from(first));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "pass connection without a descriptor",
    ))
}
