//! NAME
//!   postdrop - put a message from sendmail into the maildrop queue
//!
//! SYNOPSIS
//!   postdrop [-rv] [-c config_dir]
//!
//! DESCRIPTION
//!   postdrop reads one message from standard input in the maildrop
//!   record stream that sendmail(1) writes (`queue::maildrop`, also
//!   described in doc/QUEUE_FORMAT.md) and stores it as a queue file in
//!   `$queue_directory/maildrop`: created under a temporary name,
//!   renamed to its queue ID, written, fsynced, and marked complete with
//!   mode 0744 (readable by pickup, which runs as `mail_owner`; the file
//!   is owned by the submitting user, which pickup reports as `uid=`).
//!   Only then does it exit with status 0, and it wakes the pickup(8)
//!   service through `public/pickup`.
//!
//!   postdrop is installed set-gid `setgid_group` (mode 2755, as postfix-files says), the group
//!   that may write into the otherwise closed `maildrop` directory
//!   (mode 0730). A user other than root or `mail_owner` may name a
//!   configuration directory other than the default only when the
//!   default configuration lists it (`alternate_config_directories`).
//!
//!   A stream that is malformed or cut short, a stream larger than
//!   `message_size_limit` (which includes envelope information; postdrop
//!   then says `uid=UID: File too large`, as Postfix's), and a signal
//!   that stops postdrop before the file is complete, leave no file
//!   behind.
//!
//!   `-r` (the record stream) is the only input format and may be
//!   given for compatibility; `-v` logs more.
//!
//! DIAGNOSTICS
//!   `postdrop: warning: uid=UID: REASON` for a refused stream;
//!   fatal errors exit with status 75 (`EX_TEMPFAIL`).
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, hash_queue_names, hash_queue_depth,
//!   alternate_config_directories, message_size_limit, and the logging
//!   parameters.
//!
//! SEE ALSO
//!   sendmail(1), pickup(8), doc/QUEUE_FORMAT.md
#![forbid(unsafe_code)]

mod limit;

use global::{cmdlog, Config};
use queue::{QueueDir, QueueWriter, MAILDROP};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use util::{msg_fatal, msg_info, msg_verbose, msg_warn};

/// Mode of a complete maildrop file (Postfix's postdrop: 0744).
const MAILDROP_MODE: u32 = 0o744;

fn usage() -> ! {
    msg_fatal!("usage: postdrop [-rv] [-c config_dir]")
}

/// Remove the unfinished file if a signal arrives before commit.
fn guard_signals(pending: Arc<Mutex<Option<PathBuf>>>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGQUIT, SIGTERM])
    else {
        msg_warn!("cannot catch signals");
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let guard = pending.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(p) = guard.as_ref() {
                let _ = std::fs::remove_file(p);
            }
            msg_warn!("terminated by signal {sig}");
            std::process::exit(75);
        }
    });
}

fn main() {
    cmdlog::init("postdrop");
    util::msg::set_fatal_status(75);
    let mut args = std::env::args().skip(1);
    let mut config_dir: Option<PathBuf> = None;
    let mut verbose = 0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-c" => config_dir = Some(args.next().map(PathBuf::from).unwrap_or_else(|| usage())),
            "-r" => {}
            "-v" => verbose += 1,
            _ => usage(),
        }
    }
    util::msg::set_verbose(verbose);
    let dir = Config::resolve_dir(config_dir.as_deref());
    if let Err(e) = global::confcheck::check_config_dir(&dir) {
        msg_fatal!("{e}");
    }
    let cfg = Config::load(Some(&dir)).unwrap_or_else(|e| msg_fatal!("{e}"));
    cmdlog::open(&cfg);
    // The user sees postdrop's problems through sendmail's exit status
    // and the log; stderr keeps them too, as Postfix's.
    let uid = nix::unistd::getuid();
    let qdir = QueueDir::from_config(&cfg).unwrap_or_else(|e| msg_fatal!("{e}"));

    let pending = Arc::new(Mutex::new(None::<PathBuf>));
    guard_signals(Arc::clone(&pending));
    let mut w = {
        let mut slot = pending.lock().unwrap_or_else(|p| p.into_inner());
        let w = QueueWriter::create(&qdir, MAILDROP).unwrap_or_else(|e| {
            msg_fatal!(
                "uid={uid}: create file in maildrop: {}",
                util::strings::strip_os_error(&e.to_string())
            )
        });
        *slot = Some(w.path().to_path_buf());
        w
    };
    if let Err(e) = w.set_ready_mode(MAILDROP_MODE) {
        msg_fatal!("{e}");
    }
    let limit = cfg
        .get_int("message_size_limit")
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    let stdin = std::io::stdin();
    let (limited, exceeded) = limit::Limited::new(stdin.lock(), u64::try_from(limit).unwrap_or(0));
    let mut input = std::io::BufReader::new(limited);
    match queue::maildrop::import(&mut input, &mut w) {
        Ok(n) => msg_verbose!("postdrop: {n} recipients"),
        Err(_) if exceeded.get() => {
            drop(w);
            let e = std::io::Error::from_raw_os_error(nix::libc::EFBIG);
            msg_warn!("uid={uid}: {e}");
            std::process::exit(75);
        }
        Err(reason) => {
            drop(w);
            msg_warn!("uid={uid}: {reason}");
            std::process::exit(75);
        }
    }
    let id = {
        let mut slot = pending.lock().unwrap_or_else(|p| p.into_inner());
        let id = w.commit().unwrap_or_else(|e| {
            msg_fatal!(
                "uid={uid}: write maildrop file: {}",
                util::strings::strip_os_error(&e.to_string())
            )
        });
        *slot = None;
        id
    };
    msg_verbose!("postdrop: queued as maildrop/{id}");
    let pickup = Path::new(&qdir.root()).join("public/pickup");
    if let Err(e) = global::trigger::send(&pickup, b"W") {
        msg_warn!(
            "unable to wake up {}: {}",
            pickup.display(),
            util::strings::strip_os_error(&e.to_string())
        );
    }
    if verbose > 0 {
        msg_info!("{id}: uid={uid}");
    }
}
