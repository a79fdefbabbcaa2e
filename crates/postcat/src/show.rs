//! NAME
//!   show - print one queue file in Postfix's postcat layout
//!
//! DESCRIPTION
//!   [`show`] reads records one by one ([`queue::record::read_record`])
//!   and prints them with Postfix's record names: `message_size`,
//!   `message_arrival_time` (local time, `Mon Nov 30 00:41:15 2026`),
//!   `warning_message_time`, `sender`, `sender_fullname` (the
//!   `full_name` attribute), `named_attribute: name=value`,
//!   `dsn_envelope_id`, `dsn_ret_flags`, `original_recipient`,
//!   `dsn_orig_rcpt`, `dsn_notify_flags`, `recipient`,
//!   `done_recipient`. Content lines are printed as they are, continued
//!   records joined. The header section is the content up to the first
//!   empty line; the body is the rest, starting with that empty line.
use queue::envelope::decode_time;
use queue::record::{read_record, rtype};
use std::io::{Read, Write};

/// Which parts to print.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    /// `-e`: envelope records and the banners.
    pub envelope: bool,
    /// `-h`: header lines.
    pub headers: bool,
    /// `-b`: body lines.
    pub body: bool,
}

impl Sections {
    /// All three (no option given).
    pub fn all() -> Sections {
        Sections {
            envelope: true,
            headers: true,
            body: true,
        }
    }

    /// Whether any part is selected.
    pub fn any(self) -> bool {
        self.envelope || self.headers || self.body
    }
}

fn local_time(payload: &[u8]) -> String {
    let Some(t) = decode_time(payload) else {
        return String::from_utf8_lossy(payload).into_owned();
    };
    let t: chrono::DateTime<chrono::Local> = t.into();
    t.format("%a %b %e %H:%M:%S %Y").to_string()
}

fn warn_time(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    match text.trim().parse::<i64>() {
        Ok(0) | Err(_) => text.trim().to_string(),
        Ok(s) => {
            use chrono::TimeZone;
            chrono::Local.timestamp_opt(s, 0).single().map_or_else(
                || s.to_string(),
                |t| t.format("%a %b %e %H:%M:%S %Y").to_string(),
            )
        }
    }
}

/// The printed form of an envelope record, `None` for structure records.
pub fn describe(t: u8, data: &[u8]) -> Option<String> {
    let text = || String::from_utf8_lossy(data).into_owned();
    Some(match t {
        rtype::SIZE => format!("message_size: {}", text()),
        rtype::TIME => format!("message_arrival_time: {}", local_time(data)),
        rtype::WARN => format!("warning_message_time: {}", warn_time(data)),
        rtype::FROM => format!("sender: {}", text()),
        rtype::ATTR => match text().split_once('=') {
            Some(("full_name", v)) => format!("sender_fullname: {v}"),
            _ => format!("named_attribute: {}", text()),
        },
        rtype::DSN_ENVID => format!("dsn_envelope_id: {}", text()),
        rtype::DSN_RET => format!("dsn_ret_flags: {}", text()),
        rtype::ORCP => format!("original_recipient: {}", text()),
        rtype::DSN_ORCPT => format!("dsn_orig_rcpt: {}", text()),
        rtype::DSN_NOTIFY => format!("dsn_notify_flags: {}", text()),
        rtype::RCPT => format!("recipient: {}", text()),
        rtype::DONE => format!("done_recipient: {}", text()),
        _ => return None,
    })
}

