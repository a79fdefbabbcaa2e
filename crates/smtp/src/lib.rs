//! NAME
//!   smtp - the SMTP and LMTP delivery client (Postfix's smtp(8) and lmtp(8))
//!
//! SYNOPSIS
//!   master.cf: `smtp unix - - y - - smtp`, `relay unix - - y - - smtp`,
//!   `lmtp unix - - y - - lmtp`
//!
//! DESCRIPTION
//!   One library, two program names: [`run`] starts the single-client
//!   service skeleton and serves delivery requests from qmgr with
//!   [`agent::Agent::deliver`]. The program name (argv\[0\], `smtp` or
//!   `lmtp`) chooses the protocol and the parameter prefix
//!   ([`params::Proto`]).
//!
//!   Modules, in the order a delivery uses them:
//!
//!   - [`params`]: the `smtp_*` / `lmtp_*` parameters;
//!   - [`nexthop`]: the request's next hop as destinations;
//!   - [`dns`], [`targets`]: MX and address lookups, the ordered targets;
//!   - [`conn`]: the [`conn::Transport`] under a session, connecting;
//!   - [`session`]: I/O with deadlines, greeting, EHLO/HELO/LHLO,
//!     features, and the in-place transport upgrade STARTTLS uses;
//!   - [`tls_policy`], [`starttls`]: the TLS policy of a connection and
//!     STARTTLS (issue 7);
//!   - [`sasl`]: SMTP AUTH to the next hop (password maps, CRAM-MD5,
//!     PLAIN, LOGIN);
//!   - [`reply`]: reply parsing;
//!   - [`xact`], [`body`], [`mime`]: MAIL/RCPT/DATA with PIPELINING,
//!     the content, 8BITMIME downgrade;
//!   - [`cache`]: sessions kept in scache(8);
//!   - [`agent`]: one request from start to per-recipient results.
//!
//! SEE ALSO
//!   smtp(8), lmtp(8), scache(8), qmgr(8), doc/PIPELINE.md.
#![forbid(unsafe_code)]
// reason: deliver::Dsn (status, reason, diagnostic, MTA) is the error of
// every step of a delivery; one per step, never in a hot loop.
#![allow(clippy::result_large_err)]

pub mod agent;
pub mod body;
pub mod cache;
pub mod conn;
pub mod dns;
pub mod mime;
pub mod nexthop;
pub mod params;
pub mod reply;
pub mod sasl;
pub mod session;
pub mod starttls;
pub mod targets;
pub mod tls_policy;
pub mod xact;

use deliver::{agent_serve, AgentEnv};
use skeleton::Hooks;

/// Run the delivery service as program `program` (`smtp` or `lmtp`).
/// Never returns.
pub fn run(program: &str) -> ! {
    let proto = params::Proto::from_program(program);
    let hooks = Hooks::pre_init(move |ctx| {
        // Before chroot: the resolver reads /etc/resolv.conf here.
        // Also before chroot: the TLS context reads certificates and keys.
        let p = params::Params::from_config(&ctx.config, proto);
        let mut a = agent::Agent::new(p);
        a.tls = tls_policy::TlsClient::from_config(&ctx.config, proto);
        a.sasl = sasl::SaslClient::from_config(&ctx.config, proto);
        (AgentEnv::from_config(&ctx.config), a)
    })
    .post_init(|state, _ctx| {
        // After chdir to queue_directory: see whether scache exists.
        state.1.cache = cache::SessionCache::new();
    });
    skeleton::single_server(proto.name(), hooks, |state, client, _ctx| {
        let (env, agent) = state;
        let _ = agent_serve(client, env, |d| agent.deliver(d));
    })
}

/// The program name from argv\[0\] (`lmtp` or `smtp`).
pub fn program_name() -> &'static str {
    let argv0 = std::env::args().next().unwrap_or_default();
    let base = std::path::Path::new(&argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base == "lmtp" {
        "lmtp"
    } else {
        "smtp"
    }
}
