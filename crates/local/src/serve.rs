//! NAME
//!   serve - one delivery request to the local agent, end to end
//!
//! DESCRIPTION
//!   [`Daemon`] is local(8)'s process state: its parameters, the opened
//!   `alias_maps` and the address resolver. [`Daemon::serve`] handles one
//!   delivery request from qmgr through [`deliver::agent_serve`]:
//!
//!   1. read the message content from the queue file;
//!   2. deliver each recipient through its tree ([`crate::dispatch`]);
//!   3. send the addresses that left this system, per sender and
//!      delivering address, to cleanup as a new message with the original
//!      sender (or the `owner-` sender), the recipient's DSN settings and,
//!      per `prepend_delivered_header`, a `Delivered-To:` header; each
//!      logs `status=sent (forwarded as ID)`;
//!   4. report: one recipient delivered at its own address logs one line;
//!      an expansion logs one line per member (`to=<member>,
//!      orig_to=<recipient>`), then the recipient is closed with the
//!      worst outcome (a deferred member keeps the recipient pending, so
//!      the whole expansion is tried again later). A recipient with DSN
//!      NOTIFY=SUCCESS gets its delivery report records in `trace/ID`
//!      ([`crate::notify`]) before the reply to qmgr.
//!
//!   Before each request the daemon checks whether a table changed on
//!   disk and, if so, reopens everything as a new process would
//!   ([`Daemon::refresh`]), so the next delivery after `newaliases` sees
//!   the new aliases; after a request, a daemon whose tables changed
//!   exits, so that master starts a fresh one (Postfix does the same).
//!
//! SEE ALSO
//!   local(8), doc/PIPELINE.md "Delivery protocol".
use crate::dispatch::{Agent, Host, Route};
use crate::errors::Outcome;
use crate::notify;
use crate::privs::{self, Account};
use crate::settings::Settings;
use crate::state::{Forward, Leaf, Message, Results, Seen, State};
use deliver::request::Action;
use deliver::{dsn_log, AgentEnv, Delivery, Dsn};
use global::cleanup_client::{CleanupSession, Submission, SubmitRecipient, FLAG_BOUNCE};
use global::Config;
use maps::{DictFlags, Maps};
use resolve::{Context, Resolver};
use std::io::{Read, Write};
use util::msg_warn;

/// The relay name in local(8)'s log lines.
pub const RELAY: &str = "local";

/// Routing through resolve(3) and accounts from the password database.
#[derive(Debug)]
pub struct SystemHost {
    resolver: Result<Resolver, String>,
    service: String,
}

impl Host for SystemHost {
    fn route(&self, addr: &str) -> Route {
        let r = match &self.resolver {
            Ok(r) => r,
            Err(_) => return Route::Fail(Outcome::defer("4.3.0", "address resolver failure")),
        };
        let canon = r.rewrite(Context::Local, addr);
        let res = r.resolve(&canon);
        if res.flags.fail {
            return Route::Fail(Outcome::defer("4.3.0", "address resolver failure"));
        }
        if res.flags.error {
            return Route::Fail(Outcome::bounce("5.1.3", "bad address syntax"));
        }
        if res.transport == self.service {
            Route::Local(res.recipient)
        } else {
            Route::Remote(canon)
        }
    }

    fn account(&self, name: &str) -> Result<Option<Account>, String> {
        privs::lookup(name)
    }
}

/// local(8)'s process state.
#[derive(Debug)]
pub struct Daemon {
    cfg: Config,
    settings: Settings,
    /// The tables, or the name of the one that could not be opened.
    aliases: Result<Maps, String>,
    host: SystemHost,
    env: AgentEnv,
}

/// Open the tables of `alias_maps` one by one. `nis:` tables (in
/// Postfix's default value) are skipped with a warning; any other
/// failure makes every alias lookup defer. Errors: `(table, reason)`,
/// the table that failed and the text to log once.
pub fn open_aliases(list: &str) -> Result<Maps, (String, String)> {
    let mut dicts = Vec::new();
    for spec in util::strings::split_list(list) {
        if spec.starts_with("nis:") {
            msg_warn!("alias_maps: {spec}: NIS lookups are not supported; table ignored");
            continue;
        }
        match maps::open(&spec, DictFlags::default()) {
            Ok(d) => dicts.push(d),
            Err(e) => return Err((spec.clone(), format!("alias_maps: {spec}: {e}"))),
        }
    }
    Ok(Maps::from_dicts("alias_maps", dicts))
}

