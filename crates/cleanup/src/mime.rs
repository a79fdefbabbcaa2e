//! NAME
//!   mime - the MIME structure of a message body, one line at a time
//!
//! DESCRIPTION
//!   [`MimeState`] follows the structure of the content after the
//!   primary headers so that header_checks(5) can give each piece to the
//!   right table ([`crate::checks::Class`]):
//!
//!   - the primary `Content-Type` ([`MimeState::primary_header`]) says
//!     whether the body is `multipart/*` (with its `boundary`) or an
//!     attached `message/rfc822` message (`message/*` except `partial`
//!     and `external-body`);
//!   - a line `--boundary` of an open multipart starts a body part whose
//!     headers are all MIME headers; `--boundary--` closes that
//!     multipart (and any inner one left open);
//!   - a part of type `message/rfc822` starts an attached message: its
//!     headers are nested headers, except the MIME ones;
//!   - a header section ends at an empty line or at a line that is
//!     neither a header nor a continuation (which is then body text).
//!
//!   [`MimeState::line`] takes one physical line and returns the
//!   finished pieces in order: logical headers (continuation lines
//!   joined with newlines) and body lines. A header is returned only
//!   when the next line shows that it is complete; [`MimeState::finish`]
//!   returns the last one.
//!
//!   Limits: content is never decoded (base64, quoted-printable and RFC
//!   2047 words are inspected as they are); `message/partial` and
//!   `message/external-body` bodies are body text; a header section is
//!   at most `header_size_limit` bytes per header (the rest is dropped
//!   from inspection, not from the message); nesting is limited to 32
//!   levels of multipart (deeper boundaries are body text).
//!
//! SEE ALSO
//!   RFC 2045, RFC 2046, header_checks(5).
use crate::checks::Class;

/// Most nested multiparts that are followed.
const MAX_DEPTH: usize = 32;

/// One piece of content, ready for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A logical header (without its final newline) and its table.
    Header(Class, Vec<u8>),
    /// A body line (without its newline), empty lines included.
    Body(Vec<u8>),
    /// A MIME boundary line: body text that starts a new segment.
    Boundary(Vec<u8>),
}

/// Where the next line belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Body,
    /// Headers of a body part (`false`) or of an attached message (`true`).
    Headers(bool),
}

/// The MIME state of one message body.
#[derive(Debug)]
pub struct MimeState {
    boundaries: Vec<Vec<u8>>,
    section: Section,
    /// The Content-Type of the header section being read.
    ctype: Option<Vec<u8>>,
    /// The logical header being collected, with its class.
    pending: Option<(Class, Vec<u8>)>,
    size_limit: usize,
}

/// Whether `name` (any case) is a MIME header for header_checks(5).
pub fn is_mime_header(name: &str) -> bool {
    [
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-description",
        "content-id",
        "mime-version",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(name))
}

/// The class of a header named `name` in the primary (`nested` false)
/// or an attached message's headers.
pub fn header_class(name: &str, nested: bool) -> Class {
    match (is_mime_header(name), nested) {
        (true, _) => Class::Mime,
        (false, true) => Class::Nested,
        (false, false) => Class::Header,
    }
}

/// What a Content-Type value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Multipart(Vec<u8>),
    Message,
    Other,
}

/// Parse the value of a `Content-Type:` header (name included).
fn content_kind(header: &[u8]) -> Kind {
    let colon = header.iter().position(|&b| b == b':').map_or(0, |c| c + 1);
    let value = String::from_utf8_lossy(&header[colon..]).into_owned();
    let mut parts = value.split(';');
    let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let ty: String = ty.split_whitespace().collect();
    if ty == "message/rfc822" || ty == "message/global" {
        return Kind::Message;
    }
    if !ty.starts_with("multipart/") {
        return Kind::Other;
    }
    for p in parts {
        let Some((n, v)) = p.split_once('=') else {
            continue;
        };
        if n.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .map_or(v, |q| q.split('"').next().unwrap_or(""));
            if !v.is_empty() {
                return Kind::Multipart(v.as_bytes().to_vec());
            }
        }
    }
    Kind::Other
}

impl MimeState {
    /// A state for a body whose primary headers are still to come;
    /// `size_limit` is `header_size_limit` (0: none).
    pub fn new(size_limit: usize) -> MimeState {
        MimeState {
            boundaries: Vec::new(),
            section: Section::Body,
            ctype: None,
            pending: None,
            size_limit,
        }
    }

    /// Note a primary header (its name decides nothing else here).
    pub fn primary_header(&mut self, header: &[u8]) {
        if let Some(name) = crate::headers::header_name(header) {
            if name.eq_ignore_ascii_case("content-type") {
                self.ctype = Some(header.to_vec());
            }
        }
    }

    /// The primary headers have ended: set up the body.
    pub fn start_body(&mut self) {
        self.end_headers();
    }

    /// A header section ended: what follows depends on its Content-Type.
    fn end_headers(&mut self) {
        let kind = self.ctype.take().map_or(Kind::Other, |c| content_kind(&c));
        self.section = Section::Body;
        match kind {
            Kind::Multipart(b) if self.boundaries.len() < MAX_DEPTH => self.boundaries.push(b),
            Kind::Message => self.section = Section::Headers(true),
            _ => {}
        }
    }

