//! NAME
//!   deliver - delivery requests, the delivery agent toolkit, DSN logs
//!
//! SYNOPSIS
//!   qmgr:   `let reply = deliver::send_request(&mut stream, &req)?;`
//!   agent:  `deliver::agent_serve(client, &env, |d| { d.sent(0, "local", &Dsn::new("2.0.0", "delivered to maildir"))?; Ok(()) })`
//!   qmgr:   `deliver::bounce_client::BounceClient::new(..).flush(queue::ACTIVE, &id)?;`
//!
//! DESCRIPTION
//!   Both ends of the delivery protocol of doc/PIPELINE.md:
//!
//!   - [`request`]: [`DeliveryRequest`] (qmgr -> agent) and [`AgentReply`]
//!     (agent -> qmgr) with their attribute encodings, and the client call
//!     [`send_request`].
//!   - [`agent`]: [`agent_serve`], which reads one request, opens the queue
//!     file, runs the agent's handler with a [`Delivery`], and replies. The
//!     handler reports each recipient with [`Delivery::sent`],
//!     [`Delivery::bounce`] or [`Delivery::defer`], which log Postfix's
//!     `status=` line, append to the DSN logs, and mark recipients done.
//!   - [`dsn`]: [`DsnStatus`] (`X.Y.Z`, RFC 3463) and [`Dsn`] (status plus
//!     reason text and optional diagnostic and remote MTA).
//!   - [`delay`]: the `delay=` and `delays=a/b/c/d` formatting.
//!   - [`dsn_log`]: the append-only `bounce/ID`, `defer/ID`, `trace/ID`
//!     files.
//!   - [`bounce_client`]: the `flush`, `warn` and `expire` requests to
//!     `private/bounce`.
//!
//! SEE ALSO
//!   doc/PIPELINE.md, qmgr(8), error(8), discard(8), local(8), bounce(8).
#![forbid(unsafe_code)]

pub mod agent;
pub mod bounce_client;
pub mod builtin;
pub mod delay;
pub mod dsn;
pub mod dsn_log;
pub mod error;
pub mod request;

pub use agent::{agent_serve, AgentEnv, Delivery};
pub use dsn::{Dsn, DsnStatus};
pub use dsn_log::DsnRecord;
pub use error::DeliverError;
pub use request::{
    send_request, Action, AgentReply, DeliveryRequest, RcptOutcome, RequestRecipient,
};
