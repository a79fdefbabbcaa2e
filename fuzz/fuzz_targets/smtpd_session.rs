//! NAME
//!   smtpd_session - fuzz the SMTP server's command parser and session
//!
//! DESCRIPTION
//!   The input is everything a client sends. A whole smtpd session runs
//!   over an in-memory connection (input in, replies out) against a fake
//!   cleanup, with restrictions and access tables switched on. The
//!   session must end without a panic, and every byte smtpd sends must be
//!   reply lines `DDD text\r\n` / `DDD-text\r\n`. The same input is also
//!   given to the MAIL/RCPT argument parser. Run with
//!   `cargo +nightly fuzz run smtpd_session` from this directory, or
//!   `scripts/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpd::cleanup::{Cleanup, CleanupError, CleanupSession, Envelope, Verdict};
use std::io::{Cursor, Read, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct Mem {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
    /// A descriptor for `Conn::fd` (smtpd polls it for pending input;
    /// /dev/null always reads as ready, like an input that is all there).
    null: std::fs::File,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl smtpd::Conn for Mem {
    fn set_timeout(&mut self, _: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.null)
    }
}

struct Sink;
struct SinkSession(usize);

impl Cleanup for Sink {
    fn open(&mut self) -> Result<Box<dyn CleanupSession>, CleanupError> {
        Ok(Box::new(SinkSession(0)))
    }
}

impl CleanupSession for SinkSession {
    fn queue_id(&self) -> &str {
        "4FUZZ"
    }
    fn envelope(&mut self, env: &Envelope) -> Result<(), CleanupError> {
        assert!(!env.recipients.is_empty());
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> Result<(), CleanupError> {
        self.0 += data.len();
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<Verdict, CleanupError> {
        Ok(Verdict { status: if self.0 % 7 == 3 { 4 } else { 0 }, reason: String::new() })
    }
}

const CF: &str = "compatibility_level = 3.6\nmyhostname = mx.example.org\nmydestination = mx.example.org\n\
mynetworks = 127.0.0.0/8\nrelay_domains = relay.example\nsmtpd_error_sleep_time = 0\n\
smtpd_hard_error_limit = 1000\nsmtpd_junk_command_limit = 1000\nmessage_size_limit = 4000\n\
smtpd_recipient_limit = 20\nlocal_recipient_maps = inline:{ a=1, b=1 }\n\
smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_sender, permit\n\
smtpd_recipient_restrictions = warn_if_reject reject_invalid_helo_hostname, \
check_sender_access inline:{ { x.example = PREPEND X-A: b }, y.example=HOLD, z.example=strict }, \
check_recipient_access inline:{ { r.example = 450 4.1.1 later }, d.example=DISCARD }, reject_non_fqdn_recipient\n\
smtpd_data_restrictions = reject_unauth_pipelining\nsmtpd_forbid_bare_newline = normalize\n";

fn server() -> &'static Mutex<smtpd::Server> {
    static S: OnceLock<Mutex<smtpd::Server>> = OnceLock::new();
    S.get_or_init(|| {
        util::msg::log_to_stderr(false);
        let cfg = global::Config::from_text(std::path::Path::new("/nonexistent"), CF).expect("config");
        let settings = smtpd::settings::Settings::from_config(&cfg).expect("settings");
        let checks = smtpd::check::Checks::new(&cfg, Box::new(smtpd::peer::NoDns));
        Mutex::new(smtpd::Server::new(settings, checks, Box::new(Sink), smtpd::received::Clock::utc()))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = smtpd::token::parse_path(text, "FROM:", false);
        let _ = smtpd::token::parse_path(text, "TO:", true);
        let _ = smtpd::token::xtext_decode(text);
    }
    let mut srv = server().lock().unwrap_or_else(|p| p.into_inner());
    let mut conn = Mem {
        input: Cursor::new(data.to_vec()),
        output: Vec::new(),
        null: std::fs::File::open("/dev/null").expect("open /dev/null"),
    };
    let peer = smtpd::peer::Peer::unknown("192.0.2.1".parse().unwrap(), 25);
    smtpd::serve(&mut srv, &mut conn, peer);
    assert!(conn.output.ends_with(b"\r\n"));
    for line in conn.output.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.len() >= 5 && line.ends_with(b"\r"), "{:?}", String::from_utf8_lossy(line));
        assert!(line[..3].iter().all(u8::is_ascii_digit) && (line[3] == b' ' || line[3] == b'-'));
    }
});
