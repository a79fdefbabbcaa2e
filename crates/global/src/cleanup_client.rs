//! NAME
//!   cleanup_client - submit a message to the cleanup service
//!
//! SYNOPSIS
//!   let mut s = CleanupSession::open(Path::new("public/cleanup"), timeout)?;
//!   let id = s.queue_id().to_string();
//!   s.envelope(&Submission { sender: "alice@example.com".into(),
//!                            recipients: vec![SubmitRecipient::new("bob@example.org")],
//!                            ..Submission::local() })?;
//!   s.write_content(b"Subject: hi\r\n\r\nbody\r\n")?;
//!   match s.finish() {
//!       Ok(Queued { queue_id }) => ...,               // on disk, fsynced
//!       Err(e) => (e.status(), e.reason()),           // rejected or failed
//!   }
//!
//! DESCRIPTION
//!   The client stub of cleanup(8), used by pickup, bounce and smtpd, for
//!   the protocol of doc/PIPELINE.md ("cleanup protocol"):
//!
//!   1. [`CleanupSession::open`] connects to the socket (normally
//!      `public/cleanup` (or `private/cleanup`) relative to `queue_directory`, the working
//!      directory of every daemon) and reads `queue_id=ID`: cleanup has
//!      created the queue file.
//!   2. [`CleanupSession::envelope`] sends the envelope as one attribute
//!      list ([`Submission`]).
//!   3. [`CleanupSession::write_content`] sends message content; CRLF
//!      line ends become LF (also across calls), and the bytes go out in
//!      chunks of `length\n` + bytes, at most [`MAX_CHUNK`] each.
//!   4. [`CleanupSession::finish`] sends the end chunk (`0\n`) and reads
//!      `status=N reason=... queue_id=ID`. Status 0 means the message is
//!      complete and fsynced in the queue: only then may smtpd answer
//!      `250 2.0.0 Ok: queued as ID`.
//!
//!   Every read and write has the timeout given to `open` (postconf(5)
//!   `ipc_timeout`; [`CleanupSession::open_config`] reads it).
//!
//! DIAGNOSTICS
//!   [`CleanupError`]: the service could not be reached or stopped
//!   answering (status [`STAT_WRITE`], `4.3.0 ...`), answered nonsense
//!   ([`STAT_BAD`]), or rejected the message ([`CleanupError::Rejected`]
//!   with cleanup's status bits and reason).
//!
//! SEE ALSO
//!   cleanup(8), doc/PIPELINE.md, Postfix cleanup_user.h and
//!   cleanup_strerror(3) for the status bits.
use crate::attr::{AttrError, AttrReader, AttrWriter, Attrs};
use crate::{Config, ConfigError};
use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// Where cleanup listens, relative to `queue_directory`: Postfix's
/// master.cf has `cleanup unix n ...`, so the socket is public (postdrop
/// and smtpd reach it like any client).
pub const CLEANUP_SOCKET: &str = "public/cleanup";
/// Where cleanup listens when master.cf marks it private (column 3 `y`
/// or `-`); [`CleanupSession::open_config`] falls back to it.
pub const CLEANUP_SOCKET_PRIVATE: &str = "private/cleanup";
/// Largest content chunk on the wire, in bytes.
pub const MAX_CHUNK: usize = 1 << 20;
/// Bytes buffered before a chunk is sent.
const SEND_CHUNK: usize = 64 * 1024;

/// Envelope flag: bounce problems found in the content (hop count, size
/// after acceptance) instead of rejecting the submission.
pub const FLAG_BOUNCE: i64 = 1;
/// Envelope flag: this is a bounce or notification (never bounce it again
/// in a loop).
pub const FLAG_NOTIFICATION: i64 = 2;
/// Envelope flag: put the message on hold.
pub const FLAG_HOLD: i64 = 4;
/// Envelope flag: skip header_checks(5) and body_checks for this message
/// (the client's `receive_override_options` has `no_header_body_checks`).
pub const FLAG_NO_HEADER_BODY_CHECKS: i64 = 8;

/// Status bit: bad request or queue file format (protocol error).
pub const STAT_BAD: i32 = 1;
/// Status bit: queue file write error.
pub const STAT_WRITE: i32 = 2;
/// Status bit: message larger than `message_size_limit`.
pub const STAT_SIZE: i32 = 4;
/// Status bit: content rejected.
pub const STAT_CONT: i32 = 8;
/// Status bit: too many hops (`hopcount_limit`, a mail loop).
pub const STAT_HOPS: i32 = 16;
/// Status bit: recipient problem (none, or none valid).
pub const STAT_RCPT: i32 = 32;
/// Status bit: try again later.
pub const STAT_DEFER: i32 = 64;

