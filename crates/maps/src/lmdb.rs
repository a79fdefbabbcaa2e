//! NAME
//!   lmdb - Postfix-compatible LMDB tables (lmdb_table(5))
//!
//! DESCRIPTION
//!   `lmdb:/etc/postfix/access` is the single file
//!   `/etc/postfix/access.lmdb` holding everything in LMDB's unnamed
//!   database. As Postfix does, keys and values are written with a
//!   terminating NUL byte (`example.com\0` -> `OK\0`), and a lookup tries
//!   `key\0` first, then `key`, and keeps whichever worked. LMDB's own lock
//!   file is never used (`MDB_NOLOCK`): each transaction is bracketed by a
//!   whole-file fcntl lock, shared for lookups and exclusive for updates,
//!   so Postern and Postfix programs can share one table.
//!
//!   The map size starts at `lmdb_map_size` (16 MiB by default); a write
//!   that finds the map full doubles it and tries again, and a reader that
//!   finds the file grown by another process adopts the new size.
//!
//!   A process opens each file once (LMDB's rule); opening the same table
//!   twice shares the environment. A handle keeps reading the file it
//!   opened even after postmap renamed a new one into place; long-running
//!   programs check [`Dict::changed`] and restart, as Postfix's do.
//!
//!   [`write_new`] writes a complete table into a fresh file, which
//!   `postmap`/`postalias` then rename over the old one.
//!
//! SEE ALSO
//!   lmdb_table(5), postmap(1), `sys::lmdb` (the two unsafe calls).
use crate::dict::{Dict, DictError, DictFlags, DupMode, NulMode, Updated};
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, MdbError, WithoutTls};
use nix::fcntl::{fcntl, FcntlArg};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
#[cfg(test)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};

type Db = Database<'static, Bytes, Bytes>;

/// The text of an I/O error without Rust's ` (os error N)` suffix, as
/// Postfix prints `strerror()`.
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

fn heed_reason(e: &heed::Error) -> String {
    match e {
        heed::Error::Io(io) => strerror(io),
        other => other.to_string(),
    }
}

/// A whole-file fcntl lock, released on drop.
struct FileLock<'a>(&'a File);

