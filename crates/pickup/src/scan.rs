//! NAME
//!   scan - pickup's maildrop scan and its hand-off to cleanup
//!
//! DESCRIPTION
//!   [`Pickup::scan`] walks `maildrop` and passes each complete file to
//!   cleanup ([`Pickup::pick`]); see pickup(8) in main.rs for the rules.
//!   As Postfix's pickup, it walks the directory again while a walk
//!   queued something (files that arrived meanwhile). One file never
//!   holds up the others: a file cleanup cannot take now stays for the
//!   next scan and the walk goes on; only a cleanup service that cannot
//!   be reached at all ends the walk, so a dead cleanup costs one warning
//!   per wake-up, not one per file.
//!
//!   [`received_header`] is the header pickup puts before the content,
//!   as Postfix's pickup does (hop counting depends on it):
//!   `Received: by $myhostname ($mail_name, from userid UID)` and
//!   `\tid QUEUEID; DATE`, the date being the file's modification time.
use global::cleanup_client::{
    CleanupError, CleanupSession, Submission, SubmitRecipient, FLAG_BOUNCE, STAT_BAD, STAT_RCPT,
};
use queue::{DsnRet, Envelope, QueueDir, QueueError, QueueFile, QueueId, CORRUPT, MAILDROP};
use skeleton::Context;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};
use util::strings::strip_os_error;
use util::{msg_info, msg_warn};

/// An incomplete maildrop file older than this is debris of a postdrop
/// that died.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// The mode bits of a complete queue file (QUEUE_FORMAT.md).
const READY: u32 = 0o700;

/// pickup's state.
#[derive(Debug)]
pub struct Pickup {
    /// The queue, relative to the working directory (`queue_directory`).
    pub qdir: QueueDir,
    /// `mail_owner`'s user ID, when it exists.
    pub owner_uid: Option<u32>,
    /// `myhostname`, for the Received: header.
    pub myhostname: String,
    /// `mail_name`, for the Received: header.
    pub mail_name: String,
    /// `content_filter` as pickup sees it (main.cf or master.cf `-o`):
    /// `transport:nexthop` for every message, empty for none.
    pub content_filter: String,
}

/// What became of one file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Queued by cleanup and removed from maildrop.
    Queued,
    /// Left alone (being written, vanished, kept for the next scan, moved
    /// aside, or removed as ill-formatted).
    Skipped,
    /// cleanup is not available: stop this scan.
    CleanupDown,
}

fn plain(e: impl std::fmt::Display) -> String {
    strip_os_error(&e.to_string())
}

/// The Received: header pickup prepends (module description), LF line
/// ends. `date` is in mail_date form ([`global::date::mail_date`]).
pub fn received_header(
    myhostname: &str,
    mail_name: &str,
    uid: u32,
    qid: &str,
    date: &str,
) -> String {
    format!("Received: by {myhostname} ({mail_name}, from userid {uid})\n\tid {qid}; {date}\n")
}

/// The submission for `env`: pending recipients only; client and
/// protocol attributes only when `trusted`. `content_filter` is pickup's
/// own (postconf(5) `content_filter`): it becomes the message's `filter`
/// (empty: explicitly none), as smtpd passes its own, so that a master.cf
/// `-o content_filter=...` on pickup takes effect.
pub fn submission(env: &Envelope, trusted: bool, content_filter: &str) -> Submission {
    let mut s = Submission::local();
    s.flags = FLAG_BOUNCE;
    s.filter = Some(content_filter.to_string());
    s.sender = env.sender.clone();
    s.recipients = env
        .pending()
        .map(|(_, r)| SubmitRecipient {
            address: r.address.clone(),
            orcpt: r.orcpt.clone(),
            notify: r.notify.0,
        })
        .collect();
    s.envid = env.dsn_envid.clone();
    s.ret = env.dsn_ret.map(|r| match r {
        DsnRet::Full => "full".to_string(),
        DsnRet::Hdrs => "hdrs".to_string(),
    });
    s.encoding = env.attr("encoding").map(str::to_string);
    // sendmail -F: the maildrop attribute `full_name` is cleanup's
    // `fullname` (the From: header it adds).
    if let Some(f) = env.attr("full_name") {
        s.extra.push(("fullname".into(), f.to_string()));
    }
    if trusted {
        for (n, v) in &env.attrs {
            let v = Some(v.clone());
            match n.as_str() {
                "log_client" => s.log_client = v,
                "client_name" => s.client_name = v,
                "client_address" => s.client_address = v,
                "client_port" => s.client_port = v,
                "helo_name" => s.helo_name = v,
                "protocol_name" => s.protocol_name = v,
                "sasl_method" => s.sasl_method = v,
                "sasl_username" => s.sasl_username = v,
                "sasl_sender" => s.sasl_sender = v,
                // A requeued message (postsuper -r) keeps the context it
                // was received in, as Postfix's pickup does.
                "rewrite_context" if matches!(v.as_deref(), Some("local" | "remote")) => {
                    s.rewrite_context = v.unwrap_or_default();
                }
                _ => {}
            }
        }
    }
    s
}

