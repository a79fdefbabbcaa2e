//! NAME
//!   parse - read and check the records of a queue file
//!
//! DESCRIPTION
//!   [`parse_envelope`] reads a queue file from any seekable stream of
//!   known length: the SIZE record, the envelope up to `M`, then (jumping
//!   over the content with the SIZE record's offsets) the `X` record, the
//!   extracted records and the `E` end marker, which must be the last
//!   byte. Any deviation from `doc/QUEUE_FORMAT.md` (a truncated record,
//!   an unknown or misplaced type, a bad number, a per-recipient record
//!   with no recipient after it, counts that disagree) is reported as a
//!   reason string; the caller calls the file corrupt. Because every
//!   file ends with `E` and every record's length is checked against the
//!   bytes left, a file cut at any offset fails.
//!
//!   [`ContentReader`] returns the content, checking its records as it
//!   goes ([`check_content`] walks it all).
use crate::envelope::{
    decode_time, fixed_decimal, DsnNotify, DsnRet, Envelope, Recipient, SizeRecord, FORMAT_VERSION,
    SIZE_LEN,
};
use crate::record::{read_record, rtype, Record};
use std::io::{self, Read, Seek, SeekFrom};
use std::time::UNIX_EPOCH;

/// Where things are in a parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The SIZE record's values.
    pub size: SizeRecord,
    /// File offset of each recipient record's type byte, by index.
    pub rcpt_offsets: Vec<u64>,
    /// File offset of the WARN record's type byte.
    pub warn_offset: Option<u64>,
}

/// A parse failure: the reason the file is corrupt.
pub type Reason = String;

fn text(r: &Record, what: &str) -> Result<String, Reason> {
    String::from_utf8(r.data.clone()).map_err(|_| format!("{what} is not UTF-8"))
}

fn number(r: &Record, what: &str) -> Result<u64, Reason> {
    std::str::from_utf8(&r.data)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad {what} record"))
}

/// Per-recipient records waiting for their `R`/`D`.
#[derive(Default)]
struct Pending {
    orig: Option<String>,
    orcpt: Option<String>,
    notify: Option<DsnNotify>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.orig.is_none() && self.orcpt.is_none() && self.notify.is_none()
    }
}

struct Parser<'a, R> {
    r: &'a mut R,
    len: u64,
    pos: u64,
}

impl<R: Read> Parser<'_, R> {
    fn next(&mut self) -> Result<(u64, Record), Reason> {
        let at = self.pos;
        match read_record(self.r, self.len - self.pos) {
            Ok(Some(rec)) => {
                self.pos += rec.size;
                Ok((at, rec))
            }
            Ok(None) => Err(format!("premature end-of-file at offset {at}")),
            Err(e) => Err(format!("{e} at offset {at}")),
        }
    }
}

