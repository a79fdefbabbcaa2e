//! NAME
//!   layout - owners and modes of an instance's directories and programs
//!
//! DESCRIPTION
//!   The part of Postfix's `postfix-files` table that Postern has: the
//!   queue and data directories, the daemon and command directories with
//!   their programs, and main.cf/master.cf. Facts from Postfix 3.7:
//!
//!   - `queue_directory` root:0755; `pid` root:0755;
//!   - `active bounce corrupt defer deferred flush hold incoming private
//!     saved trace` mail_owner:0700;
//!   - `maildrop` mail_owner:setgid_group 0730, `public`
//!     mail_owner:setgid_group 0710;
//!   - `data_directory` mail_owner:0700;
//!   - programs root:0755, except `postdrop`, `postqueue` and `postlog`
//!     root:setgid_group 02755; main.cf and master.cf root:0644.
//!
//!   [`create_missing`] makes the directories marked "create" that do not
//!   exist (what `postfix start` and `postfix check` do);
//!   [`set_permissions`] also fixes existing entries (`postfix
//!   set-permissions`); [`check_warnings`] lists what is wrong
//!   (postfix-script's check-warn). Only root changes owners; an ordinary
//!   user running a development instance gets modes only, on files it
//!   owns, and no owner warnings for root-owned entries.
use crate::instance::{Ids, Instance};
use nix::unistd::{chown, Gid, Uid};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

/// Which main.cf directory an entry lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Queue,
    Data,
    Daemon,
    Command,
    Config,
}

/// Who should own an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Root,
    MailOwner,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
struct Entry {
    base: Base,
    /// Path below the base ("" = the base itself).
    rel: &'static str,
    dir: bool,
    owner: Owner,
    /// Group `setgid_group` (else the group is left alone).
    setgid_group: bool,
    mode: u32,
    /// Created when missing (postfix-files flag `c`).
    create: bool,
}

const fn dir(
    base: Base,
    rel: &'static str,
    owner: Owner,
    setgid_group: bool,
    mode: u32,
    create: bool,
) -> Entry {
    Entry {
        base,
        rel,
        dir: true,
        owner,
        setgid_group,
        mode,
        create,
    }
}

const fn file(base: Base, rel: &'static str, setgid_group: bool, mode: u32) -> Entry {
    Entry {
        base,
        rel,
        dir: false,
        owner: Owner::Root,
        setgid_group,
        mode,
        create: false,
    }
}

use Base::{Command, Config, Daemon, Data, Queue};
use Owner::{MailOwner, Root};

/// The directories, in creation order (parents first).
const DIRS: &[Entry] = &[
    dir(Config, "", Root, false, 0o755, false),
    dir(Daemon, "", Root, false, 0o755, false),
    dir(Queue, "", Root, false, 0o755, true),
    dir(Queue, "active", MailOwner, false, 0o700, true),
    dir(Queue, "bounce", MailOwner, false, 0o700, true),
    dir(Queue, "corrupt", MailOwner, false, 0o700, true),
    dir(Queue, "defer", MailOwner, false, 0o700, true),
    dir(Queue, "deferred", MailOwner, false, 0o700, true),
    dir(Queue, "flush", MailOwner, false, 0o700, true),
    dir(Queue, "hold", MailOwner, false, 0o700, true),
    dir(Queue, "incoming", MailOwner, false, 0o700, true),
    dir(Queue, "private", MailOwner, false, 0o700, true),
    dir(Queue, "maildrop", MailOwner, true, 0o730, true),
    dir(Queue, "public", MailOwner, true, 0o710, true),
    dir(Queue, "pid", Root, false, 0o755, true),
    dir(Queue, "saved", MailOwner, false, 0o700, true),
    dir(Queue, "trace", MailOwner, false, 0o700, true),
    dir(Data, "", MailOwner, false, 0o700, true),
];

/// The daemon programs Postfix installs in `daemon_directory`; those
/// that exist are root:0755.
pub const DAEMONS: &[&str] = &[
    "anvil",
    "bounce",
    "cleanup",
    "discard",
    "dnsblog",
    "error",
    "flush",
    "lmtp",
    "local",
    "master",
    "nqmgr",
    "oqmgr",
    "pickup",
    "pipe",
    "postlogd",
    "postscreen",
    "proxymap",
    "qmgr",
    "qmqpd",
    "scache",
    "showq",
    "smtp",
    "smtpd",
    "spawn",
    "tlsmgr",
    "tlsproxy",
    "trivial-rewrite",
    "verify",
    "virtual",
];

/// The commands Postfix installs in `command_directory`.
pub const COMMANDS: &[&str] = &[
    "postalias",
    "postcat",
    "postconf",
    "postfix",
    "postkick",
    "postlock",
    "postlog",
    "postmap",
    "postmulti",
    "postsuper",
    "postdrop",
    "postqueue",
];

