//! NAME
//!   procfs - read process facts from Linux /proc
//!
//! DESCRIPTION
//!   The `postfix` command (waiting for an instance to stop) and the test
//!   kit (finding an instance's processes) need a few facts about other
//!   processes: state, parent, process group, user IDs, root directory and
//!   argument vector. They are read from `/proc/PID/stat`, `status`,
//!   `cmdline` and `root` (proc(5)).
//!
//!   A zombie (state `Z`) has exited; it is only waiting for its parent to
//!   collect its status, so [`alive`] counts it as gone.
use std::path::PathBuf;

/// The fields of `/proc/PID/stat` that callers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The process ID.
    pub pid: i32,
    /// The state letter (`R`, `S`, `D`, `Z`, ...).
    pub state: char,
    /// The parent's process ID.
    pub ppid: i32,
    /// The process group ID.
    pub pgrp: i32,
    /// The session ID.
    pub session: i32,
}

/// Parse the text of `/proc/PID/stat`. The command name (field 2) is in
/// parentheses and may itself contain spaces and parentheses, so the
/// fields are counted from the last `)`. Returns `None` on malformed text.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let mut rest = text.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    Some(Stat {
        pid,
        state,
        ppid,
        pgrp,
        session,
    })
}

/// The stat fields of process `pid`; `None` when it does not exist.
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` exists and has not exited (zombies count as gone).
pub fn alive(pid: i32) -> bool {
    matches!(stat(pid), Some(s) if s.state != 'Z')
}

/// Every process ID listed in /proc.
pub fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// The stat fields of every live (non-zombie) process.
pub fn live_processes() -> Vec<Stat> {
    pids()
        .into_iter()
        .filter_map(stat)
        .filter(|s| s.state != 'Z')
        .collect()
}

/// Live processes whose process group is `pgrp`.
pub fn group_members(pgrp: i32) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|s| s.pgrp == pgrp)
        .map(|s| s.pid)
        .collect()
}

/// Live children of `ppid`.
pub fn children(ppid: i32) -> Vec<i32> {
    live_processes()
        .into_iter()
        .filter(|s| s.ppid == ppid)
        .map(|s| s.pid)
        .collect()
}

/// The real and effective user IDs of `pid` (the `Uid:` line of
/// `/proc/PID/status`).
pub fn uids(pid: i32) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Uid:"))?;
    let mut f = line["Uid:".len()..].split_whitespace();
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

/// The root directory of `pid` (the `/proc/PID/root` link; a chrooted
/// process shows its chroot directory). Needs privilege for other users'
/// processes.
pub fn root(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/root")).ok()
}

/// The argument vector of `pid` (`/proc/PID/cmdline`).
pub fn cmdline(pid: i32) -> Vec<String> {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return Vec::new();
    };
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let s = parse_stat("42 (a (b) c) S 1 40 40 0 -1 4194560 0").unwrap();
        assert_eq!(
            s,
            Stat {
                pid: 42,
                state: 'S',
                ppid: 1,
                pgrp: 40,
                session: 40
            }
        );
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_is_visible() {
        let me = std::process::id() as i32;
        assert!(alive(me));
        assert!(pids().contains(&me));
        assert!(uids(me).is_some());
        assert!(!cmdline(me).is_empty());
    }
}
