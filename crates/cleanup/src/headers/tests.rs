//! Unit tests of header processing.
use super::*;
use std::time::{Duration, UNIX_EPOCH};

fn setup(extra: &str, canon: &str) -> (Resolver, AddrMaps) {
    let (r, mut m) = crate::mapping::tests::setup(canon, "", extra);
    m.delimiters = String::new();
    (r, m)
}

fn config() -> HeaderConfig {
    HeaderConfig {
        size_limit: 102_400,
        drop: ["bcc", "content-length", "resent-bcc", "return-path"]
            .map(String::from)
            .to_vec(),
        always_add: false,
        undisclosed: String::new(),
        from_obsolete: false,
        myhostname: "mx.example.com".into(),
        sender_canon: (true, true),
        rcpt_canon: (true, true),
    }
}

fn facts(ctx: Option<Context>) -> MessageFacts {
    MessageFacts {
        queue_id: "4QID".into(),
        sender: "alice@mx.example.com".into(),
        fullname: None,
        arrival: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        context: ctx,
    }
}

/// Run `input` (header lines) through the processor; the output text
/// and whether the last line ended the section.
fn run(cfg: &HeaderConfig, f: MessageFacts, canon: &str, input: &[&str]) -> (String, usize, bool) {
    let (r, m) = setup("", canon);
    let mut h = Headers::new(cfg, f);
    let mut ended = false;
    for l in input {
        if !h.line(&r, &m, l.as_bytes()).unwrap() {
            ended = true;
            break;
        }
    }
    let hops = h.hops;
    (
        String::from_utf8(h.finish(&r, &m).unwrap()).unwrap(),
        hops,
        ended,
    )
}

#[test]
fn header_names() {
    assert_eq!(header_name(b"Subject: hi"), Some("Subject"));
    assert_eq!(header_name(b"X-Odd : v"), Some("X-Odd"));
    assert_eq!(header_name(b"not a header: x"), None);
    assert_eq!(header_name(b": empty"), None);
    assert_eq!(header_name(b"no colon"), None);
}

#[test]
fn local_mail_gets_missing_headers() {
    let (out, _, ended) = run(
        &config(),
        facts(Some(Context::Local)),
        "",
        &["Subject: hi", ""],
    );
    assert!(ended);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Subject: hi");
    assert_eq!(lines[1], "Message-Id: <4QID@mx.example.com>");
    assert!(
        lines[2].starts_with("Date: Tue, 14 Nov 2023 ")
            || lines[2].starts_with("Date: Wed, 15 Nov 2023 "),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "From: alice@mx.example.com");
    assert_eq!(
        lines.len(),
        4,
        "no To: with an empty undisclosed_recipients_header"
    );
}

#[test]
fn remote_mail_gets_nothing_unless_always_add() {
    let (out, _, _) = run(&config(), facts(None), "", &["Subject: hi", ""]);
    assert_eq!(out, "Subject: hi\n");
    let mut cfg = config();
    cfg.always_add = true;
    let (out, _, _) = run(&cfg, facts(None), "", &["Subject: hi", ""]);
    assert!(out.contains("\nMessage-Id: <4QID@mx.example.com>\n"));
    assert!(out.contains("\nFrom: alice@mx.example.com\n"));
}

#[test]
fn null_sender_full_name_and_undisclosed() {
    let mut cfg = config();
    cfg.undisclosed = "To: undisclosed-recipients:;".into();
    let mut f = facts(Some(Context::Local));
    f.sender = String::new();
    f.fullname = Some("Ignored".into());
    let (out, _, _) = run(&cfg, f, "", &[""]);
    assert!(out.contains("From: MAILER-DAEMON\n"), "{out}");
    assert!(out.ends_with("To: undisclosed-recipients:;\n"), "{out}");
    // Debian's Postfix 3.7 (header_from_format = standard).
    for (name, want) in [
        ("Alice Smith", "From: Alice Smith <alice@mx.example.com>\n"),
        (
            "Smith, Alice",
            "From: \"Smith, Alice\" <alice@mx.example.com>\n",
        ),
        (
            "A. \"Q\" Smith",
            "From: \"A. \\\"Q\\\" Smith\" <alice@mx.example.com>\n",
        ),
        ("a(b)c", "From: \"a(b)c\" <alice@mx.example.com>\n"),
        ("Jöhn Dœ", "From: Jöhn Dœ <alice@mx.example.com>\n"),
    ] {
        let mut f = facts(Some(Context::Local));
        f.fullname = Some(name.into());
        let (out, _, _) = run(&cfg, f, "", &["Cc: bob@example.org", ""]);
        assert!(out.contains(want), "{name}: {out}");
        assert!(!out.contains("undisclosed"), "{out}");
    }
    cfg.from_obsolete = true;
    let mut f = facts(Some(Context::Local));
    f.fullname = Some("Alice (A) Smith".into());
    let (out, _, _) = run(&cfg, f, "", &["Cc: bob@example.org", ""]);
    assert!(
        out.contains("From: alice@mx.example.com (Alice \\(A\\) Smith)\n"),
        "{out}"
    );
}

