//! NAME
//!   body - send the message content after DATA
//!
//! DESCRIPTION
//!   [`send_body`] reads the content of the queue file (LF line ends, no
//!   dot-stuffing, doc/QUEUE_FORMAT.md) and writes it as SMTP DATA
//!   (RFC 5321 4.5.2): CR LF line ends, a leading `.` doubled, and the
//!   final `.` line. Lines longer than `smtp_line_length_limit` are
//!   broken with CR LF (in the headers CR LF SPACE, so the header
//!   continues). With `downgrade` the whole content is converted to 7
//!   bits first ([`crate::mime::downgrade`]); otherwise it is streamed.
//!   Each write waits at most `smtp_data_xfer_timeout`.
//!
//! DIAGNOSTICS
//!   [`BodyError::Read`]: the queue file could not be read (the session
//!   is abandoned without the final dot, so the server drops the
//!   message). [`BodyError::Write`]: the connection failed.
//!
//! SEE ALSO
//!   RFC 5321 section 4.5.2, postconf(5) `smtp_line_length_limit`.
use crate::mime;
use crate::session::Session;
use queue::QueueFile;
use std::io::{self, BufRead, BufReader, Read};
use std::time::Duration;

/// Why the content could not be sent.
#[derive(Debug)]
pub enum BodyError {
    /// Reading the queue file failed.
    Read(io::Error),
    /// Writing to the server failed.
    Write(io::Error),
}

const CHUNK: usize = 64 * 1024;

/// Encodes lines into DATA form and writes them in chunks.
struct Out<'a> {
    s: &'a mut Session,
    buf: Vec<u8>,
    limit: usize,
    t: Duration,
    in_headers: bool,
}

impl Out<'_> {
    fn line(&mut self, line: &[u8]) -> Result<(), BodyError> {
        if self.in_headers && line.is_empty() {
            self.in_headers = false;
        }
        if line.first() == Some(&b'.') {
            self.buf.push(b'.');
        }
        if self.limit > 0 && line.len() > self.limit {
            let mut rest = line;
            let mut first = true;
            while !rest.is_empty() {
                let take = rest.len().min(self.limit);
                if !first && self.in_headers {
                    self.buf.push(b' ');
                }
                self.buf.extend_from_slice(&rest[..take]);
                self.buf.extend_from_slice(b"\r\n");
                rest = &rest[take..];
                first = false;
            }
        } else {
            self.buf.extend_from_slice(line);
            self.buf.extend_from_slice(b"\r\n");
        }
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BodyError> {
        if !self.buf.is_empty() {
            self.s.send(&self.buf, self.t).map_err(BodyError::Write)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Send the content and the final dot (see the module description).
/// Errors: see DIAGNOSTICS.
pub fn send_body(
    s: &mut Session,
    qf: &QueueFile,
    downgrade: bool,
    line_limit: usize,
    t: Duration,
) -> Result<(), BodyError> {
    let mut out = Out {
        s,
        buf: Vec::with_capacity(CHUNK + 1024),
        limit: line_limit,
        t,
        in_headers: true,
    };
    if downgrade {
        let content = qf
            .read_content()
            .map_err(|e| BodyError::Read(io::Error::other(e.to_string())))?;
        let converted = mime::downgrade(&content);
        let mut lines: Vec<&[u8]> = converted.split(|&b| b == b'\n').collect();
        if converted.ends_with(b"\n") {
            lines.pop();
        }
        for l in lines {
            out.line(l)?;
        }
    } else {
        let reader = qf
            .content()
            .map_err(|e| BodyError::Read(io::Error::other(e.to_string())))?;
        let mut r = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(BodyError::Read)?;
            if n == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            out.line(&line)?;
        }
    }
    out.buf.extend_from_slice(b".\r\n");
    out.flush()
}

/// Whether the content holds 8-bit bytes. Errors: reading the file.
pub fn content_is_8bit(qf: &QueueFile) -> io::Result<bool> {
    let mut r = qf.content().map_err(|e| io::Error::other(e.to_string()))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        if mime::has_8bit(&buf[..n]) {
            return Ok(true);
        }
    }
}
