//! NAME
//!   attr - the attribute protocol spoken between Postern daemons
//!
//! SYNOPSIS
//!   let reply = attr::request(&mut stream, &Attrs::new().put_str("request", "flush"))?;
//!   let status = reply.int("status")?;
//!
//! DESCRIPTION
//!   Every request and reply between daemons (cleanup, qmgr, the delivery
//!   agents, bounce, tlsmgr, showq, ...) is one list of attributes, in
//!   the spirit of Postfix's "plain" attribute encoding:
//!
//!   ```text
//!   name=value\n
//!   name=value\n
//!   \n                <- an empty line ends the list
//!   ```
//!
//!   Names are 1 to [`MAX_NAME_LEN`] characters from `A-Z a-z 0-9 _ -`.
//!   The value is every byte after the first `=` up to the newline.
//!   Three value types exist; the type is known to both ends by the
//!   attribute's name, not written on the wire (as in Postfix):
//!
//!   - int / long: decimal text with an optional `-` (i32 / i64 range);
//!   - string: any bytes except newline and NUL;
//!   - data: arbitrary bytes, standard base64 with padding (RFC 4648).
//!
//!   Why base64 for binary data rather than a `name:length` prefix and
//!   raw bytes: every attribute stays one text line, so one framing rule,
//!   one line-length limit and one parser cover everything, and a session
//!   can be read with `socat` or in a log. The cost (a third more bytes)
//!   only touches small binary values (TLS sessions, keys); message
//!   content is not carried in attributes.
//!
//!   Attributes keep their order; a name may repeat (for lists). A reader
//!   keeps attributes it does not know about, and getters ignore them, so
//!   protocols can grow without breaking older peers.
//!
//!   I/O is blocking; a caller that needs a deadline sets the socket's
//!   read and write timeouts, and a timeout comes back as
//!   [`AttrError::Io`] (`WouldBlock` or `TimedOut`).
//!
//! LIMITS
//!   A reader enforces [`Limits`]: the length of one line, the number of
//!   attributes, and the total size of one list. Exceeding one is an
//!   error, never a panic, and nothing is allocated beyond the limits.
//!
//! DIAGNOSTICS
//!   [`AttrError`]: I/O errors, a list cut short by end-of-file,
//!   malformed or oversized input, and missing or mistyped attributes
//!   (the message names the attribute).
//!
//! SEE ALSO
//!   Postfix attr_print_plain(3), attr_scan_plain(3).
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use thiserror::Error;

/// Longest attribute name, in bytes.
pub const MAX_NAME_LEN: usize = 100;

/// Errors of the attribute protocol.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AttrError {
    /// Reading or writing the stream failed (including timeouts).
    #[error("attribute I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the stream in the middle of a list.
    #[error("premature end-of-input in attribute list")]
    Truncated,
    /// One line is longer than [`Limits::max_line`] bytes.
    #[error("attribute line longer than {0} bytes")]
    LineTooLong(usize),
    /// The list has more than [`Limits::max_attrs`] attributes.
    #[error("more than {0} attributes in one list")]
    TooManyAttrs(usize),
    /// The list is larger than [`Limits::max_total`] bytes.
    #[error("attribute list larger than {0} bytes")]
    TooLarge(usize),
    /// A line is not `name=value`, or the name has bad characters.
    #[error("malformed attribute line: {0}")]
    Malformed(String),
    /// A required attribute is absent.
    #[error("missing attribute: {0}")]
    Missing(String),
    /// An attribute's value does not have the expected type.
    #[error("bad {want} value for attribute {name}: {value}")]
    BadValue {
        /// The attribute.
        name: String,
        /// `int`, `long`, `string` or `data`.
        want: &'static str,
        /// The value, shown printable and shortened.
        value: String,
    },
    /// A value given to the writer cannot be sent (newline or NUL in a
    /// string, or a bad name).
    #[error("cannot send attribute {0}: bad name or value")]
    Unsendable(String),
}

/// Result of the attribute functions.
pub type Result<T> = std::result::Result<T, AttrError>;

/// Reader limits. The defaults suit every Postern protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line including its newline, in bytes (default 65536).
    pub max_line: usize,
    /// Most attributes in one list (default 1024).
    pub max_attrs: usize,
    /// Largest list in bytes, all lines together (default 1 MiB).
    pub max_total: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 65536,
            max_attrs: 1024,
            max_total: 1 << 20,
        }
    }
}

/// One ordered list of attributes: a request or a reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    items: Vec<(String, Vec<u8>)>,
}

