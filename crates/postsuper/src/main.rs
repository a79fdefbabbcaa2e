//! NAME
//!   postsuper - Postfix-compatible queue maintenance for the superuser
//!
//! SYNOPSIS
//!   postsuper [-psv] [-c config_dir] [-d queue_id] [-e queue_id]
//!             [-f queue_id] [-h queue_id] [-H queue_id] [-r queue_id]
//!             [queue...]
//!
//! DESCRIPTION
//!   `-d ID` deletes a message and its `defer`, `bounce` and `trace`
//!   logs; `-h ID` puts a message on hold (moves it to `hold`); `-H ID`
//!   releases it to `deferred` (time stamps reset, so it is retried at
//!   qmgr's next deferred scan); `-r ID` requeues it: the file moves to
//!   `maildrop`, pickup(8) hands it to cleanup(8) again (new queue ID,
//!   rewriting redone, arrival time kept by the file), and its logs are
//!   removed. As in Postfix, the message's old content filter and
//!   redirect are not carried over: it gets the `content_filter` of a new
//!   local submission.
//!
//!   `-e ID` requests forced expiration (Postfix 3.5): the file is marked
//!   (doc/QUEUE_FORMAT.md "Forced expiration") and the next time qmgr(8)
//!   finishes with it or takes it for delivery, its remaining recipients
//!   are returned to the sender (`status=force-expired` in the log), with
//!   the reason of their last deferral, else `message is administratively
//!   expired`. A message on hold stays there: `-f ID` marks it and also
//!   releases it from hold.
//!
//!   Each of these may be repeated; requests are carried out in
//!   command-line order. An ID of `ALL` means every message of the
//!   queues concerned, an ID of `-` reads IDs from standard input (one or
//!   more per line). Queues concerned by default: `-d`, `-e`, `-f` and
//!   `-r` hold, incoming, active, deferred; `-h` incoming, active,
//!   deferred; `-H` hold. Queue names after the options replace that set.
//!
//!   Without `-d`, `-e`, `-f`, `-h`, `-H`, `-r`, `-s` or `-p`, postsuper
//!   does what `-s -p` does and exits 0, as Postfix's (postfix-script
//!   runs it so at start and check).
//!
//!   `-s` checks the queue structure ([`structure`]): a file at the
//!   wrong hash level (after `hash_queue_depth` or `hash_queue_names`
//!   changed) is moved to where it belongs, and a file whose name does
//!   not match its inode number (restored from a backup) is renamed, with
//!   its logs. `-p` removes temporary files left by writers that died
//!   (`<digits>.<digits>` names).
//!
//!   Messages as Postfix's, on standard error and in the log: `ID:
//!   removed`, `ID: expired`, `ID: placed on hold`, `ID: released from
//!   hold`, `ID: requeued` for IDs named explicitly, then, for each kind
//!   of request given, in this order: `Requeued: N message(s)`, `Deleted:
//!   N message(s)`, `Force-expired: N message(s)`, `Placed on hold: N
//!   message(s)`, `Released from hold: N message(s)` (`-f` counts under
//!   both `Force-expired` and `Released from hold`; a message marked
//!   already is not counted again).
//!
//!   postsuper runs as root (then as `mail_owner`, so that what it
//!   creates belongs to the mail system) or as `mail_owner`. After `-r`
//!   it wakes pickup, after `-H` or `-f` releases, qmgr.
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, hash_queue_names, hash_queue_depth, mail_owner,
//!   and the logging parameters.
//!
//! SEE ALSO
//!   postqueue(1), postcat(1), qmgr(8), doc/QUEUE_FORMAT.md
#![forbid(unsafe_code)]

mod ops;
mod structure;

use global::{cmdlog, Config};
use ops::{Op, Request};
use queue::QueueDir;
use std::io::BufRead;
use std::path::PathBuf;
use util::{msg_fatal, msg_info};

const USAGE: &str = "usage: postsuper [-c config_dir] [-d queue_id (delete)] \
[-e queue_id (expire)] [-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] \
[-H queue_id (un-hold)] [-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] \
[-v (verbose)] [queue...]";

/// The parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    config_dir: Option<PathBuf>,
    requests: Vec<Request>,
    structure: bool,
    purge: bool,
    verbose: u32,
    queues: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !arg.starts_with('-') || arg == "-" {
            a.queues.extend(args[i - 1..].iter().cloned());
            break;
        }
        let mut value = || {
            i += 1;
            args.get(i - 1).cloned().ok_or_else(|| USAGE.to_string())
        };
        let op = match arg.as_str() {
            "-c" => {
                a.config_dir = Some(PathBuf::from(value()?));
                continue;
            }
            "-s" => {
                a.structure = true;
                continue;
            }
            "-p" => {
                a.purge = true;
                continue;
            }
            "-v" => {
                a.verbose += 1;
                continue;
            }
            "-d" => Op::Delete,
            "-e" => Op::Expire,
            "-f" => Op::ExpireRelease,
            "-h" => Op::Hold,
            "-H" => Op::Release,
            "-r" => Op::Requeue,
            _ => return Err(USAGE.to_string()),
        };
        a.requests.push(Request { op, id: value()? });
    }
    Ok(a)
}

