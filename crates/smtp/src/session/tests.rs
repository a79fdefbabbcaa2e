//! In-process session tests: a scripted server on the other end of a
//! socket pair.
use super::*;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::thread;

fn params(extra: &str) -> Params {
    let cfg = global::Config::from_text(
        Path::new("/nonexistent"),
        &format!("myhostname = client.example\n{extra}"),
    )
    .unwrap();
    Params::from_config(&cfg, Proto::Smtp)
}

/// Serve `script` on one end: lines starting with `S:` are sent, `C:`
/// lines are expected (prefix match) from the client, `P:` pauses. Returns what the
/// client sent.
fn server(script: &'static [&'static str]) -> (UnixStream, thread::JoinHandle<Vec<String>>) {
    let (a, b) = UnixStream::pair().unwrap();
    let h = thread::spawn(move || {
        let mut got = Vec::new();
        let mut w = b.try_clone().unwrap();
        let mut r = BufReader::new(b);
        for step in script {
            if step.starts_with("P:") {
                thread::sleep(std::time::Duration::from_millis(2500));
            } else if let Some(text) = step.strip_prefix("S:") {
                w.write_all(text.as_bytes()).unwrap();
            } else if let Some(want) = step.strip_prefix("C:") {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                assert!(line.starts_with(want), "expected {want:?}, got {line:?}");
                got.push(line.trim_end().to_string());
            }
        }
        got
    });
    (a, h)
}

fn session(io: UnixStream) -> Session {
    Session::new(
        Box::new(io),
        Proto::Smtp,
        "mx.example",
        "192.0.2.1",
        Some(25),
    )
}

#[test]
fn ehlo_features_and_auth_forms() {
    let (io, h) = server(&[
        "S:220 mx.example ESMTP\r\n",
        "C:EHLO client.example",
        "S:250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH=PLAIN LOGIN\r\n250-auth cram-md5\r\n250-8BITMIME\r\n250 DSN\r\n",
    ]);
    let mut s = session(io);
    s.handshake(&params("")).unwrap();
    assert!(s.features.pipelining && s.features.eightbitmime && s.features.dsn);
    assert_eq!(s.features.size, Some(10_240_000));
    assert_eq!(s.features.auth, ["PLAIN", "LOGIN", "CRAM-MD5"]);
    assert_eq!(h.join().unwrap(), ["EHLO client.example"]);
}

#[test]
fn no_esmtp_word_still_ehlo_by_default_and_helo_fallback() {
    let (io, h) = server(&[
        "S:220 old.example mail service\r\n",
        "C:EHLO client.example",
        "S:502 5.5.2 what\r\n",
        "C:HELO client.example",
        "S:250 old.example\r\n",
    ]);
    let mut s = session(io);
    s.handshake(&params("")).unwrap();
    assert!(!s.features.esmtp);
    h.join().unwrap();
    let (io, h) = server(&[
        "S:220 old.example mail service\r\n",
        "C:HELO client.example",
        "S:250 ok\r\n",
    ]);
    let mut s = session(io);
    s.handshake(&params("smtp_always_send_ehlo = no")).unwrap();
    h.join().unwrap();
}

#[test]
fn greeting_failures() {
    let (io, _h) = server(&["S:554 5.7.1 go away\r\n"]);
    let e = session(io).handshake(&params("")).unwrap_err();
    assert_eq!(e.status.to_string(), "4.7.1");
    assert_eq!(
        e.reason,
        "host mx.example[192.0.2.1] refused to talk to me: 554 5.7.1 go away"
    );
    let (io, _h) = server(&["S:554 5.7.1 go away\r\n"]);
    let e = session(io)
        .handshake(&params("smtp_skip_5xx_greeting = no"))
        .unwrap_err();
    assert_eq!(e.status.to_string(), "5.7.1");
    let (io, h) = server(&[]);
    h.join().unwrap();
    let e = session(io).handshake(&params("")).unwrap_err();
    assert_eq!(
        e.reason,
        "lost connection with mx.example[192.0.2.1] while receiving the initial server greeting"
    );
}

#[test]
fn timeout_text() {
    let (io, h) = server(&["S:220 x ESMTP\r\n", "C:EHLO", "P:"]);
    let mut s = session(io);
    let e = s.handshake(&params("smtp_helo_timeout = 1s")).unwrap_err();
    assert_eq!(
        e.reason,
        "conversation with mx.example[192.0.2.1] timed out while performing the EHLO handshake"
    );
    assert_eq!(e.status.to_string(), "4.4.2");
    drop(s);
    h.join().unwrap();
}

#[test]
fn upgrade_forgets_features_and_buffered_input() {
    let (io, _h) = server(&["S:220 x ESMTP\r\n", "C:EHLO", "S:250-x\r\n250 STARTTLS\r\n"]);
    let mut s = session(io);
    s.handshake(&params("")).unwrap();
    assert!(s.features.starttls);
    s.rbuf.extend_from_slice(b"250 injected\r\n");
    s.upgrade(Ok).unwrap();
    assert!(s.rbuf.is_empty());
    assert_eq!(s.features, Features::default());
}