/// Print the file read from `r`, called `name` in the banners. Returns
/// false after a bad record or a write error (a warning is logged).
pub fn show<R: Read, W: Write>(
    r: &mut R,
    name: &str,
    s: Sections,
    offsets: bool,
    out: &mut W,
) -> bool {
    let mut offset = 0u64;
    let mut in_content = false;
    let mut in_headers = true;
    let mut line: Vec<u8> = Vec::new();
    let banner = |out: &mut W, what: &str| -> std::io::Result<()> {
        if s.envelope {
            writeln!(out, "*** {what} {name} ***")?;
        }
        Ok(())
    };
    // A queue file starts with its SIZE record (a maildrop stream with
    // its sender, an old Postfix file with TIME): anything else is not a
    // queue file, and is not shown (a warning, as Postfix's postcat).
    let mut first = match read_record(r, u64::MAX) {
        Ok(Some(rec)) if [rtype::SIZE, rtype::TIME, rtype::FROM].contains(&rec.rtype) => Some(rec),
        Ok(None) => return true,
        _ => {
            util::msg_warn!("{name}: input is not a valid queue file");
            return true;
        }
    };
    let result = (|| -> std::io::Result<Result<(), String>> {
        banner(out, "ENVELOPE RECORDS")?;
        loop {
            let next = match first.take() {
                Some(rec) => Ok(Some(rec)),
                None => read_record(r, u64::MAX),
            };
            let rec = match next {
                Ok(Some(rec)) => rec,
                Ok(None) => return Ok(Err("premature end-of-file (no end record)".into())),
                Err(e) => return Ok(Err(format!("{e} at offset {offset}"))),
            };
            let prefix = if offsets {
                format!("{offset:>9} ")
            } else {
                String::new()
            };
            offset += rec.size;
            match rec.rtype {
                rtype::MESG => {
                    banner(out, "MESSAGE CONTENTS")?;
                    in_content = true;
                }
                rtype::NORM | rtype::CONT if in_content => {
                    line.extend_from_slice(&rec.data);
                    if rec.rtype == rtype::CONT {
                        continue;
                    }
                    if in_headers && line.is_empty() {
                        in_headers = false;
                    }
                    if (in_headers && s.headers) || (!in_headers && s.body) {
                        out.write_all(prefix.as_bytes())?;
                        out.write_all(&line)?;
                        out.write_all(b"\n")?;
                    }
                    line.clear();
                }
                rtype::XTRA => {
                    banner(out, "HEADER EXTRACTED")?;
                    in_content = false;
                }
                rtype::END => {
                    banner(out, "MESSAGE FILE END")?;
                    return Ok(Ok(()));
                }
                t => match describe(t, &rec.data) {
                    Some(text) if !in_content => {
                        if s.envelope {
                            writeln!(out, "{prefix}{text}")?;
                        }
                    }
                    _ => {
                        return Ok(Err(format!(
                            "unexpected record type '{}' at offset {}",
                            t.escape_ascii(),
                            offset - rec.size
                        )))
                    }
                },
            }
        }
    })();
    match result {
        Ok(Ok(())) => true,
        Ok(Err(reason)) => {
            let _ = out.flush();
            util::msg_warn!("{name}: {reason}");
            false
        }
        Err(e) => {
            util::msg_warn!("write: {}", util::strings::strip_os_error(&e.to_string()));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::{QueueDir, QueueWriter, Recipient, INCOMING};

    fn sample() -> (tempfile::TempDir, Vec<u8>) {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred"], 1);
        q.create_missing().unwrap();
        let mut w = QueueWriter::create(&q, INCOMING).unwrap();
        w.set_sender("alice@example.com").unwrap();
        w.add_attr("full_name", "Alice").unwrap();
        w.add_attr("rewrite_context", "local").unwrap();
        w.add_recipient(&Recipient::new("bob@example.org")).unwrap();
        w.write_content(b"Subject: hi\nTo: bob@example.org\n\nhello\n")
            .unwrap();
        w.add_recipient(&Recipient::new("carol@example.net"))
            .unwrap();
        let path = w.path().to_path_buf();
        w.commit().unwrap();
        let bytes = std::fs::read(path).unwrap();
        (t, bytes)
    }

    fn run(s: Sections) -> String {
        let (_t, bytes) = sample();
        let mut out = Vec::new();
        assert!(show(&mut &bytes[..], "incoming/ID", s, false, &mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn full_layout() {
        let text = run(Sections::all());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "*** ENVELOPE RECORDS incoming/ID ***");
        assert!(lines[1].starts_with("message_size: "), "{text}");
        assert!(lines[2].starts_with("warning_message_time: 0"), "{text}");
        assert!(lines[7].starts_with("message_arrival_time: "), "{text}");
        assert_eq!(
            &lines[3..7],
            [
                "sender: alice@example.com",
                "sender_fullname: Alice",
                "named_attribute: rewrite_context=local",
                "recipient: bob@example.org",
            ]
        );
        assert_eq!(
            &lines[8..],
            [
                "*** MESSAGE CONTENTS incoming/ID ***",
                "Subject: hi",
                "To: bob@example.org",
                "",
                "hello",
                "*** HEADER EXTRACTED incoming/ID ***",
                "recipient: carol@example.net",
                "*** MESSAGE FILE END incoming/ID ***",
            ]
        );
    }

    #[test]
    fn headers_and_body_only() {
        let h = Sections {
            headers: true,
            ..Sections::default()
        };
        assert_eq!(run(h), "Subject: hi\nTo: bob@example.org\n");
        let b = Sections {
            body: true,
            ..Sections::default()
        };
        assert_eq!(run(b), "\nhello\n");
    }

    #[test]
    fn other_files_are_not_queue_files() {
        let mut out = Vec::new();
        let passwd = b"root:x:0:0:root:/root:/bin/bash\n".repeat(20);
        assert!(show(
            &mut &passwd[..],
            "/etc/passwd",
            Sections::all(),
            false,
            &mut out
        ));
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        assert!(show(
            &mut &b"\xff\xff\xff\xff\xff\x7f"[..],
            "x",
            Sections::all(),
            false,
            &mut out
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn truncated_file_is_reported() {
        let (_t, bytes) = sample();
        let mut out = Vec::new();
        assert!(!show(
            &mut &bytes[..bytes.len() - 3],
            "x",
            Sections::all(),
            true,
            &mut out
        ));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("        0 message_size: "), "{text}");
    }
}
