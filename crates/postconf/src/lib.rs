//! NAME
//!   postconf - Postern configuration utility
//!
//! SYNOPSIS
//!   postconf [-dfhHnx] [-c config_dir] [-C class] [-o name=value] [name ...]
//!   postconf -e|-X|-# [-c config_dir] name[=value] ...
//!   postconf -M|-F|-P [-fhHx] [-c config_dir] [service[/type[/field]] ...]
//!   postconf -Me|-MX|-M#|-Fe|-Pe|-PX [-c config_dir] request ...
//!
//! DESCRIPTION
//!   Shows and edits main.cf and master.cf as Postfix 3.7's postconf(1)
//!   does. The modules: [`options`] (command line), [`print`] (line
//!   formatting), [`params_show`] (known parameters and values),
//!   [`master_show`] (master.cf entries, fields and parameters),
//!   [`master_edit`] (master.cf edits); main.cf edits are
//!   `global::main_cf_edit`. [`run`] ties them together.
//!
//! DIAGNOSTICS
//!   Warnings go to standard error as `postconf: warning: ...`; fatal
//!   errors are returned to `main`, which prints `postconf: fatal: ...`
//!   and exits with status 1. Standard output carries only the requested
//!   lines.
#![forbid(unsafe_code)]

pub mod man5;
pub mod master_edit;
pub mod master_show;
pub mod options;
pub mod params_show;
pub mod print;
mod run_edit;
mod run_show;

use options::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How `postconf` stops early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A fatal error: `postconf: fatal: <text>`, exit status 1.
    Fatal(String),
    /// A getopt complaint followed by the usage line, exit status 1.
    Usage(String),
}

impl From<String> for Stop {
    fn from(s: String) -> Stop {
        Stop::Fatal(s)
    }
}

impl From<&str> for Stop {
    fn from(s: &str) -> Stop {
        Stop::Fatal(s.to_string())
    }
}

/// `strerror`-style text of an I/O error (without Rust's "(os error N)").
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// The configuration directory and whether the user chose it (`-c` or
/// `MAIL_CONFIG`), which makes `config_directory` show in `postconf -n`.
pub fn config_dir(opt: Option<&Path>) -> (PathBuf, bool) {
    let env_set = std::env::var_os(global::master_proto::CONFIG_ENV).is_some_and(|v| !v.is_empty());
    (global::Config::resolve_dir(opt), opt.is_some() || env_set)
}

/// Run postconf with `args` (without the program name), writing the
/// requested output to `out`. Warnings go through `util::msg`.
///
/// Errors: [`Stop`] for bad usage and fatal errors.
pub fn run(args: &[String], out: &mut dyn Write) -> Result<(), Stop> {
    let opts = options::parse(args).map_err(|e| match e {
        OptError::Usage(m) => Stop::Usage(m),
        OptError::Fatal(m) => Stop::Fatal(m),
    })?;
    util::msg::set_verbose(opts.verbose);
    if opts.man5 {
        return write_out(out, &man5::generate());
    }
    if let Some(list) = supported_list(&opts) {
        return write_out(out, &list);
    }
    for (flag, what) in [
        (EXP_DSN_TEMPL, "-b"),
        (DUMP_DSN_TEMPL, "-t"),
        (SHOW_LOCKS, "-l"),
        (SHOW_MAPS, "-m"),
        (SHOW_TLS, "-T"),
    ] {
        if opts.has(flag) {
            return Err(Stop::Fatal(format!(
                "option {what} is not implemented by Postern yet"
            )));
        }
    }
    let master_mode = opts.mode & (MASTER_ENTRY | MASTER_FLD | MASTER_PARAM) != 0;
    let editing = opts.mode & EDITING != 0;
    match (master_mode, editing) {
        (true, false) => run_show::master(&opts, out),
        (_, true) => run_edit::edit(&opts),
        (false, false) => run_show::params(&opts, out),
    }
}

/// The mailbox lock methods local(8) supports, in Postfix's order
/// (`postconf -l`; local's `mailbox_delivery_lock`).
pub const LOCK_METHODS: &[&str] = &["flock", "fcntl", "dotlock"];

/// The SASL server plug-in types smtpd(8) supports (`postconf -a`,
/// `smtpd_sasl_type`): Dovecot's authentication protocol.
pub const SASL_SERVER_TYPES: &[&str] = &["dovecot"];

/// The SASL client types smtp(8) supports (`postconf -A`,
/// `smtp_sasl_type`): the built-in client (PLAIN, LOGIN, CRAM-MD5)
/// answers to `cyrus`, the default type name, as Debian's Postfix lists
/// it; no other type is offered.
pub const SASL_CLIENT_TYPES: &[&str] = &["cyrus"];

/// The output of `-l`, `-m` and `-a`: one supported name a line.
fn supported_list(opts: &Options) -> Option<String> {
    let names: &[&str] = if opts.has(SHOW_LOCKS) {
        LOCK_METHODS
    } else if opts.has(SHOW_MAPS) {
        maps::registry::SUPPORTED_TYPES
    } else if opts.has(SHOW_SASL_SERV) {
        SASL_SERVER_TYPES
    } else if opts.has(SHOW_SASL_CLNT) {
        SASL_CLIENT_TYPES
    } else {
        return None;
    };
    Some(names.iter().map(|n| format!("{n}\n")).collect())
}

/// Write `text` to `out`. Errors: a write error (e.g. a closed pipe).
pub(crate) fn write_out(out: &mut dyn Write, text: &str) -> Result<(), Stop> {
    out.write_all(text.as_bytes())
        .map_err(|e| Stop::Fatal(format!("write error: {}", strerror(&e))))
}
