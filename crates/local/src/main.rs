//! NAME
//!   local - Postern local mail delivery
//!
//! SYNOPSIS
//!   master.cf: `local unix - n n - - local`
//!
//! DESCRIPTION
//!   The local delivery agent serves delivery requests from qmgr for the
//!   recipients whose domain is local (`mydestination`): aliases,
//!   `.forward` files, mailboxes (mbox or Maildir), commands and files, as
//!   Postfix's local(8). It runs as root (master.cf column 4 `n`) so it
//!   can deliver with each recipient's privileges. See the library
//!   (`local::serve`) and local(8).
//!
//! SEE ALSO
//!   local(8), qmgr(8), bounce(8), aliases(5), postconf(5).
#![forbid(unsafe_code)]

use skeleton::{Context, Hooks};
use util::msg_fatal;

fn main() {
    let hooks = Hooks::pre_init(|ctx: &Context| {
        local::privs::enable();
        local::serve::Daemon::new(&ctx.config, &ctx.service).unwrap_or_else(|e| msg_fatal!("{e}"))
    });
    skeleton::single_server("local", hooks, |daemon, client, _ctx| {
        if let Err(e) = daemon.refresh() {
            util::msg_warn!("{e}");
        }
        daemon.serve(client);
        if let Some(name) = daemon.changed_table() {
            util::msg_info!("table {name} has changed -- restarting");
            std::process::exit(0);
        }
    });
}
