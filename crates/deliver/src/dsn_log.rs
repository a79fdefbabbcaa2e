//! NAME
//!   dsn_log - the per-message `bounce/ID`, `defer/ID` and `trace/ID` logs
//!
//! SYNOPSIS
//!   `dsn_log::append(&qdir, queue::DEFER, &id, &record)?;`
//!   `let records = dsn_log::read(&qdir, queue::BOUNCE, &id)?;`
//!
//! DESCRIPTION
//!   A delivery agent that bounces or defers a recipient appends one
//!   record to the message's log in the `bounce` or `defer` queue
//!   directory; bounce(8) turns them into DSNs and qmgr removes them with
//!   the message. A record is one attribute list (global::attr):
//!
//!   `rcpt_index` (queue file index, when known), `rcpt`, `orcpt`,
//!   `rcpt_notify`, `rcpt_orig`, `dsn_status` (`X.Y.Z`), `action` (RFC
//!   3464: `failed`, `delayed`, `delivered`, `relayed`, `expanded`),
//!   `reason`, `relay`, optional `dsn_dtype`/`dsn_dtext` (diagnostic) and
//!   `dsn_mtype`/`dsn_mname` (remote MTA), `time` (seconds since the
//!   epoch), and last the trailer `end=1`.
//!
//!   Each record is written with one `write(2)` on an `O_APPEND`
//!   descriptor and fsynced before [`append`] returns, so records of
//!   concurrent agents never interleave. If a writer died in the middle of
//!   a record, the file does not end in a blank line; the next writer then
//!   starts its record with two newlines, which isolates the torn record.
//!   [`parse`] splits the file at blank lines and keeps only chunks that
//!   parse and end with the trailer, so a torn record anywhere (and at the
//!   end) is skipped and counted, never mistaken for a whole one.
//!
//!   Files are created mode 0600, missing hash subdirectories mode 0700.
//!   When the writer is root (local(8) runs unprivileged=n), a new file
//!   and every hash subdirectory on its path are given to the owner of the
//!   queue directory (mail_owner), so bounce and qmgr can read and remove
//!   them; a subdirectory an older root writer left root-owned is
//!   repaired the same way.
//!
//! SEE ALSO
//!   doc/PIPELINE.md "DSN logs", bounce(8), RFC 3464.
use crate::dsn::{Dsn, DsnStatus};
use crate::error::{DeliverError, Result};
use global::attr::{AttrReader, Attrs};
use queue::{DsnNotify, QueueDir, QueueId};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// One recipient outcome in a DSN log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecord {
    /// Index of the recipient in the queue file, when known.
    pub rcpt_index: Option<usize>,
    /// The recipient address.
    pub rcpt: String,
    /// RFC 3461 ORCPT (`rfc822;addr`), if any.
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY bits.
    pub notify: DsnNotify,
    /// The address as originally given, if known.
    pub orig: Option<String>,
    /// Status, reason, diagnostic and remote MTA.
    pub dsn: Dsn,
    /// RFC 3464 action: `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: String,
    /// The `relay=` value of the attempt (`none`, `local`, `host[addr]:port`).
    pub relay: String,
    /// When it happened, seconds since the epoch.
    pub time: i64,
}

impl DsnRecord {
    /// The attribute list of this record, trailer included.
    pub fn encode(&self) -> Attrs {
        let mut a = Attrs::new();
        if let Some(i) = self.rcpt_index {
            a = a.put_int("rcpt_index", i64::try_from(i).unwrap_or(i64::MAX));
        }
        a = a
            .put_str("rcpt", &self.rcpt)
            .put_str("orcpt", self.orcpt.as_deref().unwrap_or(""))
            .put_int("rcpt_notify", i64::from(self.notify.0))
            .put_str("rcpt_orig", self.orig.as_deref().unwrap_or(""))
            .put_str("dsn_status", &self.dsn.status.to_string())
            .put_str("action", &self.action)
            .put_str("reason", &util::strings::strip_os_error(&self.dsn.reason))
            .put_str("relay", &self.relay);
        if let Some((t, x)) = &self.dsn.diagnostic {
            a = a.put_str("dsn_dtype", t).put_str("dsn_dtext", x);
        }
        if let Some((t, x)) = &self.dsn.mta {
            a = a.put_str("dsn_mtype", t).put_str("dsn_mname", x);
        }
        a.put_int("time", self.time).put_str("end", "1")
    }

