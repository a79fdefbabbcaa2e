//! NAME
//!   leaves - the final deliveries: mailbox, command, file
//!
//! DESCRIPTION
//!   The leaves of a recipient's delivery tree ([`crate::dispatch`]):
//!
//!   - mailbox ([`Agent::mailbox`]), for a user with an account, in
//!     local(8)'s order: `mailbox_command` (run as the user), else
//!     `home_mailbox` under the home directory (a name ending in `/` is a
//!     Maildir, else an mbox file), else the user's file under
//!     `mail_spool_directory` (created and written with root privileges
//!     and given to the user; a directory name ending in `/` means Maildir
//!     files). A user without an account goes to `luser_relay` when set,
//!     else bounces `5.1.1 unknown user: "NAME"`.
//!   - `|command` (when the class is in `allow_mail_to_commands`), run
//!     with the node's privileges ([`crate::command`]);
//!   - `/file` (when the class is in `allow_mail_to_files`), written with
//!     the node's privileges in mbox form, or as a Maildir when the name
//!     ends in `/`.
//!
//!   Each leaf logs one line through [`crate::state::Results`]; each
//!   mailbox, command and file is delivered at most once per request.
//!   Commands and files from aliases never run as root: they use
//!   `default_privs`.
//!
//! DIAGNOSTICS
//!   `cannot update mailbox PATH for user NAME. REASON`, `maildir delivery
//!   failed: REASON`, `mail to command is restricted`, `mail to file is
//!   restricted` (5.7.1).
//!
//! SEE ALSO
//!   local(8), postconf(5) `mailbox_command`, `home_mailbox`,
//!   `mail_spool_directory`, `luser_relay`, `allow_mail_to_commands`,
//!   `allow_mail_to_files`, `local_command_shell`.
use crate::attrs::{environment, expand_element};
use crate::command::{self, CommandSpec};
use crate::copy::{copy_message, CopyOptions};
use crate::dispatch::{parts, Agent, Parts};
use crate::errors::Outcome;
use crate::maildir;
use crate::mbox::{self, FileOwner};
use crate::privs::{Account, AsUser};
use crate::state::{Class, Message, Results, Seen, State};
use chrono::Local;
use std::path::{Path, PathBuf};

