//! NAME
//!   regexp - regular expression tables (regexp_table(5))
//!
//! DESCRIPTION
//!   A `regexp:/path` table is a list of rules tried in order:
//!
//!   - `/pattern/flags result`: when the pattern matches, answer result;
//!   - `!/pattern/flags result`: when it does not match;
//!   - `if /pattern/flags` ... `endif` (and `if !/pattern/`): try the
//!     enclosed rules only when the pattern matches (does not match);
//!     blocks nest.
//!
//!   The delimiter may be any non-alphanumeric, non-whitespace character.
//!   Flags toggle Postfix's defaults: `i` (case-insensitive, on by
//!   default), `x` (extended syntax, on), `m` (multi-line: `^`/`$` at
//!   newlines and `.` no longer matching newline; off). Results may use
//!   `$1`, `${1}`, `$(1)` for parenthesised sub-expressions and `$$` for a
//!   dollar. Patterns use the `regex` crate's syntax, which covers POSIX
//!   extended expressions (classes such as `[[:alpha:]]`, `\<`, `\>`);
//!   alternations pick the leftmost alternative rather than POSIX's
//!   longest one. With `x` toggled off, basic-syntax `\(` `\)` `\{` `\}`
//!   groups are translated.
//!
//!   Lookup keys are never case-folded: the `i` flag decides.
//!
//! DIAGNOSTICS
//!   Like Postfix, a bad rule is skipped with a warning naming the file
//!   and the first line of the rule: `regexp map /path, line N: unknown
//!   regexp option "z": skipping this rule`, `... out of range replacement
//!   index "2": skipping this rule`, `... ignoring ENDIF without matching
//!   IF`, `... IF has no matching ENDIF`, `... ignoring unrecognized
//!   request`.
use crate::dict::{Dict, DictError};
use crate::rules::{RuleList, Syntax};
use regex::Regex;

/// One piece of a result template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// A parsed `regexp:` table.
#[derive(Debug)]
pub struct RegexpDict {
    name: String,
    rules: RuleList<Regex, Vec<Piece>>,
}

struct RegexpSyntax;

impl Syntax for RegexpSyntax {
    type Pattern = Regex;
    type Result = Vec<Piece>;
    fn pattern<'t>(&self, text: &'t str) -> Result<(Regex, &'t str), String> {
        parse_pattern(text)
    }
    fn result(
        &self,
        re: &Regex,
        negate: bool,
        text: &str,
        warn: &mut dyn FnMut(&str),
    ) -> Option<Vec<Piece>> {
        if text.is_empty() {
            warn("no replacement text: using empty string");
        }
        match parse_result(text, re.captures_len() - 1) {
            Ok(result) if negate && result.iter().any(|p| matches!(p, Piece::Group(_))) => {
                warn("$number found in negative match replacement text: skipping this rule");
                None
            }
            Ok(result) => Some(result),
            Err(msgs) => {
                msgs.iter().for_each(|m| warn(m));
                None
            }
        }
    }
}

/// Parse `/pattern/flags` at the start of `s`. Returns the compiled
/// expression and the rest of the line. `Err` holds the warning text.
fn parse_pattern(s: &str) -> Result<(Regex, &str), String> {
    let mut chars = s.char_indices();
    let Some((_, delim)) = chars.next() else {
        return Err("ignoring unrecognized request".into());
    };
    if delim.is_alphanumeric() || delim.is_whitespace() {
        return Err("ignoring unrecognized request".into());
    }
    let body_start = delim.len_utf8();
    let mut end = None;
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delim {
            end = Some(i);
            break;
        }
    }
    let Some(end) = end else {
        return Err(format!("no closing regexp delimiter \"{delim}\""));
    };
    let pattern = &s[body_start..end];
    let after = &s[end + delim.len_utf8()..];
    let flag_end = after.find(char::is_whitespace).unwrap_or(after.len());
    let (mut icase, mut extended, mut multiline) = (true, true, false);
    for f in after[..flag_end].chars() {
        match f {
            'i' => icase = !icase,
            'x' => extended = !extended,
            'm' => multiline = !multiline,
            other => {
                return Err(format!(
                    "unknown regexp option \"{other}\": skipping this rule"
                ))
            }
        }
    }
    let mut source = String::new();
    source.push_str(if multiline { "(?m)" } else { "(?s)" });
    if icase {
        source.push_str("(?i)");
    }
    if extended {
        source.push_str(pattern);
    } else {
        source.push_str(&basic_to_extended(pattern));
    }
    let re = Regex::new(&source).map_err(|e| {
        let text = e.to_string();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("bad expression");
        format!(
            "{}: skipping this rule",
            last.trim().trim_start_matches("error: ")
        )
    })?;
    Ok((re, &after[flag_end..]))
}

