//! Unit tests of the parent module, kept apart to keep the module short.
use super::*;
use std::io::Cursor;

fn parse(input: &[u8]) -> Result<Option<Attrs>> {
    AttrReader::new(Cursor::new(input.to_vec())).read()
}

fn parse_limited(input: &[u8], limits: Limits) -> Result<Option<Attrs>> {
    AttrReader::with_limits(Cursor::new(input.to_vec()), limits).read()
}

#[test]
fn round_trip_all_types() {
    let blob: Vec<u8> = (0..=255).collect();
    let a = Attrs::new()
        .put_str("sender", "user@example.com")
        .put_int("flags", -42)
        .put_int("size", 1 << 40)
        .put_data("session", &blob)
        .put_str("empty", "")
        .put_bytes("raw", b"caf\xe9");
    let wire = a.encode().unwrap();
    assert!(wire.ends_with(b"\n\n"));
    let b = parse(&wire).unwrap().unwrap();
    assert_eq!(a, b);
    assert_eq!(b.str("sender").unwrap(), "user@example.com");
    assert_eq!(b.int("flags").unwrap(), -42);
    assert_eq!(b.long("size").unwrap(), 1 << 40);
    assert_eq!(b.data("session").unwrap(), blob);
    assert_eq!(b.str("empty").unwrap(), "");
    assert_eq!(b.bytes("raw").unwrap(), b"caf\xe9");
}

#[test]
fn wire_form_is_plain_lines() {
    let a = Attrs::new()
        .put_str("request", "resolve")
        .put_int("flags", 3)
        .put_data("d", b"hi");
    assert_eq!(a.encode().unwrap(), b"request=resolve\nflags=3\nd=aGk=\n\n");
}

#[test]
fn several_lists_on_one_stream_and_clean_eof() {
    let mut wire = Attrs::new().put_int("n", 1).encode().unwrap();
    wire.extend(Attrs::new().put_int("n", 2).encode().unwrap());
    wire.extend(Attrs::new().encode().unwrap());
    let mut r = AttrReader::new(Cursor::new(wire));
    assert_eq!(r.read().unwrap().unwrap().int("n").unwrap(), 1);
    assert_eq!(r.read().unwrap().unwrap().int("n").unwrap(), 2);
    assert!(r.read().unwrap().unwrap().is_empty());
    assert!(r.read().unwrap().is_none());
}

#[test]
fn missing_and_mistyped_attributes_are_named() {
    let a = parse(b"n=12x\nbig=99999999999\nd=!!\ns=\xff\n\n")
        .unwrap()
        .unwrap();
    assert!(matches!(a.int("nope"), Err(AttrError::Missing(n)) if n == "nope"));
    let e = a.int("n").unwrap_err().to_string();
    assert!(e.contains("bad int value for attribute n: 12x"), "{e}");
    assert!(matches!(a.int("big"), Err(AttrError::BadValue { .. })));
    assert_eq!(a.long("big").unwrap(), 99_999_999_999);
    assert!(matches!(
        a.data("d"),
        Err(AttrError::BadValue { want: "data", .. })
    ));
    assert!(matches!(
        a.str("s"),
        Err(AttrError::BadValue { want: "string", .. })
    ));
    assert_eq!(a.opt_int("nope").unwrap(), None);
    assert!(a.opt_int("n").is_err());
    assert!(matches!(
        parse(b"n=+1\n\n").unwrap().unwrap().int("n"),
        Err(AttrError::BadValue { .. })
    ));
}

#[test]
fn unknown_and_repeated_attributes_are_kept() {
    let a = parse(b"rcpt=a@x\nfuture_thing=1\nrcpt=b@x\n\n")
        .unwrap()
        .unwrap();
    let all: Vec<&[u8]> = a.all("rcpt").collect();
    assert_eq!(all, vec![&b"a@x"[..], &b"b@x"[..]]);
    assert_eq!(a.str("rcpt").unwrap(), "a@x");
    assert_eq!(a.len(), 3);
}