impl Agent<'_> {
    fn orig_to(st: &State) -> Option<&str> {
        (!st.orig.is_empty()).then_some(st.orig.as_str())
    }

    fn delivered(&self, st: &State, kind: &str) -> Option<String> {
        (kind == "mailbox" || self.settings.delivered_header(kind)).then(|| st.addr.clone())
    }

    /// Deliver to the mailbox of the user in `p` (see the module text).
    pub fn mailbox(
        &self,
        msg: &Message,
        st: &State,
        p: &Parts,
        seen: &mut Seen,
        out: &mut Results,
    ) {
        let acct = match self.host.account(&p.user) {
            Err(e) => return out.leaf(st, Outcome::defer("4.3.0", e)),
            Ok(Some(a)) => a,
            Ok(None) => return self.unknown(msg, st, p, seen, out),
        };
        if !seen.first(format!("mailbox {}", acct.name)) {
            return;
        }
        let delivered = self.delivered(st, "mailbox");
        let mbox_opts = CopyOptions::mbox(&st.sender, Self::orig_to(st), delivered.as_deref());
        let md_opts = CopyOptions::maildir(&st.sender, Self::orig_to(st), delivered.as_deref());
        // mailbox_command goes to the shell as written (postconf(5)).
        let cmd = self.settings.mailbox_command.trim();
        let hm = &self.settings.home_mailbox;
        let outcome = if !cmd.is_empty() {
            let mut o = self.run_command(msg, st, p, cmd, Some(&acct));
            if let Outcome::Sent(_) = o {
                o = Outcome::Sent(format!("delivered to command: {cmd}"));
            }
            o
        } else if !hm.is_empty() {
            let path = acct.home.join(hm);
            match AsUser::enter(acct.uid, acct.gid) {
                Err(e) => Outcome::defer("4.3.0", e),
                Ok(_g) => {
                    if hm.ends_with('/') {
                        self.to_maildir(msg, &path, &md_opts)
                    } else {
                        self.to_mbox(msg, &path, &mbox_opts, None, &acct.name)
                    }
                }
            }
        } else {
            let spool = &self.settings.mail_spool_directory;
            let path = Path::new(spool).join(&acct.name);
            if spool.ends_with('/') {
                match AsUser::enter(acct.uid, acct.gid) {
                    Err(e) => Outcome::defer("4.3.0", e),
                    Ok(_g) => self.to_maildir(msg, &path, &md_opts),
                }
            } else {
                let owner = FileOwner {
                    uid: acct.uid,
                    gid: acct.gid,
                };
                self.to_mbox(msg, &path, &mbox_opts, Some(owner), &acct.name)
            }
        };
        out.leaf(st, outcome);
    }

    fn to_maildir(&self, msg: &Message, dir: &Path, opts: &CopyOptions) -> Outcome {
        let dir = PathBuf::from(dir.display().to_string().trim_end_matches('/'));
        match maildir::deliver(
            &dir,
            &self.settings.myhostname,
            &msg.content[..],
            opts,
            self.settings.mailbox_size_limit,
        ) {
            Ok(_) => Outcome::Sent("delivered to maildir".into()),
            Err(e) => e.outcome("maildir delivery failed: "),
        }
    }

    fn to_mbox(
        &self,
        msg: &Message,
        path: &Path,
        opts: &CopyOptions,
        owner: Option<FileOwner>,
        user: &str,
    ) -> Outcome {
        match mbox::append(
            path,
            &msg.content[..],
            opts,
            &self.settings.lock,
            self.settings.mailbox_size_limit,
            owner,
        ) {
            Ok(()) => Outcome::Sent("delivered to mailbox".into()),
            Err(e) => e.outcome(&format!(
                "cannot update mailbox {} for user {user}. ",
                path.display()
            )),
        }
    }

    fn unknown(&self, msg: &Message, st: &State, p: &Parts, seen: &mut Seen, out: &mut Results) {
        let attrs = self.local_attrs(st, p, None);
        match expand_element(&self.settings.luser_relay, &attrs) {
            Ok((relay, _)) if !relay.trim().is_empty() && st.class != Class::Include => {
                let mut node = st.clone();
                node.exp_from = Some((Class::Alias, p.user.clone()));
                self.destination(msg, &node, Class::Alias, relay.trim(), seen, out);
            }
            Ok(_) => out.leaf(
                st,
                Outcome::bounce("5.1.1", format!("unknown user: \"{}\"", unquote(&p.user))),
            ),
            Err(e) => out.leaf(st, Outcome::defer("4.3.5", format!("luser_relay: {e}"))),
        }
    }

    /// The identity for a command or file at node `st`: the node's
    /// privileges (alias: `default_privs`; `.forward`: the user).
    fn node_ids(st: &State) -> Option<&Account> {
        st.privs.as_ref()
    }

    fn run_command(
        &self,
        msg: &Message,
        st: &State,
        p: &Parts,
        cmd: &str,
        acct: Option<&Account>,
    ) -> Outcome {
        let attrs = self.local_attrs(st, p, acct);
        let env = environment(
            &attrs,
            &self.settings.export_environment,
            &st.sender,
            &st.orig,
            &msg.env,
        );
        let delivered = self.delivered(st, "command");
        let opts = CopyOptions::command(&st.sender, Self::orig_to(st), delivered.as_deref());
        let spec = CommandSpec {
            command: cmd.to_string(),
            shell: self.settings.local_command_shell.clone(),
            ids: acct.map(|a| (a.uid, a.gid)),
            cwd: acct.map(|a| a.home.clone()),
            env,
            time_limit: self.settings.command_time_limit,
        };
        command::run(&spec, |w| {
            copy_message(&msg.content[..], w, &opts, Local::now()).map(|_| ())
        })
    }

    /// Deliver to `|command` at node `st`.
    pub fn command_dest(
        &self,
        msg: &Message,
        st: &State,
        cmd: &str,
        seen: &mut Seen,
        out: &mut Results,
    ) {
        if !self.settings.commands_allowed(st.class.word()) {
            return out.leaf(
                st,
                Outcome::bounce("5.7.1", "mail to command is restricted"),
            );
        }
        let Some(acct) = Self::node_ids(st) else {
            return out.leaf(
                st,
                Outcome::defer("4.3.5", "mail system configuration error"),
            );
        };
        if !seen.first(format!("command {} {cmd}", acct.uid)) {
            return;
        }
        let p = parts(&st.addr, &self.settings.recipient_delimiter);
        let o = self.run_command(msg, st, &p, cmd, Some(acct));
        out.leaf(st, o);
    }

    /// Deliver to `/file` at node `st`.
    pub fn file_dest(
        &self,
        msg: &Message,
        st: &State,
        path: &str,
        seen: &mut Seen,
        out: &mut Results,
    ) {
        if !self.settings.files_allowed(st.class.word()) {
            return out.leaf(st, Outcome::bounce("5.7.1", "mail to file is restricted"));
        }
        let Some(acct) = Self::node_ids(st) else {
            return out.leaf(
                st,
                Outcome::defer("4.3.5", "mail system configuration error"),
            );
        };
        if !seen.first(format!("file {path}")) {
            return;
        }
        let delivered = self.delivered(st, "file");
        let outcome = match AsUser::enter(acct.uid, acct.gid) {
            Err(e) => Outcome::defer("4.3.0", e),
            Ok(_g) if path.ends_with('/') => {
                let opts =
                    CopyOptions::maildir(&st.sender, Self::orig_to(st), delivered.as_deref());
                self.to_maildir(msg, Path::new(path), &opts)
            }
            Ok(_g) => {
                let opts = CopyOptions::mbox(&st.sender, Self::orig_to(st), delivered.as_deref());
                match mbox::append(
                    Path::new(path),
                    &msg.content[..],
                    &opts,
                    &self.settings.lock,
                    0,
                    None,
                ) {
                    Ok(()) => Outcome::Sent(format!("delivered to file: {path}")),
                    Err(e) => e.outcome(&format!("cannot append message to file {path}: ")),
                }
            }
        };
        out.leaf(st, outcome);
    }
}

/// A local part as Postfix shows it in texts (its internal form): RFC
/// 5322 quotes removed and `\\x` escapes resolved, so that
/// `"quoted user"` reads `quoted user`.
pub fn unquote(local: &str) -> String {
    let mut out = String::with_capacity(local.len());
    let mut chars = local.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {}
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}
