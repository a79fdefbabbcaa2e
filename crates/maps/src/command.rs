//! NAME
//!   command - the postmap(1) and postalias(1) command logic
//!
//! SYNOPSIS
//!   postmap [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file...
//!   postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [type:]file...
//!   newaliases [-c config_dir] [-v]
//!
//! DESCRIPTION
//!   Both programs share everything but the source syntax (postmap:
//!   `key whitespace value`; postalias: aliases(5)) and the output format
//!   (`key<TAB>value` versus `key:<TAB>value`). Without `-q`, `-d` or
//!   `-s` each file is (re)built as `file.lmdb` (see [`crate::mkmap`]);
//!   with `-i` entries are read from standard input and added to the
//!   existing table. postalias also stores the `@` -> `@` sentinel entry
//!   and the `YP_LAST_MODIFIED` and `YP_MASTER_NAME` entries, as Postfix
//!   does. Invoked as `newaliases`, postalias rebuilds every table named
//!   in `alias_database`.
//!
//!   A file without `type:` uses `default_database_type`; Postern builds
//!   only `lmdb`, so with Postfix's default (`hash`) the command stops with
//!   a message that suggests `default_database_type = lmdb`.
//!
//!   When run as root, building a table whose source file is owned by
//!   another user drops to that user's uid and gid first (unless `-o`).
//!
//! DIAGNOSTICS
//!   Messages and exit status as Postfix's: status 0 on success and for a
//!   `-q`/`-d` key that was found, 1 otherwise; `postmap: fatal: open
//!   /x: No such file or directory`; `postmap: warning: /x, line 3:
//!   expected format: key whitespace value`. With `smtputf8_enable`, a
//!   source line that is not UTF-8 is skipped (`/x, line 2: non-UTF-8
//!   input "??bad" -- ignoring this line`); without, it is stored with
//!   its bad bytes replaced. A key longer than an lmdb table holds (511
//!   bytes) is fatal: `/x, line 4: key is too long: 600 bytes, ...`.
//!
//! CONFIGURATION PARAMETERS
//!   default_database_type, lmdb_map_size, alias_database (newaliases),
//!   myhostname (postalias's YP_MASTER_NAME), smtputf8_enable.
use crate::aliases;
use crate::dict::{Dict, DictFlags, DupMode, NulMode};
use crate::lmdb::{encode, strerror, LmdbDict, MAX_KEY_SIZE};
use crate::mkmap::{build_types, ensure_table, Builder};
use crate::registry::split_type;
use crate::source::{logical_lines_bytes, printable, split_key_value};
use global::Config;
use std::io::{BufRead, Write};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use util::{msg_fatal, msg_warn};

/// Which program is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// postmap(1).
    Postmap,
    /// postalias(1).
    Postalias,
    /// newaliases(1): postalias over `alias_database`.
    Newaliases,
}

impl Program {
    fn usage(self) -> &'static str {
        match self {
            Program::Postmap => "usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...",
            Program::Postalias => {
                "usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."
            }
            Program::Newaliases => "usage: newaliases [-c config_dir] [-v]",
        }
    }
    fn letters(self) -> &'static str {
        match self {
            Program::Postmap => "bfFhimnNoprsuUvw",
            Program::Postalias => "Nfinoprsuvw",
            Program::Newaliases => "v",
        }
    }
    fn aliases(self) -> bool {
        self != Program::Postmap
    }
}

/// Parsed command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-c`.
    pub config_dir: Option<PathBuf>,
    /// `-f`: do not fold keys to lower case.
    pub no_fold: bool,
    /// `-N` / `-n`.
    pub nul: NulMode,
    /// `-r` / `-w`.
    pub dup: DupMode,
    /// `-i`.
    pub incremental: bool,
    /// `-o`.
    pub keep_privileges: bool,
    /// `-p`.
    pub default_mode: bool,
    /// `-q key`.
    pub query: Option<String>,
    /// `-d key`.
    pub delete: Option<String>,
    /// `-s`.
    pub show: bool,
    /// `-v` count.
    pub verbose: u32,
    /// `[type:]file` arguments.
    pub maps: Vec<String>,
}

