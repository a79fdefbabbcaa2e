//! NAME
//!   master_edit - edit master.cf text (postconf -Me, -MX, -M#, -Fe, -Pe, -PX)
//!
//! DESCRIPTION
//!   [`parse_requests`] checks the command-line arguments; [`apply`]
//!   rewrites master.cf text. Comment and blank lines are copied
//!   unchanged. For a service whose `service/type` matches a request:
//!
//!   - `-Me service/type='entry'`: the first matching entry (or the entry
//!     with the new entry's own service and type) is replaced by the new
//!     one, later matches are removed; with no match the new entry is
//!     appended. The new entry is written as `postconf -Mf` shows it.
//!   - `-MX service/type`: the entry and its continuation lines go.
//!   - `-M# service/type`: `#` is put before each of its lines.
//!   - `-Fe service/type/field=value` replaces one column (the command
//!     column takes the command with its arguments); `-Pe
//!     service/type/name=value` sets a `-o name=value` option, `-PX
//!     service/type/name` removes it. The entry is rewritten in `-Mf`
//!     form; comment lines inside it move before it. A request that
//!     matches no service gives `unmatched service_name/type`.
//!
//! DIAGNOSTICS
//!   Errors are Postfix's fatal messages, e.g. `-Me, -MX or -M# requires
//!   service_name/type`, `file master.cf: line 3: specify service name and
//!   type on the same line`.
use crate::master_show::{check_field, field_index, format_entry, Entry, Pattern, CMD};
use global::main_cf_edit::split_nameval;

/// Which part of master.cf is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `-M`: whole entries.
    Entry,
    /// `-F`: one column.
    Field,
    /// `-P`: one `-o` parameter.
    Param,
}

/// What is done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `-e`.
    Set,
    /// `-X`.
    Remove,
    /// `-#`.
    CommentOut,
}

/// One checked request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The argument as given (for messages).
    pub raw: String,
    /// The service pattern.
    pub pattern: Pattern,
    /// `-Me`: the new entry; `-Fe`/`-Pe`: the value.
    pub value: Option<String>,
    /// `-F`: the column index.
    pub field: usize,
    /// `-P`: the parameter name.
    pub param: String,
    new_entry: Option<Entry>,
}

const EDIT_OPTS: &str = "-Me, -Fe, -Pe, -X, or -#";

/// Check the arguments of a master.cf edit.
///
/// Errors: Postfix's messages for malformed requests.
pub fn parse_requests(args: &[String], target: Target, op: Op) -> Result<Vec<Request>, String> {
    let mut out = Vec::new();
    for raw in args {
        if raw.contains('\n') {
            return Err(format!("{EDIT_OPTS} accept no multi-line input"));
        }
        let cp = raw.trim_start();
        if cp.starts_with('#') {
            return Err(format!("{EDIT_OPTS} accept no comment input"));
        }
        let (pattern_text, value) = if op == Op::Set {
            let (n, v) = split_nameval(cp).map_err(|e| format!("{e}: \"{raw}\""))?;
            (n, Some(v))
        } else {
            if cp.contains('=') {
                return Err("-X or -# requires names without value".to_string());
            }
            (cp.trim_end().to_string(), None)
        };
        let mut req = Request {
            raw: raw.clone(),
            pattern: Pattern { parts: Vec::new() },
            value,
            field: 0,
            param: String::new(),
            new_entry: None,
        };
        match target {
            Target::Entry => {
                req.pattern = Pattern::parse(&pattern_text, 2, 2)
                    .ok_or("-Me, -MX or -M# requires service_name/type")?;
                if let Some(v) = &req.value {
                    req.new_entry = Some(Entry::parse(v).map_err(|e| format!("{e}: \"{raw}\""))?);
                }
            }
            Target::Field => {
                req.pattern = Pattern::parse(&pattern_text, 3, 3)
                    .ok_or("-Fe or -FX requires service_name/type/field_name")?;
                req.field = field_index(&req.pattern.parts[2])?
                    .ok_or("-Fe does not accept wild-card field name")?;
                if req.field < CMD {
                    let v = req.value.as_deref().unwrap_or("");
                    if v.contains([' ', '\t']) {
                        return Err(
                            "-Fe does not accept whitespace in non-command field".to_string()
                        );
                    }
                    check_field(req.field, v)?;
                }
            }
            Target::Param => {
                req.pattern = Pattern::parse(&pattern_text, 3, 3)
                    .ok_or("-Pe or -PX requires service_name/type/parameter")?;
                req.param = req.pattern.parts[2].clone();
                if req.param == "*" {
                    return Err("-Pe does not accept wild-card parameter name".to_string());
                }
                if req
                    .value
                    .as_deref()
                    .is_some_and(|v| v.contains([' ', '\t']))
                {
                    return Err("-Pe does not accept whitespace in parameter value".to_string());
                }
            }
        }
        out.push(req);
    }
    Ok(out)
}

