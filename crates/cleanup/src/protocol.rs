//! NAME
//!   protocol - the wire side of the cleanup service (doc/PIPELINE.md)
//!
//! DESCRIPTION
//!   [`Envelope::from_attrs`] decodes the client's envelope list: `flags`,
//!   `sender`, recipient groups (`rcpt` then its optional `rcpt_orcpt`
//!   and `rcpt_notify`), `envid`, `ret`, `fullname`, `rewrite_context`,
//!   `filter` (content filter; empty = none) and `redirect` (access(5)),
//!   and the client attributes that are kept in the queue file as `A`
//!   records. [`ChunkReader`] reads the content framing: a decimal length,
//!   a newline, that many bytes; length 0 ends the content.
//!
//!   [`envelope_limits`] bounds the envelope list: postconf(5) counts
//!   envelope information in `message_size_limit`, so the list may be
//!   that large (at least [`MIN_ENVELOPE_BYTES`]; [`UNLIMITED_ENVELOPE_BYTES`]
//!   when the limit is 0) with up to [`MAX_ENVELOPE_ATTRS`] attributes,
//!   enough for Postfix-like recipient counts in bounded memory. A list
//!   past those bounds is skipped with [`skip_list`] so that the client
//!   still hears the answer (5.3.4).
//!
//! DIAGNOSTICS
//!   Malformed input gives an error text; the session answers status 1
//!   (bad) and keeps no file.
use global::attr::{Attrs, Limits};
use std::io::{self, BufRead, Read};

/// Most attributes in one envelope list (about that many recipients).
pub const MAX_ENVELOPE_ATTRS: usize = 1 << 20;
/// The envelope may always be this large (bytes), whatever
/// `message_size_limit` says.
pub const MIN_ENVELOPE_BYTES: usize = 1 << 20;
/// The bound (bytes) on an envelope when `message_size_limit` is 0.
pub const UNLIMITED_ENVELOPE_BYTES: usize = 256 << 20;

/// Reader limits for the envelope list, given `message_size_limit`
/// (bytes, 0 = none).
pub fn envelope_limits(message_size_limit: u64) -> Limits {
    let total = if message_size_limit == 0 {
        UNLIMITED_ENVELOPE_BYTES
    } else {
        usize::try_from(message_size_limit)
            .unwrap_or(usize::MAX)
            .clamp(MIN_ENVELOPE_BYTES, UNLIMITED_ENVELOPE_BYTES)
    };
    Limits {
        max_attrs: MAX_ENVELOPE_ATTRS,
        max_total: total,
        ..Limits::default()
    }
}

/// Skip the rest of an attribute list whose reading stopped at a limit:
/// discard lines up to and including the empty line that ends it.
/// Errors: I/O, or end of input first.
pub fn skip_list<R: BufRead>(input: &mut R) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        // A bounded read per step: memory stays small for any line.
        let n = input
            .by_ref()
            .take(64 * 1024)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of input in the envelope",
            ));
        }
        if line == b"\n" {
            return Ok(());
        }
        // A long line is read in steps; only a whole empty line ends.
        while line.last() != Some(&b'\n') {
            line.clear();
            if input
                .by_ref()
                .take(64 * 1024)
                .read_until(b'\n', &mut line)?
                == 0
            {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of input in the envelope",
                ));
            }
        }
    }
}

/// The largest chunk a client may send.
pub const MAX_CHUNK: usize = global::cleanup_client::MAX_CHUNK;

/// Client attributes kept in the queue file as `A` records.
pub const KEPT_ATTRS: &[&str] = &[
    "log_client",
    "client_name",
    "reverse_client_name",
    "client_address",
    "client_port",
    "helo_name",
    "protocol_name",
    "sasl_method",
    "sasl_username",
    "sasl_sender",
    "rewrite_context",
    "encoding",
    "smtputf8",
];

/// One recipient as the client gave it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InRcpt {
    /// The address.
    pub addr: String,
    /// RFC 3461 ORCPT.
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY bits.
    pub notify: u8,
}

