//! NAME
//!   dispatch - deliver one recipient: aliases, .forward, then the mailbox
//!
//! DESCRIPTION
//!   [`Agent::deliver`] follows local(8)'s order for one recipient
//!   `local+ext@domain` (the local part is folded to lower case):
//!
//!   1. mail loop checks: a recursion deeper than 100 levels, or the
//!      address in a `Delivered-To:` header, bounces with `5.4.6 mail
//!      forwarding loop for ADDR`;
//!   2. `alias_maps`: the local part, then (with an extension) the bare
//!      user; each destination of the value is delivered in turn
//!      ([`Agent::destination`]) with `default_privs`. With
//!      `owner_request_special` and an `owner-NAME` alias, copies made
//!      for the expansion carry the sender `owner-NAME@domain`. A table
//!      that cannot be read defers with `4.3.0 alias database
//!      unavailable`;
//!   3. the first `.forward` file of `forward_path` that exists, for real
//!      users, read as the user; its destinations are delivered with the
//!      user's privileges;
//!   4. the mailbox ([`crate::leaves`]); an unknown user goes to
//!      `luser_relay` when set, else bounces with `5.1.1 unknown user:
//!      "NAME"`.
//!
//!   A destination is `|command`, `/file` (a trailing `/` means a
//!   Maildir), `:include:/file`, `\user` (the mailbox, skipping
//!   aliases and `.forward`), or an address. Addresses are rewritten in
//!   the local context; those this agent delivers are delivered
//!   recursively here, the others are forwarded through cleanup. An
//!   alias or `.forward` that names the user it belongs to delivers to
//!   that user's mailbox.
//!
//! SEE ALSO
//!   local(8), aliases(5), postconf(5) `alias_maps`, `forward_path`,
//!   `luser_relay`, `owner_request_special`.
use crate::attrs::{expand_element, LocalAttrs};
use crate::errors::Outcome;
use crate::privs::{Account, AsUser};
use crate::settings::Settings;
use crate::state::{Class, Forward, Message, Results, Seen, State};
use global::Config;
use maps::Maps;

/// Deepest alias/forward nesting before a loop is assumed.
pub const MAX_LEVEL: u32 = 100;

/// Where an address goes, as address resolution says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Delivered by this agent (the canonical address).
    Local(String),
    /// Delivered elsewhere: forward through cleanup (canonical address).
    Remote(String),
    /// Resolution failed: defer or bounce with this outcome.
    Fail(Outcome),
}

/// What local(8) needs from the system; the real one uses resolve and
/// the password database, tests use fixed tables.
pub trait Host {
    /// Rewrite `addr` in the local context (`user` -> `user@$myorigin`)
    /// and resolve it.
    fn route(&self, addr: &str) -> Route;
    /// The account named `name`. Errors: the lookup failed.
    fn account(&self, name: &str) -> Result<Option<Account>, String>;
}

/// The local delivery agent's per-process state.
pub struct Agent<'a> {
    /// Parameters.
    pub settings: &'a Settings,
    /// main.cf (expansions).
    pub cfg: &'a Config,
    /// `alias_maps`, or the name of the table that could not be opened.
    pub aliases: &'a Result<Maps, String>,
    /// Routing and accounts.
    pub host: &'a dyn Host,
}

impl std::fmt::Debug for Agent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").finish_non_exhaustive()
    }
}

/// `local+ext@domain` taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// Lower-cased local part.
    pub local: String,
    /// Domain (may be empty).
    pub domain: String,
    /// The local part without extension.
    pub user: String,
    /// The extension without its delimiter.
    pub extension: String,
    /// The delimiter found.
    pub delimiter: String,
}

/// Split `addr` with the delimiters of `recipient_delimiter`.
pub fn parts(addr: &str, delimiters: &str) -> Parts {
    let (local, domain) = maps::search::split_address(addr);
    let local = local.to_lowercase();
    let (user, ext) = maps::search::split_extension(&local, delimiters);
    let (delimiter, extension) = match ext {
        Some(e) => {
            let mut c = e.chars();
            let d = c.next().map(String::from).unwrap_or_default();
            (d, c.as_str().to_string())
        }
        None => (String::new(), String::new()),
    };
    Parts {
        user: user.to_string(),
        local: local.clone(),
        domain: domain.unwrap_or("").to_string(),
        extension,
        delimiter,
    }
}

