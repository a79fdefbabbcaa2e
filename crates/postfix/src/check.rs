//! NAME
//!   check - `postfix check`: validate an instance before it runs
//!
//! DESCRIPTION
//!   Two passes, as Postfix's postfix-script has:
//!
//!   - [`preflight`]: the command, daemon and configuration directories
//!     exist, and so does `$daemon_directory/master`.
//!   - [`fatal_checks`]: `mail_owner` and
//!     `setgid_group` are valid, every main.cf value expands (no loops),
//!     `inet_interfaces` names local addresses, and every boolean,
//!     numerical or time setting in main.cf, and every typed parameter
//!     Postern reads, has a valid value,
//!     master.cf exists and parses, and the missing queue and data
//!     directories are created. Any failure ends the command with a
//!     `fatal:` message and exit status 1.
//!   - [`warnings`]: unused parameters,
//!     parameters Postern does not implement yet, Berkeley DB tables,
//!     master.cf services whose program is missing, and wrong owners or
//!     modes of the instance's directories. They go to standard error
//!     and the log.
//!
//! DIAGNOSTICS
//!   Configuration errors in the voice of the postfix command:
//!   `postfix: fatal: /etc/postfix/master.cf, line 3: bad transport type:
//!   x`. Directory problems in postfix-script's voice:
//!   `postfix/postfix-script: warning: not owned by root: PATH`.
use crate::instance::{Ids, Instance};
use crate::{layout, say};
use global::params::{self, Kind};

/// What the postfix command checks before any command, as Postfix's
/// does: main.cf's parser warnings (`overriding earlier entry`), the
/// core parameters ([`global::core_params`]: a bad
/// `myhostname` is fatal), then `queue_directory` must exist and becomes
/// the working directory (`fatal: chdir(/x): No such file or
/// directory`).
pub fn core(inst: &Instance) {
    for w in &inst.cfg.main_cf().warnings {
        util::msg_warn!("{w}");
    }
    let c = global::core_params::check(&inst.cfg);
    for w in &c.warnings {
        util::msg_warn!("{w}");
    }
    if let Some(f) = c.fatal {
        util::msg_fatal!("{f}");
    }
    if let Err(e) = std::env::set_current_dir(&inst.queue_dir) {
        util::msg_fatal!(
            "chdir({}): {}",
            inst.queue_dir.display(),
            crate::instance::io_reason(&e)
        );
    }
}

/// What every command needs (postfix-script's prologue): the command,
/// daemon and configuration directories and the master program exist.
/// Exits with a fatal message otherwise.
pub fn preflight(inst: &Instance) {
    for (what, dir) in [
        ("command", &inst.command_dir),
        ("daemon", &inst.daemon_dir),
        ("configuration", &inst.config_dir),
    ] {
        if !dir.is_dir() {
            say::fatal(&format!("no Postfix {what} directory {}!", dir.display()));
        }
    }
    if !inst.master_program().is_file() {
        say::fatal(&format!(
            "no Postfix master program {}!",
            inst.master_program().display()
        ));
    }
}

/// Run every check that must pass before master may start; exit with a
/// fatal message on the first failure. Returns the owner IDs.
pub fn fatal_checks(inst: &Instance) -> Ids {
    let ids = inst.ids().unwrap_or_else(|e| util::msg_fatal!("{e}"));
    values_or_fatal(inst);
    match layout::create_missing(inst, &ids) {
        Ok(made) => {
            for p in made {
                util::msg_verbose!("created {}", p.display());
            }
        }
        Err(e) => {
            util::msg_error!("{e}");
            say::fatal("unable to create missing queue directories");
        }
    }
    master_cf_or_fatal(inst);
    ids
}

/// The configuration checks of [`fatal_checks`] without creating
/// anything (`postfix reload`): main.cf values and master.cf. Exits with
/// a fatal message naming file and line on the first problem.
pub fn config_checks(inst: &Instance) {
    values_or_fatal(inst);
    master_cf_or_fatal(inst);
}

fn values_or_fatal(inst: &Instance) {
    if let Err(e) = validate_values(inst) {
        util::msg_fatal!("{e}");
    }
}