/// Commands that are set-gid `setgid_group`, mode 02755.
pub const SETGID_COMMANDS: &[&str] = &["postdrop", "postlog", "postqueue"];

/// Every file entry (programs and configuration files).
fn files() -> Vec<Entry> {
    let mut out: Vec<Entry> = DAEMONS
        .iter()
        .map(|d| file(Daemon, d, false, 0o755))
        .collect();
    for c in COMMANDS {
        out.push(if SETGID_COMMANDS.contains(c) {
            file(Command, c, true, 0o2755)
        } else {
            file(Command, c, false, 0o755)
        });
    }
    out.push(file(Config, "main.cf", false, 0o644));
    out.push(file(Config, "master.cf", false, 0o644));
    out
}

fn path_of(inst: &Instance, e: &Entry) -> PathBuf {
    let base = match e.base {
        Queue => &inst.queue_dir,
        Data => &inst.data_dir,
        Daemon => &inst.daemon_dir,
        Command => &inst.command_dir,
        Config => &inst.config_dir,
    };
    if e.rel.is_empty() {
        base.clone()
    } else {
        base.join(e.rel)
    }
}

fn owner_uid(e: &Entry, ids: &Ids) -> Uid {
    match e.owner {
        Root => Uid::from_raw(0),
        MailOwner => ids.owner_uid,
    }
}

/// Give `path` the owner and mode of `e`. As root: chown, then chmod. As
/// another user: chmod only when the caller owns the file. Errors: a
/// message naming the path.
fn apply(e: &Entry, path: &PathBuf, ids: &Ids) -> Result<(), String> {
    let me = Uid::effective();
    if me.is_root() {
        let gid = e.setgid_group.then_some(ids.setgid_gid);
        chown(path, Some(owner_uid(e, ids)), gid)
            .map_err(|err| format!("chown {}: {err}", path.display()))?;
    } else {
        let meta =
            std::fs::metadata(path).map_err(|err| format!("stat {}: {err}", path.display()))?;
        if meta.uid() != me.as_raw() {
            return Ok(());
        }
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(e.mode))
        .map_err(|err| format!("chmod {}: {err}", path.display()))
}

/// Create the missing queue and data directories with their owners and
/// modes (postfix-files entries with the `c` flag). Existing directories
/// are left alone. Returns the paths created. Errors: the first failure.
pub fn create_missing(inst: &Instance, ids: &Ids) -> Result<Vec<PathBuf>, String> {
    let mut made = Vec::new();
    for e in DIRS.iter().filter(|e| e.create) {
        let path = path_of(inst, e);
        if path.is_dir() {
            continue;
        }
        std::fs::create_dir_all(&path).map_err(|err| format!("mkdir {}: {err}", path.display()))?;
        apply(e, &path, ids)?;
        made.push(path);
    }
    Ok(made)
}

/// `postfix set-permissions`: create what is missing, then give every
/// existing directory and program of the table its owner and mode.
/// Programs that are not installed are skipped. Errors: the first
/// failure.
pub fn set_permissions(inst: &Instance, ids: &Ids) -> Result<(), String> {
    create_missing(inst, ids)?;
    for e in DIRS.iter().chain(files().iter()) {
        let path = path_of(inst, e);
        let wanted = |m: std::fs::Metadata| {
            if e.dir {
                m.is_dir()
            } else {
                m.file_type().is_file()
            }
        };
        if path.symlink_metadata().is_ok_and(wanted) {
            apply(e, &path, ids)?;
        }
    }
    Ok(())
}

/// What is wrong with the existing directories (postfix-script's
/// check-warn): `not owned by root: PATH`, `not owned by postfix: PATH`,
/// `not owned by group postdrop: PATH`, `group or other writable: PATH`
/// for root-owned directories, and `damaged message: PATH` for files in
/// `corrupt`. Owner checks for root-owned entries are skipped when the
/// caller is not root.
pub fn check_warnings(inst: &Instance, ids: &Ids) -> Vec<String> {
    let root = Uid::effective().is_root();
    let mut out = Vec::new();
    for e in DIRS {
        let path = path_of(inst, e);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let want = owner_uid(e, ids);
        let shown = path.display();
        if meta.uid() != want.as_raw() && (root || e.owner == MailOwner) {
            let name = if e.owner == Root {
                "root"
            } else {
                inst.mail_owner.as_str()
            };
            out.push(format!("not owned by {name}: {shown}"));
        }
        if e.setgid_group && Gid::from_raw(meta.gid()) != ids.setgid_gid {
            out.push(format!("not owned by group {}: {shown}", inst.setgid_group));
        }
        if e.owner == Root && meta.mode() & 0o022 != 0 {
            out.push(format!("group or other writable: {shown}"));
        }
    }
    out.extend(config_tree_warnings(inst, root));
    if let Ok(rd) = std::fs::read_dir(inst.queue_dir.join("corrupt")) {
        for f in rd.flatten() {
            out.push(format!("damaged message: {}", f.path().display()));
        }
    }
    out
}