impl Agent<'_> {
    /// Deliver `st` (a queue recipient or an expansion of one), adding
    /// outcomes and forwards to `out`.
    pub fn deliver(&self, msg: &Message, st: State, seen: &mut Seen, out: &mut Results) {
        if st.level > MAX_LEVEL || msg.delivered.contains(&st.addr.to_lowercase()) {
            let text = format!("mail forwarding loop for {}", st.addr);
            out.leaf(&st, Outcome::bounce("5.4.6", text));
            return;
        }
        let p = parts(&st.addr, &self.settings.recipient_delimiter);
        if !st.direct {
            if self.alias(msg, &st, &p, seen, out) {
                return;
            }
            match self.host.account(&p.user) {
                Err(e) => return out.leaf(&st, Outcome::defer("4.3.0", e)),
                Ok(Some(acct)) => {
                    if self.dot_forward(msg, &st, &p, &acct, seen, out) {
                        return;
                    }
                }
                Ok(None) => {}
            }
        }
        self.mailbox(msg, &st, &p, seen, out);
    }

    fn alias(
        &self,
        msg: &Message,
        st: &State,
        p: &Parts,
        seen: &mut Seen,
        out: &mut Results,
    ) -> bool {
        if let Some((Class::Alias, from)) = &st.exp_from {
            if *from == p.local || *from == p.user {
                return false;
            }
        }
        let maps = match self.aliases {
            Ok(m) => m,
            Err(table) => {
                util::msg_warn!("{table}: lookup of '{}' failed", p.local);
                out.leaf(st, Outcome::defer("4.3.0", "alias database unavailable"));
                return true;
            }
        };
        let mut hit = None;
        for key in [&p.local, &p.user] {
            match maps.find(key, false) {
                Ok(Some(v)) => {
                    hit = Some((key.clone(), v));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    util::msg_warn!("{}: lookup of {key}: {e}", maps.title());
                    out.leaf(st, Outcome::defer("4.3.0", "alias database unavailable"));
                    return true;
                }
            }
            if p.local == p.user {
                break;
            }
        }
        let Some((name, value)) = hit else {
            return false;
        };
        let mut child_base = st.clone();
        child_base.exp_from = Some((Class::Alias, name.clone()));
        if self.settings.owner_request_special && !name.starts_with("owner-") {
            let owner = format!("owner-{name}");
            if let Ok(Some(_)) = maps.find(&owner, false) {
                child_base.sender = if p.domain.is_empty() {
                    owner
                } else {
                    format!("{owner}@{}", p.domain)
                };
            }
        }
        child_base.privs = match self.host.account(&self.settings.default_privs) {
            Ok(Some(a)) if !a.uid.is_root() => Some(a),
            _ => {
                util::msg_warn!(
                    "default_privs: unknown or privileged user {}",
                    self.settings.default_privs
                );
                out.leaf(
                    st,
                    Outcome::defer("4.3.5", "mail system configuration error"),
                );
                return true;
            }
        };
        let dests = destinations(&value);
        if dests.is_empty() {
            util::msg_warn!("{}: alias {name} has an empty value", maps.title());
            out.leaf(st, Outcome::defer("4.3.0", "alias database unavailable"));
            return true;
        }
        for d in dests {
            self.destination(msg, &child_base, Class::Alias, &d, seen, out);
        }
        true
    }

    fn dot_forward(
        &self,
        msg: &Message,
        st: &State,
        p: &Parts,
        acct: &Account,
        seen: &mut Seen,
        out: &mut Results,
    ) -> bool {
        if let Some((Class::Forward, from)) = &st.exp_from {
            if *from == p.user {
                return false;
            }
        }
        let attrs = self.local_attrs(st, p, Some(acct));
        for elem in util::strings::split_list(&self.settings.forward_path) {
            let path = match expand_element(&elem, &attrs) {
                Ok((_, true)) => continue,
                Ok((v, false)) => v,
                Err(e) => {
                    util::msg_warn!("forward_path: {e}");
                    continue;
                }
            };
            let text = {
                let _as = match AsUser::enter(acct.uid, acct.gid) {
                    Ok(g) => g,
                    Err(e) => {
                        out.leaf(st, Outcome::defer("4.3.0", e));
                        return true;
                    }
                };
                match std::fs::read(&path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        let text = format!("cannot open {path}: {}", crate::errors::strerror(&e));
                        out.leaf(st, Outcome::defer("4.3.0", text));
                        return true;
                    }
                }
            };
            let dests = list_file(&String::from_utf8_lossy(&text));
            if dests.is_empty() {
                continue;
            }
            let mut child = st.clone();
            child.exp_from = Some((Class::Forward, p.user.clone()));
            child.privs = Some(acct.clone());
            for d in dests {
                self.destination(msg, &child, Class::Forward, &d, seen, out);
            }
            return true;
        }
        false
    }

    /// Deliver one destination `dest` of an alias, `.forward` or include
    /// file reached through `class`, from node `st`.
    pub fn destination(
        &self,
        msg: &Message,
        st: &State,
        class: Class,
        dest: &str,
        seen: &mut Seen,
        out: &mut Results,
    ) {
        let mut node = st.clone();
        node.class = class;
        if let Some(cmd) = dest.strip_prefix('|') {
            return self.command_dest(msg, &node, cmd.trim_start(), seen, out);
        }
        if let Some(path) = dest.strip_prefix(":include:") {
            return self.include(msg, &node, path.trim(), seen, out);
        }
        if dest.starts_with('/') {
            return self.file_dest(msg, &node, dest, seen, out);
        }
        let (direct, addr) = match dest.strip_prefix('\\') {
            Some(a) => (true, a),
            None => (false, dest),
        };
        match self.host.route(addr) {
            Route::Fail(o) => out.leaf(&node, o),
            Route::Local(a) => {
                let mut c = st.child(&a, class);
                c.direct = direct;
                self.deliver(msg, c, seen, out);
            }
            Route::Remote(a) => {
                if seen.first(format!("forward {}", a.to_lowercase())) {
                    out.forwards.push(Forward {
                        to: a,
                        orig: st.orig.clone(),
                        sender: st.sender.clone(),
                        via: st.addr.clone(),
                    });
                }
            }
        }
    }

    fn include(&self, msg: &Message, st: &State, path: &str, seen: &mut Seen, out: &mut Results) {
        let read = {
            let guard = match &st.privs {
                Some(a) if st.class == Class::Forward => AsUser::enter(a.uid, a.gid).map(Some),
                _ => Ok(None),
            };
            match guard {
                Err(e) => Err(e),
                Ok(_g) => std::fs::read(path).map_err(|e| {
                    format!(
                        "cannot open include file {path}: {}",
                        crate::errors::strerror(&e)
                    )
                }),
            }
        };
        let text = match read {
            Ok(t) => t,
            Err(e) => return out.leaf(st, Outcome::defer("4.3.0", e)),
        };
        let mut child = st.clone();
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt;
            if meta.uid() != 0 {
                if let Ok(Some(owner)) =
                    crate::privs::lookup_uid(nix::unistd::Uid::from_raw(meta.uid()))
                {
                    child.privs = Some(owner);
                }
            }
        }
        for d in list_file(&String::from_utf8_lossy(&text)) {
            self.destination(msg, &child, Class::Include, &d, seen, out);
        }
    }

    /// The expansion attributes for node `st` with account `acct`.
    pub fn local_attrs(&self, st: &State, p: &Parts, acct: Option<&Account>) -> LocalAttrs {
        LocalAttrs {
            user: acct
                .map(|a| a.name.clone())
                .unwrap_or_else(|| p.user.clone()),
            home: acct
                .map(|a| a.home.display().to_string())
                .unwrap_or_default(),
            shell: acct.map(|a| a.shell.clone()).unwrap_or_default(),
            recipient: st.addr.clone(),
            local: p.local.clone(),
            domain: p.domain.clone(),
            extension: p.extension.clone(),
            delimiter: p.delimiter.clone(),
            mailbox: p.user.clone(),
        }
    }
}

