//! NAME
//!   postqueue - Postfix-compatible queue control for users
//!
//! SYNOPSIS
//!   postqueue [-v] [-c config_dir] -f | -i queue_id | -j | -p | -s site
//!
//! DESCRIPTION
//!   `-p` prints the queue in the Sendmail `mailq` layout and `-j` as one
//!   JSON object per message ([`format`]); both ask the showq(8) service
//!   over `public/showq` ([`listing`]). When showq cannot be reached and
//!   the caller is root or `mail_owner`, postqueue warns `Mail system is
//!   down -- accessing queue directly` and runs `$daemon_directory/showq
//!   -S` itself.
//!
//!   `-f` asks qmgr(8) to deliver all deferred mail now (trigger `A` on
//!   `public/qmgr`) and wakes pickup(8). `-s site` and `-i queue_id`
//!   would, with Postfix's fast-flush service, select one destination
//!   or one message; Postern has no flush(8) yet, so both check their
//!   argument, warn that they deliver all deferred mail (`no fast flush
//!   service: delivering all deferred mail, not only mail for SITE`), and
//!   do what `-f` does.
//!
//!   postqueue is installed set-gid `setgid_group` so that it can reach
//!   `public/`; an ordinary user may name a non-default configuration
//!   directory only when the default configuration lists it in
//!   `alternate_config_directories`.
//!
//! DIAGNOSTICS
//!   `postqueue: fatal: chdir /var/spool/postfix: No such file or
//!   directory` when the queue directory is missing;
//!   `postqueue: fatal: Queue report unavailable - mail system is down`
//!   and `Cannot flush mail queue - mail system is down` (exit status
//!   69, `EX_UNAVAILABLE`); usage errors exit with status 64.
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, daemon_directory, mail_owner,
//!   alternate_config_directories, and the logging parameters.
//!
//! SEE ALSO
//!   mailq(1), showq(8), qmgr(8), postsuper(1)
#![forbid(unsafe_code)]

mod format;
mod listing;

use global::{cmdlog, Config};
use std::io::Write;
use std::path::{Path, PathBuf};
use util::{msg_fatal, msg_warn};

/// Exit status when the mail system is down (`EX_UNAVAILABLE`).
pub const EX_UNAVAILABLE: i32 = 69;
/// Exit status of a usage error (`EX_USAGE`).
const EX_USAGE: i32 = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    List,
    Json,
    Flush,
    Site(String),
    Id(String),
}

fn usage() -> ! {
    util::msg::set_fatal_status(EX_USAGE);
    msg_fatal!("usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site")
}

fn parse(args: &[String]) -> (Option<PathBuf>, Option<Action>, u32) {
    let mut dir = None;
    let mut action = None;
    let mut verbose = 0;
    let mut i = 0;
    let set = |a: Action, action: &mut Option<Action>| {
        if action.is_some() {
            usage();
        }
        *action = Some(a);
    };
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        let mut value = || {
            i += 1;
            args.get(i - 1).cloned().unwrap_or_else(|| usage())
        };
        match a {
            "-c" => dir = Some(PathBuf::from(value())),
            "-p" => set(Action::List, &mut action),
            "-j" => set(Action::Json, &mut action),
            "-f" => set(Action::Flush, &mut action),
            "-s" => {
                let v = value();
                set(Action::Site(v), &mut action);
            }
            "-i" => {
                let v = value();
                set(Action::Id(v), &mut action);
            }
            "-v" => verbose += 1,
            _ => usage(),
        }
    }
    (dir, action, verbose)
}

fn flush(cfg: &Config) {
    let root = PathBuf::from(
        cfg.get("queue_directory")
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    );
    if let Err(e) = global::trigger::send(
        &root.join("public/qmgr"),
        &[global::trigger::QMGR_FLUSH_ALL],
    ) {
        util::msg::set_fatal_status(EX_UNAVAILABLE);
        msg_fatal!(
            "Cannot flush mail queue - mail system is down ({})",
            util::strings::strip_os_error(&e.to_string())
        );
    }
    if let Err(e) = global::trigger::send(&root.join("public/pickup"), b"W") {
        msg_warn!(
            "unable to wake up public/pickup: {}",
            util::strings::strip_os_error(&e.to_string())
        );
    }
}

fn main() {
    cmdlog::init("postqueue");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, action, verbose) = parse(&args);
    util::msg::set_verbose(verbose);
    let dir = Config::resolve_dir(dir.as_deref());
    if let Err(e) = global::confcheck::check_config_dir(&dir) {
        msg_fatal!("{e}");
    }
    let cfg = Config::load(Some(Path::new(&dir))).unwrap_or_else(|e| msg_fatal!("{e}"));
    cmdlog::open(&cfg);
    let action = action.unwrap_or_else(|| usage());
    // As Postfix: nothing works without the queue directory.
    let queue_dir = cfg
        .get("queue_directory")
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    if let Err(e) = std::env::set_current_dir(&queue_dir) {
        util::msg::set_fatal_status(EX_UNAVAILABLE);
        msg_fatal!("chdir {queue_dir}: {e}");
    }
    match action {
        Action::List | Action::Json => {
            let json = action == Action::Json;
            let entries = listing::fetch(&cfg);
            let mut out = std::io::stdout().lock();
            if json {
                for e in &entries {
                    let _ = writeln!(out, "{}", format::json_line(e));
                }
            } else {
                let mut m = format::Mailq::new();
                entries.iter().for_each(|e| m.add(e));
                let _ = out.write_all(m.finish().as_bytes());
            }
        }
        Action::Flush => flush(&cfg),
        Action::Site(site) => {
            if site.is_empty() || site.contains(|c: char| c.is_whitespace() || c == '/') {
                util::msg::set_fatal_status(EX_USAGE);
                msg_fatal!("bad site name: {site}");
            }
            msg_warn!(
                "no fast flush service: delivering all deferred mail, not only mail for {site}"
            );
            flush(&cfg);
        }
        Action::Id(id) => {
            if queue::QueueId::parse(&id).is_none() {
                util::msg::set_fatal_status(EX_USAGE);
                msg_fatal!("bad queue ID: {id}");
            }
            msg_warn!("no fast flush service: delivering all deferred mail, not only message {id}");
            flush(&cfg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> (Option<PathBuf>, Option<Action>, u32) {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        assert_eq!(p(&["-p"]).1, Some(Action::List));
        assert_eq!(
            p(&["-c", "/x", "-j"]),
            (Some("/x".into()), Some(Action::Json), 0)
        );
        assert_eq!(
            p(&["-s", "example.com", "-v"]).1,
            Some(Action::Site("example.com".into()))
        );
        assert_eq!(p(&["-i", "ID"]).1, Some(Action::Id("ID".into())));
        assert_eq!(p(&["-f"]).1, Some(Action::Flush));
        assert_eq!(p(&[]).1, None);
    }
}
