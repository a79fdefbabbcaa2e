//! NAME
//!   config - the effective configuration of one program
//!
//! DESCRIPTION
//!   A [`Config`] joins, in order of precedence: `-o name=value` overrides
//!   (from master.cf or the command line), main.cf settings, and defaults
//!   (Postfix's compiled-in table, host-dependent values, and the
//!   per-transport parameters). Values are expanded on access
//!   ([`crate::expand`]). Typed getters follow postconf(5): booleans
//!   `yes`/`no`, integers, times with units, lists.
//!
//!   The configuration directory is the `-c` argument, else `MAIL_CONFIG`,
//!   else `/etc/postfix`; `config_directory` reports the one in use.
//!
//! DIAGNOSTICS
//!   [`ConfigError`] carries file and line where the bad value came from
//!   main.cf. [`Config::unused`] and [`Config::unimplemented`] return the
//!   warnings Postfix-style programs print at start.
use crate::expand::{self, ExpandError};
use crate::main_cf::{self, MainCf, Setting, SyntaxError};
use crate::params::{self, Kind};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The configuration directory used when neither `-c` nor `MAIL_CONFIG`
/// names one.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/postfix";

/// Configuration errors.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// main.cf (or master.cf) could not be parsed.
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
    /// A value could not be expanded (loop, unbalanced bracket).
    #[error("{origin}{name}: {source}")]
    Expand {
        /// `file, line N: ` or empty.
        origin: String,
        /// The parameter being expanded.
        name: String,
        /// What went wrong.
        source: ExpandError,
    },
    /// A value of the wrong type.
    #[error("{origin}bad {what} configuration: {name} = {value}")]
    BadValue {
        /// `file, line N: ` or empty.
        origin: String,
        /// `boolean`, `numerical` or `time`.
        what: &'static str,
        /// The parameter.
        name: String,
        /// The offending (expanded) value.
        value: String,
    },
    /// `inet_interfaces` names no usable local address
    /// ([`crate::host::own_networks`]); the text is Postfix's.
    #[error("{0}")]
    Interfaces(String),
}

/// Settings of parameters Postern does not implement that ask for what
/// Postern does anyway, so they deserve no "not implemented" warning:
/// `biff = no` (Debian's main.cf) turns off the comsat notification
/// that Postern never sends.
pub const ALREADY_SO: &[(&str, &str)] = &[("biff", "no")];

/// The effective configuration of one program.
#[derive(Debug, Clone)]
pub struct Config {
    config_dir: PathBuf,
    main: MainCf,
    overrides: BTreeMap<String, String>,
    host_defaults: BTreeMap<String, String>,
    /// A `myorigin` that names a file (Debian): the path and what
    /// reading it gave ([`crate::core_params::read_origin_file`]).
    origin_file: Option<(String, Result<String, String>)>,
}

impl Config {
    /// The configuration directory: `dir` if given, else `$MAIL_CONFIG`,
    /// else `/etc/postfix`.
    pub fn resolve_dir(dir: Option<&Path>) -> PathBuf {
        match dir {
            Some(d) => d.to_path_buf(),
            None => match std::env::var_os(crate::master_proto::CONFIG_ENV) {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => PathBuf::from(DEFAULT_CONFIG_DIR),
            },
        }
    }

    /// Load `main.cf` from the configuration directory (see
    /// [`Config::resolve_dir`]). A missing main.cf means all defaults.
    ///
    /// Errors: [`ConfigError::Syntax`] with file and line.
    pub fn load(dir: Option<&Path>) -> Result<Config, ConfigError> {
        let dir = Self::resolve_dir(dir);
        let main = main_cf::read(&dir.join("main.cf"))?;
        Ok(Self::from_main_cf(dir, main))
    }

    /// Build a configuration from an already parsed main.cf.
    pub fn from_main_cf(config_dir: PathBuf, main: MainCf) -> Config {
        let mut cfg = Config {
            config_dir,
            main,
            overrides: BTreeMap::new(),
            host_defaults: BTreeMap::new(),
            origin_file: None,
        };
        cfg.compute_host_defaults();
        cfg.read_origin_file();
        cfg
    }

    /// Debian's `myorigin = /etc/mailname`: an absolute path as the
    /// `myorigin` value names a file whose first line is the value. The
    /// file is read now, when the configuration is loaded (a daemon has
    /// not chrooted yet), and again when an override changes the path.
    fn read_origin_file(&mut self) {
        let value = match self.overrides.get("myorigin") {
            Some(v) => Some(v.clone()),
            None => self.main.get("myorigin").map(|s| s.value.clone()),
        };
        self.origin_file = value.filter(|v| v.starts_with('/')).map(|path| {
            let read = crate::core_params::read_origin_file(Path::new(&path));
            (path, read)
        });
    }

