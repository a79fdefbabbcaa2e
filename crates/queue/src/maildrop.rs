//! NAME
//!   maildrop - the record stream that sendmail hands to postdrop
//!
//! SYNOPSIS
//!   sendmail:  `let mut s = MaildropStream::new(stdin_of_postdrop, &head)?;`
//!              `s.write_line(b"Subject: hi")?; ... s.finish(&extracted)?;`
//!   postdrop:  `import(&mut std::io::stdin().lock(), &mut writer)?;`
//!
//! DESCRIPTION
//!   sendmail(1) does not write the queue itself: it pipes the message to
//!   the set-gid postdrop(1) as a stream of queue-file records
//!   (`doc/QUEUE_FORMAT.md`, same framing and types), and postdrop
//!   rewrites it, record by record, into a new file in `maildrop` with
//!   [`crate::QueueWriter`]. The stream is the queue file's grammar
//!   without the records that the writer owns (SIZE, TIME, WARN, DONE):
//!
//!   ```text
//!   stream    = envelope MESG content XTRA extracted END
//!   envelope  = FROM (exactly once) | ATTR* | DSN_ENVID? | DSN_RET? | recipient*
//!   content   = (NORM | CONT)*
//!   extracted = (ATTR | recipient)*
//!   recipient = [ORCP] [DSN_ORCPT] [DSN_NOTIFY] RCPT
//!   ```
//!
//!   Attributes sendmail sends: `full_name` (`-F`), `encoding` (`-B`:
//!   `7bit`/`8bit`). Recipients from the command line are envelope
//!   recipients; those `-t` found in headers are extracted recipients.
//!   The arrival time is when postdrop creates the file; the submitting
//!   user is the file's owner, which pickup(8) reports as `uid=`.
//!
//!   [`import`] checks every record before it reaches the file: unknown
//!   or misplaced types, a second sender, bad numbers, bytes after END,
//!   and a stream cut short are errors, and the caller then drops the
//!   file (the writer removes it unless committed).
use crate::envelope::{DsnNotify, DsnRet, Recipient};
use crate::record::{read_record, rtype, write_record, CONTENT_CHUNK};
use crate::writer::QueueWriter;
use std::io::{self, Read, Write};

/// What sendmail says about a message before its content.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaildropHead {
    /// Envelope sender (empty for `<>`).
    pub sender: String,
    /// Named attributes (`full_name`, `encoding`).
    pub attrs: Vec<(String, String)>,
    /// RFC 3461 ENVID (`-V`).
    pub envid: Option<String>,
    /// RFC 3461 RET (`-R`).
    pub ret: Option<DsnRet>,
    /// Recipients from the command line.
    pub recipients: Vec<Recipient>,
}

/// Writes the stream (see DESCRIPTION) to `W`.
#[derive(Debug)]
pub struct MaildropStream<W: Write> {
    out: W,
}

fn put_recipient<W: Write>(w: &mut W, r: &Recipient) -> io::Result<()> {
    if let Some(o) = &r.orig {
        write_record(w, rtype::ORCP, o.as_bytes())?;
    }
    if let Some(o) = &r.orcpt {
        write_record(w, rtype::DSN_ORCPT, o.as_bytes())?;
    }
    if r.notify.0 != 0 {
        write_record(w, rtype::DSN_NOTIFY, r.notify.0.to_string().as_bytes())?;
    }
    write_record(w, rtype::RCPT, r.address.as_bytes()).map(|_| ())
}

impl<W: Write> MaildropStream<W> {
    /// Write the envelope and the start of the content. Errors: I/O.
    pub fn new(mut out: W, head: &MaildropHead) -> io::Result<MaildropStream<W>> {
        write_record(&mut out, rtype::FROM, head.sender.as_bytes())?;
        for (n, v) in &head.attrs {
            write_record(&mut out, rtype::ATTR, format!("{n}={v}").as_bytes())?;
        }
        if let Some(e) = &head.envid {
            write_record(&mut out, rtype::DSN_ENVID, e.as_bytes())?;
        }
        if let Some(r) = head.ret {
            write_record(&mut out, rtype::DSN_RET, r.code().to_string().as_bytes())?;
        }
        for r in &head.recipients {
            put_recipient(&mut out, r)?;
        }
        write_record(&mut out, rtype::MESG, b"")?;
        Ok(MaildropStream { out })
    }

