//! NAME
//!   context - start-up shared by the three server frameworks
//!
//! DESCRIPTION
//!   [`start`] does, in order, what every service program does before it
//!   serves (as Postfix's skeletons do):
//!
//!   1. parse the command line ([`crate::args`]);
//!   2. load main.cf from `MAIL_CONFIG` and apply the `-o` overrides;
//!   3. open the log with ident `$syslog_name/<program>`: `maillog_file`
//!      when set, else syslog with `syslog_facility` (before any chroot);
//!   4. adopt the status pipe (fd 5) and the listen descriptors (fd 6 on);
//!   5. run the pre-init hook (still privileged: read a private key);
//!   6. change to `queue_directory`, chroot (`-c`) and drop to
//!      `mail_owner` (`-u`) when running as root ([`crate::privs`]);
//!   7. run the post-init hook;
//!   8. make SIGTERM exit the process quietly (status 0).
//!
//!   The frameworks then serve until `max_use` clients, `max_idle` idle
//!   seconds, or master's going away.
use crate::args::{self, ServerArgs};
use crate::listen::Listener;
use crate::privs;
use crate::status::StatusChannel;
use global::master_cf::ServiceType;
use global::master_proto::{GENERATION_ENV, LISTEN_FD};
use global::Config;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use util::{msg_fatal, msg_verbose, msg_warn};

/// What a service program knows about itself once started.
#[derive(Debug)]
pub struct Context {
    /// The program name (`smtpd`), used in the log ident.
    pub program: String,
    /// The master.cf service name (`-n`), e.g. `smtp` or `127.0.0.1:2525`.
    pub service: String,
    /// The master.cf service type (`-t`).
    pub kind: ServiceType,
    /// The parsed command line.
    pub args: ServerArgs,
    /// main.cf with the `-o` overrides applied.
    pub config: Config,
    /// Clients to serve before exiting (parameter `max_use`); 0 = no limit.
    pub max_use: u64,
    /// Idle time before exiting (parameter `max_idle`); `None` = never.
    pub max_idle: Option<Duration>,
}

type PreInit<S> = Box<dyn FnOnce(&Context) -> S>;
type PostInit<S> = Box<dyn FnOnce(&mut S, &Context)>;

/// A service program's start-up hooks and options. `S` is the program's
/// own state, made by the pre-init hook and handed to every call.
pub struct Hooks<S> {
    pre_init: PreInit<S>,
    post_init: Option<PostInit<S>>,
    unlimited: bool,
}

impl<S> std::fmt::Debug for Hooks<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("unlimited", &self.unlimited)
            .finish_non_exhaustive()
    }
}

impl Hooks<()> {
    /// No hooks: no state, nothing to do before serving.
    pub fn new() -> Hooks<()> {
        Hooks::pre_init(|_| ())
    }
}

impl Default for Hooks<()> {
    fn default() -> Self {
        Hooks::new()
    }
}

impl<S> Hooks<S> {
    /// `f` runs before chroot and privilege drop (read keys, open files
    /// outside the queue) and returns the program's state.
    pub fn pre_init(f: impl FnOnce(&Context) -> S + 'static) -> Hooks<S> {
        Hooks {
            pre_init: Box::new(f),
            post_init: None,
            unlimited: false,
        }
    }

    /// `f` runs after chroot and privilege drop, before the first client.
    pub fn post_init(mut self, f: impl FnOnce(&mut S, &Context) + 'static) -> Hooks<S> {
        self.post_init = Some(Box::new(f));
        self
    }

    /// Ignore `max_use` and `max_idle`: the process stays until master
    /// goes away (resident daemons such as qmgr and tlsmgr; Postfix's
    /// `MAIL_SERVER_UNLIMITED`).
    pub fn unlimited(mut self) -> Hooks<S> {
        self.unlimited = true;
        self
    }
}

/// Everything a framework needs after start-up.
#[derive(Debug)]
pub struct Started<S> {
    /// The program's context.
    pub ctx: Context,
    /// The program's state from the pre-init hook.
    pub state: S,
    /// The inherited listeners (none in stand-alone mode).
    pub listeners: Vec<Listener>,
    /// The status channel to master.
    pub status: StatusChannel,
}

fn open_log(program: &str, config: &Config) {
    util::msg::init(
        &format!("postfix/{program}"),
        &config.get("myhostname").unwrap_or_default(),
    );
    match global::cmdlog::open_sink(config, program) {
        Ok(()) => {}
        Err(global::cmdlog::SinkError::File(e)) => msg_fatal!("{e}"),
        Err(global::cmdlog::SinkError::Syslog(e)) => msg_warn!("{e}"),
    }
}

