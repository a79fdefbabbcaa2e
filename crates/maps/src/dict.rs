//! NAME
//!   dict - the lookup-table interface shared by every table type
//!
//! DESCRIPTION
//!   A [`Dict`] is one opened table (`lmdb:/etc/postfix/access`,
//!   `regexp:/etc/postfix/header_checks`, ...). Every type answers
//!   [`Dict::lookup`]; file-based indexed types (`lmdb:`) also support
//!   [`Dict::update`], [`Dict::delete`] and [`Dict::sequence`], which is
//!   what `postmap -i/-d/-s` use.
//!
//!   [`DictFlags`] carries the per-open behaviour that Postfix controls
//!   with its `DICT_FLAG_*` bits: case folding of lookup keys for
//!   fixed-string tables, what to do with duplicate keys, and whether keys
//!   and values are stored with their terminating NUL byte.
//!
//! DIAGNOSTICS
//!   [`DictError`] messages read like Postfix's (`unsupported dictionary
//!   type: foo`, `open database /x.lmdb: No such file or directory`).
use thiserror::Error;

/// What to do when an update meets a key that is already in the table
/// (Postfix's `DICT_FLAG_DUP_*`; `postmap -w` and `-r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DupMode {
    /// Keep the old value and warn `duplicate entry: "key"` (the default).
    #[default]
    Warn,
    /// Keep the old value silently (`-w`).
    Ignore,
    /// Replace the old value silently (`-r`).
    Replace,
}

/// Whether keys and values carry a terminating NUL byte on disk
/// (`postmap -N` / `-n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NulMode {
    /// Write with NUL; on lookup try with NUL first, then without, and keep
    /// whichever worked (Postfix's default on Linux).
    #[default]
    Auto,
    /// Always include the NUL (`-N`).
    Include,
    /// Never include the NUL (`-n`).
    Exclude,
}

/// Per-open options of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictFlags {
    /// Fold lookup (and stored) keys to lower case in fixed-string tables
    /// (`DICT_FLAG_FOLD_FIX`); `postmap -f` turns it off. Pattern tables
    /// (regexp, cidr) never fold: their patterns say how to match case.
    pub fold_fix: bool,
    /// Duplicate-key policy for updates.
    pub dup: DupMode,
    /// NUL terminator handling for `lmdb:`.
    pub nul: NulMode,
    /// Open for writing (`postmap -i`, `-d`); otherwise read-only.
    pub write: bool,
    /// Map size in bytes for `lmdb:` tables (parameter `lmdb_map_size`).
    pub lmdb_map_size: usize,
}

/// Postfix's default `lmdb_map_size`: 16 MiB.
pub const DEFAULT_LMDB_MAP_SIZE: usize = 16 * 1024 * 1024;

impl Default for DictFlags {
    fn default() -> Self {
        DictFlags {
            fold_fix: true,
            dup: DupMode::Warn,
            nul: NulMode::Auto,
            write: false,
            lmdb_map_size: DEFAULT_LMDB_MAP_SIZE,
        }
    }
}

impl DictFlags {
    /// Apply `fold_fix` to `key`: lower-case it when folding is on.
    pub fn fold<'a>(&self, key: &'a str) -> std::borrow::Cow<'a, str> {
        if self.fold_fix && key.chars().any(|c| c.is_uppercase()) {
            std::borrow::Cow::Owned(key.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(key)
        }
    }
}

/// The result of [`Dict::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// The key was new, or replaced per [`DupMode::Replace`].
    Stored,
    /// The key existed and was left alone ([`DupMode::Warn`] or `Ignore`);
    /// with `Warn` the table has already logged the warning.
    Duplicate,
}

/// Errors of opening, reading or writing a table.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DictError {
    /// `type:` is not a table type Postern knows.
    #[error("unsupported dictionary type: {0}")]
    UnsupportedType(String),
    /// `hash:`/`btree:` and the other Berkeley DB style types: the type,
    /// the table name, and the command that builds its lmdb replacement
    /// (`postmap`, or `postalias` for aliases: [`DictError::built_by`]).
    #[error("unsupported dictionary type: {0}: Berkeley DB tables are not supported; rebuild the table with \"{2} lmdb:{1}\" (or set \"default_database_type = lmdb\") and use lmdb:{1}")]
    BerkeleyDb(String, String, &'static str),
    /// The table name is malformed (e.g. `inline:{` without `}`).
    #[error("{0}")]
    BadName(String),
    /// A file could not be opened or read.
    #[error("open {path}: {}", crate::lmdb::strerror(.source))]
    Open {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An `lmdb:` file could not be opened (`open database x.lmdb: ...`).
    #[error("open database {path}: {reason}")]
    OpenDatabase {
        /// The `.lmdb` file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A read or write of an open table failed.
    #[error("{name}: {reason}")]
    Io {
        /// The table (`lmdb:/etc/postfix/access`).
        name: String,
        /// Why.
        reason: String,
    },
    /// The table type cannot do this (update on regexp:, sequence on
    /// static:).
    #[error("table {name}: {op} operation is not supported")]
    NotSupported {
        /// The table (`static:abc`).
        name: String,
        /// `update`, `delete` or `sequence`.
        op: &'static str,
    },
}

impl DictError {
    /// Name `command` (`postalias`) as the one that rebuilds a Berkeley
    /// DB table in the hint of [`DictError::BerkeleyDb`]; other errors are
    /// returned unchanged.
    pub fn built_by(self, command: &'static str) -> DictError {
        match self {
            DictError::BerkeleyDb(kind, name, _) => DictError::BerkeleyDb(kind, name, command),
            other => other,
        }
    }
}

/// One opened lookup table.
pub trait Dict: Send + std::fmt::Debug {
    /// The table as the user named it: `lmdb:/etc/postfix/access`.
    fn name(&self) -> &str;

    /// Whether the table looks up fixed strings (`lmdb:`, `texthash:`,
    /// `inline:`, `static:`). Pattern tables (`regexp:`, `cidr:`) answer
    /// `false`; Postfix's search orders send them only the full key,
    /// never the partial keys (user@, domain, parent domains).
    fn is_fixed(&self) -> bool;

    /// Look `key` up. Returns the value, or `None` when the key is not in
    /// the table. Errors: the table could not be read (a lock, I/O or
    /// format problem) — callers defer, as Postfix does.
    fn lookup(&self, key: &str) -> Result<Option<String>, DictError>;

    /// Store `key` = `value`, honouring the table's [`DupMode`].
    /// Errors: [`DictError::NotSupported`] for read-only types, or a
    /// write failure.
    fn update(&mut self, key: &str, value: &str) -> Result<Updated, DictError> {
        let _ = (key, value);
        Err(DictError::NotSupported {
            name: self.name().to_string(),
            op: "update",
        })
    }

    /// Remove `key`. Returns whether it was present.
    fn delete(&mut self, key: &str) -> Result<bool, DictError> {
        let _ = key;
        Err(DictError::NotSupported {
            name: self.name().to_string(),
            op: "delete",
        })
    }

    /// Every `(key, value)` pair in table order (`postmap -s`).
    fn sequence(&self) -> Result<Vec<(String, String)>, DictError> {
        Err(DictError::NotSupported {
            name: self.name().to_string(),
            op: "sequence",
        })
    }

    /// Whether the file behind the table was replaced or modified since
    /// it was opened; a long-running daemon then exits so that master
    /// starts a fresh one (Postfix's "table has changed -- restarting").
    fn changed(&self) -> bool {
        false
    }
}
