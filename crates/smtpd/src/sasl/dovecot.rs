//! NAME
//!   dovecot - the client side of Dovecot's authentication protocol
//!
//! DESCRIPTION
//!   Postern keeps no passwords: with `smtpd_sasl_type = dovecot` every
//!   AUTH command is relayed to a Dovecot auth server at
//!   `smtpd_sasl_path`, which is either a UNIX-domain socket (relative
//!   paths are taken from the queue directory, normally `private/auth`,
//!   so that they also work in the chroot jail)
//!   or `inet:host:port`.
//!
//!   The protocol (Dovecot auth-client protocol 1.x) is line based with
//!   TAB-separated fields. We send `VERSION 1 1` and `CPID pid`; the
//!   server sends `VERSION`, one `MECH name flags...` per mechanism,
//!   `SPID`, `CUID`, `COOKIE` and `DONE`. A request is `AUTH id mech
//!   service=smtp nologin lip= rip= [secured] [resp=base64]`; the server
//!   answers `CONT id base64` (a challenge), `OK id user=name` or `FAIL id
//!   [reason=text]`; a response to a challenge is `CONT id base64`.
//!
//! DIAGNOSTICS
//!   Connection and protocol failures are returned as text for the
//!   caller to log; the SMTP client then gets a temporary error.
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

/// One mechanism the auth server offers, with its Dovecot flags
/// (`plaintext`, `anonymous`, `dictionary`, `active`, `forward-secrecy`,
/// `mutual-auth`, `private`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mech {
    /// Upper-case mechanism name (PLAIN, LOGIN, ...).
    pub name: String,
    /// Lower-case flags.
    pub flags: Vec<String>,
}

trait Stream: std::io::Read + Write + Send {}
impl<T: std::io::Read + Write + Send> Stream for T {}

/// A connection to the auth server after the handshake.
pub struct Dovecot {
    rd: BufReader<Box<dyn Stream>>,
    /// The mechanisms the server announced.
    pub mechs: Vec<Mech>,
    next_id: u32,
}

/// What one step of an authentication exchange gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A challenge, base64 encoded as the server sent it.
    Cont(String),
    /// Success: the authenticated user name.
    Ok(String),
    /// Failure, with Dovecot's reason and the user name it saw (either
    /// may be empty).
    Fail(String, String),
}

/// Postfix's words for an auth server that cannot be reached:
/// `Connect to Dovecot auth socket 'PATH' failed: ERROR`.
fn connect_failed(path: &str, e: &std::io::Error) -> String {
    format!("Connect to Dovecot auth socket '{path}' failed: {e}")
}

fn connect(path: &str, timeout: Duration) -> Result<Box<dyn Stream>, String> {
    if let Some(addr) = path.strip_prefix("inet:") {
        let s = std::net::TcpStream::connect(addr).map_err(|e| connect_failed(path, &e))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(s));
    }
    let p = path.strip_prefix("unix:").unwrap_or(path);
    // A relative path is taken from the working directory, which is the
    // queue directory (also inside the chroot jail).
    let s = std::os::unix::net::UnixStream::connect(p).map_err(|e| connect_failed(path, &e))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    Ok(Box::new(s))
}

impl Dovecot {
    /// Connect to `path` (`inet:host:port` or a socket path, relative to
    /// the queue directory, the daemon's working directory) and do the
    /// handshake. `timeout` bounds each read.
    /// Errors: cannot connect, or the server is not a Dovecot auth server
    /// of major version 1.
    pub fn connect(path: &str, timeout: Duration) -> Result<Dovecot, String> {
        let s = connect(path, timeout)?;
        let mut d = Dovecot {
            rd: BufReader::new(s),
            mechs: Vec::new(),
            next_id: 1,
        };
        d.send(&format!("VERSION\t1\t1\nCPID\t{}\n", std::process::id()))?;
        loop {
            let line = d.line()?;
            let f: Vec<&str> = line.split('\t').collect();
            match f[0] {
                "VERSION" if f.get(1) != Some(&"1") => {
                    return Err(format!(
                        "{path}: authentication server protocol version {}",
                        f[1..].join(".")
                    ))
                }
                "MECH" if f.len() > 1 => d.mechs.push(Mech {
                    name: f[1].to_ascii_uppercase(),
                    flags: f[2..].iter().map(|s| s.to_ascii_lowercase()).collect(),
                }),
                "DONE" => return Ok(d),
                _ => {}
            }
        }
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        let w = self.rd.get_mut();
        w.write_all(text.as_bytes())
            .and_then(|()| w.flush())
            .map_err(|e| format!("write to authentication server: {e}"))
    }