#[test]
fn value_may_contain_equals_sign() {
    let a = parse(b"k=a=b\n\n").unwrap().unwrap();
    assert_eq!(a.str("k").unwrap(), "a=b");
}

#[test]
fn malformed_input_is_rejected() {
    for bad in [
        &b"noequals\n\n"[..],
        b"=v\n\n",
        b"bad name=v\n\n",
        b"n\xc3\xa9=v\n\n",
        b"k=a\0b\n\n",
    ] {
        assert!(
            matches!(parse(bad), Err(AttrError::Malformed(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let long = format!("{}=v\n\n", "n".repeat(MAX_NAME_LEN + 1));
    assert!(matches!(
        parse(long.as_bytes()),
        Err(AttrError::Malformed(_))
    ));
}

#[test]
fn truncation_is_detected_at_every_offset() {
    let wire = Attrs::new()
        .put_str("a", "one")
        .put_data("b", b"two")
        .encode()
        .unwrap();
    assert!(parse(&wire).unwrap().is_some());
    assert!(parse(&wire[..0]).unwrap().is_none());
    for cut in 1..wire.len() {
        assert!(
            matches!(parse(&wire[..cut]), Err(AttrError::Truncated)),
            "cut at {cut}"
        );
    }
}

#[test]
fn limits_are_enforced() {
    let lim = Limits {
        max_line: 16,
        max_attrs: 3,
        max_total: 40,
    };
    assert!(parse_limited(b"k=0123456789abc\n\n", lim)
        .unwrap()
        .is_some());
    assert!(matches!(
        parse_limited(b"k=0123456789abcd\n\n", lim),
        Err(AttrError::LineTooLong(16))
    ));
    // A line that never ends stops at the limit, not at end-of-input.
    let endless = vec![b'x'; 1 << 20];
    assert!(matches!(
        parse_limited(&endless, lim),
        Err(AttrError::LineTooLong(16))
    ));
    assert!(matches!(
        parse_limited(b"a=1\nb=2\nc=3\nd=4\n\n", lim),
        Err(AttrError::TooManyAttrs(3))
    ));
    assert!(matches!(
        parse_limited(b"a=01234567890\nb=01234567890\nc=01234567890\n\n", lim),
        Err(AttrError::TooLarge(40))
    ));
}

#[test]
fn unsendable_values_are_refused_before_writing() {
    let mut out = Vec::new();
    let mut w = AttrWriter::new(&mut out);
    assert!(matches!(
        w.write(&Attrs::new().put_str("ok", "x").put_str("s", "a\nb")),
        Err(AttrError::Unsendable(_))
    ));
    assert!(matches!(
        w.write(&Attrs::new().put_str("bad name", "x")),
        Err(AttrError::Unsendable(_))
    ));
    assert!(out.is_empty());
}

#[test]
fn request_over_a_socket_pair() {
    use std::os::unix::net::UnixStream;
    let (mut client, server) = UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || {
        let mut r = AttrReader::new(&server);
        let req = r.read().unwrap().unwrap();
        let n = req.int("n").unwrap();
        AttrWriter::new(&server)
            .write(
                &Attrs::new()
                    .put_int("status", 0)
                    .put_int("double", 2 * i64::from(n)),
            )
            .unwrap();
        assert!(r.read().unwrap().is_none());
    });
    let reply = request(&mut client, &Attrs::new().put_int("n", 21)).unwrap();
    assert_eq!(reply.int("status").unwrap(), 0);
    assert_eq!(reply.long("double").unwrap(), 42);
    drop(client);
    t.join().unwrap();
}

#[test]
fn request_to_a_closed_peer_is_truncated() {
    use std::os::unix::net::UnixStream;
    let (mut client, server) = UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || {
        let _ = AttrReader::new(&server).read();
    });
    let r = request(&mut client, &Attrs::new().put_int("n", 1));
    t.join().unwrap();
    assert!(matches!(r, Err(AttrError::Truncated)), "{r:?}");
}
