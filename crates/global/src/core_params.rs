//! NAME
//!   core_params - the checks every program makes of the core parameters
//!
//! SYNOPSIS
//!   `core_params::report_or_exit(&config);` right after main.cf is read
//!   and the log is open.
//!
//! DESCRIPTION
//!   Postfix checks a few parameters in every program, before it does
//!   anything else, and refuses to run when they are wrong. Postern does
//!   the same in the postfix command, master and every daemon:
//!
//!   - `myhostname` and `mydomain` must be valid host names (RFC 1035
//!     syntax as Postfix's valid_hostname: labels of letters, digits,
//!     `-` and `_`, no `-` at either end of a label, no empty label, at
//!     most 63 characters a label and 255 in all, not all numeric);
//!   - `myorigin` must be one value. Debian's Postfix reads `myorigin`
//!     from a file when the value is an absolute path (Debian's stock
//!     `myorigin = /etc/mailname`): the first line, without surrounding
//!     white space, is the value; a missing or empty file is fatal.
//!     [`crate::Config`] does the reading when it loads main.cf (before a
//!     daemon chroots), see [`read_origin_file`].
//!
//! DIAGNOSTICS
//!   Postfix's texts: `warning: valid_hostname: invalid character
//!   32(decimal): bad host name` (returned in [`Checked::warnings`]) and
//!   the fatal `file /etc/postfix/main.cf: parameter myhostname: bad
//!   parameter value: bad host name`; `myorigin parameter setting must
//!   not contain multiple values: a b`; `myorigin file /etc/mailname is
//!   empty`; `/etc/mailname: cannot open file: No such file or directory`.
//!
//! SEE ALSO
//!   postconf(5) `myhostname`, `mydomain`, `myorigin`; Debian's
//!   README.Debian and /etc/mailname.
use crate::Config;
use std::path::Path;

/// The longest valid host name (RFC 1035 "255 octets or less").
const MAX_HOSTNAME: usize = 255;
/// The longest valid label.
const MAX_LABEL: usize = 63;

/// Whether `name` is a syntactically valid host name. `Err` carries
/// Postfix's `valid_hostname: ...` reason (a warning text).
pub fn valid_hostname(name: &str) -> Result<(), String> {
    let gripe = |why: String| Err(format!("valid_hostname: {why}"));
    if name.is_empty() {
        return gripe("empty hostname".into());
    }
    if name.len() > MAX_HOSTNAME {
        return gripe(format!("bad length {} for {name}...", name.len()));
    }
    let mut non_numeric = false;
    for label in name.split('.') {
        if label.is_empty() {
            return gripe(format!("misplaced delimiter: {name}"));
        }
        if label.len() > MAX_LABEL {
            return gripe(format!(
                "label length {} > {MAX_LABEL}: {name}",
                label.len()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return gripe(format!("misplaced hyphen: {name}"));
        }
        for c in label.chars() {
            if c.is_ascii_alphabetic() || c == '_' || c == '-' {
                non_numeric = true;
            } else if !c.is_ascii_digit() {
                let code = u32::from(c);
                return gripe(format!("invalid character {code}(decimal): {name}"));
            }
        }
    }
    if !non_numeric {
        return gripe(format!("numeric hostname: {name}"));
    }
    Ok(())
}

/// The value of a `myorigin` file (Debian): its first line without
/// surrounding white space.
///
/// Errors: the file cannot be read (`PATH: cannot open file: REASON`)
/// or its first line is empty (`myorigin file PATH is empty`).
pub fn read_origin_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{}: cannot open file: {}",
            path.display(),
            util::strings::strip_os_error(&e.to_string())
        )
    })?;
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(format!("myorigin file {} is empty", path.display()));
    }
    Ok(first.to_string())
}

/// Warnings and, when the configuration is unusable, the fatal reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// `warning:` lines to report before the fatal one.
    pub warnings: Vec<String>,
    /// The fatal error, if any.
    pub fatal: Option<String>,
}

