//! NAME
//!   args - the command line that master gives a service program
//!
//! SYNOPSIS
//!   `program -n service -t type -s count [-c] [-u] [-v]... [-d] [-S]
//!   [-o name=value]... [other arguments]`
//!
//! DESCRIPTION
//!   master(8) starts every service program with these options
//!   ([`global::master_proto`]):
//!
//!   - `-n service`: the master.cf service name (column 1).
//!   - `-t type`: the master.cf type (column 2): inet, unix, unix-dgram,
//!     fifo or pass.
//!   - `-s count`: how many listen descriptors start at fd 6.
//!   - `-c`: chroot to `queue_directory` (master.cf column 5 is `y`).
//!   - `-u`: run as `mail_owner` (master.cf column 4 is `y`).
//!   - `-v`: more verbose logging (repeatable).
//!   - `-o name=value` or `-o { name = value }`: a parameter override.
//!   - `-S`: stand-alone mode: serve one client on stdin/stdout, without
//!     master (`sendmail -bs` runs `smtpd -S`).
//!   - `-d`: debug: also copy log messages to stderr.
//!   - `-D`, `-i`, `-l`, `-z`: accepted and ignored (Postfix debugger,
//!     init and local-only flags).
//!
//!   Arguments that are not options (e.g. pipe(8)'s `flags=... argv=...`)
//!   are kept in order in [`ServerArgs::extra`].
//!
//! DIAGNOSTICS
//!   [`parse`] returns `usage: ...`-style messages for unknown options or
//!   missing values.

/// The parsed command line of a service program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerArgs {
    /// `-n`: the service name; defaults to the program name.
    pub service: Option<String>,
    /// `-t`: the transport type; defaults to `unix`.
    pub kind: Option<String>,
    /// `-s`: the number of listen descriptors from fd 6 (default 1, or 0
    /// in stand-alone mode).
    pub socket_count: Option<usize>,
    /// `-c`: chroot to queue_directory.
    pub chroot: bool,
    /// `-u`: drop privileges to mail_owner.
    pub unprivileged: bool,
    /// The number of `-v` flags.
    pub verbose: u32,
    /// `-d`: copy log messages to stderr.
    pub debug: bool,
    /// `-S`: stand-alone mode (serve stdin/stdout once).
    pub stand_alone: bool,
    /// `-o` overrides, in order.
    pub overrides: Vec<(String, String)>,
    /// Other (non-option) arguments, in order.
    pub extra: Vec<String>,
}

/// Split an override specification: `name=value` or `{ name = value }`.
/// Returns `None` when there is no `=`.
pub fn parse_override(spec: &str) -> Option<(String, String)> {
    let spec = spec.trim();
    let spec = match spec.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => inner.trim(),
        None => spec,
    };
    let (n, v) = spec.split_once('=')?;
    let n = n.trim();
    if n.is_empty() {
        return None;
    }
    Some((n.to_string(), v.trim().to_string()))
}

/// Parse `args` (without the program name).
///
/// Options may be clustered (`-cuv`) and option values may be attached
/// (`-nsmtp`) as with getopt(3). Errors: an unknown option, a missing
/// value, a bad `-s` count or a bad `-o` specification.
pub fn parse<I, S>(args: I) -> Result<ServerArgs, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out = ServerArgs::default();
    let mut it = args.into_iter().map(Into::into);
    while let Some(arg) = it.next() {
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            out.extra.push(arg);
            continue;
        };
        for (i, c) in flags.char_indices() {
            match c {
                'c' => out.chroot = true,
                'u' => out.unprivileged = true,
                'v' => out.verbose += 1,
                'd' => out.debug = true,
                'S' => out.stand_alone = true,
                'D' | 'i' | 'l' | 'z' => {}
                'n' | 't' | 's' | 'o' => {
                    let rest = &flags[i + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        it.next()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?
                    } else {
                        rest.to_string()
                    };
                    match c {
                        'n' => out.service = Some(value),
                        't' => out.kind = Some(value),
                        's' => {
                            let n = value
                                .parse()
                                .map_err(|_| format!("bad socket count: {value}"))?;
                            out.socket_count = Some(n);
                        }
                        _ => {
                            let pair = parse_override(&value).ok_or_else(|| {
                                format!(
                                    "invalid \"-o {value}\" option value: missing '=' after attribute name"
                                )
                            })?;
                            out.overrides.push(pair);
                        }
                    }
                    break;
                }
                other => return Err(format!("invalid option -- '{other}'")),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_argv() {
        let a = parse([
            "-n",
            "127.0.0.1:2525",
            "-t",
            "inet",
            "-s",
            "2",
            "-c",
            "-u",
            "-v",
            "-o",
            "syslog_name=postfix/sub",
            "-o",
            "{ smtpd_client_restrictions = permit, reject }",
            "flags=R",
            "argv=/bin/cat",
        ])
        .unwrap();
        assert_eq!(a.service.as_deref(), Some("127.0.0.1:2525"));
        assert_eq!(a.kind.as_deref(), Some("inet"));
        assert_eq!(a.socket_count, Some(2));
        assert!(a.chroot && a.unprivileged && !a.stand_alone);
        assert_eq!(a.verbose, 1);
        assert_eq!(
            a.overrides,
            vec![
                ("syslog_name".to_string(), "postfix/sub".to_string()),
                (
                    "smtpd_client_restrictions".to_string(),
                    "permit, reject".to_string()
                ),
            ]
        );
        assert_eq!(a.extra, vec!["flags=R", "argv=/bin/cat"]);
    }

    #[test]
    fn clustered_and_attached() {
        let a = parse(["-cuvv", "-nsmtp", "-tinet", "-S"]).unwrap();
        assert!(a.chroot && a.unprivileged && a.stand_alone);
        assert_eq!(a.verbose, 2);
        assert_eq!(a.service.as_deref(), Some("smtp"));
        assert_eq!(a.kind.as_deref(), Some("inet"));
    }

    #[test]
    fn errors() {
        assert!(parse(["-x"]).unwrap_err().contains("invalid option -- 'x'"));
        assert!(parse(["-n"]).unwrap_err().contains("requires an argument"));
        assert!(parse(["-s", "two"])
            .unwrap_err()
            .contains("bad socket count"));
        assert_eq!(
            parse(["-o", "novalue"]).unwrap_err(),
            "invalid \"-o novalue\" option value: missing '=' after attribute name"
        );
    }
}