    /// Decode one record; `None` when incomplete or malformed.
    pub fn decode(a: &Attrs) -> Option<DsnRecord> {
        if a.iter().last() != Some(("end", &b"1"[..])) {
            return None;
        }
        let s = |n: &str| a.str(n).ok().map(str::to_string);
        let opt = |n: &str| s(n).filter(|v| !v.is_empty());
        let pair = |t: &str, x: &str| Some((s(t)?, s(x)?));
        Some(DsnRecord {
            rcpt_index: match a.opt_long("rcpt_index").ok()? {
                Some(i) => Some(usize::try_from(i).ok()?),
                None => None,
            },
            rcpt: s("rcpt")?,
            orcpt: opt("orcpt"),
            notify: DsnNotify(u8::try_from(a.opt_long("rcpt_notify").ok()?.unwrap_or(0)).ok()?),
            orig: opt("rcpt_orig"),
            dsn: Dsn {
                status: DsnStatus::parse(&s("dsn_status")?)?,
                reason: s("reason")?,
                diagnostic: pair("dsn_dtype", "dsn_dtext"),
                mta: pair("dsn_mtype", "dsn_mname"),
            },
            action: s("action")?,
            relay: s("relay").unwrap_or_default(),
            time: a.long("time").ok()?,
        })
    }
}

/// Append `rec` to log `queue` (`bounce`, `defer`, `trace`) of message
/// `id`, creating it (and a missing hash subdirectory) when needed, with
/// one write and an fsync. Errors: I/O.
pub fn append(qdir: &QueueDir, queue: &str, id: &QueueId, rec: &DsnRecord) -> Result<()> {
    let path = qdir.path(queue, id)?;
    let show = path.display().to_string();
    let open = || {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
    };
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            make_hash_dirs(qdir, queue, &path)?;
            open()
        }
        r => r,
    }
    .map_err(DeliverError::io(&show))?;
    let meta = file.metadata().map_err(DeliverError::io(&show))?;
    let created = meta.len() == 0;
    if created && nix::unistd::geteuid().is_root() {
        if let Some(owner) = queue_owner(qdir, queue) {
            chown_fd(&file, owner, &show);
            // Hash directories made by an older root writer are repaired.
            for dir in hash_dirs(qdir, queue, &path) {
                chown_if_needed(&dir, owner);
            }
        }
    }
    let mut buf = Vec::new();
    if meta.len() > 0 {
        let mut tail = [0u8; 2];
        let n = meta.len().min(2);
        let start = meta.len() - n;
        let ok = file.read_exact_at(&mut tail[..n as usize], start).is_ok();
        if !ok || &tail[..n as usize] != b"\n\n" {
            buf.extend_from_slice(b"\n\n");
        }
    }
    buf.extend_from_slice(&rec.encode().encode()?);
    file.write_all(&buf).map_err(DeliverError::io(&show))?;
    file.sync_all().map_err(DeliverError::io(&show))?;
    if created {
        if let Some(dir) = path.parent() {
            queue::dir::sync_dir(dir)?;
        }
    }
    Ok(())
}

/// The owner (uid, gid) of the top directory of `queue`.
fn queue_owner(qdir: &QueueDir, queue: &str) -> Option<(u32, u32)> {
    let top = qdir.queue_path(queue).ok()?;
    fs::metadata(&top).ok().map(|m| (m.uid(), m.gid()))
}

/// The hash subdirectories between the top of `queue` and `path`, top
/// first (none when `path` is not below the queue).
fn hash_dirs(qdir: &QueueDir, queue: &str, path: &Path) -> Vec<std::path::PathBuf> {
    let Ok(top) = qdir.queue_path(queue) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = path
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(&top) && *d != top)
        .map(Path::to_path_buf)
        .collect();
    dirs.reverse();
    dirs
}

