//! NAME
//!   file - open, read and update a complete queue file
//!
//! SYNOPSIS
//!   let mut qf = QueueFile::open(&qdir, queue::INCOMING, &id)?;
//!   qf.move_to(queue::ACTIVE)?;
//!   for (i, rcpt) in qf.envelope().pending() { ... }
//!   qf.mark_done(i)?;                  // seen by every process when it returns
//!
//! DESCRIPTION
//!   [`QueueFile::open`] checks that the file is marked complete (mode
//!   0700, see [`crate::MODE_READY`]), then reads and checks every
//!   record except the content ([`crate::parse::parse_envelope`]); the
//!   content is read on demand with [`QueueFile::content`].
//!
//!   Updates are in place: [`QueueFile::mark_done`] turns one recipient
//!   record's type from `R` into `D` (one `pwrite`, not fsynced: every
//!   process sees it at once and it survives any process crash; only an
//!   operating-system crash can lose it, and then the recipient is
//!   delivered again — at least once, never lost — which is also what
//!   Postfix's delivery agents accept, and an fsync here costs more than
//!   half of a relay delivery); [`QueueFile::set_warn_time`] rewrites the
//!   fixed-width delay-warning time and is fsynced. [`QueueFile::move_to`] renames the
//!   file to another queue (the open descriptor stays valid).
//!
//! DIAGNOSTICS
//!   [`QueueError::Incomplete`] for a file still being written (or
//!   abandoned by a writer that died), [`QueueError::Corrupt`] for a
//!   truncated or garbled file (the caller moves it to `corrupt`),
//!   [`QueueError::Io`] otherwise.
use crate::dir::QueueDir;
use crate::envelope::{encode_warn, Envelope};
use crate::error::{io_err, QueueError, Result};
use crate::id::QueueId;
use crate::parse::{check_content, parse_envelope, ContentReader, Layout};
use crate::record::rtype;
use crate::writer::{MODE_EXPIRE, MODE_READY};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A complete queue file, opened and checked.
#[derive(Debug)]
pub struct QueueFile {
    file: File,
    writable: bool,
    qdir: QueueDir,
    queue: String,
    id: QueueId,
    path: PathBuf,
    env: Envelope,
    layout: Layout,
}

impl QueueFile {
    /// Open file `id` of `queue` for reading and updating. Errors: see
    /// DIAGNOSTICS; NotFound when there is no such file.
    pub fn open(qdir: &QueueDir, queue: &str, id: &QueueId) -> Result<QueueFile> {
        Self::open_mode(qdir, queue, id, true)
    }

    /// Open file `id` of `queue` for reading only (postcat, showq).
    pub fn open_readonly(qdir: &QueueDir, queue: &str, id: &QueueId) -> Result<QueueFile> {
        Self::open_mode(qdir, queue, id, false)
    }

    fn open_mode(qdir: &QueueDir, queue: &str, id: &QueueId, writable: bool) -> Result<QueueFile> {
        let path = qdir.path(queue, id)?;
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(io_err(&path))?;
        let meta = file.metadata().map_err(io_err(&path))?;
        if !meta.is_file() {
            return Err(QueueError::Corrupt {
                path,
                reason: "not a regular file".into(),
            });
        }
        if meta.permissions().mode() & MODE_READY != MODE_READY {
            return Err(QueueError::Incomplete { path });
        }
        let (env, layout) =
            parse_envelope(&mut BufReader::new(&file), meta.len()).map_err(|reason| {
                QueueError::Corrupt {
                    path: path.clone(),
                    reason,
                }
            })?;
        Ok(QueueFile {
            file,
            writable,
            qdir: qdir.clone(),
            queue: queue.to_string(),
            id: id.clone(),
            path,
            env,
            layout,
        })
    }

    /// The queue ID.
    pub fn id(&self) -> &QueueId {
        &self.id
    }

