//! NAME
//!   mbox - append a message to a UNIX mailbox file
//!
//! DESCRIPTION
//!   [`append`] delivers one message to an mbox file — the user's file
//!   under `mail_spool_directory`, a `home_mailbox` file, or a `/file`
//!   destination from an alias or `.forward` file — as Postfix's local(8)
//!   does:
//!
//!   1. open the file for appending, creating it with mode 0600 (and, for
//!      a spool file created with root privileges, giving it to the
//!      recipient), refusing symbolic links, non-regular files and files
//!      with more than one hard link;
//!   2. lock it ([`crate::lock`], `mailbox_delivery_lock`);
//!   3. write the `From ` line, `Return-Path:`, `X-Original-To:`,
//!      `Delivered-To:`, the quoted message and an empty line
//!      ([`crate::copy`]), within `mailbox_size_limit`;
//!   4. fsync; on any failure truncate the file back to its old size, so
//!      a failed delivery leaves no partial message behind.
//!
//! DIAGNOSTICS
//!   Errors are [`WriteError`]s whose text reads like Postfix's
//!   (`cannot create file exclusively: Permission denied`, `cannot open
//!   file: ...` and `destination /x is not a regular file`, which bounce
//!   with 5.2.0; `unable to lock for exclusive access: ...`, `error
//!   writing message: File too large`).
//!
//! SEE ALSO
//!   local(8), postconf(5) `mail_spool_directory`, `mailbox_size_limit`,
//!   `mailbox_delivery_lock`.
use crate::copy::{copy_message, CopyOptions};
use crate::errors::WriteError;
use crate::limit::Limited;
use crate::lock::{lock_mailbox, LockPolicy};
use chrono::Local;
use nix::unistd::{Gid, Uid};
use std::fs::OpenOptions;
use std::io::{BufRead, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Who should own a mailbox file that this delivery creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOwner {
    /// Owner's user ID.
    pub uid: Uid,
    /// Owner's group ID.
    pub gid: Gid,
}

/// Append `content` to the mbox file `path` with `opts`, locking per
/// `policy`, within `limit` bytes of file size (0 = none). When
/// `chown_to` is given and the file is created by this call, it is given
/// to that user (spool files created as root). Errors: see DIAGNOSTICS.
pub fn append<R: BufRead>(
    path: &Path,
    content: R,
    opts: &CopyOptions,
    policy: &LockPolicy,
    limit: u64,
    chown_to: Option<FileOwner>,
) -> Result<(), WriteError> {
    let existed = path.exists();
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| WriteError::open(existed, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| WriteError::from_io(format!("cannot stat file {}", path.display()), &e))?;
    if !meta.file_type().is_file() {
        return Err(WriteError::destination(format!(
            "destination {} is not a regular file",
            path.display()
        )));
    }
    if meta.nlink() > 1 {
        return Err(WriteError::destination(format!(
            "destination {} has too many hard links",
            path.display()
        )));
    }
    if let (false, Some(o)) = (existed, chown_to) {
        nix::unistd::fchown(
            std::os::fd::AsRawFd::as_raw_fd(&file),
            Some(o.uid),
            Some(o.gid),
        )
        .map_err(|e| {
            WriteError::other(format!(
                "cannot change ownership of {}: {}",
                path.display(),
                e.desc()
            ))
        })?;
    }
    let _lock = lock_mailbox(path, &file, policy).map_err(WriteError::lock)?;
    let start = file
        .metadata()
        .map(|m| m.len())
        .map_err(|e| WriteError::from_io(format!("cannot stat file {}", path.display()), &e))?;
    let mut w = BufWriter::new(Limited::new(&file, limit));
    let result = copy_message(content, &mut w, opts, Local::now())
        .and_then(|_| w.flush())
        .and_then(|_| {
            drop(w);
            file.sync_data()
        });
    if let Err(e) = result {
        let _ = file.set_len(start);
        let _ = file.sync_data();
        return Err(WriteError::from_io("error writing message".into(), &e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy() -> LockPolicy {
        LockPolicy {
            attempts: 2,
            delay: Duration::from_millis(5),
            ..LockPolicy::default()
        }
    }

    #[test]
    fn appends_messages_in_mbox_form() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u");
        let opts = CopyOptions::mbox("s@x", None, Some("u@x"));
        append(
            &p,
            &b"Subject: 1\n\nFrom here\n"[..],
            &opts,
            &policy(),
            0,
            None,
        )
        .unwrap();
        append(&p, &b"Subject: 2\n\nbye\n"[..], &opts, &policy(), 0, None).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text.matches("\nFrom s@x  ").count() + usize::from(text.starts_with("From s@x  ")),
            2
        );
        assert!(text.contains("\n>From here\n\n"), "{text}");
        assert!(text.ends_with("bye\n\n"));
        assert!(!dir.path().join("u.lock").exists());
    }

    #[test]
    fn size_limit_truncates_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u");
        let opts = CopyOptions::mbox("s@x", None, None);
        append(&p, &b"Subject: 1\n\nsmall\n"[..], &opts, &policy(), 0, None).unwrap();
        let before = std::fs::read(&p).unwrap();
        let big = vec![b'x'; 100_000];
        let e = append(&p, &big[..], &opts, &policy(), 1000, None).unwrap_err();
        assert!(e.permanent && e.text.contains("File too large"), "{e:?}");
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }

    #[test]
    fn symlinks_and_busy_locks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t");
        std::fs::write(&target, "").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let opts = CopyOptions::mbox("s@x", None, None);
        assert!(append(&link, &b"x\n"[..], &opts, &policy(), 0, None).is_err());
        std::fs::write(dir.path().join("t.lock"), "").unwrap();
        let e = append(&target, &b"x\n"[..], &opts, &policy(), 0, None).unwrap_err();
        assert_eq!(e.dsn, "4.2.0");
        assert!(!e.permanent);
    }
}