/// Handle a record allowed both in the envelope and in the extracted
/// segment. `Ok(false)` when `rec` is not one of those.
fn common(
    env: &mut Envelope,
    lay: &mut Layout,
    p: &mut Pending,
    at: u64,
    rec: &Record,
) -> Result<bool, Reason> {
    match rec.rtype {
        rtype::ATTR => {
            let t = text(rec, "attribute")?;
            let (n, v) = t
                .split_once('=')
                .filter(|(n, _)| !n.is_empty())
                .ok_or("malformed attribute record")?;
            env.attrs.push((n.to_string(), v.to_string()));
        }
        rtype::ORCP if p.orig.is_none() => p.orig = Some(text(rec, "original recipient")?),
        rtype::DSN_ORCPT if p.orcpt.is_none() => {
            p.orcpt = Some(text(rec, "DSN original recipient")?)
        }
        rtype::DSN_NOTIFY if p.notify.is_none() => {
            let n = number(rec, "DSN notify")?;
            let n = u8::try_from(n)
                .ok()
                .filter(|n| *n != 0 && *n < 16)
                .ok_or("bad DSN notify record")?;
            p.notify = Some(DsnNotify(n));
        }
        rtype::RCPT | rtype::DONE => {
            let pend = std::mem::take(p);
            env.recipients.push(Recipient {
                address: text(rec, "recipient")?,
                orig: pend.orig,
                orcpt: pend.orcpt,
                notify: pend.notify.unwrap_or_default(),
                done: rec.rtype == rtype::DONE,
            });
            lay.rcpt_offsets.push(at);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Read and check a whole queue file except its content. `len` is the
/// file's length in bytes. Errors: why the file is corrupt; I/O errors
/// are reported the same way.
pub fn parse_envelope<R: Read + Seek>(r: &mut R, len: u64) -> Result<(Envelope, Layout), Reason> {
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut p = Parser { r, len, pos: 0 };
    let (_, first) = p.next()?;
    if first.rtype != rtype::SIZE || first.data.len() != SIZE_LEN {
        return Err("first record is not a size record".into());
    }
    let size = SizeRecord::decode(&first.data).ok_or("malformed size record")?;
    if size.version != FORMAT_VERSION {
        return Err(format!("unsupported format version {}", size.version));
    }
    if !(size.content_offset <= size.content_end && size.content_end < len) {
        return Err("size record offsets out of range".into());
    }
    let mut env = Envelope {
        arrival: UNIX_EPOCH,
        warn_time: 0,
        sender: String::new(),
        attrs: Vec::new(),
        dsn_envid: None,
        dsn_ret: None,
        recipients: Vec::new(),
        message_size: size.message_size,
    };
    let mut lay = Layout {
        size,
        rcpt_offsets: Vec::new(),
        warn_offset: None,
    };
    let (mut have_time, mut have_from) = (false, false);
    let mut pend = Pending::default();
    loop {
        let (at, rec) = p.next()?;
        if common(&mut env, &mut lay, &mut pend, at, &rec)? {
            continue;
        }
        match rec.rtype {
            rtype::TIME if !have_time => {
                env.arrival = decode_time(&rec.data).ok_or("bad time record")?;
                have_time = true;
            }
            rtype::WARN if lay.warn_offset.is_none() => {
                env.warn_time = fixed_decimal(&rec.data).ok_or("bad warning time record")?;
                lay.warn_offset = Some(at);
            }
            rtype::FROM if !have_from => {
                env.sender = text(&rec, "sender")?;
                have_from = true;
            }
            rtype::DSN_ENVID if env.dsn_envid.is_none() => {
                env.dsn_envid = Some(text(&rec, "DSN envelope ID")?)
            }
            rtype::DSN_RET if env.dsn_ret.is_none() => {
                env.dsn_ret =
                    Some(DsnRet::from_code(number(&rec, "DSN ret")?).ok_or("bad DSN ret record")?);
            }
            rtype::MESG if rec.data.is_empty() => break,
            t => {
                return Err(format!(
                    "unexpected record type '{}' at offset {at}",
                    t.escape_ascii()
                ))
            }
        }
    }
    if !pend.is_empty() {
        return Err("recipient attributes without recipient".into());
    }
    if !have_time || !have_from {
        return Err("missing time or sender record".into());
    }
    if p.pos != size.content_offset {
        return Err("content offset does not match the size record".into());
    }
    p.r.seek(SeekFrom::Start(size.content_end))
        .map_err(|e| e.to_string())?;
    p.pos = size.content_end;
    let (at, rec) = p.next()?;
    if rec.rtype != rtype::XTRA || !rec.data.is_empty() {
        return Err(format!("no end-of-content record at offset {at}"));
    }
    loop {
        let (at, rec) = p.next()?;
        if common(&mut env, &mut lay, &mut pend, at, &rec)? {
            continue;
        }
        match rec.rtype {
            rtype::END if rec.data.is_empty() && pend.is_empty() => break,
            t => {
                return Err(format!(
                    "unexpected record type '{}' at offset {at}",
                    t.escape_ascii()
                ))
            }
        }
    }
    if p.pos != len {
        return Err(format!(
            "garbage after end-of-file record at offset {}",
            p.pos
        ));
    }
    if lay.rcpt_offsets.len() as u64 != size.nrcpt {
        return Err("recipient count does not match the size record".into());
    }
    Ok((env, lay))
}

/// Reads message content from its records, with the newlines put back.
/// A garbled content record is an `InvalidData` error.
#[derive(Debug)]
pub struct ContentReader<R> {
    r: R,
    pos: u64,
    end: u64,
    expect: u64,
    seen: u64,
    buf: Vec<u8>,
    at: usize,
}

impl<R: Read + Seek> ContentReader<R> {
    /// Read the content described by `size` from `r`.
    pub fn new(mut r: R, size: &SizeRecord) -> io::Result<ContentReader<R>> {
        r.seek(SeekFrom::Start(size.content_offset))?;
        Ok(ContentReader {
            r,
            pos: size.content_offset,
            end: size.content_end,
            expect: size.message_size,
            seen: 0,
            buf: Vec::new(),
            at: 0,
        })
    }
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl<R: Read> Read for ContentReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.buf.len() {
            if self.pos == self.end {
                if self.seen != self.expect {
                    return Err(bad(format!(
                        "content size {} differs from size record {}",
                        self.seen, self.expect
                    )));
                }
                return Ok(0);
            }
            let rec = read_record(&mut self.r, self.end - self.pos)
                .map_err(|e| bad(format!("{e} at offset {}", self.pos)))?
                .ok_or_else(|| bad("premature end of content".into()))?;
            self.pos += rec.size;
            self.buf = rec.data;
            self.at = 0;
            match rec.rtype {
                rtype::NORM => self.buf.push(b'\n'),
                rtype::CONT => {}
                t => {
                    return Err(bad(format!(
                        "unexpected record type '{}' in content",
                        t.escape_ascii()
                    )))
                }
            }
            self.seen += self.buf.len() as u64;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Walk the whole content and check it. Errors: the reason it is corrupt.
pub fn check_content<R: Read + Seek>(r: R, size: &SizeRecord) -> Result<(), Reason> {
    let mut c = ContentReader::new(r, size).map_err(|e| e.to_string())?;
    io::copy(&mut c, &mut io::sink())
        .map(|_| ())
        .map_err(|e| e.to_string())
}
