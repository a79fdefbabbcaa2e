//! NAME
//!   mime - 8-bit to 7-bit conversion (quoted-printable) for servers without 8BITMIME
//!
//! DESCRIPTION
//!   When a message has 8-bit content and the server does not announce
//!   8BITMIME (RFC 6152), Postfix converts it to 7 bits unless
//!   `disable_mime_output_conversion = yes`. [`downgrade`] does that on
//!   the LF-terminated content of a queue file:
//!
//!   - every leaf body part (default `text/plain`) that holds 8-bit bytes
//!     and is declared `7bit`, `8bit` or not at all is encoded as
//!     quoted-printable (RFC 2045 6.7, lines of at most 76 characters with
//!     soft breaks), and its `Content-Transfer-Encoding` header is
//!     replaced;
//!   - `multipart/*` bodies are split at their boundary and each part is
//!     converted; `message/rfc822` bodies are converted as messages; the
//!     encoding of those containers becomes `7bit`;
//!   - a top-level message converted this way without a `MIME-Version`
//!     header gets `MIME-Version: 1.0`;
//!   - header text and parts in `base64`/`quoted-printable`/`binary`
//!     are left alone.
//!
//!   [`has_8bit`] tells whether any byte is outside ASCII.
//!
//! SEE ALSO
//!   RFC 2045, RFC 2046, RFC 6152, postconf(5)
//!   `disable_mime_output_conversion`.

/// Whether `data` holds a byte above 127.
pub fn has_8bit(data: &[u8]) -> bool {
    data.iter().any(|&b| b >= 0x80)
}

/// Split `data` into lines without their LF (a final line without LF is
/// kept).
fn lines(data: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.ends_with(b"\n") || data.is_empty() {
        out.pop();
    }
    out
}

/// Headers as logical lines (with their continuation lines), and the
/// index of the first body line.
fn headers<'a>(ls: &[&'a [u8]]) -> (Vec<Vec<&'a [u8]>>, usize) {
    let mut hs: Vec<Vec<&[u8]>> = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let l = ls[i];
        if l.is_empty() {
            return (hs, i + 1);
        }
        if (l[0] == b' ' || l[0] == b'\t') && !hs.is_empty() {
            if let Some(h) = hs.last_mut() {
                h.push(l);
            }
        } else if l.contains(&b':') {
            hs.push(vec![l]);
        } else {
            // Not a header: the body starts here (no blank line).
            return (hs, i);
        }
        i += 1;
    }
    (hs, i)
}

fn header_name(h: &[&[u8]]) -> String {
    let first = h.first().copied().unwrap_or(b"");
    let end = first.iter().position(|&b| b == b':').unwrap_or(first.len());
    String::from_utf8_lossy(&first[..end])
        .trim()
        .to_ascii_lowercase()
}

fn header_value(h: &[&[u8]]) -> String {
    let joined: Vec<u8> = h.join(&b" "[..]);
    let start = joined
        .iter()
        .position(|&b| b == b':')
        .map_or(joined.len(), |i| i + 1);
    String::from_utf8_lossy(&joined[start..]).trim().to_string()
}

/// The value of parameter `name` in a header value (`boundary="x"`).
fn param(value: &str, name: &str) -> Option<String> {
    for part in value.split(';').skip(1) {
        let (k, v) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(name) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(v);
            return Some(v.to_string());
        }
    }
    None
}

/// Quoted-printable encoding of one line (RFC 2045 6.7), with soft
/// breaks so that no output line exceeds 76 characters.
pub fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    let mut col = 0usize;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let literal = (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
        let width = if literal { 1 } else { 3 };
        // Leave room for the soft-break '=' unless this is the last char.
        let room = if last { 76 } else { 75 };
        if col + width > room {
            out.extend_from_slice(b"=\n");
            col = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
        col += width;
    }
    out.push(b'\n');
}

fn push_line(out: &mut Vec<u8>, l: &[u8]) {
    out.extend_from_slice(l);
    out.push(b'\n');
}

fn push_header(out: &mut Vec<u8>, h: &[&[u8]]) {
    for l in h {
        push_line(out, l);
    }
}

