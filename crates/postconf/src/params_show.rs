//! NAME
//!   params_show - which main.cf parameters postconf knows, and their values
//!
//! DESCRIPTION
//!   A [`Params`] holds the three classes of names that postconf(1)
//!   knows (option `-C`):
//!
//!   - builtin: every Postfix 3.7 parameter in the registry, with the
//!     host-dependent ones;
//!   - service: the per-transport parameters of the delivery services in
//!     master.cf (`relay_destination_concurrency_limit`, ...);
//!   - user: names set in main.cf that are used: referenced as `$name` by
//!     a main.cf value or a master.cf `-o` value, or listed in
//!     `smtpd_restriction_classes`. (Not with `-d`.)
//!
//!   Values are the raw ones (override, then main.cf, then default); with
//!   `-d` only defaults; with `-x` they are expanded, and each undefined
//!   `$name` met gives one warning. Names are sorted bytewise, as Postfix
//!   sorts them.
//!
//!   [`Params::unused`] lists the warnings for main.cf settings, `-o`
//!   overrides and master.cf `-o` options that nothing uses.
use crate::master_show::Entry;
use global::params;
use global::Config;
use std::collections::{BTreeMap, BTreeSet};

/// Parameters whose values postconf -x leaves unexpanded and whose
/// `$name`s are neither warned about nor count as references
/// ([`global::raw_params`]).
pub use global::raw_params::RAW_PARAMS;

/// Parameters that main.cf cannot set: a setting is ignored with a
/// `read-only parameter assignment` warning.
pub const READ_ONLY: &[&str] = &["process_id", "process_name", "service_name"];

/// The class of a known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// In the registry (or host-dependent).
    Builtin,
    /// A per-transport parameter of a master.cf service.
    Service,
    /// Set in main.cf and referenced.
    User,
}

/// The parameters known to one postconf run.
#[derive(Debug)]
pub struct Params {
    /// The configuration (main.cf and `-o` overrides; empty with `-d`).
    pub cfg: Config,
    /// Known names and their class.
    pub names: BTreeMap<String, Class>,
    /// master.cf entries (empty when master.cf is missing).
    pub entries: Vec<Entry>,
    /// `(service, command)` pairs of master.cf.
    pub services: Vec<(String, String)>,
    /// Names referenced anywhere (`$name`, restriction classes).
    referenced: BTreeSet<String>,
}

impl Params {
    /// Collect the known names for `cfg` and the master.cf `entries`.
    /// `with_user` is false for `-d`.
    pub fn new(cfg: Config, entries: Vec<Entry>, with_user: bool) -> Params {
        let services: Vec<(String, String)> = entries
            .iter()
            .map(|e| {
                (
                    e.service().to_string(),
                    e.argv[crate::master_show::CMD].clone(),
                )
            })
            .collect();
        let mut names = BTreeMap::new();
        for n in params::table().keys() {
            names.insert(n.to_string(), Class::Builtin);
        }
        for n in params::HOST_DEPENDENT {
            names.insert(n.to_string(), Class::Builtin);
        }
        for (svc, cmd) in &services {
            for (n, _) in params::transport_params(svc, cmd) {
                names.entry(n).or_insert(Class::Service);
            }
            // Registry names that are also per-transport names of a
            // service (local_destination_concurrency_limit) are in the
            // service class, as Postfix shows with -C.
            if params::DELIVERY_AGENTS.contains(&cmd.as_str()) {
                for (suffix, _) in params::TRANSPORT_SUFFIXES {
                    if let Some(c) = names.get_mut(&format!("{svc}_{suffix}")) {
                        *c = Class::Service;
                    }
                }
            }
        }
        let mut referenced = BTreeSet::new();
        let expanded = |n: &str| !global::raw_params::is_raw(n);
        for s in cfg.main_cf().settings.iter().filter(|s| expanded(&s.name)) {
            referenced.extend(global::expand::references(&s.value));
        }
        for (_, v) in cfg.overrides().iter().filter(|(n, _)| expanded(n)) {
            referenced.extend(global::expand::references(v));
        }
        for e in &entries {
            for (_, v) in e.params().into_iter().filter(|(n, _)| expanded(n)) {
                referenced.extend(global::expand::references(&v));
            }
        }
        if let Ok(classes) = cfg.get_list("smtpd_restriction_classes") {
            referenced.extend(classes);
        }
        if with_user {
            let defined = cfg
                .main_cf()
                .settings
                .iter()
                .map(|s| s.name.clone())
                .chain(cfg.overrides().keys().cloned());
            for n in defined {
                if referenced.contains(&n) {
                    names.entry(n).or_insert(Class::User);
                }
            }
        }
        Params {
            cfg,
            names,
            entries,
            services,
            referenced,
        }
    }

