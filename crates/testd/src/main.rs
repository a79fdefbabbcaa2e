//! NAME
//!   testd - a test-fixture service for master's system tests
//!
//! SYNOPSIS
//!   master.cf: `127.0.0.1:10025 inet n - n - 2 testd [-o testd_mode=MODE]`
//!
//! DESCRIPTION
//!   testd is started by master like any service program. It runs in the
//!   single-client framework by default; `-o testd_mode=multi` uses the
//!   multi-client framework and `-o testd_mode=trigger` the trigger
//!   framework (a bare `multi` or `trigger` argument does the same).
//!
//!   As a client server it greets with `220 testd pid=<pid> uid=<uid>
//!   service=<name>` and answers lines (see [`session`]). It logs
//!   `connect from <peer>` and `disconnect from <peer>`. In trigger mode it
//!   logs `wakeup: <bytes>` for each wake-up.
//!
//!   testd is built with the workspace and used from the target directory
//!   as a test `daemon_directory`; scripts/install never installs it.
//!
//! SEE ALSO
//!   master(8), testd(8)
#![forbid(unsafe_code)]

mod session;

use skeleton::{ClientStream, Context, Event, Hooks, Session};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use util::msg_info;

fn mode() -> String {
    let args = skeleton::args::parse(std::env::args().skip(1)).unwrap_or_default();
    if let Some((_, v)) = args.overrides.iter().rev().find(|(n, _)| n == "testd_mode") {
        return v.clone();
    }
    args.extra
        .iter()
        .find(|a| *a == "multi" || *a == "trigger")
        .cloned()
        .unwrap_or_else(|| "single".into())
}

fn single(_: &mut (), client: &mut ClientStream, ctx: &Context) {
    let peer = client.peer_name();
    msg_info!("connect from {peer}");
    let _ = session::serve_client(client, &ctx.service);
    msg_info!("disconnect from {peer}");
}

/// Multi mode: per-client line buffers keyed by client id.
fn multi(
    bufs: &mut HashMap<u64, String>,
    client: &mut ClientStream,
    id: u64,
    ev: Event,
    ctx: &Context,
) -> Session {
    let peer = client.peer_name();
    if ev == Event::Connect {
        msg_info!("connect from {peer}");
        use std::io::Write;
        if client
            .write_all(session::banner(&ctx.service).as_bytes())
            .is_err()
        {
            return Session::Close;
        }
        bufs.insert(id, String::new());
        return Session::Continue;
    }
    let mut line = String::new();
    let n = BufReader::with_capacity(1, &mut *client)
        .read_line(&mut line)
        .unwrap_or(0);
    let keep = n > 0 && session::serve_line(client, &line).unwrap_or(false);
    if keep {
        Session::Continue
    } else {
        bufs.remove(&id);
        msg_info!("disconnect from {peer}");
        Session::Close
    }
}

fn main() {
    match mode().as_str() {
        "multi" => skeleton::multi_server("testd", Hooks::pre_init(|_| HashMap::new()), multi),
        "trigger" => skeleton::trigger_server("testd", Hooks::new(), |_, req, _| {
            msg_info!("wakeup: {}", String::from_utf8_lossy(req).escape_debug());
        }),
        _ => skeleton::single_server("testd", Hooks::new(), single),
    }
}