/// Convert one entity (headers and body) into `out`.
fn entity(ls: &[&[u8]], default_ct: &str, top: bool, out: &mut Vec<u8>) {
    let (hs, body_at) = headers(ls);
    let body = &ls[body_at.min(ls.len())..];
    let had_blank = body_at > 0 && ls.get(body_at - 1).is_some_and(|l| l.is_empty());
    let find = |n: &str| {
        hs.iter()
            .find(|h| header_name(h) == n)
            .map(|h| header_value(h))
    };
    let ct = find("content-type").unwrap_or_else(|| default_ct.to_string());
    let ct_l = ct.to_ascii_lowercase();
    let cte = find("content-transfer-encoding").map(|v| v.to_ascii_lowercase());
    let body_8bit = body.iter().any(|l| has_8bit(l));
    let write_headers = |out: &mut Vec<u8>, new_cte: Option<&str>, add_version: bool| {
        for h in &hs {
            if new_cte.is_some() && header_name(h) == "content-transfer-encoding" {
                continue;
            }
            push_header(out, h);
        }
        if add_version {
            push_line(out, b"MIME-Version: 1.0");
        }
        if let Some(c) = new_cte {
            push_line(out, format!("Content-Transfer-Encoding: {c}").as_bytes());
        }
        if had_blank {
            out.push(b'\n');
        }
    };
    let container_cte = match cte.as_deref() {
        Some("8bit") if body_8bit => Some("7bit"),
        _ => None,
    };
    if ct_l.starts_with("multipart/") {
        let Some(boundary) = param(&ct, "boundary") else {
            write_headers(out, None, false);
            body.iter().for_each(|l| push_line(out, l));
            return;
        };
        write_headers(out, container_cte, false);
        let child_ct = if ct_l.starts_with("multipart/digest") {
            "message/rfc822"
        } else {
            "text/plain"
        };
        let delim = format!("--{boundary}");
        let mut part: Option<Vec<&[u8]>> = None;
        let mut ended = false;
        for l in body {
            let trimmed = l.strip_suffix(b" ").unwrap_or(l);
            if !ended && trimmed.starts_with(delim.as_bytes()) {
                let rest = &trimmed[delim.len()..];
                if rest.is_empty() || rest == b"--" {
                    if let Some(p) = part.take() {
                        entity(&p, child_ct, false, out);
                    }
                    push_line(out, l);
                    if rest == b"--" {
                        ended = true;
                    } else {
                        part = Some(Vec::new());
                    }
                    continue;
                }
            }
            match part.as_mut() {
                Some(p) if !ended => p.push(l),
                _ => push_line(out, l),
            }
        }
        if let Some(p) = part.take() {
            entity(&p, child_ct, false, out);
        }
        return;
    }
    if ct_l.starts_with("message/rfc822") {
        write_headers(out, container_cte, false);
        entity(body, "text/plain", false, out);
        return;
    }
    let convertible = matches!(cte.as_deref(), None | Some("7bit") | Some("8bit"));
    if body_8bit && convertible {
        let add_version = top && find("mime-version").is_none();
        write_headers(out, Some("quoted-printable"), add_version);
        for l in body {
            qp_line(l, out);
        }
        return;
    }
    write_headers(out, None, false);
    body.iter().for_each(|l| push_line(out, l));
}

/// Convert the message `content` (LF line ends) to 7 bits (see the
/// module description).
pub fn downgrade(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + content.len() / 4);
    entity(&lines(content), "text/plain", true, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn qp_lines() {
        let mut o = Vec::new();
        qp_line("caf\u{e9} = ok ".as_bytes(), &mut o);
        assert_eq!(s(&o), "caf=C3=A9 =3D ok=20\n");
        let mut o = Vec::new();
        qp_line(&[b'x'; 100], &mut o);
        let text = s(&o);
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        assert_eq!(text.replace("=\n", ""), format!("{}\n", "x".repeat(100)));
    }

    #[test]
    fn plain_message() {
        let m = "Subject: hi\n\nGr\u{fc}\u{df}e\n.\n";
        let d = s(&downgrade(m.as_bytes()));
        assert_eq!(
            d,
            "Subject: hi\nMIME-Version: 1.0\nContent-Transfer-Encoding: quoted-printable\n\nGr=C3=BC=C3=9Fe\n.\n"
        );
        assert!(!has_8bit(d.as_bytes()));
    }

    #[test]
    fn multipart_parts_converted() {
        let m = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\
                 Content-Transfer-Encoding: 8bit\n\npreamble\n--b1\nContent-Type: text/plain\n\
                 Content-Transfer-Encoding: 8bit\n\n\u{e9}t\u{e9}\n--b1\nContent-Type: application/octet-stream\n\
                 Content-Transfer-Encoding: base64\n\nAAAA\n--b1--\nepilogue\n";
        let d = s(&downgrade(m.as_bytes()));
        assert!(!has_8bit(d.as_bytes()), "{d}");
        assert!(
            d.contains(
                "Content-Type: multipart/mixed; boundary=\"b1\"\nContent-Transfer-Encoding: 7bit\n"
            ),
            "{d}"
        );
        assert!(d.contains("--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=C3=A9t=C3=A9\n--b1\n"), "{d}");
        assert!(
            d.contains("Content-Transfer-Encoding: base64\n\nAAAA\n--b1--\nepilogue\n"),
            "{d}"
        );
    }

    #[test]
    fn seven_bit_untouched() {
        let m = "Subject: x\n\nplain\n";
        assert_eq!(s(&downgrade(m.as_bytes())), m);
    }
}
