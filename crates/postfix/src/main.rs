//! NAME
//!   postfix - Postern control program
//!
//! SYNOPSIS
//!   postfix [-Dv] [-c config_dir] command [name=value ...]
//!
//! DESCRIPTION
//!   Starts, stops and checks one Postern instance, as Postfix's
//!   postfix(1) does (Postfix runs the postfix-script shell script; Postern
//!   does the same work here). Commands:
//!
//!   - `check`: validate main.cf and master.cf, create missing queue
//!     subdirectories and the data directory, warn about wrong owners and
//!     modes, unused parameters, master.cf services whose program is not
//!     installed (for inet services: where nothing will listen) and
//!     Berkeley DB tables (`hash:`, `btree:`), which Postern cannot read.
//!     `start` prints the same warnings.
//!   - `start`: `check`, then start master in the background; returns once
//!     master serves. `start-fg`: the same with master in the foreground.
//!   - `stop`: orderly stop; returns when no process of the instance is
//!     left. `abort`: SIGTERM to master without waiting.
//!   - `reload`: validate main.cf and master.cf as `check` does (a
//!     broken file is a fatal error naming file and line, and master is
//!     not signalled), then master re-reads them.
//!   - `status`: exit 0 when master runs, 1 when not.
//!   - `set-permissions [name=value ...]`: apply the settings with
//!     `postconf -e`, then set the owners and modes of the queue and data
//!     directories and of the installed programs.
//!   - `flush`: run `postqueue -f`.
//!   - `logrotate`: rename `maillog_file` with a time-stamp suffix
//!     (`maillog_file_rotate_suffix`), make master reopen it, and compress
//!     the old file with `maillog_file_compressor` (see [`logrotate`]).
//!
//!   Every command first checks `myhostname`, `mydomain` and `myorigin`
//!   (`fatal: file /etc/postfix/main.cf: parameter myhostname: bad
//!   parameter value: bad host name`) and changes to `queue_directory`,
//!   which must exist (`fatal: chdir(/var/spool/postfix): No such file or
//!   directory`; the installer creates it, `check` and `start` create the
//!   queue subdirectories).
//!
//!   Options: `-c config_dir` (also `MAIL_CONFIG`) selects the instance;
//!   `-v` verbose logging (also passed to master); `-D` exports
//!   `MAIL_DEBUG` for daemons run under `debugger_command`.
//!
//!   Every path comes from the instance's main.cf: `queue_directory`,
//!   `data_directory`, `daemon_directory`, `command_directory`.
//!
//! DIAGNOSTICS
//!   Configuration errors: `postfix: fatal: FILE, line N: reason`.
//!   Administrative messages go to standard error and the log as
//!   `postfix/postfix-script: ...`. Exit status 0 on success, 1 on error.
//!
//! SEE ALSO
//!   master(8), postconf(1), postconf(5)
#![forbid(unsafe_code)]

mod check;
mod control;
mod instance;
mod layout;
mod logrotate;
mod say;

use control::Opts;
use instance::Instance;
use std::path::PathBuf;
use std::process::Command;

const USAGE: &str = "usage: postfix [-c config_dir] [-Dv] command";
const COMMANDS: &str = "postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)";

/// The parsed command line.
#[derive(Debug)]
struct Args {
    config_dir: Option<PathBuf>,
    opts: Opts,
    command: String,
    rest: Vec<String>,
}

/// getopt-style parsing of `[-Dv] [-c dir]`, options before the command.
fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut args = Args {
        config_dir: None,
        opts: Opts::default(),
        command: String::new(),
        rest: Vec::new(),
    };
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let flags: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < flags.len() {
            match flags[j] {
                'v' => args.opts.verbose += 1,
                'D' => args.opts.debug = true,
                'c' => {
                    let tail: String = flags[j + 1..].iter().collect();
                    let val = if !tail.is_empty() {
                        tail
                    } else {
                        i += 1;
                        argv.get(i)
                            .cloned()
                            .ok_or("option requires an argument -- 'c'")?
                    };
                    args.config_dir = Some(PathBuf::from(val));
                    j = flags.len();
                    continue;
                }
                c => return Err(format!("invalid option -- '{c}'")),
            }
            j += 1;
        }
        i += 1;
    }
    args.command = argv.get(i).cloned().unwrap_or_default();
    args.rest = argv
        .get(i + 1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    Ok(args)
}

