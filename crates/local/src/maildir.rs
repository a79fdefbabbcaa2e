//! NAME
//!   maildir - delivery to a Maildir (tmp/, new/, cur/)
//!
//! DESCRIPTION
//!   A Maildir delivery, as D. J. Bernstein's maildir(5) specification and
//!   Postfix's local(8) do it: create the `tmp`, `new` and `cur`
//!   subdirectories when missing (mode 0700), write the message to a new
//!   file in `tmp/` named `<seconds>.P<pid>Q<count>.<host>`, fsync it,
//!   then give it its final unique name in `new/`,
//!   `<seconds>.V<device hex>I<inode hex>M<microseconds>.<host>`, with
//!   link(2) and remove the `tmp/` name. The message is never visible in
//!   `new/` before it is complete. The host part has `/` written as
//!   `\057` and `:` as `\072`.
//!
//!   The caller has already switched to the recipient's privileges.
//!   `mailbox_size_limit` bounds the file size.
//!
//! DIAGNOSTICS
//!   `create maildir file DIR/tmp/NAME: REASON`, `link to DIR/new/NAME:
//!   REASON`; `File too large` when the size limit is hit.
//!
//! SEE ALSO
//!   local(8), postconf(5) `home_mailbox`, `mailbox_size_limit`.
use crate::copy::{copy_message, CopyOptions};
use crate::errors::WriteError;
use chrono::Local;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{BufRead, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNT: AtomicU64 = AtomicU64::new(0);

/// The host name as it may appear in a Maildir file name.
pub fn safe_host(host: &str) -> String {
    host.replace('/', "\\057").replace(':', "\\072")
}

/// The temporary name: `<seconds>.P<pid>Q<count>.<host>`.
pub fn tmp_name(secs: u64, pid: u32, count: u64, host: &str) -> String {
    format!("{secs}.P{pid}Q{count}.{}", safe_host(host))
}

/// The final name: `<seconds>.V<dev hex>I<inode hex>M<usec>.<host>`.
pub fn final_name(secs: u64, dev: u64, ino: u64, usec: u32, host: &str) -> String {
    format!("{secs}.V{dev:x}I{ino:x}M{usec}.{}", safe_host(host))
}

/// Deliver `content` into the Maildir `dir` (the `home_mailbox` path
/// ending in `/`), with `opts` for the prepended headers and `limit`
/// bytes at most (0 = no limit). Returns the final path. Errors: the
/// step that failed; the temporary file is removed.
pub fn deliver<R: BufRead>(
    dir: &Path,
    host: &str,
    content: R,
    opts: &CopyOptions,
    limit: u64,
) -> Result<PathBuf, WriteError> {
    for sub in ["", "tmp", "new", "cur"] {
        let p = dir.join(sub);
        if let Err(e) = DirBuilder::new().recursive(true).mode(0o700).create(&p) {
            return Err(WriteError::other(format!(
                "create maildir {}: {e}",
                p.display()
            )));
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir
        .join("tmp")
        .join(tmp_name(now.as_secs(), std::process::id(), count, host));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| WriteError::from_io(format!("create maildir file {}", tmp.display()), &e))?;
    let cleanup = |e: WriteError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    let mut w = BufWriter::new(crate::limit::Limited::new(&file, limit));
    copy_message(content, &mut w, opts, Local::now())
        .and_then(|_| w.flush())
        .map_err(|e| cleanup(WriteError::from_io("error writing message".into(), &e)))?;
    drop(w);
    file.sync_all()
        .map_err(|e| cleanup(WriteError::from_io("error writing message".into(), &e)))?;
    let meta = file
        .metadata()
        .map_err(|e| cleanup(WriteError::from_io("fstat maildir file".into(), &e)))?;
    let dest = dir.join("new").join(final_name(
        now.as_secs(),
        meta.dev(),
        meta.ino(),
        now.subsec_micros(),
        host,
    ));
    std::fs::hard_link(&tmp, &dest).map_err(|e| {
        cleanup(WriteError::from_io(
            format!("link to {}", dest.display()),
            &e,
        ))
    })?;
    let _ = std::fs::remove_file(&tmp);
    if let Ok(d) = std::fs::File::open(dir.join("new")) {
        let _ = d.sync_all();
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_maildir_convention() {
        assert_eq!(
            tmp_name(1700000000, 42, 3, "mx.example"),
            "1700000000.P42Q3.mx.example"
        );
        assert_eq!(
            final_name(1700000000, 0x803, 0x1a2b, 123456, "a/b:c"),
            "1700000000.V803I1a2bM123456.a\\057b\\072c"
        );
    }

    #[test]
    fn delivery_lands_in_new_and_tmp_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        let opts = CopyOptions::maildir("s@x", None, Some("u@x"));
        let p = deliver(&md, "host", &b"Subject: t\n\nbody\n"[..], &opts, 0).unwrap();
        assert!(p.starts_with(md.join("new")));
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "Return-Path: <s@x>\nDelivered-To: u@x\nSubject: t\n\nbody\n"
        );
        assert_eq!(std::fs::read_dir(md.join("tmp")).unwrap().count(), 0);
        assert!(md.join("cur").is_dir());
        let p2 = deliver(&md, "host", &b"x\n"[..], &opts, 0).unwrap();
        assert_ne!(p, p2);
    }

    #[test]
    fn size_limit_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        let opts = CopyOptions::maildir("s@x", None, None);
        let e = deliver(&md, "host", &[b'x'; 5000][..], &opts, 100).unwrap_err();
        assert!(e.text.contains("File too large"), "{}", e.text);
        assert!(e.permanent);
        assert_eq!(std::fs::read_dir(md.join("tmp")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(md.join("new")).unwrap().count(), 0);
    }
}
