//! NAME
//!   addrlist - find and replace the addresses in an RFC 5322 header value
//!
//! SYNOPSIS
//!   let spans = addrlist::find(r#""Doe, J" <john@host>, ann (Ann), list: a@x, b@y;"#);
//!   let new = addrlist::replace(value, |internal| Some(rewrite(internal)));
//!
//! DESCRIPTION
//!   Header address rewriting (Postfix's cleanup, with tok822) changes the
//!   addresses of `From:`, `To:` and the like and leaves display names,
//!   comments and groups alone. [`find`] scans a header value, honouring
//!   quoted strings, nested comments and domain literals, and returns the
//!   byte range of every address: the text inside `<...>` for a name-addr,
//!   otherwise the mailbox with its comments left outside the range.
//!   Group names (`list:` ... `;`) are skipped; `<>` is not an address.
//!
//!   Addresses are handed to callers in internal form ([`to_internal`]:
//!   the local part unquoted) and put back in external form
//!   ([`quote_local`]: the local part quoted when it is not a dot-atom).
//!
//! SEE ALSO
//!   RFC 5322 section 3.4, Postfix tok822(3), quote_822_local(3).

/// A found address: `start..end` in the scanned text.
pub type Span = std::ops::Range<usize>;

/// Skip a quoted string, comment or domain literal starting at `i`
/// (which holds the opening character); returns the index after it.
fn skip_group(b: &[u8], mut i: usize) -> usize {
    let open = b[i];
    let close = match open {
        b'"' => b'"',
        b'(' => b')',
        _ => b']',
    };
    let mut depth = 1;
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            c if c == close && (open != b'(' || depth == 1) => return i + 1,
            b')' if open == b'(' => depth -= 1,
            b'(' if open == b'(' => depth += 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The byte ranges of the addresses in header value `text`.
pub fn find(text: &str) -> Vec<Span> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut seg_start = 0;
    let mut angle: Option<usize> = None;
    let mut had_angle = false;
    let mut i = 0;
    let flush = |start: usize, end: usize, had_angle: bool, out: &mut Vec<Span>| {
        if !had_angle {
            if let Some(span) = bare_mailbox(text, start, end) {
                out.push(span);
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'"' | b'(' | b'[' => {
                i = skip_group(b, i);
                continue;
            }
            b'<' if angle.is_none() => angle = Some(i + 1),
            b'>' => {
                if let Some(start) = angle.take() {
                    let (s, e) = trim(text, start, i);
                    if s < e {
                        out.push(s..e);
                    }
                    had_angle = true;
                }
            }
            b':' if angle.is_none() => {
                // A group name ends here; members follow.
                seg_start = i + 1;
            }
            b',' | b';' if angle.is_none() => {
                flush(seg_start, i, had_angle, &mut out);
                seg_start = i + 1;
                had_angle = false;
            }
            _ => {}
        }
        i += 1;
    }
    if angle.is_none() {
        flush(seg_start, b.len(), had_angle, &mut out);
    }
    out
}

fn trim(text: &str, mut s: usize, mut e: usize) -> (usize, usize) {
    let b = text.as_bytes();
    while s < e && b[s].is_ascii_whitespace() {
        s += 1;
    }
    while e > s && b[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    (s, e)
}

/// A mailbox without angle brackets: the text minus leading and
/// trailing comments and white space. `None` when nothing is left.
fn bare_mailbox(text: &str, start: usize, end: usize) -> Option<Span> {
    let b = text.as_bytes();
    let (mut s, mut e) = trim(text, start, end);
    // Leading comments.
    while s < e && b[s] == b'(' {
        s = skip_group(b, s).min(e);
        (s, e) = trim(text, s, e);
    }
    // Trailing comments: find the first top-level '(' after the address.
    let mut i = s;
    while i < e {
        match b[i] {
            b'"' | b'[' => i = skip_group(b, i),
            b'(' => {
                e = i;
                break;
            }
            _ => i += 1,
        }
    }
    let (s, e) = trim(text, s, e.min(b.len()));
    (s < e).then_some(s..e)
}

/// External to internal form: unquote a quoted local part
/// (`"john doe"@example.com` -> `john doe@example.com`) and drop white
/// space around `@` and dots outside quotes.
pub fn to_internal(addr: &str) -> String {
    let mut out = String::new();
    let mut chars = addr.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether `s` is an RFC 5322 dot-atom (no quoting needed).
fn is_dot_atom(s: &str) -> bool {
    const SPECIALS: &str = "()<>[]:;@\\,.\"";
    !s.is_empty()
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..")
        && s.chars()
            .all(|c| c == '.' || (!c.is_control() && !c.is_whitespace() && !SPECIALS.contains(c)))
}

/// Internal to external form: quote the local part when it is not a
/// dot-atom (Postfix's quote_822_local).
pub fn quote_local(addr: &str) -> String {
    let (local, domain) = match addr.rfind('@') {
        Some(at) => (&addr[..at], Some(&addr[at + 1..])),
        None => (addr, None),
    };
    let local = if local.is_empty() || is_dot_atom(local) {
        local.to_string()
    } else {
        let mut q = String::from("\"");
        for c in local.chars() {
            if c == '"' || c == '\\' {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    };
    match domain {
        Some(d) => format!("{local}@{d}"),
        None => local,
    }
}

/// Replace every address of `text` by `f(internal form)` (external form
/// of the result); `f` returns `None` to keep an address. Returns the
/// new text, or `None` when nothing changed.
pub fn replace(text: &str, mut f: impl FnMut(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut changed = false;
    for span in find(text) {
        let internal = to_internal(&text[span.clone()]);
        if let Some(new) = f(&internal) {
            if new != internal {
                out.push_str(&text[last..span.start]);
                out.push_str(&quote_local(&new));
                last = span.end;
                changed = true;
            }
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(text: &str) -> Vec<&str> {
        find(text).into_iter().map(|s| &text[s]).collect()
    }

    #[test]
    fn finds_addresses_in_common_forms() {
        assert_eq!(addrs("user@example.com"), vec!["user@example.com"]);
        assert_eq!(
            addrs(" John Doe <john@example.com> "),
            vec!["john@example.com"]
        );
        assert_eq!(
            addrs("\"Doe, John\" <john@x>, ann@y (Ann, Smith)"),
            vec!["john@x", "ann@y"]
        );
        assert_eq!(addrs("(lead) user (trail)"), vec!["user"]);
        assert_eq!(addrs("list: a@x, B <b@y>;, c@z"), vec!["a@x", "b@y", "c@z"]);
        assert_eq!(addrs("undisclosed-recipients:;"), Vec::<&str>::new());
        assert_eq!(addrs("<>"), Vec::<&str>::new());
        assert_eq!(addrs("\"a b\"@x"), vec!["\"a b\"@x"]);
        assert_eq!(addrs("x@[1.2.3.4]"), vec!["x@[1.2.3.4]"]);
        assert_eq!(addrs("Nested (a (b) c) <n@x>"), vec!["n@x"]);
        assert_eq!(addrs(""), Vec::<&str>::new());
    }

    #[test]
    fn unbalanced_input_does_not_panic() {
        for t in ["<a@b", "\"a", "(a", "a>b", "[x", "a, <", ":", ";;,,"] {
            let _ = find(t);
            let _ = replace(t, |a| Some(format!("{a}.x")));
        }
    }

    #[test]
    fn internal_and_external_forms() {
        assert_eq!(
            to_internal("\"john doe\"@example.com"),
            "john doe@example.com"
        );
        assert_eq!(to_internal("a . b @ example.com"), "a.b@example.com");
        assert_eq!(
            quote_local("john doe@example.com"),
            "\"john doe\"@example.com"
        );
        assert_eq!(quote_local("a.b@example.com"), "a.b@example.com");
        assert_eq!(quote_local("MAILER-DAEMON"), "MAILER-DAEMON");
        assert_eq!(quote_local("a\"b@x"), "\"a\\\"b\"@x");
    }

    #[test]
    fn replace_keeps_names_and_comments() {
        let v = "John <john>, ann (Ann), list: bob;";
        let r = replace(v, |a| Some(format!("{a}@example.com"))).unwrap();
        assert_eq!(
            r,
            "John <john@example.com>, ann@example.com (Ann), list: bob@example.com;"
        );
        assert_eq!(replace("a@x", |a| Some(a.to_string())), None);
        assert_eq!(replace("a@x", |_| None), None);
    }
}
