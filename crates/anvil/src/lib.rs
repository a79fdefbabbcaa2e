//! NAME
//!   anvil - session count and request rate control, as a library
//!
//! SYNOPSIS
//!   ```ignore
//!   let mut a = anvil::Anvil::new(Duration::from_secs(60));
//!   let reply = a.request(stream_id, &request);
//!   ```
//!
//! DESCRIPTION
//!   Postfix's anvil(8) keeps short-term counters per (service, client):
//!   simultaneous sessions and the rates of sessions, messages,
//!   recipients, new TLS sessions and AUTH commands, so that smtpd can
//!   refuse clients that hammer it. Nothing is kept on disk.
//!
//!   - [`table`]: the counters and their time units;
//!   - [`stats`]: the peak values logged every `anvil_status_update_time`;
//!   - [`server`]: one request in, one reply out
//!     (protocol: [`global::anvil_proto`]).
//!
//!   The `anvil` program runs [`server::Anvil`] under the skeleton's
//!   multi-client server; smtpd's client is `smtpd::anvil`.
//!
//! SEE ALSO
//!   anvil(8), smtpd(8).
#![forbid(unsafe_code)]

pub mod server;
pub mod stats;
pub mod table;

pub use server::Anvil;
