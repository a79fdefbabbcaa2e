//! NAME
//!   tlsmgr - TLS session cache, ticket key and PRNG manager
//!
//! SYNOPSIS
//!   master.cf: `tlsmgr unix - - y 1000? 1 tlsmgr`
//!
//! DESCRIPTION
//!   tlsmgr is the only process that opens the TLS session cache files.
//!   smtpd and smtp, chrooted and unprivileged, reach it through
//!   `private/tlsmgr` with the attribute protocol (requests `lookup`,
//!   `update`, `delete`, `seed`, `tktkey`; see [`tls::mgr_client`]).
//!
//!   At start (before chroot) it removes and re-creates the caches named
//!   by `smtpd_tls_session_cache_database`, `smtp_tls_session_cache_database`
//!   and `lmtp_tls_session_cache_database`, so `postfix start` and
//!   `postfix reload` (which replaces tlsmgr) begin with empty caches;
//!   opens `tls_random_source` and `tls_random_exchange_name`. It then
//!   serves many clients at once ([`skeleton::multi_server`], never
//!   exiting on `max_use`/`max_idle`), and a maintenance thread purges
//!   expired cache entries, reseeds the PRNG and rewrites the exchange
//!   file on their periods.
//!
//! SEE ALSO
//!   tlsmgr(8), [`service`], [`cache`], [`keys`], [`entropy`].
#![forbid(unsafe_code)]

mod cache;
mod entropy;
mod keys;
mod service;

use skeleton::{Hooks, Session};

fn main() {
    let hooks = Hooks::pre_init(service::Manager::start)
        .post_init(|m, _| service::spawn_maintenance(m))
        .unlimited();
    skeleton::multi_server("tlsmgr", hooks, |m, client, _id, event, _ctx| {
        if event == skeleton::Event::Connect {
            return Session::Continue;
        }
        service::serve(m, client)
    });
}