/// The default reason text for status bits, enhanced status code first
/// (Postfix's cleanup_strerror codes and texts; smtpd replies
/// `552 5.3.4 Error: message file too big`). The most serious bit wins,
/// in Postfix's order.
pub fn status_reason(status: i32) -> &'static str {
    const MAP: &[(i32, &str)] = &[
        (STAT_DEFER, "4.7.1 service unavailable"),
        (STAT_BAD, "4.3.0 internal protocol error"),
        (STAT_RCPT, "5.1.0 no recipients specified"),
        (STAT_HOPS, "5.4.0 too many hops"),
        (STAT_SIZE, "5.3.4 message file too big"),
        (STAT_CONT, "5.7.1 message content rejected"),
        (STAT_WRITE, "4.3.0 queue file write error"),
    ];
    MAP.iter()
        .find(|(bit, _)| status & bit != 0)
        .map_or("2.0.0 Success", |(_, text)| text)
}

/// One envelope recipient of a submission.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitRecipient {
    /// The address (internal form, no `<>`).
    pub address: String,
    /// RFC 3461 ORCPT as `type;address`.
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY bits (NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8; 0 =
    /// not given).
    pub notify: u8,
}

impl SubmitRecipient {
    /// A recipient with just an address.
    pub fn new(address: &str) -> SubmitRecipient {
        SubmitRecipient {
            address: address.to_string(),
            ..SubmitRecipient::default()
        }
    }
}

/// The envelope of a submission (doc/PIPELINE.md, step 2). Optional
/// fields are sent only when set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Submission {
    /// [`FLAG_BOUNCE`] | [`FLAG_NOTIFICATION`] | [`FLAG_HOLD`].
    pub flags: i64,
    /// Envelope sender; empty for the null sender.
    pub sender: String,
    /// Recipients in order.
    pub recipients: Vec<SubmitRecipient>,
    /// RFC 3461 ENVID.
    pub envid: Option<String>,
    /// RFC 3461 RET: `full` or `hdrs`.
    pub ret: Option<String>,
    /// `host[ip]` for logging.
    pub log_client: Option<String>,
    /// Client host name (verified).
    pub client_name: Option<String>,
    /// Client IP address.
    pub client_address: Option<String>,
    /// Client TCP port.
    pub client_port: Option<String>,
    /// HELO/EHLO argument.
    pub helo_name: Option<String>,
    /// `ESMTP`, `SMTP`, `sendmail`, ...
    pub protocol_name: Option<String>,
    /// `local` (sendmail, pickup, bounce, smtpd for
    /// `local_header_rewrite_clients`) or `remote` (other smtpd clients;
    /// pickup passes a requeued message's own).
    pub rewrite_context: String,
    /// `7bit` or `8bit`.
    pub encoding: Option<String>,
    /// The sender's full name (`sendmail -F`), used in an added `From:`.
    pub fullname: Option<String>,
    /// The sender asked for SMTPUTF8.
    pub smtputf8: bool,
    /// SASL mechanism.
    pub sasl_method: Option<String>,
    /// SASL login name.
    pub sasl_username: Option<String>,
    /// SASL sender (MAIL FROM AUTH=).
    pub sasl_sender: Option<String>,
    /// Content filter for this message, `transport:nexthop` (access(5)
    /// FILTER, or the client's `content_filter`); `Some("")` says "no
    /// filter" explicitly, `None` lets cleanup apply its own
    /// `content_filter`.
    pub filter: Option<String>,
    /// access(5) REDIRECT: deliver to this address instead of the
    /// recipients.
    pub redirect: Option<String>,
    /// More `name=value` attributes (protocols grow).
    pub extra: Vec<(String, String)>,
}

impl Submission {
    /// An empty submission in the `local` rewrite context.
    pub fn local() -> Submission {
        Submission {
            rewrite_context: "local".into(),
            ..Submission::default()
        }
    }

