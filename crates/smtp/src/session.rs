//! NAME
//!   session - one SMTP/LMTP connection: I/O with deadlines, greeting, EHLO
//!
//! DESCRIPTION
//!   A [`Session`] owns the [`Transport`] and its own input buffer, the
//!   server's name and address for log text, and the ESMTP [`Features`]
//!   the server announced. [`Session::handshake`] reads the greeting and
//!   sends EHLO (or HELO, or LHLO for LMTP) as Postfix does:
//!
//!   - a greeting that is not 2xx fails the attempt with `host H
//!     refused to talk to me: REPLY`; with `smtp_skip_5xx_greeting` a
//!     5xx greeting counts as a temporary failure, so the next MX host
//!     is tried and the mail is deferred, not bounced;
//!   - EHLO is sent when `smtp_always_send_ehlo` is set (default) or the
//!     greeting says `ESMTP`, HELO when `smtp_never_send_ehlo` is set;
//!     a 5xx reply to EHLO falls back to HELO;
//!   - EHLO keywords are parsed case-insensitively (`SIZE n`,
//!     `PIPELINING`, `8BITMIME`, `SMTPUTF8`, `DSN`, `STARTTLS`,
//!     `CHUNKING`, `ENHANCEDSTATUSCODES`, `AUTH mech...` and the old
//!     `AUTH=mech...` form), less `smtp_discard_ehlo_keywords`.
//!
//!   STARTTLS (issue 7) plugs in through [`Session::upgrade`]: the
//!   transport is swapped in place, every byte buffered behind the
//!   STARTTLS reply is discarded, and every feature is forgotten, so
//!   the caller sends EHLO again ([`Session::ehlo`]).
//!
//!   Every read and write has the deadline of its stage; a failure
//!   becomes the texts Postfix logs: `lost connection with H[A] while
//!   STAGE` and `conversation with H[A] timed out while STAGE` (4.4.2).
//!
//! SEE ALSO
//!   RFC 5321, RFC 1869, RFC 2033 (LHLO), RFC 3207.
use crate::conn::Transport;
use crate::params::{Params, Proto};
use crate::reply::{Reply, ReplyParser};
use deliver::Dsn;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Longest input line kept; longer ones are cut (the rest discarded).
pub const MAX_LINE: usize = 8192;
/// Most lines read for one reply before the server is given up on.
pub const MAX_REPLY_LINES: usize = 2000;

/// ESMTP service extensions the server announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// EHLO/LHLO succeeded.
    pub esmtp: bool,
    /// RFC 2920.
    pub pipelining: bool,
    /// RFC 1870: `Some(limit)` (0 = no fixed limit).
    pub size: Option<u64>,
    /// RFC 6152.
    pub eightbitmime: bool,
    /// RFC 6531.
    pub smtputf8: bool,
    /// RFC 3461.
    pub dsn: bool,
    /// RFC 3207.
    pub starttls: bool,
    /// RFC 3030.
    pub chunking: bool,
    /// RFC 2034.
    pub enhanced_codes: bool,
    /// SASL mechanisms, upper case (both `AUTH` forms).
    pub auth: Vec<String>,
}