/// Translate a POSIX basic expression: `\(` `\)` `\{` `\}` `\|` become
/// operators and the bare characters `( ) { } | + ?` become literals.
fn basic_to_extended(p: &str) -> String {
    let mut out = String::new();
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('(' | ')' | '{' | '}' | '|')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str("\\\\"),
            },
            '(' | ')' | '{' | '}' | '|' | '+' | '?' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Parse a result template. `Err` holds the warning lines.
fn parse_result(text: &str, groups: usize) -> Result<Vec<Piece>, Vec<String>> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        lit.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        let (index_text, after) = if rest.starts_with('$') {
            lit.push('$');
            rest = &rest[1..];
            continue;
        } else if let Some(open @ ('{' | '(')) = rest.chars().next() {
            let close = if open == '{' { '}' } else { ')' };
            match rest.find(close) {
                Some(end) => (&rest[1..end], &rest[end + 1..]),
                None => {
                    return Err(vec![
                        format!("truncated macro reference: \"${rest}\""),
                        "bad replacement syntax: skipping this rule".to_string(),
                    ])
                }
            }
        } else {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 {
                let word: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                return Err(vec![
                    format!("non-numeric replacement index \"{word}\""),
                    "bad replacement syntax: skipping this rule".to_string(),
                ]);
            }
            (&rest[..end], &rest[end..])
        };
        let Ok(n) = index_text.parse::<usize>() else {
            return Err(vec![
                format!("non-numeric replacement index \"{index_text}\""),
                "bad replacement syntax: skipping this rule".to_string(),
            ]);
        };
        if n == 0 || n > groups {
            return Err(vec![format!(
                "out of range replacement index \"{n}\": skipping this rule"
            )]);
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut lit)));
        }
        pieces.push(Piece::Group(n));
        rest = after;
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Text(lit));
    }
    Ok(pieces)
}

impl RegexpDict {
    /// Open `regexp:path`, or the inline form `regexp:{ {rule}, {rule} }`
    /// (Postfix 3.7). Warnings for skipped rules are logged. Errors: the
    /// file cannot be read, or unbalanced braces.
    pub fn open(body: &str) -> Result<RegexpDict, DictError> {
        let (name, origin, text) = crate::rules::load("regexp", body)?;
        let (dict, warnings) = Self::parse(&name, &origin, &text);
        for w in warnings {
            util::msg_warn!("{w}");
        }
        Ok(dict)
    }

    /// Parse table `text`; `name` is the table name, `origin` the file name
    /// used in warnings. Returns the table and the warnings.
    pub fn parse(name: &str, origin: &str, text: &str) -> (RegexpDict, Vec<String>) {
        let (rules, warnings) = RuleList::parse("regexp", origin, text, &RegexpSyntax);
        (
            RegexpDict {
                name: name.to_string(),
                rules,
            },
            warnings,
        )
    }
}

impl Dict for RegexpDict {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_fixed(&self) -> bool {
        false
    }
    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        Ok(self.rules.find(
            |re| Some(re.is_match(key)),
            |re, negate, result| {
                if negate {
                    (!re.is_match(key)).then(|| expand(result, None))
                } else {
                    re.captures(key).map(|caps| expand(result, Some(&caps)))
                }
            },
        ))
    }
}