    /// The class of `name`, `None` when postconf does not know it.
    pub fn class(&self, name: &str) -> Option<Class> {
        self.names.get(name).copied()
    }

    /// The unexpanded value of `name` (`defaults`: ignore main.cf).
    pub fn raw(&self, name: &str, defaults: bool) -> String {
        let v = if defaults || READ_ONLY.contains(&name) {
            self.cfg.default_raw(name)
        } else {
            self.cfg.raw(name)
        };
        v.unwrap_or_default()
    }

    /// Whether main.cf (or `-o`, or `-c`/`MAIL_CONFIG` for
    /// `config_directory`) sets `name` explicitly (`postconf -n`).
    pub fn is_explicit(&self, name: &str, dir_given: bool) -> bool {
        if READ_ONLY.contains(&name) {
            return false;
        }
        self.cfg.explicit(name).is_some()
            || self.cfg.overrides().contains_key(name)
            || (name == "config_directory" && dir_given)
    }

    /// Expand `value` (`postconf -x`); undefined names expand to nothing.
    ///
    /// Errors: a reference loop.
    pub fn expand(&self, value: &str) -> Result<String, String> {
        self.cfg
            .expand_text(value)
            .map(|e| e.value)
            .map_err(|e| e.to_string())
    }

    /// Warnings for read-only parameters set in main.cf, then for `$name` references in main.cf values (and `-o`
    /// overrides) to names that are neither known nor set:
    /// `DIR/main.cf: undefined parameter: name`, each name once.
    pub fn undefined(&self) -> Vec<String> {
        let dir = self.cfg.config_dir().display().to_string();
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for s in self
            .cfg
            .main_cf()
            .settings
            .iter()
            .filter(|s| READ_ONLY.contains(&s.name.as_str()))
        {
            out.push(format!(
                "{dir}/main.cf: read-only parameter assignment: {}={}",
                s.name, s.value
            ));
        }
        let values = self
            .cfg
            .main_cf()
            .settings
            .iter()
            .map(|s| (&s.name, &s.value))
            .chain(self.cfg.overrides().iter())
            .filter(|(n, _)| !global::raw_params::is_raw(n))
            .map(|(_, v)| v);
        for v in values {
            for r in global::expand::references(v) {
                if self.names.contains_key(&r)
                    || self.cfg.explicit(&r).is_some()
                    || self.cfg.overrides().contains_key(&r)
                    || !seen.insert(r.clone())
                {
                    continue;
                }
                out.push(format!("{dir}/main.cf: undefined parameter: {r}"));
            }
        }
        out
    }