/// Parse `args` (without argv\[0\]) getopt-style: clustered letters,
/// option arguments attached or separate, options after file names.
/// Errors: the text to print before the usage line.
pub fn parse_args(program: Program, args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut iter = args.iter();
    let mut only_files = false;
    while let Some(arg) = iter.next() {
        if only_files || !arg.starts_with('-') || arg == "-" {
            o.maps.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_files = true;
            continue;
        }
        for (i, c) in arg[1..].char_indices() {
            if matches!(c, 'c' | 'd' | 'q') && program != Program::Newaliases || c == 'c' {
                let rest = &arg[1 + i + 1..];
                let value = if rest.is_empty() {
                    iter.next()
                        .cloned()
                        .ok_or_else(|| format!("option requires an argument -- '{c}'"))?
                } else {
                    rest.to_string()
                };
                match c {
                    'c' => o.config_dir = Some(PathBuf::from(value)),
                    'd' => o.delete = Some(value),
                    _ => o.query = Some(value),
                }
                break;
            }
            if !program.letters().contains(c) {
                return Err(format!("invalid option -- '{c}'"));
            }
            match c {
                'f' => o.no_fold = true,
                'N' => o.nul = NulMode::Include,
                'n' => o.nul = NulMode::Exclude,
                'r' => o.dup = DupMode::Replace,
                'w' => o.dup = DupMode::Ignore,
                'i' => o.incremental = true,
                'o' => o.keep_privileges = true,
                'p' => o.default_mode = true,
                's' => o.show = true,
                'v' => o.verbose += 1,
                'u' | 'U' => {}
                'F' => return Err("-F (base64 file values) is not supported".to_string()),
                _ => return Err(format!("-{c} (message query mode) is not supported")),
            }
        }
    }
    Ok(o)
}

/// Run `program` with argv (`args` includes argv\[0\]). Returns the exit
/// status; fatal errors exit through `msg_fatal!`.
pub fn main(program: Program, args: &[String]) -> i32 {
    let name = match program {
        Program::Postmap => "postmap",
        Program::Postalias => "postalias",
        Program::Newaliases => "newaliases",
    };
    util::msg::init(&format!("postfix/{name}"), "localhost");
    util::msg::log_to_stderr(true);
    let mut opts = match parse_args(program, args.get(1..).unwrap_or(&[])) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{name}: {e}");
            msg_fatal!("{}", program.usage());
        }
    };
    util::msg::set_verbose(opts.verbose);
    let cfg = Config::load(opts.config_dir.as_deref()).unwrap_or_else(|e| msg_fatal!("{e}"));
    if program == Program::Newaliases {
        opts.maps = cfg
            .get_list("alias_database")
            .unwrap_or_else(|e| msg_fatal!("{e}"));
    }
    if opts.maps.is_empty() {
        msg_fatal!("{}", program.usage());
    }
    if [opts.query.is_some(), opts.delete.is_some(), opts.show]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        msg_fatal!("specify only one of -s -q or -d");
    }
    let default_type = cfg
        .get("default_database_type")
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    let map_size = cfg
        .get_int("lmdb_map_size")
        .unwrap_or_else(|e| msg_fatal!("{e}"));
    let flags = DictFlags {
        fold_fix: !opts.no_fold,
        dup: opts.dup,
        nul: opts.nul,
        write: false,
        lmdb_map_size: usize::try_from(map_size).unwrap_or(crate::dict::DEFAULT_LMDB_MAP_SIZE),
    };
    let specs: Vec<(String, String)> = opts
        .maps
        .iter()
        .map(|m| match split_type(m) {
            (Some(t), p) => (t.to_string(), p.to_string()),
            (None, p) => (default_type.clone(), p.to_string()),
        })
        .collect();
    let run = Run {
        program,
        opts: &opts,
        flags,
        cfg: &cfg,
        utf8: cfg
            .get_bool("smtputf8_enable")
            .unwrap_or_else(|e| msg_fatal!("{e}")),
    };
    if let Some(key) = &opts.query {
        return run.query(&specs, key);
    }
    if let Some(key) = &opts.delete {
        return run.delete(&specs, key);
    }
    if opts.show {
        return run.show(&specs);
    }
    for (kind, path) in &specs {
        if let Err(e) = build_types(kind, path) {
            msg_fatal!("{}", run.hint(e));
        }
        run.build(path);
    }
    0
}

