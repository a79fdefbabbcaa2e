//! NAME
//!   addr - pick the addresses out of an RFC 5322 address list
//!
//! DESCRIPTION
//!   [`parse_list`] takes the value of a `To:`, `Cc:` or `Bcc:` header,
//!   or a recipient given on the command line, and returns the bare
//!   addresses: `Name <user@example.com>` gives `user@example.com`,
//!   `user@example.com (Comment)` gives `user@example.com`, and a group
//!   `friends: a@x, b@y;` gives its members. Quoted strings are kept
//!   as they are (a quoted local part stays quoted); comments, which may
//!   nest, are dropped; a source route (`<@relay:user@x>`) is removed.
//!   Empty members are skipped.
//!
//! SEE ALSO
//!   RFC 5322 section 3.4 (address lists), sendmail(1) `-t`.

/// The addresses in `text` (see DESCRIPTION), in order.
pub fn parse_list(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new(); // the member outside <> and comments
    let mut angle: Option<String> = None; // the last <...> of the member
    let mut chars = text.chars().peekable();
    let mut in_group = false;
    let flush = |cur: &mut String, angle: &mut Option<String>, out: &mut Vec<String>| {
        let a = match angle.take() {
            Some(a) => strip_route(&a),
            None => cur.clone(),
        };
        if !a.is_empty() {
            out.push(a);
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                cur.push('"');
                while let Some(q) = chars.next() {
                    cur.push(q);
                    if q == '\\' {
                        if let Some(n) = chars.next() {
                            cur.push(n);
                        }
                    } else if q == '"' {
                        break;
                    }
                }
            }
            '(' => {
                let mut depth = 1;
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            chars.next();
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
            }
            '<' => {
                let mut a = String::new();
                while let Some(q) = chars.next() {
                    match q {
                        '>' => break,
                        '"' => {
                            a.push('"');
                            while let Some(r) = chars.next() {
                                a.push(r);
                                if r == '\\' {
                                    if let Some(n) = chars.next() {
                                        a.push(n);
                                    }
                                } else if r == '"' {
                                    break;
                                }
                            }
                        }
                        _ if q.is_whitespace() => {}
                        _ => a.push(q),
                    }
                }
                angle = Some(a);
            }
            ':' if !in_group && angle.is_none() => {
                // A group name, unless it is part of an address such as a
                // bang or a route we do not understand: discard the name.
                in_group = true;
                cur.clear();
            }
            ';' if in_group => {
                flush(&mut cur, &mut angle, &mut out);
                in_group = false;
            }
            ',' => flush(&mut cur, &mut angle, &mut out),
            _ if c.is_whitespace() => {}
            _ => cur.push(c),
        }
    }
    flush(&mut cur, &mut angle, &mut out);
    out
}

/// Drop an RFC 5321 source route: `@a,@b:user@x` becomes `user@x`.
fn strip_route(a: &str) -> String {
    if a.starts_with('@') {
        if let Some(i) = a.find(':') {
            return a[i + 1..].to_string();
        }
    }
    a.to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn common_forms() {
        assert_eq!(parse_list("bob@example.com"), ["bob@example.com"]);
        assert_eq!(
            parse_list("Bob <bob@example.com>, carol@example.org (Carol C)"),
            ["bob@example.com", "carol@example.org"]
        );
        assert_eq!(
            parse_list("\"Smith, John\" <john@x.example>,  ,"),
            ["john@x.example"]
        );
        assert_eq!(
            parse_list("friends: a@x.example, B <b@y.example>; c@z.example"),
            ["a@x.example", "b@y.example", "c@z.example"]
        );
        assert_eq!(parse_list("undisclosed-recipients:;"), Vec::<String>::new());
        assert_eq!(parse_list("<@relay.example:u@x.example>"), ["u@x.example"]);
        assert_eq!(parse_list("\"a b\"@x.example"), ["\"a b\"@x.example"]);
        assert_eq!(parse_list("root"), ["root"]);
        assert_eq!(parse_list("a (x (nested) y) @b.example"), ["a@b.example"]);
    }
}
