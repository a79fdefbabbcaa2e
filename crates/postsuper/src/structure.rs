//! NAME
//!   structure - postsuper -s (queue structure repair) and -p (purge)
//!
//! DESCRIPTION
//!   [`check`] walks the message queues (`maildrop`, `incoming`,
//!   `active`, `deferred`, `hold`, `corrupt`) and the per-message logs
//!   (`defer`, `bounce`, `trace`) and fixes what it finds:
//!
//!   - a message file whose name's inode part differs from its inode
//!     number (the queue was restored from a backup or copied) is
//!     renamed to the ID of its real inode, keeping the time part, and
//!     its logs are renamed with it, so IDs stay unique;
//!   - a file at the wrong hash location (`hash_queue_depth` or
//!     `hash_queue_names` changed) is moved to where it belongs.
//!
//!   Each change is reported as a warning. Names that are not queue IDs
//!   are left alone.
//!
//!   [`purge`] removes temporary files (`<digits>.<digits>`, the names
//!   writers use before the rename to a queue ID) from the top
//!   directories of the queues when they are older than
//!   [`TEMP_MAX_AGE`], so a writer at work is not disturbed.
use queue::{QueueDir, QueueId, BOUNCE, CORRUPT, DEFER, TRACE};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use util::strings::strip_os_error;
use util::{msg_info, msg_warn};

/// Temporary files younger than this are left alone by `-p`.
pub const TEMP_MAX_AGE: Duration = Duration::from_secs(600);

/// Queues with message files.
const MESSAGES: &[&str] = &[
    queue::MAILDROP,
    queue::INCOMING,
    queue::ACTIVE,
    queue::DEFERRED,
    queue::HOLD,
    CORRUPT,
];
/// Queues with per-message logs.
const LOGS: &[&str] = &[DEFER, BOUNCE, TRACE];

/// Regular files below `dir` (at most 8 levels deep), with metadata.
fn walk(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, fs::Metadata)>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() && depth < 8 {
            walk(&e.path(), depth + 1, out);
        } else if meta.is_file() {
            out.push((e.path(), meta));
        }
    }
}

fn show(qdir: &QueueDir, p: &Path) -> String {
    p.strip_prefix(qdir.root())
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Move `from` to `to` unless `to` exists. Errors: as text.
fn move_file(from: &Path, to: &Path) -> Result<(), String> {
    if to.exists() {
        return Err(format!("{} exists", to.display()));
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| strip_os_error(&e.to_string()))?;
    }
    fs::rename(from, to).map_err(|e| strip_os_error(&e.to_string()))?;
    for d in [from.parent(), to.parent()].into_iter().flatten() {
        let _ = queue::dir::sync_dir(d);
    }
    Ok(())
}

/// Check and repair the queue structure (see DESCRIPTION).
pub fn check(qdir: &QueueDir) {
    for q in MESSAGES.iter().chain(LOGS) {
        let Ok(top) = qdir.queue_path(q) else {
            continue;
        };
        let mut files = Vec::new();
        walk(&top, 0, &mut files);
        for (path, meta) in files {
            let Some(id) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(QueueId::parse)
            else {
                continue;
            };
            if MESSAGES.contains(q) && id.inode() != meta.ino() {
                let new = QueueId::from_parts(id.seconds(), id.micros(), meta.ino());
                let Ok(to) = qdir.path(q, &new) else { continue };
                match move_file(&path, &to) {
                    Ok(()) => {
                        msg_warn!(
                            "{}: renamed to {} (its inode number changed)",
                            show(qdir, &path),
                            show(qdir, &to)
                        );
                        for log in LOGS {
                            let (Ok(lf), Ok(lt)) = (qdir.path(log, &id), qdir.path(log, &new))
                            else {
                                continue;
                            };
                            if lf.exists() {
                                if let Err(e) = move_file(&lf, &lt) {
                                    msg_warn!("{}: {e}", show(qdir, &lf));
                                }
                            }
                        }
                    }
                    Err(e) => msg_warn!("{}: cannot rename: {e}", show(qdir, &path)),
                }
                continue;
            }
            let Ok(want) = qdir.path(q, &id) else {
                continue;
            };
            if want != path {
                match move_file(&path, &want) {
                    Ok(()) => msg_warn!("{}: moved to {}", show(qdir, &path), show(qdir, &want)),
                    Err(e) => msg_warn!("{}: cannot move: {e}", show(qdir, &path)),
                }
            }
        }
    }
}

/// Whether `name` is a writer's temporary name (`<digits>.<digits>`).
pub fn is_temp_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((a, b)) => {
            !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Remove old temporary files (see DESCRIPTION).
pub fn purge(qdir: &QueueDir) {
    for q in MESSAGES.iter().chain(LOGS) {
        let Ok(top) = qdir.queue_path(q) else {
            continue;
        };
        let Ok(rd) = fs::read_dir(&top) else { continue };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !is_temp_name(name) {
                continue;
            }
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > TEMP_MAX_AGE);
            if old {
                match fs::remove_file(e.path()) {
                    Ok(()) => msg_info!("{q}/{name}: removed temporary file"),
                    Err(err) => msg_warn!("{q}/{name}: {}", strip_os_error(&err.to_string())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::{QueueWriter, Recipient};

    #[test]
    fn misplaced_and_renumbered_files_are_fixed() {
        let t = tempfile::tempdir().unwrap();
        let flat = QueueDir::new(t.path(), &["deferred"], 0);
        flat.create_missing().unwrap();
        let mut w = QueueWriter::create(&flat, queue::DEFERRED).unwrap();
        w.set_sender("a@b").unwrap();
        w.add_recipient(&Recipient::new("c@d")).unwrap();
        let id = w.commit().unwrap();
        // hash_queue_depth went from 0 to 1.
        let hashed = QueueDir::new(t.path(), &["deferred"], 1);
        assert!(hashed.find(&id).is_none());
        check(&hashed);
        assert_eq!(hashed.find(&id).unwrap().0, queue::DEFERRED);
        // A file whose name does not match its inode.
        let fake = QueueId::from_parts(id.seconds(), id.micros(), id.inode() + 12345);
        let fake_path = hashed.path(queue::DEFERRED, &fake).unwrap();
        fs::rename(hashed.path(queue::DEFERRED, &id).unwrap(), &fake_path).unwrap();
        fs::create_dir_all(hashed.dir(DEFER, &fake).unwrap()).unwrap();
        fs::write(hashed.path(DEFER, &fake).unwrap(), b"log").unwrap();
        check(&hashed);
        assert!(!fake_path.exists());
        assert!(hashed.path(queue::DEFERRED, &id).unwrap().exists());
        assert_eq!(fs::read(hashed.path(DEFER, &id).unwrap()).unwrap(), b"log");
    }

    #[test]
    fn temp_names() {
        assert!(is_temp_name("123.456"));
        assert!(!is_temp_name("123."));
        assert!(!is_temp_name("4jd4vg5130z1T7X4"));
        assert!(!is_temp_name("a.1"));
    }
}