/// Drop root privileges to `mail_owner` (Postfix's postsuper does).
fn become_mail_owner(cfg: &Config) {
    let owner = cfg.get("mail_owner").unwrap_or_else(|e| msg_fatal!("{e}"));
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_name(&owner).ok().flatten();
    if uid.is_root() {
        let Some(u) = user else {
            msg_fatal!("unknown mail_owner: {owner}");
        };
        if !u.uid.is_root() {
            nix::unistd::setgroups(&[u.gid])
                .and_then(|()| nix::unistd::setgid(u.gid))
                .and_then(|()| nix::unistd::setuid(u.uid))
                .unwrap_or_else(|e| msg_fatal!("set privileges to {owner}: {e}"));
        }
    } else if user.map(|u| u.uid) != Some(uid) {
        msg_fatal!("use of this command is reserved for the superuser");
    }
}

/// Read queue IDs from standard input (`-d -`).
fn stdin_ids() -> Vec<String> {
    std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .flat_map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .collect()
}

fn main() {
    cmdlog::init("postsuper");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut a = parse(&args).unwrap_or_else(|e| msg_fatal!("{e}"));
    util::msg::set_verbose(a.verbose);
    let cfg = Config::load(a.config_dir.as_deref()).unwrap_or_else(|e| msg_fatal!("{e}"));
    cmdlog::open(&cfg);
    for q in &a.queues {
        if !ops::MESSAGE_QUEUES.contains(&q.as_str()) {
            msg_fatal!("invalid directory name: {q}");
        }
    }
    if a.requests.is_empty() && !a.structure && !a.purge {
        // Postfix's default action (what postfix-script runs at start and
        // check): structure check and purge of stale temporary files.
        a.structure = true;
        a.purge = true;
    }
    let qdir = QueueDir::from_config(&cfg).unwrap_or_else(|e| msg_fatal!("{e}"));
    if let Err(e) = std::env::set_current_dir(qdir.root()) {
        msg_fatal!("chdir {}: {e}", qdir.root().display());
    }
    become_mail_owner(&cfg);
    if a.requests.iter().any(|r| r.id == "-") {
        let ids = stdin_ids();
        let mut expanded = Vec::new();
        for r in a.requests.drain(..) {
            if r.id == "-" {
                expanded.extend(ids.iter().map(|id| Request {
                    op: r.op,
                    id: id.clone(),
                }));
            } else {
                expanded.push(r);
            }
        }
        a.requests = expanded;
    }
    if a.structure {
        structure::check(&qdir);
    }
    if a.purge {
        structure::purge(&qdir);
    }
    let counts = ops::run(&qdir, &a.requests, &a.queues);
    for op in ops::SUMMARIES {
        if a.requests.iter().any(|r| r.op.summaries().contains(&op)) {
            let n = counts.get(&op).copied().unwrap_or(0);
            msg_info!(
                "{}: {n} message{}",
                op.summary(),
                if n == 1 { "" } else { "s" }
            );
        }
    }
    let root = qdir.root().to_path_buf();
    let wake = |what: &str, req: &[u8]| {
        if let Err(e) = global::trigger::send(&root.join(what), req) {
            util::msg_verbose!("wake up {what}: {e}");
        }
    };
    if counts.get(&Op::Requeue).copied().unwrap_or(0) > 0 {
        wake("public/pickup", b"W");
    }
    if counts.get(&Op::Release).copied().unwrap_or(0) > 0 {
        wake("public/qmgr", &[global::trigger::QMGR_SCAN_DEFERRED]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Args, String> {
        parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        let a = p(&[
            "-c", "/etc/x", "-d", "ALL", "-h", "ID1", "-s", "deferred", "hold",
        ])
        .unwrap();
        assert_eq!(a.config_dir, Some(PathBuf::from("/etc/x")));
        assert_eq!(
            a.requests,
            [
                Request {
                    op: Op::Delete,
                    id: "ALL".into()
                },
                Request {
                    op: Op::Hold,
                    id: "ID1".into()
                }
            ]
        );
        assert!(a.structure && !a.purge);
        assert_eq!(a.queues, ["deferred", "hold"]);
        assert!(p(&["-d"]).is_err());
        assert!(p(&["-x"]).is_err());
        assert_eq!(p(&["-H", "-", "-r", "X", "-p"]).unwrap().requests.len(), 2);
    }
}
