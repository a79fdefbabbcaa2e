//! NAME
//!   discard - Postern discard mail delivery agent
//!
//! SYNOPSIS
//!   master.cf: `discard unix - - y - - discard`
//!
//! DESCRIPTION
//!   discard takes delivery requests from qmgr, pretends to deliver every
//!   recipient, marks each one done in the queue file, and logs
//!   `status=sent (reason)` where the reason is the request's next hop
//!   (the text after `discard:` in a transport table, or the recipient
//!   domain when there is none), optionally prefixed with a 2.X.Y code.
//!   The logic is `deliver::builtin::discard_handler`.
//!
//! SEE ALSO
//!   qmgr(8), error(8), transport(5).
#![forbid(unsafe_code)]

use deliver::{agent_serve, builtin, AgentEnv};
use skeleton::Hooks;

fn main() {
    let hooks = Hooks::pre_init(|ctx| AgentEnv::from_config(&ctx.config));
    skeleton::single_server("discard", hooks, |env, client, _| {
        let _ = agent_serve(client, env, builtin::discard_handler);
    });
}