#[test]
fn present_headers_are_not_added_and_resent_is_followed() {
    let input = [
        "From: x@y.example",
        "Date: Mon, 1 Jan 2024 00:00:00 +0000",
        "Message-ID: <abc@y.example>",
        "",
    ];
    let (out, _, _) = run(&config(), facts(Some(Context::Local)), "", &input);
    assert_eq!(
        out,
        "From: x@y.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <abc@y.example>\n"
    );
    let input = [
        "From: x@y.example",
        "Message-ID: <abc@y.example>",
        "Date: d",
        "Resent-From: r@y.example",
        "",
    ];
    let (out, _, _) = run(&config(), facts(Some(Context::Local)), "", &input);
    assert!(
        out.contains("Resent-Message-Id: <4QID@mx.example.com>\n"),
        "{out}"
    );
    assert!(out.contains("Resent-Date: "), "{out}");
    assert!(!out.contains("\nResent-From: alice"), "{out}");
}

#[test]
fn drop_headers_and_count_hops() {
    let input = [
        "Received: from a",
        "Received: from b",
        "\tby c",
        "Bcc: secret@example.org",
        "Return-Path: <x@y>",
        "Content-Length: 12",
        "Subject: s",
        "",
    ];
    let (out, hops, _) = run(&config(), facts(None), "", &input);
    assert_eq!(hops, 2);
    assert_eq!(
        out,
        "Received: from a\nReceived: from b\n\tby c\nSubject: s\n"
    );
}

#[test]
fn body_line_ends_the_section() {
    let (out, _, ended) = run(&config(), facts(None), "", &["Subject: s", "this is body"]);
    assert!(ended);
    assert_eq!(out, "Subject: s\n");
}

#[test]
fn long_headers_are_truncated() {
    let mut cfg = config();
    cfg.size_limit = 20;
    let (out, _, _) = run(
        &cfg,
        facts(None),
        "",
        &["Subject: 0123456789abcdefghij", " more", "X: y", ""],
    );
    assert_eq!(out, "Subject: 0123456789a\nX: y\n");
}

#[test]
fn addresses_are_rewritten_in_local_context() {
    let input = [
        "From: Alice <alice>",
        "To: bob, \"Carol C\" <carol@host.sub>, list:;",
        "Subject: alice",
        "",
    ];
    let (out, _, _) = run(
        &config(),
        facts(Some(Context::Local)),
        "bob@mx.example.com=robert@example.org",
        &input,
    );
    assert!(out.starts_with("From: Alice <alice@mx.example.com>\nTo: robert@example.org, \"Carol C\" <carol@host.sub>, list:;\nSubject: alice\n"), "{out}");
    // No context: untouched.
    let (out, _, _) = run(
        &config(),
        facts(None),
        "bob@mx.example.com=robert@example.org",
        &input,
    );
    assert!(out.starts_with("From: Alice <alice>\nTo: bob,"), "{out}");
}

#[test]
fn canonical_classes_are_honoured() {
    let mut cfg = config();
    cfg.rcpt_canon = (false, false);
    let (out, _, _) = run(
        &cfg,
        facts(Some(Context::Local)),
        "bob@mx.example.com=robert@example.org",
        &["To: bob", ""],
    );
    assert!(out.starts_with("To: bob@mx.example.com\n"), "{out}");
}
