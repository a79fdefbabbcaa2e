//! NAME
//!   master_show - postconf's view of master.cf entries (-M, -F, -P)
//!
//! DESCRIPTION
//!   An [`Entry`] is one master.cf service as an argument vector: the seven
//!   fixed columns as written, the command, then its arguments in a
//!   normal form: `-oname=value` becomes `-o` `name=value`, `-o { name =
//!   value }` becomes `-o` `name=value`, and a non-option argument
//!   `{ text }` becomes `text`.
//!
//!   `postconf -M` prints an entry with its columns at positions 0, 11,
//!   17, 25, 33, 41, 49 and 57 (at least one space apart), then the
//!   arguments separated by single spaces. With `-f` each `-o name=value`
//!   goes on a line of its own and other words wrap before column 80;
//!   continuation lines are indented by four spaces. A value with
//!   whitespace is shown in braces: `-o {name=a b}`.
//!
//!   `postconf -F` prints `service/type/field = value` for the fields
//!   service, type, private, unprivileged, chroot, wakeup, process_limit
//!   and command (the command with its arguments); `postconf -P` prints
//!   `service/type/name = value` for each `-o` parameter, sorted by name.
//!
//!   Patterns (`service[/type[/field]]`) match component by component;
//!   `*` or an omitted trailing component matches anything.
use crate::print::{format_line, separate, Style, INDENT, LINE_LIMIT};
use global::main_cf_edit::split_nameval;
use global::master_cf::MasterEntry;

/// The names of the columns, as `postconf -F` shows them.
pub const FIELD_NAMES: &[&str] = &[
    "service",
    "type",
    "private",
    "unprivileged",
    "chroot",
    "wakeup",
    "process_limit",
    "command",
];

/// The index of the command column.
pub const CMD: usize = 7;

/// One master.cf entry in postconf's normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Columns 1-7, the command, then the normalized arguments.
    pub argv: Vec<String>,
}

fn strip_braces(arg: &str) -> String {
    let inner = arg.strip_prefix('{').unwrap_or(arg);
    let inner = inner.strip_suffix('}').unwrap_or(inner);
    inner.trim().to_string()
}

/// Bring the arguments after the command (`args`) into normal form.
pub fn normalize_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if !arg.starts_with('-') || arg == "--" {
            break;
        }
        // "-vo..." is "-v" followed by "-o...".
        let (flags, rest) = match arg[1..].find('o') {
            Some(p) if p > 0 => (
                arg[..p + 1].to_string(),
                Some(format!("-{}", &arg[p + 1..])),
            ),
            _ => (arg.clone(), None),
        };
        let opt = match rest {
            Some(r) => {
                out.push(flags);
                r
            }
            None => flags,
        };
        if !opt.starts_with("-o") {
            out.push(opt);
            i += 1;
            continue;
        }
        let value = if opt.len() > 2 {
            Some(opt[2..].to_string())
        } else {
            i += 1;
            args.get(i).cloned()
        };
        out.push("-o".to_string());
        if let Some(v) = value {
            if v.starts_with('{') {
                let inner = strip_braces(&v);
                match split_nameval(&inner) {
                    Ok((n, val)) => out.push(format!("{n}={val}")),
                    Err(_) => out.push(inner),
                }
            } else {
                out.push(v);
            }
        }
        i += 1;
    }
    for arg in &args[i.min(args.len())..] {
        out.push(if arg.starts_with('{') {
            strip_braces(arg)
        } else {
            arg.clone()
        });
    }
    out
}

impl Entry {
    /// The normal form of a parsed entry.
    pub fn from_master(e: &MasterEntry) -> Entry {
        let mut argv = e.fields.clone();
        argv.push(e.command.clone());
        argv.extend(normalize_args(&e.args));
        Entry { argv }
    }

    /// Parse one logical line (continuation lines joined).
    ///
    /// Errors: the master.cf parser's message (bad type, bad field).
    pub fn parse(text: &str) -> Result<Entry, String> {
        global::master_cf::parse_entry(text, 0).map(|e| Entry::from_master(&e))
    }

    /// Column 1.
    pub fn service(&self) -> &str {
        &self.argv[0]
    }

    /// Column 2.
    pub fn kind(&self) -> &str {
        &self.argv[1]
    }

    /// The index just past the daemon options (the first non-option
    /// argument, or the end).
    pub fn options_end(&self) -> usize {
        let mut i = CMD + 1;
        while i < self.argv.len() {
            let a = &self.argv[i];
            if !a.starts_with('-') || a == "--" {
                break;
            }
            i += if a == "-o" { 2 } else { 1 };
        }
        i.min(self.argv.len())
    }

