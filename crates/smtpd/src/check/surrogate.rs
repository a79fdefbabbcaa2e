//! NAME
//!   surrogate - a stand-in for a lookup table that could not be opened
//!
//! SYNOPSIS
//!   let dict = surrogate::open("lmdb:/etc/postfix/access");
//!
//! DESCRIPTION
//!   smtpd opens its tables once, before the chroot. When one cannot be
//!   opened (a missing `.lmdb` file, a bad `regexp:` file, an unknown
//!   type), Postfix does not drop it silently: it logs an error at start
//!   and puts a surrogate in its place that fails every lookup, so each
//!   restriction that consults it answers with a temporary error instead
//!   of acting as if the table were empty (which could, for instance,
//!   accept mail for unknown users or relay for strangers).
//!
//!   [`open`] does the same: it returns the table, or a [`Surrogate`]
//!   after logging `error: <why>`. Every lookup in a surrogate logs, as
//!   Postfix's do, `warning: type:name is unavailable. <why>` and
//!   `warning: type:name lookup error for "key"`, and returns
//!   [`DictError::Io`] with a reason that starts with [`UNAVAILABLE`], so
//!   callers can tell that the warnings were already written.
//!
//!   What the restrictions answer then (checked against Postfix 3.7):
//!   `check_*_access` tables `451 4.3.5 <name>: Class rejected: Server
//!   configuration error`; `local_recipient_maps` and the other address
//!   tables, and the tables in `mynetworks` and the domain lists, `451
//!   4.3.0 <name>: Temporary lookup failure`.
//!
//! SEE ALSO
//!   access(5), postconf(5) `local_recipient_maps`.
use maps::{Dict, DictError, DictFlags};
use util::{msg_error, msg_warn};

/// How a surrogate's error reason starts.
pub const UNAVAILABLE: &str = "is unavailable";

/// A table that could not be opened: every lookup fails.
#[derive(Debug)]
pub struct Surrogate {
    name: String,
    why: String,
}

impl Surrogate {
    /// A surrogate for table `name` (as configured, `type:name`) that
    /// could not be opened because of `why`.
    pub fn new(name: &str, why: &str) -> Surrogate {
        Surrogate {
            name: name.to_string(),
            why: why.to_string(),
        }
    }
}

impl Dict for Surrogate {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_fixed(&self) -> bool {
        true
    }

    fn lookup(&self, key: &str) -> Result<Option<String>, DictError> {
        msg_warn!("{} {UNAVAILABLE}. {}", self.name, self.why);
        msg_warn!("{} lookup error for \"{key}\"", self.name);
        Err(DictError::Io {
            name: self.name.clone(),
            reason: format!("{UNAVAILABLE}. {}", self.why),
        })
    }
}

/// Open table `spec` (`type:name`); when that fails, log `error: why`
/// and return a [`Surrogate`].
pub fn open(spec: &str) -> Box<dyn Dict> {
    match maps::open(spec, DictFlags::default()) {
        Ok(d) => d,
        Err(e) => {
            let why = e.to_string();
            msg_error!("{why}");
            Box::new(Surrogate::new(spec, &why))
        }
    }
}

/// Whether `e` came from a [`Surrogate`] (its warnings are logged).
pub fn is_surrogate(e: &DictError) -> bool {
    matches!(e, DictError::Io { reason, .. } if reason.starts_with(UNAVAILABLE))
}

/// Log a lookup error of table list `title` (`mynetworks`,
/// `relay_domains`, ...) as Postfix does: `warning: title: table: table
/// lookup problem` (a surrogate has logged its own lines before).
pub fn warn_lookup(title: &str, e: &DictError) {
    let table = match e {
        DictError::Io { name, .. } => name.clone(),
        other => other.to_string(),
    };
    if !is_surrogate(e) {
        msg_warn!("{e}");
    }
    msg_warn!("{title}: {table}: table lookup problem");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_table_fails_every_lookup() {
        let d = open("lmdb:/nonexistent/postern-test-table");
        assert_eq!(d.name(), "lmdb:/nonexistent/postern-test-table");
        let e = d.lookup("user@example.com").unwrap_err();
        assert!(is_surrogate(&e), "{e}");
        assert!(
            e.to_string().contains("is unavailable. open database"),
            "{e}"
        );
        let ok = open("inline:{ a=b }");
        assert_eq!(ok.lookup("a").unwrap().as_deref(), Some("b"));
    }
}
