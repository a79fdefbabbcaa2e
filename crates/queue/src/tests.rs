//! NAME
//!   tests - queue files end to end: write, read, damage, update
use crate::envelope::attr_name;
use crate::*;
use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, UNIX_EPOCH};

fn setup() -> (tempfile::TempDir, QueueDir) {
    let t = tempfile::tempdir().unwrap();
    let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
    q.create_missing().unwrap();
    (t, q)
}

fn sample_envelope() -> Envelope {
    Envelope {
        arrival: UNIX_EPOCH + Duration::from_micros(1_700_000_000_250_000),
        warn_time: 0,
        sender: "alice@example.com".into(),
        attrs: vec![
            (attr_name::CLIENT_NAME.into(), "mail.example.com".into()),
            (attr_name::CLIENT_ADDRESS.into(), "192.0.2.1".into()),
            (attr_name::PROTOCOL_NAME.into(), "ESMTP".into()),
            (attr_name::HELO_NAME.into(), "mail.example.com".into()),
            ("with_equals".into(), "a=b".into()),
        ],
        dsn_envid: Some("QQ314159".into()),
        dsn_ret: Some(DsnRet::Hdrs),
        recipients: vec![
            Recipient {
                address: "bob@example.org".into(),
                orig: Some("Bob@Example.ORG".into()),
                orcpt: Some("rfc822;Bob@Example.ORG".into()),
                notify: DsnNotify(DsnNotify::SUCCESS | DsnNotify::FAILURE),
                done: false,
            },
            Recipient::new("carol@example.net"),
            Recipient {
                done: true,
                ..Recipient::new("already@example.net")
            },
        ],
        message_size: 0,
    }
}

