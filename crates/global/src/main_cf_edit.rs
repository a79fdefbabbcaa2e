//! NAME
//!   main_cf_edit - edit main.cf text in place, as `postconf -e`, `-X`
//!   and `-#` do
//!
//! SYNOPSIS
//!   let reqs = parse_requests(&args, Action::Set)?;
//!   let out = apply(&text, Action::Set, &reqs.edits);
//!
//! DESCRIPTION
//!   These are pure text functions; `postconf` reads the file, calls
//!   [`apply`], and renames a temporary file over the original.
//!
//!   main.cf is processed line by line. Blank lines and comment lines
//!   (first non-blank character `#`) are always copied unchanged, even
//!   inside a logical line. A line that starts with whitespace continues the
//!   logical line before it; any other line starts a logical line whose
//!   parameter name runs up to the first blank or `=`.
//!
//!   - [`Action::Set`] (`postconf -e name=value`): the first line of each
//!     logical line that sets the name becomes `name = value` and its
//!     continuation lines are dropped; names not found are appended at
//!     the end, sorted by name.
//!   - [`Action::Remove`] (`postconf -X name`): the logical line and its
//!     continuation lines are dropped.
//!   - [`Action::CommentOut`] (`postconf -# name`): a `#` is put in front
//!     of the first line and of each continuation line.
//!
//!   A last line without a newline gets one. These are the observable
//!   rules of Postfix 3.7's postconf.
//!
//! DIAGNOSTICS
//!   [`parse_requests`] returns Postfix's messages for bad arguments
//!   (`missing '=' after attribute name: "foo"`); [`apply`] reports names
//!   found in more than one logical line (`multiple entries for "name"`).
use std::collections::BTreeMap;

/// What to do with each named parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `postconf -e name=value`: replace or append.
    Set,
    /// `postconf -X name`: remove the logical line.
    Remove,
    /// `postconf -# name`: comment the logical line out.
    CommentOut,
}

/// Parsed command-line requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    /// name -> new value (empty for `Remove` and `CommentOut`).
    pub edits: BTreeMap<String, String>,
    /// Warnings for names given more than once (the last one counts):
    /// `ignoring earlier request: 'name = value'`.
    pub warnings: Vec<String>,
}

/// The result of [`apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The new main.cf text.
    pub text: String,
    /// Names set by more than one logical line, each listed once.
    pub duplicates: Vec<String>,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// Split `name = value` as Postfix's `split_nameval` does: the name ends
/// at the first blank or `=`, blanks around `=` are skipped, and trailing
/// blanks are removed from the value.
///
/// Errors: `missing attribute name` or `missing '=' after attribute name`
/// (the caller adds the argument, as Postfix does: `...: "arg"`).
pub fn split_nameval(arg: &str) -> Result<(String, String), &'static str> {
    let s = arg.trim_start_matches(is_blank);
    let name_end = s.find(|c: char| is_blank(c) || c == '=').unwrap_or(s.len());
    let (name, rest) = s.split_at(name_end);
    if name.is_empty() {
        return Err("missing attribute name");
    }
    let rest = rest.trim_start_matches(is_blank);
    let Some(value) = rest.strip_prefix('=') else {
        return Err("missing '=' after attribute name");
    };
    Ok((name.to_string(), value.trim_matches(is_blank).to_string()))
}

/// Check and parse the command-line arguments of `postconf -e`, `-X` or
/// `-#` (`action`).
///
/// Errors (Postfix's fatal messages): multi-line or comment input, a
/// `-e` argument without `=`, a `-X`/`-#` argument that is blank or
/// has a value.
pub fn parse_requests(args: &[String], action: Action) -> Result<Requests, String> {
    let mut reqs = Requests::default();
    for arg in args {
        if arg.contains('\n') {
            return Err("-e, -X, or -# accepts no multi-line input".to_string());
        }
        let cp = arg.trim_start_matches(is_blank);
        if cp.starts_with('#') {
            return Err("-e, -X, or -# accepts no comment input".to_string());
        }
        let (name, value) = match action {
            Action::Set => split_nameval(cp).map_err(|e| format!("{e}: \"{cp}\""))?,
            Action::Remove | Action::CommentOut => {
                if cp.is_empty() {
                    return Err("-X or -# requires non-blank parameter names".to_string());
                }
                if cp.contains('=') {
                    return Err("-X or -# requires parameter names without value".to_string());
                }
                (cp.trim_end_matches(is_blank).to_string(), String::new())
            }
        };
        if let Some(old) = reqs.edits.remove(&name) {
            reqs.warnings.push(match action {
                Action::Set => format!("ignoring earlier request: '{name} = {old}'"),
                _ => format!("ignoring earlier request: '{name}'"),
            });
        }
        reqs.edits.insert(name, value);
    }
    Ok(reqs)
}