struct Run<'a> {
    program: Program,
    opts: &'a Options,
    flags: DictFlags,
    cfg: &'a Config,
    /// `smtputf8_enable`: a source line that is not UTF-8 is skipped.
    utf8: bool,
}

fn stdin_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes) {
        msg_fatal!("read standard input: {}", strerror(&e));
    }
    bytes
}

fn stdin_lines() -> Vec<String> {
    std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .collect()
}

impl Run<'_> {
    /// `e` with this program named in a rebuild hint.
    fn hint(&self, e: crate::DictError) -> crate::DictError {
        e.built_by(if self.program.aliases() {
            "postalias"
        } else {
            "postmap"
        })
    }

    fn open(&self, kind: &str, path: &str, write: bool) -> Box<dyn Dict> {
        let flags = DictFlags {
            write,
            ..self.flags
        };
        crate::registry::open(&format!("{kind}:{path}"), flags)
            .unwrap_or_else(|e| msg_fatal!("{}", self.hint(e)))
    }

    fn print(&self, out: &mut impl Write, key: &str, value: &str) {
        let _ = if self.program.aliases() {
            writeln!(out, "{key}:\t{value}")
        } else {
            writeln!(out, "{key}\t{value}")
        };
    }

    fn query(&self, specs: &[(String, String)], key: &str) -> i32 {
        let dicts: Vec<Box<dyn Dict>> = specs.iter().map(|(k, p)| self.open(k, p, false)).collect();
        let find = |k: &str| -> Option<String> {
            dicts.iter().find_map(|d| {
                d.lookup(k)
                    .unwrap_or_else(|e| msg_fatal!("table {}: query error: {e}", d.name()))
            })
        };
        let mut out = std::io::stdout().lock();
        let mut found = false;
        if key == "-" {
            for k in stdin_lines() {
                if let Some(v) = find(&k) {
                    self.print(&mut out, &k, &v);
                    found = true;
                }
            }
        } else if let Some(v) = find(key) {
            let _ = writeln!(out, "{v}");
            found = true;
        }
        let _ = out.flush();
        i32::from(!found)
    }

    fn delete(&self, specs: &[(String, String)], key: &str) -> i32 {
        let keys = if key == "-" {
            stdin_lines()
        } else {
            vec![key.to_string()]
        };
        let mut found = false;
        for (kind, path) in specs {
            let mut dict = self.open(kind, path, true);
            for k in &keys {
                found |= dict.delete(k).unwrap_or_else(|e| msg_fatal!("{e}"));
            }
        }
        i32::from(!found)
    }

    fn show(&self, specs: &[(String, String)]) -> i32 {
        let mut out = std::io::stdout().lock();
        for (kind, path) in specs {
            let dict = self.open(kind, path, false);
            for (k, v) in dict.sequence().unwrap_or_else(|e| msg_fatal!("{e}")) {
                self.print(&mut out, &k, &v);
            }
        }
        let _ = out.flush();
        0
    }

    /// Parse source `bytes` (named `origin`), handing each entry to `add`
    /// and logging each bad line, in file order. With `smtputf8_enable`
    /// a line that is not UTF-8 is skipped with Postfix's warning. A key
    /// too long for an lmdb table is fatal, naming file and line.
    fn entries(&self, origin: &str, bytes: &[u8], mut add: impl FnMut(&str, &str)) {
        for (lineno, line) in logical_lines_bytes(bytes) {
            let text = match String::from_utf8(line) {
                Ok(t) => t,
                Err(e) if self.utf8 => {
                    let shown = printable(e.as_bytes());
                    msg_warn!("{origin}, line {lineno}: non-UTF-8 input \"{shown}\" -- ignoring this line");
                    continue;
                }
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            let parsed = if self.program.aliases() {
                aliases::parse_line(&text).map_err(str::to_string)
            } else {
                split_key_value(&text).map_err(|e| e.message(&text))
            };
            match parsed {
                Ok((k, v)) => {
                    let size = encode(&self.flags.fold(&k), self.flags.nul).len();
                    if size > MAX_KEY_SIZE {
                        msg_fatal!(
                            "{origin}, line {lineno}: key is too long: {size} bytes, an lmdb table holds at most {MAX_KEY_SIZE}"
                        );
                    }
                    add(&k, &v)
                }
                Err(msg) => msg_warn!("{origin}, line {lineno}: {msg}"),
            }
        }
    }

    fn build(&self, path: &str) {
        let source_meta = std::fs::metadata(path).ok();
        if !self.opts.keep_privileges {
            if let Some(m) = &source_meta {
                drop_privileges(m.uid(), m.gid());
            }
        }
        if self.opts.incremental {
            let mode = source_meta.as_ref().map_or(0o644, |m| m.mode());
            ensure_table(path, &self.flags, mode).unwrap_or_else(|e| msg_fatal!("{e}"));
            let mut dict = LmdbDict::open(
                path,
                DictFlags {
                    write: true,
                    ..self.flags
                },
            )
            .unwrap_or_else(|e| msg_fatal!("{e}"));
            self.entries("-", &stdin_bytes(), |k, v| {
                dict.update(k, v).unwrap_or_else(|e| msg_fatal!("{e}"));
            });
            return;
        }
        let bytes =
            std::fs::read(path).unwrap_or_else(|e| msg_fatal!("open {path}: {}", strerror(&e)));
        let mut builder = Builder::new(path, self.flags);
        self.entries(path, &bytes, |k, v| {
            builder.add(k, v);
        });
        if self.program.aliases() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let host = self.cfg.get("myhostname").unwrap_or_default();
            builder.add_exact("YP_LAST_MODIFIED", &format!("{now:010}"));
            builder.add_exact("YP_MASTER_NAME", &host);
            builder.add("@", "@");
        }
        builder
            .commit(source_meta.map(|m| m.mode()), self.opts.default_mode)
            .unwrap_or_else(|e| msg_fatal!("{e}"));
    }
}

