//! NAME
//!   memory - in-memory tables: texthash:, inline:, static:, fail:
//!
//! DESCRIPTION
//!   `texthash:/path` reads a postmap(1) source file into memory when it is
//!   opened (no indexed file needed); `inline:{ key=value, { key = text
//!   with spaces } }` holds its entries in the table name (Postfix 3.0);
//!   `static:value` (or `static:{ text with spaces }`) answers every
//!   lookup with the same value; `fail:name` fails every lookup (tests of
//!   error handling).
//!
//! DIAGNOSTICS
//!   texthash: `path, line N: duplicate entry: "key"` (the first value is
//!   kept) and `path, line N: expected format: key whitespace value --
//!   ignoring this line`, logged as warnings. inline: `bad syntax:
//!   "inline:{...}"; need "inline:{name=value...}"` and `missing '=' after
//!   attribute name`.
use crate::dict::{Dict, DictError, DictFlags, DupMode};
use crate::source::{logical_lines, split_key_value, EntryError};
use std::collections::BTreeMap;

/// A table held in memory (texthash:, inline:).
#[derive(Debug)]
pub struct MemoryDict {
    name: String,
    flags: DictFlags,
    entries: BTreeMap<String, String>,
}

impl MemoryDict {
    /// An empty table called `name` (`texthash:/etc/postfix/x`).
    pub fn new(name: &str, flags: DictFlags) -> MemoryDict {
        MemoryDict {
            name: name.to_string(),
            flags,
            entries: BTreeMap::new(),
        }
    }

    /// Insert unless present (first wins); returns whether it was new.
    fn insert(&mut self, key: &str, value: &str) -> bool {
        let key = self.flags.fold(key).into_owned();
        if self.entries.contains_key(&key) && self.flags.dup != DupMode::Replace {
            return false;
        }
        self.entries.insert(key, value.to_string());
        true
    }

    /// Open `texthash:path`: read the postmap(1) source file `path`.
    /// Bad lines and duplicates are logged as warnings. Errors: the file
    /// cannot be read ([`DictError::Open`]).
    pub fn texthash(path: &str, flags: DictFlags) -> Result<MemoryDict, DictError> {
        let text = std::fs::read(path).map_err(|e| DictError::Open {
            path: path.to_string(),
            source: e,
        })?;
        let text = String::from_utf8_lossy(&text);
        let mut dict = MemoryDict::new(&format!("texthash:{path}"), flags);
        for warning in dict.load_source(path, &text) {
            util::msg_warn!("{warning}");
        }
        Ok(dict)
    }

    /// Add the entries of postmap(1) source `text` (named `path` in
    /// messages). Returns the warnings (`path, line N: ...`).
    pub fn load_source(&mut self, path: &str, text: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        for line in logical_lines(text) {
            match split_key_value(&line.text) {
                Ok((k, v)) => {
                    if !self.insert(&k, &v) && self.flags.dup == DupMode::Warn {
                        warnings.push(format!(
                            "{path}, line {}: duplicate entry: \"{k}\"",
                            line.lineno
                        ));
                    }
                }
                Err(EntryError::NoValue) => warnings.push(format!(
                    "{path}, line {}: expected format: key whitespace value -- ignoring this line",
                    line.lineno
                )),
                Err(e) => warnings.push(format!(
                    "{path}, line {}: {}",
                    line.lineno,
                    e.message(&line.text)
                )),
            }
        }
        warnings
    }

    /// Open `inline:{...}`; `body` is the part after `inline:`.
    /// Errors: [`DictError::BadName`] with Postfix's wording.
    pub fn inline(body: &str, flags: DictFlags) -> Result<MemoryDict, DictError> {
        let spec = format!("inline:{body}");
        let need = || "need \"inline:{name=value...}\"".to_string();
        let items = braced_items(body)
            .ok_or_else(|| DictError::BadName(format!("bad syntax: \"{spec}\"; {}", need())))?;
        if items.is_empty() {
            return Err(DictError::BadName(format!(
                "bad syntax: \"{spec}\"; {}",
                need()
            )));
        }
        let mut dict = MemoryDict::new(&spec, flags);
        for item in items {
            let Some((k, v)) = item.split_once('=') else {
                return Err(DictError::BadName(format!(
                    "missing '=' after attribute name: \"{spec}\"; {}",
                    need()
                )));
            };
            let (k, v) = (k.trim(), v.trim());
            if k.is_empty() {
                return Err(DictError::BadName(format!(
                    "bad syntax: \"{spec}\"; {}",
                    need()
                )));
            }
            dict.insert(k, v);
        }
        Ok(dict)
    }
}

