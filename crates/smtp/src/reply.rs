//! NAME
//!   reply - SMTP/LMTP server replies
//!
//! DESCRIPTION
//!   A [`Reply`] is the three-digit code, the RFC 3463 enhanced status
//!   code when the server gave one (else one derived from the code:
//!   `2.0.0`, `4.0.0`, `5.0.0`), and the lines as received.
//!
//!   [`ReplyParser`] assembles a reply from lines (RFC 5321 4.2): a line
//!   `ddd-text` continues, `ddd text` or `ddd` ends it. Servers that
//!   break the rules are tolerated as Postfix tolerates them: a line
//!   that does not start with three digits is taken as one more
//!   continuation line (its text kept), and a reply ends only at a
//!   well-formed last line. A reply longer than [`MAX_LINES`] lines is
//!   cut short (the rest is still read and dropped).
//!
//!   [`Reply::text`] is the reply as Postfix logs it: the lines joined
//!   with single spaces, codes included (`550-5.7.1 a 550 5.7.1 b`).
//!
//! SEE ALSO
//!   RFC 5321 section 4.2, RFC 3463, RFC 2034.
use deliver::DsnStatus;

/// Most lines kept of one reply.
pub const MAX_LINES: usize = 100;

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code of the last line.
    pub code: u16,
    /// The enhanced status code (given or derived), with the class of
    /// the reply code.
    pub status: DsnStatus,
    /// The lines as received, without line ends.
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply class: 2, 3, 4 or 5.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// The lines joined with single spaces.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// The text after the code on each line (EHLO keywords).
    pub fn payloads(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.get(4..).unwrap_or(""))
    }

    /// A reply made up by the client (tests, synthetic replies).
    pub fn synthetic(code: u16, text: &str) -> Reply {
        let mut p = ReplyParser::default();
        let line = format!("{code} {text}");
        p.push(line.as_bytes());
        p.finish().unwrap_or(Reply {
            code,
            status: derived(code),
            lines: vec![line],
        })
    }
}

fn derived(code: u16) -> DsnStatus {
    let class = u8::try_from(code / 100).unwrap_or(4);
    match class {
        2 | 4 | 5 => DsnStatus::new(class, 0, 0),
        _ => DsnStatus::new(4, 0, 0),
    }
}

/// Three leading digits and the separator of a well-formed line.
fn code_of(line: &[u8]) -> Option<(u16, Option<u8>)> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = line[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None => Some((code, None)),
        Some(&c @ (b' ' | b'-')) => Some((code, Some(c))),
        Some(_) => None,
    }
}

/// Builds one reply from lines (see the module description).
#[derive(Debug, Default)]
pub struct ReplyParser {
    lines: Vec<String>,
    done: Option<u16>,
}

impl ReplyParser {
    /// Add one line (without CR LF). Returns true when the reply is
    /// complete.
    pub fn push(&mut self, line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line).into_owned();
        let last = match code_of(line) {
            Some((code, Some(b' ') | None)) => Some(code),
            _ => None,
        };
        if self.lines.len() < MAX_LINES {
            self.lines.push(text);
        }
        if let Some(code) = last {
            self.done = Some(code);
        }
        self.done.is_some()
    }

    /// The reply, once complete.
    pub fn finish(self) -> Option<Reply> {
        let code = self.done?;
        let status = self
            .lines
            .first()
            .and_then(|l| l.get(4..))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(DsnStatus::parse)
            .map(|s| {
                if u16::from(s.class) == code / 100 {
                    s
                } else {
                    s.with_class(derived(code).class)
                }
            })
            .unwrap_or_else(|| derived(code));
        Some(Reply {
            code,
            status,
            lines: self.lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[&str]) -> Reply {
        let mut p = ReplyParser::default();
        for (i, l) in lines.iter().enumerate() {
            let done = p.push(l.as_bytes());
            assert_eq!(done, i + 1 == lines.len(), "line {i}: {l}");
        }
        p.finish().unwrap()
    }

    #[test]
    fn single_and_multi_line() {
        let r = parse(&["250 2.0.0 Ok: queued as ABC"]);
        assert_eq!((r.code, r.status.to_string()), (250, "2.0.0".into()));
        assert_eq!(r.text(), "250 2.0.0 Ok: queued as ABC");
        let r = parse(&["250-mx.example", "250-PIPELINING", "250 8BITMIME"]);
        assert_eq!(
            r.payloads().collect::<Vec<_>>(),
            ["mx.example", "PIPELINING", "8BITMIME"]
        );
        let r = parse(&["550-5.7.1 first", "550 5.7.1 second"]);
        assert_eq!(r.text(), "550-5.7.1 first 550 5.7.1 second");
        assert_eq!(r.status.to_string(), "5.7.1");
        let r = parse(&["354"]);
        assert_eq!(r.class(), 3);
    }

    #[test]
    fn broken_continuations_are_tolerated() {
        let r = parse(&[
            "250-mx.example",
            "PIPELINING",
            "250-SIZE 1000",
            "garbage",
            "250 OK",
        ]);
        assert_eq!(r.code, 250);
        assert_eq!(r.lines.len(), 5);
        let r = parse(&["55x oops", "550 5.1.1 no"]);
        assert_eq!(r.code, 550);
    }

    #[test]
    fn derived_and_mismatched_status() {
        assert_eq!(parse(&["550 no such user"]).status.to_string(), "5.0.0");
        assert_eq!(parse(&["451 4.3.0 try later"]).status.to_string(), "4.3.0");
        assert_eq!(
            parse(&["550 4.1.1 wrong class"]).status.to_string(),
            "5.1.1"
        );
        assert_eq!(
            Reply::synthetic(421, "4.4.2 bye").status.to_string(),
            "4.4.2"
        );
    }
}
