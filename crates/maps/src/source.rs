//! NAME
//!   source - the text format of lookup-table source files
//!
//! DESCRIPTION
//!   Every table source Postfix reads (postmap(1) input, `texthash:`,
//!   `regexp:`, `cidr:`, aliases(5)) shares one line discipline:
//!
//!   - empty lines, whitespace-only lines, and lines whose first
//!     non-whitespace character is `#` are ignored;
//!   - a logical line starts with non-whitespace text, and a line that
//!     starts with whitespace continues it (the newline is dropped, the
//!     leading whitespace kept). Ignored lines do not end a logical line.
//!
//!   [`logical_lines`] applies that and remembers the number of the first
//!   physical line, which diagnostics report. [`split_key_value`] splits a
//!   postmap(1) entry `key whitespace value`, where a key may be enclosed
//!   in double quotes to hold whitespace (`\"` and `\\` inside); as in
//!   Postfix, the quotes stay part of the stored key.

/// One logical line of a table source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// The 1-based number of its first physical line.
    pub lineno: usize,
    /// The joined text, without the trailing newline.
    pub text: String,
}

/// Join `text` into logical lines (see the module description).
pub fn logical_lines(text: &str) -> Vec<LogicalLine> {
    logical_lines_bytes(text.as_bytes())
        .into_iter()
        .map(|(lineno, bytes)| LogicalLine {
            lineno,
            // Lines split at ASCII bytes of valid UTF-8 stay valid.
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
        .collect()
}

/// [`logical_lines`] on raw bytes (a source file need not be UTF-8):
/// `(number of the first physical line, joined bytes)`.
pub fn logical_lines_bytes(text: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut current: Option<(usize, Vec<u8>)> = None;
    for (idx, raw) in text.split(|b| *b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = line.trim_ascii_start();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        // A continuation with nothing to continue starts a line.
        if line.first().is_some_and(u8::is_ascii_whitespace) {
            if let Some((_, cur)) = current.as_mut() {
                cur.extend_from_slice(line);
                continue;
            }
        }
        out.extend(current.take());
        current = Some((idx + 1, line.to_vec()));
    }
    out.extend(current);
    for (_, l) in &mut out {
        let end = l.trim_ascii_end().len();
        l.truncate(end);
    }
    out
}

/// `bytes` for a diagnostic, as Postfix's printable(): valid UTF-8 stays,
/// each byte of an invalid sequence and each control character becomes
/// `?`.
pub fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.extend(
            chunk
                .valid()
                .chars()
                .map(|c| if c.is_control() { '?' } else { c }),
        );
        out.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    out
}

/// Why a `key whitespace value` line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// No value after the key (`expected format: key whitespace value`).
    NoValue,
    /// A quoted key without its closing quote.
    Unbalanced,
}

impl EntryError {
    /// The warning text, as postmap(1) prints it after `file, line N: `.
    pub fn message(&self, line: &str) -> String {
        match self {
            EntryError::NoValue => "expected format: key whitespace value".to_string(),
            EntryError::Unbalanced => format!("unbalanced '\"' in '{line}' -- ignoring this line"),
        }
    }
}

/// Split a logical line into key and value. A key starting with `"` runs
/// to the next unescaped `"`; inside, a backslash makes the next character
/// literal. The value is the rest with surrounding whitespace removed.
/// Errors: [`EntryError`].
pub fn split_key_value(line: &str) -> Result<(String, String), EntryError> {
    let end = if let Some(body) = line.strip_prefix('"') {
        let mut chars = body.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if chars.next().is_none() => return Err(EntryError::Unbalanced),
                '"' => {
                    end = Some(1 + i + 1);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else {
            return Err(EntryError::Unbalanced);
        };
        if !line[end..].is_empty() && !line[end..].starts_with(char::is_whitespace) {
            return Err(EntryError::Unbalanced);
        }
        end
    } else {
        line.find(char::is_whitespace).unwrap_or(line.len())
    };
    let value = line[end..].trim();
    if value.is_empty() {
        return Err(EntryError::NoValue);
    }
    Ok((line[..end].to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_skips_comments() {
        let text = "a b\n# comment\n  cont\n\n   \nc\td\n\tmore\n";
        let lines = logical_lines(text);
        assert_eq!(
            lines,
            vec![
                LogicalLine {
                    lineno: 1,
                    text: "a b  cont".into()
                },
                LogicalLine {
                    lineno: 6,
                    text: "c\td\tmore".into()
                },
            ]
        );
    }

    #[test]
    fn byte_lines_and_printable() {
        let lines = logical_lines_bytes(b"a \xff\n  cont\n# c\xe9\nb caf\xc3\xa9\n");
        assert_eq!(
            lines,
            vec![
                (1, b"a \xff  cont".to_vec()),
                (4, "b café".as_bytes().to_vec())
            ]
        );
        assert_eq!(printable(b"\xff\xfebad value"), "??bad value");
        assert_eq!(printable("café\x01".as_bytes()), "café?");
    }

    #[test]
    fn splits_plain_and_quoted_keys() {
        assert_eq!(
            split_key_value("foo  bar baz  "),
            Ok(("foo".into(), "bar baz".into()))
        );
        // Postfix keeps the quotes: they only protect the whitespace.
        assert_eq!(
            split_key_value("\"q k\" v"),
            Ok(("\"q k\"".into(), "v".into()))
        );
        assert_eq!(
            split_key_value(r#""a\"b" v2"#),
            Ok((r#""a\"b""#.into(), "v2".into()))
        );
        assert_eq!(split_key_value("lonely"), Err(EntryError::NoValue));
        assert_eq!(split_key_value("\"open v"), Err(EntryError::Unbalanced));
    }
}