/// Create the missing hash subdirectories of `path` (mode 0700). A root
/// writer (local(8)) gives each directory it creates to the owner of the
/// queue directory, so that qmgr and bounce (mail_owner) can use and
/// remove what is inside. Errors: I/O.
fn make_hash_dirs(qdir: &QueueDir, queue: &str, path: &Path) -> Result<()> {
    let owner = if nix::unistd::geteuid().is_root() {
        queue_owner(qdir, queue)
    } else {
        None
    };
    for dir in hash_dirs(qdir, queue, path) {
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                if let Some(o) = owner {
                    chown_if_needed(&dir, o);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(DeliverError::io(dir.display())(e)),
        }
    }
    Ok(())
}

/// chown `dir` to `owner` unless it already belongs to it (a warning on
/// failure).
fn chown_if_needed(dir: &Path, (uid, gid): (u32, u32)) {
    let Ok(m) = fs::symlink_metadata(dir) else {
        return;
    };
    if m.is_dir() && (m.uid() != uid || m.gid() != gid) {
        let r = nix::unistd::chown(
            dir,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(gid)),
        );
        if let Err(e) = r {
            util::msg_warn!("chown {}: {}", dir.display(), e.desc());
        }
    }
}

/// chown a new log to `owner` (the owner of its queue directory).
fn chown_fd(file: &fs::File, (uid, gid): (u32, u32), show: &str) {
    let r = nix::unistd::fchown(
        std::os::fd::AsRawFd::as_raw_fd(file),
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    );
    if let Err(e) = r {
        util::msg_warn!("fchown {show}: {}", e.desc());
    }
}

/// Split a log's bytes into records. Returns the whole records and the
/// number of chunks skipped as torn or malformed.
pub fn parse(bytes: &[u8]) -> (Vec<DsnRecord>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut rest = bytes;
    loop {
        while let [b'\n', tail @ ..] = rest {
            rest = tail;
        }
        if rest.is_empty() {
            break;
        }
        let (chunk, next) = match rest.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&rest[..i + 2], &rest[i + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        match AttrReader::new(chunk).read() {
            Ok(Some(a)) => match DsnRecord::decode(&a) {
                Some(r) => out.push(r),
                None => skipped += 1,
            },
            _ => skipped += 1,
        }
    }
    (out, skipped)
}

/// Read log `queue` of message `id`: its whole records (empty when the
/// file does not exist). A torn or malformed record is skipped with a
/// warning. Errors: I/O other than NotFound.
pub fn read(qdir: &QueueDir, queue: &str, id: &QueueId) -> Result<Vec<DsnRecord>> {
    let path = qdir.path(queue, id)?;
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DeliverError::io(path.display())(e)),
    };
    let (recs, skipped) = parse(&bytes);
    if skipped > 0 {
        util::msg_warn!(
            "{}: skipped {skipped} incomplete or malformed record(s)",
            path.display()
        );
    }
    Ok(recs)
}

/// Whether log `queue` of message `id` exists.
pub fn exists(qdir: &QueueDir, queue: &str, id: &QueueId) -> bool {
    qdir.path(queue, id).is_ok_and(|p| Path::new(&p).exists())
}

