//! NAME
//!   proto - the scache wire format
//!
//! DESCRIPTION
//!   Each message (request or reply) is one marker byte sent with
//!   sendmsg(2), carrying a descriptor as `SCM_RIGHTS` when the message
//!   has one, followed by one attribute list (`global::attr`). Sending the
//!   descriptor first means the receiver takes it with recvmsg(2) before
//!   any buffered reader touches the stream.
//!
//!   Requests (attribute `request`):
//!
//!   - `save_endp`: `ttl` (seconds), `label`, `prop`; a descriptor.
//!     Reply `status=0`.
//!   - `find_endp`: `label`. Reply `status=0`, `prop` and a descriptor,
//!     or `status=1` (nothing cached).
//!   - `save_dest`: `ttl`, `label`, `prop`, `endp_label`. Reply `status=0`.
//!   - `find_dest`: `label`. Reply `status=0`, `prop`, `endp_prop` and a
//!     descriptor, or `status=1`.
//!
//!   An unknown request or a save without descriptor gets `status=-1`.
//!
//! SEE ALSO
//!   Postfix scache_clnt(3), scache(8).
use global::attr::{AttrReader, AttrWriter, Attrs};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// `save_endp`.
pub const SAVE_ENDP: &str = "save_endp";
/// `find_endp`.
pub const FIND_ENDP: &str = "find_endp";
/// `save_dest`.
pub const SAVE_DEST: &str = "save_dest";
/// `find_dest`.
pub const FIND_DEST: &str = "find_dest";

/// Send the marker byte on socket `sock`, with `fd` attached when given.
/// Errors: the socket's.
pub fn send_marker(sock: BorrowedFd<'_>, fd: Option<BorrowedFd<'_>>) -> io::Result<()> {
    let byte = [b'M'];
    let iov = [IoSlice::new(&byte)];
    let raw: [RawFd; 1] = [fd.map_or(-1, |f| f.as_raw_fd())];
    let cmsgs_with = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if fd.is_some() { &cmsgs_with } else { &[] };
    loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, cmsgs, MsgFlags::empty(), None) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "marker not sent")),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receive the marker byte from `sock`, and the descriptor that came
/// with it, if any. Errors: end of file (`UnexpectedEof`), the socket's.
pub fn recv_marker(sock: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = loop {
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => break m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    if msg.bytes == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    let mut out = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // Adopt every descriptor so none leaks; keep the first.
                let owned = sys::take_fd(fd)?;
                if out.is_none() {
                    out = Some(owned);
                }
            }
        }
    }
    Ok(out)
}

/// Send one message: marker (with `fd`) then `attrs`.
pub fn send<S: Write + AsFdLike>(
    s: &mut S,
    attrs: &Attrs,
    fd: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    send_marker(s.fd_like(), fd)?;
    AttrWriter::new(&mut *s)
        .write(attrs)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Receive one message: marker (and descriptor) then the attribute list.
/// `Ok(None)` when the peer closed cleanly before a message.
pub fn recv<S: Read + AsFdLike>(s: &mut S) -> io::Result<Option<(Attrs, Option<OwnedFd>)>> {
    let fd = match recv_marker(s.fd_like()) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    match AttrReader::new(&mut *s).read() {
        Ok(Some(a)) => Ok(Some((a, fd))),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "marker without attributes",
        )),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// Streams whose descriptor the marker travels on.
pub trait AsFdLike {
    /// The socket.
    fn fd_like(&self) -> BorrowedFd<'_>;
}

impl AsFdLike for std::os::unix::net::UnixStream {
    fn fd_like(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

impl AsFdLike for skeleton::ClientStream {
    fn fd_like(&self) -> BorrowedFd<'_> {
        self.as_poll_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn descriptor_travels_with_the_message() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let (x, mut y) = UnixStream::pair().unwrap();
        send(
            &mut a,
            &Attrs::new().put_str("request", SAVE_ENDP),
            Some(x.as_fd()),
        )
        .unwrap();
        drop(x);
        let (attrs, fd) = recv(&mut b).unwrap().unwrap();
        assert_eq!(attrs.str("request").unwrap(), SAVE_ENDP);
        let mut x2 = UnixStream::from(fd.expect("descriptor"));
        x2.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        y.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        send(&mut b, &Attrs::new().put_int("status", 1), None).unwrap();
        let (attrs, fd) = recv(&mut a).unwrap().unwrap();
        assert_eq!(attrs.int("status").unwrap(), 1);
        assert!(fd.is_none());
        drop(b);
        assert!(recv(&mut a).unwrap().is_none());
    }
}