/// The decoded envelope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// Submission flags (global::cleanup_client::FLAG_*).
    pub flags: i64,
    /// The sender as given.
    pub sender: String,
    /// Recipients in order.
    pub rcpts: Vec<InRcpt>,
    /// RFC 3461 ENVID.
    pub envid: Option<String>,
    /// RFC 3461 RET (`full`, `hdrs`).
    pub ret: Option<queue::DsnRet>,
    /// Full name for an added From:.
    pub fullname: Option<String>,
    /// `local` or `remote`.
    pub context: resolve::Context,
    /// Attributes for the queue file.
    pub attrs: Vec<(String, String)>,
    /// The client's content filter (`Some("")`: explicitly none).
    pub filter: Option<String>,
    /// access(5) REDIRECT address.
    pub redirect: Option<String>,
}

impl Envelope {
    /// Decode `a`. Errors: a missing sender, a per-recipient attribute
    /// before any `rcpt`, or a bad number or keyword.
    pub fn from_attrs(a: &Attrs) -> Result<Envelope, String> {
        let mut env = Envelope::default();
        let mut have_sender = false;
        for (name, raw) in a.iter() {
            let text = || {
                String::from_utf8(raw.to_vec()).map_err(|_| format!("attribute {name}: not UTF-8"))
            };
            match name {
                "flags" => {
                    env.flags = text()?.parse().map_err(|_| "bad flags value".to_string())?
                }
                "sender" => {
                    env.sender = text()?;
                    have_sender = true;
                }
                "rcpt" => env.rcpts.push(InRcpt {
                    addr: text()?,
                    ..InRcpt::default()
                }),
                "rcpt_orcpt" => {
                    last_rcpt(&mut env, name)?.orcpt = Some(text()?).filter(|s| !s.is_empty())
                }
                "rcpt_notify" => {
                    let n = text()?
                        .parse::<u8>()
                        .map_err(|_| "bad rcpt_notify value".to_string())?;
                    last_rcpt(&mut env, name)?.notify = n;
                }
                "envid" => env.envid = Some(text()?).filter(|s| !s.is_empty()),
                "ret" => {
                    env.ret = match text()?.to_ascii_lowercase().as_str() {
                        "full" | "1" => Some(queue::DsnRet::Full),
                        "hdrs" | "2" => Some(queue::DsnRet::Hdrs),
                        "" => None,
                        other => return Err(format!("bad ret value: {other}")),
                    }
                }
                "fullname" => env.fullname = Some(text()?).filter(|s| !s.is_empty()),
                "filter" => env.filter = Some(text()?),
                "redirect" => env.redirect = Some(text()?).filter(|s| !s.is_empty()),
                "rewrite_context" => {
                    let v = text()?;
                    env.context = resolve::Context::parse(&v)
                        .ok_or_else(|| format!("bad rewrite_context: {v}"))?;
                    env.attrs.push((name.to_string(), v));
                }
                n if KEPT_ATTRS.contains(&n) => env.attrs.push((n.to_string(), text()?)),
                _ => {}
            }
        }
        if !have_sender {
            return Err("missing attribute: sender".into());
        }
        Ok(env)
    }
}

fn last_rcpt<'e>(env: &'e mut Envelope, name: &str) -> Result<&'e mut InRcpt, String> {
    env.rcpts
        .last_mut()
        .ok_or_else(|| format!("attribute {name} before any rcpt"))
}

/// Reader of the chunked content.
#[derive(Debug)]
pub struct ChunkReader<R> {
    inner: R,
    ended: bool,
}

impl<R: BufRead> ChunkReader<R> {
    /// Wrap a buffered stream positioned at the first chunk.
    pub fn new(inner: R) -> ChunkReader<R> {
        ChunkReader {
            inner,
            ended: false,
        }
    }