impl<'a> FileLock<'a> {
    /// Take a shared (`exclusive == false`) or exclusive lock on `file`,
    /// waiting for it.
    fn take(file: &'a File, exclusive: bool) -> std::io::Result<FileLock<'a>> {
        let kind = if exclusive {
            libc::F_WRLCK
        } else {
            libc::F_RDLCK
        };
        set_lock(file, kind)?;
        Ok(FileLock(file))
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        let _ = set_lock(self.0, libc::F_UNLCK);
    }
}

fn set_lock(file: &File, kind: libc::c_int) -> std::io::Result<()> {
    let lock = libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    loop {
        match fcntl(file.as_raw_fd(), FcntlArg::F_SETLKW(&lock)) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// One open LMDB file, shared by every handle on it in this process.
struct Shared {
    env: Env<WithoutTls>,
    db: Db,
    lock: File,
    read_only: bool,
}

static OPEN: Mutex<Vec<(PathBuf, Weak<Shared>)>> = Mutex::new(Vec::new());

fn round_to_page(size: usize) -> usize {
    const PAGE: usize = 4096;
    size.max(PAGE).div_ceil(PAGE) * PAGE
}

fn open_shared(file: &Path, flags: &DictFlags) -> Result<Arc<Shared>, DictError> {
    let err = |reason: String| DictError::OpenDatabase {
        path: file.display().to_string(),
        reason,
    };
    let lock = OpenOptions::new()
        .read(true)
        .write(flags.write)
        .open(file)
        .map_err(|e| err(strerror(&e)))?;
    let canon = std::fs::canonicalize(file).map_err(|e| err(strerror(&e)))?;
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    open.retain(|(_, w)| w.strong_count() > 0);
    if let Some(shared) = open
        .iter()
        .find(|(p, _)| *p == canon)
        .and_then(|(_, w)| w.upgrade())
    {
        if shared.read_only && flags.write {
            return Err(err("already open read-only in this process".to_string()));
        }
        return Ok(shared);
    }
    let _guard =
        FileLock::take(&lock, flags.write).map_err(|e| err(format!("lock: {}", strerror(&e))))?;
    let env = sys::lmdb::open_env(&canon, round_to_page(flags.lmdb_map_size), !flags.write)
        .map_err(|e| err(heed_reason(&e)))?;
    let db = if flags.write {
        create_main_db(&env).map_err(|e| err(heed_reason(&e)))?
    } else {
        let rtxn = read_txn(&env).map_err(|e| err(heed_reason(&e)))?;
        let db = env
            .open_databases_and_commit(rtxn, |dbo, rtxn| {
                dbo.open_database::<Bytes, Bytes>(rtxn, None)
                    .map(CommitOrAbort::<_, ()>::Commit)
            })
            .map_err(|e: heed::Error| err(heed_reason(&e)))?
            .unwrap_commit();
        db.ok_or_else(|| err("no main database".to_string()))?
    };
    drop(_guard);
    let shared = Arc::new(Shared {
        env,
        db,
        lock,
        read_only: !flags.write,
    });
    open.push((canon, Arc::downgrade(&shared)));
    Ok(shared)
}

/// Create (or open) the unnamed database in a write transaction.
fn create_main_db(env: &Env<WithoutTls>) -> heed::Result<Db> {
    let wtxn = env.write_txn()?;
    let db = env
        .create_databases_and_commit(wtxn, |dbo, wtxn| {
            dbo.create_database::<Bytes, Bytes>(wtxn, None)
                .map(CommitOrAbort::<_, ()>::Commit)
        })?
        .unwrap_commit();
    Ok(db)
}

/// Begin a read transaction, adopting a map size that another process
/// grew (`MDB_MAP_RESIZED`).
fn read_txn(env: &Env<WithoutTls>) -> heed::Result<heed::RoTxn<'_, WithoutTls>> {
    match env.read_txn() {
        Err(heed::Error::Mdb(MdbError::MapResized)) => {
            sys::lmdb::resize_env(env, 0)?;
            env.read_txn()
        }
        other => other,
    }
}

/// A handle on an `lmdb:` table.
pub struct LmdbDict {
    name: String,
    file: PathBuf,
    flags: DictFlags,
    shared: Arc<Shared>,
    /// 0: not known yet, 1: keys carry a NUL, 2: they do not.
    nul_state: AtomicU8,
    stamp: Option<(u64, u64, i64)>,
}

impl std::fmt::Debug for LmdbDict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbDict")
            .field("name", &self.name)
            .field("file", &self.file)
            .finish()
    }
}

fn stamp(path: &Path) -> Option<(u64, u64, i64)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino(), m.mtime()))
}

fn with_nul(s: &str, nul: bool) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if nul {
        v.push(0);
    }
    v
}

fn strip_nul(b: &[u8]) -> String {
    String::from_utf8_lossy(b.strip_suffix(&[0]).unwrap_or(b)).into_owned()
}

impl LmdbDict {
    /// Open `lmdb:base`: the file `base.lmdb`, read-only unless
    /// `flags.write`. Errors: [`DictError::OpenDatabase`] (`open database
    /// /etc/postfix/access.lmdb: No such file or directory`).
    pub fn open(base: &str, flags: DictFlags) -> Result<LmdbDict, DictError> {
        let file = PathBuf::from(format!("{base}.lmdb"));
        let shared = open_shared(&file, &flags)?;
        let initial = match flags.nul {
            NulMode::Auto => 0,
            NulMode::Include => 1,
            NulMode::Exclude => 2,
        };
        Ok(LmdbDict {
            name: format!("lmdb:{base}"),
            stamp: stamp(&file),
            file,
            flags,
            shared,
            nul_state: AtomicU8::new(initial),
        })
    }