/// When running as root, become `uid`/`gid` unless that is root too.
fn drop_privileges(uid: u32, gid: u32) {
    use nix::unistd::{geteuid, setgid, setgroups, setuid, Gid, Uid};
    if !geteuid().is_root() || uid == 0 {
        return;
    }
    let g = Gid::from_raw(gid);
    if let Err(e) = setgroups(&[g])
        .and_then(|()| setgid(g))
        .and_then(|()| setuid(Uid::from_raw(uid)))
    {
        msg_fatal!("set privileges to uid {uid} gid {gid}: {}", e.desc());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn getopt_style_parsing() {
        let o = parse_args(
            Program::Postmap,
            &args(&["-fNw", "-qkey", "-c", "/etc/x", "lmdb:/a", "-v", "b"]),
        )
        .unwrap();
        assert!(o.no_fold);
        assert_eq!(o.nul, NulMode::Include);
        assert_eq!(o.dup, DupMode::Ignore);
        assert_eq!(o.query.as_deref(), Some("key"));
        assert_eq!(o.config_dir, Some(PathBuf::from("/etc/x")));
        assert_eq!(o.maps, vec!["lmdb:/a", "b"]);
        assert_eq!(o.verbose, 1);
        assert_eq!(
            parse_args(Program::Postmap, &args(&["-Z"])).unwrap_err(),
            "invalid option -- 'Z'"
        );
        assert!(parse_args(Program::Postalias, &args(&["-b"])).is_err());
        assert!(parse_args(Program::Postmap, &args(&["-F", "x"]))
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_args(Program::Postmap, &args(&["-q"])).is_err());
    }
}
