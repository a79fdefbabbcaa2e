//! NAME
//!   peer - a scripted SMTP server for the smtp(8) system tests
//!
//! DESCRIPTION
//!   [`Peer::start`] listens on a free loopback port and answers every
//!   connection as its [`Rules`] say: the greeting, the EHLO reply, the
//!   MAIL, RCPT (per address), DATA and final-dot replies, written as
//!   given (so a test can send malformed multi-line replies), or closes
//!   after EHLO, or never answers the final dot. It records every
//!   command, the number of connections, and each accepted message.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the scripted peer answers. Replies are written as given (CR LF
/// included, so a test can send broken multi-line replies).
#[derive(Clone)]
pub struct Rules {
    pub greeting: &'static str,
    pub ehlo: &'static str,
    pub mail: &'static str,
    pub rcpt: fn(&str) -> &'static str,
    pub data: &'static str,
    /// `None`: never answer the final dot.
    pub dot: Option<&'static str>,
    /// Close the connection right after answering EHLO.
    pub close_after_ehlo: bool,
}

pub fn accept_all(_: &str) -> &'static str {
    "250 2.1.5 Ok\r\n"
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            greeting: "220 peer.test ESMTP scripted\r\n",
            ehlo: "250-peer.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n",
            mail: "250 2.1.0 Ok\r\n",
            rcpt: accept_all,
            data: "354 End data with <CR><LF>.<CR><LF>\r\n",
            dot: Some("250 2.0.0 Ok: queued as PEER1\r\n"),
            close_after_ehlo: false,
        }
    }
}

/// One accepted message: MAIL command, accepted recipients, content.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub mail: String,
    pub rcpts: Vec<String>,
    pub data: String,
}

#[derive(Default)]
pub struct Seen {
    pub commands: Vec<String>,
    pub connections: usize,
    pub accepted: Vec<Accepted>,
}

/// A scripted SMTP server on a free loopback port.
pub struct Peer {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
}

impl Peer {
    pub fn start(rules: Rules) -> Peer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let s2 = seen.clone();
        std::thread::spawn(move || {
            for conn in l.incoming().flatten() {
                s2.lock().unwrap().connections += 1;
                let (rules, seen) = (rules.clone(), s2.clone());
                std::thread::spawn(move || serve(conn, &rules, &seen));
            }
        });
        Peer { port, seen }
    }

    pub fn commands(&self) -> Vec<String> {
        self.seen.lock().unwrap().commands.clone()
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.seen.lock().unwrap().accepted.clone()
    }
}

fn serve(conn: TcpStream, rules: &Rules, seen: &Mutex<Seen>) {
    let mut w = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    let _ = w.write_all(rules.greeting.as_bytes());
    let (mut mail, mut rcpts) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        seen.lock().unwrap().commands.push(cmd.clone());
        let verb = cmd
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" | "LHLO" => {
                let _ = w.write_all(rules.ehlo.as_bytes());
                if rules.close_after_ehlo {
                    return;
                }
                continue;
            }
            "HELO" => "250 peer.test\r\n".into(),
            "MAIL" => {
                mail = cmd.clone();
                rcpts.clear();
                rules.mail.into()
            }
            "RCPT" => {
                let addr = cmd
                    .split('<')
                    .nth(1)
                    .and_then(|a| a.split('>').next())
                    .unwrap_or("")
                    .to_string();
                let rep = (rules.rcpt)(&addr);
                if rep.starts_with('2') {
                    rcpts.push(addr);
                }
                rep.into()
            }
            "DATA" => {
                let _ = w.write_all(rules.data.as_bytes());
                if !rules.data.starts_with("354") {
                    continue;
                }
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if r.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(&l);
                }
                let Some(dot) = rules.dot else {
                    // Never answer: wait for the client to give up.
                    let _ = r.read_to_end(&mut Vec::new());
                    return;
                };
                if dot.starts_with('2') {
                    seen.lock().unwrap().accepted.push(Accepted {
                        mail: mail.clone(),
                        rcpts: rcpts.clone(),
                        data,
                    });
                }
                dot.into()
            }
            "RSET" => "250 2.0.0 Ok\r\n".into(),
            "QUIT" => {
                let _ = w.write_all(b"221 2.0.0 Bye\r\n");
                return;
            }
            _ => "502 5.5.2 Error: command not recognized\r\n".into(),
        };
        let _ = w.write_all(reply.as_bytes());
    }
}
