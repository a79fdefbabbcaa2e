//! NAME
//!   engine - TLS over an in-memory network buffer, one deadline per operation
//!
//! DESCRIPTION
//!   OpenSSL never touches the socket. The SSL object reads and writes an
//!   in-memory duplex ([`MemPipe`]: two byte queues, the same design as
//!   Postfix's BIO pair), and one loop ([`TlsStream::drive`]) retries an
//!   SSL call, moving bytes between the queues and the real socket: when
//!   OpenSSL wants to read, pending output is flushed first, then the loop
//!   waits with poll(2) for input until the operation's deadline. The
//!   whole operation — a handshake, one read, one write, the shutdown —
//!   has ONE deadline, so a peer that trickles bytes cannot stretch it
//!   (TLS_CHANGES 2003/06/17: a stalled handshake is dropped after
//!   `*_starttls_timeout`). The socket is switched to non-blocking mode
//!   while the engine owns it, and back when it is returned.
//!
//!   Bytes that arrived before the handshake (pipelined behind STARTTLS)
//!   are never seen by the engine: the caller discards its own plain-text
//!   buffer before calling start (CVE-2011-0411).
//!
//! DIAGNOSTICS
//!   [`TlsError`]: timeout, lost connection, OpenSSL errors (with the
//!   error queue as text), certificate policy failures.
//!
//! SEE ALSO
//!   [`crate::server`], [`crate::client`].
use crate::info::TlsInfo;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use openssl::ssl::{ErrorCode, ShutdownResult, Ssl, SslStream};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Errors of the TLS engine.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The operation's deadline passed.
    #[error("Connection timed out")]
    Timeout,
    /// The peer closed the connection.
    #[error("lost connection")]
    LostConnection,
    /// A socket error.
    #[error("{}", util::strings::strip_os_error(&.0.to_string()))]
    Io(#[from] io::Error),
    /// OpenSSL failed; `code` is the SSL error code, `errors` the error
    /// queue, one line per error.
    #[error("{code}")]
    Library {
        /// OpenSSL's SSL_get_error() code (shown as Postfix shows the
        /// SSL_accept return value).
        code: i32,
        /// The error queue as text.
        errors: Vec<String>,
    },
    /// The peer certificate did not satisfy the policy.
    #[error("{0}")]
    Policy(String),
    /// The engine could not be set up (bad parameter or file).
    #[error("{0}")]
    Setup(String),
}

