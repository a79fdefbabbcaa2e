//! NAME
//!   client - a line-based TCP client for system tests
//!
//! DESCRIPTION
//!   [`Client`] talks to a service of a test instance one CRLF-terminated
//!   line at a time: the `testd` fixture daemon now, SMTP later. Every
//!   read has a deadline ([`READ_TIMEOUT`] unless the caller gives one), so
//!   a test fails with a message instead of hanging.
//!
//!   `testd` greets with `220 testd pid=<pid> uid=<uid> service=<name>`;
//!   [`Greeting::parse`] reads that line.
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The default deadline of a read.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// A connected client.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    partial: String,
    port: u16,
}

impl Client {
    /// Connect to `127.0.0.1:port`. Errors: the connect error.
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        Ok(Client {
            reader: BufReader::new(stream),
            partial: String::new(),
            port,
        })
    }

    /// The port this client is connected to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Read one line (without CRLF) within `timeout`. Returns `Ok(None)`
    /// when nothing complete arrived in time (what was read so far is kept
    /// for the next call), `Err` on EOF or an I/O error.
    pub fn try_read_line(&mut self, timeout: Duration) -> Result<Option<String>, String> {
        let stream = self.reader.get_ref();
        stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        match self.reader.read_line(&mut self.partial) {
            Ok(0) => Err(format!(
                "port {}: connection closed by the server",
                self.port
            )),
            Ok(_) if self.partial.ends_with('\n') => {
                let line = std::mem::take(&mut self.partial);
                Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
            }
            Ok(_) => Err(format!(
                "port {}: connection closed inside a line: {:?}",
                self.port, self.partial
            )),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(format!("port {}: read: {e}", self.port)),
        }
    }

    /// Read one line; panics on EOF, errors, or after [`READ_TIMEOUT`].
    pub fn read_line(&mut self) -> String {
        match self.try_read_line(READ_TIMEOUT) {
            Ok(Some(l)) => l,
            Ok(None) => panic!("port {}: no line within {READ_TIMEOUT:?}", self.port),
            Err(e) => panic!("{e}"),
        }
    }

    /// Whether the server has closed the connection (EOF or reset within
    /// `timeout`).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        self.try_read_line(timeout).is_err()
    }

    /// Send `line` followed by CRLF. Panics on write errors.
    pub fn send(&mut self, line: &str) {
        let port = self.port;
        self.reader
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("port {port}: write {line:?}: {e}"));
    }

    /// Send `line` and return the one-line reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(line);
        self.read_line()
    }

    /// Read and parse testd's greeting. Panics when it is not one.
    pub fn greeting(&mut self) -> Greeting {
        let line = self.read_line();
        Greeting::parse(&line)
            .unwrap_or_else(|| panic!("port {}: not a testd greeting: {line:?}", self.port))
    }
}

/// testd's greeting: `220 testd pid=<pid> uid=<uid> service=<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The serving process.
    pub pid: i32,
    /// Its user ID.
    pub uid: u32,
    /// The master.cf service name it was started for.
    pub service: String,
}

impl Greeting {
    /// Parse a greeting line; `None` when it is not one.
    pub fn parse(line: &str) -> Option<Greeting> {
        let rest = line.strip_prefix("220 testd ")?;
        let (mut pid, mut uid, mut service) = (None, None, None);
        for field in rest.split_whitespace() {
            match field.split_once('=')? {
                ("pid", v) => pid = v.parse().ok(),
                ("uid", v) => uid = v.parse().ok(),
                ("service", v) => service = Some(v.to_string()),
                _ => {}
            }
        }
        Some(Greeting {
            pid: pid?,
            uid: uid?,
            service: service?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_parse() {
        let g = Greeting::parse("220 testd pid=12 uid=104 service=127.0.0.1:2525").unwrap();
        assert_eq!(
            g,
            Greeting {
                pid: 12,
                uid: 104,
                service: "127.0.0.1:2525".into()
            }
        );
        assert!(Greeting::parse("220 mx ESMTP").is_none());
        assert!(Greeting::parse("220 testd pid=x uid=1 service=a").is_none());
    }

    #[test]
    fn lines_round_trip_and_timeouts() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            s.write_all(format!("250 {}", line.trim_end()).as_bytes())
                .unwrap();
            std::thread::sleep(Duration::from_millis(300));
            s.write_all(b"\r\n").unwrap();
        });
        let mut c = Client::connect(port).unwrap();
        assert_eq!(c.try_read_line(Duration::from_millis(50)).unwrap(), None);
        c.send("PING");
        assert_eq!(c.read_line(), "250 PING");
        server.join().unwrap();
        assert!(c.closed_within(Duration::from_secs(5)));
    }
}
