//! NAME
//!   session - testd's line protocol
//!
//! DESCRIPTION
//!   On connect testd sends `220 testd pid=<pid> uid=<uid>
//!   service=<name>`. Then, per line (CRLF or LF):
//!
//!   - `PING` → `250 PONG`
//!   - `SLEEP n` → waits n seconds, then `250 OK`
//!   - `QUIT` → `221 Bye`, and the connection closes
//!   - anything else → `250 <line>` (echo)
//!
//!   Commands are case-insensitive. [`answer`] is the pure decision;
//!   [`serve_line`] and [`serve_client`] do the I/O.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

/// What to do with one request line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Seconds to sleep before replying.
    pub sleep: u64,
    /// The reply line, without CRLF.
    pub text: String,
    /// Close the connection after the reply.
    pub close: bool,
}

/// The reply to `line` (without its line ending).
pub fn answer(line: &str) -> Reply {
    let upper = line.trim().to_ascii_uppercase();
    let reply = |text: String| Reply {
        sleep: 0,
        text,
        close: false,
    };
    if upper == "PING" {
        reply("250 PONG".into())
    } else if upper == "QUIT" {
        Reply {
            sleep: 0,
            text: "221 Bye".into(),
            close: true,
        }
    } else if let Some(n) = upper
        .strip_prefix("SLEEP ")
        .and_then(|n| n.trim().parse::<u64>().ok())
    {
        Reply {
            sleep: n,
            text: "250 OK".into(),
            close: false,
        }
    } else {
        reply(format!("250 {line}"))
    }
}

/// The greeting for service `service`.
pub fn banner(service: &str) -> String {
    format!(
        "220 testd pid={} uid={} service={}\r\n",
        std::process::id(),
        nix::unistd::getuid(),
        service
    )
}

/// Answer one line; returns whether the session continues.
/// Errors: writing the reply failed.
pub fn serve_line<W: Write>(out: &mut W, line: &str) -> io::Result<bool> {
    let r = answer(line.trim_end_matches(['\r', '\n']));
    if r.sleep > 0 {
        std::thread::sleep(Duration::from_secs(r.sleep));
    }
    out.write_all(format!("{}\r\n", r.text).as_bytes())?;
    out.flush()?;
    Ok(!r.close)
}

/// Serve a whole session on `stream`: banner, then lines until `QUIT` or
/// end of file. Errors: I/O errors on the stream.
pub fn serve_client<S: Read + Write>(stream: &mut S, service: &str) -> io::Result<()> {
    stream.write_all(banner(service).as_bytes())?;
    stream.flush()?;
    let mut line = String::new();
    loop {
        line.clear();
        let n = {
            let mut reader = BufReader::with_capacity(1, &mut *stream);
            reader.read_line(&mut line)?
        };
        if n == 0 || !serve_line(stream, &line)? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(answer("PING").text, "250 PONG");
        assert_eq!(answer("ping").text, "250 PONG");
        assert_eq!(
            answer("SLEEP 3"),
            Reply {
                sleep: 3,
                text: "250 OK".into(),
                close: false
            }
        );
        assert!(answer("QUIT").close);
        assert_eq!(answer("hello there").text, "250 hello there");
        assert_eq!(answer("SLEEP x").text, "250 SLEEP x");
    }

    #[test]
    fn whole_session() {
        struct Duplex {
            input: io::Cursor<Vec<u8>>,
            output: Vec<u8>,
        }
        impl Read for Duplex {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                self.input.read(b)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.output.write(b)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut d = Duplex {
            input: io::Cursor::new(b"PING\r\nabc\nQUIT\r\nPING\r\n".to_vec()),
            output: Vec::new(),
        };
        serve_client(&mut d, "svc").unwrap();
        let out = String::from_utf8(d.output).unwrap();
        assert!(out.ends_with("221 Bye\r\n"));
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("220 testd pid=") && lines[0].ends_with("service=svc"),
            "{out}"
        );
        assert_eq!(&lines[1..], ["250 PONG", "250 abc", "221 Bye"]);
    }
}