    /// What reading the `myorigin` file gave, when `myorigin` names one:
    /// the value, or the error text for a `fatal:` message.
    pub fn origin_file(&self) -> Option<&Result<String, String>> {
        self.origin_file.as_ref().map(|(_, r)| r)
    }

    /// Build a configuration from main.cf text (tests, `postconf` edits).
    pub fn from_text(config_dir: &Path, text: &str) -> Result<Config, ConfigError> {
        let main = main_cf::parse(text, &config_dir.join("main.cf"))?;
        Ok(Self::from_main_cf(config_dir.to_path_buf(), main))
    }

    fn compute_host_defaults(&mut self) {
        let mut h = BTreeMap::new();
        h.insert("myhostname".to_string(), crate::host::default_myhostname());
        h.insert("process_id".to_string(), std::process::id().to_string());
        let pname = std::env::args()
            .next()
            .and_then(|a| {
                Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "postfix".to_string());
        h.insert("process_name".to_string(), pname);
        self.host_defaults = h;
        // mydomain and mynetworks depend on other (possibly overridden)
        // parameters; they are computed on demand in default_raw().
    }

    /// The configuration directory in use.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// The parsed main.cf.
    pub fn main_cf(&self) -> &MainCf {
        &self.main
    }

    /// Apply a `-o name=value` override (master.cf or command line).
    pub fn set_override(&mut self, name: &str, value: &str) {
        self.overrides.insert(name.to_string(), value.to_string());
        if name == "myorigin" {
            self.read_origin_file();
        }
    }

    /// The overrides applied so far.
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The main.cf setting of `name`, if main.cf sets it.
    pub fn explicit(&self, name: &str) -> Option<&Setting> {
        self.main.get(name)
    }

    /// The unexpanded default of `name`: compiled-in, host-dependent or
    /// per-transport; `None` for names Postfix does not know.
    pub fn default_raw(&self, name: &str) -> Option<String> {
        if let Some(v) = self.host_defaults.get(name) {
            return Some(v.clone());
        }
        match name {
            "config_directory" => return Some(DEFAULT_CONFIG_DIR.to_string()),
            "mydomain" => {
                let host = self.get("myhostname").unwrap_or_default();
                return Some(crate::host::default_mydomain(&host));
            }
            "mynetworks" => {
                // A bad inet_interfaces trusts nothing; own_networks()
                // reports it (postfix check, master, postconf).
                let style = self
                    .get("mynetworks_style")
                    .unwrap_or_else(|_| "subnet".into());
                let protos = self.get("inet_protocols").unwrap_or_else(|_| "all".into());
                let nets = self.own_networks().unwrap_or_default();
                return Some(crate::host::default_mynetworks(&style, &nets, &protos));
            }
            _ => {}
        }
        if let Some(v) = params::table().get(name) {
            return Some((*v).to_string());
        }
        for (suffix, def) in params::TRANSPORT_SUFFIXES {
            if let Some(svc) = name.strip_suffix(suffix).and_then(|p| p.strip_suffix('_')) {
                if !svc.is_empty() {
                    return Some((*def).to_string());
                }
            }
        }
        if let Some(svc) = name.strip_suffix("_time_limit") {
            if !svc.is_empty() {
                return Some("$command_time_limit".to_string());
            }
        }
        None
    }

    /// The interface networks of the addresses in `inet_interfaces`
    /// (Postfix's own_inet_addr_list, which the default `mynetworks` is
    /// made of), filtered by `inet_protocols`.
    ///
    /// Errors: [`ConfigError::Interfaces`] when a name does not resolve
    /// or an address is not on a local interface; expansion errors.
    pub fn own_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        let list = self.get_list("inet_interfaces")?;
        let protos = self.get("inet_protocols")?;
        let nets = crate::host::interface_networks();
        crate::host::own_networks(&list, &nets, &protos, &crate::host::resolve_host)
            .map_err(ConfigError::Interfaces)
    }

    /// The unexpanded effective value of `name`: override, else main.cf,
    /// else default. `config_directory` is the directory in use; a
    /// `myorigin` that names a readable file is that file's first line
    /// (Debian, see [`crate::core_params`]).
    pub fn raw(&self, name: &str) -> Option<String> {
        if name == "myorigin" {
            if let Some((_, Ok(v))) = &self.origin_file {
                return Some(v.clone());
            }
        }
        if let Some(v) = self.overrides.get(name) {
            return Some(v.clone());
        }
        if let Some(s) = self.main.get(name) {
            return Some(s.value.clone());
        }
        if name == "config_directory" {
            return Some(self.config_dir.display().to_string());
        }
        self.default_raw(name)
    }

    fn origin(&self, name: &str) -> String {
        if self.overrides.contains_key(name) {
            return String::new();
        }
        match self.main.get(name) {
            Some(s) => format!("{}, line {}: ", self.main.path.display(), s.line),
            None => String::new(),
        }
    }