    /// The queue the file is in now.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The file's path now.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The decoded envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.env
    }

    /// Message content size in bytes.
    pub fn message_size(&self) -> u64 {
        self.env.message_size
    }

    /// Where the records are (offsets for tools such as postcat).
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Whether the file is marked for forced expiration (`postsuper -e`,
    /// [`crate::MODE_EXPIRE`]). The mode is read from the open file now,
    /// so a mark set after [`QueueFile::open`] is seen; an fstat error
    /// reads as "not marked".
    pub fn forced_expire(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|m| m.permissions().mode() & MODE_EXPIRE != 0)
    }

    /// The open file (for locking or stat).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// A reader of the message content (headers, empty line, body, LF
    /// line ends). Reading fails with `InvalidData` if the content
    /// records are garbled. Errors: I/O.
    pub fn content(&self) -> Result<ContentReader<BufReader<&File>>> {
        ContentReader::new(BufReader::new(&self.file), &self.layout.size)
            .map_err(io_err(&self.path))
    }

    /// The whole content in memory (at most the size the file records,
    /// which the file's length bounds). Errors: I/O or corrupt content.
    pub fn read_content(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.env.message_size.min(1 << 24) as usize);
        self.content()?
            .read_to_end(&mut out)
            .map_err(|e| self.content_err(e))?;
        Ok(out)
    }

    fn content_err(&self, e: std::io::Error) -> QueueError {
        if e.kind() == std::io::ErrorKind::InvalidData {
            QueueError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        } else {
            io_err(&self.path)(e)
        }
    }

    /// Check the content records too (postsuper, tests). Errors:
    /// [`QueueError::Corrupt`].
    pub fn verify(&self) -> Result<()> {
        check_content(BufReader::new(&self.file), &self.layout.size).map_err(|reason| {
            QueueError::Corrupt {
                path: self.path.clone(),
                reason,
            }
        })
    }

    fn need_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(QueueError::Usage("queue file opened read-only".into()))
        }
    }

    /// Mark recipient `index` (into [`Envelope::recipients`]) done, in
    /// place, without fsync (see the module description). Marking a done
    /// recipient again is harmless.
    /// Errors: index out of range, a file changed under us (corrupt), I/O.
    pub fn mark_done(&mut self, index: usize) -> Result<()> {
        self.need_writable()?;
        let off =
            *self.layout.rcpt_offsets.get(index).ok_or_else(|| {
                QueueError::Usage(format!("recipient index {index} out of range"))
            })?;
        let mut b = [0u8; 1];
        self.file
            .read_exact_at(&mut b, off)
            .map_err(io_err(&self.path))?;
        match b[0] {
            rtype::DONE => {}
            rtype::RCPT => {
                self.file
                    .write_all_at(&[rtype::DONE], off)
                    .map_err(io_err(&self.path))?;
            }
            _ => {
                return Err(QueueError::Corrupt {
                    path: self.path.clone(),
                    reason: "recipient record moved".into(),
                })
            }
        }
        self.env.recipients[index].done = true;
        Ok(())
    }

    /// Set when the next delay warning is due (seconds since the epoch,
    /// 0 = none), in place, and fsync. Errors: I/O.
    pub fn set_warn_time(&mut self, sec: u64) -> Result<()> {
        self.need_writable()?;
        let Some(off) = self.layout.warn_offset else {
            return Err(QueueError::Usage(
                "queue file has no warning time record".into(),
            ));
        };
        let payload = encode_warn(sec);
        let mut head = [0u8; 2];
        self.file
            .read_exact_at(&mut head, off)
            .map_err(io_err(&self.path))?;
        if head != [rtype::WARN, payload.len() as u8] {
            return Err(QueueError::Corrupt {
                path: self.path.clone(),
                reason: "warning time record moved".into(),
            });
        }
        self.file
            .write_all_at(&payload, off + 2)
            .map_err(io_err(&self.path))?;
        self.file.sync_data().map_err(io_err(&self.path))?;
        self.env.warn_time = sec;
        Ok(())
    }

    /// Move the file to `queue` (rename and fsync of both directories).
    /// Errors: I/O; the file stays where it was.
    pub fn move_to(&mut self, queue: &str) -> Result<()> {
        let new = self.qdir.rename(&self.id, &self.queue, queue)?;
        self.queue = queue.to_string();
        self.path = new;
        Ok(())
    }

    /// Remove the file from its queue (fsync of the directory).
    pub fn remove(self) -> Result<()> {
        self.qdir.remove(&self.queue, &self.id)
    }

    /// As [`QueueFile::move_to`] without directory fsyncs
    /// ([`QueueDir::rename_unsynced`]).
    pub fn move_to_unsynced(&mut self, queue: &str) -> Result<()> {
        let new = self.qdir.rename_unsynced(&self.id, &self.queue, queue)?;
        self.queue = queue.to_string();
        self.path = new;
        Ok(())
    }

    /// As [`QueueFile::remove`] without the directory fsync
    /// ([`QueueDir::remove_unsynced`]).
    pub fn remove_unsynced(self) -> Result<()> {
        self.qdir.remove_unsynced(&self.queue, &self.id)
    }
}
