//! NAME
//!   multi - the multi-client server framework
//!
//! DESCRIPTION
//!   [`multi_server`] runs a program that serves many clients at once in
//!   one process with one poll(2) loop (tlsmgr, showq, anvil). On a new
//!   connection it reports `BUSY` then `AVAIL` (master counts the use but
//!   keeps the process available, as Postfix's multi-server does) and
//!   calls the handler with [`Event::Connect`]; when a client has input
//!   (or hung up) it calls the handler with [`Event::Readable`]. The
//!   handler reads one request, answers, and returns [`Session::Continue`]
//!   or [`Session::Close`] (also on end of file).
//!
//!   After `max_use` connections the process stops accepting and exits
//!   when its last client leaves; with no client for `max_idle` seconds it
//!   exits; when master goes away it exits at once.
use crate::context::{self, Context, Hooks, Started};
use crate::stream::ClientStream;
use crate::wait::{report_or_exit, wait_ready};
use global::master_proto::Status;
use std::os::fd::BorrowedFd;

/// Why the handler is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A client just connected (send a banner, set up per-client state).
    Connect,
    /// The client has input or has closed its end.
    Readable,
}

/// What to do with a client after the handler returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Keep the connection and call again when it has input.
    Continue,
    /// Close the connection.
    Close,
}

/// Run program `program` as a multi-client server. `serve(state, client,
/// id, event, ctx)` is called per event; `id` identifies the client for
/// per-client state and is never reused within the process. Never
/// returns.
pub fn multi_server<S, F>(program: &str, hooks: Hooks<S>, mut serve: F) -> !
where
    F: FnMut(&mut S, &mut ClientStream, u64, Event, &Context) -> Session,
{
    let Started {
        ctx,
        mut state,
        listeners,
        status,
    } = context::start(program, hooks);
    if ctx.args.stand_alone {
        let mut client = ClientStream::stdio();
        let mut event = Event::Connect;
        while serve(&mut state, &mut client, 0, event, &ctx) == Session::Continue {
            event = Event::Readable;
        }
        std::process::exit(0);
    }
    let mut clients: Vec<(u64, ClientStream)> = Vec::new();
    let mut used: u64 = 0;
    loop {
        // Past max_use, a multi-client server exits once its last client
        // has gone; until then it keeps accepting, because master starts
        // no second process of a maxproc-1 service (scache, tlsmgr) while
        // this one still runs, and new clients would wait for nothing.
        let used_up = ctx.max_use != 0 && used >= ctx.max_use;
        if used_up && clients.is_empty() {
            std::process::exit(0);
        }
        let accepting = true;
        let idle = if clients.is_empty() {
            ctx.max_idle
        } else {
            None
        };
        let ready = {
            let fds: Vec<BorrowedFd<'_>> = clients.iter().map(|(_, c)| c.as_poll_fd()).collect();
            wait_ready(&listeners, accepting, &fds, &status, idle)
        };
        let mut closed = Vec::new();
        for i in ready.extra {
            let (id, client) = &mut clients[i];
            if serve(&mut state, client, *id, Event::Readable, &ctx) == Session::Close {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            clients.remove(i);
        }
        for i in ready.listeners {
            let Some(mut client) = listeners[i].accept_or_warn() else {
                continue;
            };
            report_or_exit(&status, Status::Busy);
            report_or_exit(&status, Status::Avail);
            let id = used;
            used += 1;
            if serve(&mut state, &mut client, id, Event::Connect, &ctx) == Session::Continue {
                clients.push((id, client));
            }
        }
    }
}
