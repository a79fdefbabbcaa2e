//! NAME
//!   xact - one mail transaction: MAIL, RCPT, DATA, content, per-recipient results
//!
//! DESCRIPTION
//!   [`transaction`] sends one message to some recipients over a session
//!   that has completed its handshake, and returns one status per
//!   recipient (class 2: delivered, 4: try again, 5: bounce):
//!
//!   - checks first, as Postfix does: a message larger than the
//!     server's SIZE bounces with `5.3.4 message size N exceeds size
//!     limit L of server H[A]`; a message that needs SMTPUTF8 (the
//!     sender asked for it) bounces with `5.6.7 SMTPUTF8 is required,
//!     but was not offered by host H[A]` when the server lacks it;
//!   - `MAIL FROM:<s>` with `SIZE=`, `BODY=8BITMIME` (8-bit content and
//!     the server offers 8BITMIME), `SMTPUTF8`, and with DSN support
//!     `RET=` and `ENVID=`; `RCPT TO:<r>` with `NOTIFY=` and `ORCPT=`
//!     (xtext, RFC 3461 4);
//!   - with PIPELINING (RFC 2920) MAIL, every RCPT and DATA go in one
//!     write and the replies are matched to the commands in order;
//!     otherwise each command waits for its reply, and DATA is not sent
//!     when no recipient was accepted;
//!   - 8-bit content to a server without 8BITMIME is converted to
//!     quoted-printable unless `disable_mime_output_conversion`;
//!   - after the dot, SMTP has one reply for every accepted recipient,
//!     LMTP (RFC 2033 4.2) one reply per accepted recipient, in order.
//!
//!   Replies become `host H[A] said: REPLY (in reply to CMD command)`
//!   with the reply's enhanced code; a delivered recipient's text is the
//!   reply itself (`250 2.0.0 Ok: queued as X`). A lost connection or a
//!   timeout gives every recipient without a result the session's
//!   failure text (`lost connection with H[A] while sending RCPT TO`).
//!
//! SEE ALSO
//!   RFC 5321, 2920, 1870, 6152, 6531, 3461, 2033.
use crate::body::{send_body, BodyError};
use crate::params::{Params, Proto};
use crate::reply::Reply;
use crate::session::{Session, Stage};
use deliver::{Dsn, RequestRecipient};
use queue::{DsnNotify, DsnRet, QueueFile};

/// What the transaction needs to know about the message.
#[derive(Debug)]
pub struct Message<'a> {
    /// The queue file (content).
    pub qf: &'a QueueFile,
    /// Envelope sender (empty: `<>`).
    pub sender: &'a str,
    /// RFC 3461 ENVID.
    pub envid: Option<&'a str>,
    /// RFC 3461 RET.
    pub ret: Option<DsnRet>,
    /// Content size in bytes (SIZE=).
    pub size: u64,
    /// The content has 8-bit bytes.
    pub eightbit: bool,
    /// The sender asked for SMTPUTF8.
    pub smtputf8: bool,
}

/// RFC 3461 xtext.
pub fn xtext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

fn notify_text(n: DsnNotify) -> Option<String> {
    if n.0 == 0 {
        return None;
    }
    if n.has(1) {
        return Some("NEVER".into());
    }
    let words: Vec<&str> = [(2, "SUCCESS"), (4, "FAILURE"), (8, "DELAY")]
        .iter()
        .filter(|(b, _)| n.has(*b))
        .map(|(_, w)| *w)
        .collect();
    Some(words.join(","))
}

/// The MAIL FROM command for `m` on a server with `s`'s features.
pub fn mail_command(s: &Session, m: &Message<'_>) -> String {
    let f = &s.features;
    let mut cmd = format!("MAIL FROM:<{}>", m.sender);
    if f.size.is_some() {
        cmd.push_str(&format!(" SIZE={}", m.size));
    }
    if m.eightbit && f.eightbitmime {
        cmd.push_str(" BODY=8BITMIME");
    }
    if m.smtputf8 && f.smtputf8 {
        cmd.push_str(" SMTPUTF8");
    }
    if f.dsn {
        match m.ret {
            Some(DsnRet::Full) => cmd.push_str(" RET=FULL"),
            Some(DsnRet::Hdrs) => cmd.push_str(" RET=HDRS"),
            None => {}
        }
        if let Some(e) = m.envid {
            cmd.push_str(&format!(" ENVID={}", xtext(e)));
        }
    }
    cmd
}

/// The RCPT TO command for `r`.
pub fn rcpt_command(s: &Session, r: &RequestRecipient) -> String {
    let mut cmd = format!("RCPT TO:<{}>", r.address);
    if s.features.dsn {
        if let Some(n) = notify_text(r.notify) {
            cmd.push_str(&format!(" NOTIFY={n}"));
        }
        if let Some(o) = &r.orcpt {
            let (kind, addr) = o.split_once(';').unwrap_or(("rfc822", o));
            cmd.push_str(&format!(" ORCPT={kind};{}", xtext(addr)));
        }
    }
    cmd
}

fn sent(s: &Session, r: &Reply) -> Dsn {
    s.remote(Dsn::with_status(r.status, &r.text()), Some(r))
}

