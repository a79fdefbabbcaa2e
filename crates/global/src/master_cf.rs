//! NAME
//!   master_cf - read master.cf
//!
//! DESCRIPTION
//!   master.cf (master(5)) has one service per logical line, with the same
//!   comment and continuation rules as main.cf, and eight columns:
//!
//!   service type private unpriv chroot wakeup maxproc command [args]
//!
//!   - service: for `inet`, `[host:]port` (`127.0.0.1:smtp`, `[::1]:2525`,
//!     `submission`); otherwise a name under `private/` or `public/`.
//!   - type: `inet`, `unix`, `unix-dgram`, `fifo` or `pass`.
//!   - private, unpriv, chroot: `y`, `n` or `-` (defaults y, y, n).
//!   - wakeup: seconds, `N?` (only when the service is used), `0` or `-`
//!     (never).
//!   - maxproc: a number, `0` (no limit) or `-` (`default_process_limit`).
//!   - command and arguments; `-o name=value` and the Postfix 3.0 form
//!     `-o { name = value }` set parameters for this service only.
//!
//!   Fields may contain `$name` references to main.cf parameters; master
//!   expands them when it uses the field.
//!
//! DIAGNOSTICS
//!   Errors carry file and line: `/etc/postfix/master.cf, line 12: bad
//!   transport type: foo`.
use crate::main_cf::{logical_lines, SyntaxError};
use std::path::{Path, PathBuf};

/// master.cf column 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// A TCP listener.
    Inet,
    /// A UNIX-domain stream socket.
    Unix,
    /// A UNIX-domain datagram socket.
    UnixDgram,
    /// A named pipe (trigger services).
    Fifo,
    /// A UNIX socket over which connections are passed (postscreen).
    Pass,
}

impl ServiceType {
    /// The master.cf spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Inet => "inet",
            ServiceType::Unix => "unix",
            ServiceType::UnixDgram => "unix-dgram",
            ServiceType::Fifo => "fifo",
            ServiceType::Pass => "pass",
        }
    }

    /// Parse the master.cf spelling.
    pub fn parse(s: &str) -> Option<ServiceType> {
        Some(match s {
            "inet" => ServiceType::Inet,
            "unix" => ServiceType::Unix,
            "unix-dgram" => ServiceType::UnixDgram,
            "fifo" => ServiceType::Fifo,
            "pass" => ServiceType::Pass,
            _ => return None,
        })
    }
}

/// master.cf column 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxProc {
    /// `-`: use `default_process_limit`.
    Default,
    /// `0`: no limit.
    Unlimited,
    /// At most this many processes.
    Limit(u32),
}

/// master.cf column 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wakeup {
    /// Interval in seconds (> 0).
    pub seconds: u32,
    /// `N?`: only wake the service once it has been used.
    pub conditional: bool,
}

/// One service line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// Column 1 as written.
    pub service: String,
    /// Column 2.
    pub kind: ServiceType,
    /// Column 3 (`-` = yes).
    pub private: bool,
    /// Column 4 (`-` = yes).
    pub unpriv: bool,
    /// Column 5 (`-` = no).
    pub chroot: bool,
    /// Column 6; `None` = never.
    pub wakeup: Option<Wakeup>,
    /// Column 7.
    pub maxproc: MaxProc,
    /// Column 8: the program name (in `daemon_directory`).
    pub command: String,
    /// The arguments after the program name, one token each (a
    /// `{ ... }` group is one token).
    pub args: Vec<String>,
    /// The first seven columns exactly as written (for `postconf -M`).
    pub fields: Vec<String>,
    /// The 1-based line number.
    pub line: usize,
}

impl MasterEntry {
    /// `service/type`, the key `postconf -M` and `-F` use.
    pub fn key(&self) -> String {
        format!("{}/{}", self.service, self.kind.as_str())
    }

