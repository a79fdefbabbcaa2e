//! NAME
//!   qmgr - Postern queue manager
//!
//! SYNOPSIS
//!   master.cf: `qmgr unix n - n 300 1 qmgr`
//!
//! DESCRIPTION
//!   qmgr moves mail from `incoming` (and, when their retry time has come,
//!   from `deferred`) into `active`, finds out where each recipient goes
//!   (the `resolve` library: `transport_maps`, `relayhost`,
//!   `mydestination` ...), hands delivery requests to the delivery agents
//!   over `private/<transport>` with per-destination concurrency, and
//!   then removes, defers, bounces or expires the message.
//!
//!   It is a trigger server that never exits on its own (`max_use` and
//!   `max_idle` do not apply): trigger bytes on `public/qmgr` are `I`
//!   (scan incoming), `D` (scan deferred), `A` (deliver all deferred mail
//!   now, `postqueue -f`), `F` (forget unavailable transports), `W`
//!   (wake up: scan both). The work runs on a scheduler thread
//!   ([`sched`], [`active`]); each delivery runs on its own thread
//!   ([`worker`]) so qmgr keeps answering while agents work.
//!
//! SEE ALSO
//!   qmgr(8), doc/PIPELINE.md, [`settings`] for the parameters.
#![forbid(unsafe_code)]

mod active;
mod sched;
mod settings;
mod worker;

use sched::{Event, Qmgr};
use settings::Settings;
use skeleton::Hooks;
use std::sync::mpsc::{channel, Receiver, Sender};
use util::msg_fatal;

struct State {
    tx: Sender<Event>,
    rx: Option<Receiver<Event>>,
}

/// Exit the process if the scheduler thread ends or panics, so master
/// starts a fresh qmgr.
struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        msg_fatal!("scheduler thread stopped");
    }
}

fn main() {
    let hooks = Hooks::pre_init(|_| {
        let (tx, rx) = channel();
        State { tx, rx: Some(rx) }
    })
    .post_init(|st: &mut State, ctx| {
        let settings = Settings::from_config(&ctx.config);
        let qdir = queue::QueueDir::from_config(&ctx.config)
            .unwrap_or_else(|e| msg_fatal!("{e}"))
            .with_root(".");
        let tx = st.tx.clone();
        let Some(rx) = st.rx.take() else { return };
        std::thread::spawn(move || {
            let _guard = ExitGuard;
            Qmgr::new(settings, qdir, tx).run(rx);
        });
    })
    .unlimited();
    skeleton::trigger_server("qmgr", hooks, |st, request, _| {
        for &b in request {
            let _ = st.tx.send(Event::Trigger(b));
        }
    });
}