impl TlsError {
    /// The OpenSSL error queue lines, for `TLS library problem` warnings.
    pub fn library_errors(&self) -> &[String] {
        match self {
            TlsError::Library { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The reason as Postfix logs it after `SSL_accept error from x: `:
    /// `-1` for library errors, `lost connection`, or the system error.
    pub fn log_reason(&self) -> String {
        match self {
            TlsError::Library { .. } => "-1".to_string(),
            other => other.to_string(),
        }
    }
}

/// The in-memory network side: what OpenSSL reads (`inbound`, filled
/// from the socket) and writes (`outbound`, drained to the socket).
#[derive(Debug, Default)]
pub struct MemPipe {
    inbound: VecDeque<u8>,
    outbound: Vec<u8>,
    eof: bool,
}

impl Read for MemPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inbound.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(self.inbound.len());
        for (dst, src) in buf.iter_mut().zip(self.inbound.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl Write for MemPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbound.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The transport an engine runs over: a connected stream socket.
pub trait Transport: Read + Write + AsFd {}
impl<T: Read + Write + AsFd> Transport for T {}

fn remaining(deadline: Option<Instant>) -> Result<PollTimeout, TlsError> {
    match deadline {
        None => Ok(PollTimeout::NONE),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(TlsError::Timeout);
            }
            // Round up so that a sub-millisecond rest still waits.
            let ms = left.as_millis().saturating_add(1).min(i32::MAX as u128) as i32;
            Ok(PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX))
        }
    }
}

fn wait<S: AsFd>(sock: &S, flags: PollFlags, deadline: Option<Instant>) -> Result<(), TlsError> {
    loop {
        let t = remaining(deadline)?;
        let mut fds = [PollFd::new(sock.as_fd(), flags)];
        match poll(&mut fds, t) {
            Ok(0) => return Err(TlsError::Timeout),
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(TlsError::Io(e.into())),
        }
    }
}

/// Write all of `pipe.outbound` to the socket before `deadline`.
fn flush_out<S: Transport>(
    pipe: &mut MemPipe,
    sock: &mut S,
    deadline: Option<Instant>,
) -> Result<(), TlsError> {
    let mut done = 0;
    while done < pipe.outbound.len() {
        match sock.write(&pipe.outbound[done..]) {
            Ok(0) => return Err(TlsError::LostConnection),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(sock, PollFlags::POLLOUT, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if e.kind() == io::ErrorKind::BrokenPipe
                    || e.kind() == io::ErrorKind::ConnectionReset =>
            {
                return Err(TlsError::LostConnection)
            }
            Err(e) => return Err(e.into()),
        }
    }
    pipe.outbound.clear();
    Ok(())
}

/// Read what the socket has (at least one byte, or end of file) into
/// `pipe.inbound`, waiting until `deadline`.
fn fill_in<S: Transport>(
    pipe: &mut MemPipe,
    sock: &mut S,
    deadline: Option<Instant>,
) -> Result<(), TlsError> {
    if pipe.eof {
        return Err(TlsError::LostConnection);
    }
    let mut buf = [0u8; 16 * 1024];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => {
                pipe.eof = true;
                return Ok(());
            }
            Ok(n) => {
                pipe.inbound.extend(&buf[..n]);
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(sock, PollFlags::POLLIN, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                pipe.eof = true;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn library_error(e: &openssl::ssl::Error) -> TlsError {
    let errors = e
        .ssl_error()
        .map(|s| s.errors().iter().map(|x| x.to_string()).collect())
        .unwrap_or_default();
    TlsError::Library {
        code: e.code().as_raw(),
        errors,
    }
}

/// A TLS connection over transport `S`: `Read` and `Write` move
/// plaintext, each call bounded by the I/O timeout.
#[derive(Debug)]
pub struct TlsStream<S: Transport> {
    ssl: SslStream<MemPipe>,
    sock: S,
    saved_flags: OFlag,
    timeout: Option<Duration>,
    info: TlsInfo,
    closed: bool,
    wait_close_notify: bool,
}

impl<S: Transport> TlsStream<S> {
    /// Wrap `sock` for the SSL object `ssl` (not yet handshaken), switching
    /// the socket to non-blocking mode. Errors: fcntl or OpenSSL.
    pub(crate) fn new(ssl: Ssl, sock: S) -> Result<TlsStream<S>, TlsError> {
        let fd = sock.as_fd().as_raw_fd();
        let saved = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
        fcntl(fd, FcntlArg::F_SETFL(saved | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
        let ssl = SslStream::new(ssl, MemPipe::default()).map_err(|e| TlsError::Library {
            code: -1,
            errors: e.errors().iter().map(|x| x.to_string()).collect(),
        })?;
        Ok(TlsStream {
            ssl,
            sock,
            saved_flags: saved,
            timeout: None,
            info: TlsInfo::default(),
            closed: false,
            wait_close_notify: false,
        })
    }

    /// Run the SSL operation `op` to completion or failure before
    /// `deadline`, moving bytes between the memory pipe and the socket.
    pub(crate) fn drive<T>(
        &mut self,
        deadline: Option<Instant>,
        mut op: impl FnMut(&mut SslStream<MemPipe>) -> Result<T, openssl::ssl::Error>,
    ) -> Result<T, TlsError> {
        loop {
            let r = op(&mut self.ssl);
            let Self { ssl, sock, .. } = self;
            match r {
                Ok(v) => {
                    flush_out(ssl.get_mut(), sock, deadline)?;
                    return Ok(v);
                }
                Err(e) => match e.code() {
                    ErrorCode::WANT_READ => {
                        flush_out(ssl.get_mut(), sock, deadline)?;
                        if ssl.get_ref().eof && ssl.get_ref().inbound.is_empty() {
                            return Err(TlsError::LostConnection);
                        }
                        fill_in(ssl.get_mut(), sock, deadline)?;
                    }
                    ErrorCode::WANT_WRITE => flush_out(ssl.get_mut(), sock, deadline)?,
                    ErrorCode::ZERO_RETURN => {
                        let _ = flush_out(ssl.get_mut(), sock, deadline);
                        return Err(TlsError::LostConnection);
                    }
                    ErrorCode::SYSCALL if e.ssl_error().is_none() => {
                        let _ = flush_out(ssl.get_mut(), sock, deadline);
                        return Err(TlsError::LostConnection);
                    }
                    _ => {
                        // Send the alert OpenSSL queued, if the peer listens.
                        let _ = flush_out(ssl.get_mut(), sock, deadline);
                        return Err(library_error(&e));
                    }
                },
            }
        }
    }

    /// The SSL connection (for inspection after the handshake).
    pub fn ssl(&self) -> &openssl::ssl::SslRef {
        self.ssl.ssl()
    }

    /// What the handshake negotiated.
    pub fn info(&self) -> &TlsInfo {
        &self.info
    }

    pub(crate) fn set_info(&mut self, info: TlsInfo) {
        self.info = info;
    }

    /// Set the deadline of each later read and write (`None` = wait
    /// forever): the caller's `smtpd_timeout` / `smtp_*_timeout`.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The underlying transport (do not read or write it while TLS is on).
    pub fn get_ref(&self) -> &S {
        &self.sock
    }

    fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|t| Instant::now() + t)
    }

    /// Whether decrypted input is waiting (no socket read needed).
    pub fn pending(&self) -> usize {
        self.ssl.ssl().pending()
    }

    /// Whether [`TlsStream::stop`] waits for the peer's close_notify
    /// after sending ours: `tls_fast_shutdown_enable = no` (Postfix 3.7's
    /// default `yes` does not wait, and neither does a new stream).
    pub fn set_wait_close_notify(&mut self, wait: bool) {
        self.wait_close_notify = wait;
    }

    /// Send close_notify (TLS_CHANGES 2001/08/09) and, when
    /// [`TlsStream::set_wait_close_notify`] asked for it, wait (until
    /// `timeout`) for the peer's; then give the transport back in its
    /// original blocking mode. A peer that does not answer does not
    /// delay the caller past `timeout`. Errors are not reported: the
    /// connection is ending anyway.
    pub fn stop(mut self, timeout: Duration) -> S {
        let deadline = Some(Instant::now() + timeout);
        if !self.closed {
            self.closed = true;
            let sent = self.drive(deadline, |s| s.shutdown());
            if let (Ok(ShutdownResult::Sent), true) = (sent, self.wait_close_notify) {
                let _ = self.drive(deadline, |s| match s.shutdown() {
                    Ok(ShutdownResult::Received) => Ok(()),
                    Ok(ShutdownResult::Sent) => {
                        // Still waiting for the peer's close_notify: read
                        // (and drop) application data until it comes.
                        let mut b = [0u8; 512];
                        s.ssl_read(&mut b).map(|_| ())
                    }
                    Err(e) => Err(e),
                });
            }
        }
        self.into_inner()
    }

    /// Give the transport back without a TLS shutdown (after a failure:
    /// the session is not resumable then). Restores blocking mode.
    pub fn into_inner(self) -> S {
        let fd = self.sock.as_fd().as_raw_fd();
        let _ = fcntl(fd, FcntlArg::F_SETFL(self.saved_flags));
        self.sock
    }
}

fn to_io(e: TlsError) -> io::Error {
    match e {
        TlsError::Timeout => io::Error::new(io::ErrorKind::TimedOut, "Connection timed out"),
        TlsError::LostConnection => io::Error::new(io::ErrorKind::UnexpectedEof, "lost connection"),
        TlsError::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

impl<S: Transport> Read for TlsStream<S> {
    /// Read plaintext; `Ok(0)` once the peer sent close_notify or closed.
    /// Errors: `TimedOut` after the I/O timeout, OpenSSL errors.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = self.deadline();
        match self.drive(deadline, |s| s.ssl_read(buf)) {
            Ok(n) => Ok(n),
            Err(TlsError::LostConnection) => Ok(0),
            Err(e) => Err(to_io(e)),
        }
    }
}

impl<S: Transport> Write for TlsStream<S> {
    /// Encrypt and send all of `buf` within the I/O timeout.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = self.deadline();
        self.drive(deadline, |s| s.ssl_write(buf)).map_err(to_io)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_pipe_queues() {
        let mut p = MemPipe::default();
        let mut b = [0u8; 4];
        assert_eq!(
            p.read(&mut b).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        p.inbound.extend(b"abcdef");
        assert_eq!(p.read(&mut b).unwrap(), 4);
        assert_eq!(&b, b"abcd");
        assert_eq!(p.read(&mut b).unwrap(), 2);
        p.eof = true;
        assert_eq!(p.read(&mut b).unwrap(), 0);
        p.write_all(b"xy").unwrap();
        assert_eq!(p.outbound, b"xy");
    }

    #[test]
    fn deadlines_expire() {
        assert!(matches!(
            remaining(Some(Instant::now() - Duration::from_secs(1))),
            Err(TlsError::Timeout)
        ));
        assert!(remaining(None).is_ok());
    }
}
