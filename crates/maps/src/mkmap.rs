//! NAME
//!   mkmap - build a complete lmdb: table from entries
//!
//! DESCRIPTION
//!   [`Builder`] collects the entries of a table source (postmap(1) or
//!   postalias(1) input) in memory, applying the duplicate policy as they
//!   come (`lmdb:/path: duplicate entry: "key"`), and [`Builder::commit`]
//!   writes them as a new `path.lmdb`: into a temporary file in the same
//!   directory, then renamed over the old table, so that readers see the
//!   old or the new table and never a half-built one. When the directory
//!   is not writable but the table is, the table is rewritten in place in
//!   one transaction instead.
//!
//!   File modes follow postmap(1): an existing table keeps its mode (and,
//!   when run as root, its owner); a new one gets mode 0600 plus the group
//!   and other read bits of the source file, or 0644 with `-p`.
//!
//!   [`build_types`] says which `type:` can be built here: `lmdb` only.
//!   `hash`/`btree` get the Berkeley DB message; `regexp`, `texthash`
//!   and other non-indexed types get Postfix's "does not support bulk-mode
//!   creation".
use crate::dict::{DictError, DictFlags, DupMode, NulMode};
use crate::lmdb::{self, encode, strerror, LmdbDict};
use crate::registry::BERKELEY_TYPES;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Whether `kind` can be built by postmap/postalias. Errors carry the
/// message to print (without `fatal:`).
pub fn build_types(kind: &str, path: &str) -> Result<(), DictError> {
    match kind {
        "lmdb" => Ok(()),
        k if BERKELEY_TYPES.contains(&k) => Err(DictError::BerkeleyDb(
            k.to_string(),
            path.to_string(),
            "postmap",
        )),
        k if crate::registry::SUPPORTED_TYPES.contains(&k) => Err(DictError::UnsupportedType(
            format!("{k} does not support bulk-mode creation."),
        )),
        other => Err(DictError::UnsupportedType(other.to_string())),
    }
}

/// A table being built.
#[derive(Debug)]
pub struct Builder {
    name: String,
    base: String,
    flags: DictFlags,
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Builder {
    /// Start building `lmdb:base` (the file `base.lmdb`). Keys are folded
    /// per `flags.fold_fix`, duplicates handled per `flags.dup`, NULs
    /// per `flags.nul`.
    pub fn new(base: &str, flags: DictFlags) -> Builder {
        Builder {
            name: format!("lmdb:{base}"),
            base: base.to_string(),
            flags,
            entries: BTreeMap::new(),
        }
    }

    /// Add one entry. A duplicate key keeps the first value (warning
    /// `lmdb:base: duplicate entry: "key"` unless `-w`), or the new one
    /// with `-r`. Returns whether the entry was stored.
    pub fn add(&mut self, key: &str, value: &str) -> bool {
        let key = self.flags.fold(key).into_owned();
        self.add_exact(&key, value)
    }

    /// [`Builder::add`] without case folding (postalias's `YP_*` entries).
    pub fn add_exact(&mut self, key: &str, value: &str) -> bool {
        let k = encode(key, self.flags.nul);
        if self.entries.contains_key(&k) {
            match self.flags.dup {
                DupMode::Warn => {
                    util::msg_warn!("{}: duplicate entry: \"{key}\"", self.name);
                    return false;
                }
                DupMode::Ignore => return false,
                DupMode::Replace => {}
            }
        }
        self.entries.insert(k, encode(value, self.flags.nul));
        true
    }

    /// How many entries were added.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Write the table (see the module description). `source_mode` is the
    /// source file's mode (for a new table's read bits); `default_mode`
    /// forces 0644 (`-p`). Errors: the file cannot be created or written.
    pub fn commit(self, source_mode: Option<u32>, default_mode: bool) -> Result<(), DictError> {
        let target = PathBuf::from(format!("{}.lmdb", self.base));
        let old = std::fs::metadata(&target).ok();
        let mode = match (&old, default_mode) {
            (Some(m), _) => m.mode() & 0o7777,
            (None, true) => 0o644,
            (None, false) => 0o600 | (source_mode.unwrap_or(0o644) & 0o044),
        };
        let tmp = PathBuf::from(format!("{}.lmdb.{}.tmp", self.base, std::process::id()));
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp);
        match created {
            Ok(file) => {
                file.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(|e| DictError::Open {
                        path: tmp.display().to_string(),
                        source: e,
                    })?;
                if let Some(m) = &old {
                    // Only root can give the file away; elsewhere this fails
                    // harmlessly because the owner is already ours.
                    let _ = nix::unistd::fchown(
                        std::os::fd::AsRawFd::as_raw_fd(&file),
                        Some(nix::unistd::Uid::from_raw(m.uid())),
                        Some(nix::unistd::Gid::from_raw(m.gid())),
                    );
                }
                drop(file);
                let written = lmdb::write_new(&tmp, &self.entries, self.flags.lmdb_map_size)
                    .and_then(|()| {
                        std::fs::rename(&tmp, &target).map_err(|e| open_err(&target, e))
                    });
                if written.is_err() {
                    let _ = std::fs::remove_file(&tmp);
                }
                written
            }
            Err(e) if old.is_some() && e.kind() == std::io::ErrorKind::PermissionDenied => {
                self.rewrite_in_place()
            }
            Err(e) => Err(open_err(&tmp, e)),
        }
    }

    /// Replace every entry of the existing table in one transaction.
    fn rewrite_in_place(self) -> Result<(), DictError> {
        let flags = DictFlags {
            write: true,
            ..self.flags
        };
        let mut dict = LmdbDict::open(&self.base, flags)?;
        dict.replace_all(&self.entries)
    }
}

fn open_err(path: &Path, e: std::io::Error) -> DictError {
    DictError::OpenDatabase {
        path: path.display().to_string(),
        reason: strerror(&e),
    }
}

/// Make sure `base.lmdb` exists so that it can be opened for update
/// (`postmap -i` on a new table), with `mode`. Errors: it cannot be
/// created.
pub fn ensure_table(base: &str, flags: &DictFlags, mode: u32) -> Result<(), DictError> {
    let target = PathBuf::from(format!("{base}.lmdb"));
    if target.exists() {
        return Ok(());
    }
    Builder::new(
        base,
        DictFlags {
            nul: NulMode::Auto,
            ..*flags
        },
    )
    .commit(Some(mode), false)
}
