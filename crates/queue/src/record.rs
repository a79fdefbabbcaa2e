//! NAME
//!   record - typed, length-prefixed records of queue files
//!
//! DESCRIPTION
//!   A queue file is a sequence of records, framed as Postfix frames
//!   them: one type byte, the payload length as a variable-length
//!   integer (7 bits per byte, least significant group first, the high
//!   bit set on every byte but the last; at most [`MAX_LEN_BYTES`]
//!   bytes), then the payload. `doc/QUEUE_FORMAT.md` lists the types.
//!
//!   [`read_record`] never trusts a length: it refuses lengths above
//!   [`MAX_RECORD`] and above the bytes left in the file before it
//!   allocates, so a garbled file costs no more memory than its size.
//!
//! DIAGNOSTICS
//!   [`RecordError`]: end-of-file inside a record, or a length that is
//!   malformed or too large.
use std::io::{self, Read, Write};

/// Largest payload a record may have, in bytes (1 MiB). Content lines
/// longer than [`CONTENT_CHUNK`] are split, so only a pathological
/// address or attribute comes near it.
pub const MAX_RECORD: u64 = 1 << 20;
/// Content is written in records of at most this many bytes.
pub const CONTENT_CHUNK: usize = 4096;
/// Most bytes of a length field.
pub const MAX_LEN_BYTES: usize = 5;

/// Record type bytes. `doc/QUEUE_FORMAT.md` describes each.
pub mod rtype {
    /// Fixed-width sizes and offsets; first record of every file.
    pub const SIZE: u8 = b'C';
    /// Arrival time: `seconds microseconds`.
    pub const TIME: u8 = b'T';
    /// Fixed-width time of the next delay warning (0 = none pending).
    pub const WARN: u8 = b'W';
    /// Envelope sender (empty for the null sender).
    pub const FROM: u8 = b'S';
    /// Named attribute `name=value`.
    pub const ATTR: u8 = b'A';
    /// DSN envelope ID (RFC 3461 ENVID).
    pub const DSN_ENVID: u8 = b'i';
    /// DSN RET: 1 = FULL, 2 = HDRS.
    pub const DSN_RET: u8 = b'r';
    /// Original recipient (before rewriting) of the next recipient.
    pub const ORCP: u8 = b'O';
    /// DSN ORCPT (RFC 3461) of the next recipient: `type;address`.
    pub const DSN_ORCPT: u8 = b'o';
    /// DSN NOTIFY mask of the next recipient.
    pub const DSN_NOTIFY: u8 = b'n';
    /// A recipient still to be delivered.
    pub const RCPT: u8 = b'R';
    /// A recipient that is done (was `R`, changed in place).
    pub const DONE: u8 = b'D';
    /// Start of message content.
    pub const MESG: u8 = b'M';
    /// A content line (its newline is not stored).
    pub const NORM: u8 = b'N';
    /// Part of a content line that continues in the next record.
    pub const CONT: u8 = b'L';
    /// End of message content; extracted records follow.
    pub const XTRA: u8 = b'X';
    /// End of file.
    pub const END: u8 = b'E';
}

/// Why a record could not be read.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum RecordError {
    /// The file ends inside a record (or inside a length).
    Truncated,
    /// The length field is longer than [`MAX_LEN_BYTES`] bytes.
    BadLength,
    /// The payload would be larger than the limit or than the file.
    TooLong(u64),
    /// Reading failed.
    Io(io::ErrorKind, String),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Truncated => f.write_str("premature end-of-file"),
            RecordError::BadLength => f.write_str("bad record length"),
            RecordError::TooLong(n) => write!(f, "record length {n} too large"),
            RecordError::Io(_, e) => f.write_str(e),
        }
    }
}

fn read_byte<R: Read>(r: &mut R) -> Result<Option<u8>, RecordError> {
    let mut b = [0u8; 1];
    loop {
        return match r.read(&mut b) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(b[0])),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(RecordError::Io(e.kind(), e.to_string())),
        };
    }
}

/// Encode `len` as a record length into `out`.
pub fn encode_len(mut len: usize, out: &mut Vec<u8>) {
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Write one record. Errors: I/O.
pub fn write_record<W: Write>(w: &mut W, rtype: u8, payload: &[u8]) -> io::Result<u64> {
    let mut head = Vec::with_capacity(1 + MAX_LEN_BYTES);
    head.push(rtype);
    encode_len(payload.len(), &mut head);
    w.write_all(&head)?;
    w.write_all(payload)?;
    Ok((head.len() + payload.len()) as u64)
}

/// One record read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The type byte.
    pub rtype: u8,
    /// The payload.
    pub data: Vec<u8>,
    /// Bytes the record took in the file (type, length and payload).
    pub size: u64,
}

/// Read one record. `Ok(None)` at a clean end-of-file (before a type
/// byte). `left` is how many bytes remain in the file (a bound on the
/// payload); pass `u64::MAX` for a stream of unknown size.
pub fn read_record<R: Read>(r: &mut R, left: u64) -> Result<Option<Record>, RecordError> {
    let Some(rtype) = read_byte(r)? else {
        return Ok(None);
    };
    let mut len: u64 = 0;
    let mut n = 0;
    loop {
        let b = read_byte(r)?.ok_or(RecordError::Truncated)?;
        len |= u64::from(b & 0x7f) << (7 * n);
        n += 1;
        if b & 0x80 == 0 {
            break;
        }
        if n == MAX_LEN_BYTES {
            return Err(RecordError::BadLength);
        }
    }
    let head = 1 + n as u64;
    if len > MAX_RECORD {
        return Err(RecordError::TooLong(len));
    }
    if len > left.saturating_sub(head) {
        return Err(RecordError::Truncated);
    }
    let mut data = vec![0u8; len as usize];
    r.read_exact(&mut data).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => RecordError::Truncated,
        k => RecordError::Io(k, e.to_string()),
    })?;
    Ok(Some(Record {
        rtype,
        data,
        size: head + len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 300, 16383, 16384, MAX_RECORD as usize] {
            let payload = vec![b'x'; len];
            let mut buf = Vec::new();
            let size = write_record(&mut buf, b'N', &payload).unwrap();
            assert_eq!(size, buf.len() as u64);
            let rec = read_record(&mut Cursor::new(&buf), buf.len() as u64)
                .unwrap()
                .unwrap();
            assert_eq!(rec.rtype, b'N');
            assert_eq!(rec.data.len(), len);
            assert_eq!(rec.size, size);
        }
    }

    #[test]
    fn bad_lengths_are_refused_without_allocating() {
        // 5 continuation bytes.
        let buf = [b'N', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(
            read_record(&mut Cursor::new(&buf[..]), 100),
            Err(RecordError::BadLength)
        );
        // Huge length in a tiny file.
        let buf = [b'N', 0xff, 0xff, 0xff, 0x7f];
        assert!(matches!(
            read_record(&mut Cursor::new(&buf[..]), 5),
            Err(RecordError::TooLong(_))
        ));
        // Length beyond the file.
        let buf = [b'N', 10, b'a'];
        assert_eq!(
            read_record(&mut Cursor::new(&buf[..]), 3),
            Err(RecordError::Truncated)
        );
        let buf = [b'N', 0x80];
        assert_eq!(
            read_record(&mut Cursor::new(&buf[..]), 2),
            Err(RecordError::Truncated)
        );
        assert_eq!(read_record(&mut Cursor::new(&[][..]), 0), Ok(None));
    }
}
