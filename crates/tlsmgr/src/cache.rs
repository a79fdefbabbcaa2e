//! NAME
//!   cache - the session cache files tlsmgr owns
//!
//! DESCRIPTION
//!   One LMDB file per cache type (`smtpd`, `smtp`, `lmtp`), opened
//!   through the `maps` crate (Postfix's `lmdb:` layout, fcntl locking,
//!   no lock file). Postern supports `lmdb:` only: a
//!   `*_tls_session_cache_database` of type `btree:`, `hash:` or `sdbm:`
//!   (Postfix's usual `btree:${data_directory}/smtpd_scache`) is opened as
//!   `lmdb:` on the same path, with one warning. The file is removed and
//!   re-created empty when tlsmgr starts (TLS_CHANGES 2000/03/16).
//!
//!   Values are [`tls::scache`] entries (creation time + blob); a lookup
//!   drops expired entries and entries of another format version
//!   (TLS_CHANGES 2000/03/07); [`Cache::purge`] removes every expired or
//!   unreadable entry.
use maps::lmdb::LmdbDict;
use maps::{Dict, DictFlags, DupMode};
use tls::scache;
use util::msg_warn;

/// One open session cache.
#[derive(Debug)]
pub struct Cache {
    /// `smtpd`, `smtp` or `lmtp`.
    pub kind: String,
    dict: LmdbDict,
    /// `*_tls_session_cache_timeout`, seconds.
    pub timeout: i64,
}

/// The LMDB base path of a `*_tls_session_cache_database` value, with a
/// warning for non-LMDB types. `None` for an empty value or an unknown
/// type (warned too).
pub fn base_path(param: &str, value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let (kind, path) = v.split_once(':').unwrap_or(("lmdb", v));
    match kind {
        "lmdb" => Some(path.to_string()),
        "btree" | "hash" | "sdbm" | "dbm" => {
            msg_warn!("{param}: {kind}: tables are not supported; using lmdb:{path} instead");
            Some(path.to_string())
        }
        other => {
            msg_warn!("{param}: unsupported session cache type {other}: -- caching disabled");
            None
        }
    }
}

impl Cache {
    /// Remove any old file at `base` and create a fresh, empty cache.
    /// Errors: the text of the failure, for a warning.
    pub fn create(kind: &str, base: &str, timeout: i64) -> Result<Cache, String> {
        let file = format!("{base}.lmdb");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("remove {file}: {e}")),
        }
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .map_err(|e| {
                    format!(
                        "create {file}: {}",
                        util::strings::strip_os_error(&e.to_string())
                    )
                })?;
        }
        let flags = DictFlags {
            fold_fix: false,
            dup: DupMode::Replace,
            write: true,
            ..DictFlags::default()
        };
        let dict = LmdbDict::open(base, flags).map_err(|e| e.to_string())?;
        Ok(Cache {
            kind: kind.to_string(),
            dict,
            timeout,
        })
    }

    /// Find `id`; the blob when present, current and of this format.
    /// Stale or foreign entries are deleted.
    pub fn lookup(&mut self, id: &str, now: i64) -> Option<Vec<u8>> {
        let text = match self.dict.lookup(id) {
            Ok(Some(t)) => t,
            Ok(None) => return None,
            Err(e) => {
                msg_warn!("{} session cache lookup: {e}", self.kind);
                return None;
            }
        };
        match scache::decode_entry(&text) {
            Ok((created, blob)) if !scache::expired(created, now, self.timeout) => Some(blob),
            _ => {
                let _ = self.dict.delete(id);
                None
            }
        }
    }

    /// Store `blob` under `id`, stamped `now`. Returns false for a blob
    /// of another format version or a write failure (warned).
    pub fn update(&mut self, id: &str, blob: &[u8], now: i64) -> bool {
        if scache::decode_blob(blob).is_err() || blob.len() > scache::MAX_BLOB + 8 {
            return false;
        }
        match self.dict.update(id, &scache::encode_entry(now, blob)) {
            Ok(_) => true,
            Err(e) => {
                msg_warn!("{} session cache update: {e}", self.kind);
                false
            }
        }
    }

    /// Remove `id`.
    pub fn delete(&mut self, id: &str) {
        let _ = self.dict.delete(id);
    }

    /// Remove every expired or unreadable entry; returns how many.
    pub fn purge(&mut self, now: i64) -> usize {
        let Ok(all) = self.dict.sequence() else {
            return 0;
        };
        let mut n = 0;
        for (k, v) in all {
            let keep = matches!(scache::decode_entry(&v), Ok((c, _)) if !scache::expired(c, now, self.timeout));
            if !keep && self.dict.delete(&k).unwrap_or(false) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_paths() {
        assert_eq!(
            base_path("p", "lmdb:/x/scache").as_deref(),
            Some("/x/scache")
        );
        assert_eq!(
            base_path("p", "btree:/x/scache").as_deref(),
            Some("/x/scache")
        );
        assert_eq!(base_path("p", "/x/scache").as_deref(), Some("/x/scache"));
        assert_eq!(base_path("p", ""), None);
        assert_eq!(base_path("p", "memcache:x"), None);
    }

    #[test]
    fn lookup_update_delete_expiry_version() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("scache").display().to_string();
        std::fs::write(format!("{base}.lmdb"), b"stale").unwrap();
        let mut c = Cache::create("smtpd", &base, 100).unwrap();
        let blob = scache::encode_blob(scache::FLAG_TRUSTED, b"der");
        assert!(c.lookup("aa", 1000).is_none());
        assert!(c.update("aa", &blob, 1000));
        assert_eq!(c.lookup("aa", 1050), Some(blob.clone()));
        // Expired: gone, and deleted.
        assert!(c.lookup("aa", 1100).is_none());
        assert!(c.lookup("aa", 1000).is_none());
        // Another format version is refused at update...
        let mut foreign = blob.clone();
        foreign[3] = 9;
        assert!(!c.update("bb", &foreign, 1000));
        // ... and dropped at lookup if it got there anyway (2000/03/07).
        c.dict
            .update("bb", &scache::encode_entry(1000, &foreign))
            .unwrap();
        assert!(c.lookup("bb", 1000).is_none());
        assert_eq!(c.dict.lookup("bb").unwrap(), None);
        assert!(c.update("cc", &blob, 1000));
        assert!(c.update("dd", &blob, 1090));
        assert_eq!(c.purge(1150), 1);
        assert!(c.lookup("dd", 1150).is_some());
        c.delete("dd");
        assert!(c.lookup("dd", 1150).is_none());
        // Re-creating empties the cache (postfix start/reload).
        drop(c);
        let mut c = Cache::create("smtpd", &base, 100).unwrap();
        assert!(c.lookup("cc", 1000).is_none());
    }
}
