//! NAME
//!   pickup - move locally submitted mail from maildrop to cleanup
//!
//! SYNOPSIS
//!   master.cf: `pickup unix n - y 60 1 pickup`
//!
//! DESCRIPTION
//!   pickup is a trigger server: postdrop(1) (and master, every 60
//!   seconds by the wakeup column) wakes it through `public/pickup`, and
//!   it then scans `maildrop` ([`scan`]). For every complete file it
//!   opens a cleanup(8) session, logs `ID: uid=UID from=<SENDER>` with
//!   cleanup's queue ID, sends the envelope (sender, pending recipients
//!   with their DSN settings, ENVID/RET, `full_name`, `encoding`,
//!   `rewrite_context=local` (a requeued file: its own), `filter=`
//!   pickup's own `content_filter`
//!   (main.cf, or `-o content_filter=...` on the pickup line of
//!   master.cf; empty: none), bounce-on-error: cleanup returns a message
//!   that is too big or has too many hops to its sender) and the content
//!   after a header `Received: by $myhostname ($mail_name, from userid
//!   UID)` / `id ID; DATE` (the file's owner and modification time), and
//!   removes the maildrop file only after cleanup answered that the new
//!   queue file is safely on disk.
//!
//!   Trust: the file's owner is the submitting user. Only files owned by
//!   root or `mail_owner` (mail requeued by `postsuper -r`) may carry
//!   client, protocol and SASL attributes and their rewrite context; from other users those are
//!   dropped, so a user cannot pretend mail came from the network. A
//!   requeued file is logged with `orig_id=` its old queue ID, and only
//!   its recipients that are not yet done are sent again.
//!
//!   Files still being written (not yet mode 0700) are skipped without a
//!   word (their mode is checked before they are opened), and removed
//!   when older than a day (a postdrop that died). A file that
//!   cleanup calls ill-formatted (status bad, or no recipients) is
//!   removed with a warning, as pickup(8) does; a file that cannot be
//!   parsed, or that cleanup refuses for another reason, is moved to the
//!   `corrupt` queue with a warning. A file that cleanup cannot take now
//!   (a temporary error) stays for the next scan while the scan goes on
//!   with the other files; only when cleanup cannot be reached does the
//!   scan stop.
//!
//! DIAGNOSTICS
//!   `warning: maildrop/ID: ...` for every file not passed on.
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, hash_queue_names, hash_queue_depth, mail_owner,
//!   ipc_timeout, myhostname, mail_name, content_filter.
//!
//! SEE ALSO
//!   postdrop(1), sendmail(1), cleanup(8), doc/PIPELINE.md
#![forbid(unsafe_code)]

mod scan;

use skeleton::{Context, Hooks};
use util::msg_fatal;

fn main() {
    let hooks = Hooks::pre_init(|ctx: &Context| {
        global::date::init();
        let get = |name: &str| ctx.config.get(name).unwrap_or_else(|e| msg_fatal!("{e}"));
        let owner = ctx
            .config
            .get("mail_owner")
            .unwrap_or_else(|e| msg_fatal!("{e}"));
        let owner_uid = nix::unistd::User::from_name(&owner)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw());
        let qdir = queue::QueueDir::from_config(&ctx.config)
            .unwrap_or_else(|e| msg_fatal!("{e}"))
            .with_root(".");
        scan::Pickup {
            qdir,
            owner_uid,
            myhostname: get("myhostname"),
            mail_name: get("mail_name"),
            content_filter: get("content_filter").trim().to_string(),
        }
    });
    skeleton::trigger_server("pickup", hooks, |st, _request, ctx| st.scan(ctx));
}
