//! NAME
//!   conn - the byte stream an SMTP session runs over, and how it changes
//!
//! DESCRIPTION
//!   [`Conn`] is what the session needs from a connection: `Read`,
//!   `Write`, and a read/write deadline. It is implemented for the
//!   skeleton's [`skeleton::ClientStream`] (TCP, UNIX, standard
//!   input/output) and for `UnixStream` (the in-process tests' duplex).
//!
//!   The session owns a [`Transport`]: today only `Plain`; the TLS issue
//!   adds a `Tls` variant that wraps the same connection after the
//!   handshake. A command handler never touches the transport: it returns
//!   an [`Outcome`], and on [`Outcome::UpgradeTls`] the session loop
//!   discards pipelined input (CVE-2011-0411), asks the transport to
//!   upgrade in place, and resets the SMTP state (RFC 3207 section 4.2).
//!
//! SEE ALSO
//!   DESIGN.md "TLS", RFC 3207.
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A connection an SMTP session can run over.
pub trait Conn: Read + Write {
    /// Set the deadline of each read and write (`None`: wait forever).
    /// A read that times out fails with `WouldBlock` or `TimedOut`.
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()>;
}

impl Conn for skeleton::ClientStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        skeleton::ClientStream::set_timeout(self, t)
    }
}

impl Conn for UnixStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
    }
}

impl Conn for std::net::TcpStream {
    fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(t)?;
        self.set_write_timeout(t)
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

/// The stream under the session: plain now, TLS later (issue 6).
pub enum Transport<'a> {
    /// Clear text on the connection.
    Plain(&'a mut dyn Conn),
}

impl std::fmt::Debug for Transport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Plain(_) => f.write_str("Transport::Plain"),
        }
    }
}

impl Transport<'_> {
    /// Whether the stream is encrypted (protocol names ESMTPS, the
    /// STARTTLS keyword).
    pub fn is_tls(&self) -> bool {
        false
    }

    /// Set the deadline of each read and write.
    pub fn set_timeout(&mut self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Transport::Plain(c) => c.set_timeout(t),
        }
    }
}

impl Read for Transport<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.read(buf),
        }
    }
}

impl Write for Transport<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(c) => c.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(c) => c.flush(),
        }
    }
}