/// Connect to cleanup: `private/cleanup` (doc/PIPELINE.md), or
/// `public/cleanup` when master.cf makes cleanup public (column 3 `n`,
/// as Postfix ships it).
fn open_cleanup(ctx: &Context) -> Result<CleanupSession, CleanupError> {
    match CleanupSession::open_config(&ctx.config) {
        Err(CleanupError::Io {
            what: "connect",
            source,
        }) if source.kind() == std::io::ErrorKind::NotFound => {
            let t = ctx.config.get_time("ipc_timeout").unwrap_or(3600);
            CleanupSession::open(Path::new("public/cleanup"), Duration::from_secs(t))
        }
        r => r,
    }
}

impl Pickup {
    /// Scan `maildrop` until a walk queues nothing more.
    pub fn scan(&mut self, ctx: &Context) {
        loop {
            let ids = match self.qdir.scan(MAILDROP) {
                Ok(it) => it,
                Err(e) => {
                    msg_warn!("scan maildrop: {}", plain(e));
                    return;
                }
            };
            let ids: Vec<QueueId> = ids.filter_map(Result::ok).collect();
            let mut queued = 0;
            for id in ids {
                match self.pick(ctx, &id) {
                    Outcome::Queued => queued += 1,
                    Outcome::Skipped => {}
                    Outcome::CleanupDown => return,
                }
            }
            if queued == 0 {
                return;
            }
        }
    }

    fn move_aside(&self, id: &QueueId, why: &str) {
        msg_warn!("{MAILDROP}/{id}: {why}; moved to the {CORRUPT} queue");
        if let Err(e) = self.qdir.rename(id, MAILDROP, CORRUPT) {
            msg_warn!("{MAILDROP}/{id}: move to {CORRUPT}: {}", plain(e));
        }
    }

