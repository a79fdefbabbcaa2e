//! NAME
//!   token - MAIL FROM / RCPT TO argument parsing and address syntax
//!
//! DESCRIPTION
//!   [`parse_path`] takes what follows the command verb (`FROM:<a@b>
//!   SIZE=10`) and returns the address in internal form (quotes around
//!   the local part removed, a source route `@a,@b:` dropped) and the
//!   ESMTP parameters. As Postfix does unless `strict_rfc821_envelopes`
//!   is set, it tolerates a space after the colon and an address without
//!   angle brackets.
//!
//!   [`xtext_decode`] decodes RFC 3461 xtext (ENVID, ORCPT).
//!
//! DIAGNOSTICS
//!   [`PathError::Syntax`]: the `FROM:`/`TO:` part is missing (reply
//!   `501 5.5.4 Syntax: ...`); [`PathError::Address`]: the address is
//!   malformed (`501 5.1.7`/`5.1.3 Bad ... address syntax`).
//!
//! SEE ALSO
//!   RFC 5321 section 4.1.2, RFC 3461 section 4, RFC 6531.

/// Why a MAIL/RCPT argument was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// The `FROM:`/`TO:` keyword is missing or misplaced.
    Syntax,
    /// The address is malformed.
    Address,
}

/// A parsed MAIL FROM or RCPT TO argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The address in internal form; empty for `<>`.
    pub addr: String,
    /// The ESMTP parameters as (keyword, value) pairs, the keyword in
    /// the client's case (replies quote it as sent; compare it without
    /// regard to case).
    pub params: Vec<(String, Option<String>)>,
}

/// Parse `rest` (the command line after the verb) for keyword `kw`
/// (`FROM:` or `TO:`). `strict`: `strict_rfc821_envelopes`.
pub fn parse_path(rest: &str, kw: &str, strict: bool) -> Result<Path, PathError> {
    let rest = rest.trim_start_matches(' ');
    if !rest
        .get(..kw.len())
        .is_some_and(|k| k.eq_ignore_ascii_case(kw))
    {
        return Err(PathError::Syntax);
    }
    let mut arg = &rest[kw.len()..];
    if arg.starts_with([' ', '\t']) {
        if strict {
            return Err(PathError::Address);
        }
        arg = arg.trim_start_matches([' ', '\t']);
    }
    if arg.is_empty() {
        return Err(PathError::Syntax);
    }
    let (raw, tail) = if arg.starts_with('<') {
        let end = closing_bracket(arg).ok_or(PathError::Address)?;
        (&arg[1..end], &arg[end + 1..])
    } else {
        if strict {
            return Err(PathError::Address);
        }
        let end = arg.find([' ', '\t']).unwrap_or(arg.len());
        (&arg[..end], &arg[end..])
    };
    if !tail.is_empty() && !tail.starts_with([' ', '\t']) {
        return Err(PathError::Address);
    }
    let addr = internal_form(raw).ok_or(PathError::Address)?;
    let params = tail
        .split([' ', '\t'])
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p.to_string(), None),
        })
        .collect();
    Ok(Path { addr, params })
}

/// The index of the `>` that closes the `<` at the start of `s`,
/// skipping quoted strings and backslash escapes.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            '<' if !quoted => return None,
            _ => {}
        }
    }
    None
}

/// Check the syntax of an address between the brackets and return it in
/// internal form; `None` when malformed.
fn internal_form(raw: &str) -> Option<String> {
    // Drop an RFC 5321 source route: @a,@b:user@domain.
    let raw = if raw.starts_with('@') {
        match raw.find(':') {
            Some(c) => &raw[c + 1..],
            None => return None,
        }
    } else {
        raw
    };
    let mut out = String::with_capacity(raw.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in raw.chars() {
        if c.is_control() {
            return None;
        }
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if quoted => out.push(c),
            ' ' | '<' | '>' | '(' | ')' | ',' | ';' => return None,
            c => out.push(c),
        }
    }
    if quoted || escaped {
        return None;
    }
    if out.ends_with('@') || out.starts_with('@') {
        return None;
    }
    Some(out)
}

/// Decode RFC 3461 xtext (`+XX` hex escapes); `None` when malformed.
pub fn xtext_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'+' {
            let hex = s.get(i + 1..i + 3)?;
            if !hex
                .bytes()
                .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if (b'!'..=b'~').contains(&c) && c != b'=' {
            out.push(c);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether `s` is valid RFC 3461 xtext.
pub fn is_xtext(s: &str) -> bool {
    xtext_decode(s).is_some()
}

/// The domain part of `addr` (after the last `@`), if any.
pub fn domain_of(addr: &str) -> Option<&str> {
    addr.rfind('@').map(|i| &addr[i + 1..])
}

/// Quote an internal-form address for display as Postfix does in
/// replies and logs: a local part with spaces or specials gets quotes.
pub fn external_form(addr: &str) -> String {
    let (local, domain) = match addr.rfind('@') {
        Some(i) => (&addr[..i], Some(&addr[i..])),
        None => (addr, None),
    };
    let needs = local.chars().any(|c| " \"(),:;<>@[\\]".contains(c))
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..");
    if !needs {
        return addr.to_string();
    }
    let mut q = String::from("\"");
    for c in local.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q.push_str(domain.unwrap_or(""));
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Path, PathError> {
        parse_path(s, "FROM:", false)
    }

    #[test]
    fn plain_and_null_paths() {
        assert_eq!(p("FROM:<a@b.example>").unwrap().addr, "a@b.example");
        assert_eq!(p("from:<>").unwrap().addr, "");
        assert_eq!(p("FROM: <a@b>").unwrap().addr, "a@b");
        assert_eq!(
            p("FROM:a@b Size=5 smtputf8").unwrap().params,
            vec![("Size".into(), Some("5".into())), ("smtputf8".into(), None)]
        );
        assert_eq!(p("FROM:<@r1,@r2:u@d>").unwrap().addr, "u@d");
        assert_eq!(p("FROM:<\"a b\"@d>").unwrap().addr, "a b@d");
    }

    #[test]
    fn strict_mode_wants_brackets_and_no_space() {
        assert_eq!(
            parse_path("FROM: <a@b>", "FROM:", true),
            Err(PathError::Address)
        );
        assert_eq!(
            parse_path("FROM:a@b", "FROM:", true),
            Err(PathError::Address)
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(p("<a@b>"), Err(PathError::Syntax));
        assert_eq!(p("FRÖM:<a@b>"), Err(PathError::Syntax));
        assert_eq!(p("\u{39c}\u{39c}\u{39c}"), Err(PathError::Syntax));
        assert_eq!(p("FROM:"), Err(PathError::Syntax));
        assert_eq!(p("FROM:<a@b"), Err(PathError::Address));
        assert_eq!(p("FROM:<a b@c>"), Err(PathError::Address));
        assert_eq!(p("FROM:<a\u{1}@c>"), Err(PathError::Address));
        assert_eq!(p("FROM:<a@b>x"), Err(PathError::Address));
        assert_eq!(p("FROM:<a@>"), Err(PathError::Address));
    }

    #[test]
    fn xtext() {
        assert_eq!(xtext_decode("rfc822;a+2Bb@c").unwrap(), "rfc822;a+b@c");
        assert!(xtext_decode("a+2").is_none());
        assert!(xtext_decode("a b").is_none());
    }

    #[test]
    fn external_form_quotes_specials() {
        assert_eq!(external_form("a b@c"), "\"a b\"@c");
        assert_eq!(external_form("ab@c"), "ab@c");
    }
}
