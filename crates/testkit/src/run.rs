//! NAME
//!   run - run a command with a deadline and capture its output
//!
//! DESCRIPTION
//!   System tests run `postfix`, `postconf` and scripts. Their output goes
//!   to anonymous temporary files, not pipes: `postfix start` leaves a
//!   daemon behind, and a daemon that kept a pipe open would make the
//!   reader wait forever. A command that outlives its deadline is killed
//!   and the test fails with what it printed.
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default deadline for one command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished command left.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub what: String,
    /// The exit status (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Whether the exit status is 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panic unless the exit status is 0; returns `self` for chaining.
    pub fn assert_ok(&self) -> &Run {
        assert!(self.success(), "{} failed: {self}", self.what);
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn read_all(mut f: std::fs::File) -> String {
    let mut s = String::new();
    let _ = f.seek(SeekFrom::Start(0));
    let _ = f.read_to_string(&mut s);
    s
}

/// Run `cmd` with standard input from /dev/null; kill it after `timeout`.
/// Panics when it cannot be started or had to be killed.
pub fn run(cmd: Command, timeout: Duration) -> Run {
    run_inner(cmd, None, timeout)
}

/// Like [`run`], with `input` on the command's standard input.
pub fn run_with_input(cmd: Command, input: &[u8], timeout: Duration) -> Run {
    run_inner(cmd, Some(input), timeout)
}

fn run_inner(mut cmd: Command, input: Option<&[u8]>, timeout: Duration) -> Run {
    let what = format!("{cmd:?}");
    let out = tempfile::tempfile().expect("temporary file");
    let err = tempfile::tempfile().expect("temporary file");
    let stdin = match input {
        None => Stdio::null(),
        Some(bytes) => {
            use std::io::Write;
            let mut f = tempfile::tempfile().expect("temporary file");
            f.write_all(bytes).expect("write input");
            f.seek(SeekFrom::Start(0)).expect("rewind input");
            Stdio::from(f)
        }
    };
    cmd.stdin(stdin)
        .stdout(out.try_clone().expect("dup"))
        .stderr(err.try_clone().expect("dup"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child
            .try_wait()
            .unwrap_or_else(|e| panic!("wait {what}: {e}"))
        {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} did not finish within {timeout:?}\n--- stdout\n{}--- stderr\n{}",
                read_all(out),
                read_all(err)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        what,
        code: status.code(),
        stdout: read_all(out),
        stderr: read_all(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_captured() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let r = run(c, COMMAND_TIMEOUT);
        assert_eq!(r.code, Some(3));
        assert_eq!(r.stdout, "out\n");
        assert_eq!(r.stderr, "err\n");
        assert!(!r.success());
    }

    #[test]
    #[should_panic(expected = "did not finish")]
    fn slow_commands_are_killed() {
        let mut c = Command::new("sleep");
        c.arg("5");
        run(c, Duration::from_millis(200));
    }
}
