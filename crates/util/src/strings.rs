//! Small string helpers used by configuration and protocol parsers.

/// Split a Postfix list value into its elements.
///
/// Postfix lists are separated by commas and/or whitespace (postconf(5),
/// "lists"); empty elements are dropped. Text inside `{ ... }` is kept as
/// one element with the braces (used by `inline:{...}` tables and
/// `-o { name = value }` in master.cf).
pub fn split_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for ch in value.chars() {
        match ch {
            '{' => {
                depth += 1;
                cur.push(ch);
            }
            '}' if depth > 0 => {
                depth -= 1;
                cur.push(ch);
            }
            c if depth == 0 && (c == ',' || c.is_whitespace()) => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Interpret a Postfix boolean: `yes`/`no` (case-insensitive), also
/// `true`/`false`, `1`/`0`, `on`/`off` as accepted by `postconf`.
/// Returns `None` for anything else.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "on" => Some(true),
        "no" | "false" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// Parse a Postfix time value into seconds.
///
/// `value` is a number with an optional unit `s`, `m`, `h`, `d` or `w`;
/// without a unit, `default_unit` applies (postconf(5): "time units").
/// Returns `None` on syntax errors or overflow.
pub fn parse_time(value: &str, default_unit: char) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let (num, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    if num.is_empty() {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    let unit = if unit.is_empty() {
        default_unit
    } else if unit.len() == 1 {
        unit.chars().next()?.to_ascii_lowercase()
    } else {
        return None;
    };
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        'w' => 7 * 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_comma_and_space() {
        assert_eq!(split_list("a, b  c,,d"), vec!["a", "b", "c", "d"]);
        assert_eq!(split_list(""), Vec::<String>::new());
        assert_eq!(
            split_list("inline:{ a=1, b=2 }, x"),
            vec!["inline:{ a=1, b=2 }", "x"]
        );
    }

    #[test]
    fn times_use_units() {
        assert_eq!(parse_time("300s", 's'), Some(300));
        assert_eq!(parse_time("5d", 's'), Some(432_000));
        assert_eq!(parse_time("2", 'm'), Some(120));
        assert_eq!(parse_time("1w", 's'), Some(604_800));
        assert_eq!(parse_time("1x", 's'), None);
        assert_eq!(parse_time("s", 's'), None);
        assert_eq!(parse_time("10ss", 's'), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("YES"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}

/// `text` without the ` (os error N)` that Rust appends to system error
/// messages, so a wrapped error reads like Postfix's `%m` (`open x: No
/// such file or directory`).
pub fn strip_os_error(text: &str) -> String {
    const MARK: &str = " (os error ";
    if !text.contains(MARK) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(MARK) {
        let after = &rest[start + MARK.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after.as_bytes().get(digits) == Some(&b')') {
            out.push_str(&rest[..start]);
            rest = &after[digits + 1..];
        } else {
            out.push_str(&rest[..start + MARK.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod strip_tests {
    #[test]
    fn strips_every_os_error_suffix() {
        assert_eq!(
            super::strip_os_error(
                "open a: No such file or directory (os error 2): x (os error 13)"
            ),
            "open a: No such file or directory: x"
        );
        assert_eq!(super::strip_os_error("plain"), "plain");
        // Only Rust's exact suffix goes; other text stays as it is.
        assert_eq!(
            super::strip_os_error("a (os error x) b (os error 5"),
            "a (os error x) b (os error 5"
        );
    }
}