fn time_param(config: &Config, name: &str) -> u64 {
    config.get_time(name).unwrap_or_else(|e| msg_fatal!("{e}"))
}

/// Do the start-up steps listed above for program `program` and return
/// what the framework needs. Fatal errors are logged and exit status 1.
pub fn start<S>(program: &str, hooks: Hooks<S>) -> Started<S> {
    util::msg::init(&format!("postfix/{program}"), "localhost");
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            // Master gave the process no terminal: say why in the log.
            if let Ok(config) = Config::load(None) {
                open_log(program, &config);
                global::core_params::report_or_exit(&config);
            }
            msg_fatal!("{e}")
        }
    };
    util::msg::log_to_stderr(args.debug);
    util::msg::set_verbose(args.verbose);
    let mut config = Config::load(None).unwrap_or_else(|e| msg_fatal!("{e}"));
    // The read-only parameters Postfix sets for every daemon, so that
    // master.cf can say `-o syslog_name=postfix/$service_name`.
    let service_name = args.service.clone().unwrap_or_else(|| program.to_string());
    config.set_override("service_name", &service_name);
    config.set_override("process_name", program);
    for (n, v) in &args.overrides {
        config.set_override(n, v);
    }
    open_log(program, &config);

    let kind_name = args.kind.clone().unwrap_or_else(|| "unix".to_string());
    let kind = ServiceType::parse(&kind_name)
        .unwrap_or_else(|| msg_fatal!("unknown service type: {kind_name}"));
    let max_use = if hooks.unlimited {
        0
    } else {
        config
            .get_int("max_use")
            .unwrap_or_else(|e| msg_fatal!("{e}"))
    };
    let idle = if hooks.unlimited {
        0
    } else {
        time_param(&config, "max_idle")
    };
    let ctx = Context {
        program: program.to_string(),
        service: args.service.clone().unwrap_or_else(|| program.to_string()),
        kind,
        max_use: u64::try_from(max_use).unwrap_or(0),
        max_idle: (idle > 0).then(|| Duration::from_secs(idle)),
        args,
        config,
    };

    let (listeners, status) = if ctx.args.stand_alone {
        (Vec::new(), StatusChannel::none())
    } else {
        let generation = std::env::var(GENERATION_ENV)
            .ok()
            .and_then(|g| u32::from_str_radix(g.trim(), 16).ok())
            .unwrap_or(0);
        let status = StatusChannel::inherit(generation).unwrap_or_else(|e| {
            msg_fatal!("status descriptor: {e} (this program is started by master)")
        });
        let count = ctx.args.socket_count.unwrap_or(1);
        let mut listeners = Vec::with_capacity(count);
        for i in 0..count {
            let fd = LISTEN_FD + i32::try_from(i).unwrap_or(0);
            let owned =
                sys::take_fd(fd).unwrap_or_else(|e| msg_fatal!("listen descriptor {fd}: {e}"));
            listeners.push(
                Listener::adopt(kind, owned)
                    .unwrap_or_else(|e| msg_fatal!("listen descriptor {fd}: {e}")),
            );
        }
        if listeners.is_empty() {
            msg_fatal!("no listen descriptors");
        }
        (listeners, status)
    };

    let mut state = (hooks.pre_init)(&ctx);

    let queue_dir = ctx
        .config
        .get("queue_directory")
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    let root = nix::unistd::geteuid().is_root();
    let owner = if root && ctx.args.unprivileged {
        let name = ctx
            .config
            .get("mail_owner")
            .unwrap_or_else(|e| msg_fatal!("{e}"));
        Some(
            privs::lookup_owner(&name, ctx.config.config_dir())
                .unwrap_or_else(|e| msg_fatal!("{e}")),
        )
    } else {
        None
    };
    privs::enter_jail(&queue_dir, ctx.args.chroot, owner).unwrap_or_else(|e| msg_fatal!("{e}"));

    if let Some(post) = hooks.post_init {
        post(&mut state, &ctx);
    }
    let always = Arc::new(AtomicBool::new(true));
    if let Err(e) =
        signal_hook::flag::register_conditional_shutdown(signal_hook::consts::SIGTERM, 0, always)
    {
        msg_warn!("cannot catch SIGTERM: {e}");
    }
    msg_verbose!(
        "{}: service {} type {} ready",
        program,
        ctx.service,
        ctx.kind.as_str()
    );
    Started {
        ctx,
        state,
        listeners,
        status,
    }
}