    /// The attribute list sent on the wire.
    pub fn to_attrs(&self) -> Attrs {
        let mut a = Attrs::new()
            .put_int("flags", self.flags)
            .put_str("sender", &self.sender);
        for r in &self.recipients {
            a = a.put_str("rcpt", &r.address);
            if let Some(o) = &r.orcpt {
                a = a.put_str("rcpt_orcpt", o);
            }
            if r.notify != 0 {
                a = a.put_int("rcpt_notify", i64::from(r.notify));
            }
        }
        let opt = [
            ("envid", &self.envid),
            ("ret", &self.ret),
            ("log_client", &self.log_client),
            ("client_name", &self.client_name),
            ("client_address", &self.client_address),
            ("client_port", &self.client_port),
            ("helo_name", &self.helo_name),
            ("protocol_name", &self.protocol_name),
            ("encoding", &self.encoding),
            ("fullname", &self.fullname),
            ("sasl_method", &self.sasl_method),
            ("sasl_username", &self.sasl_username),
            ("sasl_sender", &self.sasl_sender),
            ("filter", &self.filter),
            ("redirect", &self.redirect),
        ];
        for (name, value) in opt {
            if let Some(v) = value {
                a = a.put_str(name, v);
            }
        }
        let ctx = if self.rewrite_context.is_empty() {
            "local"
        } else {
            &self.rewrite_context
        };
        a = a
            .put_str("rewrite_context", ctx)
            .put_int("smtputf8", i64::from(self.smtputf8));
        for (n, v) in &self.extra {
            a = a.put_str(n, v);
        }
        a
    }
}

/// A message cleanup has queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The queue ID.
    pub queue_id: String,
}

/// Why a submission did not end with [`Queued`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CleanupError {
    /// The service could not be reached, or the connection failed or
    /// timed out (a temporary problem).
    #[error("cleanup service {what}: {source}")]
    Io {
        /// What was being done: `connect`, `read`, `write`.
        what: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// cleanup's answer was malformed or incomplete.
    #[error("cleanup service protocol error: {0}")]
    Protocol(String),
    /// cleanup refused the message (nothing is left in the queue).
    #[error("{reason}")]
    Rejected {
        /// Status bits ([`STAT_SIZE`], ...).
        status: i32,
        /// Enhanced status code and text, e.g. `5.3.4 message file too big`.
        reason: String,
    },
}

impl CleanupError {
    /// cleanup's status bits; [`STAT_WRITE`] for I/O problems and
    /// [`STAT_BAD`] for protocol errors.
    pub fn status(&self) -> i32 {
        match self {
            CleanupError::Io { .. } => STAT_WRITE,
            CleanupError::Protocol(_) => STAT_BAD,
            CleanupError::Rejected { status, .. } => *status,
        }
    }

    /// The reason with its enhanced status code first; I/O and protocol
    /// problems give `4.3.0 ...` texts.
    pub fn reason(&self) -> String {
        match self {
            CleanupError::Rejected { reason, .. } => reason.clone(),
            other => status_reason(other.status()).to_string(),
        }
    }

    /// Whether the problem is temporary (4.x.x): try again later.
    pub fn is_temporary(&self) -> bool {
        self.reason().starts_with('4')
    }
}

fn attr_err(what: &'static str) -> impl Fn(AttrError) -> CleanupError {
    move |e| match e {
        AttrError::Io(source) => CleanupError::Io { what, source },
        other => CleanupError::Protocol(other.to_string()),
    }
}

/// One submission in progress.
#[derive(Debug)]
pub struct CleanupSession {
    stream: UnixStream,
    queue_id: String,
    pending: Vec<u8>,
    held_cr: bool,
}

impl CleanupSession {
    /// Connect to cleanup at `path` and read the queue ID. `timeout`
    /// bounds every later read and write. Errors: connect, read, or a
    /// greeting without `queue_id`.
    pub fn open(path: &Path, timeout: Duration) -> Result<CleanupSession, CleanupError> {
        let stream = UnixStream::connect(path).map_err(|source| CleanupError::Io {
            what: "connect",
            source,
        })?;
        let t = Some(timeout.max(Duration::from_millis(1)));
        stream
            .set_read_timeout(t)
            .and_then(|()| stream.set_write_timeout(t))
            .map_err(|source| CleanupError::Io {
                what: "connect",
                source,
            })?;
        let hello = AttrReader::new(&stream)
            .read()
            .map_err(attr_err("read"))?
            .ok_or_else(|| {
                CleanupError::Protocol("connection closed before the queue ID".into())
            })?;
        let queue_id = hello.str("queue_id").map_err(attr_err("read"))?.to_string();
        Ok(CleanupSession {
            stream,
            queue_id,
            pending: Vec::with_capacity(SEND_CHUNK),
            held_cr: false,
        })
    }