    /// The `-o name=value` overrides among the arguments, in order.
    /// `-o { name = value }` is accepted too.
    pub fn overrides(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            let spec = if a == "-o" {
                match it.next() {
                    Some(s) => s.as_str(),
                    None => break,
                }
            } else if let Some(rest) = a.strip_prefix("-o") {
                rest
            } else {
                continue;
            };
            let spec = spec.trim();
            let spec = if spec.starts_with('{') && spec.ends_with('}') && spec.len() >= 2 {
                spec[1..spec.len() - 1].trim()
            } else {
                spec
            };
            if let Some((n, v)) = spec.split_once('=') {
                out.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        out
    }

    /// The arguments that are not `-o` overrides (e.g. `-v`, pipe's
    /// `flags=... argv=...`).
    pub fn other_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            if a == "-o" {
                it.next();
            } else if !a.starts_with("-o") {
                out.push(a.clone());
            }
        }
        out
    }
}

/// A parsed master.cf.
#[derive(Debug, Clone, Default)]
pub struct MasterCf {
    /// The file's path (for messages).
    pub path: PathBuf,
    /// Services in file order.
    pub entries: Vec<MasterEntry>,
}

impl MasterCf {
    /// The entry for `service` of type `kind`, if any.
    pub fn find(&self, service: &str, kind: ServiceType) -> Option<&MasterEntry> {
        self.entries
            .iter()
            .find(|e| e.service == service && e.kind == kind)
    }

    /// `(service, command)` pairs, for per-transport parameter names.
    pub fn services(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|e| (e.service.clone(), e.command.clone()))
            .collect()
    }

    /// The warnings for entries whose program is not in `daemon_dir`
    /// (master leaves them out): `FILE, line 13: service
    /// "127.0.0.1:10025" (postscreen): program DIR/postscreen not found;
    /// service disabled`, and for an inet service `; nothing will listen
    /// on 127.0.0.1:10025` (or `on port smtp of $inet_interfaces` when
    /// the service names no host). `name` expands `$name` in column 1;
    /// `exists` says whether a program file exists. Used by master and by
    /// `postfix check`/`start`, so both say the same.
    pub fn missing_programs(
        &self,
        daemon_dir: &Path,
        name: &dyn Fn(&str) -> String,
        exists: &dyn Fn(&Path) -> bool,
    ) -> Vec<(usize, String)> {
        let file = self.path.display();
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let path = daemon_dir.join(&e.command);
            if exists(&path) {
                continue;
            }
            let mut w = format!(
                "{file}, line {}: service \"{}\" ({}): program {} not found; service disabled",
                e.line,
                e.service,
                e.command,
                path.display()
            );
            if e.kind == ServiceType::Inet {
                let expanded = name(&e.service);
                w.push_str(&match split_inet(&expanded) {
                    Ok((Some(_), _)) | Err(_) => format!("; nothing will listen on {expanded}"),
                    Ok((None, port)) => {
                        format!("; nothing will listen on port {port} of $inet_interfaces")
                    }
                });
            }
            out.push((i, w));
        }
        out
    }

    /// Every `$name` referenced by the `-o` values (these count as used
    /// main.cf parameters).
    pub fn references(&self) -> Vec<String> {
        self.entries
            .iter()
            .flat_map(|e| e.overrides())
            .flat_map(|(_, v)| crate::expand::references(&v))
            .collect()
    }
}

