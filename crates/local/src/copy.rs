//! NAME
//!   copy - write a queued message the way a mailbox, file or command wants it
//!
//! SYNOPSIS
//!   let opts = CopyOptions::mbox(&sender, Some(&orig), Some(&rcpt));
//!   let n = copy_message(&mut content, &mut out, &opts, now)?;
//!
//! DESCRIPTION
//!   Postfix's local(8) copies a message with a set of options (its
//!   `MAIL_COPY_*` flags); this module is that copy as one pure
//!   function over a reader and a writer:
//!
//!   - `From sender  date` envelope line (mbox files and commands), the
//!     date in asctime(3) form, `MAILER-DAEMON` for the null sender;
//!   - `Return-Path: <sender>`;
//!   - `X-Original-To: address` (the recipient before aliasing, when
//!     known);
//!   - `Delivered-To: address` (the recipient, lower case; parameter
//!     `prepend_delivered_header` says which deliveries get it);
//!   - `>From ` quoting of body and header lines that start with `From `
//!     (mbox files only);
//!   - an empty line after the message (mbox files only), so the next
//!     `From ` line starts a message.
//!
//!   Line ends are LF, as in the queue file.
//!
//! SEE ALSO
//!   local(8), postconf(5) `prepend_delivered_header`.
use chrono::{DateTime, Local};
use std::io::{self, BufRead, Write};

/// What to add around and inside the message copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Prepend the `From sender  date` line.
    pub from_line: bool,
    /// Quote lines that start with `From ` as `>From `.
    pub quote: bool,
    /// Append an empty line.
    pub blank: bool,
    /// The envelope sender for `From ` and `Return-Path:` (empty = null).
    pub sender: String,
    /// Add `Return-Path: <sender>`.
    pub return_path: bool,
    /// Value of `X-Original-To:`, when one is added.
    pub orig_to: Option<String>,
    /// Value of `Delivered-To:`, when one is added.
    pub delivered_to: Option<String>,
}

impl CopyOptions {
    /// Options for a UNIX mailbox (mbox) file.
    pub fn mbox(sender: &str, orig_to: Option<&str>, delivered_to: Option<&str>) -> CopyOptions {
        CopyOptions {
            from_line: true,
            quote: true,
            blank: true,
            sender: sender.to_string(),
            return_path: true,
            orig_to: orig_to.map(str::to_string),
            delivered_to: delivered_to.map(str::to_string),
        }
    }

    /// Options for a Maildir file: headers only, no envelope line.
    pub fn maildir(sender: &str, orig_to: Option<&str>, delivered_to: Option<&str>) -> CopyOptions {
        CopyOptions {
            from_line: false,
            quote: false,
            blank: false,
            ..CopyOptions::mbox(sender, orig_to, delivered_to)
        }
    }

    /// Options for a command's standard input: envelope line and
    /// headers, no quoting.
    pub fn command(sender: &str, orig_to: Option<&str>, delivered_to: Option<&str>) -> CopyOptions {
        CopyOptions {
            quote: false,
            blank: false,
            ..CopyOptions::mbox(sender, orig_to, delivered_to)
        }
    }
}

/// The `From ` line's sender: the address, or `MAILER-DAEMON` for `<>`.
pub fn envelope_sender(sender: &str) -> &str {
    if sender.is_empty() {
        "MAILER-DAEMON"
    } else {
        sender
    }
}

/// The mbox envelope line for `sender` at `when`: `From a@b  Thu Jan  1
/// 00:00:00 1970` and a newline (two spaces, asctime(3) date).
pub fn from_line(sender: &str, when: DateTime<Local>) -> String {
    format!(
        "From {}  {}\n",
        envelope_sender(sender),
        when.format("%a %b %e %H:%M:%S %Y")
    )
}

/// The lines to write before the message content, per `opts`.
pub fn prefix(opts: &CopyOptions, when: DateTime<Local>) -> String {
    let mut s = String::new();
    if opts.from_line {
        s.push_str(&from_line(&opts.sender, when));
    }
    if opts.return_path {
        s.push_str(&format!("Return-Path: <{}>\n", opts.sender));
    }
    if let Some(o) = &opts.orig_to {
        s.push_str(&format!("X-Original-To: {o}\n"));
    }
    if let Some(d) = &opts.delivered_to {
        s.push_str(&format!("Delivered-To: {}\n", d.to_lowercase()));
    }
    s
}

/// Copy `content` (the queue file's content: headers, empty line, body,
/// LF line ends) to `out` per `opts`, dated `when`. Returns the number
/// of bytes written. Errors: I/O errors of either side.
pub fn copy_message<R: BufRead, W: Write + ?Sized>(
    mut content: R,
    out: &mut W,
    opts: &CopyOptions,
    when: DateTime<Local>,
) -> io::Result<u64> {
    let head = prefix(opts, when);
    out.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if content.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if opts.quote && line.starts_with(b"From ") {
            out.write_all(b">")?;
            written += 1;
        }
        out.write_all(&line)?;
        written += line.len() as u64;
        if line.last() != Some(&b'\n') {
            out.write_all(b"\n")?;
            written += 1;
        }
    }
    if opts.blank {
        out.write_all(b"\n")?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn when() -> DateTime<Local> {
        Local.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap()
    }

    #[test]
    fn mbox_copy_has_envelope_headers_quoting_and_blank_line() {
        let msg = b"Subject: hi\n\nFrom me\n>From you\nbye";
        let mut out = Vec::new();
        let opts = CopyOptions::mbox("a@example.com", Some("alias@x"), Some("U1@X"));
        let n = copy_message(&msg[..], &mut out, &opts, when()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "From a@example.com  Tue Mar  5 07:08:09 2024\n\
             Return-Path: <a@example.com>\n\
             X-Original-To: alias@x\n\
             Delivered-To: u1@x\n\
             Subject: hi\n\n>From me\n>From you\nbye\n\n"
        );
        assert_eq!(n as usize, text.len());
    }

    #[test]
    fn maildir_and_command_copies() {
        let msg = b"Subject: hi\n\nFrom me\n";
        let mut out = Vec::new();
        copy_message(
            &msg[..],
            &mut out,
            &CopyOptions::maildir("", None, Some("u@x")),
            when(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Return-Path: <>\nDelivered-To: u@x\nSubject: hi\n\nFrom me\n"
        );
        let mut out = Vec::new();
        copy_message(
            &msg[..],
            &mut out,
            &CopyOptions::command("", None, None),
            when(),
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("From MAILER-DAEMON  Tue Mar  5 07:08:09 2024\nReturn-Path: <>\n"));
    }
}