    /// The `-o name=value` parameters among the daemon options, sorted
    /// by name; a later setting of a name replaces an earlier one.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut map = std::collections::BTreeMap::new();
        let end = self.options_end();
        let mut i = CMD + 1;
        while i < end {
            if self.argv[i] == "-o" {
                if let Some((n, v)) = self.argv.get(i + 1).and_then(|nv| nv.split_once('=')) {
                    map.insert(n.to_string(), v.to_string());
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        map.into_iter().collect()
    }

    /// Set (`Some`) or remove (`None`) the `-o name=value` parameter;
    /// a new parameter goes after the last daemon option.
    pub fn edit_param(&mut self, name: &str, value: Option<&str>) {
        let mut found = false;
        let mut i = CMD + 1;
        while i < self.options_end() {
            let is_match = self.argv[i] == "-o"
                && self
                    .argv
                    .get(i + 1)
                    .is_some_and(|nv| nv.split_once('=').is_some_and(|(n, _)| n == name));
            if !is_match {
                i += if self.argv[i] == "-o" { 2 } else { 1 };
                continue;
            }
            found = true;
            match value {
                Some(v) => {
                    self.argv[i + 1] = format!("{name}={v}");
                    i += 2;
                }
                None => {
                    self.argv.drain(i..i + 2);
                }
            }
        }
        if let (false, Some(v)) = (found, value) {
            let at = self.options_end();
            self.argv
                .splice(at..at, ["-o".to_string(), format!("{name}={v}")]);
        }
    }

    /// Replace column `field` (0-7). A new command (field 7) is split
    /// into words (a `{ ... }` group is one word) and normalized.
    pub fn edit_field(&mut self, field: usize, value: &str) {
        if field == CMD {
            self.argv.truncate(CMD);
            let words = global::master_cf::tokenize(value);
            if let Some((cmd, args)) = words.split_first() {
                self.argv.push(cmd.clone());
                self.argv.extend(normalize_args(args));
            }
        } else {
            self.argv[field] = value.to_string();
        }
    }
}

fn braced(text: &str) -> String {
    if text.contains([' ', '\t', '\r', '\n']) {
        format!("{{{text}}}")
    } else {
        text.to_string()
    }
}

/// Append the command and its arguments, starting at `line_len`, to
/// `out`. `expand` maps a `-o` value for `-x`. `value_pad` is what
/// Postfix adds to an option's value length when deciding to fold (3 for
/// `-M`, 1 for `-F`).
fn push_command(
    out: &mut String,
    mut line_len: usize,
    argv: &[String],
    fold: bool,
    value_pad: usize,
    expand: &dyn Fn(&str) -> String,
) {
    let mut in_options = true;
    let mut i = CMD + 1;
    while i < argv.len() {
        let arg = &argv[i];
        let mut text = arg.clone();
        let mut len = arg.chars().count();
        let mut value = None;
        if in_options && (!arg.starts_with('-') || arg == "--") {
            in_options = false;
        }
        if in_options && arg == "-o" && i + 1 < argv.len() {
            let v = braced(&expand(&argv[i + 1]));
            len += v.chars().count() + value_pad;
            value = Some(v);
            line_len = LINE_LIMIT;
        } else if !in_options {
            text = braced(arg);
            len = text.chars().count();
        }
        if line_len > INDENT.len() {
            let wrap = fold && line_len + 1 + len >= LINE_LIMIT;
            separate(out, &mut line_len, wrap);
        }
        out.push_str(&text);
        line_len += text.chars().count();
        if let Some(v) = value {
            out.push(' ');
            out.push_str(&v);
            line_len = LINE_LIMIT;
            i += 1;
        }
        i += 1;
    }
}

/// The `postconf -M` text of `entry` (with a final newline).
pub fn format_entry(entry: &Entry, fold: bool, expand: &dyn Fn(&str) -> String) -> String {
    const GOAL: [usize; 8] = [0, 11, 17, 25, 33, 41, 49, 57];
    let mut out = String::new();
    let mut line_len = 0;
    for (field, goal) in GOAL.iter().enumerate() {
        let arg = &entry.argv[field];
        if line_len > 0 {
            loop {
                out.push(' ');
                line_len += 1;
                if line_len >= *goal {
                    break;
                }
            }
        }
        out.push_str(arg);
        line_len += arg.chars().count();
    }
    push_command(&mut out, line_len, &entry.argv, fold, 3, expand);
    out.push('\n');
    out
}

/// The `postconf -F` text of column `field` of `entry`.
pub fn format_field(
    entry: &Entry,
    field: usize,
    style: Style,
    expand: &dyn Fn(&str) -> String,
) -> String {
    let label = format!(
        "{}/{}/{}",
        entry.service(),
        entry.kind(),
        FIELD_NAMES[field]
    );
    if style.hide_value {
        return format!("{label}\n");
    }
    let mut out = String::new();
    let mut line_len = 0;
    if !style.hide_name {
        out.push_str(&label);
        out.push_str(" = ");
        line_len = out.chars().count();
        if line_len + entry.argv[field].chars().count() > LINE_LIMIT {
            out.push('\n');
            out.push_str(INDENT);
            line_len = INDENT.len();
        }
    }
    out.push_str(&entry.argv[field]);
    line_len += entry.argv[field].chars().count();
    if field == CMD {
        push_command(&mut out, line_len, &entry.argv, style.fold, 1, expand);
    }
    out.push('\n');
    out
}

/// The `postconf -P` line for parameter `name` of `entry`.
pub fn format_param(entry: &Entry, name: &str, value: &str, style: Style) -> String {
    let label = format!("{}/{}/{}", entry.service(), entry.kind(), name);
    if style.hide_value {
        format!("{label}\n")
    } else if style.hide_name {
        format_line(value, style.fold)
    } else {
        format_line(&format!("{label} = {value}"), style.fold)
    }
}

/// A parsed `service[/type[/third]]` pattern; omitted parts are `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The components.
    pub parts: Vec<String>,
}

impl Pattern {
    /// Parse `text` with between `min` and `max` components.
    /// Returns `None` for a malformed pattern (empty name, partial
    /// wildcard such as `sub*`, too many or too few components).
    pub fn parse(text: &str, min: usize, max: usize) -> Option<Pattern> {
        let mut parts: Vec<String> = text.split('/').map(str::to_string).collect();
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        if parts.len() < min || parts.len() > max {
            return None;
        }
        if parts
            .iter()
            .any(|p| p.is_empty() || (p.contains('*') && p != "*"))
        {
            return None;
        }
        parts.resize(max, "*".to_string());
        Some(Pattern { parts })
    }