fn expand(result: &[Piece], caps: Option<&regex::Captures<'_>>) -> String {
    let mut out = String::new();
    for p in result {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Group(n) => {
                if let Some(m) = caps.and_then(|c| c.get(*n)) {
                    out.push_str(m.as_str());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (RegexpDict, Vec<String>) {
        RegexpDict::parse("regexp:t", "t", text)
    }

    fn get(d: &RegexpDict, k: &str) -> Option<String> {
        d.lookup(k).unwrap()
    }

    #[test]
    fn substitution_forms_and_dollar() {
        let (d, w) = table("/^(.*)@example\\.com$/ user=$1 ${1}x $(1) $$\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            get(&d, "joe@EXAMPLE.com").as_deref(),
            Some("user=joe joex joe $")
        );
        assert_eq!(get(&d, "joe@example.org"), None);
    }

    #[test]
    fn negation_if_endif_and_nesting() {
        let text = "if /^a/\nif !/z/\n/b$/ AB\nendif\nendif\n!/foo/ notfoo\n";
        let (d, w) = table(text);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(get(&d, "ab").as_deref(), Some("AB"));
        assert_eq!(get(&d, "azb").as_deref(), Some("notfoo"));
        assert_eq!(get(&d, "foo"), None);
    }

    #[test]
    fn flags_toggle_case_and_multiline() {
        let (d, _) = table("/^B$/i cs\n/^x$/m line\n/a.b/ dot\n");
        assert_eq!(get(&d, "b"), None);
        assert_eq!(get(&d, "B").as_deref(), Some("cs"));
        assert_eq!(get(&d, "1\nx\n2").as_deref(), Some("line"));
        // Without m, '.' matches a newline as in POSIX.
        assert_eq!(get(&d, "a\nb").as_deref(), Some("dot"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let text =
            "/(a)/ $2\n/b/ $x\nif /c/\n/d/ D\n/(bad/ x\nendif\nendif\n/x/z y\nnoslash here\n/e/\n";
        let (d, w) = table(text);
        assert_eq!(
            w[0],
            "regexp map t, line 1: out of range replacement index \"2\": skipping this rule"
        );
        assert_eq!(
            w[1],
            "regexp map t, line 2: non-numeric replacement index \"x\""
        );
        assert_eq!(
            w[2],
            "regexp map t, line 2: bad replacement syntax: skipping this rule"
        );
        assert!(w[3].starts_with("regexp map t, line 5: "), "{}", w[3]);
        assert_eq!(
            w[4],
            "regexp map t, line 7: ignoring ENDIF without matching IF"
        );
        assert_eq!(
            w[5],
            "regexp map t, line 8: unknown regexp option \"z\": skipping this rule"
        );
        assert_eq!(w[6], "regexp map t, line 9: ignoring unrecognized request");
        assert_eq!(
            w[7],
            "regexp map t, line 10: no replacement text: using empty string"
        );
        assert_eq!(get(&d, "cd").as_deref(), Some("D"));
        assert_eq!(get(&d, "e").as_deref(), Some(""));
        let (_, w) = table("if /c/\n/d/ D\n");
        assert_eq!(
            w,
            vec!["regexp map t, line 1: IF has no matching ENDIF".to_string()]
        );
    }

    #[test]
    fn continuation_lines_and_other_delimiters() {
        let (d, w) = table("#c\n/^abc$/\n  REJECT text\n|a/b| slash\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(get(&d, "ABC").as_deref(), Some("REJECT text"));
        assert_eq!(get(&d, "xa/by").as_deref(), Some("slash"));
    }

    #[test]
    fn basic_syntax_with_x_toggled() {
        let (d, w) = table("/^\\(a\\)+$/x $1\n");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(get(&d, "a+").as_deref(), Some("a"));
        assert_eq!(get(&d, "aa"), None);
    }

    #[test]
    fn inline_form() {
        let d = RegexpDict::open("{ {/x/ X}, {/y/ Y} }").unwrap();
        assert_eq!(get(&d, "y").as_deref(), Some("Y"));
    }
}
