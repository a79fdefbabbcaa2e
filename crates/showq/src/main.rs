//! NAME
//!   showq - list the mail queue for postqueue(1) and mailq(1)
//!
//! SYNOPSIS
//!   master.cf: `showq unix n - y - - showq`
//!
//! DESCRIPTION
//!   showq answers every client connection on `public/showq` with a
//!   listing of the queue in the protocol of [`global::showq`]: one
//!   attribute list per message, then an empty list. It reads nothing
//!   from the client. The queues are listed in this order: `maildrop`,
//!   `incoming`, `active`, `deferred`, `hold`; within a queue in
//!   directory order. For each complete message it gives the arrival
//!   time, content size, sender, and the recipients that are not yet
//!   done, each with the last deferral reason that the `defer` log
//!   (crate `deliver`, `dsn_log`) holds for it.
//!
//!   Files being written, gone, or unreadable are skipped (a corrupt
//!   file is logged once per listing). Run as `showq -S` by root it
//!   writes the listing to standard output: postqueue(1) does that when
//!   the mail system is down.
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, hash_queue_names, hash_queue_depth.
//!
//! SEE ALSO
//!   postqueue(1), doc/QUEUE_FORMAT.md
#![forbid(unsafe_code)]

mod listing;

use skeleton::{ClientStream, Context, Hooks};
use util::msg_fatal;

fn main() {
    let hooks = Hooks::pre_init(|ctx: &Context| {
        queue::QueueDir::from_config(&ctx.config)
            .unwrap_or_else(|e| msg_fatal!("{e}"))
            .with_root(".")
    });
    skeleton::single_server("showq", hooks, |qdir, client: &mut ClientStream, ctx| {
        let _ = client.set_timeout(Some(std::time::Duration::from_secs(
            ctx.config.get_time("ipc_timeout").unwrap_or(3600),
        )));
        if let Err(e) = listing::send(qdir, client) {
            util::msg_warn!(
                "write to client: {}",
                util::strings::strip_os_error(&e.to_string())
            );
        }
    });
}