/// Split a logical line into tokens; `{ ... }` is one token (braces kept).
pub fn tokenize(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in line.chars() {
        if c == '{' && (depth > 0 || cur.is_empty()) {
            depth += 1;
            cur.push(c);
        } else if c == '}' && depth > 0 {
            depth -= 1;
            cur.push(c);
        } else if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn yes_no(field: &str, value: &str, default: bool) -> Result<bool, String> {
    match value {
        "-" => Ok(default),
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err(format!("bad {field} field value: \"{value}\"")),
    }
}

fn parse_wakeup(value: &str) -> Result<Option<Wakeup>, String> {
    if value == "-" {
        return Ok(None);
    }
    let (num, conditional) = match value.strip_suffix('?') {
        Some(n) => (n, true),
        None => (value, false),
    };
    match num.parse::<u32>() {
        Ok(0) => Ok(None),
        Ok(seconds) => Ok(Some(Wakeup {
            seconds,
            conditional,
        })),
        Err(_) => Err(format!("bad wakeup field value: \"{value}\"")),
    }
}

fn parse_maxproc(value: &str) -> Result<MaxProc, String> {
    if value == "-" {
        return Ok(MaxProc::Default);
    }
    match value.parse::<u32>() {
        Ok(0) => Ok(MaxProc::Unlimited),
        Ok(n) => Ok(MaxProc::Limit(n)),
        Err(_) => Err(format!("bad maxproc field value: \"{value}\"")),
    }
}

/// Parse one logical line into an entry. Errors: a message without the
/// file/line prefix.
pub fn parse_entry(line: &str, lineno: usize) -> Result<MasterEntry, String> {
    let tokens = tokenize(line);
    if tokens.len() < 8 {
        return Err(format!("missing command name field: \"{line}\""));
    }
    let kind = ServiceType::parse(&tokens[1])
        .ok_or_else(|| format!("bad transport type: {}", tokens[1]))?;
    let service = tokens[0].clone();
    if kind == ServiceType::Inet {
        crate::master_cf::split_inet(&service).map_err(|e| format!("{e}: \"{service}\""))?;
    } else if service.contains('/') {
        return Err(format!(
            "bad service name: \"{service}\": must not contain '/'"
        ));
    }
    Ok(MasterEntry {
        service,
        kind,
        private: yes_no("private", &tokens[2], true)?,
        unpriv: yes_no("unprivileged", &tokens[3], true)?,
        chroot: yes_no("chroot", &tokens[4], false)?,
        wakeup: parse_wakeup(&tokens[5])?,
        maxproc: parse_maxproc(&tokens[6])?,
        command: tokens[7].clone(),
        args: tokens[8..].to_vec(),
        fields: tokens[..7].to_vec(),
        line: lineno,
    })
}

/// Split an inet service field into `(host, port)`: `2525` → `(None,
/// "2525")`, `127.0.0.1:smtp`, `[::1]:25`, `localhost:2525`.
/// Errors: an empty port or an unterminated `[`.
pub fn split_inet(service: &str) -> Result<(Option<String>, String), String> {
    let (host, port) = if let Some(rest) = service.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("missing ']' in host address")?;
        let port = after.strip_prefix(':').ok_or("missing ':' after ']'")?;
        (Some(h.to_string()), port.to_string())
    } else if let Some((h, p)) = service.rsplit_once(':') {
        (Some(h.to_string()), p.to_string())
    } else {
        (None, service.to_string())
    };
    if port.is_empty() {
        return Err("missing port".to_string());
    }
    Ok((host.filter(|h| !h.is_empty()), port))
}

/// Parse master.cf text; `path` is used in messages.
///
/// Errors: the first bad line, as `file, line N: reason`. A second entry
/// for the same service/type is an error too (Postfix: "duplicate").
pub fn parse(text: &str, path: &Path) -> Result<MasterCf, SyntaxError> {
    let file = path.display().to_string();
    let (lines, orphans) = logical_lines(text);
    if let Some((line, t)) = orphans.first() {
        return Err(SyntaxError {
            file,
            line: *line,
            reason: format!("logical line must not start with whitespace: \"{t}\""),
        });
    }
    let mut cf = MasterCf {
        path: path.to_path_buf(),
        entries: Vec::new(),
    };
    for (lineno, text) in lines {
        let entry = parse_entry(&text, lineno).map_err(|reason| SyntaxError {
            file: file.clone(),
            line: lineno,
            reason,
        })?;
        if let Some(prev) = cf
            .entries
            .iter()
            .find(|e| e.service == entry.service && e.kind == entry.kind)
        {
            return Err(SyntaxError {
                file,
                line: lineno,
                reason: format!(
                    "duplicate service name: {} (first defined at line {})",
                    entry.key(),
                    prev.line
                ),
            });
        }
        cf.entries.push(entry);
    }
    Ok(cf)
}

/// Read and parse master.cf at `path`. Errors: as [`parse`], or the file
/// cannot be read (line 0).
pub fn read(path: &Path) -> Result<MasterCf, SyntaxError> {
    let text = std::fs::read_to_string(path).map_err(|e| SyntaxError {
        file: path.display().to_string(),
        line: 0,
        reason: format!("open: {e}"),
    })?;
    parse(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment
smtp      inet  n       -       y       -       -       smtpd
127.0.0.1:2525 inet n - n - 2 smtpd -v
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
# a comment inside the continuation
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
pickup    unix  n       -       y       60      1       pickup
qmgr      unix  n       -       n       300?    1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
cleanup   unix  n       -       y       -       0       cleanup
";

    #[test]
    fn columns_and_defaults() {
        let cf = parse(SAMPLE, Path::new("master.cf")).unwrap();
        assert_eq!(cf.entries.len(), 7);
        let smtp = &cf.entries[0];
        assert_eq!(smtp.key(), "smtp/inet");
        assert!(!smtp.private && smtp.unpriv && smtp.chroot);
        assert_eq!(smtp.maxproc, MaxProc::Default);
        assert_eq!(smtp.line, 2);
        assert_eq!(cf.entries[1].maxproc, MaxProc::Limit(2));
        assert_eq!(cf.entries[1].other_args(), vec!["-v"]);
        let pickup = cf.find("pickup", ServiceType::Unix).unwrap();
        assert_eq!(
            pickup.wakeup,
            Some(Wakeup {
                seconds: 60,
                conditional: false
            })
        );
        let qmgr = cf.find("qmgr", ServiceType::Unix).unwrap();
        assert_eq!(
            qmgr.wakeup,
            Some(Wakeup {
                seconds: 300,
                conditional: true
            })
        );
        assert!(cf.find("tlsmgr", ServiceType::Unix).unwrap().private);
        assert_eq!(
            cf.find("cleanup", ServiceType::Unix).unwrap().maxproc,
            MaxProc::Unlimited
        );
    }

    #[test]
    fn overrides_both_forms() {
        let cf = parse(SAMPLE, Path::new("master.cf")).unwrap();
        let sub = cf.find("submission", ServiceType::Inet).unwrap();
        assert_eq!(
            sub.overrides(),
            vec![
                ("syslog_name".to_string(), "postfix/submission".to_string()),
                (
                    "smtpd_client_restrictions".to_string(),
                    "permit_sasl_authenticated, reject".to_string()
                ),
            ]
        );
    }

    #[test]
    fn inet_addresses() {
        assert_eq!(split_inet("25").unwrap(), (None, "25".into()));
        assert_eq!(
            split_inet("127.0.0.1:smtp").unwrap(),
            (Some("127.0.0.1".into()), "smtp".into())
        );
        assert_eq!(
            split_inet("[::1]:2525").unwrap(),
            (Some("::1".into()), "2525".into())
        );
        assert!(split_inet("[::1:25").is_err());
        assert!(split_inet("host:").is_err());
    }

    #[test]
    fn errors_have_file_and_line() {
        let e = parse(
            "smtp inet n - y - - smtpd\nfoo bogus n - y - - x\n",
            Path::new("/etc/postfix/master.cf"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/postfix/master.cf, line 2: bad transport type: bogus"
        );
        let e = parse("smtp inet n - y\n", Path::new("m")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("m, line 1: missing command name field"));
        let e = parse("smtp inet x - y - - smtpd\n", Path::new("m")).unwrap_err();
        assert_eq!(e.to_string(), "m, line 1: bad private field value: \"x\"");
        let e = parse("a unix - - - abc - a\n", Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("bad wakeup field value"));
        let e = parse("a unix - - - - -1 a\n", Path::new("m")).unwrap_err();
        assert!(e.to_string().contains("bad maxproc field value"));
        let e = parse("a unix - - - - - a\na unix - - - - - b\n", Path::new("m")).unwrap_err();
        assert!(e
            .to_string()
            .contains("line 2: duplicate service name: a/unix"));
        let e = parse(" x unix - - - - - a\n", Path::new("m")).unwrap_err();
        assert!(e
            .to_string()
            .contains("line 1: logical line must not start with whitespace"));
    }

    #[test]
    fn debian_master_cf_parses() {
        for p in [
            "/usr/share/postfix/master.cf.dist",
            "/etc/postfix/master.cf.proto",
        ] {
            if let Ok(text) = std::fs::read_to_string(p) {
                let cf = parse(&text, Path::new(p)).unwrap();
                assert!(cf.find("smtp", ServiceType::Inet).is_some());
                assert!(cf.find("postlog", ServiceType::UnixDgram).is_some());
            }
        }
    }
}
