//! NAME
//!   aliases - the aliases(5) source format
//!
//! DESCRIPTION
//!   An alias entry is `name: value, value, ...` on one logical line (see
//!   [`crate::source`] for comments and continuation lines). The name is a
//!   local address; it may be written in double quotes to hold special
//!   characters. The value is a list of destinations — addresses,
//!   `/file/name`, `|command`, `:include:/file/name` — and is stored in
//!   a normalised form, as Postfix's postalias(1) does: the value is split
//!   into RFC 822 tokens (atoms, quoted strings, comments, domain
//!   literals and the special characters `()<>@,;:\".[]` plus `|`), then
//!   written back with one space after each comma, a space before `<`,
//!   a space between two words, and no other whitespace. An atom that
//!   contains an escaped special character is written in quotes.
//!
//!   [`split_destinations`] splits a stored value (or a `.forward` line)
//!   into its destinations, for the local delivery agent.
//!
//! DIAGNOSTICS
//!   `path, line N: need name:value pair` and `path, line N: name must be
//!   local`, returned as warnings by [`parse_source`].
use crate::source::logical_lines;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An atom, unescaped.
    Atom(String),
    /// A quoted string's content, as written (escapes kept).
    Quoted(String),
    /// A comment with its parentheses.
    Comment(String),
    /// A domain literal with its brackets.
    Literal(String),
    /// A special character.
    Op(char),
}

const SPECIALS: &str = "()<>@,;:\\\".[]|";

fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    s.push(chars[i]);
                    i += 1;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            toks.push(Tok::Quoted(s));
        } else if c == '(' {
            let mut depth = 0;
            let mut s = String::new();
            while i < chars.len() {
                let ch = chars[i];
                s.push(ch);
                i += 1;
                match ch {
                    '\\' if i < chars.len() => {
                        s.push(chars[i]);
                        i += 1;
                    }
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            toks.push(Tok::Comment(s));
        } else if c == '[' {
            let mut s = String::new();
            while i < chars.len() {
                s.push(chars[i]);
                i += 1;
                if s.ends_with(']') {
                    break;
                }
            }
            toks.push(Tok::Literal(s));
        } else if SPECIALS.contains(c) && c != '\\' {
            toks.push(Tok::Op(c));
            i += 1;
        } else {
            let mut s = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if ch == '\\' && i + 1 < chars.len() {
                    s.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                if ch.is_whitespace() || SPECIALS.contains(ch) {
                    break;
                }
                s.push(ch);
                i += 1;
            }
            toks.push(Tok::Atom(s));
        }
    }
    toks
}

fn is_word(t: &Tok) -> bool {
    !matches!(t, Tok::Op(_))
}

fn write_tok(out: &mut String, t: &Tok, unquote: bool) {
    match t {
        Tok::Quoted(q) if unquote => out.push_str(&unescape(q)),
        Tok::Atom(a)
            if a.is_empty() || a.chars().any(|c| c.is_whitespace() || SPECIALS.contains(c)) =>
        {
            out.push('"');
            for c in a.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Tok::Atom(a) => out.push_str(a),
        Tok::Quoted(q) => {
            out.push('"');
            out.push_str(q);
            out.push('"');
        }
        Tok::Comment(s) | Tok::Literal(s) => out.push_str(s),
        Tok::Op(c) => out.push(*c),
    }
}

/// Write `toks` back as text (see the module description); `unquote`
/// writes quoted strings without their quotes (alias names).
fn externalize(toks: &[Tok], unquote: bool) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        write_tok(&mut out, t, unquote);
        if *t == Tok::Op(',') {
            out.push(' ');
            continue;
        }
        if let Some(next) = toks.get(i + 1) {
            if *next == Tok::Op('<') || (is_word(t) && is_word(next)) {
                out.push(' ');
            }
        }
    }
    out
}

/// Normalise an alias value as postalias(1) stores it (see the module
/// description): `x ,y,   z` becomes `x, y, z`.
pub fn normalize_value(value: &str) -> String {
    externalize(&tokenize(value), false)
}

/// Split an alias value or `.forward` line into destinations at the
/// top-level commas. Each destination is normalised; a quoted
/// destination (`"|command with spaces"`) loses its quotes. Empty
/// destinations are dropped.
pub fn split_destinations(value: &str) -> Vec<String> {
    let toks = tokenize(value);
    let mut out = Vec::new();
    for group in toks.split(|t| *t == Tok::Op(',')) {
        match group {
            [] => {}
            [Tok::Quoted(q)] => out.push(unescape(q)),
            g => out.push(externalize(g, false)),
        }
    }
    out
}

