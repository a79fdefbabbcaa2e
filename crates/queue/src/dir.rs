//! NAME
//!   dir - the queue directories and where a queue file lives
//!
//! DESCRIPTION
//!   Under `queue_directory` each queue is one directory ([`ALL_QUEUES`]).
//!   The queues named in `hash_queue_names` (default `deferred, defer`)
//!   are split into `hash_queue_depth` (default 1) levels of
//!   one-character subdirectories. For a long queue ID the characters are
//!   the ID's microseconds as five upper-case hexadecimal digits
//!   ([`QueueId::hash_key`]), as Postfix does, so `deferred/A/ID` with a
//!   depth of 1 or `deferred/A/3/ID` with 2; a level past the fifth
//!   digit is named `_`. Other file names (fast-flush logs) hash on their
//!   own first characters.
//!
//!   Every change of a directory that a message's safety depends on
//!   (rename, remove) is followed by an fsync of the directories
//!   involved. Missing hashed subdirectories are created (mode 0700) on
//!   demand; the queue directories themselves are made by `postfix start`
//!   with their owners and modes ([`QueueDir::create_missing`] serves tests
//!   and tools).
//!
//! SEE ALSO
//!   postconf(5) `queue_directory`, `hash_queue_names`, `hash_queue_depth`.
use crate::error::{io_err, QueueError, Result};
use crate::id::QueueId;
use crate::writer::{MODE_EXPIRE, MODE_READY};
use global::Config;
use std::fs::{self, DirBuilder, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `maildrop`: files from postdrop, picked up by pickup.
pub const MAILDROP: &str = "maildrop";
/// `incoming`: complete files from cleanup, waiting for qmgr.
pub const INCOMING: &str = "incoming";
/// `active`: files qmgr is delivering.
pub const ACTIVE: &str = "active";
/// `deferred`: files waiting for a retry.
pub const DEFERRED: &str = "deferred";
/// `hold`: files put on hold (postsuper -h).
pub const HOLD: &str = "hold";
/// `corrupt`: files that could not be read.
pub const CORRUPT: &str = "corrupt";
/// `bounce`: per-message logs of failed recipients.
pub const BOUNCE: &str = "bounce";
/// `defer`: per-message logs of deferred recipients.
pub const DEFER: &str = "defer";
/// `trace`: per-message logs of delivery reports.
pub const TRACE: &str = "trace";
/// `flush`: fast-flush logs per destination.
pub const FLUSH: &str = "flush";
/// `saved`: copies kept by `header_checks` and friends.
pub const SAVED: &str = "saved";

/// Every queue directory.
pub const ALL_QUEUES: &[&str] = &[
    MAILDROP, INCOMING, ACTIVE, DEFERRED, HOLD, CORRUPT, BOUNCE, DEFER, TRACE, FLUSH, SAVED,
];

/// The queues that hold message files, in the order [`QueueDir::find`]
/// searches them.
pub const MESSAGE_QUEUES: &[&str] = &[INCOMING, ACTIVE, DEFERRED, HOLD, MAILDROP, SAVED, CORRUPT];

/// Whether `name` is a valid queue name (letters and digits, 1 to 100).
pub fn queue_name_ok(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// fsync a directory, so that a rename or remove in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The queue directory tree of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDir {
    root: PathBuf,
    hashed: Vec<String>,
    depth: usize,
}

impl QueueDir {
    /// A tree rooted at `root` (`queue_directory`), hashing the queues in
    /// `hash_queue_names` to `hash_queue_depth` levels.
    pub fn new<S: AsRef<str>>(
        root: impl Into<PathBuf>,
        hash_queue_names: &[S],
        hash_queue_depth: usize,
    ) -> QueueDir {
        QueueDir {
            root: root.into(),
            hashed: hash_queue_names
                .iter()
                .map(|s| s.as_ref().to_ascii_lowercase())
                .collect(),
            depth: hash_queue_depth,
        }
    }

    /// The tree described by `queue_directory`, `hash_queue_names` and
    /// `hash_queue_depth`. Errors: a malformed value.
    pub fn from_config(cfg: &Config) -> std::result::Result<QueueDir, global::ConfigError> {
        let root = cfg.get("queue_directory")?;
        let names = cfg.get_list("hash_queue_names")?;
        let depth = cfg.get_int("hash_queue_depth")?;
        Ok(QueueDir::new(
            root,
            &names,
            usize::try_from(depth).unwrap_or(0),
        ))
    }

    /// The same layout rooted at `root`: a program chrooted to
    /// `queue_directory` passes `/`.
    pub fn with_root(&self, root: impl Into<PathBuf>) -> QueueDir {
        QueueDir {
            root: root.into(),
            ..self.clone()
        }
    }

    /// The `queue_directory`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Hash depth of `queue` (0 when the queue is not hashed).
    pub fn depth_of(&self, queue: &str) -> usize {
        if self.hashed.iter().any(|h| h.eq_ignore_ascii_case(queue)) {
            self.depth
        } else {
            0
        }
    }

    fn check(queue: &str) -> Result<()> {
        if queue_name_ok(queue) {
            Ok(())
        } else {
            Err(QueueError::BadQueueName(queue.to_string()))
        }
    }

    /// The top directory of `queue`. Errors: a bad queue name.
    pub fn queue_path(&self, queue: &str) -> Result<PathBuf> {
        Self::check(queue)?;
        Ok(self.root.join(queue))
    }

    fn hashed_dir(&self, queue: &str, key: &str) -> Result<PathBuf> {
        let mut p = self.queue_path(queue)?;
        let mut chars = key.chars();
        for _ in 0..self.depth_of(queue) {
            p.push(chars.next().unwrap_or('_').to_string());
        }
        Ok(p)
    }

    /// The directory that holds file `id` of `queue`.
    pub fn dir(&self, queue: &str, id: &QueueId) -> Result<PathBuf> {
        self.hashed_dir(queue, &id.hash_key())
    }

    /// The path of file `id` in `queue`.
    pub fn path(&self, queue: &str, id: &QueueId) -> Result<PathBuf> {
        Ok(self.dir(queue, id)?.join(id.as_str()))
    }

    /// The path of a file with a name other than a queue ID (a fast-flush
    /// log), hashed on its first characters. Errors: bad queue or name.
    pub fn path_for_name(&self, queue: &str, name: &str) -> Result<PathBuf> {
        if let Some(id) = QueueId::parse(name) {
            return self.path(queue, &id);
        }
        if !crate::id::name_ok(name) {
            return Err(QueueError::Usage(format!("bad queue file name: {name}")));
        }
        Ok(self.hashed_dir(queue, name)?.join(name))
    }

    /// Create `dir` and its missing parents below the root (mode 0700).
    pub(crate) fn make_dirs(dir: &Path) -> Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))
    }

    /// Create the missing queue directories (mode 0700, owned by the
    /// caller). Errors: I/O.
    pub fn create_missing(&self) -> Result<()> {
        for q in ALL_QUEUES {
            Self::make_dirs(&self.root.join(q))?;
        }
        Ok(())
    }

    /// The IDs of the files in `queue`, across its hash subdirectories,
    /// in directory order. Names that are not long queue IDs (temporary
    /// files, strays) and files at the wrong hash location are skipped.
    pub fn scan(&self, queue: &str) -> Result<Scan> {
        let top = self.queue_path(queue)?;
        Ok(Scan {
            qdir: self.clone(),
            queue: queue.to_string(),
            stack: vec![(top, 0)],
            current: None,
        })
    }

    /// Where message `id` is: the first of [`MESSAGE_QUEUES`] that has it,
    /// with its path.
    pub fn find(&self, id: &QueueId) -> Option<(&'static str, PathBuf)> {
        MESSAGE_QUEUES.iter().find_map(|q| {
            let p = self.path(q, id).ok()?;
            fs::symlink_metadata(&p)
                .ok()
                .filter(|m| m.is_file())
                .map(|_| (*q, p))
        })
    }

    /// Move file `id` from queue `from` to queue `to` (rename, creating a
    /// missing hash subdirectory), then fsync both directories. Returns
    /// the new path. Errors: I/O (NotFound when the file is gone).
    pub fn rename(&self, id: &QueueId, from: &str, to: &str) -> Result<PathBuf> {
        self.rename_inner(id, from, to, true)
    }

    /// As [`QueueDir::rename`] without the directory fsyncs. For moves
    /// whose loss in a crash is harmless because the file is found again
    /// in its old queue (qmgr's incoming -> active -> deferred moves, as
    /// Postfix's qmgr does them): at worst a message is delivered twice,
    /// never lost. Errors: I/O.
    pub fn rename_unsynced(&self, id: &QueueId, from: &str, to: &str) -> Result<PathBuf> {
        self.rename_inner(id, from, to, false)
    }

    fn rename_inner(&self, id: &QueueId, from: &str, to: &str, sync: bool) -> Result<PathBuf> {
        let old = self.path(from, id)?;
        let new = self.path(to, id)?;
        if let Err(e) = fs::rename(&old, &new) {
            if e.kind() != std::io::ErrorKind::NotFound || !old.exists() {
                return Err(io_err(&old)(e));
            }
            Self::make_dirs(new.parent().unwrap_or(&self.root))?;
            fs::rename(&old, &new).map_err(io_err(&old))?;
        }
        if sync {
            sync_dir(new.parent().unwrap_or(&self.root))?;
            sync_dir(old.parent().unwrap_or(&self.root))?;
        }
        Ok(new)
    }

    /// Remove file `id` from `queue` and fsync the directory. Errors: I/O.
    pub fn remove(&self, queue: &str, id: &QueueId) -> Result<()> {
        let p = self.path(queue, id)?;
        fs::remove_file(&p).map_err(io_err(&p))?;
        sync_dir(p.parent().unwrap_or(&self.root))
    }

    /// Mark complete file `id` of `queue` for forced expiration
    /// (`postsuper -e`, doc/QUEUE_FORMAT.md "Forced expiration"): add
    /// [`crate::MODE_EXPIRE`] to its mode and fsync. Returns false when
    /// it was marked already. Errors: NotFound, [`QueueError::Incomplete`]
    /// for a file still being written, other I/O.
    pub fn mark_expired(&self, queue: &str, id: &QueueId) -> Result<bool> {
        let p = self.path(queue, id)?;
        let f = File::open(&p).map_err(io_err(&p))?;
        let mode = f.metadata().map_err(io_err(&p))?.permissions().mode() & 0o7777;
        if mode & MODE_READY != MODE_READY {
            return Err(QueueError::Incomplete { path: p });
        }
        if mode & MODE_EXPIRE != 0 {
            return Ok(false);
        }
        f.set_permissions(fs::Permissions::from_mode(mode | MODE_EXPIRE))
            .and_then(|()| f.sync_all())
            .map_err(io_err(&p))?;
        Ok(true)
    }

    /// Remove file `id` from `queue` without the directory fsync: for a
    /// message whose every recipient is done (a removal lost in a crash
    /// brings the file back, and at worst it is delivered again).
    /// Errors: I/O.
    pub fn remove_unsynced(&self, queue: &str, id: &QueueId) -> Result<()> {
        let p = self.path(queue, id)?;
        fs::remove_file(&p).map_err(io_err(&p))
    }
}

