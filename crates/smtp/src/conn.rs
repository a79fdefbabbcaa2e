//! NAME
//!   conn - the byte stream under a session, and connecting it
//!
//! DESCRIPTION
//!   A session talks over a boxed [`Transport`]: a TCP or UNIX-domain
//!   socket now, and a TLS stream once STARTTLS is built (issue 7): the
//!   session swaps its transport in place ([`crate::session::Session::upgrade`]),
//!   so nothing above the session knows which it has. A transport sets
//!   its own read/write deadlines and can give up its socket for the
//!   connection cache (a TLS transport cannot, and is never cached).
//!
//!   [`connect_inet`] opens a TCP connection to one address with
//!   `smtp_connect_timeout` (none when zero), bound first to
//!   `smtp_bind_address` / `smtp_bind_address6` for the address family
//!   when set. [`connect_unix`] opens a UNIX-domain socket (LMTP).
//!   Failures read as Postfix logs them: `connect to HOST[ADDR]:PORT:
//!   Connection refused`, with code `4.4.1`.
//!
//! SEE ALSO
//!   postconf(5) `smtp_connect_timeout`, `smtp_bind_address`.
use deliver::Dsn;
use socket2::{Domain, SockAddr, Socket, Type};
use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// What a session reads and writes.
pub trait Transport: Read + Write + Debug + Send {
    /// Set the read and write deadline of each I/O call.
    fn set_timeout(&self, t: Duration) -> io::Result<()>;
    /// Give up the socket for the connection cache; `None` when this
    /// transport cannot be cached (TLS).
    fn into_fd(self: Box<Self>) -> Option<OwnedFd>;
    /// End the layer above the socket before it is closed (TLS:
    /// close_notify), waiting at most `t`. Plain sockets do nothing.
    fn shutdown(&mut self, _t: Duration) {}
}

fn nonzero(t: Duration) -> Option<Duration> {
    Some(t.max(Duration::from_millis(1)))
}

impl Transport for TcpStream {
    fn set_timeout(&self, t: Duration) -> io::Result<()> {
        self.set_read_timeout(nonzero(t))?;
        self.set_write_timeout(nonzero(t))
    }
    fn into_fd(self: Box<Self>) -> Option<OwnedFd> {
        Some(OwnedFd::from(*self))
    }
}

impl Transport for UnixStream {
    fn set_timeout(&self, t: Duration) -> io::Result<()> {
        self.set_read_timeout(nonzero(t))?;
        self.set_write_timeout(nonzero(t))
    }
    fn into_fd(self: Box<Self>) -> Option<OwnedFd> {
        Some(OwnedFd::from(*self))
    }
}

/// The OS error text without Rust's "(os error N)".
pub fn error_text(e: &io::Error) -> String {
    if matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return "Connection timed out".to_string();
    }
    let t = util::strings::strip_os_error(&e.to_string());
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => t,
    }
}

/// Connect to `addr:port` (see the module description); `shown` is the
/// `host[addr]:port` text for errors. `bind` is the local address for
/// this family, if any. Errors: the status for the recipients.
pub fn connect_inet(
    addr: IpAddr,
    port: u16,
    bind: Option<IpAddr>,
    timeout: Option<Duration>,
    shown: &str,
) -> Result<TcpStream, Dsn> {
    let fail = |e: io::Error| Dsn::new("4.4.1", &format!("connect to {shown}: {}", error_text(&e)));
    let sa = SocketAddr::new(addr, port);
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, None).map_err(fail)?;
    if let Some(b) = bind {
        sock.bind(&SockAddr::from(SocketAddr::new(b, 0)))
            .map_err(fail)?;
    }
    match timeout {
        Some(t) => sock.connect_timeout(&SockAddr::from(sa), t).map_err(fail)?,
        None => sock.connect(&SockAddr::from(sa)).map_err(fail)?,
    }
    let s = TcpStream::from(sock);
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Connect to the UNIX-domain socket `path` (relative to the current
/// directory, `queue_directory`). Errors: `connect to PATH: ...`.
pub fn connect_unix(path: &Path) -> Result<UnixStream, Dsn> {
    UnixStream::connect(path).map_err(|e| {
        Dsn::new(
            "4.4.1",
            &format!("connect to {}: {}", path.display(), error_text(&e)),
        )
    })
}

/// The bind address for `family_of` from `smtp_bind_address` (IPv4) and
/// `smtp_bind_address6` (IPv6); `None` when unset or of the other family.
pub fn bind_for(family_of: IpAddr, v4: &str, v6: &str) -> Option<IpAddr> {
    let text = if family_of.is_ipv4() { v4 } else { v6 };
    let ip = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()?;
    (ip.is_ipv4() == family_of.is_ipv4()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn refused_reads_like_postfix() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = connect_inet(
            "127.0.0.1".parse().unwrap(),
            port,
            None,
            Some(Duration::from_secs(5)),
            &format!("h[127.0.0.1]:{port}"),
        )
        .unwrap_err();
        assert_eq!(
            e.reason,
            format!("connect to h[127.0.0.1]:{port}: Connection refused")
        );
        assert_eq!(e.status.to_string(), "4.4.1");
    }

    #[test]
    fn binds_when_asked() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let bind = bind_for("127.0.0.1".parse().unwrap(), "127.0.0.1", "");
        let s = connect_inet("127.0.0.1".parse().unwrap(), port, bind, None, "x").unwrap();
        assert_eq!(s.local_addr().unwrap().ip().to_string(), "127.0.0.1");
        assert_eq!(bind_for("::1".parse().unwrap(), "127.0.0.1", ""), None);
    }
}
