//! NAME
//!   print - postconf's output lines: normalized whitespace, optional folding
//!
//! DESCRIPTION
//!   Every `name = value` line that postconf prints has its whitespace
//!   normalized: words are separated by one space, so a main.cf value
//!   written over several lines prints on one. With `-f` a line is folded
//!   before a word that would reach column 80; continuation lines are
//!   indented by four spaces (Postfix 3.7 postconf(1), option `-f`).
//!
//!   [`param_line`] builds the text for one parameter according to `-h`
//!   (value only) and `-H` (name only).

/// Output lines are folded before they reach this many columns.
pub const LINE_LIMIT: usize = 80;

/// The indentation of folded continuation lines.
pub const INDENT: &str = "    ";

/// Normalize the whitespace of `text` (one space between words) and, when
/// `fold` is set, fold it at [`LINE_LIMIT`]. Returns the text with a final
/// newline.
pub fn format_line(text: &str, fold: bool) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    let mut line_len = 0usize;
    for word in text
        .split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty())
    {
        let wlen = word.chars().count();
        if line_len > 0 {
            let wrap = fold && line_len + wlen >= LINE_LIMIT;
            separate(&mut out, &mut line_len, wrap);
        }
        out.push_str(word);
        line_len += wlen;
    }
    out.push('\n');
    out
}

/// Put a separator before the next word: a space, or, when `wrap`, a
/// newline and [`INDENT`]. `line_len` (columns) is updated.
pub fn separate(out: &mut String, line_len: &mut usize, wrap: bool) {
    if wrap {
        out.push('\n');
        out.push_str(INDENT);
        *line_len = INDENT.len();
    } else {
        out.push(' ');
        *line_len += 1;
    }
}

/// How to show one parameter (`-h`, `-H`, `-f`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// `-h`: print the value without `name = `.
    pub hide_name: bool,
    /// `-H`: print the name only.
    pub hide_value: bool,
    /// `-f`: fold long lines.
    pub fold: bool,
}

/// The output for parameter `name` with `value` in `style`.
pub fn param_line(name: &str, value: &str, style: Style) -> String {
    if style.hide_value {
        format!("{name}\n")
    } else if style.hide_name {
        format_line(value, style.fold)
    } else {
        format_line(&format!("{name} = {value}"), style.fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_normalized() {
        assert_eq!(
            format_line("smtpd_banner = $a  hi\t there", false),
            "smtpd_banner = $a hi there\n"
        );
        assert_eq!(format_line("relayhost = ", false), "relayhost =\n");
        assert_eq!(format_line("", false), "\n");
    }

    #[test]
    fn folding_stops_before_column_80() {
        let words: Vec<String> = (0..30).map(|i| format!("$word_number_{i:02}")).collect();
        let text = format!("proxy_read_maps = {}", words.join(" "));
        let out = format_line(&text, true);
        for line in out.lines() {
            assert!(line.len() <= LINE_LIMIT, "{line}");
        }
        assert!(out.lines().skip(1).all(|l| l.starts_with("    $")));
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        // Postfix folds when the line so far plus the word (not counting
        // the space) would reach column 80.
        let line = format!("{} {}", "a".repeat(70), "b".repeat(9));
        assert_eq!(format_line(&line, true).lines().count(), 1);
        let line = format!("{} {}", "a".repeat(70), "b".repeat(10));
        assert_eq!(format_line(&line, true).lines().count(), 2);
    }

    #[test]
    fn styles() {
        let s = Style {
            hide_name: true,
            ..Style::default()
        };
        assert_eq!(param_line("mail_name", "Postfix", s), "Postfix\n");
        let s = Style {
            hide_value: true,
            ..Style::default()
        };
        assert_eq!(param_line("mail_name", "Postfix", s), "mail_name\n");
        assert_eq!(
            param_line("mail_name", "Postfix", Style::default()),
            "mail_name = Postfix\n"
        );
    }
}
