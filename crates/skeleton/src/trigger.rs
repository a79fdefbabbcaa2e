//! NAME
//!   trigger - the trigger server framework
//!
//! DESCRIPTION
//!   [`trigger_server`] runs a program that is woken up rather than
//!   connected to (pickup, qmgr, flush): master, `postdrop` or another
//!   daemon writes a few request bytes (Postfix's `W` = wake up) to its
//!   FIFO, UNIX-domain stream socket or datagram socket. The framework
//!   reads them, reports `BUSY`, calls the handler with the bytes, and
//!   reports `AVAIL`. From a stream socket it accepts the connection and
//!   reads what the client wrote before it closed (at most 1024 bytes,
//!   waiting at most `ipc_timeout`... in practice a client writes and
//!   closes at once; the read waits at most 10 seconds).
//!
//!   It exits after `max_use` triggers or `max_idle` idle seconds unless
//!   the hooks say [`Hooks::unlimited`], and when master goes away.
use crate::context::{self, Context, Hooks, Started};
use crate::listen::Listener;
use crate::wait::{report_or_exit, wait_ready};
use global::master_proto::Status;
use std::io::Read;
use std::time::Duration;
use util::msg_warn;

/// The most request bytes read per trigger.
pub const TRIGGER_BUF: usize = 1024;

fn read_stream_trigger(l: &Listener, buf: &mut [u8]) -> usize {
    let Some(mut client) = l.accept_or_warn() else {
        return 0;
    };
    let _ = client.set_timeout(Some(Duration::from_secs(10)));
    let mut n = 0;
    while n < buf.len() {
        match client.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// Run program `program` as a trigger server: call `serve(state,
/// request, ctx)` with the bytes of each wake-up. Never returns.
pub fn trigger_server<S, F>(program: &str, hooks: Hooks<S>, mut serve: F) -> !
where
    F: FnMut(&mut S, &[u8], &Context),
{
    let Started {
        ctx,
        mut state,
        mut listeners,
        status,
    } = context::start(program, hooks);
    if ctx.args.stand_alone {
        serve(&mut state, b"W", &ctx);
        std::process::exit(0);
    }
    let mut used: u64 = 0;
    let mut buf = [0u8; TRIGGER_BUF];
    loop {
        let ready = wait_ready(&listeners, true, &[], &status, ctx.max_idle);
        for i in ready.listeners {
            let n = match &mut listeners[i] {
                l @ (Listener::Fifo(_) | Listener::Dgram(_)) => match l.read_trigger(&mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        msg_warn!("read trigger: {e}");
                        0
                    }
                },
                l => read_stream_trigger(l, &mut buf),
            };
            if n == 0 {
                continue;
            }
            report_or_exit(&status, Status::Busy);
            serve(&mut state, &buf[..n], &ctx);
            used += 1;
            if ctx.max_use > 0 && used >= ctx.max_use {
                std::process::exit(0);
            }
            report_or_exit(&status, Status::Avail);
        }
    }
}
