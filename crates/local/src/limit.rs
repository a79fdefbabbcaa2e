//! NAME
//!   limit - a writer that refuses to grow a file past a size limit
//!
//! DESCRIPTION
//!   `mailbox_size_limit` bounds the size of a mailbox or Maildir file.
//!   Postfix enforces it with the process's file size resource limit;
//!   [`Limited`] does the same per file: a write that would take the file
//!   past the limit fails with `EFBIG` ("File too large") and writes
//!   nothing, so the caller can truncate the file back.
use std::fs::File;
use std::io::{self, Write};

/// A writer over a file (appending) that fails with `EFBIG` past `limit`
/// bytes of total file size. A limit of 0 means no limit.
#[derive(Debug)]
pub struct Limited<'a> {
    file: &'a File,
    size: u64,
    limit: u64,
}

impl<'a> Limited<'a> {
    /// Wrap `file`, whose current size counts against `limit`.
    pub fn new(file: &'a File, limit: u64) -> Limited<'a> {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Limited { file, size, limit }
    }
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.limit > 0 && self.size + buf.len() as u64 > self.limit {
            return Err(io::Error::from_raw_os_error(libc::EFBIG));
        }
        let n = (&*self.file).write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.file).flush()
    }
}
