//! NAME
//!   testkit - start real Postern instances from system tests
//!
//! SYNOPSIS
//!   use testkit::Instance;
//!   let inst = Instance::builder()
//!       .master_cf_line("127.0.0.1:{port:echo} inet n - n - 2 testd")
//!       .start();
//!   let mut c = inst.connect("echo");
//!   let g = c.greeting();
//!   assert_eq!(c.cmd("PING"), "250 PONG");
//!
//! DESCRIPTION
//!   One call starts a real instance (the real `postfix` and `master`)
//!   from a temporary directory on free loopback ports; helpers run
//!   `postfix` and `postconf` against it, read its log, find its processes
//!   in /proc and talk to its services line by line ([`Client`]).
//!
//!   The programs come from [`bin_dir`]: `POSTERN_BIN_DIR` when set, else
//!   the cargo target directory that holds the running test
//!   (`target/debug`), so run `cargo build --workspace` before the system
//!   tests.
//!
//!   Tests may run in parallel: each instance has its own directory and
//!   ports.
//!
//! SEE ALSO
//!   tests/tests/*.rs (the system tests), postfix(1), master(8)
#![forbid(unsafe_code)]

pub mod client;
pub mod debian;
pub mod instance;
pub mod ports;
pub mod run;
pub mod users;

pub use client::{Client, Greeting};
pub use debian::DebianPostfix;
pub use instance::{Builder, Instance, Proc};
pub use run::Run;
pub use users::{test_user, TestUser};
pub use util::procfs;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The directory with the built Postern programs: `$POSTERN_BIN_DIR`, else
/// the target directory of the running test executable (the parent of
/// its `deps/` directory). Panics when `postfix` is not there, telling to
/// run `cargo build --workspace`.
pub fn bin_dir() -> PathBuf {
    let dir = match std::env::var_os("POSTERN_BIN_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let exe = std::env::current_exe().expect("current_exe");
            let mut dir = exe
                .parent()
                .expect("test executable has a directory")
                .to_path_buf();
            if dir.ends_with("deps") {
                dir.pop();
            }
            dir
        }
    };
    assert!(
        dir.join("postfix").is_file(),
        "{}/postfix does not exist: run `cargo build --workspace` first (or set POSTERN_BIN_DIR)",
        dir.display()
    );
    dir
}

/// Call `f` every 20 ms until it returns `Some` or `timeout` passes.
pub fn wait_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The user ID of `pid` (real, from `/proc/PID/status`).
pub fn proc_uid(pid: i32) -> Option<u32> {
    procfs::uids(pid).map(|(real, _)| real)
}

/// The root directory of `pid` (`/proc/PID/root`).
pub fn proc_root(pid: i32) -> Option<PathBuf> {
    procfs::root(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_polls_and_gives_up() {
        let mut n = 0;
        assert_eq!(
            wait_until(Duration::from_secs(5), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        assert_eq!(wait_until(Duration::from_millis(50), || None::<()>), None);
    }
}