    /// Expand arbitrary text against this configuration.
    pub fn expand_text(&self, text: &str) -> Result<expand::Expanded, ExpandError> {
        expand::expand(text, &|n| self.raw(n))
    }

    /// The expanded value of `name`; an unknown name expands to "". A raw
    /// parameter ([`crate::raw_params`], e.g. `mailbox_command`) is
    /// returned as written.
    ///
    /// Errors: [`ConfigError::Expand`] for reference loops.
    pub fn get(&self, name: &str) -> Result<String, ConfigError> {
        let raw = self.raw(name).unwrap_or_default();
        if crate::raw_params::is_raw(name) {
            return Ok(raw);
        }
        self.expand_text(&raw)
            .map(|e| e.value)
            .map_err(|source| ConfigError::Expand {
                origin: self.origin(name),
                name: name.to_string(),
                source,
            })
    }

    /// A boolean parameter (`yes`/`no`).
    pub fn get_bool(&self, name: &str) -> Result<bool, ConfigError> {
        let v = self.get(name)?;
        util::strings::parse_bool(&v).ok_or_else(|| self.bad(name, "boolean", v))
    }

    /// An integer parameter.
    pub fn get_int(&self, name: &str) -> Result<i64, ConfigError> {
        let v = self.get(name)?;
        v.trim()
            .parse::<i64>()
            .map_err(|_| self.bad(name, "numerical", v))
    }

    /// A time parameter, in seconds. A bare number uses the unit of the
    /// parameter's default (postconf(5) "time units").
    pub fn get_time(&self, name: &str) -> Result<u64, ConfigError> {
        let v = self.get(name)?;
        let unit = match params::kind_of(name) {
            Kind::Time(u) => u,
            _ => 's',
        };
        util::strings::parse_time(&v, unit).ok_or_else(|| self.bad(name, "time", v))
    }

    /// A list parameter (comma and/or whitespace separated).
    pub fn get_list(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        Ok(util::strings::split_list(&self.get(name)?))
    }

    fn bad(&self, name: &str, what: &'static str, value: String) -> ConfigError {
        ConfigError::BadValue {
            origin: self.origin(name),
            what,
            name: name.to_string(),
            value,
        }
    }