    fn io_err(&self, e: impl std::fmt::Display) -> DictError {
        DictError::Io {
            name: self.name.clone(),
            reason: e.to_string(),
        }
    }

    /// Run a write transaction `f`, doubling the map size and retrying
    /// when the map is full.
    fn write<R>(
        &self,
        mut f: impl FnMut(&mut heed::RwTxn<'_>, Db) -> heed::Result<R>,
    ) -> Result<R, DictError> {
        if self.shared.read_only {
            return Err(self.io_err("table is open read-only"));
        }
        let _lock =
            FileLock::take(&self.shared.lock, true).map_err(|e| self.io_err(strerror(&e)))?;
        loop {
            let env = &self.shared.env;
            let mut wtxn = env.write_txn().map_err(|e| self.io_err(heed_reason(&e)))?;
            match f(&mut wtxn, self.shared.db).and_then(|r| wtxn.commit().map(|()| r)) {
                Ok(r) => return Ok(r),
                Err(heed::Error::Mdb(MdbError::MapFull)) => {
                    let size = env.info().map_size.saturating_mul(2);
                    sys::lmdb::resize_env(env, round_to_page(size))
                        .map_err(|e| self.io_err(heed_reason(&e)))?;
                }
                Err(e) => return Err(self.io_err(heed_reason(&e))),
            }
        }
    }

    /// Replace the whole content with `entries` (raw bytes, NULs already
    /// added) in one transaction. Errors: the table is read-only or the
    /// write failed.
    pub fn replace_all(&mut self, entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), DictError> {
        self.write(|txn, db| {
            db.clear(txn)?;
            for (k, v) in entries {
                db.put(txn, k, v)?;
            }
            Ok(())
        })
    }

    /// Whether to write keys with NUL (per flags and what lookups saw).
    fn write_nul(&self) -> bool {
        self.nul_state.load(Ordering::Relaxed) != 2
    }
}

impl Dict for LmdbDict {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_fixed(&self) -> bool {
        true
    }

    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        let key = self.flags.fold(key);
        let _lock =
            FileLock::take(&self.shared.lock, false).map_err(|e| self.io_err(strerror(&e)))?;
        let rtxn = read_txn(&self.shared.env).map_err(|e| self.io_err(heed_reason(&e)))?;
        let state = self.nul_state.load(Ordering::Relaxed);
        for (nul, code) in [(true, 1u8), (false, 2u8)] {
            if state != 0 && state != code {
                continue;
            }
            let k = with_nul(&key, nul);
            if k.len() > MAX_KEY_SIZE {
                // Such a key cannot have been stored.
                continue;
            }
            if let Some(v) = self
                .shared
                .db
                .get(&rtxn, &k)
                .map_err(|e| self.io_err(heed_reason(&e)))?
            {
                if state == 0 {
                    self.nul_state.store(code, Ordering::Relaxed);
                }
                return Ok(Some(strip_nul(v)));
            }
        }
        Ok(None)
    }

    fn update(&mut self, key: &str, value: &str) -> Result<Updated, DictError> {
        let key = self.flags.fold(key).into_owned();
        let nul = self.write_nul();
        let (k, v) = (with_nul(&key, nul), with_nul(value, nul));
        if k.len() > MAX_KEY_SIZE {
            return Err(self.io_err(format!(
                "key is too long: {} bytes, an lmdb table holds at most {MAX_KEY_SIZE}",
                k.len()
            )));
        }
        let dup = self.flags.dup;
        let outcome = self.write(|txn, db| {
            if dup != DupMode::Replace && db.get(txn, &k)?.is_some() {
                return Ok(Updated::Duplicate);
            }
            db.put(txn, &k, &v)?;
            Ok(Updated::Stored)
        })?;
        if outcome == Updated::Duplicate && dup == DupMode::Warn {
            util::msg_warn!("{}: duplicate entry: \"{key}\"", self.name);
        }
        Ok(outcome)
    }