/// Iterator over the queue IDs of one queue ([`QueueDir::scan`]).
#[derive(Debug)]
pub struct Scan {
    qdir: QueueDir,
    queue: String,
    stack: Vec<(PathBuf, usize)>,
    current: Option<(fs::ReadDir, PathBuf, usize)>,
}

impl Iterator for Scan {
    type Item = Result<QueueId>;

    fn next(&mut self) -> Option<Self::Item> {
        let depth = self.qdir.depth_of(&self.queue);
        loop {
            if self.current.is_none() {
                let (dir, level) = self.stack.pop()?;
                match fs::read_dir(&dir) {
                    Ok(rd) => self.current = Some((rd, dir, level)),
                    // A hash subdirectory may vanish under us; the top may not.
                    Err(e) if level > 0 && e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Some(Err(io_err(&dir)(e))),
                }
            }
            let (rd, dir, level) = self.current.as_mut()?;
            let entry = match rd.next() {
                None => {
                    self.current = None;
                    continue;
                }
                Some(Err(e)) => return Some(Err(io_err(dir.as_path())(e))),
                Some(Ok(e)) => e,
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if *level < depth {
                if name.len() == 1 && entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let sub = (entry.path(), *level + 1);
                    self.stack.push(sub);
                }
                continue;
            }
            let Some(id) = QueueId::parse(name) else {
                continue;
            };
            if self.qdir.path(&self.queue, &id).ok().as_deref() == Some(entry.path().as_path()) {
                return Some(Ok(id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qd(root: &Path, depth: usize) -> QueueDir {
        QueueDir::new(root, &["deferred", "defer"], depth)
    }

    #[test]
    fn hashed_layout_follows_postfix() {
        let q = qd(Path::new("/q"), 1);
        let id = QueueId::from_parts(1_700_000_000, 0xA_BCDE, 77);
        assert_eq!(id.hash_key(), "ABCDE");
        assert_eq!(
            q.path("deferred", &id).unwrap(),
            Path::new("/q/deferred/A").join(id.as_str())
        );
        assert_eq!(
            q.path("defer", &id).unwrap(),
            Path::new("/q/defer/A").join(id.as_str())
        );
        assert_eq!(
            q.path("incoming", &id).unwrap(),
            Path::new("/q/incoming").join(id.as_str())
        );
        let q2 = qd(Path::new("/q"), 2);
        assert_eq!(
            q2.path("deferred", &id).unwrap(),
            Path::new("/q/deferred/A/B").join(id.as_str())
        );
        let q7 = qd(Path::new("/q"), 7);
        assert_eq!(
            q7.dir("deferred", &id).unwrap(),
            Path::new("/q/deferred/A/B/C/D/E/_/_")
        );
        let small = QueueId::from_parts(1, 5, 1);
        assert_eq!(
            q.dir("deferred", &small).unwrap(),
            Path::new("/q/deferred/0")
        );
        assert_eq!(
            q.path_for_name("flush", "example_com").unwrap(),
            Path::new("/q/flush/example_com")
        );
        let qf = QueueDir::new("/q", &["flush"], 1);
        assert_eq!(
            qf.path_for_name("flush", "example_com").unwrap(),
            Path::new("/q/flush/e/example_com")
        );
        assert!(q.path("../etc", &id).is_err());
        assert!(q.path_for_name("flush", "a/b").is_err());
    }

    #[test]
    fn scan_rename_find_remove() {
        let t = tempfile::tempdir().unwrap();
        let q = qd(t.path(), 2);
        q.create_missing().unwrap();
        let ids: Vec<QueueId> = (0..20)
            .map(|i| QueueId::from_parts(1_700_000_000 + i, (i as u32) * 49_999, 1000 + i))
            .collect();
        for id in &ids {
            fs::write(q.path("incoming", id).unwrap(), b"x").unwrap();
        }
        fs::write(t.path().join("incoming/123.456"), b"temp").unwrap();
        let mut got: Vec<QueueId> = q.scan("incoming").unwrap().map(Result::unwrap).collect();
        got.sort();
        assert_eq!(got, ids);
        for id in &ids {
            q.rename(id, "incoming", "deferred").unwrap();
        }
        assert_eq!(q.scan("incoming").unwrap().count(), 0);
        let mut got: Vec<QueueId> = q.scan("deferred").unwrap().map(Result::unwrap).collect();
        got.sort();
        assert_eq!(got, ids);
        // A file at the wrong hash level is not reported.
        let stray = QueueId::from_parts(5, 0xFFFFF % 1_000_000, 5);
        fs::write(t.path().join("deferred").join(stray.as_str()), b"x").unwrap();
        assert_eq!(q.scan("deferred").unwrap().count(), ids.len());
        let (queue, path) = q.find(&ids[3]).unwrap();
        assert_eq!(queue, "deferred");
        assert!(path.starts_with(t.path().join("deferred")));
        q.remove("deferred", &ids[3]).unwrap();
        assert!(q.find(&ids[3]).is_none());
        assert!(q
            .rename(&ids[3], "deferred", "active")
            .unwrap_err()
            .is_not_found());
        assert!(q.scan("nosuch").unwrap().next().unwrap().is_err());
    }
}
