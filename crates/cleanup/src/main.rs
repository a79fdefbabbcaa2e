//! NAME
//!   cleanup - Postern's cleanup service
//!
//! SYNOPSIS
//!   master.cf: `cleanup unix n - y - 0 cleanup`
//!
//! DESCRIPTION
//!   A single-client service (skeleton::single_server): for each client
//!   it runs [`cleanup::serve`] with a read/write timeout of
//!   `ipc_timeout`. Tables are opened before the chroot; when one changes
//!   on disk the process exits after its client so that master starts a
//!   fresh one. See cleanup(8).
#![forbid(unsafe_code)]

use skeleton::{Context, Hooks};
use util::{msg_fatal, msg_info, msg_warn};

fn main() {
    let hooks = Hooks::pre_init(|ctx: &Context| {
        global::date::init();
        let mut state =
            cleanup::State::from_config(&ctx.config).unwrap_or_else(|e| msg_fatal!("{e}"));
        state.qdir = state.qdir.with_root(".");
        state
    });
    skeleton::single_server("cleanup", hooks, |state, client, _ctx| {
        if let Err(e) = client.set_timeout(Some(state.settings.ipc_timeout)) {
            msg_warn!("set client timeout: {e}");
        }
        cleanup::serve(state, client);
        if state.tables_changed() {
            msg_info!("table has changed -- restarting");
            std::process::exit(0);
        }
    });
}