    /// Whether the first two components match `service` and `kind`.
    pub fn matches(&self, service: &str, kind: &str) -> bool {
        let ok = |p: &String, v: &str| p == "*" || p == v;
        ok(&self.parts[0], service) && ok(&self.parts[1], kind)
    }
}

/// The column index of a `-F` field name, `None` for `*` (all fields).
///
/// Errors: `invalid service attribute name: "bogus"`.
pub fn field_index(name: &str) -> Result<Option<usize>, String> {
    if name == "*" {
        return Ok(None);
    }
    FIELD_NAMES
        .iter()
        .position(|f| *f == name)
        .map(Some)
        .ok_or_else(|| format!("invalid service attribute name: \"{name}\""))
}

/// Check a new value for column `field` (not the command) as Postfix
/// does: type one of master.cf's types, private/unprivileged/chroot one
/// of `y`, `n`, `-`, wakeup `-` or digits with an optional `?`,
/// process_limit `-` or digits.
///
/// Errors: `invalid chroot field "x" in "x"`.
pub fn check_field(field: usize, value: &str) -> Result<(), String> {
    let digits = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
    let ok = match field {
        1 => global::master_cf::ServiceType::parse(value).is_some(),
        2..=4 => matches!(value, "y" | "n" | "-"),
        5 => value == "-" || digits(value.strip_suffix('?').unwrap_or(value)),
        6 => value == "-" || digits(value),
        _ => !value.is_empty(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {} field \"{value}\" in \"{value}\"",
            FIELD_NAMES[field]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(line: &str) -> Entry {
        Entry::parse(line).unwrap()
    }

    fn same(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn columns_are_aligned_as_postfix_does() {
        let e = entry("smtp inet n - y - - smtpd");
        assert_eq!(
            format_entry(&e, false, &same),
            "smtp       inet  n       -       y       -       -       smtpd\n"
        );
        let e = entry("127.0.0.1:10025 inet n - n - - smtpd");
        assert_eq!(
            format_entry(&e, false, &same),
            "127.0.0.1:10025 inet n   -       n       -       -       smtpd\n"
        );
        let e = entry("postlog unix-dgram n - n - 1 postlogd");
        assert_eq!(
            format_entry(&e, false, &same),
            "postlog    unix-dgram n  -       n       -       1       postlogd\n"
        );
        let e = entry("averyveryverylongservicename unix - - - 100? 0 cmd");
        assert_eq!(
            format_entry(&e, false, &same),
            "averyveryverylongservicename unix - - -  100?    0       cmd\n"
        );
    }

    #[test]
    fn options_are_normalized_and_folded() {
        let e = entry(
            "submission inet n - y - - smtpd -o syslog_name=postfix/submission \
             -osmtpd_tls_security_level=encrypt -o { smtpd_client_restrictions = permit_sasl_authenticated, reject } -v",
        );
        assert_eq!(
            format_entry(&e, false, &same),
            "submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission \
             -o smtpd_tls_security_level=encrypt -o {smtpd_client_restrictions=permit_sasl_authenticated, reject} -v\n"
        );
        assert_eq!(
            format_entry(&e, true, &same),
            "submission inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/submission\n    \
             -o smtpd_tls_security_level=encrypt\n    -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}\n    -v\n"
        );
        assert_eq!(
            e.params(),
            vec![
                (
                    "smtpd_client_restrictions".to_string(),
                    "permit_sasl_authenticated, reject".to_string()
                ),
                (
                    "smtpd_tls_security_level".to_string(),
                    "encrypt".to_string()
                ),
                ("syslog_name".to_string(), "postfix/submission".to_string()),
            ]
        );
    }

    #[test]
    fn long_pipe_lines_wrap_before_column_80() {
        let e = entry(
            "bsmtp unix - n n - - pipe flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender \
             $recipient extra1 extra2 extra3 extra4 extra5 extra6",
        );
        assert_eq!(
            format_entry(&e, true, &same),
            "bsmtp      unix  -       n       n       -       -       pipe flags=Fq.\n    \
             user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient extra1\n    \
             extra2 extra3 extra4 extra5 extra6\n"
        );
    }

    #[test]
    fn fields_and_params() {
        let e = entry("relay unix - - y - - smtp -o syslog_name=postfix/$service_name");
        assert_eq!(
            format_field(&e, 3, Style::default(), &same),
            "relay/unix/unprivileged = -\n"
        );
        assert_eq!(
            format_field(&e, CMD, Style::default(), &same),
            "relay/unix/command = smtp -o syslog_name=postfix/$service_name\n"
        );
        let x = |v: &str| v.replace("$service_name", "relay");
        assert_eq!(
            format_field(
                &e,
                CMD,
                Style {
                    hide_name: true,
                    ..Style::default()
                },
                &x
            ),
            "smtp -o syslog_name=postfix/relay\n"
        );
        assert_eq!(
            format_param(&e, "syslog_name", "postfix/$service_name", Style::default()),
            "relay/unix/syslog_name = postfix/$service_name\n"
        );
    }

    #[test]
    fn editing_params_and_fields() {
        let mut e = entry("x unix - - n - - cmd -v -o a=1 arg");
        e.edit_param("b", Some("2"));
        e.edit_param("a", Some("3"));
        assert_eq!(
            e.argv[CMD..],
            ["cmd", "-v", "-o", "a=3", "-o", "b=2", "arg"]
        );
        e.edit_param("a", None);
        assert_eq!(e.argv[CMD..], ["cmd", "-v", "-o", "b=2", "arg"]);
        e.edit_field(CMD, "other -o { c = d e } { x y }");
        assert_eq!(e.argv[CMD..], ["other", "-o", "c=d e", "x y"]);
        e.edit_field(6, "5");
        assert_eq!(e.argv[6], "5");
    }

    #[test]
    fn patterns() {
        let p = Pattern::parse("smtp", 1, 2).unwrap();
        assert!(
            p.matches("smtp", "inet") && p.matches("smtp", "unix") && !p.matches("relay", "unix")
        );
        assert!(Pattern::parse("*/inet", 1, 2)
            .unwrap()
            .matches("submission", "inet"));
        assert!(Pattern::parse("smtp/", 1, 2).is_some());
        assert!(Pattern::parse("sub*", 1, 2).is_none());
        assert!(Pattern::parse("/inet", 1, 2).is_none());
        assert!(Pattern::parse("a/b/c", 1, 2).is_none());
        assert_eq!(
            Pattern::parse("a/b", 1, 3).unwrap().parts,
            vec!["a", "b", "*"]
        );
        assert_eq!(field_index("process_limit"), Ok(Some(6)));
        assert_eq!(field_index("*"), Ok(None));
        assert_eq!(
            field_index("bogus").unwrap_err(),
            "invalid service attribute name: \"bogus\""
        );
        assert_eq!(
            check_field(4, "x").unwrap_err(),
            "invalid chroot field \"x\" in \"x\""
        );
        assert!(
            check_field(5, "60?").is_ok()
                && check_field(5, "?").is_err()
                && check_field(6, "0").is_ok()
        );
    }
}