/// Remove log `queue` of message `id`; a missing file is not an error.
/// Errors: I/O.
pub fn remove(qdir: &QueueDir, queue: &str, id: &QueueId) -> Result<()> {
    match qdir.remove(queue, id) {
        Err(e) if e.is_not_found() => Ok(()),
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(rcpt: &str, status: &str) -> DsnRecord {
        DsnRecord {
            rcpt_index: Some(2),
            rcpt: rcpt.into(),
            orcpt: Some(format!("rfc822;{rcpt}")),
            notify: DsnNotify(4),
            orig: None,
            dsn: Dsn {
                diagnostic: Some(("smtp".into(), "550 5.1.1 unknown".into())),
                ..Dsn::new(status, "unknown user")
            },
            action: "failed".into(),
            relay: "none".into(),
            time: 1_700_000_000,
        }
    }

    fn setup() -> (tempfile::TempDir, QueueDir, QueueId) {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
        q.create_missing().unwrap();
        (t, q, QueueId::from_parts(1_700_000_000, 0xABCDE, 9))
    }

    #[test]
    fn append_and_read_round_trip() {
        let (_t, q, id) = setup();
        assert!(read(&q, "defer", &id).unwrap().is_empty());
        assert!(!exists(&q, "defer", &id));
        let a = rec("a@x", "4.4.1");
        let b = DsnRecord {
            rcpt_index: None,
            dsn: Dsn::new("4.0.0", "x"),
            ..rec("b@x", "4.0.0")
        };
        append(&q, "defer", &id, &a).unwrap();
        append(&q, "defer", &id, &b).unwrap();
        assert!(exists(&q, "defer", &id));
        assert!(q
            .path("defer", &id)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("/defer/A/"));
        assert_eq!(read(&q, "defer", &id).unwrap(), vec![a, b]);
        remove(&q, "defer", &id).unwrap();
        remove(&q, "defer", &id).unwrap();
        assert!(!exists(&q, "defer", &id));
    }

    #[test]
    fn root_writers_give_hash_directories_to_the_queue_owner() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root");
            return;
        }
        let (_t, q, id) = setup();
        let (uid, gid) = (65534, 65534);
        for queue in ["defer", "bounce"] {
            let top = q.queue_path(queue).unwrap();
            nix::unistd::chown(
                &top,
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .unwrap();
        }
        // defer/ is hashed: its new subdirectory must be the owner's.
        append(&q, "defer", &id, &rec("a@x", "4.4.1")).unwrap();
        let path = q.path("defer", &id).unwrap();
        for p in [path.parent().unwrap(), path.as_path()] {
            let m = fs::metadata(p).unwrap();
            assert_eq!((m.uid(), m.gid()), (uid, gid), "{}", p.display());
        }
        // A subdirectory left root-owned by an older writer is repaired.
        let other = QueueId::from_parts(1_700_000_001, 0x1BCDE, 9);
        let dir = q.dir("defer", &other).unwrap();
        fs::create_dir(&dir).unwrap();
        append(&q, "defer", &other, &rec("a@x", "4.4.1")).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().uid(), uid);
    }

    #[test]
    fn torn_records_are_skipped_at_every_cut() {
        let (_t, q, id) = setup();
        let one = rec("a@x", "5.1.1").encode().encode().unwrap();
        let path = q.path("bounce", &id).unwrap();
        for cut in 0..one.len() {
            // A writer died after `cut` bytes of its record (the last two
            // bytes are the end marker: without them the record is whole) ...
            fs::write(&path, &one[..cut]).unwrap();
            let (recs, _) = parse(&fs::read(&path).unwrap());
            assert!(recs.is_empty() || cut + 2 >= one.len(), "cut {cut}");
            // ... and the next writer's record must still be read whole.
            append(&q, "bounce", &id, &rec("b@x", "5.0.0")).unwrap();
            let recs = read(&q, "bounce", &id).unwrap();
            let last = recs.last().unwrap();
            assert_eq!(last.rcpt, "b@x", "cut {cut}");
            assert!(
                recs.len() <= 2 && recs.iter().all(|r| r.rcpt != "a@x" || cut + 2 >= one.len())
            );
        }
    }

    #[test]
    fn garbage_between_records_is_skipped() {
        let mut bytes = rec("a@x", "5.1.1").encode().encode().unwrap();
        bytes.extend_from_slice(b"\n\nnot an attribute\n\n");
        bytes.extend_from_slice(&rec("b@x", "5.1.1").encode().encode().unwrap());
        let (recs, skipped) = parse(&bytes);
        assert_eq!(
            recs.iter().map(|r| r.rcpt.as_str()).collect::<Vec<_>>(),
            ["a@x", "b@x"]
        );
        assert_eq!(skipped, 1);
    }
}
