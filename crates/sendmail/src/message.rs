//! NAME
//!   message - read the message from standard input as sendmail(1) does
//!
//! DESCRIPTION
//!   [`Input`] returns the message line by line, newlines removed:
//!
//!   - a carriage return before the newline is dropped (postconf(5)
//!     `sendmail_fix_line_endings`, Postern behaves as with `always`);
//!   - a first line `From sender date` (a UNIX mailbox separator) is
//!     skipped;
//!   - unless `-i`/`-oi` was given, a line with a single `.` ends the
//!     input; nothing else is done to dots (no SMTP un-stuffing).
//!
//!   [`read_headers`] collects the header block (up to the first empty
//!   line, or the first line that is neither a header nor a continuation
//!   of one, which then starts the body). [`Headers::extract`] finds the
//!   `-t` recipients: those of `To:`, `Cc:` and `Bcc:`, or, when the
//!   message has any `Resent-` header, of `Resent-To:`, `Resent-Cc:` and
//!   `Resent-Bcc:` only, and drops the `Bcc:`/`Resent-Bcc:` headers.
//!
//! SEE ALSO
//!   sendmail(1) `-t -i`, RFC 5322 section 3.6.3 and 3.6.6.
use crate::addr::parse_list;
use std::io::{self, BufRead};

/// The most header bytes kept in memory; past it the rest of the
/// message is treated as body (and no more recipients are extracted).
pub const MAX_HEADER_BLOCK: usize = 10 << 20;

/// Lines of the message on standard input.
#[derive(Debug)]
pub struct Input<R> {
    r: R,
    ignore_dots: bool,
    first: bool,
    done: bool,
}

impl<R: BufRead> Input<R> {
    /// Read from `r`; `ignore_dots` is `-i`.
    pub fn new(r: R, ignore_dots: bool) -> Input<R> {
        Input {
            r,
            ignore_dots,
            first: true,
            done: false,
        }
    }

    /// The next line without its line end; `None` at the end of input
    /// (or at the `.` line). Errors: reading failed.
    pub fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut line = Vec::new();
            if self.r.read_until(b'\n', &mut line)? == 0 {
                self.done = true;
                return Ok(None);
            }
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            let first = std::mem::replace(&mut self.first, false);
            if first && line.starts_with(b"From ") {
                continue;
            }
            if !self.ignore_dots && line == b"." {
                self.done = true;
                return Ok(None);
            }
            return Ok(Some(line));
        }
    }
}

/// The header block and the first body line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Headers {
    /// Physical header lines in order.
    pub lines: Vec<Vec<u8>>,
    /// The line that ended the header block (usually empty), if any.
    pub first_body_line: Option<Vec<u8>>,
}

fn header_name(line: &[u8]) -> Option<&[u8]> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    let ok = !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b));
    ok.then_some(name)
}

fn is_continuation(line: &[u8]) -> bool {
    matches!(line.first(), Some(b' ' | b'\t'))
}

/// Read the header block from `input` (see DESCRIPTION). Errors: I/O.
pub fn read_headers<R: BufRead>(input: &mut Input<R>) -> io::Result<Headers> {
    let mut h = Headers::default();
    let mut size = 0usize;
    while let Some(line) = input.next_line()? {
        let header =
            header_name(&line).is_some() || (is_continuation(&line) && !h.lines.is_empty());
        if !header || size + line.len() > MAX_HEADER_BLOCK {
            h.first_body_line = Some(line);
            break;
        }
        size += line.len() + 1;
        h.lines.push(line);
    }
    Ok(h)
}

impl Headers {
    /// Logical headers: `(lower-case name, unfolded value, first line
    /// index, line count)`.
    fn logical(&self) -> Vec<(String, String, usize, usize)> {
        let mut out: Vec<(String, String, usize, usize)> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(name) = header_name(line).filter(|_| !is_continuation(line)) {
                let value = String::from_utf8_lossy(&line[name.len() + 1..]).into_owned();
                let name = String::from_utf8_lossy(name).to_ascii_lowercase();
                out.push((name, value, i, 1));
            } else if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(&String::from_utf8_lossy(line));
                last.3 += 1;
            }
        }
        out
    }

    /// The `-t` recipients; removes the Bcc headers from
    /// [`Headers::lines`].
    pub fn extract(&mut self) -> Vec<String> {
        let logical = self.logical();
        let resent = logical.iter().any(|(n, ..)| n.starts_with("resent-"));
        let wanted: &[&str] = if resent {
            &["resent-to", "resent-cc", "resent-bcc"]
        } else {
            &["to", "cc", "bcc"]
        };
        let mut rcpts = Vec::new();
        let mut drop = vec![false; self.lines.len()];
        for (name, value, at, count) in &logical {
            if wanted.contains(&name.as_str()) {
                rcpts.extend(parse_list(value));
            }
            if name == "bcc" || name == "resent-bcc" {
                drop[*at..*at + *count].iter_mut().for_each(|d| *d = true);
            }
        }
        let mut i = 0;
        self.lines.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
        rcpts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str, ignore_dots: bool) -> Vec<String> {
        let mut inp = Input::new(input.as_bytes(), ignore_dots);
        let mut v = Vec::new();
        while let Some(l) = inp.next_line().unwrap() {
            v.push(String::from_utf8(l).unwrap());
        }
        v
    }

    #[test]
    fn line_rules() {
        assert_eq!(
            lines("From x Mon\r\nA: b\r\n\r\nbody\n.\nafter\n", false),
            ["A: b", "", "body"]
        );
        assert_eq!(lines("A: b\n\n.\nafter", true), ["A: b", "", ".", "after"]);
        assert_eq!(lines("A: b\n\n..\n", false), ["A: b", "", ".."]);
        assert_eq!(lines("x\nFrom y\n", false), ["x", "From y"]);
    }

    #[test]
    fn extract_to_cc_bcc_and_drop_bcc() {
        let text = "Subject: hi\nTo: Bob <bob@example.com>,\n  carol@example.org\nBcc: dave@example.net,\n\tDave2 <d2@example.net>\nCc: e@example.com\n\nbody\n";
        let mut inp = Input::new(text.as_bytes(), false);
        let mut h = read_headers(&mut inp).unwrap();
        assert_eq!(h.first_body_line.as_deref(), Some(&b""[..]));
        let r = h.extract();
        assert_eq!(
            r,
            [
                "bob@example.com",
                "carol@example.org",
                "dave@example.net",
                "d2@example.net",
                "e@example.com"
            ]
        );
        let kept: Vec<String> = h
            .lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into())
            .collect();
        assert_eq!(
            kept,
            [
                "Subject: hi",
                "To: Bob <bob@example.com>,",
                "  carol@example.org",
                "Cc: e@example.com"
            ]
        );
        assert_eq!(inp.next_line().unwrap().as_deref(), Some(&b"body"[..]));
    }

    #[test]
    fn resent_headers_win() {
        let text = "To: a@x\nResent-To: b@y\nResent-Bcc: c@z\n\n";
        let mut h = read_headers(&mut Input::new(text.as_bytes(), false)).unwrap();
        assert_eq!(h.extract(), ["b@y", "c@z"]);
        assert_eq!(h.lines.len(), 2);
    }

    #[test]
    fn body_without_blank_line() {
        let text = "Subject: x\nthis is body\n";
        let mut inp = Input::new(text.as_bytes(), false);
        let h = read_headers(&mut inp).unwrap();
        assert_eq!(h.lines.len(), 1);
        assert_eq!(h.first_body_line.as_deref(), Some(&b"this is body"[..]));
    }
}
