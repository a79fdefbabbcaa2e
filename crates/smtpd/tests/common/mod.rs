//! The in-process session harness: an smtpd session on one end of a
//! UNIX socket pair, a tiny DSL on the other, a fake cleanup that keeps
//! messages in memory, and the log lines of one client.
#![allow(dead_code)] // reason: each test file uses part of the harness

use smtpd::check::Checks;
use smtpd::cleanup::{Cleanup, CleanupError, CleanupSession, Envelope, Verdict};
use smtpd::peer::{Dns, DnsAnswer, Peer};
use smtpd::received::Clock;
use smtpd::settings::Settings;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::Duration;

/// A message cleanup received.
#[derive(Debug, Clone, Default)]
pub struct Msg {
    pub id: String,
    pub env: Option<Envelope>,
    pub content: Vec<u8>,
    pub finished: bool,
}

impl Msg {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}

#[derive(Clone, Default)]
pub struct FakeCleanup {
    pub msgs: Arc<Mutex<Vec<Msg>>>,
    pub status: Arc<Mutex<(i32, String)>>,
}

struct FakeSession {
    idx: usize,
    id: String,
    store: FakeCleanup,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);

impl Cleanup for FakeCleanup {
    fn open(&mut self) -> Result<Box<dyn CleanupSession>, CleanupError> {
        let id = format!("4F{:06X}", NEXT_ID.fetch_add(1, Ordering::SeqCst));
        let mut m = self.msgs.lock().unwrap();
        m.push(Msg {
            id: id.clone(),
            ..Msg::default()
        });
        Ok(Box::new(FakeSession {
            idx: m.len() - 1,
            id,
            store: self.clone(),
        }))
    }
}

impl CleanupSession for FakeSession {
    fn queue_id(&self) -> &str {
        &self.id
    }
    fn envelope(&mut self, env: &Envelope) -> Result<(), CleanupError> {
        self.store.msgs.lock().unwrap()[self.idx].env = Some(env.clone());
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> Result<(), CleanupError> {
        self.store.msgs.lock().unwrap()[self.idx]
            .content
            .extend_from_slice(data);
        Ok(())
    }
    fn finish(self: Box<Self>) -> Result<Verdict, CleanupError> {
        let (status, reason) = self.store.status.lock().unwrap().clone();
        if status == 0 {
            self.store.msgs.lock().unwrap()[self.idx].finished = true;
        }
        Ok(Verdict { status, reason })
    }
}

/// DNS from a table: `name=ip` forward, `ip=name` reverse, `mx:domain`.
pub struct TableDns(pub Vec<(String, String)>);

impl Dns for TableDns {
    fn reverse(&self, ip: IpAddr) -> DnsAnswer<Vec<String>> {
        let ip = ip.to_string();
        match self.0.iter().find(|(k, _)| *k == ip) {
            Some((_, v)) => DnsAnswer::Found(vec![v.clone()]),
            None => DnsAnswer::NotFound,
        }
    }
    fn addresses(&self, name: &str) -> DnsAnswer<Vec<IpAddr>> {
        let v: Vec<IpAddr> = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.parse().ok())
            .collect();
        if v.is_empty() {
            DnsAnswer::NotFound
        } else {
            DnsAnswer::Found(v)
        }
    }
    fn mail_domain_exists(&self, domain: &str) -> DnsAnswer<()> {
        if domain.starts_with("tempfail") {
            return DnsAnswer::TempFail("timeout".into());
        }
        let mx = format!("mx:{domain}");
        if self.0.iter().any(|(k, _)| *k == mx || k == domain) {
            DnsAnswer::Found(())
        } else {
            DnsAnswer::NotFound
        }
    }
}

static LOG: Once = Once::new();
static PEER: AtomicU32 = AtomicU32::new(1);

pub fn log_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("smtpd-session-test-{}.log", std::process::id()))
}

fn init_log() {
    LOG.call_once(|| {
        util::msg::init("postfix/smtpd", "mx.example.org");
        util::msg::log_to_stderr(false);
        util::msg::open_file(log_path().to_str().unwrap()).unwrap();
    });
}

pub const BASE_CF: &str = "\
compatibility_level = 3.6
myhostname = mx.example.org
mydomain = example.org
mydestination = mx.example.org, localhost
mynetworks = 127.0.0.0/8
relay_domains = relay.example
local_recipient_maps =
smtpd_error_sleep_time = 0
smtpd_timeout = 30s
";

/// Assert that `log` (a session's lines) has the line `want`.
pub fn assert_logged(log: &[String], want: &str) {
    assert!(log.iter().any(|l| l == want), "no {want:?} in {log:#?}");
}

/// One client session under test.
pub struct Smtp {
    pub stream: BufReader<UnixStream>,
    pub cleanup: FakeCleanup,
    pub peer: String,
    pub thread: Option<JoinHandle<()>>,
    pub greeting: String,
}

/// A reply: all lines, joined by newlines.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
}

impl Reply {
    pub fn contains(&self, s: &str) -> &Self {
        assert!(self.text.contains(s), "reply {:?} lacks {:?}", self.text, s);
        self
    }
    pub fn lacks(&self, s: &str) -> &Self {
        assert!(!self.text.contains(s), "reply {:?} has {:?}", self.text, s);
        self
    }
    pub fn is(&self, s: &str) -> &Self {
        assert_eq!(self.text, s);
        self
    }
}