fn unescape(q: &str) -> String {
    let mut s = String::new();
    let mut chars = q.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                s.push(n);
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// One alias entry read from a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// Line number of the entry's first line.
    pub lineno: usize,
    /// The alias name (not yet case-folded).
    pub name: String,
    /// The normalised value.
    pub value: String,
}

/// Parse one logical line `name: value`. `Err` holds the warning text
/// without the `file, line N: ` prefix.
pub fn parse_line(line: &str) -> Result<(String, String), &'static str> {
    let toks = tokenize(line);
    let Some(colon) = toks.iter().position(|t| *t == Tok::Op(':')) else {
        return Err("need name:value pair");
    };
    let (name_toks, value_toks) = (&toks[..colon], &toks[colon + 1..]);
    if name_toks.is_empty() || value_toks.is_empty() {
        return Err("need name:value pair");
    }
    // A comma before the colon means this is no `name: value` line.
    if name_toks.contains(&Tok::Op(',')) {
        return Err("need name:value pair");
    }
    if name_toks.contains(&Tok::Op('@')) {
        return Err("name must be local");
    }
    let name = externalize(name_toks, true);
    Ok((name, externalize(value_toks, false)))
}

/// Parse aliases(5) `text` read from `path`. Returns the entries in file
/// order and the warnings (`path, line N: ...`).
pub fn parse_source(path: &str, text: &str) -> (Vec<AliasEntry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for line in logical_lines(text) {
        match parse_line(&line.text) {
            Ok((name, value)) => entries.push(AliasEntry {
                lineno: line.lineno,
                name,
                value,
            }),
            Err(msg) => warnings.push(format!("{path}, line {}: {msg}", line.lineno)),
        }
    }
    (entries, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_normalised_like_postalias() {
        // Expected outputs observed with Postfix 3.7's postalias -s.
        let cases = [
            ("x ,y,   z", "x, y, z"),
            ("x(comment) y", "x (comment) y"),
            ("\"|cmd arg\"", "\"|cmd arg\""),
            ("|cmd arg", "|cmd arg"),
            ("| \"x y\"", "|\"x y\""),
            ("<foo@bar>, Name <n@x>", "<foo@bar>, Name <n@x>"),
            ("x.y . z", "x.y.z"),
            ("x<y>", "x <y>"),
            ("a,,b,", "a, , b, "),
            ("x\\ y", "\"x y\""),
            ("[1.2.3.4] x", "[1.2.3.4] x"),
            ("x[a]", "x [a]"),
            ("(a (b) c)  d", "(a (b) c) d"),
            ("\"a b\"@c", "\"a b\"@c"),
            ("|x|y z", "|x|y z"),
            (
                "/tmp/file,\n  :include:/etc/x",
                "/tmp/file, :include:/etc/x",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_value(input), want, "input {input:?}");
        }
    }

    #[test]
    fn names_and_errors() {
        let text = "Root: admin, \"bob smith\"\n\"quoted name\": |\"/usr/bin/foo bar\"\nbad line\nF@x: foo\nx:\n: empty\nh : spaced\nx ,y: bad\n\"a b\" c: d\na(c): g\n";
        let (entries, warnings) = parse_source("aliases", text);
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        // Names observed with Postfix 3.7's postalias.
        assert_eq!(names, vec!["Root", "quoted name", "h", "a b c", "a (c)"]);
        assert_eq!(entries[1].value, "|\"/usr/bin/foo bar\"");
        assert_eq!(
            warnings,
            vec![
                "aliases, line 3: need name:value pair",
                "aliases, line 4: name must be local",
                "aliases, line 5: need name:value pair",
                "aliases, line 6: need name:value pair",
                "aliases, line 8: need name:value pair",
            ]
        );
    }

    #[test]
    fn destinations_split_at_top_level_commas() {
        assert_eq!(
            split_destinations(
                "admin, \"|/usr/bin/foo bar\", /tmp/f, :include:/etc/x, Name <a@b>, \"x, y\"@z"
            ),
            vec![
                "admin",
                "|/usr/bin/foo bar",
                "/tmp/f",
                ":include:/etc/x",
                "Name <a@b>",
                "\"x, y\"@z"
            ]
        );
    }
}