fn main() {
    say::init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("postfix: {e}");
            util::msg_fatal!("{USAGE}");
        }
    };
    util::msg::set_verbose(args.opts.verbose);
    let inst =
        Instance::load(args.config_dir.as_deref()).unwrap_or_else(|e| util::msg_fatal!("{e}"));
    say::open_log(&inst.cfg);
    std::process::exit(run(inst, &args));
}

/// Dispatch one command. Returns the exit status (fatal errors exit
/// directly with status 1).
fn run(inst: Instance, args: &Args) -> i32 {
    let cmd = args.command.as_str();
    check::core(&inst);
    check::preflight(&inst);
    match cmd {
        "check" => {
            let ids = check::fatal_checks(&inst);
            check::warnings(&inst, &ids);
            0
        }
        "start" | "start-fg" => {
            if control::running(&inst) {
                say::fatal("the Postfix mail system is already running");
            }
            let ids = check::fatal_checks(&inst);
            check::warnings(&inst, &ids);
            if cmd == "start" {
                control::start(&inst, args.opts)
            } else {
                control::start_fg(&inst, args.opts)
            }
        }
        "stop" => control::stop(&inst),
        "abort" => control::abort(&inst),
        "reload" => {
            // Refuse a configuration master would not load (it would
            // only log "configuration not reloaded").
            control::fatal_if_not_running(&inst);
            check::config_checks(&inst);
            control::reload(&inst)
        }
        "status" => control::status(&inst),
        "set-permissions" | "upgrade-configuration" => {
            let inst = apply_settings(inst, &args.rest);
            if cmd == "set-permissions" {
                let ids = inst.ids().unwrap_or_else(|e| util::msg_fatal!("{e}"));
                if let Err(e) = layout::set_permissions(&inst, &ids) {
                    say::fatal(&e);
                }
            }
            0
        }
        "flush" => flush(&inst),
        "logrotate" => logrotate::run(&inst, &args.rest),
        _ => say::fatal(&format!("unknown command: '{cmd}'. Usage: {COMMANDS}")),
    }
}

/// `name=value` arguments of set-permissions and upgrade-configuration:
/// written to main.cf with `postconf -e`; returns the reloaded instance.
fn apply_settings(inst: Instance, settings: &[String]) -> Instance {
    if settings.is_empty() {
        return inst;
    }
    for s in settings {
        if !s.contains('=') {
            say::fatal(&format!("bad name=value argument: {s}"));
        }
    }
    let postconf = inst.command_dir.join("postconf");
    let status = Command::new(&postconf)
        .arg("-c")
        .arg(&inst.config_dir)
        .arg("-e")
        .args(settings)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(_) => say::fatal(&format!("{} -e failed", postconf.display())),
        Err(e) => say::fatal(&format!("cannot execute {}: {e}", postconf.display())),
    }
    Instance::load(Some(&inst.config_dir)).unwrap_or_else(|e| util::msg_fatal!("{e}"))
}

/// `postfix flush`: `postqueue -f` of this instance.
fn flush(inst: &Instance) -> i32 {
    let postqueue = inst.command_dir.join("postqueue");
    if !postqueue.is_file() {
        say::fatal(&format!(
            "cannot execute {}: not installed (the queue comes with a later release)",
            postqueue.display()
        ));
    }
    match Command::new(&postqueue)
        .arg("-c")
        .arg(&inst.config_dir)
        .arg("-f")
        .status()
    {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => say::fatal(&format!("cannot execute {}: {e}", postqueue.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_before_the_command() {
        let a = parse_args(&argv("-c /tmp/x -vv start")).unwrap();
        assert_eq!(a.config_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(a.opts.verbose, 2);
        assert_eq!(a.command, "start");
        let a = parse_args(&argv("-Dc/etc/p set-permissions mail_owner=x")).unwrap();
        assert!(a.opts.debug);
        assert_eq!(a.config_dir, Some(PathBuf::from("/etc/p")));
        assert_eq!(a.rest, vec!["mail_owner=x"]);
        assert_eq!(
            parse_args(&argv("-x stop")).unwrap_err(),
            "invalid option -- 'x'"
        );
        assert!(parse_args(&argv("-c")).is_err());
        assert_eq!(parse_args(&[]).unwrap().command, "");
    }
}
