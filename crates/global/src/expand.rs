//! NAME
//!   expand - `$name` expansion of parameter values
//!
//! DESCRIPTION
//!   Implements postconf(5) "parameter expansion": `$name`, `${name}`,
//!   `$(name)`, `${name?value}` (value when name is non-empty),
//!   `${name:value}` (value when name is empty or undefined), the
//!   Postfix 3.0 forms `${name?{value}}`, `${name:{value}}` and
//!   `${name?{value1}:{value2}}`, and `$$` for a literal dollar sign.
//!   Expansion is recursive: the value of `$name` is itself expanded, and so
//!   is the text after `?` or `:`. A chain deeper than [`MAX_DEPTH`] (a
//!   loop such as `a = $b`, `b = $a`) is an error.
use thiserror::Error;

/// How deep `$name` references may nest before expansion gives up.
pub const MAX_DEPTH: usize = 100;

/// Expansion failures.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpandError {
    /// A reference loop or a nesting deeper than [`MAX_DEPTH`].
    #[error("unreasonable macro call nesting: \"{0}\"")]
    Loop(String),
    /// `${` or `$(` without its closing bracket.
    #[error("missing '{close}' in \"{text}\"")]
    Unbalanced {
        /// The bracket that was expected.
        close: char,
        /// The text being expanded.
        text: String,
    },
}

/// The result of one expansion.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The expanded text.
    pub value: String,
    /// Names referenced without a definition (they expand to nothing).
    pub undefined: Vec<String>,
}

/// Expand `text`. `lookup(name)` returns the *unexpanded* value of a
/// parameter, or `None` when it is not defined.
///
/// Errors: [`ExpandError`] for loops and unbalanced brackets.
pub fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, ExpandError> {
    let mut out = Expanded::default();
    out.value = expand_rec(text, lookup, 0, &mut out.undefined)?;
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn value_of(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    undefined: &mut Vec<String>,
) -> Result<Option<String>, ExpandError> {
    if depth >= MAX_DEPTH {
        return Err(ExpandError::Loop(name.to_string()));
    }
    match lookup(name) {
        Some(raw) => Ok(Some(expand_rec(&raw, lookup, depth + 1, undefined)?)),
        None => {
            if !undefined.iter().any(|u| u == name) {
                undefined.push(name.to_string());
            }
            Ok(None)
        }
    }
}

/// Strip one pair of `{ }` around `s` (the Postfix 3.0 form), if present.
fn unbrace(s: &str) -> &str {
    let t = s.trim();
    if t.starts_with('{') && t.ends_with('}') && t.len() >= 2 {
        &t[1..t.len() - 1]
    } else {
        s
    }
}

/// Split `{a}:{b}` into `("a", Some("b"))`; anything else into `(s, None)`.
fn split_alternatives(s: &str) -> (&str, Option<&str>) {
    let t = s.trim();
    if !t.starts_with('{') {
        return (s, None);
    }
    let mut depth = 0usize;
    for (i, c) in t.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let rest = t[i + 1..].trim_start();
                    if let Some(b) = rest.strip_prefix(':') {
                        return (&t[..=i], Some(b));
                    }
                    return (s, None);
                }
            }
            _ => {}
        }
    }
    (s, None)
}

