//! NAME
//!   command - deliver a message to a command's standard input
//!
//! DESCRIPTION
//!   A `|command` destination (from an alias, `.forward` or `:include:`
//!   file) and `mailbox_command` run the command with the message on
//!   standard input, as Postfix's local(8) does:
//!
//!   - through `local_command_shell` (e.g. `/usr/bin/smrsh -c`) when set,
//!     else `/bin/sh -c`;
//!   - as the delivery's user and group (real and effective), with only
//!     that group, in the user's home directory when it exists, else `/`;
//!   - with a clean environment: the names in `export_environment`, then
//!     `HOME`, `LOGNAME`, `USER`, `SHELL`, `PATH`, `SENDER`, `RECIPIENT`,
//!     `LOCAL`, `EXTENSION`, `DOMAIN`, `ORIGINAL_RECIPIENT`, `ENVID`,
//!     `CLIENT_HOSTNAME`, `CLIENT_ADDRESS`, `CLIENT_HELO`,
//!     `CLIENT_PROTOCOL` (local(8) "EXTERNAL COMMAND DELIVERY");
//!   - in its own process group, killed after `command_time_limit`.
//!
//!   Exit status 0 is delivery; the sysexits(3) codes map to enhanced
//!   status codes (75 `EX_TEMPFAIL` and 71 `EX_OSERR` defer, the others
//!   bounce); other codes bounce with 5.3.0; death by a signal defers.
//!   The first part of the command's output goes in the reason.
//!
//! SEE ALSO
//!   local(8), postconf(5) `local_command_shell`, `command_time_limit`,
//!   `export_environment`.
use crate::errors::Outcome;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Gid, Pid, Uid};

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Most bytes of command output kept for the reason text.
const OUTPUT_KEEP: usize = 1000;

/// How to run one command delivery.
#[derive(Debug, Clone)]
pub struct CommandSpec {
    /// The command text (without the leading `|`).
    pub command: String,
    /// `local_command_shell`; empty = `/bin/sh -c`.
    pub shell: String,
    /// Run as this user and group (`None`: as this process).
    pub ids: Option<(Uid, Gid)>,
    /// Working directory candidate (the home directory).
    pub cwd: Option<PathBuf>,
    /// Environment, in order.
    pub env: Vec<(String, String)>,
    /// `command_time_limit`.
    pub time_limit: Duration,
}

/// Map an exit code to Postfix's sysexits text and status code.
pub fn sysexit(code: i32) -> (&'static str, Option<&'static str>) {
    match code {
        64 => ("5.3.0", Some("command line usage error")),
        65 => ("5.6.0", Some("data format error")),
        66 => ("5.3.0", Some("cannot open input")),
        67 => ("5.1.1", Some("user unknown")),
        68 => ("5.1.2", Some("host name unknown")),
        69 => ("5.3.0", Some("service unavailable")),
        70 => ("5.3.0", Some("internal software error")),
        71 => ("4.3.0", Some("system resource problem")),
        72 => ("5.3.0", Some("critical OS file missing")),
        73 => ("5.2.0", Some("can't create output")),
        74 => ("5.3.0", Some("input/output error")),
        75 => ("4.3.0", Some("temporary failure")),
        76 => ("5.5.0", Some("remote protocol error")),
        77 => ("5.7.0", Some("permission denied")),
        78 => ("5.3.5", Some("local configuration error")),
        _ => ("5.3.0", None),
    }
}

fn shell_argv(shell: &str, command: &str) -> Vec<String> {
    let mut argv: Vec<String> = if shell.trim().is_empty() {
        vec!["/bin/sh".into(), "-c".into()]
    } else {
        shell.split_whitespace().map(str::to_string).collect()
    };
    argv.push(command.to_string());
    argv
}

fn with_output(text: String, output: &[u8]) -> String {
    let out = String::from_utf8_lossy(output);
    let out: String = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.is_empty() {
        text
    } else {
        format!("{text}. Command output: {out}")
    }
}

