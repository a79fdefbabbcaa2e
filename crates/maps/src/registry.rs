//! NAME
//!   registry - open a table by its `type:name`, and lists of tables
//!
//! DESCRIPTION
//!   [`open`] turns `lmdb:/etc/postfix/access`, `regexp:/etc/postfix/re`,
//!   `cidr:...`, `texthash:...`, `inline:{...}`, `static:...` or
//!   `fail:...` into a [`Dict`]. `proxy:type:name` opens `type:name`
//!   directly (there is no proxymap(8) yet; local(8) does the same).
//!
//!   [`Maps`] is an ordered list of tables, as a parameter such as
//!   `alias_maps = lmdb:/etc/aliases, regexp:/etc/postfix/aliases.re`
//!   names them; [`Maps::find`] asks each in turn (Postfix's `maps_find`).
//!
//! DIAGNOSTICS
//!   `unsupported dictionary type: foo`; for `hash:` and `btree:` the
//!   message says that Berkeley DB is not supported and suggests lmdb.
use crate::cidr::CidrDict;
use crate::dict::{Dict, DictError, DictFlags};
use crate::lmdb::LmdbDict;
use crate::memory::{FailDict, MemoryDict, StaticDict};
use crate::regexp::RegexpDict;

/// The Berkeley DB style types Postfix supports and Postern does not.
pub const BERKELEY_TYPES: &[&str] = &["hash", "btree", "dbm", "sdbm"];

/// The table types [`open`] supports (`postconf -m`).
pub const SUPPORTED_TYPES: &[&str] = &[
    "cidr", "fail", "inline", "lmdb", "regexp", "static", "texthash",
];

/// Split `type:name` into its parts. A spec without a colon yields
/// `None` for the type.
pub fn split_type(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once(':') {
        Some((t, n))
            if !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            (Some(t), n)
        }
        _ => (None, spec),
    }
}

/// Open the table `spec` (`type:name`) with `flags`.
///
/// Errors: [`DictError::UnsupportedType`] for an unknown type or a
/// missing `type:`, [`DictError::BerkeleyDb`] for `hash:`/`btree:`,
/// and the open errors of each type (missing file, bad inline syntax).
pub fn open(spec: &str, flags: DictFlags) -> Result<Box<dyn Dict>, DictError> {
    let (kind, name) = split_type(spec);
    let Some(kind) = kind else {
        return Err(DictError::BadName(format!(
            "need dictionary type:name, not \"{spec}\""
        )));
    };
    Ok(match kind {
        "proxy" => return open(name, flags),
        "lmdb" => Box::new(LmdbDict::open(name, flags)?),
        "texthash" => Box::new(MemoryDict::texthash(name, flags)?),
        "inline" => Box::new(MemoryDict::inline(name, flags)?),
        "static" => Box::new(StaticDict::new(name)),
        "fail" => Box::new(FailDict::new(name)),
        "regexp" => Box::new(RegexpDict::open(name)?),
        "cidr" => Box::new(CidrDict::open(name)?),
        k if BERKELEY_TYPES.contains(&k) => {
            return Err(DictError::BerkeleyDb(
                k.to_string(),
                name.to_string(),
                "postmap",
            ))
        }
        other => return Err(DictError::UnsupportedType(other.to_string())),
    })
}

/// An ordered list of tables named by one parameter.
pub struct Maps {
    title: String,
    dicts: Vec<Box<dyn Dict>>,
}

impl std::fmt::Debug for Maps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.dicts.iter().map(|d| d.name()).collect();
        f.debug_struct("Maps")
            .field("title", &self.title)
            .field("dicts", &names)
            .finish()
    }
}

impl Maps {
    /// Open every table in `list` (comma- or whitespace-separated
    /// `type:name` specs; `inline:{...}` may contain separators).
    /// `title` names the list in messages, e.g. `alias_maps`.
    /// Errors: the first table that cannot be opened.
    pub fn open(title: &str, list: &str, flags: DictFlags) -> Result<Maps, DictError> {
        let mut dicts = Vec::new();
        for spec in util::strings::split_list(list) {
            dicts.push(open(&spec, flags)?);
        }
        Ok(Maps {
            title: title.to_string(),
            dicts,
        })
    }

    /// A list made of already opened tables.
    pub fn from_dicts(title: &str, dicts: Vec<Box<dyn Dict>>) -> Maps {
        Maps {
            title: title.to_string(),
            dicts,
        }
    }

    /// The parameter name given to [`Maps::open`].
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Whether the list has no tables (an empty parameter value).
    pub fn is_empty(&self) -> bool {
        self.dicts.is_empty()
    }

    /// The tables, in order.
    pub fn dicts(&self) -> &[Box<dyn Dict>] {
        &self.dicts
    }

    /// Ask each table for `key` in order; the first answer wins. With
    /// `partial` set (a key derived from the real one: `user@`, a parent
    /// domain, ...) pattern tables are skipped, as Postfix does.
    /// Errors: a table failed; the search stops there (callers defer).
    pub fn find(&self, key: &str, partial: bool) -> Result<Option<String>, DictError> {
        for d in &self.dicts {
            if partial && !d.is_fixed() {
                continue;
            }
            if let Some(v) = d.lookup(key)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Whether any table's file changed since it was opened.
    pub fn changed(&self) -> bool {
        self.dicts.iter().any(|d| d.changed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_berkeley_types_are_clear_errors() {
        let e = open("foo:/x", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unsupported dictionary type: foo");
        let e = open("hash:/etc/aliases", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("unsupported dictionary type: hash: Berkeley DB"),
            "{e}"
        );
        assert!(e.contains("lmdb:/etc/aliases"), "{e}");
    }

    #[test]
    fn maps_find_skips_pattern_tables_for_partial_keys() {
        let maps = Maps::open(
            "t",
            "regexp:{ {/./ RE} }, inline:{ k=FIX }",
            DictFlags::default(),
        )
        .unwrap();
        assert_eq!(maps.find("k", false).unwrap().as_deref(), Some("RE"));
        assert_eq!(maps.find("k", true).unwrap().as_deref(), Some("FIX"));
        assert_eq!(maps.find("z", true).unwrap(), None);
    }

    #[test]
    fn missing_files_report_the_path() {
        let e = open("lmdb:/nonexistent/x", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "open database /nonexistent/x.lmdb: No such file or directory"
        );
        let e = open("regexp:/nonexistent/re", DictFlags::default())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "open /nonexistent/re: No such file or directory");
    }
}