/// Apply `action` for every name in `edits` (name -> value; the value is
/// used by [`Action::Set`] only) to main.cf `text`. See the module
/// description for the rules.
pub fn apply(text: &str, action: Action, edits: &BTreeMap<String, String>) -> Outcome {
    let mut out = Outcome::default();
    let mut found: BTreeMap<&str, usize> = BTreeMap::new();
    let mut in_match = false;
    for raw in text.split_inclusive('\n') {
        let owned;
        let line = if raw.ends_with('\n') {
            raw
        } else {
            owned = format!("{raw}\n");
            owned.as_str()
        };
        let content = line.trim_start_matches(is_blank);
        if content.is_empty() || content.starts_with('#') {
            out.text.push_str(line);
            continue;
        }
        if content.len() < line.len() {
            // A continuation line.
            if !in_match {
                out.text.push_str(line);
            } else if action == Action::CommentOut {
                out.text.push('#');
                out.text.push_str(line);
            }
            continue;
        }
        let key_end = line
            .find(|c: char| is_blank(c) || c == '=')
            .unwrap_or(line.len());
        let key = &line[..key_end];
        match edits.get_key_value(key) {
            None => {
                in_match = false;
                out.text.push_str(line);
            }
            Some((name, value)) => {
                in_match = true;
                let count = found.entry(name.as_str()).or_insert(0);
                *count += 1;
                if *count == 2 {
                    out.duplicates.push(name.clone());
                }
                match action {
                    Action::Set => out.text.push_str(&format!("{name} = {value}\n")),
                    Action::CommentOut => {
                        out.text.push('#');
                        out.text.push_str(line);
                    }
                    Action::Remove => {}
                }
            }
        }
    }
    if action == Action::Set {
        for (name, value) in edits {
            if !found.contains_key(name.as_str()) {
                out.text.push_str(&format!("{name} = {value}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nameval_splitting() {
        assert_eq!(
            split_nameval(" a = b  c  ").unwrap(),
            ("a".into(), "b  c".into())
        );
        assert_eq!(split_nameval("a=").unwrap(), ("a".into(), "".into()));
        assert_eq!(split_nameval("=x"), Err("missing attribute name"));
        assert_eq!(
            split_nameval("a b=x"),
            Err("missing '=' after attribute name")
        );
        assert_eq!(
            split_nameval("foo"),
            Err("missing '=' after attribute name")
        );
    }

    #[test]
    fn request_errors_are_postfix_messages() {
        assert_eq!(
            parse_requests(&args(&["foo"]), Action::Set).unwrap_err(),
            "missing '=' after attribute name: \"foo\""
        );
        assert_eq!(
            parse_requests(&args(&["a=1\nb=2"]), Action::Set).unwrap_err(),
            "-e, -X, or -# accepts no multi-line input"
        );
        assert_eq!(
            parse_requests(&args(&[" #a=1"]), Action::Set).unwrap_err(),
            "-e, -X, or -# accepts no comment input"
        );
        assert_eq!(
            parse_requests(&args(&["a=1"]), Action::Remove).unwrap_err(),
            "-X or -# requires parameter names without value"
        );
        assert_eq!(
            parse_requests(&args(&[""]), Action::CommentOut).unwrap_err(),
            "-X or -# requires non-blank parameter names"
        );
        let r = parse_requests(&args(&["a=1", "a = 2"]), Action::Set).unwrap();
        assert_eq!(r.edits.get("a").map(String::as_str), Some("2"));
        assert_eq!(r.warnings, vec!["ignoring earlier request: 'a = 1'"]);
    }

    #[test]
    fn duplicates_are_reported_once() {
        let edits: BTreeMap<String, String> = [("a".to_string(), "3".to_string())].into();
        let out = apply("a = 1\na = 2\na=0\nb = 1", Action::Set, &edits);
        assert_eq!(out.text, "a = 3\na = 3\na = 3\nb = 1\n");
        assert_eq!(out.duplicates, vec!["a"]);
    }

    #[test]
    fn new_names_are_appended_sorted() {
        let edits: BTreeMap<String, String> = [
            ("zz".to_string(), "1".to_string()),
            ("aa".to_string(), String::new()),
        ]
        .into();
        assert_eq!(
            apply("# c\n", Action::Set, &edits).text,
            "# c\naa = \nzz = 1\n"
        );
    }

    /// Golden files: `NAME.in` (main.cf), `NAME.args` (first word `-e`,
    /// `-X` or `-#`, then one request per line), `NAME.ref` (the result,
    /// made with Postfix 3.7's postconf).
    #[test]
    fn golden_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/main_cf_edit");
        let mut cases = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.extension().and_then(|e| e.to_str()) != Some("in") {
                continue;
            }
            let input = std::fs::read_to_string(&path).unwrap();
            let spec = std::fs::read_to_string(path.with_extension("args")).unwrap();
            let expect = std::fs::read_to_string(path.with_extension("ref")).unwrap();
            let mut lines = spec.lines();
            let action = match lines.next().unwrap().trim() {
                "-e" => Action::Set,
                "-X" => Action::Remove,
                "-#" => Action::CommentOut,
                other => panic!("{}: bad action {other}", path.display()),
            };
            let reqs =
                parse_requests(&lines.map(str::to_string).collect::<Vec<_>>(), action).unwrap();
            let out = apply(&input, action, &reqs.edits);
            assert_eq!(out.text, expect, "golden case {}", path.display());
            cases += 1;
        }
        assert!(
            cases >= 5,
            "only {cases} golden cases found in {}",
            dir.display()
        );
    }
}