impl Features {
    /// Parse the keyword lines of an EHLO reply (the first line is the
    /// server's name), leaving out `discard` keywords (upper case).
    pub fn parse(reply: &Reply, discard: &[String]) -> Features {
        let mut f = Features {
            esmtp: true,
            ..Features::default()
        };
        for line in reply.payloads().skip(1) {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            let first = first.to_ascii_uppercase();
            let (kw, rest): (&str, Vec<&str>) = match first.split_once('=') {
                Some(("AUTH", m)) => ("AUTH", std::iter::once(m).chain(words).collect()),
                _ => (first.as_str(), words.collect()),
            };
            if discard.iter().any(|d| d == kw) {
                continue;
            }
            match kw {
                "PIPELINING" => f.pipelining = true,
                "SIZE" => f.size = Some(rest.first().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => f.eightbitmime = true,
                "SMTPUTF8" => f.smtputf8 = true,
                "DSN" => f.dsn = true,
                "STARTTLS" => f.starttls = true,
                "CHUNKING" => f.chunking = true,
                "ENHANCEDSTATUSCODES" => f.enhanced_codes = true,
                "AUTH" => {
                    for m in rest {
                        let m = m.to_ascii_uppercase();
                        if !m.is_empty() && !f.auth.contains(&m) {
                            f.auth.push(m);
                        }
                    }
                }
                _ => {}
            }
        }
        f
    }
}

/// What the client was doing (for `while ...` and `in reply to ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the 220 greeting.
    Greeting,
    /// EHLO, HELO or LHLO (the command name).
    Helo(&'static str),
    /// MAIL FROM.
    Mail,
    /// RCPT TO.
    Rcpt,
    /// DATA (waiting for 354).
    Data,
    /// Message content.
    Body,
    /// The final dot.
    Dot,
    /// RSET.
    Rset,
    /// QUIT.
    Quit,
}

impl Stage {
    /// `while ...` text of lost-connection and timeout messages.
    pub fn doing(self) -> String {
        match self {
            Stage::Greeting => "receiving the initial server greeting".into(),
            Stage::Helo(c) => format!("performing the {c} handshake"),
            Stage::Mail => "sending MAIL FROM".into(),
            Stage::Rcpt => "sending RCPT TO".into(),
            Stage::Data => "sending DATA command".into(),
            Stage::Body => "sending message body".into(),
            Stage::Dot => "sending end of data -- message may be sent more than once".into(),
            Stage::Rset => "sending RSET".into(),
            Stage::Quit => "sending QUIT".into(),
        }
    }

    /// `in reply to ...` text of server replies.
    pub fn command(self) -> String {
        match self {
            Stage::Greeting => "initial greeting".into(),
            Stage::Helo(c) => format!("{c} command"),
            Stage::Mail => "MAIL FROM command".into(),
            Stage::Rcpt => "RCPT TO command".into(),
            Stage::Data | Stage::Body => "DATA command".into(),
            Stage::Dot => "end of DATA command".into(),
            Stage::Rset => "RSET command".into(),
            Stage::Quit => "QUIT command".into(),
        }
    }
}

/// One connection to a server.
#[derive(Debug)]
pub struct Session {
    io: Option<Box<dyn Transport>>,
    rbuf: Vec<u8>,
    /// Server host name for log text.
    pub host: String,
    /// Server address (IP text) or socket path.
    pub addr: String,
    /// TCP port; `None` for a UNIX-domain socket.
    pub port: Option<u16>,
    /// Announced extensions.
    pub features: Features,
    /// smtp or lmtp.
    pub proto: Proto,
    /// When the connection was made.
    pub created: Instant,
    /// Transactions completed on this connection.
    pub reuse_count: u32,
    /// The connection can no longer be used.
    pub broken: bool,
    /// STARTTLS succeeded on this connection.
    pub tls_on: bool,
}

impl Session {
    /// A session over `io` to `host` at `addr` (and `port`).
    pub fn new(
        io: Box<dyn Transport>,
        proto: Proto,
        host: &str,
        addr: &str,
        port: Option<u16>,
    ) -> Session {
        Session {
            io: Some(io),
            rbuf: Vec::new(),
            host: host.to_string(),
            addr: addr.to_string(),
            port,
            features: Features::default(),
            proto,
            created: Instant::now(),
            reuse_count: 0,
            broken: false,
            tls_on: false,
        }
    }

    /// `host[addr]`, as in `host ... said:`.
    pub fn namaddr(&self) -> String {
        format!("{}[{}]", self.host, self.addr)
    }

    /// `host[addr]:port` (or `host[path]`), the `relay=` value.
    pub fn relay(&self) -> String {
        match self.port {
            Some(p) => format!("{}[{}]:{p}", self.host, self.addr),
            None => self.namaddr(),
        }
    }

