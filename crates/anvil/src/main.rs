//! NAME
//!   anvil - Postern session count and request rate control server
//!
//! SYNOPSIS
//!   master.cf: `anvil unix - - y - 1 anvil`
//!
//! DESCRIPTION
//!   anvil keeps, per (service, client), the number of simultaneous
//!   sessions and the rates of sessions, messages, recipients, new TLS
//!   sessions and AUTH commands per `anvil_rate_time_unit`, and answers
//!   smtpd's requests over `private/anvil` (protocol:
//!   `global::anvil_proto`). It serves every smtpd process at once in one
//!   process (master.cf process limit 1); a session of an smtpd that
//!   goes away without saying so ends with its connection.
//!
//!   Every `anvil_status_update_time` it logs the peak values since the
//!   last report (`statistics: max connection rate 3/60s for
//!   (smtp:127.0.0.1) at Nov 30 03:59:05`), from a timer thread, so the
//!   report comes on time whether or not clients are busy.
//!
//! DIAGNOSTICS
//!   Unknown requests are logged and answered with `status=-1`.
//!
//! BUGS
//!   The peaks of the last period are not logged when the process exits
//!   (Postfix logs them at exit too).
//!
//! SEE ALSO
//!   smtpd(8), master(8), anvil(8).
#![forbid(unsafe_code)]

use anvil::Anvil;
use global::attr::{AttrReader, AttrWriter};
use skeleton::{ClientStream, Context, Event, Hooks, Session};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use util::{msg_fatal, msg_info, msg_warn};

/// The service state, shared with the report thread.
struct Shared {
    anvil: Arc<Mutex<Anvil>>,
    update: Duration,
}

fn secs(ctx: &Context, name: &str) -> Duration {
    Duration::from_secs(
        ctx.config
            .get_time(name)
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    )
}

fn init(ctx: &Context) -> Shared {
    Shared {
        anvil: Arc::new(Mutex::new(Anvil::new(secs(ctx, "anvil_rate_time_unit")))),
        update: secs(ctx, "anvil_status_update_time").max(Duration::from_secs(1)),
    }
}

/// Log the peaks every `update` (after the privilege drop).
fn start_reports(shared: &mut Shared, _ctx: &Context) {
    let anvil = Arc::clone(&shared.anvil);
    let update = shared.update;
    let spawned = std::thread::Builder::new()
        .name("anvil-status".into())
        .spawn(move || loop {
            std::thread::sleep(update);
            let mut a = anvil.lock().unwrap_or_else(PoisonError::into_inner);
            let unit = a.table.unit().as_secs();
            for line in a.stats.take_lines(unit) {
                msg_info!("{line}");
            }
        });
    if let Err(e) = spawned {
        msg_warn!("cannot start the status report thread: {e}");
    }
}

fn serve(shared: &mut Shared, client: &mut ClientStream, id: u64, event: Event) -> Session {
    let mut anvil = shared.anvil.lock().unwrap_or_else(PoisonError::into_inner);
    if event == Event::Connect {
        let _ = client.set_timeout(Some(Duration::from_secs(10)));
        return Session::Continue;
    }
    let req = match AttrReader::new(&mut *client).read() {
        Ok(Some(r)) => r,
        Ok(None) => {
            anvil.stream_closed(id);
            return Session::Close;
        }
        Err(e) => {
            msg_warn!("read request: {e}");
            anvil.stream_closed(id);
            return Session::Close;
        }
    };
    let reply = anvil.request(id, &req);
    match AttrWriter::new(&mut *client).write(&reply) {
        Ok(()) => Session::Continue,
        Err(e) => {
            msg_warn!("send reply: {e}");
            anvil.stream_closed(id);
            Session::Close
        }
    }
}

fn main() {
    let hooks = Hooks::pre_init(init).post_init(start_reports);
    skeleton::multi_server("anvil", hooks, |shared, client, id, event, _ctx| {
        serve(shared, client, id, event)
    });
}