    fn line(&mut self) -> Result<String, String> {
        let mut l = String::new();
        match self.rd.read_line(&mut l) {
            Ok(0) => Err("authentication server closed the connection".into()),
            Ok(_) => Ok(l.trim_end_matches(['\r', '\n']).to_string()),
            Err(e) => Err(format!("read from authentication server: {e}")),
        }
    }

    /// Start an exchange for `mech` with the optional initial response
    /// (base64, as the SMTP client sent it; `=` is an empty one).
    /// `lip`/`rip` are the local and remote IP addresses; `secured`
    /// says the session is encrypted. Returns the request id and the
    /// first step. Errors: I/O or protocol failures.
    pub fn start(
        &mut self,
        mech: &str,
        initial: Option<&str>,
        rip: &str,
        secured: bool,
    ) -> Result<(u32, Step), String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = format!("AUTH\t{id}\t{mech}\tservice=smtp\tnologin");
        if !rip.is_empty() {
            req.push_str(&format!("\trip={rip}"));
        }
        if secured {
            req.push_str("\tsecured");
        }
        match initial {
            Some("=") => req.push_str("\tresp="),
            Some(r) => req.push_str(&format!("\tresp={r}")),
            None => {}
        }
        req.push('\n');
        self.send(&req)?;
        Ok((id, self.answer(id)?))
    }

    /// Send the client's `response` (base64) to the challenge of
    /// request `id`. Errors: I/O or protocol failures.
    pub fn respond(&mut self, id: u32, response: &str) -> Result<Step, String> {
        self.send(&format!("CONT\t{id}\t{response}\n"))?;
        self.answer(id)
    }

    fn answer(&mut self, id: u32) -> Result<Step, String> {
        let want = id.to_string();
        loop {
            let line = self.line()?;
            let f: Vec<&str> = line.split('\t').collect();
            if f.get(1) != Some(&want.as_str()) {
                continue;
            }
            let param = |k: &str| {
                f[2..]
                    .iter()
                    .find_map(|p| p.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                    .unwrap_or("")
                    .to_string()
            };
            return match f[0] {
                "CONT" => Ok(Step::Cont(f.get(2).copied().unwrap_or("").to_string())),
                "OK" => Ok(Step::Ok(param("user"))),
                "FAIL" => Ok(Step::Fail(param("reason"), param("user"))),
                other => Err(format!("unexpected authentication server reply: {other}")),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn handshake_and_plain_exchange() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("auth");
        let l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let srv = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nDONE\n").unwrap();
            let mut buf = [0u8; 512];
            let mut got = String::new();
            while !got.contains("AUTH") {
                let n = s.read(&mut buf).unwrap();
                got.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            assert!(got.contains("VERSION\t1\t1\n"));
            assert!(got.contains("resp=AHUAcA=="));
            s.write_all(b"OK\t1\tuser=u\n").unwrap();
        });
        let mut d = Dovecot::connect(sock.to_str().unwrap(), Duration::from_secs(5)).unwrap();
        assert_eq!(d.mechs.len(), 2);
        assert_eq!(d.mechs[0].flags, vec!["plaintext"]);
        let (_, step) = d
            .start("PLAIN", Some("AHUAcA=="), "127.0.0.1", true)
            .unwrap();
        assert_eq!(step, Step::Ok("u".into()));
        srv.join().unwrap();
    }
}
