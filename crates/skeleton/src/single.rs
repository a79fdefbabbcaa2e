//! NAME
//!   single - the single-client server framework
//!
//! DESCRIPTION
//!   [`single_server`] runs a program that serves one client at a time
//!   (smtpd, cleanup, smtp, local): it waits for a connection on any of its
//!   listeners, reports `BUSY`, calls the handler with the connected
//!   stream, closes it, reports `AVAIL`, and waits again. It exits after
//!   `max_use` clients, after `max_idle` seconds without one, or when
//!   master goes away. In stand-alone mode (`-S`) it serves standard
//!   input/output once and exits.
use crate::context::{self, Context, Hooks, Started};
use crate::stream::ClientStream;
use crate::wait::{report_or_exit, wait_ready};
use global::master_proto::Status;

/// Run program `program` as a single-client server: start up with
/// `hooks` ([`crate::context::start`]) and call `serve(state, client,
/// ctx)` for each client. Never returns.
pub fn single_server<S, F>(program: &str, hooks: Hooks<S>, mut serve: F) -> !
where
    F: FnMut(&mut S, &mut ClientStream, &Context),
{
    let Started {
        ctx,
        mut state,
        listeners,
        status,
    } = context::start(program, hooks);
    if ctx.args.stand_alone {
        let mut client = ClientStream::stdio();
        serve(&mut state, &mut client, &ctx);
        std::process::exit(0);
    }
    let mut used: u64 = 0;
    loop {
        let ready = wait_ready(&listeners, true, &[], &status, ctx.max_idle);
        for i in ready.listeners {
            let Some(mut client) = listeners[i].accept_or_warn() else {
                continue;
            };
            report_or_exit(&status, Status::Busy);
            serve(&mut state, &mut client, &ctx);
            drop(client);
            used += 1;
            if ctx.max_use > 0 && used >= ctx.max_use {
                std::process::exit(0);
            }
            report_or_exit(&status, Status::Avail);
            break;
        }
    }
}
