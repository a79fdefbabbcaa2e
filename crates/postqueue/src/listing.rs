//! NAME
//!   listing - get the queue listing from showq(8)
//!
//! DESCRIPTION
//!   [`fetch`] connects to `$queue_directory/public/showq` and reads the
//!   listing ([`global::showq`]). If the service cannot be reached and
//!   the caller is root or `mail_owner`, it warns and runs
//!   `$daemon_directory/showq -S` (stand-alone mode) with the same
//!   configuration, reading the listing from its standard output;
//!   anyone else gets `fatal: Queue report unavailable - mail system is
//!   down`.
use global::attr::AttrReader;
use global::showq::{read_entry, QueueEntry};
use global::Config;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::strings::strip_os_error;
use util::{msg_fatal, msg_warn};

fn read_all<R: Read>(r: R) -> Result<Vec<QueueEntry>, String> {
    let mut reader = AttrReader::new(r);
    let mut out = Vec::new();
    while let Some(e) = read_entry(&mut reader).map_err(|e| e.to_string())? {
        out.push(e);
    }
    Ok(out)
}

fn privileged(cfg: &Config) -> bool {
    let euid = nix::unistd::geteuid();
    let uid = nix::unistd::getuid();
    if uid.is_root() || euid.is_root() {
        return true;
    }
    let owner = cfg.get("mail_owner").unwrap_or_default();
    nix::unistd::User::from_name(&owner)
        .ok()
        .flatten()
        .is_some_and(|u| u.uid == uid)
}

fn down() -> ! {
    util::msg::set_fatal_status(crate::EX_UNAVAILABLE);
    msg_fatal!("Queue report unavailable - mail system is down")
}

/// The queue listing (see DESCRIPTION). Exits on failure.
pub fn fetch(cfg: &Config) -> Vec<QueueEntry> {
    let qdir = PathBuf::from(
        cfg.get("queue_directory")
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    );
    let err = match UnixStream::connect(qdir.join("public/showq")) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(Duration::from_secs(
                cfg.get_time("ipc_timeout").unwrap_or(3600),
            )));
            match read_all(s) {
                Ok(v) => return v,
                Err(e) => msg_fatal!("showq service: {e}"),
            }
        }
        Err(e) => strip_os_error(&e.to_string()),
    };
    if !privileged(cfg) {
        down();
    }
    msg_warn!("Mail system is down -- accessing queue directly (Connect to the Postfix showq service: {err})");
    let showq = PathBuf::from(
        cfg.get("daemon_directory")
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    )
    .join("showq");
    let mut child = Command::new(&showq)
        .arg("-S")
        .env("MAIL_CONFIG", cfg.config_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            msg_fatal!(
                "execute {}: {}",
                showq.display(),
                strip_os_error(&e.to_string())
            )
        });
    let out = child.stdout.take().expect("piped stdout");
    let got = read_all(out);
    let _ = child.wait();
    got.unwrap_or_else(|e| msg_fatal!("{}: {e}", showq.display()))
}
