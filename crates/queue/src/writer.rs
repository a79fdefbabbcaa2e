//! NAME
//!   writer - create a queue file durably
//!
//! SYNOPSIS
//!   let mut w = QueueWriter::create(&qdir, queue::INCOMING)?;
//!   w.set_sender("alice@example.com")?;
//!   w.add_recipient(&Recipient::new("bob@example.org"))?;
//!   w.write_content(b"Subject: hi\n\nbody\n")?;
//!   let id = w.commit()?;        // only now may the client hear "queued as"
//!
//! DESCRIPTION
//!   [`QueueWriter::create`] makes a file with a temporary name
//!   (`usec.pid`, mode 0600) in the queue's top directory, learns its
//!   inode, and renames it, without replacing anything, to its long
//!   queue ID in the (hashed) directory. Records follow the order of
//!   `doc/QUEUE_FORMAT.md`: envelope (arrival time, sender, attributes,
//!   DSN, recipients), content, extracted recipients and attributes.
//!
//!   [`QueueWriter::commit`] finishes the file: end marker, the SIZE
//!   record rewritten with the final sizes, fsync, mode 0700 (Postfix's
//!   "complete" mark), fsync again so the mode is on disk, and fsync of
//!   the directory so the name is. A crash before that leaves a file
//!   that readers report as incomplete. Dropping a writer without
//!   committing removes the file.
//!
//!   Content given to [`QueueWriter::write_content`] is split at
//!   newlines into line records; lines longer than
//!   [`crate::record::CONTENT_CHUNK`] are split into continued records.
//!   A last line without a newline gets one.
use crate::dir::{sync_dir, QueueDir};
use crate::envelope::{
    encode_time, encode_warn, DsnRet, Envelope, Recipient, SizeRecord, FORMAT_VERSION,
};
use crate::error::{io_err, QueueError, Result};
use crate::id::QueueId;
use crate::record::{rtype, write_record, CONTENT_CHUNK};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, ErrorKind, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Mode of a queue file while it is written.
pub const MODE_WRITING: u32 = 0o600;
/// Mode of a complete queue file (Postfix's MAIL_QUEUE_STAT_READY).
pub const MODE_READY: u32 = 0o700;
/// Mode bit of a complete queue file that `postsuper -e`/`-f` marked for
/// forced expiration (group execute, Postfix's MAIL_QUEUE_STAT_EXPIRE).
pub const MODE_EXPIRE: u32 = 0o010;

/// Where the writer is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Envelope,
    Content,
    Extracted,
}

/// A queue file being written.
#[derive(Debug)]
pub struct QueueWriter {
    out: BufWriter<File>,
    path: PathBuf,
    id: QueueId,
    stage: Stage,
    offset: u64,
    line: Vec<u8>,
    have_time: bool,
    have_sender: bool,
    size: SizeRecord,
    done: bool,
    ready_mode: u32,
}

/// The last time handed out by this process, in microseconds, so IDs of
/// one process are strictly increasing even when the clock is coarse.
static LAST_MICROS: AtomicU64 = AtomicU64::new(0);

fn next_time() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_micros() as u64;
    let mut last = LAST_MICROS.load(Ordering::Relaxed);
    loop {
        let t = now.max(last + 1);
        match LAST_MICROS.compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return UNIX_EPOCH + Duration::from_micros(t),
            Err(seen) => last = seen,
        }
    }
}

/// Rename `from` to `to` unless `to` exists (then `AlreadyExists`).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use nix::errno::Errno;
    use nix::fcntl::{renameat2, RenameFlags};
    match renameat2(None, from, None, to, RenameFlags::RENAME_NOREPLACE) {
        Ok(()) => Ok(()),
        // File systems without RENAME_NOREPLACE: link() refuses to replace too.
        Err(Errno::EINVAL | Errno::ENOSYS) => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(io::Error::from(e)),
    }
}