    /// Swap the transport (STARTTLS): `f` gets the old one and returns
    /// the new one. Buffered input and announced features are dropped.
    /// Errors: `f`'s; the session is then broken.
    pub fn upgrade<F>(&mut self, f: F) -> io::Result<()>
    where
        F: FnOnce(Box<dyn Transport>) -> io::Result<Box<dyn Transport>>,
    {
        self.rbuf.clear();
        self.features = Features::default();
        let old = self
            .io
            .take()
            .ok_or_else(|| io::Error::other("no transport"))?;
        match f(old) {
            Ok(new) => {
                self.io = Some(new);
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Take the transport out (for the connection cache).
    pub fn into_transport(mut self) -> Option<Box<dyn Transport>> {
        if self.broken || !self.rbuf.is_empty() {
            return None;
        }
        self.io.take()
    }

    /// The failure text for an I/O error at `stage` (4.4.2).
    pub fn io_failure(&mut self, e: &io::Error, stage: Stage) -> Dsn {
        self.broken = true;
        let timed_out = matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        );
        let text = if timed_out {
            format!(
                "conversation with {} timed out while {}",
                self.namaddr(),
                stage.doing()
            )
        } else {
            format!(
                "lost connection with {} while {}",
                self.namaddr(),
                stage.doing()
            )
        };
        self.remote(Dsn::new("4.4.2", &text), None)
    }

    /// Add the remote MTA (and the reply as diagnostic) to `d`.
    pub fn remote(&self, mut d: Dsn, reply: Option<&Reply>) -> Dsn {
        d.mta = Some(("dns".into(), self.host.clone()));
        if let Some(r) = reply {
            d.diagnostic = Some(("smtp".into(), r.text()));
        }
        d
    }

    /// `host H said: REPLY (in reply to CMD)` with the reply's status.
    pub fn said(&self, r: &Reply, stage: Stage) -> Dsn {
        let text = format!(
            "host {} said: {} (in reply to {})",
            self.namaddr(),
            r.text(),
            stage.command()
        );
        self.remote(Dsn::with_status(r.status, &text), Some(r))
    }

    fn io(&mut self) -> io::Result<&mut Box<dyn Transport>> {
        self.io
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no transport"))
    }

    /// Write `bytes` with deadline `t` per write call.
    pub fn send(&mut self, bytes: &[u8], t: Duration) -> io::Result<()> {
        let io = self.io()?;
        io.set_timeout(t)?;
        io.write_all(bytes)?;
        io.flush()
    }

    /// Write `cmd` plus CR LF.
    pub fn command(&mut self, cmd: &str, t: Duration) -> io::Result<()> {
        let mut b = Vec::with_capacity(cmd.len() + 2);
        b.extend_from_slice(cmd.as_bytes());
        b.extend_from_slice(b"\r\n");
        self.send(&b, t)
    }

    fn fill(&mut self, t: Duration) -> io::Result<()> {
        let mut tmp = [0u8; 4096];
        let io = self.io()?;
        io.set_timeout(t)?;
        let n = loop {
            match io.read(&mut tmp) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        self.rbuf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    /// One line without CR LF, waiting at most `t` per read. A line
    /// longer than [`MAX_LINE`] is cut to that length.
    pub fn read_line(&mut self, t: Duration) -> io::Result<Vec<u8>> {
        let mut head: Option<Vec<u8>> = None;
        loop {
            if let Some(i) = self.rbuf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.rbuf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(head.unwrap_or(line));
            }
            if head.is_none() && self.rbuf.len() > MAX_LINE {
                head = Some(self.rbuf[..MAX_LINE].to_vec());
            }
            if head.is_some() {
                self.rbuf.clear();
            }
            self.fill(t)?;
        }
    }

    /// One complete reply, waiting at most `t` per read.
    pub fn read_reply(&mut self, t: Duration) -> io::Result<Reply> {
        let mut p = ReplyParser::default();
        for _ in 0..MAX_REPLY_LINES {
            let line = self.read_line(t)?;
            if p.push(&line) {
                return p
                    .finish()
                    .ok_or_else(|| io::Error::other("incomplete reply"));
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "reply has too many lines",
        ))
    }

    /// Read the greeting and say EHLO/HELO/LHLO (see the module
    /// description). Errors: the status for every recipient (class 4:
    /// try the next server; class 5: bounce).
    pub fn handshake(&mut self, p: &Params) -> Result<(), Dsn> {
        let t = p.timeouts.helo;
        let greeting = self
            .read_reply(t)
            .map_err(|e| self.io_failure(&e, Stage::Greeting))?;
        if greeting.class() != 2 {
            let mut d = self.remote(
                Dsn::with_status(
                    greeting.status,
                    &format!(
                        "host {} refused to talk to me: {}",
                        self.namaddr(),
                        greeting.text()
                    ),
                ),
                Some(&greeting),
            );
            if p.skip_5xx_greeting && d.status.class == 5 {
                d.status = d.status.with_class(4);
            }
            self.broken = true;
            return Err(d);
        }
        let esmtp_word = greeting
            .lines
            .iter()
            .any(|l| l.to_ascii_uppercase().contains("ESMTP"));
        let use_ehlo =
            self.proto == Proto::Lmtp || (!p.never_send_ehlo && (p.always_send_ehlo || esmtp_word));
        if use_ehlo {
            match self.ehlo(p)? {
                None => return Ok(()),
                Some(r) if self.proto == Proto::Smtp && r.class() == 5 => {}
                Some(r) => {
                    self.broken = true;
                    return Err(self.said(&r, Stage::Helo(self.hello_verb(true))));
                }
            }
        }
        let stage = Stage::Helo("HELO");
        self.command(&format!("HELO {}", p.helo_name), t)
            .map_err(|e| self.io_failure(&e, stage))?;
        let r = self.read_reply(t).map_err(|e| self.io_failure(&e, stage))?;
        if r.class() != 2 {
            self.broken = true;
            return Err(self.said(&r, stage));
        }
        self.features = Features::default();
        Ok(())
    }

    fn hello_verb(&self, ehlo: bool) -> &'static str {
        match (self.proto, ehlo) {
            (Proto::Lmtp, _) => "LHLO",
            (Proto::Smtp, true) => "EHLO",
            (Proto::Smtp, false) => "HELO",
        }
    }

    /// Send EHLO (LHLO) and take the features from a 2xx reply.
    /// Returns `None` on success, else the non-2xx reply. Errors: I/O.
    pub fn ehlo(&mut self, p: &Params) -> Result<Option<Reply>, Dsn> {
        let verb = self.hello_verb(true);
        let stage = Stage::Helo(verb);
        let t = p.timeouts.helo;
        self.command(&format!("{verb} {}", p.helo_name), t)
            .map_err(|e| self.io_failure(&e, stage))?;
        let r = self.read_reply(t).map_err(|e| self.io_failure(&e, stage))?;
        if r.class() == 2 {
            self.features = Features::parse(&r, &p.discard_ehlo_keywords);
            return Ok(None);
        }
        Ok(Some(r))
    }

    /// Send RSET and expect 2xx (before reusing a cached connection).
    pub fn rset(&mut self, p: &Params) -> bool {
        let t = p.timeouts.rset;
        let ok = self.command("RSET", t).is_ok()
            && matches!(self.read_reply(t), Ok(r) if r.class() == 2);
        if !ok {
            self.broken = true;
        }
        ok
    }

    /// Say QUIT (reading the reply unless `smtp_skip_quit_response`).
    pub fn quit(&mut self, p: &Params) {
        if self.broken {
            return;
        }
        let t = p.timeouts.quit;
        if self.command("QUIT", t).is_ok() && !p.skip_quit_response {
            let _ = self.read_reply(t);
        }
        if let Some(io) = self.io.as_mut() {
            io.shutdown(t.min(Duration::from_secs(5)));
        }
        self.broken = true;
    }
}

#[cfg(test)]
mod tests;
