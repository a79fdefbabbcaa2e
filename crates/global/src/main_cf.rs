//! NAME
//!   main_cf - read main.cf
//!
//! DESCRIPTION
//!   main.cf is a list of `name = value` logical lines (postconf(5)
//!   "file format"). A line whose first non-blank character is `#` is a
//!   comment; blank lines are ignored; a line that starts with whitespace
//!   continues the previous logical line (comment lines in between do not
//!   end it). A later setting of the same name replaces an earlier one.
//!
//! DIAGNOSTICS
//!   A logical line without `=` is an error with file and line:
//!   `/etc/postfix/main.cf, line 3: missing '=' after attribute name: "junk"`.
//!   Text that starts with whitespace before any logical line is warned
//!   about and ignored, as Postfix does. A second setting of a name is
//!   warned about with the earlier value, as Postfix's programs do:
//!   `/etc/postfix/main.cf, line 9: overriding earlier entry: biff=no`.
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One `name = value` setting, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The parameter name.
    pub name: String,
    /// The raw (unexpanded) value, continuation lines joined by one space.
    pub value: String,
    /// The 1-based line number where the logical line starts.
    pub line: usize,
}

/// A syntax error in main.cf, with file and line.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}, line {line}: {reason}")]
pub struct SyntaxError {
    /// The file that was read.
    pub file: String,
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct MainCf {
    /// The file's path (for messages).
    pub path: PathBuf,
    /// Settings in file order (duplicates kept; the last one counts).
    pub settings: Vec<Setting>,
    /// Warnings met while parsing, already formatted with file and line.
    pub warnings: Vec<String>,
}

impl MainCf {
    /// The last setting of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.name == name)
    }
}

/// Split `text` into logical lines: `(first line number, joined text)`.
/// Comment and blank lines are skipped; continuation lines are appended
/// with one space. Text that starts with whitespace before any logical line
/// is returned in the second vector (for a warning).
pub fn logical_lines(text: &str) -> (Vec<(usize, String)>, Vec<(usize, String)>) {
    let mut lines: Vec<(usize, String)> = Vec::new();
    let mut orphans = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            match lines.last_mut() {
                Some((_, cur)) => {
                    cur.push(' ');
                    cur.push_str(trimmed);
                }
                None => orphans.push((lineno, raw.trim_end().to_string())),
            }
        } else {
            lines.push((lineno, raw.trim_end().to_string()));
        }
    }
    (lines, orphans)
}

/// Parse main.cf text. `path` is used only in messages.
///
/// Errors: the first logical line without `=` or with an empty name.
pub fn parse(text: &str, path: &Path) -> Result<MainCf, SyntaxError> {
    let file = path.display().to_string();
    let (lines, orphans) = logical_lines(text);
    let mut cf = MainCf {
        path: path.to_path_buf(),
        ..Default::default()
    };
    for (lineno, t) in orphans {
        cf.warnings.push(format!(
            "{file}, line {lineno}: logical line must not start with whitespace: \"{t}\""
        ));
    }
    for (lineno, line) in lines {
        let Some((name, value)) = line.split_once('=') else {
            return Err(SyntaxError {
                file,
                line: lineno,
                reason: format!("missing '=' after attribute name: \"{line}\""),
            });
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(SyntaxError {
                file,
                line: lineno,
                reason: format!("missing attribute name: \"{line}\""),
            });
        }
        if let Some(earlier) = cf.get(name) {
            cf.warnings.push(format!(
                "{file}, line {lineno}: overriding earlier entry: {name}={}",
                earlier.value
            ));
        }
        cf.settings.push(Setting {
            name: name.to_string(),
            value: value.trim().to_string(),
            line: lineno,
        });
    }
    Ok(cf)
}

/// Read and parse `path`. A missing file is an empty main.cf (Postfix
/// runs with defaults); other I/O errors are reported as a syntax error at
/// line 0 with the system's reason.
pub fn read(path: &Path) -> Result<MainCf, SyntaxError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MainCf {
            path: path.to_path_buf(),
            ..Default::default()
        }),
        Err(e) => Err(SyntaxError {
            file: path.display().to_string(),
            line: 0,
            reason: format!("open: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_and_comments() {
        let text = "foo = a\n  b   c\n# comment\n   d\nbar=x # not a comment\n\nbaz =\n";
        let cf = parse(text, Path::new("main.cf")).unwrap();
        assert_eq!(cf.settings.len(), 3);
        assert_eq!(
            cf.settings[0],
            Setting {
                name: "foo".into(),
                value: "a b   c d".into(),
                line: 1
            }
        );
        assert_eq!(cf.get("bar").unwrap().value, "x # not a comment");
        assert_eq!(cf.get("baz").unwrap().value, "");
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = parse("a = 1\n\njunk line\n", Path::new("/etc/postfix/main.cf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/postfix/main.cf, line 3: missing '=' after attribute name: \"junk line\""
        );
    }

    #[test]
    fn leading_whitespace_is_warned() {
        let cf = parse(" lead = x\nz = 1\n", Path::new("m")).unwrap();
        assert_eq!(cf.settings.len(), 1);
        assert_eq!(cf.warnings.len(), 1);
        assert!(cf.warnings[0].contains("line 1: logical line must not start with whitespace"));
    }

    #[test]
    fn later_setting_wins() {
        let cf = parse("a = 1\na = 2\n", Path::new("m")).unwrap();
        assert_eq!(cf.get("a").unwrap().value, "2");
        assert_eq!(
            cf.warnings,
            vec!["m, line 2: overriding earlier entry: a=1"]
        );
    }
}