impl Daemon {
    /// Read the configuration and open the tables (pre-init, as root).
    /// Errors: a bad parameter value.
    pub fn new(cfg: &Config, service: &str) -> Result<Daemon, String> {
        let settings = Settings::from_config(cfg)?;
        // The reason is logged once here; each lookup then logs only
        // Postfix's `TABLE: lookup of 'KEY' failed`.
        let aliases = open_aliases(&settings.alias_maps).map_err(|(table, e)| {
            msg_warn!("{e}");
            table
        });
        let resolver = Resolver::new(cfg).map_err(|e| e.to_string());
        if let Err(e) = &resolver {
            msg_warn!("{e}");
        }
        Ok(Daemon {
            cfg: cfg.clone(),
            settings,
            aliases,
            host: SystemHost {
                resolver,
                service: service.to_string(),
            },
            env: AgentEnv::from_config(cfg),
        })
    }

    /// Whether a table changed on disk since the daemon started.
    pub fn tables_changed(&self) -> bool {
        self.changed_table().is_some()
    }

    /// The name of a table that changed on disk since it was opened
    /// (`lmdb:/etc/aliases`; `transport_maps` for the resolver's), if any.
    pub fn changed_table(&self) -> Option<String> {
        if let Ok(maps) = &self.aliases {
            if let Some(d) = maps.dicts().iter().find(|d| d.changed()) {
                return Some(d.name().to_string());
            }
        }
        self.host
            .resolver
            .as_ref()
            .is_ok_and(Resolver::changed)
            .then(|| "transport_maps".to_string())
    }

    /// Before a request: when a table changed on disk (`postalias`,
    /// `newaliases`, `postmap`), start afresh as a new process would —
    /// Postfix's local checks before it accepts a request, so the very
    /// next delivery sees the new table. Logs Postfix's `table NAME has
    /// changed -- restarting`. Errors: a bad parameter value (the old
    /// state is kept).
    pub fn refresh(&mut self) -> Result<(), String> {
        let Some(name) = self.changed_table() else {
            return Ok(());
        };
        util::msg_info!("table {name} has changed -- restarting");
        let (cfg, service) = (self.cfg.clone(), self.host.service.clone());
        // Close the old tables first: an LMDB environment that is still
        // open would be handed out again for the same path.
        self.aliases = Err("table is being reopened".into());
        self.host.resolver = Err("table is being reopened".into());
        *self = Daemon::new(&cfg, &service)?;
        Ok(())
    }

    /// Serve one delivery request on `stream`.
    // reason: the handler's error type is fixed by deliver::agent_serve.
    #[allow(clippy::result_large_err)]
    pub fn serve<S: Read + Write>(&self, stream: &mut S) {
        if let Err(e) = deliver::agent_serve(stream, &self.env, |d| self.handle(d)) {
            msg_warn!("delivery request: {e}");
        }
    }

    // reason: the handler's error type is fixed by deliver::agent_serve.
    #[allow(clippy::result_large_err)]
    fn handle(&self, d: &mut Delivery<'_>) -> Result<(), Dsn> {
        let content = d
            .queue_file()
            .read_content()
            .map_err(|e| Dsn::new("4.3.0", &format!("cannot read message content: {e}")))?;
        let req = d.request().clone();
        let mut msg = Message::new(req.queue_id.as_str(), &req.sender, content);
        let envl = d.queue_file().envelope();
        for (var, attr) in [
            ("CLIENT_HOSTNAME", "client_name"),
            ("CLIENT_ADDRESS", "client_address"),
            ("CLIENT_HELO", "helo_name"),
            ("CLIENT_PROTOCOL", "protocol_name"),
        ] {
            if let Some(v) = envl.attr(attr) {
                msg.env.push((var, v.to_string()));
            }
        }
        if let Some(e) = &req.envid {
            msg.env.push(("ENVID", e.clone()));
        }
        let agent = Agent {
            settings: &self.settings,
            cfg: &self.cfg,
            aliases: &self.aliases,
            host: &self.host,
        };
        let mut seen = Seen::default();
        for (pos, r) in req.recipients.iter().enumerate() {
            let orig = r.orig.clone().unwrap_or_else(|| r.address.clone());
            let mut out = Results::default();
            agent.deliver(
                &msg,
                State::root(&r.address, &orig, &req.sender),
                &mut seen,
                &mut out,
            );
            let forwards = std::mem::take(&mut out.forwards);
            let expanded = notify::is_expansion(out.leaves.len(), forwards.len());
            for rec in notify::success_records(r, &out.leaves, expanded) {
                let qdir = &d.env().qdir;
                if let Err(e) = dsn_log::append(qdir, queue::TRACE, &req.queue_id, &rec) {
                    msg_warn!("{}: {} log: {e}", req.queue_id.as_str(), queue::TRACE);
                }
            }
            let notify = notify::member_notify(r.notify, expanded);
            self.forward(&msg, &req, r, notify, forwards, &mut out);
            if let Err(e) = report(d, pos, &r.address, &out) {
                msg_warn!("{}: {e}", req.queue_id.as_str());
            }
        }
        Ok(())
    }