    fn delete(&mut self, key: &str) -> Result<bool, DictError> {
        let key = self.flags.fold(key).into_owned();
        let state = self.nul_state.load(Ordering::Relaxed);
        self.write(|txn, db| {
            let mut found = false;
            for (nul, code) in [(true, 1u8), (false, 2u8)] {
                if (state == 0 || state == code) && db.delete(txn, &with_nul(&key, nul))? {
                    found = true;
                }
            }
            Ok(found)
        })
    }

    fn sequence(&self) -> Result<Vec<(String, String)>, DictError> {
        let _lock =
            FileLock::take(&self.shared.lock, false).map_err(|e| self.io_err(strerror(&e)))?;
        let rtxn = read_txn(&self.shared.env).map_err(|e| self.io_err(heed_reason(&e)))?;
        let mut out = Vec::new();
        for item in self
            .shared
            .db
            .iter(&rtxn)
            .map_err(|e| self.io_err(heed_reason(&e)))?
        {
            let (k, v) = item.map_err(|e| self.io_err(heed_reason(&e)))?;
            out.push((strip_nul(k), strip_nul(v)));
        }
        Ok(out)
    }

    fn changed(&self) -> bool {
        stamp(&self.file) != self.stamp
    }
}

/// Write `entries` (raw key and value bytes, NUL already added or not)
/// as a complete new table into `file`, which must exist and be empty
/// (the caller creates it with the wanted mode and owner). The map starts
/// at `map_size` bytes and doubles while the data do not fit. Errors:
/// [`DictError::OpenDatabase`] or [`DictError::Io`].
pub fn write_new(
    file: &Path,
    entries: &BTreeMap<Vec<u8>, Vec<u8>>,
    map_size: usize,
) -> Result<(), DictError> {
    let err = |reason: String| DictError::OpenDatabase {
        path: file.display().to_string(),
        reason,
    };
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .map_err(|e| err(strerror(&e)))?;
    let _guard = FileLock::take(&lock, true).map_err(|e| err(strerror(&e)))?;
    let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len() + 16).sum();
    let mut size = round_to_page(map_size.max(bytes.saturating_mul(2)));
    let env = sys::lmdb::open_env(file, size, false).map_err(|e| err(heed_reason(&e)))?;
    let db = create_main_db(&env).map_err(|e| err(heed_reason(&e)))?;
    loop {
        let attempt = (|| -> heed::Result<()> {
            let mut wtxn = env.write_txn()?;
            for (k, v) in entries {
                db.put(&mut wtxn, k, v)?;
            }
            wtxn.commit()
        })();
        match attempt {
            Ok(()) => break,
            Err(heed::Error::Mdb(MdbError::MapFull)) => {
                size = round_to_page(size.saturating_mul(2));
                sys::lmdb::resize_env(&env, size).map_err(|e| err(heed_reason(&e)))?;
            }
            Err(e) => {
                return Err(DictError::Io {
                    name: file.display().to_string(),
                    reason: heed_reason(&e),
                })
            }
        }
    }
    env.force_sync().map_err(|e| err(heed_reason(&e)))?;
    Ok(())
}

/// The longest key an lmdb table holds, in bytes, its NUL included
/// (LMDB's compiled-in maximum key size).
pub const MAX_KEY_SIZE: usize = 511;

/// Encode a key or value for [`write_new`]: with a NUL byte unless
/// `nul` is [`NulMode::Exclude`].
pub fn encode(text: &str, nul: NulMode) -> Vec<u8> {
    with_nul(text, nul != NulMode::Exclude)
}

