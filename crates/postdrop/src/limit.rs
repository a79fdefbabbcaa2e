//! NAME
//!   limit - postdrop's `message_size_limit` on the submitted stream
//!
//! DESCRIPTION
//!   Postfix's postdrop limits the size of the file it writes to
//!   `message_size_limit` (postconf(5): the limit includes envelope
//!   information), so an oversized submission fails at once and the user
//!   hears about it from sendmail(1) instead of the mail vanishing later.
//!   [`Limited`] counts the bytes of the record stream it reads (the
//!   queue file is about as large) and fails the read that goes past the
//!   limit with `EFBIG`, "File too large", the error Postfix's postdrop
//!   reports; [`Limited::exceeded`] tells afterwards that this was why.
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// A reader that refuses to deliver more than `limit` bytes.
#[derive(Debug)]
pub struct Limited<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

/// Tells whether a [`Limited`] reader hit its limit.
#[derive(Debug, Clone)]
pub struct Exceeded(Rc<Cell<bool>>);

impl Exceeded {
    /// Whether more than the limit was read.
    pub fn get(&self) -> bool {
        self.0.get()
    }
}

impl<R: Read> Limited<R> {
    /// Wrap `inner`; `limit` in bytes, 0 = no limit.
    pub fn new(inner: R, limit: u64) -> (Limited<R>, Exceeded) {
        let hit = Rc::new(Cell::new(false));
        let left = if limit == 0 { u64::MAX } else { limit };
        (
            Limited {
                inner,
                left,
                hit: Rc::clone(&hit),
            },
            Exceeded(hit),
        )
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.hit.get() {
            return Err(io::Error::from_raw_os_error(nix::libc::EFBIG));
        }
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.hit.set(true);
                Err(io::Error::from_raw_os_error(nix::libc::EFBIG))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_fails_past_it() {
        let data = [b'x'; 100];
        let (mut r, hit) = Limited::new(&data[..], 100);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100);
        assert!(!hit.get());
        let (mut r, hit) = Limited::new(&data[..], 99);
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::EFBIG));
        assert!(hit.get());
        let (mut r, hit) = Limited::new(&data[..], 0);
        r.read_to_end(&mut Vec::new()).unwrap();
        assert!(!hit.get());
    }
}