fn expand_rec(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    undefined: &mut Vec<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&next) = chars.get(i + 1) else {
            out.push('$');
            break;
        };
        if next == '$' {
            out.push('$');
            i += 2;
        } else if next == '{' || next == '(' {
            let close = if next == '{' { '}' } else { ')' };
            let mut level = 0usize;
            let mut end = None;
            for (j, &ch) in chars.iter().enumerate().skip(i + 1) {
                if ch == next {
                    level += 1;
                } else if ch == close {
                    level -= 1;
                    if level == 0 {
                        end = Some(j);
                        break;
                    }
                }
            }
            let end = end.ok_or_else(|| ExpandError::Unbalanced {
                close,
                text: text.to_string(),
            })?;
            let inner: String = chars[i + 2..end].iter().collect();
            if inner.trim_start().starts_with('{') {
                out.push_str(&relational(&inner, lookup, depth, undefined)?);
                i = end + 1;
                continue;
            }
            let name_len = inner
                .find(|c: char| !is_name_char(c))
                .unwrap_or(inner.len());
            let name = &inner[..name_len];
            let rest = inner[name_len..].trim_start();
            let value = value_of(name, lookup, depth, undefined)?;
            let set = value.as_deref().is_some_and(|v| !v.is_empty());
            if let Some(alt) = rest.strip_prefix('?') {
                let (when_set, when_unset) = split_alternatives(alt);
                if set {
                    out.push_str(&expand_rec(
                        unbrace(when_set),
                        lookup,
                        depth + 1,
                        undefined,
                    )?);
                } else if let Some(u) = when_unset {
                    out.push_str(&expand_rec(unbrace(u), lookup, depth + 1, undefined)?);
                }
            } else if let Some(alt) = rest.strip_prefix(':') {
                if set {
                    out.push_str(value.as_deref().unwrap_or(""));
                } else {
                    out.push_str(&expand_rec(unbrace(alt), lookup, depth + 1, undefined)?);
                }
            } else {
                out.push_str(value.as_deref().unwrap_or(""));
            }
            i = end + 1;
        } else if is_name_char(next) {
            let mut j = i + 1;
            while j < chars.len() && is_name_char(chars[j]) {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect();
            if let Some(v) = value_of(&name, lookup, depth, undefined)? {
                out.push_str(&v);
            }
            i = j;
        } else {
            out.push('$');
            i += 1;
        }
    }
    Ok(out)
}