    /// Which open boundary `line` is, and whether it closes its multipart.
    fn boundary(&self, line: &[u8]) -> Option<(usize, bool)> {
        let rest = line.strip_prefix(b"--")?;
        self.boundaries.iter().enumerate().rev().find_map(|(i, b)| {
            let after = rest.strip_prefix(b.as_slice())?;
            let after_trim = trim_end(after);
            if after_trim.is_empty() {
                Some((i, false))
            } else if trim_end(after_trim.strip_prefix(b"--")?).is_empty() {
                Some((i, true))
            } else {
                None
            }
        })
    }

    fn flush(&mut self, out: &mut Vec<Piece>) {
        if let Some((class, h)) = self.pending.take() {
            if let Some(name) = crate::headers::header_name(&h) {
                if name.eq_ignore_ascii_case("content-type") {
                    self.ctype = Some(h.clone());
                }
            }
            out.push(Piece::Header(class, h));
        }
    }

    /// One physical body line (without its newline): the pieces that are
    /// now complete, in order.
    pub fn line(&mut self, line: &[u8]) -> Vec<Piece> {
        let mut out = Vec::new();
        if let Section::Headers(nested) = self.section {
            let continuation = matches!(line.first(), Some(b' ' | b'\t'));
            if continuation {
                if let Some((_, h)) = self.pending.as_mut() {
                    if self.size_limit == 0 || h.len() < self.size_limit {
                        h.push(b'\n');
                        h.extend_from_slice(line);
                    }
                    return out;
                }
            }
            self.flush(&mut out);
            if let Some(name) = crate::headers::header_name(line) {
                let class = if nested {
                    header_class(name, true)
                } else {
                    Class::Mime
                };
                self.pending = Some((class, line.to_vec()));
                return out;
            }
            self.end_headers();
            if line.is_empty() {
                out.push(Piece::Body(Vec::new()));
                return out;
            }
        }
        if let Some((i, close)) = self.boundary(line) {
            self.boundaries.truncate(if close { i } else { i + 1 });
            if !close {
                self.section = Section::Headers(false);
                self.ctype = None;
            }
            out.push(Piece::Boundary(line.to_vec()));
            return out;
        }
        out.push(Piece::Body(line.to_vec()));
        out
    }

    /// The content has ended: a header still being collected.
    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        self.flush(&mut out);
        out
    }
}

fn trim_end(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(primary: &str, body: &str) -> Vec<Piece> {
        let mut m = MimeState::new(0);
        for h in primary.lines() {
            m.primary_header(h.as_bytes());
        }
        m.start_body();
        let mut out = Vec::new();
        for l in body.lines() {
            out.extend(m.line(l.as_bytes()));
        }
        out.extend(m.finish());
        out
    }

    fn h(c: Class, t: &str) -> Piece {
        Piece::Header(c, t.as_bytes().to_vec())
    }

    fn b(t: &str) -> Piece {
        Piece::Body(t.as_bytes().to_vec())
    }

    fn bd(t: &str) -> Piece {
        Piece::Boundary(t.as_bytes().to_vec())
    }

    #[test]
    fn plain_bodies_are_body_lines() {
        assert_eq!(run("Subject: x", "a\n\nb"), vec![b("a"), b(""), b("b")]);
        assert_eq!(
            run("Content-Type: multipart/mixed", "--x\nA: b"),
            vec![b("--x"), b("A: b")]
        );
    }

    #[test]
    fn multipart_parts_have_mime_headers_and_nested_messages_nested_ones() {
        let body = "pre\n--B\nContent-Type: text/plain\nX-Part: 1\n  cont\n\ntext\n\
                    --B\nContent-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\n\
                    inner body\n--B--\nepi";
        assert_eq!(
            run("Content-Type: multipart/mixed; boundary=\"B\"", body),
            vec![
                b("pre"),
                bd("--B"),
                h(Class::Mime, "Content-Type: text/plain"),
                h(Class::Mime, "X-Part: 1\n  cont"),
                b(""),
                b("text"),
                bd("--B"),
                h(Class::Mime, "Content-Type: message/rfc822"),
                b(""),
                h(Class::Nested, "Subject: inner"),
                h(Class::Mime, "Content-Type: text/plain"),
                b(""),
                b("inner body"),
                bd("--B--"),
                b("epi"),
            ]
        );
    }

    #[test]
    fn inner_multiparts_and_attached_messages_at_the_top() {
        let body =
            "--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\nA: 1\n\nx\n--o--\n--i\ny";
        assert_eq!(
            run("Content-Type: Multipart/Mixed; boundary=o", body),
            vec![
                bd("--o"),
                h(
                    Class::Mime,
                    "Content-Type: multipart/alternative; boundary=i"
                ),
                b(""),
                bd("--i"),
                h(Class::Mime, "A: 1"),
                b(""),
                b("x"),
                bd("--o--"),
                b("--i"),
                b("y"),
            ]
        );
        assert_eq!(
            run(
                "Content-Type: message/rfc822",
                "Subject: s\nnot a header\nz"
            ),
            vec![h(Class::Nested, "Subject: s"), b("not a header"), b("z")]
        );
        assert_eq!(header_class("MIME-Version", false), Class::Mime);
        assert_eq!(header_class("Content-Language", false), Class::Header);
        assert_eq!(header_class("Subject", true), Class::Nested);
    }
}
