//! NAME
//!   settings - cleanup's parameters and tables, read once per process
//!
//! DESCRIPTION
//!   [`State::from_config`] reads every parameter cleanup uses and opens
//!   its tables (before the chroot, as Postfix does): the resolver
//!   (resolve crate), `canonical_maps`, `sender_canonical_maps`,
//!   `recipient_canonical_maps`, `virtual_alias_maps`, the limits
//!   `message_size_limit`, `header_size_limit`, `hopcount_limit`,
//!   `virtual_alias_recursion_limit`, `virtual_alias_expansion_limit`,
//!   and the header options `message_drop_headers`,
//!   `always_add_missing_headers`, `undisclosed_recipients_header`,
//!   `content_filter` (for clients that do not name a filter), the
//!   content inspection tables `header_checks`, `mime_header_checks`,
//!   `nested_header_checks`, `body_checks` with `body_checks_size_limit`,
//!   `disable_mime_input_processing` and `line_length_limit`, and
//!   `receive_override_options` (`no_header_body_checks` turns the
//!   tables off; clients that are configured with it also say so per
//!   message, doc/PIPELINE.md flag 8). The
//!   classes parameters say where canonical mapping applies:
//!   `canonical_classes`, `sender_canonical_classes`,
//!   `recipient_canonical_classes` (`envelope_sender`,
//!   `envelope_recipient`, `header_sender`, `header_recipient`).
//!
//! DIAGNOSTICS
//!   A bad value or a table that cannot be opened is returned as text;
//!   the daemon exits with a fatal error (master restarts it later).
use crate::checks::Checks;
use crate::headers::HeaderConfig;
use crate::mapping::AddrMaps;
use global::Config;
use maps::{DictFlags, Maps};
use queue::QueueDir;
use resolve::Resolver;
use std::time::Duration;

/// Limits and switches.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `message_size_limit` in bytes; 0 = no limit.
    pub message_size_limit: u64,
    /// `hopcount_limit`: this many `Received:` headers is a loop.
    pub hopcount_limit: usize,
    /// Header processing options.
    pub headers: HeaderConfig,
    /// envelope_sender in sender_canonical_classes / canonical_classes.
    pub env_sender_canon: (bool, bool),
    /// envelope_recipient in recipient_canonical_classes / canonical_classes.
    pub env_rcpt_canon: (bool, bool),
    /// `ipc_timeout`: per read/write on the client connection.
    pub ipc_timeout: Duration,
    /// `content_filter`: `transport:nexthop` for messages whose client
    /// did not say (empty: none).
    pub content_filter: String,
    /// `receive_override_options` has `no_header_body_checks`.
    pub no_checks: bool,
}

/// Everything one cleanup process needs.
#[derive(Debug)]
pub struct State {
    /// Limits and switches.
    pub settings: Settings,
    /// Address rewriting and resolution.
    pub resolver: Resolver,
    /// Canonical and virtual tables.
    pub maps: AddrMaps,
    /// header_checks(5) tables.
    pub checks: Checks,
    /// The queue (relative to the working directory after the chroot).
    pub qdir: QueueDir,
}

fn has(list: &[String], what: &str) -> bool {
    list.iter().any(|c| c.eq_ignore_ascii_case(what))
}

impl State {
    /// Read `cfg` and open the tables. Errors: text for a fatal log line.
    pub fn from_config(cfg: &Config) -> Result<State, String> {
        let e = |e: global::ConfigError| e.to_string();
        let list = |n: &str| cfg.get_list(n).map_err(e);
        let num = |n: &str| cfg.get_int(n).map_err(e).map(|v| v.max(0));
        let open = |n: &str| -> Result<Maps, String> {
            let v = cfg.get(n).map_err(e)?;
            Maps::open(n, &v, DictFlags::default()).map_err(|err| format!("{n}: {err}"))
        };
        let common = list("canonical_classes")?;
        let sender = list("sender_canonical_classes")?;
        let rcpt = list("recipient_canonical_classes")?;
        let propagate = list("propagate_unmatched_extensions")?;
        let headers = HeaderConfig {
            size_limit: usize::try_from(num("header_size_limit")?).unwrap_or(usize::MAX),
            drop: list("message_drop_headers")?
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            always_add: cfg.get_bool("always_add_missing_headers").map_err(e)?,
            undisclosed: cfg
                .get("undisclosed_recipients_header")
                .map_err(e)?
                .trim()
                .to_string(),
            from_obsolete: match cfg.get("header_from_format").map_err(e)?.trim() {
                "standard" | "" => false,
                "obsolete" => true,
                other => return Err(format!("invalid header_from_format: \"{other}\"")),
            },
            myhostname: cfg.get("myhostname").map_err(e)?,
            sender_canon: (has(&sender, "header_sender"), has(&common, "header_sender")),
            rcpt_canon: (
                has(&rcpt, "header_recipient"),
                has(&common, "header_recipient"),
            ),
        };
        let settings = Settings {
            message_size_limit: u64::try_from(num("message_size_limit")?).unwrap_or(0),
            hopcount_limit: usize::try_from(num("hopcount_limit")?).unwrap_or(usize::MAX),
            headers,
            env_sender_canon: (
                has(&sender, "envelope_sender"),
                has(&common, "envelope_sender"),
            ),
            env_rcpt_canon: (
                has(&rcpt, "envelope_recipient"),
                has(&common, "envelope_recipient"),
            ),
            ipc_timeout: Duration::from_secs(cfg.get_time("ipc_timeout").map_err(e)?),
            content_filter: cfg.get("content_filter").map_err(e)?.trim().to_string(),
            no_checks: has(&list("receive_override_options")?, "no_header_body_checks"),
        };
        let checks = Checks {
            header: open("header_checks")?,
            mime: open("mime_header_checks")?,
            nested: open("nested_header_checks")?,
            body: open("body_checks")?,
            body_size_limit: u64::try_from(num("body_checks_size_limit")?).unwrap_or(0),
            no_mime: cfg.get_bool("disable_mime_input_processing").map_err(e)?,
            line_limit: usize::try_from(num("line_length_limit")?)
                .unwrap_or(2048)
                .max(1),
        };
        let maps = AddrMaps {
            canonical: open("canonical_maps")?,
            sender_canonical: open("sender_canonical_maps")?,
            recipient_canonical: open("recipient_canonical_maps")?,
            virtual_alias: open("virtual_alias_maps")?,
            delimiters: cfg.get("recipient_delimiter").map_err(e)?,
            propagate_canonical: has(&propagate, "canonical"),
            propagate_virtual: has(&propagate, "virtual"),
            recursion_limit: usize::try_from(num("virtual_alias_recursion_limit")?).unwrap_or(1000),
            expansion_limit: usize::try_from(num("virtual_alias_expansion_limit")?).unwrap_or(1000),
            myorigin: cfg.get("myorigin").map_err(e)?,
        };
        Ok(State {
            settings,
            resolver: Resolver::new(cfg).map_err(|e| e.to_string())?,
            maps,
            checks,
            qdir: QueueDir::from_config(cfg).map_err(e)?,
        })
    }

    /// Whether a table changed on disk (the process should exit and let
    /// master start a fresh one).
    pub fn tables_changed(&self) -> bool {
        self.resolver.changed()
            || self.maps.canonical.changed()
            || self.maps.sender_canonical.changed()
            || self.maps.recipient_canonical.changed()
            || self.maps.virtual_alias.changed()
            || [
                &self.checks.header,
                &self.checks.mime,
                &self.checks.nested,
                &self.checks.body,
            ]
            .iter()
            .any(|m| m.changed())
    }
}