/// Run one transaction (see the module description). Returns one
/// status per recipient of `rcpts`, in order.
pub fn transaction(
    s: &mut Session,
    p: &Params,
    m: &Message<'_>,
    rcpts: &[&RequestRecipient],
) -> Vec<Dsn> {
    let all = |d: Dsn| vec![d; rcpts.len()];
    if let Some(limit) = s.features.size.filter(|l| *l > 0 && m.size > *l) {
        return all(s.remote(
            Dsn::new(
                "5.3.4",
                &format!(
                    "message size {} exceeds size limit {limit} of server {}",
                    m.size,
                    s.namaddr()
                ),
            ),
            None,
        ));
    }
    if m.smtputf8 && !s.features.smtputf8 {
        return all(s.remote(
            Dsn::new(
                "5.6.7",
                &format!(
                    "SMTPUTF8 is required, but was not offered by host {}",
                    s.namaddr()
                ),
            ),
            None,
        ));
    }
    let mut out: Vec<Option<Dsn>> = vec![None; rcpts.len()];
    match run(s, p, m, rcpts, &mut out) {
        Ok(()) => {}
        Err(fail) => {
            for o in out.iter_mut().filter(|o| o.is_none()) {
                *o = Some(fail.clone());
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Dsn::new("4.3.0", "internal error: recipient without result")))
        .collect()
}

fn run(
    s: &mut Session,
    p: &Params,
    m: &Message<'_>,
    rcpts: &[&RequestRecipient],
    out: &mut [Option<Dsn>],
) -> Result<(), Dsn> {
    let t = &p.timeouts;
    let mail = mail_command(s, m);
    let rcpt_cmds: Vec<String> = rcpts.iter().map(|r| rcpt_command(s, r)).collect();
    let pipelined = s.features.pipelining;
    // MAIL
    if pipelined {
        let mut batch = String::new();
        batch.push_str(&mail);
        batch.push_str("\r\n");
        for c in &rcpt_cmds {
            batch.push_str(c);
            batch.push_str("\r\n");
        }
        batch.push_str("DATA\r\n");
        if let Err(e) = s.send(batch.as_bytes(), t.mail) {
            return Err(s.io_failure(&e, Stage::Mail));
        }
    } else if let Err(e) = s.command(&mail, t.mail) {
        return Err(s.io_failure(&e, Stage::Mail));
    }
    let r = s
        .read_reply(t.mail)
        .map_err(|e| s.io_failure(&e, Stage::Mail))?;
    let mail_failed = (r.class() != 2).then(|| s.said(&r, Stage::Mail));
    if let Some(d) = &mail_failed {
        if !pipelined {
            out.iter_mut().for_each(|o| *o = Some(d.clone()));
            if !s.rset(p) {
                s.broken = true;
            }
            return Ok(());
        }
    }
    // RCPT
    let mut accepted: Vec<usize> = Vec::new();
    for (i, cmd) in rcpt_cmds.iter().enumerate() {
        if !pipelined {
            if let Err(e) = s.command(cmd, t.rcpt) {
                return Err(s.io_failure(&e, Stage::Rcpt));
            }
        }
        let r = s
            .read_reply(t.rcpt)
            .map_err(|e| s.io_failure(&e, Stage::Rcpt))?;
        if let Some(d) = &mail_failed {
            out[i] = Some(d.clone());
        } else if r.class() == 2 {
            accepted.push(i);
        } else {
            out[i] = Some(s.said(&r, Stage::Rcpt));
        }
    }
    // DATA
    if !pipelined {
        if accepted.is_empty() {
            if !s.rset(p) {
                s.broken = true;
            }
            return Ok(());
        }
        if let Err(e) = s.command("DATA", t.data_init) {
            return Err(s.io_failure(&e, Stage::Data));
        }
    }
    let r = s
        .read_reply(t.data_init)
        .map_err(|e| s.io_failure(&e, Stage::Data))?;
    if r.class() != 3 {
        let d = s.said(&r, Stage::Data);
        for &i in &accepted {
            out[i] = Some(d.clone());
        }
        if pipelined && !s.rset(p) {
            s.broken = true;
        }
        return Ok(());
    }
    if accepted.is_empty() {
        // 354 although nothing was accepted: end the empty message.
        if s.send(b".\r\n", t.data_done).is_err() || s.read_reply(t.data_done).is_err() {
            s.broken = true;
        }
        return Ok(());
    }
    let downgrade = m.eightbit && !s.features.eightbitmime && !p.disable_mime_conversion;
    match send_body(s, m.qf, downgrade, p.line_length_limit, t.data_xfer) {
        Ok(()) => {}
        Err(BodyError::Write(e)) => return Err(s.io_failure(&e, Stage::Body)),
        Err(BodyError::Read(e)) => {
            s.broken = true;
            return Err(Dsn::new(
                "4.3.0",
                &format!("mail system error: cannot read message content: {e}"),
            ));
        }
    }
    // End of data: one reply (SMTP) or one per accepted recipient (LMTP).
    let replies = if s.proto == Proto::Lmtp {
        accepted.len()
    } else {
        1
    };
    for k in 0..replies {
        let r = s
            .read_reply(t.data_done)
            .map_err(|e| s.io_failure(&e, Stage::Dot))?;
        let d = if r.class() == 2 {
            sent(s, &r)
        } else {
            s.said(&r, Stage::Dot)
        };
        if s.proto == Proto::Lmtp {
            out[accepted[k]] = Some(d);
        } else {
            for &i in &accepted {
                out[i] = Some(d.clone());
            }
        }
    }
    s.reuse_count += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xtext_and_notify() {
        assert_eq!(xtext("a+b=c d"), "a+2Bb+3Dc+20d");
        assert_eq!(xtext("<id@x>"), "<id@x>");
        assert_eq!(notify_text(DsnNotify(0)), None);
        assert_eq!(notify_text(DsnNotify(1)), Some("NEVER".into()));
        assert_eq!(
            notify_text(DsnNotify(2 | 4 | 8)),
            Some("SUCCESS,FAILURE,DELAY".into())
        );
    }
}
