//! NAME
//!   resolve - address rewriting and resolution (Postfix's trivial-rewrite as a library)
//!
//! SYNOPSIS
//!   let r = resolve::Resolver::new(&cfg)?;            // once per process
//!   let canon = r.rewrite(resolve::Context::Local, "user");   // "user@$myorigin"
//!   let res = r.resolve("user@example.com");
//!   // res.transport, res.nexthop, res.recipient, res.class, res.flags
//!
//! DESCRIPTION
//!   Postfix runs address rewriting and resolution in the trivial-rewrite
//!   daemon; Postern calls the same rules as a library, from cleanup
//!   (canonical form of envelope and header addresses), qmgr (where each
//!   recipient goes), local, and smtpd (`reject_unauth_destination`).
//!
//!   - [`rewrite`]: the canonicalizing rules (source routes, bang paths,
//!     percent hack, `@$myorigin`, `.$mydomain`, trailing dot).
//!   - [`resolver`]: address classes, transports and next hops.
//!   - [`transport`]: `transport:nexthop` values and the transport(5)
//!     table search.
//!   - [`domains`]: domain lists (`mydestination`, `relay_domains`, ...).
//!
//!   [`Resolver::new`] reads the parameters and opens the tables once;
//!   the resolver holds no cache, so every answer reflects the tables as
//!   they are now (an lmdb: table rebuilt by postmap is seen at once).
//!
//! DIAGNOSTICS
//!   [`ResolveError`] when the configuration is bad or a table cannot be
//!   opened. Lookup failures during resolution are warnings in the log
//!   and [`Flags::fail`] in the result.
//!
//! SEE ALSO
//!   trivial-rewrite(8), ADDRESS_REWRITING_README, ADDRESS_CLASS_README,
//!   transport(5), postconf(5).
#![forbid(unsafe_code)]

pub mod domains;
pub mod resolver;
pub mod rewrite;
pub mod transport;

pub use domains::DomainList;
pub use resolver::{AddressClass, Flags, Resolved, Resolver};
pub use rewrite::Context;
pub use transport::Route;

use global::Config;
use thiserror::Error;

/// Errors of setting up a resolver.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// A parameter has a bad value (bad boolean, expansion loop).
    #[error("{0}")]
    Config(String),
    /// A table named by a parameter cannot be opened.
    #[error("{0}")]
    Table(String),
}

/// Rewrite `addr` in context `ctx` with the parameters of `cfg` (a
/// one-shot form of [`Resolver::rewrite`] that opens no tables).
/// Errors: a bad parameter value.
pub fn rewrite(cfg: &Config, ctx: Context, addr: &str) -> Result<String, ResolveError> {
    let p = rewrite::RewriteParams::from_config(cfg, ctx)
        .map_err(|e| ResolveError::Config(e.to_string()))?;
    Ok(rewrite::rewrite_address(&p, addr))
}

/// Resolve `addr` with the parameters and tables of `cfg` (a one-shot
/// form of [`Resolver::resolve`]; long-running callers keep a
/// [`Resolver`]). Errors: as [`Resolver::new`].
pub fn resolve(cfg: &Config, addr: &str) -> Result<Resolved, ResolveError> {
    Ok(Resolver::new(cfg)?.resolve(addr))
}

#[cfg(test)]
mod tests;