fn master_cf_or_fatal(inst: &Instance) {
    if !inst.master_cf_path().is_file() {
        say::fatal(&format!(
            "no {} file found",
            inst.master_cf_path().display()
        ));
    }
    if let Err(e) = inst.master_cf() {
        util::msg_fatal!("{e}");
    }
}

/// Expand every main.cf setting and check the type of every parameter
/// Postern reads. Errors: the first problem, with file and line.
pub fn validate_values(inst: &Instance) -> Result<(), String> {
    for s in &inst.cfg.main_cf().settings {
        inst.cfg.get(&s.name).map_err(|e| e.to_string())?;
    }
    inst.cfg.own_networks().map_err(|e| e.to_string())?;
    // Every main.cf setting whose type is known (so that a daemon does
    // not die on it later), then every parameter Postern reads.
    let settings = inst.cfg.main_cf().settings.iter().map(|s| s.name.as_str());
    for name in settings.chain(params::IMPLEMENTED.iter().map(|(n, _)| *n)) {
        let r = match params::kind_of(name) {
            Kind::Bool => inst.cfg.get_bool(name).map(drop),
            Kind::Int => inst.cfg.get_int(name).map(drop),
            Kind::Time(_) => inst.cfg.get_time(name).map(drop),
            Kind::Str => Ok(()),
        };
        r.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The configuration warnings: unused parameters, parameters that
/// Postern does not implement yet, Berkeley DB tables and missing
/// master.cf programs (main.cf's parser warnings come from [`core`]).
pub fn config_warnings(inst: &Instance) -> Vec<String> {
    let mut out = Vec::new();
    let (services, refs) = match inst.master_cf() {
        Ok(m) => (m.services(), m.references()),
        Err(_) => (Vec::new(), Vec::new()),
    };
    out.extend(inst.cfg.unused(&services, &refs));
    out.extend(inst.cfg.unimplemented());
    out.extend(berkeley_db_tables(inst));
    if let Ok(m) = inst.master_cf() {
        let expand = |t: &str| {
            inst.cfg
                .expand_text(t)
                .map(|x| x.value)
                .unwrap_or_else(|_| t.to_string())
        };
        let missing = m.missing_programs(&inst.daemon_dir, &expand, &|p| p.is_file());
        out.extend(missing.into_iter().map(|(_, w)| w));
    }
    out
}

/// Warnings for Berkeley DB tables (`hash:`, `btree:`, ...), which
/// Postern cannot read (Debian's stock `alias_maps = hash:/etc/aliases`
/// would defer every local delivery), in main.cf settings and master.cf
/// `-o` values, with the lookup tables' own text: `/etc/postfix/main.cf,
/// line 40: parameter alias_maps: unsupported dictionary type: hash:
/// Berkeley DB tables are not supported; rebuild the table with
/// "postalias lmdb:/etc/aliases" ...`. The TLS session caches
/// (`*_tls_session_cache_database`) are left out: tlsmgr keeps those in
/// LMDB whatever type they name.
pub fn berkeley_db_tables(inst: &Instance) -> Vec<String> {
    let mut found: Vec<(String, String, String)> = Vec::new();
    let main = inst.cfg.main_cf();
    for s in &main.settings {
        let at = format!("{}, line {}", main.path.display(), s.line);
        found.extend(bdb_tables(&s.value).map(|t| (at.clone(), s.name.clone(), t)));
    }
    if let Ok(m) = inst.master_cf() {
        for e in &m.entries {
            let at = format!("{}, line {}", m.path.display(), e.line);
            for (name, value) in e.overrides() {
                found.extend(bdb_tables(&value).map(|t| (at.clone(), name.clone(), t)));
            }
        }
    }
    found
        .into_iter()
        .filter(|(_, name, _)| !name.ends_with("_tls_session_cache_database"))
        .map(|(at, name, table)| {
            let (kind, path) = table.split_once(':').unwrap_or((&table, ""));
            let builder = if name.starts_with("alias_") {
                "postalias"
            } else {
                "postmap"
            };
            let e = maps::DictError::BerkeleyDb(kind.to_string(), path.to_string(), builder);
            format!("{at}: parameter {name}: {e}")
        })
        .collect()
}

/// The `hash:`/`btree:` tables named in a parameter value.
fn bdb_tables(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split([' ', '\t', ','])
        .map(|w| w.trim_matches(|c| c == '{' || c == '}'))
        .filter(|w| {
            w.split_once(':')
                .is_some_and(|(t, _)| maps::registry::BERKELEY_TYPES.contains(&t))
        })
        .map(String::from)
}

/// Report every warning: configuration ones as `postfix: warning:`,
/// directory ones as `postfix/postfix-script: warning:`.
pub fn warnings(inst: &Instance, ids: &Ids) {
    for w in config_warnings(inst) {
        util::msg_warn!("{w}");
    }
    for w in layout::check_warnings(inst, ids) {
        say::warn(&w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(main: &str, master: &str) -> (tempfile::TempDir, Instance) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.cf"), main).unwrap();
        std::fs::write(dir.path().join("master.cf"), master).unwrap();
        let inst = Instance::load(Some(dir.path())).unwrap();
        (dir, inst)
    }

    #[test]
    fn bad_typed_values_are_found() {
        let (_d, inst) = load("max_use = many\n", "");
        let e = validate_values(&inst).unwrap_err();
        assert!(
            e.ends_with("main.cf, line 1: bad numerical configuration: max_use = many"),
            "{e}"
        );
        let (_d, inst) = load("myhostname = x.example\nappend_dot_mydomain = maybe\n", "");
        let e = validate_values(&inst).unwrap_err();
        assert!(
            e.ends_with("main.cf, line 2: bad boolean configuration: append_dot_mydomain = maybe"),
            "{e}"
        );
        let (_d, inst) = load("inet_interfaces = ipv4\n", "");
        assert_eq!(
            validate_values(&inst).unwrap_err(),
            "config variable inet_interfaces: host not found: ipv4"
        );
        let (_d, inst) = load("a = $b\nb = $a\n", "");
        assert!(validate_values(&inst).is_err());
        let (_d, inst) = load("max_use = 10\ncompatibility_level = 3.6\n", "");
        assert!(
            validate_values(&inst).is_ok(),
            "{:?}",
            validate_values(&inst)
        );
    }

    #[test]
    fn debian_main_cf_is_valid() {
        let Ok(text) = std::fs::read_to_string("/etc/postfix/main.cf") else {
            return;
        };
        let (_d, inst) = load(&text, "");
        assert_eq!(validate_values(&inst), Ok(()));
    }

    #[test]
    fn berkeley_db_tables_and_missing_programs_are_warned() {
        let (d, inst) = load(
            "alias_maps = hash:/etc/aliases, lmdb:/etc/x\nfoo_maps = $alias_maps\n\
             smtpd_tls_session_cache_database = btree:/x/scache\n",
            "127.0.0.1:2525 inet n - n - - nosuchprogram -o a_maps=btree:/b\n",
        );
        let w = config_warnings(&inst);
        let d = d.path().display();
        assert!(
            w.contains(&format!(
                "{d}/main.cf, line 1: parameter alias_maps: unsupported dictionary type: hash: \
             Berkeley DB tables are not supported; rebuild the table with \
             \"postalias lmdb:/etc/aliases\" (or set \"default_database_type = lmdb\") \
             and use lmdb:/etc/aliases"
            )),
            "{w:?}"
        );
        assert!(
            w.iter().any(|x| x.starts_with(&format!(
                "{d}/master.cf, line 1: parameter a_maps: unsupported dictionary type: btree"
            ))),
            "{w:?}"
        );
        assert_eq!(
            w.iter().filter(|x| x.contains("Berkeley")).count(),
            2,
            "{w:?}"
        );
        assert!(
            w.iter().any(|x| x.starts_with(&format!(
                "{d}/master.cf, line 1: service \"127.0.0.1:2525\" (nosuchprogram): program "
            )) && x
                .ends_with("not found; service disabled; nothing will listen on 127.0.0.1:2525")),
            "{w:?}"
        );
    }

    #[test]
    fn unused_parameters_are_warned() {
        let (_d, inst) = load(
            "foo = bar\nrelay_destination_concurrency_limit = 3\n",
            "relay unix - - n - - smtp\n",
        );
        let w: Vec<String> = config_warnings(&inst)
            .into_iter()
            .filter(|w| w.contains("unused"))
            .collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].ends_with("main.cf, line 1: unused parameter: foo=bar"),
            "{w:?}"
        );
    }
}