/// Take one `{ ... }` group from the start of `s` (after whitespace):
/// returns `(contents, rest)`.
fn take_group(s: &str) -> Option<(&str, &str)> {
    let t = s.trim_start();
    if !t.starts_with('{') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in t.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&t[1..i], &t[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Compare two compatibility levels (`0`, `1`, `3.6`, `3.6.1`) field by field.
fn compare_levels(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let parse =
        |s: &str| -> Option<Vec<u64>> { s.trim().split('.').map(|f| f.parse().ok()).collect() };
    let (mut x, mut y) = (parse(a)?, parse(b)?);
    let n = x.len().max(y.len());
    x.resize(n, 0);
    y.resize(n, 0);
    Some(x.cmp(&y))
}

/// The Postfix 3.6 relational form `${{text1} OP {text2} ? {then} : {else}}`
/// with OP one of `==` `!=` (text), `<` `<=` `>` `>=` (decimal numbers) and
/// `<level` `<=level` `>level` `>=level` (compatibility levels).
fn relational(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    undefined: &mut Vec<String>,
) -> Result<String, ExpandError> {
    use std::cmp::Ordering;
    let bad = || ExpandError::Unbalanced {
        close: '}',
        text: inner.to_string(),
    };
    let (lhs, rest) = take_group(inner).ok_or_else(bad)?;
    let rest = rest.trim_start();
    let op_len = rest
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(rest.len());
    let op = &rest[..op_len];
    let (rhs, rest) = take_group(&rest[op_len..]).ok_or_else(bad)?;
    let rest = rest.trim_start().strip_prefix('?').ok_or_else(bad)?;
    let (then, rest) = take_group(rest).ok_or_else(bad)?;
    let otherwise = match rest.trim_start().strip_prefix(':') {
        Some(r) => Some(take_group(r).ok_or_else(bad)?.0),
        None => None,
    };
    let l = expand_rec(lhs, lookup, depth + 1, undefined)?;
    let r = expand_rec(rhs, lookup, depth + 1, undefined)?;
    let ord = match op {
        "==" | "!=" => None,
        o if o.ends_with("level") => compare_levels(&l, &r),
        _ => match (l.trim().parse::<i64>(), r.trim().parse::<i64>()) {
            (Ok(a), Ok(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    let truth = match op {
        "==" => l == r,
        "!=" => l != r,
        "<" | "<level" => ord == Some(Ordering::Less),
        "<=" | "<=level" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        ">" | ">level" => ord == Some(Ordering::Greater),
        ">=" | ">=level" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        _ => return Err(bad()),
    };
    match (truth, otherwise) {
        (true, _) => expand_rec(then, lookup, depth + 1, undefined),
        (false, Some(e)) => expand_rec(e, lookup, depth + 1, undefined),
        (false, None) => Ok(String::new()),
    }
}

/// Names referenced by `$name`, `${name...}` or `$(name...)` in `text`,
/// including those inside `?`/`:` alternatives. Used to decide which
/// main.cf parameters are "used".
pub fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == '$' {
            let mut j = i + 1;
            if bytes[j] == '$' {
                i += 2;
                continue;
            }
            if bytes[j] == '{' || bytes[j] == '(' {
                j += 1;
            }
            let start = j;
            while j < bytes.len() && is_name_char(bytes[j]) {
                j += 1;
            }
            if j > start {
                names.push(bytes[start..j].iter().collect());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(text: &str, vars: &[(&str, &str)]) -> Result<Expanded, ExpandError> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        expand(text, &|n| m.get(n).cloned())
    }

    #[test]
    fn simple_forms() {
        let v = [("a", "x"), ("b", "$a-y"), ("e", "")];
        assert_eq!(run("$a ${a} $(a)", &v).unwrap().value, "x x x");
        assert_eq!(run("$b/$a", &v).unwrap().value, "x-y/x");
        assert_eq!(run("$$a", &v).unwrap().value, "$a");
        assert_eq!(run("cost $", &v).unwrap().value, "cost $");
    }

    #[test]
    fn conditional_forms() {
        let v = [("a", "x"), ("e", "")];
        assert_eq!(run("${a?yes}", &v).unwrap().value, "yes");
        assert_eq!(run("${e?yes}", &v).unwrap().value, "");
        assert_eq!(run("${e:no}", &v).unwrap().value, "no");
        assert_eq!(run("${a:no}", &v).unwrap().value, "x");
        assert_eq!(run("${a?{set $a}:{unset}}", &v).unwrap().value, "set x");
        assert_eq!(run("${e?{set}:{unset}}", &v).unwrap().value, "unset");
        assert_eq!(run("$(a?{braced})", &v).unwrap().value, "braced");
        assert_eq!(run("${zz:$a}", &v).unwrap().value, "x");
    }

    #[test]
    fn relational_forms() {
        let v = [
            ("compatibility_level", "0"),
            ("lvl", "3.6"),
            ("sec", "dane"),
        ];
        let c = "${{$compatibility_level} <level {2} ? {subnet} : {host}}";
        assert_eq!(run(c, &v).unwrap().value, "subnet");
        assert_eq!(
            run("${{$lvl} <level {2} ? {a} : {b}}", &v).unwrap().value,
            "b"
        );
        assert_eq!(
            run("${{$lvl} >=level {3.6} ? {yes}}", &v).unwrap().value,
            "yes"
        );
        assert_eq!(run("${{$lvl} <level {3.6} ? {yes}}", &v).unwrap().value, "");
        assert_eq!(
            run("${{$sec} == {dane} ? {dane} : {may}}", &v)
                .unwrap()
                .value,
            "dane"
        );
        assert_eq!(
            run("${{$sec} != {dane} ? {x} : {y}}", &v).unwrap().value,
            "y"
        );
        assert_eq!(run("${{10} < {9} ? {x} : {y}}", &v).unwrap().value, "y");
        assert!(run("${{a} ~~ {b} ? {x}}", &v).is_err());
    }

    #[test]
    fn undefined_names_are_reported() {
        let r = run("<$nope>", &[]).unwrap();
        assert_eq!(r.value, "<>");
        assert_eq!(r.undefined, vec!["nope"]);
    }

    #[test]
    fn loops_are_errors() {
        let v = [("a", "$b"), ("b", "${a}")];
        assert!(matches!(run("$a", &v), Err(ExpandError::Loop(_))));
        assert!(matches!(
            run("${a", &v),
            Err(ExpandError::Unbalanced { .. })
        ));
    }

    #[test]
    fn references_are_found() {
        assert_eq!(references("$a ${b?x} $(c:y) $$d"), vec!["a", "b", "c"]);
    }
}