/// postfix-script's check of the configuration directory tree: every
/// file and directory below `config_dir` that is group or other
/// writable (symbolic links followed), or, when `root`, not owned by
/// root. The queue and data directories, when they are inside, have
/// their own checks. Paths are shown as Postfix shows them,
/// `DIR/./main.cf`.
fn config_tree_warnings(inst: &Instance, root: bool) -> Vec<String> {
    let mut out = Vec::new();
    let skip = [inst.queue_dir.as_path(), inst.data_dir.as_path()];
    walk_config(
        inst.config_dir.as_path(),
        &PathBuf::new(),
        &skip,
        root,
        &mut out,
    );
    out
}

fn walk_config(
    base: &std::path::Path,
    rel: &std::path::Path,
    skip: &[&std::path::Path],
    root: bool,
    out: &mut Vec<String>,
) {
    let Ok(rd) = std::fs::read_dir(base.join(rel)) else {
        return;
    };
    let mut names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let rel = rel.join(name);
        let path = base.join(&rel);
        if skip.contains(&path.as_path()) {
            continue;
        }
        let shown = format!("{}/./{}", base.display(), rel.display());
        let Ok(lmeta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if root && lmeta.uid() != 0 {
            out.push(format!("not owned by root: {shown}"));
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.mode() & 0o022 != 0) {
            out.push(format!("group or other writable: {shown}"));
        }
        if lmeta.is_dir() {
            walk_config(base, &rel, skip, root, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(dir: &std::path::Path) -> Instance {
        let me = nix::unistd::User::from_uid(Uid::effective())
            .unwrap()
            .unwrap();
        let grp = nix::unistd::Group::from_gid(Gid::effective())
            .unwrap()
            .unwrap();
        let (owner, group) = if me.uid.is_root() {
            ("postfix".to_string(), "postdrop".to_string())
        } else {
            (me.name, grp.name)
        };
        std::fs::write(
            dir.join("main.cf"),
            format!(
                "queue_directory = {0}/q\ndata_directory = {0}/data\nmail_owner = {owner}\nsetgid_group = {group}\n",
                dir.display()
            ),
        )
        .unwrap();
        Instance::load(Some(dir)).unwrap()
    }

    #[test]
    fn missing_directories_get_postfix_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let inst = instance(tmp.path());
        let Ok(ids) = inst.ids() else { return };
        let made = create_missing(&inst, &ids).unwrap();
        assert_eq!(made.len(), 16);
        let mode = |p: &str| std::fs::metadata(tmp.path().join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("q"), 0o755);
        assert_eq!(mode("q/active"), 0o700);
        assert_eq!(mode("q/maildrop"), 0o730);
        assert_eq!(mode("q/public"), 0o710);
        assert_eq!(mode("q/pid"), 0o755);
        assert_eq!(mode("data"), 0o700);
        let meta = std::fs::metadata(tmp.path().join("q/public")).unwrap();
        assert_eq!(meta.uid(), ids.owner_uid.as_raw());
        assert_eq!(meta.gid(), ids.setgid_gid.as_raw());
        assert!(
            check_warnings(&inst, &ids).is_empty(),
            "{:?}",
            check_warnings(&inst, &ids)
        );
        assert!(create_missing(&inst, &ids).unwrap().is_empty());
    }

    #[test]
    fn wrong_modes_are_warned_and_fixed() {
        let tmp = tempfile::tempdir().unwrap();
        let inst = instance(tmp.path());
        let Ok(ids) = inst.ids() else { return };
        create_missing(&inst, &ids).unwrap();
        let pid = tmp.path().join("q/pid");
        std::fs::set_permissions(&pid, std::fs::Permissions::from_mode(0o777)).unwrap();
        let w = check_warnings(&inst, &ids);
        assert_eq!(
            w,
            vec![format!("group or other writable: {}", pid.display())]
        );
        set_permissions(&inst, &ids).unwrap();
        assert!(check_warnings(&inst, &ids).is_empty());
    }

    #[test]
    fn writable_configuration_files_are_warned() {
        let tmp = tempfile::tempdir().unwrap();
        let inst = instance(tmp.path());
        let Ok(ids) = inst.ids() else { return };
        create_missing(&inst, &ids).unwrap();
        std::fs::write(tmp.path().join("master.cf"), "").unwrap();
        for f in ["main.cf", "master.cf"] {
            let p = tmp.path().join(f);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
        let d = tmp.path().display();
        assert_eq!(
            check_warnings(&inst, &ids),
            vec![
                format!("group or other writable: {d}/./main.cf"),
                format!("group or other writable: {d}/./master.cf"),
            ]
        );
    }
}
