//! NAME
//!   chat - SMTP line input and reply output with pipelining in mind
//!
//! DESCRIPTION
//!   [`Chat`] owns the session's [`Transport`] and two buffers. Input is
//!   read in blocks and cut into lines; a line ends at LF, and the line
//!   reports whether a CR came before it (`crlf`) or not (a bare LF, see
//!   `smtpd_forbid_bare_newline`). A line longer than `line_length_limit`
//!   comes back in pieces of at most the limit, each marked `eol = false`
//!   but the last.
//!
//!   Replies are queued and written only when the session is about to
//!   wait for input that is not already buffered (or at the end), so a
//!   pipelining client (RFC 2920) gets its replies in one write and a
//!   non-pipelining one gets each reply before it sends again.
//!
//! DIAGNOSTICS
//!   [`ChatError::Eof`] when the client closed (also mid-line: an
//!   unterminated last line is never processed), [`ChatError::Timeout`]
//!   when a read or write exceeded `smtpd_timeout`, [`ChatError::Io`]
//!   otherwise.
use crate::conn::Transport;
use std::io::{self, Read, Write};
use std::time::Duration;

/// How reading or writing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChatError {
    /// The client closed the connection.
    Eof,
    /// A read or write took longer than the deadline.
    Timeout,
    /// Another I/O error.
    Io(io::Error),
}

impl From<io::Error> for ChatError {
    fn from(e: io::Error) -> ChatError {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ChatError::Timeout,
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe => ChatError::Eof,
            _ => ChatError::Io(e),
        }
    }
}

/// One line (or piece of an overlong line) of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The bytes, without CR LF / LF.
    pub bytes: Vec<u8>,
    /// The line ended here (false: a piece of an overlong line).
    pub eol: bool,
    /// The line ended in CR LF (false with `eol`: a bare LF).
    pub crlf: bool,
}

/// Buffered SMTP input and output over a transport.
pub struct Chat<'a> {
    transport: Transport<'a>,
    inbuf: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

impl std::fmt::Debug for Chat<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("buffered", &(self.inbuf.len() - self.pos))
            .field("queued", &self.out.len())
            .finish()
    }
}

const READ_BLOCK: usize = 16 * 1024;

impl<'a> Chat<'a> {
    /// Wrap `transport`; every read and write waits at most `timeout`
    /// (`smtpd_timeout`; `None` = forever).
    pub fn new(mut transport: Transport<'a>, timeout: Option<Duration>) -> io::Result<Chat<'a>> {
        transport.set_timeout(timeout)?;
        Ok(Chat {
            transport,
            inbuf: Vec::new(),
            pos: 0,
            out: Vec::new(),
        })
    }

    /// The transport (to ask whether TLS is active, or to upgrade it).
    pub fn transport(&mut self) -> &mut Transport<'a> {
        &mut self.transport
    }

    /// What TLS negotiated (`None` while the session is in clear text).
    pub fn tls_info(&self) -> Option<&tls::TlsInfo> {
        self.transport.tls_info()
    }

    /// Queue one reply line; `text` has no line terminator.
    pub fn reply(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Write the queued replies now.
    pub fn flush(&mut self) -> Result<(), ChatError> {
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            self.transport.write_all(&out)?;
            self.transport.flush()?;
        }
        Ok(())
    }

    /// Whether unread input is buffered (the client sent ahead).
    pub fn pending(&self) -> bool {
        self.pos < self.inbuf.len()
    }

    /// Up to `max` bytes of the buffered, unread input (for log lines).
    pub fn peek_pending(&self, max: usize) -> &[u8] {
        let end = self.inbuf.len().min(self.pos + max);
        &self.inbuf[self.pos..end]
    }

    /// Drop all buffered input (after STARTTLS: CVE-2011-0411).
    pub fn discard_input(&mut self) {
        self.inbuf.clear();
        self.pos = 0;
    }

    /// Read more input into the buffer, flushing replies first.
    fn fill(&mut self) -> Result<(), ChatError> {
        self.flush()?;
        if self.pos > 0 {
            self.inbuf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.inbuf.len();
        self.inbuf.resize(old + READ_BLOCK, 0);
        let n = loop {
            match self.transport.read(&mut self.inbuf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.inbuf.truncate(old);
                    return Err(e.into());
                }
            }
        };
        self.inbuf.truncate(old + n);
        if n == 0 {
            return Err(ChatError::Eof);
        }
        Ok(())
    }