    /// [`CleanupSession::open`] on [`CLEANUP_SOCKET`] (relative to the
    /// current directory, `queue_directory` in daemons) with
    /// `ipc_timeout` from `cfg`. Errors: a bad `ipc_timeout`, or as `open`.
    pub fn open_config(cfg: &Config) -> Result<CleanupSession, CleanupError> {
        let t = cfg
            .get_time("ipc_timeout")
            .map_err(|e: ConfigError| CleanupError::Protocol(e.to_string()))?;
        let path =
            if Path::new(CLEANUP_SOCKET).exists() || !Path::new(CLEANUP_SOCKET_PRIVATE).exists() {
                CLEANUP_SOCKET
            } else {
                CLEANUP_SOCKET_PRIVATE
            };
        Self::open(Path::new(path), Duration::from_secs(t))
    }

    /// The queue ID cleanup assigned.
    pub fn queue_id(&self) -> &str {
        &self.queue_id
    }

    /// Send the envelope. Errors: write failure or timeout; a value with
    /// a newline or NUL ([`CleanupError::Protocol`]).
    pub fn envelope(&mut self, sub: &Submission) -> Result<(), CleanupError> {
        AttrWriter::new(&self.stream)
            .write(&sub.to_attrs())
            .map_err(attr_err("write"))
    }

