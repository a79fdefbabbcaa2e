//! NAME
//!   lmdb - open and resize LMDB environments the way Postfix does
//!
//! DESCRIPTION
//!   heed marks opening an environment, setting `MDB_NOLOCK`, and changing
//!   the map size of an open environment as `unsafe`, because LMDB's memory
//!   map is only safe while every process that touches the file agrees on
//!   who writes when. Postfix's `lmdb:` tables (lmdb_table(5)) settle that
//!   with a whole-file fcntl lock taken around each transaction, and no
//!   LMDB lock file. The `maps` crate takes those locks; this module only
//!   performs the two `unsafe` calls for it.
//!
//!   The file layout is Postfix's: one file, no sub-directory
//!   (`MDB_NOSUBDIR`), no lock file (`MDB_NOLOCK`), and no thread-local
//!   reader slots (`MDB_NOTLS`).
//!
//! SEE ALSO
//!   lmdb_table(5), the `maps` crate (`maps::lmdb`).
use heed::{Env, EnvFlags, EnvOpenOptions, WithoutTls};
use std::path::Path;

/// Open the LMDB file `path` (one file, no lock file) with a map of
/// `map_size` bytes (a multiple of the page size; parameter
/// `lmdb_map_size`), read-only when `read_only` is set.
///
/// The caller must hold, or take before each transaction, a whole-file
/// fcntl lock: shared for reads, exclusive for writes. Errors: those of
/// `mdb_env_open` (missing file when read-only, bad file format, ...),
/// or `EnvAlreadyOpened` when this process has the file open already.
pub fn open_env(path: &Path, map_size: usize, read_only: bool) -> heed::Result<Env<WithoutTls>> {
    let mut options = EnvOpenOptions::new().read_txn_without_tls();
    options.map_size(map_size).max_dbs(0);
    let mut flags = EnvFlags::NO_SUB_DIR | EnvFlags::NO_LOCK;
    if read_only {
        flags |= EnvFlags::READ_ONLY;
    }
    // SAFETY: NO_LOCK is sound because every user of this environment
    // (the maps crate, and Postfix itself) serialises transactions with
    // an fcntl lock on the file, as the caller contract above requires.
    unsafe { options.flags(flags) };
    // SAFETY: the memory map is only read inside transactions that hold
    // the fcntl lock, so no other process modifies the file under us.
    unsafe { options.open(path) }
}

/// Change the map size of `env` to `map_size` bytes (0: adopt the size
/// that another process recorded in the file). Used when a write fails
/// with `MDB_MAP_FULL` and when a read sees `MDB_MAP_RESIZED`.
///
/// The caller must have no transaction open on `env`. Errors: a size that
/// is not a multiple of the page size, or LMDB's `EINVAL`.
pub fn resize_env(env: &Env<WithoutTls>, map_size: usize) -> heed::Result<()> {
    // SAFETY: no transaction is active (caller contract), which is all
    // mdb_env_set_mapsize requires.
    unsafe { env.resize(map_size) }
}
