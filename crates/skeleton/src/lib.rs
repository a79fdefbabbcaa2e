//! NAME
//!   skeleton - the frameworks that service programs run in
//!
//! SYNOPSIS
//!   `skeleton::single_server("smtpd", Hooks::new(), |state, client, ctx| ...)`
//!   `skeleton::multi_server("tlsmgr", hooks, |state, client, id, event, ctx| ...)`
//!   `skeleton::trigger_server("pickup", hooks, |state, request, ctx| ...)`
//!
//! DESCRIPTION
//!   A Postern service program is its protocol logic plus one call into
//!   this crate, as with Postfix's `single_server_main`,
//!   `multi_server_main` and `trigger_server_main`. The framework owns:
//!   the command line master passes ([`args`]), main.cf with the `-o`
//!   overrides, the log, the inherited status pipe (fd 5) and listen
//!   descriptors (fd 6 on), the pre-init hook (privileged), chroot to
//!   `queue_directory` and the drop to `mail_owner` ([`privs`]), the
//!   post-init hook, `AVAIL`/`BUSY` reports ([`status`]), and exiting after
//!   `max_use` clients, `max_idle` idle seconds or when master goes away.
//!
//!   - [`single_server`]: one client at a time (smtpd, cleanup, smtp,
//!     local).
//!   - [`multi_server`]: many clients in one poll loop (tlsmgr, showq).
//!   - [`trigger_server`]: wake-ups from a FIFO or socket (pickup, qmgr).
//!
//! SEE ALSO
//!   master(8), [`global::master_proto`] (the master/child contract).
#![forbid(unsafe_code)]

pub mod args;
pub mod context;
pub mod listen;
pub mod multi;
pub mod privs;
pub mod single;
pub mod status;
pub mod stream;
pub mod trigger;
pub mod wait;

pub use context::{Context, Hooks};
pub use multi::{multi_server, Event, Session};
pub use single::single_server;
pub use stream::ClientStream;
pub use trigger::trigger_server;