    /// Submit `forwards` to cleanup, grouped by sender and delivering
    /// address, adding a leaf per address.
    fn forward(
        &self,
        msg: &Message,
        req: &deliver::DeliveryRequest,
        r: &deliver::RequestRecipient,
        notify: queue::DsnNotify,
        forwards: Vec<Forward>,
        out: &mut Results,
    ) {
        let mut groups: Vec<(String, String, Vec<Forward>)> = Vec::new();
        for f in forwards {
            match groups
                .iter_mut()
                .find(|(s, v, _)| *s == f.sender && *v == f.via)
            {
                Some(g) => g.2.push(f),
                None => groups.push((f.sender.clone(), f.via.clone(), vec![f])),
            }
        }
        for (sender, via, list) in groups {
            let mut sub = Submission::local();
            sub.flags = FLAG_BOUNCE;
            sub.sender = sender;
            sub.envid = req.envid.clone();
            sub.ret = req.ret.map(|x| match x {
                queue::DsnRet::Full => "full".to_string(),
                queue::DsnRet::Hdrs => "hdrs".to_string(),
            });
            sub.recipients = list
                .iter()
                .map(|f| SubmitRecipient {
                    address: f.to.clone(),
                    orcpt: r.orcpt.clone(),
                    notify: notify.0,
                })
                .collect();
            let mut head = String::new();
            if self.settings.delivered_header("forward") {
                head = format!("Delivered-To: {}\n", via.to_lowercase());
            }
            let outcome = submit(&self.cfg, &sub, head.as_bytes(), &msg.content);
            for f in list {
                out.leaves.push(Leaf {
                    to: f.to,
                    orig: f.orig,
                    outcome: outcome.clone(),
                });
            }
        }
    }
}

/// Send one message to cleanup. Returns `forwarded as ID` or the failure
/// as a deferral (a rejection by cleanup bounces).
pub fn submit(cfg: &Config, sub: &Submission, head: &[u8], content: &[u8]) -> Outcome {
    let run = || -> Result<String, global::cleanup_client::CleanupError> {
        let mut s = CleanupSession::open_config(cfg)?;
        s.envelope(sub)?;
        s.write_content(head)?;
        s.write_content(content)?;
        Ok(s.finish()?.queue_id)
    };
    match run() {
        Ok(id) => Outcome::Sent(format!("forwarded as {id}")),
        Err(e) if !e.is_temporary() => {
            let dsn = Dsn::split(deliver::DsnStatus::BOUNCE, &e.reason());
            Outcome::Bounce(dsn.status.to_string(), dsn.reason)
        }
        Err(e) => {
            msg_warn!("forward: cleanup: {e}");
            let dsn = Dsn::split(deliver::DsnStatus::DEFER, &e.reason());
            Outcome::Defer(dsn.status.with_class(4).to_string(), dsn.reason)
        }
    }
}

fn dsn_of(o: &Outcome) -> Dsn {
    Dsn::new(o.dsn(), o.text())
}

/// Report recipient `pos` (address `addr`) with the leaves in `out`.
fn report(
    d: &mut Delivery<'_>,
    pos: usize,
    addr: &str,
    out: &Results,
) -> deliver::error::Result<()> {
    match out.leaves.as_slice() {
        [] => return d.finish(pos, Action::Delivered, deliver::DsnStatus::SENT),
        [one] if one.to == addr => {
            let dsn = dsn_of(&one.outcome);
            return match &one.outcome {
                Outcome::Sent(_) => d.sent(pos, RELAY, &dsn),
                Outcome::Bounce(..) => d.bounce(pos, RELAY, &dsn),
                Outcome::Defer(..) => d.defer(pos, RELAY, &dsn),
            };
        }
        _ => {}
    }
    for leaf in &out.leaves {
        let dsn = dsn_of(&leaf.outcome);
        match &leaf.outcome {
            Outcome::Sent(_) => d.sent_member(pos, &leaf.to, RELAY, &dsn)?,
            Outcome::Bounce(..) => d.bounce_member(pos, &leaf.to, RELAY, &dsn)?,
            Outcome::Defer(..) => d.defer_member(pos, &leaf.to, RELAY, &dsn)?,
        }
    }
    let worst = out
        .worst()
        .map(dsn_of)
        .unwrap_or_else(|| Dsn::new("2.0.0", ""));
    let action = match out.worst() {
        Some(Outcome::Defer(..)) => Action::Deferred,
        Some(Outcome::Bounce(..)) => Action::Bounced,
        _ => Action::Delivered,
    };
    d.finish(pos, action, worst.status)
}
