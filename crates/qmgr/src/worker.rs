//! NAME
//!   worker - one delivery attempt, on its own thread
//!
//! DESCRIPTION
//!   [`spawn`] starts a thread that connects to `private/<transport>`
//!   (relative to `queue_directory`, qmgr's working directory), sends the
//!   delivery request, waits for the agent's reply, and sends the
//!   [`Outcome`] back to the scheduler. The scheduler never blocks on an
//!   agent, so it keeps answering triggers while deliveries run.
//!
//!   When the `retry` or `error` service itself cannot be reached, the
//!   worker runs that agent's logic in-process
//!   (`deliver::builtin::error_handler`), so recipients that must be
//!   deferred or bounced always get their log line and DSN record.
//!
//! DIAGNOSTICS
//!   `warning: connect to transport private/NAME: ERROR` when the socket
//!   does not answer (the scheduler then defers the recipients with
//!   `4.3.0 mail transport unavailable`), and a warning for a malformed
//!   or missing reply (`4.3.0 unknown mail transport error`).
use deliver::{agent_serve, builtin, send_request, AgentEnv, AgentReply, DeliveryRequest};
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::msg_warn;

/// Reason for recipients of a transport that cannot be reached.
pub const UNAVAILABLE: &str = "4.3.0 mail transport unavailable";
/// Reason for recipients of an agent that failed without a proper reply.
pub const BROKEN: &str = "4.3.0 unknown mail transport error";

/// What became of one delivery request.
#[derive(Debug)]
pub enum Outcome {
    /// The agent replied.
    Reply(AgentReply),
    /// The transport's socket could not be reached.
    Unavailable,
    /// The agent broke off or sent garbage.
    Broken,
}

/// Run `req` through the `error` agent logic in this process (`bounce` =
/// error service, else retry). Errors only on socket pair trouble.
// reason: agent_serve's handler returns Result<(), Dsn> by design
#[allow(clippy::result_large_err)]
pub fn in_process(req: &DeliveryRequest, env: &AgentEnv, bounce: bool) -> Outcome {
    let Ok((mut ours, mut theirs)) = UnixStream::pair() else {
        return Outcome::Broken;
    };
    let env = env.clone();
    let agent = std::thread::spawn(move || {
        let _ = agent_serve(&mut theirs, &env, |d| builtin::error_handler(d, bounce));
    });
    let r = send_request(&mut ours, req);
    let _ = agent.join();
    match r {
        Ok(reply) => Outcome::Reply(reply),
        Err(e) => {
            msg_warn!(
                "{}: in-process {} agent: {e}",
                req.queue_id.as_str(),
                req.transport
            );
            Outcome::Broken
        }
    }
}

/// One delivery attempt (blocking).
pub fn attempt(req: &DeliveryRequest, env: &AgentEnv, ipc_timeout: Duration) -> Outcome {
    let path = format!("private/{}", req.transport);
    let mut s = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) => {
            if matches!(req.transport.as_str(), "retry" | "error") {
                return in_process(req, env, req.transport == "error");
            }
            msg_warn!("connect to transport {path}: {e}");
            return Outcome::Unavailable;
        }
    };
    let _ = s.set_write_timeout(Some(ipc_timeout));
    match send_request(&mut s, req) {
        Ok(r) => Outcome::Reply(r),
        Err(e) => {
            msg_warn!(
                "{}: transport {}: {e}",
                req.queue_id.as_str(),
                req.transport
            );
            Outcome::Broken
        }
    }
}

/// Run [`attempt`] on a new thread and hand the outcome to `done`.
/// A panic in the attempt is reported as [`Outcome::Broken`].
pub fn spawn(
    req: DeliveryRequest,
    env: AgentEnv,
    ipc_timeout: Duration,
    done: impl FnOnce(Outcome) + Send + 'static,
) {
    std::thread::spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            attempt(&req, &env, ipc_timeout)
        }))
        .unwrap_or(Outcome::Broken);
        done(out);
    });
}
