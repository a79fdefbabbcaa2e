//! NAME
//!   bounce - Postern delivery status notifications
//!
//! SYNOPSIS
//!   master.cf: `bounce unix - - y - 0 bounce` (also `defer` and `trace`)
//!
//! DESCRIPTION
//!   Serves the bounce protocol of doc/PIPELINE.md: each client sends
//!   one request (`flush`, `warn` or `expire` for one queue ID) and gets
//!   `status=0` or `status=1 reason=...`. Notifications are RFC 3464
//!   multipart/report messages submitted through cleanup. See
//!   `bounce::service` and bounce(8).
//!
//! SEE ALSO
//!   bounce(8), qmgr(8), cleanup(8), postconf(5).
#![forbid(unsafe_code)]

use global::attr::{AttrReader, AttrWriter};
use skeleton::{Context, Hooks};
use std::time::Duration;
use util::{msg_fatal, msg_warn};

fn main() {
    let hooks = Hooks::pre_init(|ctx: &Context| {
        global::date::init();
        bounce::service::Bounce::from_config(&ctx.config).unwrap_or_else(|e| msg_fatal!("{e}"))
    });
    skeleton::single_server("bounce", hooks, |svc, client, ctx| {
        let timeout = ctx.config.get_time("ipc_timeout").unwrap_or(3600);
        let _ = client.set_timeout(Some(Duration::from_secs(timeout.max(1))));
        let req = match AttrReader::new(&mut *client).read() {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                msg_warn!("read bounce request: {e}");
                return;
            }
        };
        let reply = svc.handle(&req);
        if let Err(e) = AttrWriter::new(&mut *client).write(&reply) {
            msg_warn!("write bounce reply: {e}");
        }
    });
}