/// Check `myhostname`, `mydomain` and `myorigin` of `cfg` (see
/// DESCRIPTION). Returns what to report; the caller logs the warnings
/// and exits on `fatal`, as Postfix's programs do.
pub fn check(cfg: &Config) -> Checked {
    let mut out = Checked::default();
    let file = cfg.config_dir().join("main.cf");
    for name in ["myhostname", "mydomain"] {
        let value = match cfg.get(name) {
            Ok(v) => v,
            Err(e) => {
                out.fatal = Some(e.to_string());
                return out;
            }
        };
        if let Err(why) = valid_hostname(&value) {
            out.warnings.push(why);
            out.fatal = Some(format!(
                "file {}: parameter {name}: bad parameter value: {value}",
                file.display()
            ));
            return out;
        }
    }
    if let Some(Err(e)) = cfg.origin_file() {
        out.fatal = Some(e.clone());
        return out;
    }
    match cfg.get("myorigin") {
        Ok(v) if v.split([' ', '\t', ',']).filter(|w| !w.is_empty()).count() > 1 => {
            out.fatal = Some(format!(
                "myorigin parameter setting must not contain multiple values: {v}"
            ));
        }
        Ok(_) => {}
        Err(e) => out.fatal = Some(e.to_string()),
    }
    out
}

/// What every program reports once main.cf is read: main.cf's parser
/// warnings (`overriding earlier entry`, ...) and [`check`] — the
/// warnings with `msg_warn!`, the fatal error with `msg_fatal!` (exit
/// status 1).
pub fn report_or_exit(cfg: &Config) {
    for w in &cfg.main_cf().warnings {
        util::msg_warn!("{w}");
    }
    let c = check(cfg);
    for w in &c.warnings {
        util::msg_warn!("{w}");
    }
    if let Some(f) = c.fatal {
        util::msg_fatal!("{f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_as_postfix_judges_them() {
        assert!(valid_hostname("mx.example.com").is_ok());
        assert!(valid_hostname("localhost").is_ok());
        assert!(valid_hostname("x_y.example").is_ok());
        assert_eq!(
            valid_hostname("bad host name").unwrap_err(),
            "valid_hostname: invalid character 32(decimal): bad host name"
        );
        assert_eq!(
            valid_hostname("-bad").unwrap_err(),
            "valid_hostname: misplaced hyphen: -bad"
        );
        assert_eq!(
            valid_hostname("a..b").unwrap_err(),
            "valid_hostname: misplaced delimiter: a..b"
        );
        assert_eq!(
            valid_hostname("1.2.3.4").unwrap_err(),
            "valid_hostname: numeric hostname: 1.2.3.4"
        );
        assert!(valid_hostname(&"a".repeat(64)).is_err());
        assert!(valid_hostname("").is_err());
    }

    fn cfg(dir: &Path, text: &str) -> Config {
        Config::from_text(dir, text).unwrap()
    }

    #[test]
    fn bad_myhostname_is_fatal_with_the_file() {
        let c = check(&cfg(Path::new("/cfg"), "myhostname = bad host name\n"));
        assert_eq!(
            c.fatal.as_deref(),
            Some("file /cfg/main.cf: parameter myhostname: bad parameter value: bad host name")
        );
        assert_eq!(c.warnings.len(), 1);
        let c = check(&cfg(
            Path::new("/cfg"),
            "myhostname = a.example\nmydomain = 1.2.3.4\n",
        ));
        assert!(c
            .fatal
            .unwrap()
            .contains("parameter mydomain: bad parameter value"));
        let c = check(&cfg(
            Path::new("/cfg"),
            "myhostname = a.example\nmyorigin = a b\n",
        ));
        assert_eq!(
            c.fatal.as_deref(),
            Some("myorigin parameter setting must not contain multiple values: a b")
        );
        assert_eq!(
            check(&cfg(Path::new("/cfg"), "myhostname = a.example\n")),
            Checked::default()
        );
    }

    #[test]
    fn myorigin_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mailname");
        std::fs::write(&f, "  origin.example  \nsecond\n").unwrap();
        let text = format!("myhostname = a.example\nmyorigin = {}\n", f.display());
        let c = cfg(dir.path(), &text);
        assert_eq!(c.get("myorigin").unwrap(), "origin.example");
        assert_eq!(check(&c), Checked::default());
        std::fs::write(&f, "\n").unwrap();
        let c = cfg(dir.path(), &text);
        assert_eq!(
            check(&c).fatal.unwrap(),
            format!("myorigin file {} is empty", f.display())
        );
        std::fs::remove_file(&f).unwrap();
        let c = cfg(dir.path(), &text);
        assert_eq!(
            check(&c).fatal.unwrap(),
            format!(
                "{}: cannot open file: No such file or directory",
                f.display()
            )
        );
        // An override from master.cf or the command line is read too.
        std::fs::write(&f, "over.example\n").unwrap();
        let mut c = cfg(dir.path(), "myhostname = a.example\n");
        c.set_override("myorigin", &f.display().to_string());
        assert_eq!(c.get("myorigin").unwrap(), "over.example");
    }
}
