//! NAME
//!   stream - one client connection, whatever carries it
//!
//! DESCRIPTION
//!   A service handler gets a [`ClientStream`]: a TCP connection (inet
//!   services), a UNIX-domain stream connection (unix and pass services),
//!   or the process's standard input and output (stand-alone `-S` mode).
//!   It implements `Read` and `Write`, reports the peer for log lines, and
//!   sets read/write deadlines.
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A connected client.
#[derive(Debug)]
pub enum ClientStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A UNIX-domain stream connection.
    Unix(UnixStream),
    /// Standard input and output (stand-alone mode).
    Stdio(io::Stdin, io::Stdout),
}

impl ClientStream {
    /// Standard input and output as one client (stand-alone mode).
    pub fn stdio() -> ClientStream {
        ClientStream::Stdio(io::stdin(), io::stdout())
    }

    /// The peer's socket address for TCP clients; `None` otherwise.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            ClientStream::Tcp(s) => s.peer_addr().ok(),
            _ => None,
        }
    }

    /// Our own address for TCP clients; `None` otherwise.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            ClientStream::Tcp(s) => s.local_addr().ok(),
            _ => None,
        }
    }

    /// The peer as written in log lines: the IP address for TCP
    /// (`127.0.0.1`, `::1`), `local` for UNIX sockets and stdin.
    pub fn peer_name(&self) -> String {
        match self.peer_addr() {
            Some(a) => a.ip().to_string(),
            None => "local".to_string(),
        }
    }

    /// Set the read and write timeouts (`None` = wait forever). A read or
    /// write that times out fails with `WouldBlock`/`TimedOut`. Standard
    /// input cannot time out; the call is then a no-op.
    pub fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            ClientStream::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            ClientStream::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            ClientStream::Stdio(..) => Ok(()),
        }
    }

    /// The descriptor to poll for input.
    pub fn as_poll_fd(&self) -> BorrowedFd<'_> {
        match self {
            ClientStream::Tcp(s) => s.as_fd(),
            ClientStream::Unix(s) => s.as_fd(),
            ClientStream::Stdio(i, _) => i.as_fd(),
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Tcp(s) => s.read(buf),
            ClientStream::Unix(s) => s.read(buf),
            ClientStream::Stdio(i, _) => i.read(buf),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Tcp(s) => s.write(buf),
            ClientStream::Unix(s) => s.write(buf),
            ClientStream::Stdio(_, o) => o.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Tcp(s) => s.flush(),
            ClientStream::Unix(s) => s.flush(),
            ClientStream::Stdio(_, o) => o.flush(),
        }
    }
}
