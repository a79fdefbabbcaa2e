//! NAME
//!   tls - Postern's TLS engine, policies and tlsmgr client
//!
//! SYNOPSIS
//!   Server (smtpd): [`server::TlsServerParams::from_config`],
//!   [`server::ServerContext::init`] (before chroot), [`server::server_start`],
//!   [`engine::TlsStream::stop`].
//!   Client (smtp): [`client::TlsClientParams::from_config`],
//!   [`client::ClientContext::init`], [`client::client_start`].
//!
//! DESCRIPTION
//!   OpenSSL through the `openssl` crate, over an in-memory network
//!   buffer with one deadline per operation ([`engine`]). Pure policy
//!   code lives beside it: protocol and cipher parameters ([`params`]),
//!   peer names ([`names`]), fingerprints ([`fprint`]), connection facts
//!   ([`info`]) and Postfix's log lines and `Received:` comments
//!   ([`log`]). Session resumption goes through tlsmgr(8)
//!   ([`mgr_client`], entry format [`scache`], ticket keys [`tickets`]);
//!   the PRNG helpers shared with tlsmgr are in [`prng`].
//!
//! SEE ALSO
//!   tlsmgr(8), doc/TLS_README.md, DESIGN.md "TLS".
#![forbid(unsafe_code)]

pub mod certs;
pub mod client;
pub mod engine;
pub mod fprint;
pub mod info;
pub mod log;
pub mod mgr_client;
pub mod names;
pub mod params;
pub mod prng;
pub mod scache;
pub mod server;
pub mod tickets;

pub use certs::KeyFiles;
pub use client::{client_start, ClientContext, ClientStartProps, TlsClientParams};
pub use engine::{TlsError, TlsStream};
pub use info::TlsInfo;
pub use params::SecurityLevel;
pub use server::{server_start, ServerContext, ServerStartProps, TlsServerParams};

/// The text of an I/O error without Rust's ` (os error N)` suffix.
pub(crate) fn strerror(e: &std::io::Error) -> String {
    util::strings::strip_os_error(&e.to_string())
}