    /// Warnings for settings that nothing uses:
    /// `DIR/main.cf: unused parameter: foo=bar` for main.cf and `-o`,
    /// `DIR/master.cf: unused parameter: foo=bar` for master.cf options.
    pub fn unused(&self) -> Vec<String> {
        let dir = self.cfg.config_dir().display().to_string();
        let used = |n: &str| self.names.contains_key(n) || self.referenced.contains(n);
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let main = &self.cfg.main_cf().settings;
        let last: BTreeMap<&str, &str> = main
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_str()))
            .collect();
        for s in main {
            if !used(&s.name) && seen.insert(s.name.clone()) {
                out.push(format!(
                    "{dir}/main.cf: unused parameter: {}={}",
                    s.name,
                    last[s.name.as_str()]
                ));
            }
        }
        for (n, v) in self.cfg.overrides() {
            if !used(n) && seen.insert(n.clone()) {
                out.push(format!("{dir}/main.cf: unused parameter: {n}={v}"));
            }
        }
        for e in &self.entries {
            for (n, v) in e.params() {
                if !used(&n) {
                    out.push(format!("{dir}/master.cf: unused parameter: {n}={v}"));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn params(main: &str, master: &[&str], user: bool) -> Params {
        let cfg = Config::from_text(Path::new("/cfg"), main).unwrap();
        let entries = master.iter().map(|l| Entry::parse(l).unwrap()).collect();
        Params::new(cfg, entries, user)
    }

    #[test]
    fn classes_of_names() {
        let p = params(
            "foo = bar\nmy_class = permit\nsmtpd_restriction_classes = my_class\nref = 1\nsmtpd_banner = $ref\n",
            &["relay unix - - n - - smtp", "smtp inet n - n - - smtpd"],
            true,
        );
        assert_eq!(p.class("mail_name"), Some(Class::Builtin));
        assert_eq!(p.class("myhostname"), Some(Class::Builtin));
        assert_eq!(
            p.class("relay_destination_concurrency_limit"),
            Some(Class::Service)
        );
        assert_eq!(
            p.class("local_destination_recipient_limit"),
            Some(Class::Builtin)
        );
        let p2 = params("", &["local unix - n n - - local"], true);
        assert_eq!(
            p2.class("local_destination_recipient_limit"),
            Some(Class::Service)
        );
        assert_eq!(p.class("smtpd_destination_concurrency_limit"), None);
        assert_eq!(p.class("my_class"), Some(Class::User));
        assert_eq!(p.class("ref"), Some(Class::User));
        assert_eq!(p.class("foo"), None);
        assert_eq!(p.unused(), vec!["/cfg/main.cf: unused parameter: foo=bar"]);
        let p = params("ref = 1\nsmtpd_banner = $ref\n", &[], false);
        assert_eq!(p.class("ref"), None);
    }

    #[test]
    fn master_options_count_as_references() {
        let p = params(
            "mua_restrictions = permit\n",
            &["submission inet n - n - - smtpd -o smtpd_client_restrictions=$mua_restrictions -o junk=1"],
            true,
        );
        assert_eq!(p.class("mua_restrictions"), Some(Class::User));
        assert_eq!(p.unused(), vec!["/cfg/master.cf: unused parameter: junk=1"]);
    }

    #[test]
    fn explicit_and_values() {
        let mut cfg = Config::from_text(Path::new("/cfg"), "relayhost = [a]\n").unwrap();
        cfg.set_override("mail_name", "Foo");
        let p = Params::new(cfg, Vec::new(), true);
        assert!(p.is_explicit("relayhost", false));
        assert!(p.is_explicit("mail_name", false));
        assert!(!p.is_explicit("config_directory", false));
        assert!(p.is_explicit("config_directory", true));
        assert_eq!(p.raw("relayhost", false), "[a]");
        assert_eq!(p.raw("relayhost", true), "");
        assert_eq!(
            p.expand("$mail_name ${nosuch:x} $nosuch").unwrap(),
            "Foo x "
        );
        let p = params(
            "a = $nosuch ${b?x} ${c:y} $nosuch\nb = 1\nsmtpd_banner = $a\n",
            &[],
            true,
        );
        assert_eq!(
            p.undefined(),
            vec![
                "/cfg/main.cf: undefined parameter: nosuch",
                "/cfg/main.cf: undefined parameter: c"
            ]
        );
        // Raw parameters: no warning, no reference (Debian's postconf 3.7).
        let p = params(
            "mailbox_command = procmail -a \"$EXTENSION\" $foo\nfoo = 1\n",
            &[],
            true,
        );
        assert!(p.undefined().is_empty(), "{:?}", p.undefined());
        assert_eq!(p.unused(), vec!["/cfg/main.cf: unused parameter: foo=1"]);
    }
}
