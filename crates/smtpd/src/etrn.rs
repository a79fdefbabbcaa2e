//! NAME
//!   etrn - the ETRN command (RFC 1985) and the fast flush of a site
//!
//! DESCRIPTION
//!   ETRN `domain` (a leading `@` or `#` is skipped, as Postfix does),
//!   after `smtpd_etrn_restrictions`: for a domain in
//!   `fast_flush_domains` the deferred mail with a pending recipient
//!   there is made due and the queue manager woken ([`flush_site`]):
//!   `250 Queuing started`. Another domain gets `459 <domain>: service
//!   unavailable`; stand-alone mode and failures `458 Unable to queue
//!   messages`; no HELO `503 Error: send HELO/EHLO first`; during a mail
//!   transaction `503 Error: MAIL transaction in progress`.
//!
//! SEE ALSO
//!   RFC 1985, postconf(5) fast_flush_domains, smtpd_etrn_restrictions.
use crate::check::{Decision, Effects, Stage};
use crate::conn::Outcome;
use crate::session::Session;
use util::msg_warn;

impl Session<'_, '_> {
    pub(crate) fn etrn_cmd(&mut self, rest: &str) -> Outcome {
        if self.helo.is_none() {
            self.reply("503 Error: send HELO/EHLO first");
            return Outcome::Continue;
        }
        if self.tx.is_some() {
            self.reply("503 Error: MAIL transaction in progress");
            return Outcome::Continue;
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        let [arg] = words[..] else {
            self.reply("500 Syntax: ETRN domain");
            return Outcome::Continue;
        };
        // RFC 1985 `@domain` / `#queue`: one leading non-alphanumeric
        // character is skipped, as Postfix does.
        let domain = match arg.chars().next() {
            Some(c) if !c.is_ascii_alphanumeric() => &arg[c.len_utf8()..],
            _ => arg,
        };
        if !crate::peer::valid_hostname(domain) {
            self.reply("501 Error: invalid parameter syntax");
            return Outcome::Continue;
        }
        if self.srv.stand_alone {
            msg_warn!("do not use ETRN in \"sendmail -bs\" mode");
            self.reply("458 Unable to queue messages");
            return Outcome::Continue;
        }
        let mut f = self.facts("ETRN");
        f.etrn_domain = Some(domain.to_string());
        let mut fx = Effects::default();
        let d = self.srv.checks.run(Stage::Etrn, &f, &mut fx);
        self.log_effects(&fx, "ETRN", None);
        if let Decision::Reject(r) = d {
            self.log_reject("reject", "ETRN", &r.reply(), None);
            self.reply(&r.reply());
            return Outcome::Continue;
        }
        let flush = crate::check::lists::DomainList::parse(
            "fast_flush_domains",
            &self.srv.settings.fast_flush_domains,
            true,
        );
        if !flush.matches(domain).unwrap_or(false) {
            let shown: String = domain.chars().take(100).collect();
            msg_warn!("reject: ETRN {shown}... from {}", self.peer.namaddr);
            self.reply(&format!("459 <{domain}>: service unavailable"));
            return Outcome::Continue;
        }
        let qdir = match queue::QueueDir::from_config(&self.srv.settings.config) {
            Ok(q) => q.with_root("."),
            Err(e) => {
                msg_warn!("ETRN {domain}: {e}");
                self.reply("458 Unable to queue messages");
                return Outcome::Continue;
            }
        };
        match flush_site(&qdir, domain) {
            Ok(_) => self.reply("250 Queuing started"),
            Err(e) => {
                msg_warn!("unable to flush mail for {domain}: {e}");
                self.reply("458 Unable to queue messages");
            }
        }
        Outcome::Continue
    }
}

/// ETRN's work (RFC 1985; Postfix's fast-flush service, without its
/// per-site logs): make the deferred mail for `site` due now and wake the
/// queue manager. Every message in the `deferred` queue of `qdir` with a
/// pending recipient in domain `site` (case-insensitive) gets its retry
/// time, which is the file's modification time (doc/QUEUE_FORMAT.md), set
/// to now; then qmgr is asked to forget unavailable transports and scan
/// the deferred queue (trigger `F`, `D` on `public/qmgr`; when that
/// fails, a warning: its next scan finds them). Returns how many
/// messages were made due. Errors: the deferred queue cannot be scanned.
pub fn flush_site(qdir: &queue::QueueDir, site: &str) -> Result<usize, String> {
    let ids = qdir.scan(queue::DEFERRED).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now();
    let due = std::fs::FileTimes::new()
        .set_accessed(now)
        .set_modified(now);
    let mut n = 0;
    for id in ids.flatten() {
        let Ok(qf) = queue::QueueFile::open_readonly(qdir, queue::DEFERRED, &id) else {
            continue;
        };
        let for_site = qf.envelope().pending().any(|(_, r)| {
            crate::token::domain_of(&r.address).is_some_and(|d| d.eq_ignore_ascii_case(site))
        });
        if for_site {
            match qf.file().set_times(due) {
                Ok(()) => n += 1,
                Err(e) => msg_warn!("{}: set retry time: {e}", id.as_str()),
            }
        }
    }
    let qmgr = qdir.root().join("public/qmgr");
    if let Err(e) = global::trigger::send(&qmgr, b"FD") {
        // The files are due: qmgr's next deferred scan finds them.
        msg_warn!(
            "unable to wake up qmgr: {}",
            util::strings::strip_os_error(&e.to_string())
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::flush_site;
    use queue::{QueueDir, QueueFile, QueueWriter, Recipient, DEFERRED, INCOMING};
    use std::time::{Duration, SystemTime};

    fn deferred(q: &QueueDir, rcpts: &[&str], retry: SystemTime) -> queue::QueueId {
        let mut w = QueueWriter::create(q, INCOMING).unwrap();
        w.set_sender("s@example.com").unwrap();
        for r in rcpts {
            w.add_recipient(&Recipient::new(r)).unwrap();
        }
        w.write_content(b"Subject: x\n\nbody\n").unwrap();
        let id = w.commit().unwrap();
        let path = q.rename(&id, INCOMING, DEFERRED).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(retry).unwrap();
        id
    }

    fn retry_time(q: &QueueDir, id: &queue::QueueId) -> SystemTime {
        let qf = QueueFile::open_readonly(q, DEFERRED, id).unwrap();
        qf.file().metadata().unwrap().modified().unwrap()
    }

    #[test]
    fn etrn_makes_only_the_sites_mail_due() {
        let t = tempfile::tempdir().unwrap();
        let q = QueueDir::new(t.path(), &["deferred", "defer"], 1);
        q.create_missing().unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600);
        let mine = deferred(&q, &["a@other.example", "b@Site.Example"], later);
        let other = deferred(&q, &["c@other.example"], later);
        assert_eq!(flush_site(&q, "site.example").unwrap(), 1);
        assert!(retry_time(&q, &mine) <= SystemTime::now());
        assert_eq!(retry_time(&q, &other), later);
    }
}