    /// Write one content line, given without its newline (long lines are
    /// split into continued records). Errors: I/O.
    pub fn write_line(&mut self, mut line: &[u8]) -> io::Result<()> {
        while line.len() > CONTENT_CHUNK {
            write_record(&mut self.out, rtype::CONT, &line[..CONTENT_CHUNK])?;
            line = &line[CONTENT_CHUNK..];
        }
        write_record(&mut self.out, rtype::NORM, line).map(|_| ())
    }

    /// End the content, write the extracted recipients and the end
    /// marker, flush, and return the writer. Errors: I/O.
    pub fn finish(mut self, extracted: &[Recipient]) -> io::Result<W> {
        write_record(&mut self.out, rtype::XTRA, b"")?;
        for r in extracted {
            put_recipient(&mut self.out, r)?;
        }
        write_record(&mut self.out, rtype::END, b"")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Per-recipient records seen before their RCPT.
#[derive(Default)]
struct Pending {
    orig: Option<String>,
    orcpt: Option<String>,
    notify: Option<DsnNotify>,
}

fn utf8(data: Vec<u8>, what: &str) -> Result<String, String> {
    String::from_utf8(data).map_err(|_| format!("{what} is not UTF-8"))
}

fn once<T>(slot: &mut Option<T>, v: T, what: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("duplicate {what} record"));
    }
    *slot = Some(v);
    Ok(())
}