    /// Whether the file at `path` is complete; an incomplete one is left
    /// alone silently (postdrop is still writing it) or, past [`STALE`],
    /// removed. Errors: the file cannot be examined (gone: silently).
    fn ready(&self, id: &QueueId, path: &Path) -> Option<std::fs::Metadata> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                msg_warn!("{MAILDROP}/{id}: {}", plain(e));
                return None;
            }
        };
        if !meta.is_file() {
            return None;
        }
        if meta.permissions().mode() & READY != READY {
            let old = meta
                .modified()
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE);
            if old {
                msg_warn!("{MAILDROP}/{id}: removing stale incomplete file");
                let _ = self.qdir.remove(MAILDROP, id);
            }
            return None;
        }
        Some(meta)
    }

    /// Pass one maildrop file to cleanup.
    pub fn pick(&self, ctx: &Context, id: &QueueId) -> Outcome {
        let Some(meta) = self
            .qdir
            .path(MAILDROP, id)
            .ok()
            .and_then(|p| self.ready(id, &p))
        else {
            return Outcome::Skipped;
        };
        let qf = match QueueFile::open_readonly(&self.qdir, MAILDROP, id) {
            Ok(qf) => qf,
            Err(e) if e.is_not_found() => return Outcome::Skipped,
            Err(QueueError::Incomplete { .. }) => return Outcome::Skipped,
            Err(e) if e.is_corrupt() => {
                self.move_aside(id, &format!("error reading: {}", plain(e)));
                return Outcome::Skipped;
            }
            Err(e) => {
                msg_warn!("{MAILDROP}/{id}: {}", plain(e));
                return Outcome::Skipped;
            }
        };
        let uid = meta.uid();
        let trusted = uid == 0 || Some(uid) == self.owner_uid;
        let env = qf.envelope();
        let sub = submission(env, trusted, &self.content_filter);

        let mut session = match open_cleanup(ctx) {
            Ok(s) => s,
            Err(e) => {
                msg_warn!("{MAILDROP}/{id}: cannot submit: {}", plain(e));
                return Outcome::CleanupDown;
            }
        };
        let qid = session.queue_id().to_string();
        let orig = if Some(uid) == self.owner_uid && uid != 0 {
            format!(" orig_id={id}")
        } else {
            String::new()
        };
        msg_info!("{qid}: uid={uid} from=<{}>{orig}", env.sender);
        let date = global::date::mail_date(meta.modified().unwrap_or_else(|_| SystemTime::now()));
        let received = received_header(&self.myhostname, &self.mail_name, uid, &qid, &date);
        // Err((true, why)): the file is bad; Err((false, why)): cleanup is.
        let sent = (|| -> Result<(), (bool, String)> {
            session.envelope(&sub).map_err(|e| (false, plain(e)))?;
            session
                .write_content(received.as_bytes())
                .map_err(|e| (false, plain(e)))?;
            let mut content = qf.content().map_err(|e| (true, plain(e)))?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut first = true;
            loop {
                let n = content.read(&mut buf).map_err(|e| (true, plain(e)))?;
                if n == 0 {
                    return Ok(());
                }
                // Content that starts with white space would continue the
                // Received: header: end the headers first (as Postfix).
                if std::mem::take(&mut first) && matches!(buf[0], b' ' | b'\t') {
                    session
                        .write_content(b"\n")
                        .map_err(|e| (false, plain(e)))?;
                }
                session
                    .write_content(&buf[..n])
                    .map_err(|e| (false, plain(e)))?;
            }
        })();
        match sent {
            Ok(()) => {}
            Err((true, e)) => {
                self.move_aside(id, &format!("error reading: {e}"));
                return Outcome::Skipped;
            }
            Err((false, e)) => {
                msg_warn!("{MAILDROP}/{id}: error writing {qid}: {e}; will try again");
                return Outcome::Skipped;
            }
        }
        match session.finish() {
            Ok(_) => {
                if let Err(e) = qf.remove() {
                    msg_warn!("{MAILDROP}/{id}: remove: {}", plain(e));
                }
                Outcome::Queued
            }
            Err(e) => self.rejected(id, &qid, qf, &e),
        }
    }

    /// cleanup did not queue the message: an ill-formatted file (status
    /// bad, or no recipients) is removed as pickup(8) says; a temporary
    /// problem leaves the file for the next scan; any other refusal moves
    /// it to `corrupt` so that it is not tried forever.
    fn rejected(&self, id: &QueueId, qid: &str, qf: QueueFile, e: &CleanupError) -> Outcome {
        let reason = e.reason();
        if matches!(e, CleanupError::Rejected { .. }) && e.status() & (STAT_BAD | STAT_RCPT) != 0 {
            msg_warn!("{MAILDROP}/{id}: error writing {qid}: {reason}; removed");
            if let Err(e) = qf.remove() {
                msg_warn!("{MAILDROP}/{id}: remove: {}", plain(e));
            }
        } else if e.is_temporary() {
            msg_warn!("{MAILDROP}/{id}: error writing {qid}: {reason}; will try again");
        } else {
            drop(qf);
            self.move_aside(id, &format!("rejected by cleanup: {reason}"));
        }
        Outcome::Skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue::{DsnNotify, Recipient};
    use std::time::UNIX_EPOCH;

    fn env() -> Envelope {
        Envelope {
            arrival: UNIX_EPOCH,
            warn_time: 0,
            sender: "alice".into(),
            attrs: vec![
                ("full_name".into(), "Alice".into()),
                ("encoding".into(), "8bit".into()),
                ("client_address".into(), "192.0.2.1".into()),
                ("protocol_name".into(), "ESMTP".into()),
                ("rewrite_context".into(), "remote".into()),
            ],
            dsn_envid: Some("e1".into()),
            dsn_ret: Some(DsnRet::Full),
            recipients: vec![
                Recipient {
                    done: true,
                    ..Recipient::new("done@x")
                },
                Recipient {
                    notify: DsnNotify(4),
                    orcpt: Some("rfc822;b@x".into()),
                    ..Recipient::new("b@x")
                },
            ],
            message_size: 0,
        }
    }

    #[test]
    fn received_header_as_postfix() {
        assert_eq!(
            received_header(
                "debian.test.example",
                "Postfix",
                0,
                "CC4BF9AE10C",
                "Mon, 30 Nov 2026 01:08:39 +0000 (UTC)"
            ),
            "Received: by debian.test.example (Postfix, from userid 0)\n\
             \tid CC4BF9AE10C; Mon, 30 Nov 2026 01:08:39 +0000 (UTC)\n"
        );
    }

    #[test]
    fn untrusted_files_lose_client_attributes() {
        let s = submission(&env(), false, "");
        assert_eq!(s.flags, FLAG_BOUNCE);
        assert_eq!(s.rewrite_context, "local");
        assert_eq!(s.recipients.len(), 1, "done recipients are not sent again");
        assert_eq!(s.recipients[0].address, "b@x");
        assert_eq!(s.recipients[0].notify, 4);
        assert_eq!(s.recipients[0].orcpt.as_deref(), Some("rfc822;b@x"));
        assert_eq!(s.envid.as_deref(), Some("e1"));
        assert_eq!(s.ret.as_deref(), Some("full"));
        assert_eq!(s.encoding.as_deref(), Some("8bit"));
        assert_eq!(s.extra, [("fullname".to_string(), "Alice".to_string())]);
        assert_eq!(s.client_address, None);
        assert_eq!(s.protocol_name, None);
        assert_eq!(s.filter.as_deref(), Some(""), "no filter, explicitly");
        let t = submission(&env(), true, "scan:[127.0.0.1]:10025");
        assert_eq!(t.filter.as_deref(), Some("scan:[127.0.0.1]:10025"));
        assert_eq!(t.client_address.as_deref(), Some("192.0.2.1"));
        assert_eq!(t.protocol_name.as_deref(), Some("ESMTP"));
        assert_eq!(t.rewrite_context, "remote", "a requeued message keeps it");
    }
}