    /// Every name Postfix knows: the static table, the host-dependent
    /// ones, and the per-transport parameters of `services`
    /// (`(service, command)` pairs from master.cf).
    pub fn known_names(services: &[(String, String)]) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = params::table().keys().map(|s| s.to_string()).collect();
        names.extend(params::HOST_DEPENDENT.iter().map(|s| s.to_string()));
        for (svc, cmd) in services {
            names.extend(
                params::transport_params(svc, cmd)
                    .into_iter()
                    .map(|(n, _)| n),
            );
        }
        names
    }

    /// Warnings for main.cf settings that nothing uses: unknown to Postfix,
    /// not a per-transport parameter of a master.cf service, not
    /// referenced as `$name` by another setting or by a master.cf `-o`
    /// value (`extra_refs`), and not a restriction class.
    /// Format: `/etc/postfix/main.cf, line 12: unused parameter: foo=bar`.
    pub fn unused(&self, services: &[(String, String)], extra_refs: &[String]) -> Vec<String> {
        let known = Self::known_names(services);
        let mut referenced: BTreeSet<String> = extra_refs.iter().cloned().collect();
        for s in &self.main.settings {
            if !crate::raw_params::is_raw(&s.name) {
                referenced.extend(expand::references(&s.value));
            }
        }
        for (n, v) in &self.overrides {
            if !crate::raw_params::is_raw(n) {
                referenced.extend(expand::references(v));
            }
        }
        if let Ok(classes) = self.get_list("smtpd_restriction_classes") {
            referenced.extend(classes);
        }
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for s in self.main.settings.iter().rev() {
            if !seen.insert(s.name.clone()) {
                continue;
            }
            if known.contains(&s.name) || referenced.contains(&s.name) {
                continue;
            }
            out.push(format!(
                "{}, line {}: unused parameter: {}={}",
                self.main.path.display(),
                s.line,
                s.name,
                s.value
            ));
        }
        out.reverse();
        out
    }

    /// Warnings for main.cf settings (and overrides) of Postfix parameters
    /// that Postern does not implement yet, when set to a value other than
    /// the default and other than what Postern does anyway ([`ALREADY_SO`],
    /// e.g. Debian's `biff = no`): `/etc/postfix/main.cf, line 7:
    /// parameter smtpd_milters: not implemented by Postern yet; the
    /// setting is ignored`.
    pub fn unimplemented(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for s in self.main.settings.iter().rev() {
            if !seen.insert(s.name.clone()) || crate::params_doc::is_implemented(&s.name) {
                continue;
            }
            let Some(def) = self.default_raw(&s.name) else {
                continue;
            };
            if def.split_whitespace().eq(s.value.split_whitespace())
                || ALREADY_SO
                    .iter()
                    .any(|(n, v)| *n == s.name && s.value.trim().eq_ignore_ascii_case(v))
            {
                continue;
            }
            out.push(format!(
                "{}, line {}: parameter {}: not implemented by Postern yet; the setting is ignored",
                self.main.path.display(),
                s.line,
                s.name
            ));
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::from_text(Path::new("/cfg"), text).unwrap()
    }

    #[test]
    fn precedence_is_override_main_default() {
        let mut c = cfg("mail_name = Main\n");
        assert_eq!(c.get("mail_name").unwrap(), "Main");
        assert_eq!(c.get("mail_owner").unwrap(), "postfix");
        c.set_override("mail_name", "Over");
        assert_eq!(c.get("mail_name").unwrap(), "Over");
    }

    #[test]
    fn defaults_expand() {
        let c = cfg("myhostname = mx.example.org\n");
        assert_eq!(
            c.get("smtpd_banner").unwrap(),
            "mx.example.org ESMTP Postfix"
        );
        assert_eq!(c.get("mydomain").unwrap(), "example.org");
        assert_eq!(c.get("myorigin").unwrap(), "mx.example.org");
        assert_eq!(c.get("config_directory").unwrap(), "/cfg");
    }

    #[test]
    fn overrides_can_reference_main_cf() {
        let mut c = cfg("mua_client_restrictions = permit_sasl_authenticated, reject\n");
        c.set_override("smtpd_client_restrictions", "$mua_client_restrictions");
        assert_eq!(
            c.get_list("smtpd_client_restrictions").unwrap(),
            vec!["permit_sasl_authenticated", "reject"]
        );
        assert!(c.unused(&[], &[]).is_empty());
    }

    #[test]
    fn typed_values() {
        let c =
            cfg("max_idle = 2m\nmax_use = 7\nsmtpd_use_tls = yes\nmaximal_queue_lifetime = 3\n");
        assert_eq!(c.get_time("max_idle").unwrap(), 120);
        assert_eq!(c.get_int("max_use").unwrap(), 7);
        assert!(c.get_bool("smtpd_use_tls").unwrap());
        assert_eq!(c.get_time("maximal_queue_lifetime").unwrap(), 3 * 86400);
        assert_eq!(c.get_time("service_throttle_time").unwrap(), 60);
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let c = cfg("a = 1\nmax_use = lots\n");
        assert_eq!(
            c.get_int("max_use").unwrap_err().to_string(),
            "/cfg/main.cf, line 2: bad numerical configuration: max_use = lots"
        );
        let c = cfg("loop1 = $loop2\nloop2 = $loop1\n");
        assert!(c
            .get("loop1")
            .unwrap_err()
            .to_string()
            .contains("unreasonable macro call nesting"));
    }

    #[test]
    fn transport_parameters_have_defaults() {
        let c = cfg("");
        assert_eq!(c.get("relay_destination_concurrency_limit").unwrap(), "20");
        assert_eq!(c.get("bsmtp_time_limit").unwrap(), "1000s");
    }

    #[test]
    fn unused_parameters_are_listed_with_lines() {
        let c = cfg("myhostname = a.example\nfoo = bar\nbaz = 1\nmy_list = x\nsmtpd_client_restrictions = $my_list\n");
        assert_eq!(
            c.unused(&[], &[]),
            vec![
                "/cfg/main.cf, line 2: unused parameter: foo=bar",
                "/cfg/main.cf, line 3: unused parameter: baz=1"
            ]
        );
        let services = vec![("relay".to_string(), "smtp".to_string())];
        let c = cfg("relay_destination_concurrency_limit = 5\n");
        assert!(c.unused(&services, &[]).is_empty());
        assert_eq!(c.unused(&[], &[]).len(), 1);
    }

    #[test]
    fn unimplemented_settings_warn_once() {
        let c =
            cfg("smtpd_milters = inet:localhost:1\nmail_owner = postfix\nmilter_protocol = 6\nbiff = no\n");
        let w = c.unimplemented();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("line 1: parameter smtpd_milters: not implemented"));
    }

    #[test]
    fn raw_parameters_are_not_expanded() {
        let c = cfg("mailbox_command = procmail -a \"$EXTENSION\" $foo\nfoo = 1\n");
        assert_eq!(
            c.get("mailbox_command").unwrap(),
            "procmail -a \"$EXTENSION\" $foo"
        );
        // A $name inside a raw value is no reference (Postfix's postconf).
        assert_eq!(
            c.unused(&[], &[]),
            vec!["/cfg/main.cf, line 2: unused parameter: foo=1"]
        );
    }
}
