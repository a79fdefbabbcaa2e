//! NAME
//!   sendmail, mailq, newaliases - Postfix-compatible Sendmail interface
//!
//! SYNOPSIS
//!   sendmail [-tiv] [-f sender] [-F name] [-N dsn] [-R ret] [-V envid]
//!            [-B type] [-C config] [-b mode] [-q[Rsite|Iid]] [recipient ...]
//!   mailq      (= sendmail -bp = postqueue -p)
//!   newaliases (= sendmail -bi = postalias $alias_database)
//!
//! DESCRIPTION
//!   The Sendmail command-line interface of Postern. The default mode
//!   reads a message from standard input and queues it through the
//!   set-gid postdrop(1) ([`submit`]). Other modes run another program:
//!   `-bp` postqueue -p, `-q` postqueue -f, `-qRsite` postqueue -s site,
//!   `-qIid` postqueue -i id, `-bi`/`-I` postalias on `alias_database`
//!   (or the `-oA` file), `-bs` `$daemon_directory/smtpd -S`, `-bd`
//!   `postfix start` in the background. `-bv` is refused until address
//!   verification exists. `-bh`, `-bH` and `-q<interval>` do nothing.
//!   Options: [`opts`].
//!
//! DIAGNOSTICS
//!   Messages go to standard error and the mail log as
//!   `postfix/sendmail`; every fatal error, a usage error included,
//!   exits with status 75 (`EX_TEMPFAIL`), as Postfix's sendmail does.
//!   A configuration directory without main.cf is a fatal error.
//!
//! CONFIGURATION PARAMETERS
//!   alias_database, command_directory, daemon_directory, and the
//!   logging parameters.
//!
//! SEE ALSO
//!   sendmail(1), postdrop(1), pickup(8), postqueue(1), postalias(1)
#![forbid(unsafe_code)]

mod addr;
mod message;
mod opts;
mod submit;

use global::{cmdlog, Config};
use opts::Mode;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use util::{msg_fatal, msg_warn};

/// Exit status of a fatal error (`EX_TEMPFAIL`).
const EX_TEMPFAIL: i32 = 75;

fn dir_param(cfg: &Config, name: &str) -> PathBuf {
    PathBuf::from(cfg.get(name).unwrap_or_else(|e| msg_fatal!("{e}")))
}

/// Replace this process with `path args...`; never returns.
fn exec(path: &Path, args: &[String]) -> ! {
    let e = Command::new(path).args(args).exec();
    msg_fatal!("execute {}: {e}", path.display())
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let program = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .filter(|n| *n == "mailq" || *n == "newaliases")
        .unwrap_or("sendmail")
        .to_string();
    cmdlog::init(&program);
    util::msg::set_fatal_status(EX_TEMPFAIL);
    let opts = opts::parse(&program, &argv[1..]).unwrap_or_else(|e| {
        if let Some(note) = &e.note {
            eprintln!("{program}: {note}");
        }
        msg_fatal!("{}", e.fatal)
    });
    util::msg::set_verbose(opts.verbose);
    // Postfix's programs refuse to run without main.cf.
    let main_cf = Config::resolve_dir(opts.config_dir.as_deref()).join("main.cf");
    if let Err(e) = std::fs::metadata(&main_cf) {
        msg_fatal!("open {}: {e}", main_cf.display());
    }
    let cfg = Config::load(opts.config_dir.as_deref()).unwrap_or_else(|e| msg_fatal!("{e}"));
    cmdlog::open(&cfg);
    for w in &opts.warnings {
        msg_warn!("{w}");
    }
    let conf = cfg.config_dir().display().to_string();
    let postqueue = |flag: &str, arg: Option<&str>| -> ! {
        let mut args = vec!["-c".to_string(), conf.clone(), flag.to_string()];
        args.extend(arg.map(String::from));
        exec(
            &dir_param(&cfg, "command_directory").join("postqueue"),
            &args,
        )
    };
    match &opts.mode {
        Mode::Deliver => submit::deliver(&opts, &cfg),
        Mode::ListQueue => postqueue("-p", None),
        Mode::FlushAll => postqueue("-f", None),
        Mode::FlushSite(s) => postqueue("-s", Some(s)),
        Mode::FlushId(id) => postqueue("-i", Some(id)),
        Mode::Aliases => {
            let tables = match &opts.alias_file {
                Some(f) => vec![f.clone()],
                None => cfg
                    .get_list("alias_database")
                    .unwrap_or_else(|e| msg_fatal!("{e}")),
            };
            if tables.is_empty() {
                std::process::exit(0);
            }
            let mut args = vec!["-c".to_string(), conf.clone()];
            args.extend((0..opts.verbose).map(|_| "-v".to_string()));
            args.extend(tables);
            exec(
                &dir_param(&cfg, "command_directory").join("postalias"),
                &args,
            )
        }
        Mode::Smtp => {
            let smtpd = dir_param(&cfg, "daemon_directory").join("smtpd");
            if !smtpd.is_file() {
                msg_fatal!(
                    "-bs: stand-alone SMTP mode needs {}, which is not installed",
                    smtpd.display()
                );
            }
            std::env::set_var("MAIL_CONFIG", cfg.config_dir());
            let mut args = vec!["-S".to_string(), "-n".to_string(), "smtpd".to_string()];
            args.extend((0..opts.verbose).map(|_| "-v".to_string()));
            exec(&smtpd, &args)
        }
        Mode::Daemon => {
            // As Postfix: start the mail system in the background.
            let postfix = dir_param(&cfg, "command_directory").join("postfix");
            let mut cmd = Command::new(&postfix);
            cmd.arg("-c").arg(&conf);
            cmd.args((0..opts.verbose).map(|_| "-v")).arg("start");
            match cmd.spawn() {
                Ok(_) => std::process::exit(0),
                Err(e) => msg_fatal!("execute {}: {e}", postfix.display()),
            }
        }
        Mode::Nothing => std::process::exit(0),
        Mode::Verify => msg_fatal!("-bv: address verification is not supported yet"),
    }
}
