//! NAME
//!   state - what one delivery carries down the alias/forward tree
//!
//! DESCRIPTION
//!   local(8) delivers one queue recipient by expanding it through
//!   `alias_maps`, `.forward` files and `:include:` files into a tree
//!   whose leaves are mailboxes, commands, files and forwarded addresses.
//!   [`State`] is one node's context (Postfix's `DELIVER_ATTR`): the
//!   address being delivered, the original recipient, how it was
//!   reached ([`Class`]), the recursion level, the identity for command
//!   and file deliveries, and the sender (an `owner-` alias changes it).
//!
//!   [`Message`] is what does not change while one request is served:
//!   the queue ID, sender, content and the addresses already named in
//!   `Delivered-To:` headers (mail loop detection).
//!
//!   [`Results`] collects the leaves' outcomes ([`Leaf`]), the addresses
//!   to forward through cleanup, and the duplicate filter (one delivery
//!   per mailbox, command, file or forwarded address per request, as
//!   Postfix's `been_here`).
use crate::errors::Outcome;
use crate::privs::Account;
use std::collections::HashSet;

/// How a destination was reached; decides what may run commands or
/// write files (`allow_mail_to_commands`, `allow_mail_to_files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The recipient as qmgr gave it.
    Recipient,
    /// From `alias_maps` (`alias`).
    Alias,
    /// From a `.forward` file (`forward`).
    Forward,
    /// From an `:include:` file (`include`).
    Include,
}

impl Class {
    /// The word used in `allow_mail_to_commands` / `allow_mail_to_files`.
    pub fn word(self) -> &'static str {
        match self {
            Class::Recipient | Class::Alias => "alias",
            Class::Forward => "forward",
            Class::Include => "include",
        }
    }
}

/// The context of one node of the delivery tree.
#[derive(Debug, Clone)]
pub struct State {
    /// Recursion level (0 for the queue recipient).
    pub level: u32,
    /// The address delivered at this node.
    pub addr: String,
    /// The queue recipient's original address (`orig_to=`, `X-Original-To:`).
    pub orig: String,
    /// How this node was reached.
    pub class: Class,
    /// The local part of the alias or `.forward` that expanded into this
    /// node, with its kind (a name expanding to itself is delivered to
    /// its mailbox, not looked up again).
    pub exp_from: Option<(Class, String)>,
    /// Who runs commands and writes files at this node (alias:
    /// `default_privs`; `.forward`: the user).
    pub privs: Option<Account>,
    /// The envelope sender for forwarded copies and notifications.
    pub sender: String,
    /// `\user`: deliver to the mailbox without alias or `.forward`.
    pub direct: bool,
}

impl State {
    /// The root node for queue recipient `addr` (original `orig`).
    pub fn root(addr: &str, orig: &str, sender: &str) -> State {
        State {
            level: 0,
            addr: addr.to_string(),
            orig: orig.to_string(),
            class: Class::Recipient,
            exp_from: None,
            privs: None,
            sender: sender.to_string(),
            direct: false,
        }
    }

    /// A child node for `addr` reached through `class`.
    pub fn child(&self, addr: &str, class: Class) -> State {
        State {
            level: self.level + 1,
            addr: addr.to_string(),
            class,
            direct: false,
            ..self.clone()
        }
    }
}

/// The unchanging part of one delivery request.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Queue ID (log lines).
    pub queue_id: String,
    /// Envelope sender (empty = null sender).
    pub sender: String,
    /// The content: headers, empty line, body, LF line ends.
    pub content: Vec<u8>,
    /// Lower-cased addresses in the message's `Delivered-To:` headers.
    pub delivered: HashSet<String>,
    /// Extra command environment (`CLIENT_*`, `ENVID`).
    pub env: Vec<(&'static str, String)>,
}

impl Message {
    /// Build from the envelope sender and content; the `Delivered-To:`
    /// headers of the primary header block are collected.
    pub fn new(queue_id: &str, sender: &str, content: Vec<u8>) -> Message {
        let delivered = delivered_to(&content);
        Message {
            queue_id: queue_id.to_string(),
            sender: sender.to_string(),
            content,
            delivered,
            env: Vec::new(),
        }
    }
}

/// The lower-cased values of the `Delivered-To:` headers in the header
/// block of `content` (unfolded).
pub fn delivered_to(content: &[u8]) -> HashSet<String> {
    let mut out = HashSet::new();
    let text = String::from_utf8_lossy(content);
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        if line.starts_with([' ', '\t']) {
            if let Some(c) = current.as_mut() {
                c.push_str(line);
            }
            continue;
        }
        if let Some(c) = current.take() {
            out.insert(c.trim().to_lowercase());
        }
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("delivered-to") {
                current = Some(value.to_string());
            }
        }
    }
    out
}

/// One leaf of the tree with its outcome: a `to=` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The address logged as `to=`.
    pub to: String,
    /// The original address (`orig_to=`).
    pub orig: String,
    /// What happened.
    pub outcome: Outcome,
}

/// An address to re-submit through cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The new recipient.
    pub to: String,
    /// The queue recipient's original address.
    pub orig: String,
    /// The sender of the new message.
    pub sender: String,
    /// The address whose delivery this is (for `Delivered-To:`).
    pub via: String,
}

/// Everything one queue recipient's delivery produced.
#[derive(Debug, Default)]
pub struct Results {
    /// Leaves delivered, bounced or deferred here.
    pub leaves: Vec<Leaf>,
    /// Addresses to forward.
    pub forwards: Vec<Forward>,
}

impl Results {
    /// Record a leaf outcome.
    pub fn leaf(&mut self, st: &State, outcome: Outcome) {
        self.leaves.push(Leaf {
            to: st.addr.clone(),
            orig: st.orig.clone(),
            outcome,
        });
    }

    /// The combined outcome: deferred if any leaf deferred, else bounced
    /// if any bounced, else sent. `None` when nothing was produced (every
    /// destination was a duplicate).
    pub fn worst(&self) -> Option<&Outcome> {
        self.leaves
            .iter()
            .map(|l| &l.outcome)
            .max_by_key(|o| o.rank())
    }
}

/// The duplicate filter of one request.
#[derive(Debug, Default)]
pub struct Seen(HashSet<String>);

impl Seen {
    /// Whether `key` is new (and remember it).
    pub fn first(&mut self, key: String) -> bool {
        self.0.insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_to_headers_are_collected_from_the_header_block_only() {
        let msg = b"Delivered-To: U1@Example.com\nSubject: x\ndelivered-to:\n a@b\n\nDelivered-To: body@x\n";
        let d = delivered_to(msg);
        assert_eq!(d.len(), 2);
        assert!(d.contains("u1@example.com") && d.contains("a@b"));
    }
}