fn long_line() -> Vec<u8> {
    (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect()
}

fn sample_content() -> Vec<u8> {
    let mut c = b"From: alice@example.com\nSubject: test\n\nline one\n\n".to_vec();
    c.extend(long_line());
    c.extend(b"\n.\nlast\n");
    c
}

/// Write a complete file with the sample envelope and `content`, given
/// in uneven pieces, plus one extracted recipient.
fn write_sample(q: &QueueDir, content: &[u8]) -> QueueId {
    let mut w = QueueWriter::create(q, INCOMING).unwrap();
    w.write_envelope(&sample_envelope()).unwrap();
    for piece in content.chunks(777) {
        w.write_content(piece).unwrap();
    }
    w.add_recipient(&Recipient::new("dave@example.com"))
        .unwrap();
    w.add_attr("extracted", "yes").unwrap();
    w.commit().unwrap()
}

#[test]
fn round_trip() {
    let (_t, q) = setup();
    let content = sample_content();
    let id = write_sample(&q, &content);
    let path = q.path(INCOMING, &id).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    let env = qf.envelope();
    let mut want = sample_envelope();
    want.recipients.push(Recipient::new("dave@example.com"));
    want.attrs.push(("extracted".into(), "yes".into()));
    want.message_size = content.len() as u64;
    assert_eq!(env, &want);
    assert_eq!(env.attr("protocol_name"), Some("ESMTP"));
    assert_eq!(qf.read_content().unwrap(), content);
    qf.verify().unwrap();
    let pending: Vec<usize> = env.pending().map(|(i, _)| i).collect();
    assert_eq!(pending, vec![0, 1, 3]);
}

#[test]
fn partial_last_line_gets_a_newline_and_empty_content_works() {
    let (_t, q) = setup();
    let mut w = QueueWriter::create(&q, INCOMING).unwrap();
    w.set_sender("").unwrap();
    w.add_recipient(&Recipient::new("x@y")).unwrap();
    w.write_content(b"Subject: x\n\nno newline").unwrap();
    let id = w.commit().unwrap();
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    assert_eq!(qf.read_content().unwrap(), b"Subject: x\n\nno newline\n");
    assert_eq!(qf.message_size(), 23);
    assert_eq!(qf.envelope().sender, "");
    assert_eq!(qf.envelope().arrival, id.time());

    let mut w = QueueWriter::create(&q, INCOMING).unwrap();
    w.set_sender("a@b").unwrap();
    let id = w.commit().unwrap();
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    assert!(qf.read_content().unwrap().is_empty());
    assert!(qf.envelope().recipients.is_empty());
}

#[test]
fn misuse_is_refused() {
    let (_t, q) = setup();
    let mut w = QueueWriter::create(&q, INCOMING).unwrap();
    assert!(
        matches!(w.write_content(b"x\n"), Err(QueueError::Usage(_))),
        "content before sender"
    );
    w.set_sender("a@b").unwrap();
    assert!(w.set_sender("c@d").is_err());
    w.write_content(b"x\n").unwrap();
    assert!(w.set_sender("c@d").is_err());
    assert!(w.set_dsn(Some("x"), None).is_err());
    w.add_recipient(&Recipient::new("late@x")).unwrap();
    assert!(w.write_content(b"more\n").is_err());
    assert!(w.add_attr("a=b", "c").is_err());
    let path = w.path().to_path_buf();
    drop(w);
    assert!(!path.exists(), "an abandoned writer removes its file");
}

#[test]
fn uncommitted_file_is_incomplete() {
    let (_t, q) = setup();
    let mut w = QueueWriter::create(&q, INCOMING).unwrap();
    w.set_sender("a@b").unwrap();
    w.write_content(b"hello\n").unwrap();
    let id = w.id().clone();
    // What a reader sees while the writer is still busy.
    assert!(matches!(
        QueueFile::open(&q, INCOMING, &id),
        Err(QueueError::Incomplete { .. })
    ));
    assert!(q.scan(INCOMING).unwrap().any(|r| r.unwrap() == id));
    w.abort();
    assert!(QueueFile::open(&q, INCOMING, &id)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn truncation_at_every_offset_is_corrupt() {
    let (_t, q) = setup();
    let mut content = b"Subject: t\n\n".to_vec();
    content.extend(vec![b'x'; 5000]);
    content.extend(b"\nend\n");
    let id = write_sample(&q, &content);
    let path = q.path(INCOMING, &id).unwrap();
    let full = fs::read(&path).unwrap();
    for cut in 0..full.len() {
        fs::write(&path, &full[..cut]).unwrap();
        match QueueFile::open(&q, INCOMING, &id) {
            Err(QueueError::Corrupt { .. }) => {}
            other => panic!("cut at {cut} of {}: {other:?}", full.len()),
        }
    }
    fs::write(&path, &full).unwrap();
    QueueFile::open(&q, INCOMING, &id)
        .unwrap()
        .verify()
        .unwrap();
    let mut longer = full.clone();
    longer.push(b'E');
    fs::write(&path, &longer).unwrap();
    assert!(QueueFile::open(&q, INCOMING, &id).unwrap_err().is_corrupt());
}

/// Offsets of every record's type and length bytes in `file`.
fn header_offsets(file: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut c = std::io::Cursor::new(file);
    while let Some(rec) = record::read_record(&mut c, (file.len() - pos) as u64).unwrap() {
        let head = rec.size as usize - rec.data.len();
        out.extend(pos..pos + head);
        pos += rec.size as usize;
    }
    out
}

/// Parse a whole file image in memory: envelope and content.
fn check_image(img: &[u8]) -> std::result::Result<(Envelope, Vec<u8>), String> {
    let mut c = std::io::Cursor::new(img);
    let (env, lay) = parse::parse_envelope(&mut c, img.len() as u64)?;
    let mut content = Vec::new();
    parse::ContentReader::new(c, &lay.size)
        .and_then(|mut r| r.read_to_end(&mut content))
        .map_err(|e| e.to_string())?;
    Ok((env, content))
}

#[test]
fn garbled_bytes_never_panic_and_structure_damage_is_found() {
    let (_t, q) = setup();
    let id = write_sample(&q, b"Subject: s\n\nbody\n");
    let path = q.path(INCOMING, &id).unwrap();
    let full = fs::read(&path).unwrap();
    let original = check_image(&full).unwrap();
    let headers = header_offsets(&full);
    assert!(headers.len() > 20);
    for i in 0..full.len() {
        for flip in [0x01u8, 0x02, 0x80, 0xff] {
            let mut g = full.clone();
            g[i] ^= flip;
            let r = check_image(&g);
            if headers.contains(&i) {
                assert!(
                    r.is_err(),
                    "flip {flip:#x} at header byte {i} went unnoticed"
                );
            } else if let Ok(decoded) = r {
                // Damage to a payload may go unnoticed (there is no
                // checksum), but then it shows in what is decoded.
                assert_ne!(decoded, original, "flip {flip:#x} at {i}");
            }
        }
    }
}

#[test]
fn garbled_content_fails_when_read() {
    let (_t, q) = setup();
    let id = write_sample(&q, &sample_content());
    let path = q.path(INCOMING, &id).unwrap();
    let mut g = fs::read(&path).unwrap();
    let off = QueueFile::open(&q, INCOMING, &id)
        .unwrap()
        .layout()
        .size
        .content_offset as usize;
    g[off] = b'Q';
    fs::write(&path, &g).unwrap();
    // The envelope is intact, so the file opens; its content does not read.
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    assert!(qf.verify().unwrap_err().is_corrupt());
    assert!(qf.read_content().unwrap_err().is_corrupt());
}

#[test]
fn done_marks_and_warn_time_survive_reopen() {
    let (_t, q) = setup();
    let id = write_sample(&q, b"x\n");
    let mut qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    qf.move_to(ACTIVE).unwrap();
    qf.mark_done(1).unwrap();
    qf.mark_done(1).unwrap();
    qf.mark_done(2).unwrap();
    qf.set_warn_time(1_700_003_600).unwrap();
    assert!(qf.mark_done(9).is_err());
    drop(qf);
    let qf = QueueFile::open(&q, ACTIVE, &id).unwrap();
    let done: Vec<bool> = qf.envelope().recipients.iter().map(|r| r.done).collect();
    assert_eq!(done, vec![false, true, true, false]);
    assert_eq!(qf.envelope().warn_time, 1_700_003_600);
    assert_eq!(qf.read_content().unwrap(), b"x\n");
    let mut ro = QueueFile::open_readonly(&q, ACTIVE, &id).unwrap();
    assert!(ro.mark_done(0).is_err());
}

#[test]
fn forced_expiration_mark() {
    let (_t, q) = setup();
    let id = write_sample(&q, b"x\n");
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    assert!(!qf.forced_expire());
    assert!(q.mark_expired(INCOMING, &id).unwrap());
    // The open file sees the mark; marking again changes nothing.
    assert!(qf.forced_expire());
    assert!(!q.mark_expired(INCOMING, &id).unwrap());
    let mode = fs::metadata(q.path(INCOMING, &id).unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o710);
    // A marked file is still complete, and the mark moves with it.
    let mut qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    qf.move_to(DEFERRED).unwrap();
    assert!(QueueFile::open(&q, DEFERRED, &id).unwrap().forced_expire());
    assert!(q.mark_expired(INCOMING, &id).unwrap_err().is_not_found());
    // A file still being written is not marked.
    let w = QueueWriter::create(&q, INCOMING).unwrap();
    let r = q.mark_expired(INCOMING, w.id());
    assert!(matches!(r, Err(QueueError::Incomplete { .. })), "{r:?}");
}

#[test]
fn move_find_and_remove() {
    let (_t, q) = setup();
    let id = write_sample(&q, b"x\n");
    assert_eq!(q.find(&id).unwrap().0, INCOMING);
    let mut qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    qf.move_to(DEFERRED).unwrap();
    let (queue, path) = q.find(&id).unwrap();
    assert_eq!(queue, DEFERRED);
    assert_eq!(path, q.path(DEFERRED, &id).unwrap());
    assert_eq!(qf.path(), path);
    assert!(path
        .parent()
        .unwrap()
        .ends_with(format!("deferred/{}", &id.hash_key()[..1])));
    // The open file still reads after the move.
    assert_eq!(qf.read_content().unwrap(), b"x\n");
    qf.remove().unwrap();
    assert!(q.find(&id).is_none());
}

#[test]
fn ids_are_unique_and_sorted_in_a_tight_loop() {
    let (_t, q) = setup();
    let mut ids = Vec::new();
    for _ in 0..300 {
        let mut w = QueueWriter::create(&q, INCOMING).unwrap();
        w.set_sender("a@b").unwrap();
        let id = w.commit().unwrap();
        // Remove at once so inodes are reused: IDs must still not repeat.
        q.remove(INCOMING, &id).unwrap();
        ids.push(id);
    }
    let set: HashSet<&str> = ids.iter().map(QueueId::as_str).collect();
    assert_eq!(set.len(), ids.len());
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "IDs follow creation order"
    );
    assert!(ids.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
}

#[test]
fn files_land_in_hashed_directories() {
    let t = tempfile::tempdir().unwrap();
    let q = QueueDir::new(t.path(), &["incoming"], 2);
    q.create_missing().unwrap();
    let mut w = QueueWriter::create(&q, INCOMING).unwrap();
    w.set_sender("a@b").unwrap();
    let id = w.commit().unwrap();
    let key = id.hash_key();
    let want = t
        .path()
        .join("incoming")
        .join(&key[..1])
        .join(&key[1..2])
        .join(id.as_str());
    assert!(want.is_file(), "{}", want.display());
    assert_eq!(
        q.scan(INCOMING)
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
        vec![id.clone()]
    );
    QueueFile::open(&q, INCOMING, &id).unwrap();
}

#[test]
fn content_reader_streams() {
    let (_t, q) = setup();
    let content = sample_content();
    let id = write_sample(&q, &content);
    let qf = QueueFile::open(&q, INCOMING, &id).unwrap();
    let mut r = qf.content().unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 13];
    loop {
        let n = r.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, content);
}

#[test]
fn a_file_built_from_the_format_document_parses() {
    // fuzz/seeds/queue_file/seed1 was made by a script that follows
    // doc/QUEUE_FORMAT.md only.
    let img = include_bytes!("../../../fuzz/seeds/queue_file/seed1");
    let (env, content) = check_image(img).unwrap();
    assert_eq!(env.sender, "a@b");
    assert_eq!(env.dsn_ret, Some(DsnRet::Hdrs));
    let r: Vec<(&str, bool)> = env
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.done))
        .collect();
    assert_eq!(r, vec![("b@x", false), ("c@x", true), ("d@x", false)]);
    assert_eq!(env.recipients[0].notify, DsnNotify(6));
    assert_eq!(content, b"Subject: x\n\nabcdef\n");
}