    /// The next line or piece of at most `limit` bytes (see the module
    /// description). Errors: end of input (also inside a line), timeout.
    pub fn read_line(&mut self, limit: usize) -> Result<Line, ChatError> {
        let limit = limit.max(1);
        loop {
            let avail = &self.inbuf[self.pos..];
            if let Some(lf) = avail.iter().position(|&b| b == b'\n') {
                let crlf = lf > 0 && avail[lf - 1] == b'\r';
                let body = if crlf { lf - 1 } else { lf };
                if body <= limit {
                    let bytes = avail[..body].to_vec();
                    self.pos += lf + 1;
                    return Ok(Line {
                        bytes,
                        eol: true,
                        crlf,
                    });
                }
            }
            if avail.len() > limit {
                // An overlong line: hand out one piece, keep a trailing CR
                // with the rest so that CR LF is never split.
                let mut take = limit;
                if avail[take - 1] == b'\r' && take > 1 {
                    take -= 1;
                }
                let bytes = avail[..take].to_vec();
                self.pos += take;
                return Ok(Line {
                    bytes,
                    eol: false,
                    crlf: false,
                });
            }
            self.fill()?;
        }
    }

    /// A command line: like [`Chat::read_line`], but the part of an
    /// overlong line past `limit` is read and thrown away (Postfix
    /// truncates long command lines). Returns the line and whether it
    /// was truncated.
    pub fn read_command(&mut self, limit: usize) -> Result<(Line, bool), ChatError> {
        let mut line = self.read_line(limit)?;
        let mut truncated = false;
        while !line.eol {
            truncated = true;
            let rest = self.read_line(limit)?;
            line.eol = rest.eol;
            line.crlf = rest.crlf;
        }
        Ok((line, truncated))
    }

    /// Read exactly `count` raw bytes (a BDAT chunk), passing them to
    /// `sink` in pieces. Errors: end of input or timeout before `count`.
    pub fn read_exact_into(
        &mut self,
        mut count: u64,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ChatError> {
        while count > 0 {
            if !self.pending() {
                self.fill()?;
            }
            let avail = self.inbuf.len() - self.pos;
            let take = usize::try_from(count).unwrap_or(usize::MAX).min(avail);
            sink(&self.inbuf[self.pos..self.pos + take]);
            self.pos += take;
            count -= take as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn chat_with(input: &[u8]) -> (UnixStream, Box<UnixStream>) {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(input).unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        (a, Box::new(b))
    }

    #[test]
    fn lines_report_their_endings() {
        let (_a, mut b) = chat_with(b"one\r\ntwo\nthree");
        let mut c = Chat::new(Transport::Plain(&mut *b), None).unwrap();
        let l = c.read_line(100).unwrap();
        assert_eq!(
            (l.bytes.as_slice(), l.eol, l.crlf),
            (&b"one"[..], true, true)
        );
        let l = c.read_line(100).unwrap();
        assert_eq!(
            (l.bytes.as_slice(), l.eol, l.crlf),
            (&b"two"[..], true, false)
        );
        assert!(matches!(c.read_line(100), Err(ChatError::Eof)));
    }

    #[test]
    fn long_lines_come_in_pieces_and_commands_are_truncated() {
        let mut input = vec![b'x'; 25];
        input.extend_from_slice(b"\r\nNEXT\r\n");
        let (_a, mut b) = chat_with(&input);
        let mut c = Chat::new(Transport::Plain(&mut *b), None).unwrap();
        let l = c.read_line(10).unwrap();
        assert_eq!((l.bytes.len(), l.eol), (10, false));
        let (l, truncated) = c.read_command(10).unwrap();
        assert!(truncated);
        assert_eq!(l.bytes.len(), 10);
        assert!(l.eol && l.crlf);
        assert_eq!(c.read_line(10).unwrap().bytes, b"NEXT");
    }

    #[test]
    fn replies_wait_for_the_next_read() {
        let (mut a, mut b) = chat_with(b"X\r\n");
        let mut c = Chat::new(Transport::Plain(&mut *b), None).unwrap();
        c.reply("220 hi");
        assert!(!c.pending());
        c.read_line(10).unwrap();
        let mut got = [0u8; 8];
        a.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"220 hi\r\n");
    }
}
