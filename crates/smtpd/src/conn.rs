//! NAME
//!   conn - the byte stream an SMTP session runs over, and how it changes
//!
//! DESCRIPTION
//!   [`Conn`] is what the session needs from a connection: `Read`,
//!   `Write`, a file descriptor (the TLS engine polls it) and a read/write
//!   deadline. It is implemented for the skeleton's
//!   [`skeleton::ClientStream`] (TCP, UNIX, standard input/output) and for
//!   `UnixStream`/`TcpStream` (the in-process tests).
//!
//!   The session owns a [`Transport`]: `Plain` clear text, or `Tls` after
//!   a STARTTLS handshake (RFC 3207) or in wrapper mode (RFC 8314), which
//!   wraps the same connection in a [`tls::TlsStream`]. A command handler
//!   never touches the transport: it returns an [`Outcome`], and on
//!   [`Outcome::UpgradeTls`] the session loop discards pipelined input
//!   (CVE-2011-0411), asks the transport to upgrade in place
//!   ([`Transport::start_tls`]), and resets the SMTP state (RFC 3207
//!   section 4.2).
//!
//! SEE ALSO
//!   DESIGN.md "TLS", RFC 3207, RFC 8314.
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A connection an SMTP session can run over.
pub trait Conn: Read + Write {
    /// Set the deadline of each read and write (`None`: wait forever).
    /// A read that times out fails with `WouldBlock` or `TimedOut`.
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()>;

    /// The socket (the TLS engine polls it and switches it to
    /// non-blocking mode while it owns it).
    fn fd(&self) -> BorrowedFd<'_>;
}

impl Conn for skeleton::ClientStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        skeleton::ClientStream::set_timeout(self, t)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.as_poll_fd()
    }
}

impl Conn for UnixStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

impl Conn for std::net::TcpStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.as_fd()
    }
}

/// What a command handler tells the session loop to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read the next command.
    Continue,
    /// Flush the replies and end the session (QUIT, fatal errors).
    Close,
    /// The `220 Ready to start TLS` reply was sent: discard buffered
    /// input, start TLS on the transport, reset the SMTP state.
    UpgradeTls,
}

/// The borrowed connection under a TLS stream.
pub struct ConnRef<'a>(pub &'a mut dyn Conn);

impl Read for ConnRef<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for ConnRef<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl AsFd for ConnRef<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.fd()
    }
}

/// The stream under the session.
pub enum Transport<'a> {
    /// Clear text on the connection.
    Plain(&'a mut dyn Conn),
    /// TLS on the connection (after STARTTLS or in wrapper mode).
    Tls(Box<tls::TlsStream<ConnRef<'a>>>),
    /// The connection was lost during a handshake.
    Closed,
}

impl std::fmt::Debug for Transport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Plain(_) => f.write_str("Transport::Plain"),
            Transport::Tls(_) => f.write_str("Transport::Tls"),
            Transport::Closed => f.write_str("Transport::Closed"),
        }
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "lost connection")
}

impl<'a> Transport<'a> {
    /// Whether the stream is encrypted (protocol names ESMTPS, the
    /// STARTTLS keyword).
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// What the TLS handshake negotiated (`None` in clear text).
    pub fn tls_info(&self) -> Option<&tls::TlsInfo> {
        match self {
            Transport::Tls(t) => Some(t.info()),
            _ => None,
        }
    }

    /// Set the deadline of each read and write.
    pub fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Plain(c) => c.set_timeout(t),
            Transport::Tls(s) => {
                s.set_timeout(t);
                Ok(())
            }
            Transport::Closed => Ok(()),
        }
    }

    /// Run the server handshake on the plain connection (the caller has
    /// discarded buffered input), then keep `io_timeout` for each read
    /// and write. Errors: the handshake failed (already logged by the
    /// engine as `SSL_accept error from ...`); the transport is then
    /// `Closed` and the session must end. On a transport that is not
    /// plain this is an error too.
    pub fn start_tls(
        &mut self,
        ctx: &tls::ServerContext,
        props: &tls::ServerStartProps<'_>,
        io_timeout: Option<Duration>,
    ) -> Result<(), tls::TlsError> {
        let Transport::Plain(c) = std::mem::replace(self, Transport::Closed) else {
            return Err(tls::TlsError::Setup("TLS already active".into()));
        };
        let mut s = tls::server_start(ctx, ConnRef(c), props)?;
        s.set_timeout(io_timeout);
        *self = Transport::Tls(Box::new(s));
        Ok(())
    }

    /// End TLS with a close_notify exchange waiting at most `timeout`,
    /// leaving the plain connection (for the final close).
    pub fn stop_tls(&mut self, timeout: Duration) {
        if let Transport::Tls(_) = self {
            if let Transport::Tls(s) = std::mem::replace(self, Transport::Closed) {
                *self = Transport::Plain(s.stop(timeout).0);
            }
        }
    }
}

impl Read for Transport<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.read(buf),
            Transport::Tls(s) => s.read(buf),
            Transport::Closed => Ok(0),
        }
    }
}

impl Write for Transport<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.write(buf),
            Transport::Tls(s) => s.write(buf),
            Transport::Closed => Err(closed()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(c) => c.flush(),
            Transport::Tls(s) => s.flush(),
            Transport::Closed => Ok(()),
        }
    }
}