impl QueueWriter {
    /// Create a new file in `queue` (normally [`crate::INCOMING`], or
    /// [`crate::MAILDROP`] for postdrop). Errors: I/O (the directory is
    /// missing or not writable).
    pub fn create(qdir: &QueueDir, queue: &str) -> Result<QueueWriter> {
        let top = qdir.queue_path(queue)?;
        let pid = std::process::id();
        let (file, temp) = loop {
            let t = next_time()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            let temp = top.join(format!("{}.{pid}", t.subsec_micros()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(MODE_WRITING)
                .open(&temp)
            {
                Ok(f) => break (f, temp),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&temp)(e)),
            }
        };
        let inode = match file.metadata() {
            Ok(m) => m.ino(),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(io_err(&temp)(e));
            }
        };
        let mut attempts = 0;
        let (id, path) = loop {
            let id = QueueId::new(inode, next_time());
            let path = qdir.path(queue, &id)?;
            let r = rename_noreplace(&temp, &path).or_else(|e| {
                if e.kind() != ErrorKind::NotFound {
                    return Err(e);
                }
                fs::create_dir_all(path.parent().unwrap_or(&top))?;
                rename_noreplace(&temp, &path)
            });
            match r {
                Ok(()) => break (id, path),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && attempts < 1000 => attempts += 1,
                Err(e) => {
                    let _ = fs::remove_file(&temp);
                    return Err(io_err(&path)(e));
                }
            }
        };
        let mut w = QueueWriter {
            out: BufWriter::with_capacity(64 * 1024, file),
            path,
            id,
            stage: Stage::Envelope,
            offset: 0,
            line: Vec::new(),
            have_time: false,
            have_sender: false,
            size: SizeRecord {
                version: FORMAT_VERSION,
                ..SizeRecord::default()
            },
            done: false,
            ready_mode: MODE_READY,
        };
        w.put(rtype::SIZE, &w.size.encode())?;
        w.put(rtype::WARN, &encode_warn(0))?;
        Ok(w)
    }

    /// Make [`QueueWriter::commit`] give the file `mode` (which must
    /// include 0700, the "complete" mark) instead of 0700: postdrop's
    /// maildrop files are 0744 so that pickup, running as `mail_owner`,
    /// can read a file owned by the submitting user. Errors: `mode`
    /// lacks 0700 or has bits outside 0777.
    pub fn set_ready_mode(&mut self, mode: u32) -> Result<()> {
        if mode & MODE_READY != MODE_READY || mode & !0o777 != 0 {
            return Err(QueueError::Usage(format!("bad ready mode {mode:o}")));
        }
        self.ready_mode = mode;
        Ok(())
    }

    /// The new file's queue ID.
    pub fn id(&self) -> &QueueId {
        &self.id
    }

    /// The new file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn put(&mut self, t: u8, payload: &[u8]) -> Result<()> {
        let n = write_record(&mut self.out, t, payload).map_err(io_err(&self.path))?;
        self.offset += n;
        Ok(())
    }

    fn need_envelope(&self, what: &str) -> Result<()> {
        if self.stage == Stage::Envelope {
            Ok(())
        } else {
            Err(QueueError::Usage(format!(
                "{what} after the message content"
            )))
        }
    }

    /// Record the arrival time (once; default: when the file was made).
    pub fn set_arrival(&mut self, t: SystemTime) -> Result<()> {
        self.need_envelope("arrival time")?;
        if self.have_time {
            return Err(QueueError::Usage("arrival time given twice".into()));
        }
        self.have_time = true;
        self.put(rtype::TIME, &encode_time(t))
    }

    /// Record the envelope sender (once; empty for `<>`).
    pub fn set_sender(&mut self, sender: &str) -> Result<()> {
        self.need_envelope("sender")?;
        if self.have_sender {
            return Err(QueueError::Usage("sender given twice".into()));
        }
        self.have_sender = true;
        self.put(rtype::FROM, sender.as_bytes())
    }

    /// Add attribute `name=value`; allowed before and after the content.
    /// `name` must not contain `=`.
    pub fn add_attr(&mut self, name: &str, value: &str) -> Result<()> {
        if name.is_empty() || name.contains('=') {
            return Err(QueueError::Usage(format!("bad attribute name: {name}")));
        }
        self.put(rtype::ATTR, format!("{name}={value}").as_bytes())
    }

    /// Record the RFC 3461 ENVID and/or RET.
    pub fn set_dsn(&mut self, envid: Option<&str>, ret: Option<DsnRet>) -> Result<()> {
        self.need_envelope("DSN")?;
        if let Some(e) = envid {
            self.put(rtype::DSN_ENVID, e.as_bytes())?;
        }
        if let Some(r) = ret {
            self.put(rtype::DSN_RET, r.code().to_string().as_bytes())?;
        }
        Ok(())
    }

    /// Add a recipient: in the envelope, or after the content (recipients
    /// extracted from headers, `sendmail -t`). A recipient given as done
    /// is written done.
    pub fn add_recipient(&mut self, r: &Recipient) -> Result<()> {
        if self.stage == Stage::Content {
            self.end_content()?;
        }
        if let Some(o) = &r.orig {
            self.put(rtype::ORCP, o.as_bytes())?;
        }
        if let Some(o) = &r.orcpt {
            self.put(rtype::DSN_ORCPT, o.as_bytes())?;
        }
        if r.notify.0 != 0 {
            self.put(rtype::DSN_NOTIFY, r.notify.0.to_string().as_bytes())?;
        }
        self.size.nrcpt += 1;
        self.put(
            if r.done { rtype::DONE } else { rtype::RCPT },
            r.address.as_bytes(),
        )
    }

    /// Write a whole envelope: arrival, sender, attributes, DSN and
    /// recipients (`message_size` and `warn_time` are ignored).
    pub fn write_envelope(&mut self, env: &Envelope) -> Result<()> {
        self.set_arrival(env.arrival)?;
        self.set_sender(&env.sender)?;
        for (n, v) in &env.attrs {
            self.add_attr(n, v)?;
        }
        self.set_dsn(env.dsn_envid.as_deref(), env.dsn_ret)?;
        env.recipients
            .iter()
            .try_for_each(|r| self.add_recipient(r))
    }

    fn begin_content(&mut self) -> Result<()> {
        match self.stage {
            Stage::Content => return Ok(()),
            Stage::Extracted => {
                return Err(QueueError::Usage("content after extracted records".into()))
            }
            Stage::Envelope => {}
        }
        if !self.have_sender {
            return Err(QueueError::Usage(
                "no sender before the message content".into(),
            ));
        }
        if !self.have_time {
            self.set_arrival(self.id.time())?;
        }
        self.put(rtype::MESG, b"")?;
        self.size.content_offset = self.offset;
        self.stage = Stage::Content;
        Ok(())
    }

    /// Append message content (headers, empty line, body; LF line ends).
    /// May be called many times. Errors: I/O, or content after the
    /// extracted records.
    pub fn write_content(&mut self, mut buf: &[u8]) -> Result<()> {
        self.begin_content()?;
        self.size.message_size += buf.len() as u64;
        while !buf.is_empty() {
            let room = CONTENT_CHUNK - self.line.len();
            let nl = buf.iter().take(room).position(|&b| b == b'\n');
            match nl {
                Some(i) => {
                    self.line.extend_from_slice(&buf[..i]);
                    buf = &buf[i + 1..];
                    let line = std::mem::take(&mut self.line);
                    self.put(rtype::NORM, &line)?;
                    self.line = line;
                    self.line.clear();
                }
                None => {
                    let take = room.min(buf.len());
                    self.line.extend_from_slice(&buf[..take]);
                    buf = &buf[take..];
                    if self.line.len() == CONTENT_CHUNK {
                        let line = std::mem::take(&mut self.line);
                        self.put(rtype::CONT, &line)?;
                        self.line = line;
                        self.line.clear();
                    }
                }
            }
        }
        Ok(())
    }

    /// End the content (done implicitly by an extracted recipient or by
    /// [`QueueWriter::commit`]). A partial last line gets its newline.
    pub fn end_content(&mut self) -> Result<()> {
        if self.stage == Stage::Extracted {
            return Ok(());
        }
        self.begin_content()?;
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.size.message_size += 1;
            self.put(rtype::NORM, &line)?;
        }
        self.size.content_end = self.offset;
        self.put(rtype::XTRA, b"")?;
        self.stage = Stage::Extracted;
        Ok(())
    }

    /// Finish the file durably (see DESCRIPTION) and return its ID.
    /// Errors: I/O (the file is removed), or no sender. Only after this
    /// returns may the message be acknowledged.
    pub fn commit(mut self) -> Result<QueueId> {
        match self.finish() {
            Ok(()) => {
                self.done = true;
                Ok(self.id.clone())
            }
            Err(e) => Err(e),
        }
    }

    fn finish(&mut self) -> Result<()> {
        if self.stage != Stage::Extracted {
            self.end_content()?;
        }
        self.put(rtype::END, b"")?;
        let p = self.path.clone();
        self.out.flush().map_err(io_err(&p))?;
        let f = self.out.get_ref();
        // The SIZE payload starts after its type and one length byte.
        f.write_all_at(&self.size.encode(), 2).map_err(io_err(&p))?;
        f.sync_all().map_err(io_err(&p))?;
        f.set_permissions(fs::Permissions::from_mode(self.ready_mode))
            .map_err(io_err(&p))?;
        f.sync_all().map_err(io_err(&p))?;
        sync_dir(p.parent().unwrap_or(Path::new(".")))
    }

    /// Give up on the file and remove it (also what dropping does).
    pub fn abort(self) {}
}

impl Drop for QueueWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Write for QueueWriter {
    /// Same as [`QueueWriter::write_content`].
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_content(buf)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