/// The result of [`apply`].
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The new master.cf text.
    pub text: String,
    /// Warnings (`unmatched service_name/type: "..."`).
    pub warnings: Vec<String>,
}

fn is_content(line: &str) -> Option<bool> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') {
        None
    } else {
        Some(t.len() == line.len())
    }
}

fn same(v: &str) -> String {
    v.to_string()
}

/// Apply `requests` to master.cf `text`; `path` is used in messages.
///
/// Errors: a service line whose name and type are not on one line, an
/// entry that no longer parses after the edit.
pub fn apply(
    text: &str,
    path: &str,
    target: Target,
    op: Op,
    requests: &mut [Request],
) -> Result<Outcome, String> {
    let mut out = Outcome::default();
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            if l.ends_with('\n') {
                l.to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let mut counts = vec![0usize; requests.len()];
    let mut matched = false;
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let lineno = i + 1;
        i += 1;
        match is_content(line) {
            None => {
                out.text.push_str(line);
                continue;
            }
            Some(false) => {
                if !matched {
                    out.text.push_str(line);
                } else if op == Op::CommentOut {
                    out.text.push('#');
                    out.text.push_str(line);
                }
                continue;
            }
            Some(true) => {}
        }
        let mut words = line.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            return Err(format!(
                "file {path}: line {lineno}: specify service name and type on the same line"
            ));
        };
        if name.contains('=') {
            return Err(format!(
                "file {path}: line {lineno}: service name syntax \"{name}\" is unsupported with {EDIT_OPTS}"
            ));
        }
        if kind.contains(['=', '/']) {
            return Err(format!(
                "file {path}: line {lineno}: service type syntax \"{kind}\" is unsupported with {EDIT_OPTS}"
            ));
        }
        matched = false;
        let mut new_entry: Option<Entry> = None;
        for (req, count) in requests.iter_mut().zip(counts.iter_mut()) {
            let by_pattern = req.pattern.matches(name, kind);
            let by_new = req
                .new_entry
                .as_ref()
                .is_some_and(|e| e.service() == name && e.kind() == kind);
            if !by_pattern && !by_new {
                continue;
            }
            matched = true;
            *count += 1;
            match (target, op) {
                (Target::Entry, Op::Set) if *count == 1 => new_entry = req.new_entry.clone(),
                (Target::Field | Target::Param, Op::Set | Op::Remove) if by_pattern => {
                    if new_entry.is_none() {
                        let mut full = line.trim_end_matches('\n').to_string();
                        while i < lines.len()
                            && lines[i].starts_with(|c: char| c == '#' || c.is_whitespace())
                        {
                            match is_content(&lines[i]) {
                                None => out.text.push_str(&lines[i]),
                                Some(_) => {
                                    full.push(' ');
                                    full.push_str(lines[i].trim());
                                }
                            }
                            i += 1;
                        }
                        new_entry = Some(
                            Entry::parse(&full)
                                .map_err(|e| format!("file {path}: line {lineno}: {e}"))?,
                        );
                    }
                    if let Some(e) = new_entry.as_mut() {
                        if target == Target::Field {
                            e.edit_field(req.field, req.value.as_deref().unwrap_or(""));
                        } else {
                            e.edit_param(&req.param, req.value.as_deref());
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(e) = new_entry {
            let text = format_entry(&e, true, &same);
            Entry::parse(&text).map_err(|err| format!("{err} in \"{}\"", text.trim_end()))?;
            out.text.push_str(&text);
        } else if !matched {
            out.text.push_str(line);
        } else if op == Op::CommentOut {
            out.text.push('#');
            out.text.push_str(line);
        }
    }
    for (req, count) in requests.iter().zip(counts) {
        if count > 0 {
            continue;
        }
        if target == Target::Entry && op == Op::Set {
            if let Some(e) = &req.new_entry {
                out.text.push_str(&format_entry(e, true, &same));
            }
        } else if target != Target::Entry {
            out.warnings
                .push(format!("unmatched service_name/type: \"{}\"", req.raw));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "\
# header
smtp      inet  n       -       y       -       -       smtpd
#submission inet n - y - - smtpd
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
# inside relay
        -o smtp_helo_timeout=5
pickup    unix  n       -       y       60      1       pickup
";

    fn run(target: Target, op: Op, args: &[&str]) -> Result<Outcome, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut reqs = parse_requests(&args, target, op)?;
        apply(MASTER, "master.cf", target, op, &mut reqs)
    }

    #[test]
    fn replace_and_append_entries() {
        let out = run(
            Target::Entry,
            Op::Set,
            &[
                "relay/unix=relay unix - - n - 5 smtp -o a=b",
                "new/unix=new unix - - n - - x",
            ],
        )
        .unwrap();
        assert_eq!(
            out.text,
            "# header\nsmtp      inet  n       -       y       -       -       smtpd\n\
             #submission inet n - y - - smtpd\n\
             relay      unix  -       -       n       -       5       smtp\n    -o a=b\n\
             # inside relay\n\
             pickup    unix  n       -       y       60      1       pickup\n\
             new        unix  -       -       n       -       -       x\n"
        );
    }

    #[test]
    fn remove_and_comment_out() {
        let out = run(Target::Entry, Op::Remove, &["relay/unix", "nosuch/unix"]).unwrap();
        assert!(!out.text.contains("relay     unix") && !out.text.contains("syslog_name"));
        assert!(out
            .text
            .contains("#submission inet n - y - - smtpd\n# inside relay\npickup"));
        assert!(out.warnings.is_empty());
        let out = run(Target::Entry, Op::CommentOut, &["relay/unix"]).unwrap();
        assert!(out.text.contains(
            "#relay     unix  -       -       y       -       -       smtp\n#        -o syslog_name=postfix/$service_name\n\
             # inside relay\n#        -o smtp_helo_timeout=5\npickup"
        ));
    }

    #[test]
    fn fields_and_params() {
        let out = run(
            Target::Field,
            Op::Set,
            &["pickup/unix/wakeup=30", "relay/unix/process_limit=4"],
        )
        .unwrap();
        assert!(out
            .text
            .contains("pickup     unix  n       -       y       30      1       pickup\n"));
        assert!(out.text.contains(
            "# inside relay\nrelay      unix  -       -       y       -       4       smtp\n    \
             -o syslog_name=postfix/$service_name\n    -o smtp_helo_timeout=5\npickup"
        ));
        let out = run(Target::Param, Op::Remove, &["relay/unix/smtp_helo_timeout"]).unwrap();
        assert!(out
            .text
            .contains("smtp\n    -o syslog_name=postfix/$service_name\npickup"));
        let out = run(
            Target::Param,
            Op::Set,
            &["smtp/inet/syslog_name=x", "nosuch/unix/a=b"],
        )
        .unwrap();
        assert!(out.text.contains("smtpd\n    -o syslog_name=x\n"));
        assert_eq!(
            out.warnings,
            vec!["unmatched service_name/type: \"nosuch/unix/a=b\""]
        );
    }

    #[test]
    fn bad_requests() {
        let cases = [
            (
                Target::Entry,
                Op::Remove,
                "smtp",
                "-Me, -MX or -M# requires service_name/type",
            ),
            (
                Target::Field,
                Op::Set,
                "smtp/inet/*=x",
                "-Fe does not accept wild-card field name",
            ),
            (
                Target::Field,
                Op::Set,
                "smtp/inet/chroot=a b",
                "-Fe does not accept whitespace in non-command field",
            ),
            (
                Target::Param,
                Op::Set,
                "smtp/inet/a=b c",
                "-Pe does not accept whitespace in parameter value",
            ),
            (
                Target::Field,
                Op::Set,
                "smtp/inet/chroot=x",
                "invalid chroot field \"x\" in \"x\"",
            ),
            (
                Target::Param,
                Op::Remove,
                "smtp/inet/a=b",
                "-X or -# requires names without value",
            ),
        ];
        for (target, op, arg, message) in cases {
            assert_eq!(run(target, op, &[arg]).unwrap_err(), message, "{arg}");
        }
    }
}