#[derive(Default)]
pub struct Opts {
    pub cf: String,
    pub dns: Vec<(String, String)>,
    pub peer_name: Option<String>,
    pub stand_alone: bool,
    pub peer_ip: Option<String>,
    /// Read the TLS parameters as a daemon started by root would.
    pub tls: bool,
    /// Read the SASL parameters (smtpd_sasl_*).
    pub sasl: bool,
}

impl Smtp {
    /// A session with main.cf = BASE_CF + `extra`, from a fresh
    /// 192.0.2.N address (unless in mynetworks tests use `peer_ip`).
    pub fn start(extra: &str) -> Smtp {
        Smtp::with(Opts {
            cf: extra.to_string(),
            ..Opts::default()
        })
    }

    pub fn with(o: Opts) -> Smtp {
        init_log();
        let dir = std::env::temp_dir();
        let cfg = global::Config::from_text(&dir, &format!("{BASE_CF}{}", o.cf)).unwrap();
        let settings = Settings::from_config(&cfg).unwrap();
        let checks = Checks::new(&cfg, Box::new(TableDns(o.dns.clone())));
        let cleanup = FakeCleanup::default();
        *cleanup.status.lock().unwrap() = (0, String::new());
        let mut server =
            smtpd::Server::new(settings, checks, Box::new(cleanup.clone()), Clock::utc());
        server.stand_alone = o.stand_alone;
        if o.sasl {
            server.sasl = smtpd::sasl::SaslPolicy::from_config(&cfg).unwrap();
        }
        if o.tls {
            server.tls = smtpd::starttls::TlsPolicy::from_config(&cfg, true).unwrap();
        }
        let n = PEER.fetch_add(1, Ordering::SeqCst);
        let ip: IpAddr = o
            .peer_ip
            .clone()
            .unwrap_or_else(|| format!("198.51.{}.{}", n / 250, n % 250 + 1))
            .parse()
            .unwrap();
        let mut peer = if o.stand_alone {
            Peer::local()
        } else {
            Peer::unknown(ip, 40000 + n as u16)
        };
        if let Some(name) = &o.peer_name {
            peer.name = name.clone();
            peer.reverse_name = name.clone();
            peer.set_namaddr(false);
        }
        let tag = peer.namaddr.clone();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let thread = std::thread::spawn(move || {
            smtpd::serve(&mut server, &mut b, peer);
        });
        let mut s = Smtp {
            stream: BufReader::new(a),
            cleanup,
            peer: tag,
            thread: Some(thread),
            greeting: String::new(),
        };
        s.greeting = s.reply().text;
        s
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.get_mut().write_all(raw).unwrap();
    }

    /// Read one (possibly multi-line) reply.
    pub fn reply(&mut self) -> Reply {
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            let n = self.stream.read_line(&mut l).expect("read reply");
            assert!(n > 0, "connection closed; got so far {lines:?}");
            assert!(l.ends_with("\r\n"), "reply line not CRLF: {l:?}");
            let l = l.trim_end().to_string();
            let last = l.as_bytes().get(3) != Some(&b'-');
            lines.push(l);
            if last {
                break;
            }
        }
        Reply {
            text: lines.join("\n"),
        }
    }

    /// Send `line` and expect a reply starting with `code`.
    pub fn cmd(&mut self, line: &str, code: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes());
        let r = self.reply();
        assert!(
            r.text.starts_with(code),
            "{line:?}: expected {code}, got {:?}",
            r.text
        );
        r
    }

    /// The server closes the connection (no more bytes).
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let _ = self.stream.read_to_end(&mut rest);
        assert!(
            rest.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Close our side and wait for the session to end.
    pub fn done(mut self) -> Vec<String> {
        let _ = self.stream.get_mut().shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            t.join().expect("session thread panicked");
        }
        self.log()
    }

    /// This client's log lines so far (the text after `smtpd[pid]: `).
    pub fn log(&self) -> Vec<String> {
        let text = std::fs::read_to_string(log_path()).unwrap_or_default();
        let tag = self.peer.clone();
        let ids: Vec<String> = self.messages().iter().map(|m| m.id.clone()).collect();
        text.lines()
            .filter_map(|l| l.split_once("]: ").map(|x| x.1.to_string()))
            .filter(|l| l.contains(&tag) || ids.iter().any(|i| l.starts_with(&format!("{i}:"))))
            .collect()
    }

    pub fn messages(&self) -> Vec<Msg> {
        self.cleanup.msgs.lock().unwrap().clone()
    }

    pub fn queued(&self) -> Vec<Msg> {
        self.messages().into_iter().filter(|m| m.finished).collect()
    }

    /// EHLO + MAIL + RCPT in one go.
    pub fn envelope(&mut self, from: &str, to: &str) {
        self.cmd("EHLO client.example", "250");
        self.cmd(&format!("MAIL FROM:<{from}>"), "250");
        self.cmd(&format!("RCPT TO:<{to}>"), "250");
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.stream.get_mut().shutdown(std::net::Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