    /// Send message content (headers, empty line, body). CRLF becomes
    /// LF. May be called any number of times. Errors: write failure or
    /// timeout.
    pub fn write_content(&mut self, bytes: &[u8]) -> Result<(), CleanupError> {
        let mut rest = bytes;
        if self.held_cr {
            self.held_cr = false;
            if rest.first() != Some(&b'\n') {
                self.pending.push(b'\r');
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\r') {
            self.pending.extend_from_slice(&rest[..pos]);
            match rest.get(pos + 1) {
                Some(b'\n') => {}
                Some(_) => self.pending.push(b'\r'),
                None => self.held_cr = true,
            }
            rest = &rest[pos + 1..];
            if self.pending.len() >= SEND_CHUNK {
                self.flush_chunks()?;
            }
        }
        self.pending.extend_from_slice(rest);
        if self.pending.len() >= SEND_CHUNK {
            self.flush_chunks()?;
        }
        Ok(())
    }

    fn flush_chunks(&mut self) -> Result<(), CleanupError> {
        let mut out = &self.stream;
        for chunk in self.pending.chunks(MAX_CHUNK) {
            writeln!(out, "{}", chunk.len())
                .and_then(|()| out.write_all(chunk))
                .map_err(|source| CleanupError::Io {
                    what: "write",
                    source,
                })?;
        }
        self.pending.clear();
        Ok(())
    }

    /// End the content and read cleanup's verdict. `Ok` means the
    /// message is safely queued. Errors: [`CleanupError::Rejected`] with
    /// cleanup's status and reason, or an I/O or protocol problem (the
    /// message may or may not have been queued; treat as temporary).
    pub fn finish(mut self) -> Result<Queued, CleanupError> {
        if self.held_cr {
            self.held_cr = false;
            self.pending.push(b'\r');
        }
        self.flush_chunks()?;
        (&self.stream)
            .write_all(b"0\n")
            .map_err(|source| CleanupError::Io {
                what: "write",
                source,
            })?;
        let reply = AttrReader::new(&self.stream)
            .read()
            .map_err(attr_err("read"))?
            .ok_or_else(|| CleanupError::Protocol("connection closed before the status".into()))?;
        let status = reply.int("status").map_err(attr_err("read"))?;
        let queue_id = reply
            .opt_str("queue_id")
            .ok()
            .flatten()
            .unwrap_or(&self.queue_id)
            .to_string();
        if status == 0 {
            return Ok(Queued { queue_id });
        }
        let reason = match reply.opt_str("reason") {
            Ok(Some(r)) if !r.is_empty() => r.to_string(),
            _ => status_reason(status).to_string(),
        };
        Err(CleanupError::Rejected { status, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::os::unix::net::UnixListener;

    /// A fake cleanup: greets, reads envelope and chunks, answers `reply`.
    type Fake = (
        tempfile::TempDir,
        std::path::PathBuf,
        std::thread::JoinHandle<(Attrs, Vec<u8>)>,
    );

    fn fake(reply: Attrs) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cleanup");
        let l = UnixListener::bind(&path).unwrap();
        let t = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            AttrWriter::new(&s)
                .write(&Attrs::new().put_str("queue_id", "4ABCDz1"))
                .unwrap();
            let mut r = AttrReader::new(&s);
            let env = r.read().unwrap().unwrap();
            let buffered = r.buffered().to_vec();
            let mut input = BufReader::new(std::io::Cursor::new(buffered).chain(&s));
            let mut content = Vec::new();
            loop {
                let mut line = String::new();
                input.read_line(&mut line).unwrap();
                let n: usize = line.trim_end().parse().unwrap();
                if n == 0 {
                    break;
                }
                let mut buf = vec![0; n];
                input.read_exact(&mut buf).unwrap();
                content.extend(buf);
            }
            AttrWriter::new(&s).write(&reply).unwrap();
            (env, content)
        });
        (dir, path, t)
    }

    #[test]
    fn submission_round_trip() {
        let (_d, path, t) = fake(
            Attrs::new()
                .put_int("status", 0)
                .put_str("queue_id", "4ABCDz1"),
        );
        let mut s = CleanupSession::open(&path, Duration::from_secs(10)).unwrap();
        assert_eq!(s.queue_id(), "4ABCDz1");
        let sub = Submission {
            sender: "a@example.com".into(),
            recipients: vec![
                SubmitRecipient::new("b@example.org"),
                SubmitRecipient {
                    address: "c@example.org".into(),
                    orcpt: Some("rfc822;c@example.org".into()),
                    notify: 6,
                },
            ],
            protocol_name: Some("ESMTP".into()),
            ..Submission::local()
        };
        s.envelope(&sub).unwrap();
        s.write_content(b"Subject: x\r").unwrap();
        s.write_content(b"\n\r\nbody\rline\r\n").unwrap();
        s.write_content(&vec![b'y'; 200_000]).unwrap();
        s.write_content(b"\r").unwrap();
        let q = s.finish().unwrap();
        assert_eq!(q.queue_id, "4ABCDz1");
        let (env, content) = t.join().unwrap();
        assert_eq!(env.str("sender").unwrap(), "a@example.com");
        let rcpts: Vec<&[u8]> = env.all("rcpt").collect();
        assert_eq!(rcpts, vec![&b"b@example.org"[..], b"c@example.org"]);
        assert_eq!(env.int("rcpt_notify").unwrap(), 6);
        assert_eq!(env.str("rewrite_context").unwrap(), "local");
        assert_eq!(env.str("protocol_name").unwrap(), "ESMTP");
        assert!(env.opt_str("filter").unwrap().is_none());
        let mut want = b"Subject: x\n\nbody\rline\n".to_vec();
        want.extend(vec![b'y'; 200_000]);
        want.push(b'\r');
        assert_eq!(content, want);
    }

    #[test]
    fn rejection_carries_status_and_reason() {
        let (_d, path, t) = fake(
            Attrs::new()
                .put_int("status", STAT_SIZE as i64)
                .put_str("reason", "5.3.4 message file too big"),
        );
        let mut s = CleanupSession::open(&path, Duration::from_secs(10)).unwrap();
        s.envelope(&Submission::local()).unwrap();
        let e = s.finish().unwrap_err();
        assert_eq!(e.status(), STAT_SIZE);
        assert_eq!(e.reason(), "5.3.4 message file too big");
        assert!(!e.is_temporary());
        t.join().unwrap();
    }

    #[test]
    fn missing_reason_uses_the_status_table() {
        let (_d, path, t) = fake(Attrs::new().put_int("status", STAT_HOPS as i64));
        let mut s = CleanupSession::open(&path, Duration::from_secs(10)).unwrap();
        s.envelope(&Submission::local()).unwrap();
        assert_eq!(s.finish().unwrap_err().reason(), "5.4.0 too many hops");
        t.join().unwrap();
        assert_eq!(
            status_reason(STAT_WRITE | STAT_SIZE),
            "5.3.4 message file too big"
        );
        assert_eq!(status_reason(0), "2.0.0 Success");
    }

    #[test]
    fn unreachable_service_is_temporary() {
        let e = CleanupSession::open(Path::new("/nonexistent/cleanup"), Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(e.status(), STAT_WRITE);
        assert!(e.is_temporary());
        assert!(
            e.to_string().starts_with("cleanup service connect: "),
            "{e}"
        );
    }
}