/// The destinations in a `.forward` or `:include:` file: lines that are
/// not empty or `#` comments, each a comma-separated list.
pub fn list_file(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(destinations)
        .collect()
}

/// Split an alias value or `.forward` line into destinations, keeping
/// the leading backslash of a `\user` destination (which the address
/// tokenizer would drop): such a destination is quoted first.
pub fn destinations(value: &str) -> Vec<String> {
    let mut text = String::with_capacity(value.len() + 8);
    let mut in_quote = false;
    let mut at_start = true;
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if at_start && !in_quote && c == '\\' {
            let mut word = String::from("\\\\");
            while let Some(&n) = chars.peek() {
                if n == ',' || n.is_whitespace() {
                    break;
                }
                word.push(n);
                chars.next();
            }
            text.push('"');
            text.push_str(&word);
            text.push('"');
            at_start = false;
            continue;
        }
        match c {
            '"' => in_quote = !in_quote,
            ',' if !in_quote => at_start = true,
            c if c.is_whitespace() => {}
            _ => at_start = false,
        }
        text.push(c);
    }
    maps::aliases::split_destinations(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_parts() {
        let p = parts("U1+Foo@Example.COM", "+");
        assert_eq!(p.local, "u1+foo");
        assert_eq!(p.user, "u1");
        assert_eq!(p.extension, "foo");
        assert_eq!(p.delimiter, "+");
        assert_eq!(p.domain, "Example.COM");
        let p = parts("u1", "");
        assert_eq!(
            (p.user.as_str(), p.extension.as_str(), p.domain.as_str()),
            ("u1", "", "")
        );
    }

    #[test]
    fn forward_file_lines() {
        assert_eq!(
            list_file("# me\nu1, \\u2\n\n\"|cat > /tmp/x\"\n/var/log/m\n"),
            vec!["u1", "\\u2", "|cat > /tmp/x", "/var/log/m"]
        );
    }
}
