//! NAME
//!   rules - ordered pattern rules with if/endif, shared by regexp: and cidr:
//!
//! DESCRIPTION
//!   Both pattern table types are lists of logical lines of the forms
//!   `pattern result`, `!pattern result`, `if pattern`, `if !pattern` and
//!   `endif`, tried in order. [`RuleList::parse`] handles the line
//!   structure and the if/endif nesting; a [`Syntax`] parses one pattern
//!   and one result. [`RuleList::find`] walks the list: an `if` whose
//!   test fails skips to its `endif`.
//!
//! DIAGNOSTICS
//!   `TYPE map FILE, line N: ignoring ENDIF without matching IF`,
//!   `... IF has no matching ENDIF` (the block then runs to the end), and
//!   whatever the [`Syntax`] reports, all with the first line number of
//!   the logical line.
use crate::dict::DictError;
use crate::source::logical_lines;

/// The text of a pattern table: `body` (what follows `kind:`) is a file
/// name, or an inline list `{ {rule}, {rule} }` whose rules become lines.
/// Returns the table name, the name used in warnings, and the text.
/// Errors: the file cannot be read, or the braces are unbalanced.
pub fn load(kind: &str, body: &str) -> Result<(String, String, String), DictError> {
    let name = format!("{kind}:{body}");
    if body.trim_start().starts_with('{') {
        let items = crate::memory::braced_items(body).ok_or_else(|| {
            DictError::BadName(format!(
                "bad syntax: \"{name}\"; need \"{kind}:{{{{rule}}...}}\""
            ))
        })?;
        return Ok((name.clone(), name, items.join("\n")));
    }
    let text = std::fs::read(body).map_err(|e| DictError::Open {
        path: body.to_string(),
        source: e,
    })?;
    Ok((
        name,
        body.to_string(),
        String::from_utf8_lossy(&text).into_owned(),
    ))
}

/// How one table type parses patterns and results.
pub trait Syntax {
    /// A compiled pattern.
    type Pattern;
    /// A parsed result.
    type Result;
    /// Parse the pattern at the start of `text`; return it and the rest of
    /// the line. `Err`: the warning, and the rule is skipped.
    fn pattern<'t>(&self, text: &'t str) -> Result<(Self::Pattern, &'t str), String>;
    /// Parse the result `text` of a rule. Warnings go to `warn`; `None`
    /// skips the rule.
    fn result(
        &self,
        pattern: &Self::Pattern,
        negate: bool,
        text: &str,
        warn: &mut dyn FnMut(&str),
    ) -> Option<Self::Result>;
}

#[derive(Debug)]
enum Rule<P, R> {
    Match {
        pattern: P,
        negate: bool,
        result: R,
    },
    If {
        pattern: P,
        negate: bool,
        endif: usize,
    },
    Endif,
}

/// A parsed list of rules.
#[derive(Debug)]
pub struct RuleList<P, R> {
    rules: Vec<Rule<P, R>>,
}

impl<P, R> RuleList<P, R> {
    /// Parse `text`; `kind` (`regexp`, `cidr`) and `origin` (the file)
    /// name the table in warnings. Returns the list and the warnings.
    pub fn parse<S>(
        kind: &str,
        origin: &str,
        text: &str,
        syntax: &S,
    ) -> (RuleList<P, R>, Vec<String>)
    where
        S: Syntax<Pattern = P, Result = R>,
    {
        let mut rules = Vec::new();
        let mut warnings = Vec::new();
        let mut open_ifs: Vec<(usize, usize)> = Vec::new();
        let close = |rules: &mut Vec<Rule<P, R>>, idx: usize| {
            let end = rules.len();
            if let Rule::If { endif, .. } = &mut rules[idx] {
                *endif = end;
            }
        };
        for line in logical_lines(text) {
            let prefix = format!("{kind} map {origin}, line {}: ", line.lineno);
            let t = line.text.as_str();
            if t.eq_ignore_ascii_case("endif") {
                match open_ifs.pop() {
                    Some((idx, _)) => {
                        close(&mut rules, idx);
                        rules.push(Rule::Endif);
                    }
                    None => warnings.push(format!("{prefix}ignoring ENDIF without matching IF")),
                }
                continue;
            }
            let is_if = t.len() > 2
                && t[..2].eq_ignore_ascii_case("if")
                && t[2..].starts_with(char::is_whitespace);
            let rest = if is_if { t[2..].trim_start() } else { t };
            let (negate, rest) = match rest.strip_prefix('!') {
                Some(r) => (true, r.trim_start()),
                None => (false, rest),
            };
            let (pattern, after) = match syntax.pattern(rest) {
                Ok(p) => p,
                Err(msg) => {
                    warnings.push(format!("{prefix}{msg}"));
                    continue;
                }
            };
            if is_if {
                if !after.trim().is_empty() {
                    warnings.push(format!("{prefix}ignoring extra text after IF"));
                }
                open_ifs.push((rules.len(), line.lineno));
                rules.push(Rule::If {
                    pattern,
                    negate,
                    endif: usize::MAX,
                });
                continue;
            }
            let mut warn = |m: &str| {
                // Postfix reports a truncated macro without file and line.
                if m.starts_with("truncated") {
                    warnings.push(m.to_string());
                } else {
                    warnings.push(format!("{prefix}{m}"));
                }
            };
            if let Some(result) = syntax.result(&pattern, negate, after.trim(), &mut warn) {
                rules.push(Rule::Match {
                    pattern,
                    negate,
                    result,
                });
            }
        }
        for (idx, lineno) in open_ifs.into_iter().rev() {
            warnings.push(format!(
                "{kind} map {origin}, line {lineno}: IF has no matching ENDIF"
            ));
            close(&mut rules, idx);
        }
        (RuleList { rules }, warnings)
    }

    /// Walk the rules. `test(pattern)` says whether a pattern matches the
    /// key (`None`: the rule does not apply to this key at all); `hit`
    /// evaluates a match rule and returns its answer, if any.
    pub fn find<T>(
        &self,
        test: impl Fn(&P) -> Option<bool>,
        hit: impl Fn(&P, bool, &R) -> Option<T>,
    ) -> Option<T> {
        let mut i = 0;
        while i < self.rules.len() {
            match &self.rules[i] {
                Rule::Endif => {}
                Rule::If {
                    pattern,
                    negate,
                    endif,
                } => {
                    if test(pattern).map(|m| m != *negate) != Some(true) {
                        i = *endif;
                    }
                }
                Rule::Match {
                    pattern,
                    negate,
                    result,
                } => {
                    if let Some(answer) = hit(pattern, *negate, result) {
                        return Some(answer);
                    }
                }
            }
            i += 1;
        }
        None
    }
}