impl Dict for MemoryDict {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        Ok(self.entries.get(self.flags.fold(key).as_ref()).cloned())
    }
    fn sequence(&self) -> Result<Vec<(String, String)>, DictError> {
        Ok(self
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// `static:value`: every lookup finds `value`.
#[derive(Debug)]
pub struct StaticDict {
    name: String,
    value: String,
}

impl StaticDict {
    /// Open `static:body`; `{ text }` braces are removed with the
    /// whitespace inside them.
    pub fn new(body: &str) -> StaticDict {
        let value = match body
            .trim()
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
        {
            Some(inner) => inner.trim().to_string(),
            None => body.to_string(),
        };
        StaticDict {
            name: format!("static:{body}"),
            value,
        }
    }
}

impl Dict for StaticDict {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn lookup(&self, _key: &str) -> Result<Option<String>, DictError> {
        Ok(Some(self.value.clone()))
    }
}

/// `fail:name`: every lookup fails (Postfix's error-test table).
#[derive(Debug)]
pub struct FailDict {
    name: String,
}

impl FailDict {
    /// Open `fail:body`.
    pub fn new(body: &str) -> FailDict {
        FailDict {
            name: format!("fail:{body}"),
        }
    }
}

impl Dict for FailDict {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn lookup(&self, _key: &str) -> Result<Option<String>, DictError> {
        Err(DictError::Io {
            name: self.name.clone(),
            reason: "table lookup failed".to_string(),
        })
    }
}

/// Split `{ item, { item with spaces }, item }` into its items: the outer
/// braces are required; items are separated by commas or whitespace at
/// the top level; a braced item loses its braces and surrounding
/// whitespace. Returns `None` on unbalanced braces or missing outer ones.
pub fn braced_items(body: &str) -> Option<Vec<String>> {
    let inner = body.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    let mut chars = inner.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c == ',' || c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '{' {
            let mut depth = 0usize;
            let mut end = None;
            for (i, ch) in chars.by_ref() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end?;
            items.push(inner[start + 1..end].trim().to_string());
        } else {
            let mut end = inner.len();
            while let Some(&(i, ch)) = chars.peek() {
                if ch == ',' || ch.is_whitespace() {
                    end = i;
                    break;
                }
                if ch == '{' || ch == '}' {
                    return None;
                }
                chars.next();
            }
            items.push(inner[start..end].to_string());
        }
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_table_with_braced_values() {
        let d =
            MemoryDict::inline("{ a=1, { B = text with spaces } }", DictFlags::default()).unwrap();
        assert_eq!(d.lookup("b").unwrap().as_deref(), Some("text with spaces"));
        assert_eq!(d.lookup("A").unwrap().as_deref(), Some("1"));
        assert_eq!(d.lookup("c").unwrap(), None);
    }

    #[test]
    fn inline_errors_use_postfix_wording() {
        let e = MemoryDict::inline("{}", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "bad syntax: \"inline:{}\"; need \"inline:{name=value...}\""
        );
        let e = MemoryDict::inline("{a=1", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad syntax"), "{e}");
        let e = MemoryDict::inline("{ a=1, c }", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("missing '=' after attribute name: \"inline:{ a=1, c }\""),
            "{e}"
        );
    }

    #[test]
    fn texthash_keeps_first_and_reports_lines() {
        let mut d = MemoryDict::new("texthash:th", DictFlags::default());
        let w = d.load_source("th", "a 1\na 2\nB 3\nbad\n");
        assert_eq!(
            w,
            vec![
                "th, line 2: duplicate entry: \"a\"".to_string(),
                "th, line 4: expected format: key whitespace value -- ignoring this line"
                    .to_string(),
            ]
        );
        assert_eq!(d.lookup("a").unwrap().as_deref(), Some("1"));
        assert_eq!(d.lookup("b").unwrap().as_deref(), Some("3"));
    }

    #[test]
    fn no_folding_when_asked() {
        let flags = DictFlags {
            fold_fix: false,
            ..DictFlags::default()
        };
        let mut d = MemoryDict::new("texthash:x", flags);
        d.load_source("x", "Key v\n");
        assert_eq!(d.lookup("key").unwrap(), None);
        assert_eq!(d.lookup("Key").unwrap().as_deref(), Some("v"));
    }

    #[test]
    fn static_and_fail() {
        assert_eq!(
            StaticDict::new("{ some text }")
                .lookup("x")
                .unwrap()
                .as_deref(),
            Some("some text")
        );
        assert_eq!(
            StaticDict::new("abc").lookup("x").unwrap().as_deref(),
            Some("abc")
        );
        assert!(StaticDict::new("abc").sequence().is_err());
        assert!(FailDict::new("t").lookup("x").is_err());
    }
}