/// Copy a stream from `r` into `w` (see DESCRIPTION), checking it.
/// Returns the number of recipients. Errors: the reason the stream is
/// refused (`w` must then be dropped, which removes the file), or a
/// queue write error as text.
pub fn import<R: Read>(r: &mut R, w: &mut QueueWriter) -> Result<usize, String> {
    #[derive(PartialEq)]
    enum Stage {
        Envelope,
        Content,
        Extracted,
    }
    let mut stage = Stage::Envelope;
    let mut pending = Pending::default();
    let mut have_sender = false;
    let (mut have_envid, mut have_ret) = (false, false);
    let mut nrcpt = 0usize;
    let qerr = |e: crate::QueueError| e.to_string();
    loop {
        let rec = read_record(r, u64::MAX)
            .map_err(|e| e.to_string())?
            .ok_or("premature end-of-input")?;
        let t = rec.rtype;
        match (&stage, t) {
            (Stage::Envelope, rtype::FROM) => {
                if have_sender {
                    return Err("duplicate sender record".into());
                }
                have_sender = true;
                w.set_sender(&utf8(rec.data, "sender")?).map_err(qerr)?;
            }
            (Stage::Envelope, rtype::DSN_ENVID) if !have_envid => {
                have_envid = true;
                w.set_dsn(Some(&utf8(rec.data, "envid")?), None)
                    .map_err(qerr)?;
            }
            (Stage::Envelope, rtype::DSN_RET) if !have_ret => {
                have_ret = true;
                let ret = std::str::from_utf8(&rec.data)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .and_then(DsnRet::from_code)
                    .ok_or("bad DSN RET record")?;
                w.set_dsn(None, Some(ret)).map_err(qerr)?;
            }
            (Stage::Envelope | Stage::Extracted, rtype::ATTR) => {
                let text = utf8(rec.data, "attribute")?;
                let (n, v) = text.split_once('=').ok_or("malformed attribute record")?;
                w.add_attr(n, v).map_err(qerr)?;
            }
            (Stage::Envelope | Stage::Extracted, rtype::ORCP) => {
                once(&mut pending.orig, utf8(rec.data, "address")?, "ORCP")?;
            }
            (Stage::Envelope | Stage::Extracted, rtype::DSN_ORCPT) => {
                once(&mut pending.orcpt, utf8(rec.data, "ORCPT")?, "ORCPT")?;
            }
            (Stage::Envelope | Stage::Extracted, rtype::DSN_NOTIFY) => {
                let n = std::str::from_utf8(&rec.data)
                    .ok()
                    .and_then(|s| s.parse::<u8>().ok())
                    .filter(|n| *n != 0 && *n < 16)
                    .ok_or("bad DSN NOTIFY record")?;
                once(&mut pending.notify, DsnNotify(n), "NOTIFY")?;
            }
            (Stage::Envelope | Stage::Extracted, rtype::RCPT) => {
                let p = std::mem::take(&mut pending);
                w.add_recipient(&Recipient {
                    address: utf8(rec.data, "recipient")?,
                    orig: p.orig,
                    orcpt: p.orcpt,
                    notify: p.notify.unwrap_or_default(),
                    done: false,
                })
                .map_err(qerr)?;
                nrcpt += 1;
            }
            (Stage::Envelope, rtype::MESG) => {
                if !have_sender {
                    return Err("no sender record before the content".into());
                }
                if pending.orig.is_some() || pending.orcpt.is_some() || pending.notify.is_some() {
                    return Err("recipient attributes without a recipient".into());
                }
                stage = Stage::Content;
            }
            (Stage::Content, rtype::NORM) => {
                let mut line = rec.data;
                line.push(b'\n');
                w.write_content(&line).map_err(qerr)?;
            }
            (Stage::Content, rtype::CONT) => w.write_content(&rec.data).map_err(qerr)?,
            (Stage::Content, rtype::XTRA) => {
                w.end_content().map_err(qerr)?;
                stage = Stage::Extracted;
            }
            (Stage::Extracted, rtype::END) => {
                if pending.orig.is_some() || pending.orcpt.is_some() || pending.notify.is_some() {
                    return Err("recipient attributes without a recipient".into());
                }
                let mut extra = [0u8; 1];
                return match r.read(&mut extra) {
                    Ok(0) => Ok(nrcpt),
                    Ok(_) => Err("data after the end record".into()),
                    Err(e) => Err(e.to_string()),
                };
            }
            _ => return Err(format!("unexpected record type '{}'", t.escape_ascii())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{QueueDir, QueueFile, MAILDROP};

    fn head() -> MaildropHead {
        MaildropHead {
            sender: "alice@example.com".into(),
            attrs: vec![("full_name".into(), "Alice A".into())],
            envid: Some("env1".into()),
            ret: Some(DsnRet::Hdrs),
            recipients: vec![Recipient {
                notify: DsnNotify(6),
                ..Recipient::new("bob@example.org")
            }],
        }
    }

    fn stream(lines: &[&[u8]], extracted: &[Recipient]) -> Vec<u8> {
        let mut s = MaildropStream::new(Vec::new(), &head()).unwrap();
        for l in lines {
            s.write_line(l).unwrap();
        }
        s.finish(extracted).unwrap()
    }

    #[test]
    fn stream_becomes_a_maildrop_file() {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred"], 1);
        q.create_missing().unwrap();
        let long = vec![b'x'; CONTENT_CHUNK * 2 + 5];
        let buf = stream(
            &[b"Subject: hi", b"", b"body", &long],
            &[Recipient::new("carol@example.net")],
        );
        let mut w = QueueWriter::create(&q, MAILDROP).unwrap();
        w.set_ready_mode(0o744).unwrap();
        assert_eq!(import(&mut &buf[..], &mut w), Ok(2));
        let id = w.commit().unwrap();
        let qf = QueueFile::open_readonly(&q, MAILDROP, &id).unwrap();
        let env = qf.envelope();
        assert_eq!(env.sender, "alice@example.com");
        assert_eq!(env.attr("full_name"), Some("Alice A"));
        assert_eq!(env.dsn_envid.as_deref(), Some("env1"));
        assert_eq!(env.dsn_ret, Some(DsnRet::Hdrs));
        let rc: Vec<&str> = env.recipients.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(rc, ["bob@example.org", "carol@example.net"]);
        assert_eq!(env.recipients[0].notify, DsnNotify(6));
        let mut content = Vec::new();
        qf.content().unwrap().read_to_end(&mut content).unwrap();
        let mut want = b"Subject: hi\n\nbody\n".to_vec();
        want.extend_from_slice(&long);
        want.push(b'\n');
        assert_eq!(content, want);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(qf.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o744);
    }

    #[test]
    fn bad_streams_are_refused_at_every_cut() {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred"], 1);
        q.create_missing().unwrap();
        let buf = stream(&[b"Subject: hi", b"", b"body"], &[]);
        for cut in 0..buf.len() {
            let mut w = QueueWriter::create(&q, MAILDROP).unwrap();
            assert!(import(&mut &buf[..cut], &mut w).is_err(), "cut {cut}");
        }
        let mut extra = buf.clone();
        extra.push(b'E');
        let mut w = QueueWriter::create(&q, MAILDROP).unwrap();
        assert!(import(&mut &extra[..], &mut w).is_err());
        drop(w);
        // A writer-owned record type is refused.
        let mut bad = Vec::new();
        write_record(&mut bad, rtype::TIME, b"1 2").unwrap();
        let mut w = QueueWriter::create(&q, MAILDROP).unwrap();
        assert!(import(&mut &bad[..], &mut w)
            .unwrap_err()
            .contains("unexpected record type 'T'"));
        drop(w);
        // Dropped writers left nothing behind.
        let left: Vec<_> = std::fs::read_dir(t.path().join(MAILDROP))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
