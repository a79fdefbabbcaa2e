//! NAME
//!   scache - the connection cache protocol, its client stub and its store
//!
//! SYNOPSIS
//!   ```ignore
//!   let mut c = scache::Client::new("private/scache");
//!   c.save_endp(Duration::from_secs(2), "smtp:127.0.0.1:25", "props", fd)?;
//!   c.save_dest(Duration::from_secs(2), "smtp:example.com", "", "smtp:127.0.0.1:25")?;
//!   if let Some(found) = c.find_dest("smtp:example.com")? { /* found.fd */ }
//!   ```
//!
//! DESCRIPTION
//!   Postfix's scache(8) keeps open SMTP connections between deliveries so
//!   that a burst of mail to one destination reuses sessions instead of
//!   connecting again. A delivery agent that finishes a transaction hands
//!   the connected socket to the cache (the descriptor travels with
//!   `SCM_RIGHTS`); the next agent process that delivers to the same
//!   destination or address takes it out again. Every entry expires after
//!   the time-to-live given when it was saved.
//!
//!   Two kinds of entries, as in Postfix:
//!
//!   - endpoints: label (e.g. `smtp:192.0.2.1:25`) -> open sockets, each
//!     with an opaque property string (the agent's session state);
//!   - destinations: label (e.g. `smtp:example.com`) -> endpoint label,
//!     with its own property string. Looking up a destination returns a
//!     socket of the endpoint it points to.
//!
//!   A taken socket leaves the cache (one user at a time).
//!
//!   - [`proto`]: the wire format (an attribute list preceded by one
//!     marker byte that may carry a descriptor);
//!   - [`client`]: the client stub used by smtp(8)/lmtp(8);
//!   - [`store`]: the in-memory cache of the scache(8) server.
//!
//! SEE ALSO
//!   scache(8), smtp(8), postconf(5) `smtp_connection_cache_on_demand`.
#![forbid(unsafe_code)]

pub mod client;
pub mod proto;
pub mod store;

pub use client::{Client, Found};
pub use store::Store;
