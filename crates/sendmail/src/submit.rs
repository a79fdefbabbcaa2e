//! NAME
//!   submit - hand a message from standard input to postdrop(1)
//!
//! DESCRIPTION
//!   [`deliver`] does sendmail's default mode (`-bm`): it reads the
//!   header block, finds the `-t` recipients, checks that there is at
//!   least one recipient, then runs `$command_directory/postdrop -r` and
//!   writes the message to it as a maildrop record stream
//!   ([`queue::maildrop`]): the envelope (sender, `full_name`,
//!   `encoding`, DSN ENVID/RET, command-line recipients with `-N`), the
//!   content, and the extracted recipients. postdrop, set-gid
//!   `setgid_group`, writes the file into `maildrop` and wakes pickup(8).
//!
//!   The sender is `-f`/`-r`, else the login name of the real user ID
//!   (cleanup(8) qualifies it with `myorigin`). The full name is `-F`,
//!   else `$NAME`, else the first field of the user's GECOS entry (`&`
//!   stands for the capitalized login name).
//!
//! DIAGNOSTICS
//!   `fatal: USER(UID): No recipient addresses found in message header`
//!   (`-t` found none), `fatal: USER(UID): Recipient addresses must be
//!   specified on the command line or via the -t option`; postdrop's
//!   failure gives its exit status, and when the message was larger than
//!   `message_size_limit` sendmail adds Postfix's `fatal: USER(UID):
//!   message file too big`. Fatal errors exit with status 75
//!   (`EX_TEMPFAIL`), as Postfix's sendmail.
use crate::addr::parse_list;
use crate::message::{read_headers, Input};
use crate::opts::{BodyType, Opts};
use global::Config;
use nix::unistd::{getuid, User};
use queue::maildrop::{MaildropHead, MaildropStream};
use queue::Recipient;
use std::cell::Cell;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::rc::Rc;
use util::{msg_fatal, msg_verbose};

/// A writer that counts the bytes that pass through it.
struct Counted<W> {
    inner: W,
    count: Rc<Cell<u64>>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The display name in a GECOS field: its first comma-separated part,
/// with `&` replaced by the login name, first letter upper-case.
pub fn gecos_name(gecos: &str, login: &str) -> String {
    let first = gecos.split(',').next().unwrap_or("");
    let mut cap = login.to_string();
    if let Some(c) = cap.get(0..1) {
        cap.replace_range(0..1, &c.to_ascii_uppercase());
    }
    first.replace('&', &cap)
}

fn recipients(list: &[String], opts: &Opts) -> Vec<Recipient> {
    list.iter()
        .map(|a| Recipient {
            notify: opts.notify.unwrap_or_default(),
            ..Recipient::new(a)
        })
        .collect()
}

/// Run sendmail's delivery mode; exits the process.
pub fn deliver(opts: &Opts, cfg: &Config) -> ! {
    let uid = getuid();
    let user = User::from_uid(uid)
        .ok()
        .flatten()
        .unwrap_or_else(|| msg_fatal!("no login name found for user ID {uid}"));
    let sender = opts.sender.clone().unwrap_or_else(|| user.name.clone());
    let full_name = opts
        .full_name
        .clone()
        .or_else(|| std::env::var("NAME").ok())
        .unwrap_or_else(|| gecos_name(&user.gecos.to_string_lossy(), &user.name));

    let stdin = io::stdin();
    let mut input = Input::new(stdin.lock(), opts.ignore_dots);
    let mut headers =
        read_headers(&mut input).unwrap_or_else(|e| msg_fatal!("{sender}({uid}): read: {e}"));
    let extracted = if opts.extract {
        headers.extract()
    } else {
        Vec::new()
    };
    // As in Postfix, an argument without an address ('' or '<>') is an
    // empty recipient, which cleanup(8) gives to empty_address_recipient.
    let cmdline: Vec<String> = opts
        .recipients
        .iter()
        .flat_map(|a| {
            let list = parse_list(a);
            if list.is_empty() {
                vec![String::new()]
            } else {
                list
            }
        })
        .collect();
    if cmdline.is_empty() && extracted.is_empty() {
        if opts.extract {
            msg_fatal!("{sender}({uid}): No recipient addresses found in message header");
        }
        msg_fatal!(
            "{sender}({uid}): Recipient addresses must be specified on the command line or via the -t option"
        );
    }

    let mut head = MaildropHead {
        sender: sender.clone(),
        envid: opts.envid.clone(),
        ret: opts.ret,
        recipients: recipients(&cmdline, opts),
        ..MaildropHead::default()
    };
    if !full_name.is_empty() && !full_name.contains('\n') {
        head.attrs.push(("full_name".into(), full_name));
    }
    if let Some(b) = opts.body {
        let enc = if b == BodyType::EightBitMime {
            "8bit"
        } else {
            "7bit"
        };
        head.attrs.push(("encoding".into(), enc.into()));
    }

    let postdrop = PathBuf::from(
        cfg.get("command_directory")
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    )
    .join("postdrop");
    msg_verbose!("running {}", postdrop.display());
    let mut child = Command::new(&postdrop)
        .arg("-r")
        .arg("-c")
        .arg(cfg.config_dir())
        .args((0..opts.verbose).map(|_| "-v"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| msg_fatal!("{sender}({uid}): execute {}: {e}", postdrop.display()));
    let pipe = child.stdin.take().expect("piped stdin");
    let count = Rc::new(Cell::new(0u64));
    let counted = Counted {
        inner: pipe,
        count: Rc::clone(&count),
    };
    let written = (|| -> io::Result<()> {
        let mut s = MaildropStream::new(BufWriter::new(counted), &head)?;
        for l in &headers.lines {
            s.write_line(l)?;
        }
        if let Some(l) = &headers.first_body_line {
            s.write_line(l)?;
            while let Some(l) = input.next_line()? {
                s.write_line(&l)?;
            }
        }
        s.finish(&recipients(&extracted, opts))?;
        Ok(())
    })();
    let status = child
        .wait()
        .unwrap_or_else(|e| msg_fatal!("wait for postdrop: {e}"));
    if !status.success() {
        // postdrop has logged why; a message past message_size_limit
        // also gets Postfix's own words (postdrop stops reading there).
        let limit = cfg.get_int("message_size_limit").unwrap_or(0);
        if limit > 0 && count.get() >= u64::try_from(limit).unwrap_or(u64::MAX) {
            util::msg::set_fatal_status(status.code().unwrap_or(75));
            msg_fatal!("{sender}({uid}): message file too big");
        }
        std::process::exit(status.code().unwrap_or(75));
    }
    if let Err(e) = written {
        msg_fatal!("{sender}({uid}): error writing message file: {e}");
    }
    std::process::exit(0);
}

#[cfg(test)]
mod tests {
    use super::gecos_name;

    #[test]
    fn gecos() {
        assert_eq!(gecos_name("root", "root"), "root");
        assert_eq!(gecos_name("& Smith,Room 1,555", "bob"), "Bob Smith");
        assert_eq!(gecos_name("", "x"), "");
    }
}
