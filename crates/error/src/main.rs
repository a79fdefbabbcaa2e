//! NAME
//!   error - Postern error/retry mail delivery agent
//!
//! SYNOPSIS
//!   master.cf: `error unix - - y - - error` and `retry unix - - y - - error`
//!
//! DESCRIPTION
//!   error takes delivery requests from qmgr for the `error` and `retry`
//!   services. The request's next hop is the reason for non-delivery and
//!   may begin with an RFC 3463 status code (`5.1.1 no such user`); the
//!   default code is 5.0.0 (error) or 4.0.0 (retry). Run as `error`, it
//!   bounces every recipient (record in `bounce/ID`, `status=bounced`);
//!   run as `retry` (the master.cf service name), it defers them (record
//!   in `defer/ID`, `status=deferred`). The logic is
//!   `deliver::builtin::error_handler`.
//!
//! SEE ALSO
//!   qmgr(8), bounce(8), discard(8), postconf(5).
#![forbid(unsafe_code)]

use deliver::{agent_serve, builtin, AgentEnv};
use skeleton::Hooks;

// reason: agent_serve's handler returns Result<(), Dsn> by design
#[allow(clippy::result_large_err)]
fn main() {
    let hooks = Hooks::pre_init(|ctx| AgentEnv::from_config(&ctx.config));
    skeleton::single_server("error", hooks, |env, client, ctx| {
        let bounce = ctx.service != "retry";
        let _ = agent_serve(client, env, |d| builtin::error_handler(d, bounce));
    });
}