/// Show a value in an error message: printable, at most 60 characters.
fn show(v: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(v)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Attrs {
    /// An empty list.
    pub fn new() -> Attrs {
        Attrs::default()
    }

    /// Append a string attribute. Sending fails later if `value`
    /// contains a newline or NUL.
    pub fn put_str(mut self, name: &str, value: &str) -> Attrs {
        self.push(name, value.as_bytes().to_vec());
        self
    }

    /// Append a string attribute given as raw bytes (8-bit addresses).
    pub fn put_bytes(mut self, name: &str, value: &[u8]) -> Attrs {
        self.push(name, value.to_vec());
        self
    }

    /// Append an int or long attribute (decimal).
    pub fn put_int(mut self, name: &str, value: i64) -> Attrs {
        self.push(name, value.to_string().into_bytes());
        self
    }

    /// Append a data attribute (base64 on the wire).
    pub fn put_data(mut self, name: &str, value: &[u8]) -> Attrs {
        self.push(name, BASE64.encode(value).into_bytes());
        self
    }

    /// Append a raw (already encoded) value, in place.
    pub fn push(&mut self, name: &str, raw: Vec<u8>) {
        self.items.push((name.to_string(), raw));
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `(name, raw value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.items.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The raw value of the first attribute `name`, if any.
    pub fn raw(&self, name: &str) -> Option<&[u8]> {
        self.items
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Raw values of every attribute `name`, in order (repeated attributes).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.items
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn need(&self, name: &str) -> Result<&[u8]> {
        self.raw(name)
            .ok_or_else(|| AttrError::Missing(name.to_string()))
    }

    fn bad(name: &str, want: &'static str, v: &[u8]) -> AttrError {
        AttrError::BadValue {
            name: name.to_string(),
            want,
            value: show(v),
        }
    }

    fn parse_long(name: &str, want: &'static str, v: &[u8]) -> Result<i64> {
        std::str::from_utf8(v)
            .ok()
            .filter(|s| !s.starts_with('+'))
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| Self::bad(name, want, v))
    }

    /// The long (i64) attribute `name`. Errors: missing, or not decimal.
    pub fn long(&self, name: &str) -> Result<i64> {
        Self::parse_long(name, "long", self.need(name)?)
    }

    /// The int (i32) attribute `name`. Errors: missing, not decimal, or
    /// out of range.
    pub fn int(&self, name: &str) -> Result<i32> {
        let v = self.need(name)?;
        i32::try_from(Self::parse_long(name, "int", v)?).map_err(|_| Self::bad(name, "int", v))
    }

    /// The string attribute `name` as UTF-8. Errors: missing, or not UTF-8.
    pub fn str(&self, name: &str) -> Result<&str> {
        let v = self.need(name)?;
        std::str::from_utf8(v).map_err(|_| Self::bad(name, "string", v))
    }

    /// The string attribute `name` as raw bytes. Errors: missing.
    pub fn bytes(&self, name: &str) -> Result<&[u8]> {
        self.need(name)
    }

    /// The data attribute `name`, base64-decoded. Errors: missing, or not
    /// valid base64.
    pub fn data(&self, name: &str) -> Result<Vec<u8>> {
        let v = self.need(name)?;
        BASE64.decode(v).map_err(|_| Self::bad(name, "data", v))
    }

    /// Like [`Attrs::long`] but `Ok(None)` when absent.
    pub fn opt_long(&self, name: &str) -> Result<Option<i64>> {
        self.raw(name).map(|_| self.long(name)).transpose()
    }

    /// Like [`Attrs::int`] but `Ok(None)` when absent.
    pub fn opt_int(&self, name: &str) -> Result<Option<i32>> {
        self.raw(name).map(|_| self.int(name)).transpose()
    }

    /// Like [`Attrs::str`] but `Ok(None)` when absent.
    pub fn opt_str(&self, name: &str) -> Result<Option<&str>> {
        self.raw(name).map(|_| self.str(name)).transpose()
    }

    /// Like [`Attrs::data`] but `Ok(None)` when absent.
    pub fn opt_data(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.raw(name).map(|_| self.data(name)).transpose()
    }

    /// The wire form of the list, end marker included. Errors: a bad name,
    /// or a newline or NUL in a value.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(
            self.items
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>()
                + 1,
        );
        for (n, v) in &self.items {
            if !name_ok(n) || v.iter().any(|&b| b == b'\n' || b == 0) {
                return Err(AttrError::Unsendable(n.clone()));
            }
            out.extend_from_slice(n.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v);
            out.push(b'\n');
        }
        out.push(b'\n');
        Ok(out)
    }
}

/// Writes attribute lists to a stream, one `write_all` per list.
#[derive(Debug)]
pub struct AttrWriter<W> {
    inner: W,
}

impl<W: Write> AttrWriter<W> {
    /// Wrap a stream.
    pub fn new(inner: W) -> Self {
        AttrWriter { inner }
    }

    /// Send one list and flush. Errors: [`AttrError::Unsendable`] (nothing
    /// is written then) or I/O.
    pub fn write(&mut self, attrs: &Attrs) -> Result<()> {
        let buf = attrs.encode()?;
        self.inner.write_all(&buf)?;
        self.inner.flush()?;
        Ok(())
    }

    /// The wrapped stream.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwrap.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Reads attribute lists from a stream, through a buffer.
///
/// The buffer may hold bytes that the peer sent after a list; use the
/// same reader for everything read from one stream, or [`AttrReader::buffered`]
/// to recover them.
#[derive(Debug)]
pub struct AttrReader<R> {
    inner: BufReader<R>,
    limits: Limits,
}

impl<R: Read> AttrReader<R> {
    /// Wrap a stream with the default [`Limits`].
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, Limits::default())
    }

    /// Wrap a stream with explicit limits.
    pub fn with_limits(inner: R, limits: Limits) -> Self {
        AttrReader {
            inner: BufReader::new(inner),
            limits,
        }
    }

    /// Read one line into `line` (newline stripped), at most `max` bytes
    /// including the newline. Returns the bytes consumed, 0 at EOF.
    fn read_line(&mut self, line: &mut Vec<u8>, max: usize) -> Result<usize> {
        line.clear();
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if buf.is_empty() {
                return if line.is_empty() {
                    Ok(0)
                } else {
                    Err(AttrError::Truncated)
                };
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if line.len() + take > max {
                return Err(AttrError::LineTooLong(self.limits.max_line));
            }
            line.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            if done {
                let n = line.len();
                line.pop();
                return Ok(n);
            }
        }
    }

    /// Read one list. `Ok(None)` when the stream ends cleanly before the
    /// first line of a list (the peer closed the connection). Errors: I/O,
    /// [`AttrError::Truncated`], a limit exceeded, or a malformed line.
    pub fn read(&mut self) -> Result<Option<Attrs>> {
        let mut attrs = Attrs::new();
        let mut total = 0usize;
        let mut line = Vec::new();
        loop {
            let max = self
                .limits
                .max_line
                .min(self.limits.max_total.saturating_sub(total).max(1));
            let n = match self.read_line(&mut line, max) {
                Err(AttrError::LineTooLong(_)) if max < self.limits.max_line => {
                    return Err(AttrError::TooLarge(self.limits.max_total))
                }
                r => r?,
            };
            if n == 0 {
                return if total == 0 {
                    Ok(None)
                } else {
                    Err(AttrError::Truncated)
                };
            }
            total += n;
            if line.is_empty() {
                return Ok(Some(attrs));
            }
            if attrs.len() >= self.limits.max_attrs {
                return Err(AttrError::TooManyAttrs(self.limits.max_attrs));
            }
            let eq = line
                .iter()
                .position(|&b| b == b'=')
                .ok_or_else(|| AttrError::Malformed(show(&line)))?;
            let name = std::str::from_utf8(&line[..eq]).ok().filter(|n| name_ok(n));
            let Some(name) = name else {
                return Err(AttrError::Malformed(show(&line)));
            };
            if line[eq + 1..].contains(&0) {
                return Err(AttrError::Malformed(show(&line)));
            }
            attrs.push(name, line[eq + 1..].to_vec());
        }
    }

    /// Bytes read from the stream but not yet returned in a list.
    pub fn buffered(&self) -> &[u8] {
        self.inner.buffer()
    }

    /// The wrapped stream (reading from it directly skips buffered bytes).
    pub fn get_mut(&mut self) -> &mut R {
        self.inner.get_mut()
    }
}

/// Send `attrs` on `stream` and read one reply list (a client stub's one
/// call). Errors: as [`AttrWriter::write`] and [`AttrReader::read`]; a
/// stream closed before the reply is [`AttrError::Truncated`]. In a
/// request/reply protocol the server sends nothing unasked, so no reply
/// bytes are lost to the reader's buffer.
pub fn request<S: Read + Write>(stream: &mut S, attrs: &Attrs) -> Result<Attrs> {
    AttrWriter::new(&mut *stream).write(attrs)?;
    AttrReader::new(stream).read()?.ok_or(AttrError::Truncated)
}

#[cfg(test)]
#[path = "attr_tests.rs"]
mod tests;
