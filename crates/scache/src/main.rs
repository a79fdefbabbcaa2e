//! NAME
//!   scache - Postern shared connection cache server
//!
//! SYNOPSIS
//!   master.cf: `scache unix - - y - 1 scache`
//!
//! DESCRIPTION
//!   scache keeps open SMTP and LMTP connections that smtp(8) and lmtp(8)
//!   processes hand to it after a delivery, and gives them back to the
//!   next process that delivers to the same destination or address, so
//!   that a burst of mail reuses sessions. It serves many clients at once
//!   (one process, master.cf process limit 1). The protocol, the client
//!   stub and the store are in the `scache` library (module `proto`).
//!
//!   Entries live for the time-to-live the client gives
//!   (`smtp_connection_cache_time_limit`); expired sockets are closed when
//!   the cache is next used.
//!
//! DIAGNOSTICS
//!   Malformed requests are logged and answered with status -1.
//!
//! SEE ALSO
//!   smtp(8), lmtp(8), master(8).
#![forbid(unsafe_code)]

use global::attr::Attrs;
use scache::proto::{self, FIND_DEST, FIND_ENDP, SAVE_DEST, SAVE_ENDP};
use scache::Store;
use skeleton::{ClientStream, Event, Hooks, Session};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};
use util::msg_warn;

fn handle(store: &mut Store, req: &Attrs, fd: Option<OwnedFd>) -> (Attrs, Option<OwnedFd>) {
    let now = Instant::now();
    let s = |n: &str| req.opt_str(n).ok().flatten().unwrap_or("").to_string();
    let ttl = Duration::from_secs(
        req.opt_long("ttl")
            .ok()
            .flatten()
            .unwrap_or(0)
            .clamp(0, 3600) as u64,
    );
    let status = |n: i64| Attrs::new().put_int("status", n);
    match (s("request").as_str(), fd) {
        (SAVE_ENDP, Some(fd)) => {
            store.save_endp(now, ttl, &s("label"), &s("prop"), fd);
            (status(0), None)
        }
        (FIND_ENDP, _) => match store.find_endp(now, &s("label")) {
            Some((prop, fd)) => (status(0).put_str("prop", &prop), Some(fd)),
            None => (status(1), None),
        },
        (SAVE_DEST, _) => {
            store.save_dest(now, ttl, &s("label"), &s("prop"), &s("endp_label"));
            (status(0), None)
        }
        (FIND_DEST, _) => match store.find_dest(now, &s("label")) {
            Some((dp, ep, fd)) => (
                status(0).put_str("prop", &dp).put_str("endp_prop", &ep),
                Some(fd),
            ),
            None => (status(1), None),
        },
        (other, _) => {
            msg_warn!("unknown or malformed request: {other}");
            (status(-1), None)
        }
    }
}

fn main() {
    let hooks = Hooks::pre_init(|_| Store::new());
    skeleton::multi_server(
        "scache",
        hooks,
        |store, client: &mut ClientStream, _id, event, _ctx| {
            if event == Event::Connect {
                let _ = client.set_timeout(Some(Duration::from_secs(10)));
                return Session::Continue;
            }
            let (req, fd) = match proto::recv(client) {
                Ok(Some(m)) => m,
                Ok(None) => return Session::Close,
                Err(e) => {
                    msg_warn!("read request: {e}");
                    return Session::Close;
                }
            };
            let (reply, fd) = handle(store, &req, fd);
            match proto::send(client, &reply, fd.as_ref().map(AsFd::as_fd)) {
                Ok(()) => Session::Continue,
                Err(e) => {
                    msg_warn!("send reply: {e}");
                    Session::Close
                }
            }
        },
    );
}