    /// Read the next chunk into `buf` (replacing its contents). Returns
    /// `false` at the end marker. Errors: I/O, end of input before the end
    /// marker, or a bad length line.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        if self.ended {
            return Ok(false);
        }
        let mut line = Vec::new();
        (&mut self.inner).take(16).read_until(b'\n', &mut line)?;
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        if line.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of input before the end of the content",
            ));
        }
        if line.pop() != Some(b'\n') || line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
            return Err(bad("bad content chunk length"));
        }
        let n: usize = std::str::from_utf8(&line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad content chunk length"))?;
        if n > MAX_CHUNK {
            return Err(bad("content chunk too large"));
        }
        if n == 0 {
            self.ended = true;
            return Ok(false);
        }
        buf.resize(n, 0);
        self.inner.read_exact(buf)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn envelope_decoding() {
        let a = Attrs::new()
            .put_int("flags", 1)
            .put_str("sender", "a@x")
            .put_str("rcpt", "b@y")
            .put_str("rcpt_orcpt", "rfc822;b@y")
            .put_int("rcpt_notify", 6)
            .put_str("rcpt", "c@y")
            .put_str("ret", "hdrs")
            .put_str("rewrite_context", "remote")
            .put_str("client_address", "192.0.2.1")
            .put_str("filter", "smtp:[127.0.0.1]:10025")
            .put_str("redirect", "r@z")
            .put_str("unknown_future", "x");
        let e = Envelope::from_attrs(&a).unwrap();
        assert_eq!(e.flags, 1);
        assert_eq!(e.rcpts.len(), 2);
        assert_eq!(e.rcpts[0].orcpt.as_deref(), Some("rfc822;b@y"));
        assert_eq!(e.rcpts[0].notify, 6);
        assert_eq!(e.rcpts[1].notify, 0);
        assert_eq!(e.ret, Some(queue::DsnRet::Hdrs));
        assert_eq!(e.context, resolve::Context::Remote);
        assert!(e
            .attrs
            .contains(&("client_address".into(), "192.0.2.1".into())));
        assert!(!e.attrs.iter().any(|(n, _)| n == "unknown_future"));
        assert_eq!(e.filter.as_deref(), Some("smtp:[127.0.0.1]:10025"));
        assert_eq!(e.redirect.as_deref(), Some("r@z"));
    }

    #[test]
    fn envelope_errors() {
        assert!(Envelope::from_attrs(&Attrs::new().put_str("rcpt", "b")).is_err());
        let e = Envelope::from_attrs(&Attrs::new().put_str("sender", "").put_int("rcpt_notify", 2))
            .unwrap_err();
        assert_eq!(e, "attribute rcpt_notify before any rcpt");
        assert!(Envelope::from_attrs(
            &Attrs::new()
                .put_str("sender", "")
                .put_str("rewrite_context", "x")
        )
        .is_err());
    }

    #[test]
    fn envelope_limits_follow_message_size_limit() {
        let l = envelope_limits(10_240_000);
        assert_eq!((l.max_attrs, l.max_total), (MAX_ENVELOPE_ATTRS, 10_240_000));
        assert_eq!(envelope_limits(1000).max_total, MIN_ENVELOPE_BYTES);
        assert_eq!(envelope_limits(0).max_total, UNLIMITED_ENVELOPE_BYTES);
        // 5,000 recipients fit; the attribute protocol's defaults do not.
        let mut a = Attrs::new().put_str("sender", "s@x");
        for i in 0..5000 {
            a = a.put_str("rcpt", &format!("user{i}@example.com"));
        }
        let bytes = a.encode().unwrap();
        let read = |l| global::attr::AttrReader::with_limits(&bytes[..], l).read();
        assert!(read(Limits::default()).is_err());
        assert_eq!(
            read(envelope_limits(10_240_000)).unwrap().unwrap().len(),
            5001
        );
    }

    #[test]
    fn skipping_the_rest_of_a_list() {
        let long = "x".repeat(200_000);
        let input = format!("a=1\nb={long}\n\n3\nabc0\n");
        let mut r = io::BufReader::new(input.as_bytes());
        skip_list(&mut r).unwrap();
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "3\nabc0\n");
        assert!(skip_list(&mut io::BufReader::new(&b"a=1\n"[..])).is_err());
    }

    #[test]
    fn chunks() {
        let mut r = ChunkReader::new(Cursor::new(b"3\nabc2\n\n\n0\n".to_vec()));
        let mut buf = Vec::new();
        assert!(r.next_chunk(&mut buf).unwrap());
        assert_eq!(buf, b"abc");
        assert!(r.next_chunk(&mut buf).unwrap());
        assert_eq!(buf, b"\n\n");
        assert!(!r.next_chunk(&mut buf).unwrap());
        assert!(!r.next_chunk(&mut buf).unwrap());
        for bad in [
            &b"x\n"[..],
            b"3\nab",
            b"",
            b"99999999\n",
            b"12345678901234567890\n",
            b"-1\n",
        ] {
            let mut r = ChunkReader::new(Cursor::new(bad.to_vec()));
            assert!(
                r.next_chunk(&mut buf).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