/// Classify the end of a command: exit `status`, collected `output`.
pub fn judge(command: &str, status: std::process::ExitStatus, output: &[u8]) -> Outcome {
    if let Some(code) = status.code() {
        if code == 0 {
            return Outcome::Sent(format!("delivered to command: {command}"));
        }
        let (dsn, _) = sysexit(code);
        let text = with_output(
            format!("Command died with status {code}: \"{command}\""),
            output,
        );
        return if dsn.starts_with('4') {
            Outcome::defer(dsn, text)
        } else {
            Outcome::bounce(dsn, text)
        };
    }
    let sig = status.signal().unwrap_or(0);
    Outcome::defer(
        "4.3.0",
        with_output(
            format!("Command died with signal {sig}: \"{command}\""),
            output,
        ),
    )
}

/// Run `spec` with the message written to its standard input by
/// `feed`. Returns the outcome; never fails otherwise (a command that
/// cannot be started defers with the reason).
pub fn run(
    spec: &CommandSpec,
    feed: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Outcome {
    let argv = shell_argv(&spec.shell, &spec.command);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let cwd = spec
        .cwd
        .as_ref()
        .filter(|d| d.is_dir())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/"));
    cmd.current_dir(cwd);
    if let Some((uid, gid)) = spec.ids {
        if crate::privs::enabled() {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::defer(
                "4.3.0",
                format!(
                    "cannot execute command \"{}\": {}",
                    spec.command,
                    crate::errors::strerror(&e)
                ),
            )
        }
    };
    let pgid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut r| {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let room = OUTPUT_KEEP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            kept
        })
    })
    .collect();
    if let Some(mut stdin) = child.stdin.take() {
        // A command may exit without reading everything; its exit
        // status decides, so a broken pipe is not an error here.
        let _ = feed(&mut stdin).and_then(|_| stdin.flush());
    }
    let deadline = Instant::now() + spec.time_limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                let _ = killpg(pgid, Signal::SIGKILL);
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Outcome::defer("4.3.0", format!("wait for command: {e}"));
            }
        }
    };
    let mut output = Vec::new();
    for r in readers {
        if let Ok(o) = r.join() {
            output.extend(o);
        }
    }
    output.truncate(OUTPUT_KEEP);
    match status {
        Some(st) => judge(&spec.command, st, &output),
        None => Outcome::bounce(
            "5.3.0",
            format!("Command time limit exceeded: \"{}\"", spec.command),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cmd: &str) -> CommandSpec {
        CommandSpec {
            command: cmd.into(),
            shell: String::new(),
            ids: None,
            cwd: None,
            env: vec![("RECIPIENT".into(), "u@x".into())],
            time_limit: Duration::from_secs(20),
        }
    }

    #[test]
    fn command_gets_message_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o");
        let c = format!(
            "cat > {}; echo \"$RECIPIENT\" >> {}",
            out.display(),
            out.display()
        );
        let o = run(&spec(&c), |w| w.write_all(b"hello\n"));
        assert_eq!(o, Outcome::Sent(format!("delivered to command: {c}")));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello\nu@x\n");
    }

    #[test]
    fn exit_codes_map_to_bounce_and_defer() {
        let o = run(&spec("echo no such mailbox; exit 67"), |_| Ok(()));
        assert_eq!(
            o,
            Outcome::bounce(
                "5.1.1",
                "Command died with status 67: \"echo no such mailbox; exit 67\". Command output: no such mailbox"
            )
        );
        let o = run(&spec("exit 75"), |_| Ok(()));
        assert_eq!(o.dsn(), "4.3.0");
        assert!(matches!(o, Outcome::Defer(..)));
        let o = run(&spec("exit 1"), |w| w.write_all(&[b'x'; 200_000]));
        assert_eq!(o.dsn(), "5.3.0");
    }

    #[test]
    fn time_limit_kills_the_command() {
        let mut s = spec("sleep 30");
        s.time_limit = Duration::from_millis(200);
        let o = run(&s, |_| Ok(()));
        assert_eq!(
            o,
            Outcome::bounce("5.3.0", "Command time limit exceeded: \"sleep 30\"")
        );
    }
}