/// How many LMDB files this process
/// has open through the shared cache.
pub fn open_count() -> usize {
    let open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    open.iter().filter(|(_, w)| w.strong_count() > 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mkmap::Builder;

    fn build(base: &str, entries: &[(&str, &str)], flags: DictFlags) {
        let mut b = Builder::new(base, flags);
        for (k, v) in entries {
            b.add(k, v);
        }
        b.commit(Some(0o644), false).unwrap();
    }

    #[test]
    fn build_lookup_sequence_and_file_layout() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("access").display().to_string();
        build(
            &base,
            &[("Example.COM", "OK"), ("b", "REJECT no")],
            DictFlags::default(),
        );
        // One file, no lock file, mode from the source's read bits.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("access.lmdb")]);
        let meta = std::fs::metadata(format!("{base}.lmdb")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644);
        let d = LmdbDict::open(&base, DictFlags::default()).unwrap();
        assert_eq!(d.lookup("EXAMPLE.com").unwrap().as_deref(), Some("OK"));
        assert_eq!(d.lookup("nope").unwrap(), None);
        assert_eq!(
            d.sequence().unwrap(),
            vec![
                ("b".to_string(), "REJECT no".to_string()),
                ("example.com".to_string(), "OK".to_string())
            ]
        );
        // Keys and values are stored NUL-terminated, as Postfix writes them.
        let raw = std::fs::read(format!("{base}.lmdb")).unwrap();
        assert!(raw.windows(12).any(|w| w == b"example.com\0"));
    }

    #[test]
    fn update_delete_duplicates_and_growth() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("t").display().to_string();
        build(&base, &[("a", "1")], DictFlags::default());
        let small = DictFlags {
            write: true,
            lmdb_map_size: 8 * 4096,
            ..DictFlags::default()
        };
        let mut d = LmdbDict::open(&base, small).unwrap();
        assert_eq!(d.update("a", "2").unwrap(), Updated::Duplicate);
        assert_eq!(d.lookup("a").unwrap().as_deref(), Some("1"));
        // Far more than 32 KiB: the map must grow.
        let big = "x".repeat(1000);
        for i in 0..300 {
            assert_eq!(d.update(&format!("k{i}"), &big).unwrap(), Updated::Stored);
        }
        assert_eq!(d.lookup("k299").unwrap().as_deref(), Some(big.as_str()));
        assert!(d.delete("a").unwrap());
        assert!(!d.delete("a").unwrap());
        drop(d);
        let mut r = LmdbDict::open(
            &base,
            DictFlags {
                write: true,
                dup: DupMode::Replace,
                ..DictFlags::default()
            },
        )
        .unwrap();
        r.update("k1", "new").unwrap();
        assert_eq!(r.lookup("k1").unwrap().as_deref(), Some("new"));
    }

    #[test]
    fn tables_without_nul_are_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("n").display().to_string();
        build(
            &base,
            &[("key", "value")],
            DictFlags {
                nul: NulMode::Exclude,
                ..DictFlags::default()
            },
        );
        let d = LmdbDict::open(&base, DictFlags::default()).unwrap();
        assert_eq!(d.lookup("key").unwrap().as_deref(), Some("value"));
        let strict = LmdbDict::open(
            &base,
            DictFlags {
                nul: NulMode::Include,
                ..DictFlags::default()
            },
        )
        .unwrap();
        assert_eq!(strict.lookup("key").unwrap(), None);
    }

    #[test]
    fn rebuild_is_seen_as_a_change_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("c").display().to_string();
        build(&base, &[("a", "1")], DictFlags::default());
        std::fs::set_permissions(
            format!("{base}.lmdb"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let d = LmdbDict::open(&base, DictFlags::default()).unwrap();
        assert!(!d.changed());
        build(&base, &[("a", "2")], DictFlags::default());
        assert!(d.changed());
        assert_eq!(
            std::fs::metadata(format!("{base}.lmdb")).unwrap().mode() & 0o777,
            0o640
        );
        drop(d);
        let fresh = LmdbDict::open(&base, DictFlags::default()).unwrap();
        assert_eq!(fresh.lookup("a").unwrap().as_deref(), Some("2"));
    }
}
