//! NAME
//!   opts - sendmail(1) command-line options
//!
//! DESCRIPTION
//!   [`parse`] reads Sendmail-style options as Postfix's sendmail does
//!   (its option letters are `A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx`,
//!   a colon marking a value): options may be clustered (`-ti`), a value
//!   may be attached (`-falice`) or the next argument (`-f alice`),
//!   options and recipients may be mixed, and `--` ends the options.
//!   `-A -G -L -O -U -c -e -h -m -p -x` and `-o` settings other than
//!   `-oA -oi` are accepted and ignored; any other letter is a usage
//!   error. `-n` is refused. A bad `-N`, `-R` or `-V` value is ignored
//!   with a warning.
//!
//!   `-q` alone flushes the queue, `-qRsite` and `-qIid` flush one site
//!   or message, `-q<interval>` (a digit first) asks for a queue-runner
//!   daemon, which Postfix's master already is: sendmail exits 0 doing
//!   nothing. `-bh`/`-bH` (host status) also do nothing.
//!
//!   After the options, conflicts are errors as in Postfix: `-t` outside
//!   delivery mode, `-qR`/`-qI` with another mode, `-t -N -R -v` with
//!   `-bv`, and recipients in any mode other than delivery.
//!
//!   The program name chooses the default mode: `mailq` lists the queue
//!   (`-bp`), `newaliases` rebuilds the aliases (`-bi`).
//!
//! DIAGNOSTICS
//!   [`OptError`]: the fatal text, and for an unknown option or a
//!   missing value the getopt-style note printed before it
//!   (`invalid option -- 'Z'`, then `fatal: usage: sendmail [options]`).
use queue::{DsnNotify, DsnRet};
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `-bm` (default): read a message and queue it.
    Deliver,
    /// `-bd`/`-bl`: daemon mode (`postfix start`).
    Daemon,
    /// `-bi`, `-I`, `newaliases`: rebuild the alias databases.
    Aliases,
    /// `-bp`, `mailq`: list the queue.
    ListQueue,
    /// `-bs`: SMTP on standard input and output.
    Smtp,
    /// `-bv`: address verification.
    Verify,
    /// `-q`: deliver all queued mail.
    FlushAll,
    /// `-qRsite`: deliver mail queued for a site.
    FlushSite(String),
    /// `-qIid`: deliver one message.
    FlushId(String),
    /// `-bh`, `-bH`, `-q<interval>`: nothing to do; exit 0.
    Nothing,
}

/// Body type (`-B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// `-B 7BIT`.
    SevenBit,
    /// `-B 8BITMIME`.
    EightBitMime,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    /// The mode.
    pub mode: Mode,
    /// `-t`: take recipients from the headers.
    pub extract: bool,
    /// `-i`/`-oi`: a line with a single dot does not end the input.
    pub ignore_dots: bool,
    /// `-f`/`-r`: the envelope sender (`Some("")` for `<>`).
    pub sender: Option<String>,
    /// `-F`: the sender's full name.
    pub full_name: Option<String>,
    /// `-N`: DSN NOTIFY for every recipient.
    pub notify: Option<DsnNotify>,
    /// `-R`: DSN RET.
    pub ret: Option<DsnRet>,
    /// `-V`: DSN ENVID.
    pub envid: Option<String>,
    /// `-B`: body type.
    pub body: Option<BodyType>,
    /// `-C`: the configuration directory.
    pub config_dir: Option<PathBuf>,
    /// `-oA`: the alias database for `-bi`.
    pub alias_file: Option<String>,
    /// Number of `-v` options.
    pub verbose: u32,
    /// Recipient arguments.
    pub recipients: Vec<String>,
    /// Warnings about ignored options, for the caller to log.
    pub warnings: Vec<String>,
}

/// A command line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptError {
    /// A getopt-style note printed to standard error first (no prefix:
    /// the caller adds `sendmail: `), for unknown options and missing
    /// values.
    pub note: Option<String>,
    /// The text of the `fatal:` message.
    pub fatal: String,
}

impl OptError {
    fn fatal(text: impl Into<String>) -> OptError {
        OptError {
            note: None,
            fatal: text.into(),
        }
    }
}

/// Options that take a value.
const WITH_VALUE: &str = "ABCFLNORVXbefhopqr";
/// Options without a value that are accepted and ignored.
const IGNORED: &str = "GUcmx";

/// The `-N` value as Postfix reads it: words separated by commas or
/// white space, each `never`, `success`, `failure` or `delay` (any
/// case), `never` alone. `None` plus warnings when it is bad.
fn parse_notify(v: &str, warnings: &mut Vec<String>) -> Option<DsnNotify> {
    let words: Vec<&str> = v
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        if DsnNotify::parse(w).is_none() {
            warnings.push(format!(
                "unknown DSN NOTIFY command value \"{w}\" in \"{v}\""
            ));
        }
    }
    let parsed = if words.is_empty() {
        None
    } else {
        DsnNotify::parse(&words.join(","))
    };
    if parsed.is_none() {
        warnings.push("bad -N option value -- ignored".into());
    }
    parsed
}

/// The sender given to `-f`, parsed as an RFC 5322 address list the way
/// Postfix's sendmail does: the first address is the sender
/// (`Joe <joe@x.example>` gives `joe@x.example`; `<>` and an empty value
/// give the null sender). Returns the sender and, when the value held
/// more than one address, the warning to log
/// (`-f option specified malformed sender: VALUE`).
pub fn clean_sender(v: &str) -> (String, Option<String>) {
    let addrs = crate::addr::parse_list(v);
    let warning = (addrs.len() > 1).then(|| format!("-f option specified malformed sender: {v}"));
    (addrs.into_iter().next().unwrap_or_default(), warning)
}

/// The configuration directory named by `-C`: a path ending in
/// `main.cf` names its directory, anything else is the directory.
fn config_dir_arg(value: &str) -> PathBuf {
    let p = PathBuf::from(value);
    if p.file_name().is_some_and(|n| n == "main.cf") {
        p.parent().map(PathBuf::from).unwrap_or(p)
    } else {
        p
    }
}

/// What `-q...` asked for, besides the mode.
#[derive(Default)]
struct Queue {
    site: Option<String>,
    id: Option<String>,
    interval: bool,
    verify: bool,
}

/// Parse `args` (without the program name); `program` is the name the
/// program was invoked as (`sendmail`, `mailq`, `newaliases`).
/// Errors: [`OptError`], to be reported as a fatal error.
pub fn parse(program: &str, args: &[String]) -> Result<Opts, OptError> {
    let mut o = Opts {
        mode: match program {
            "mailq" => Mode::ListQueue,
            "newaliases" => Mode::Aliases,
            _ => Mode::Deliver,
        },
        extract: false,
        ignore_dots: false,
        sender: None,
        full_name: None,
        notify: None,
        ret: None,
        envid: None,
        body: None,
        config_dir: None,
        alias_file: None,
        verbose: 0,
        recipients: Vec::new(),
        warnings: Vec::new(),
    };
    let mut q = Queue::default();
    let usage = |note: String| OptError {
        note: Some(note),
        fatal: format!("usage: {program} [options]"),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            o.recipients.extend(args[i..].iter().cloned());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            o.recipients.push(arg.clone());
            continue;
        }
        if arg == "-q" {
            if o.mode == Mode::Daemon {
                o.warnings.push("ignoring -q option in daemon mode".into());
            } else {
                o.mode = Mode::FlushAll;
            }
            continue;
        }
        let body = &arg[1..];
        for (pos, c) in body.char_indices() {
            if !WITH_VALUE.contains(c) {
                match c {
                    't' => o.extract = true,
                    'i' => o.ignore_dots = true,
                    'v' => o.verbose += 1,
                    'I' => o.mode = Mode::Aliases,
                    'n' => return Err(OptError::fatal("-n option not supported")),
                    _ if IGNORED.contains(c) => {}
                    _ => return Err(usage(format!("invalid option -- '{c}'"))),
                }
                continue;
            }
            let rest = &body[pos + c.len_utf8()..];
            let value = if !rest.is_empty() {
                rest.to_string()
            } else if i < args.len() {
                i += 1;
                args[i - 1].clone()
            } else {
                return Err(usage(format!("option requires an argument -- '{c}'")));
            };
            apply(&mut o, &mut q, c, value)?;
            break;
        }
    }
    finish(o, q)
}

/// Postfix's checks for conflicting options, and the final mode.
fn finish(mut o: Opts, q: Queue) -> Result<Opts, OptError> {
    if q.verify {
        if o.extract {
            return Err(OptError::fatal("-t option cannot be used with -bv"));
        }
        if o.notify.is_some() {
            return Err(OptError::fatal("-N option cannot be used with -bv"));
        }
        if o.ret.is_some() {
            return Err(OptError::fatal("-R option cannot be used with -bv"));
        }
        if o.verbose == 1 {
            return Err(OptError::fatal("-v option cannot be used with -bv"));
        }
    }
    if o.extract && o.mode != Mode::Deliver {
        return Err(OptError::fatal("-t can be used only in delivery mode"));
    }
    if q.site.is_some() && o.mode != Mode::Deliver {
        return Err(OptError::fatal("-qR can be used only in delivery mode"));
    }
    if q.id.is_some() && o.mode != Mode::Deliver {
        return Err(OptError::fatal("-qI can be used only in delivery mode"));
    }
    if q.interval && o.mode != Mode::Daemon {
        o.mode = Mode::Nothing;
        return Ok(o);
    }
    if o.mode == Mode::Deliver {
        if let Some(site) = q.site {
            o.mode = Mode::FlushSite(site);
        } else if let Some(id) = q.id {
            o.mode = Mode::FlushId(id);
        } else if q.verify {
            o.mode = Mode::Verify;
        }
    }
    let what = match o.mode {
        Mode::Deliver | Mode::Verify | Mode::Nothing => None,
        Mode::ListQueue => Some("display queue mode"),
        Mode::FlushAll => Some("flush queue mode"),
        Mode::Daemon => Some("daemon mode"),
        Mode::Aliases => Some("alias initialization mode"),
        Mode::Smtp => Some("stand-alone mode"),
        Mode::FlushSite(_) => Some("flush site"),
        Mode::FlushId(_) => Some("flush queue_id"),
    };
    match what {
        Some(w) if !o.recipients.is_empty() => {
            Err(OptError::fatal(format!("{w} requires no recipient")))
        }
        _ => Ok(o),
    }
}

fn apply(o: &mut Opts, q: &mut Queue, c: char, value: String) -> Result<(), OptError> {
    match c {
        'b' => match value.chars().next().unwrap_or('?') {
            'm' => o.mode = Mode::Deliver,
            'd' | 'l' => {
                if o.mode == Mode::FlushAll {
                    o.warnings.push("ignoring -q option in daemon mode".into());
                }
                o.mode = Mode::Daemon
            }
            'h' | 'H' => o.mode = Mode::Nothing,
            'i' => o.mode = Mode::Aliases,
            'p' => o.mode = Mode::ListQueue,
            's' => o.mode = Mode::Smtp,
            'v' => q.verify = true,
            other => return Err(OptError::fatal(format!("unsupported: -b{other}"))),
        },
        'B' => {
            o.body = Some(match value.as_str() {
                "8BITMIME" => BodyType::EightBitMime,
                "7BIT" => BodyType::SevenBit,
                _ => return Err(OptError::fatal("-B option needs 8BITMIME or 7BIT")),
            })
        }
        'C' => o.config_dir = Some(config_dir_arg(&value)),
        'f' | 'r' => {
            let (sender, warning) = clean_sender(&value);
            o.sender = Some(sender);
            o.warnings.extend(warning);
        }
        'F' => o.full_name = Some(value),
        'N' => o.notify = parse_notify(&value, &mut o.warnings),
        'R' => {
            o.ret = match value.to_ascii_lowercase().as_str() {
                "full" => Some(DsnRet::Full),
                "hdrs" => Some(DsnRet::Hdrs),
                _ => {
                    o.warnings.push("bad -R option value -- ignored".into());
                    None
                }
            }
        }
        'V' => {
            if value.len() > 100 {
                o.warnings
                    .push("too long -V option value -- ignored".into());
            } else if value.is_empty() || !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
            {
                o.warnings
                    .push("bad syntax in -V option value -- ignored".into());
            } else {
                o.envid = Some(value);
            }
        }
        'X' => match value.chars().next().unwrap_or('?') {
            'V' => o
                .warnings
                .push("-XV: VERP is not supported -- ignored".into()),
            other => return Err(OptError::fatal(format!("unsupported: -X{other}"))),
        },
        'o' => match value.chars().next() {
            Some('i') => o.ignore_dots = true,
            Some('A') if value.len() == 1 => return Err(OptError::fatal("-oA requires pathname")),
            Some('A') => o.alias_file = Some(value[1..].to_string()),
            // -o7 -o8 -om and the rest: ignored, as in Postfix.
            _ => {}
        },
        'q' => match value.chars().next().unwrap_or('?') {
            d if d.is_ascii_digit() => q.interval = true,
            'R' if value.len() == 1 => return Err(OptError::fatal("specify: -qRsitename")),
            'R' => q.site = Some(value[1..].to_string()),
            'I' if value.len() == 1 => return Err(OptError::fatal("specify: -qIqueueid")),
            'I' => q.id = Some(value[1..].to_string()),
            other => return Err(OptError::fatal(format!("-q{other} is not implemented"))),
        },
        // -A, -e, -h hops, -L label, -O option, -p protocol: ignored.
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Opts {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse("sendmail", &v).unwrap()
    }

    fn err(args: &[&str]) -> String {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse("sendmail", &v).unwrap_err().fatal
    }

    #[test]
    fn delivery_options() {
        let o = p(&[
            "-t",
            "-oi",
            "-f",
            "<alice@example.com>",
            "-FAlice A",
            "bob@x.example",
        ]);
        assert!(o.extract && o.ignore_dots);
        assert_eq!(o.sender.as_deref(), Some("alice@example.com"));
        assert_eq!(o.full_name.as_deref(), Some("Alice A"));
        assert_eq!(o.recipients, ["bob@x.example"]);
        assert_eq!(o.mode, Mode::Deliver);
        let o = p(&["-ti", "-f<>", "a@x", "-v", "--", "-odd@x"]);
        assert!(o.extract && o.ignore_dots);
        assert_eq!(o.sender.as_deref(), Some(""));
        assert_eq!(o.recipients, ["a@x", "-odd@x"]);
        assert_eq!(o.verbose, 1);
        let o = p(&[
            "-N",
            "success, delay",
            "-R",
            "HDRS",
            "-V",
            "env-1",
            "-B8BITMIME",
            "-r",
            "x@y",
        ]);
        assert_eq!(
            o.notify,
            Some(DsnNotify(DsnNotify::SUCCESS | DsnNotify::DELAY))
        );
        assert_eq!(o.ret, Some(DsnRet::Hdrs));
        assert_eq!(o.envid.as_deref(), Some("env-1"));
        assert_eq!(o.body, Some(BodyType::EightBitMime));
        assert_eq!(o.sender.as_deref(), Some("x@y"));
    }

    #[test]
    fn sender_is_the_first_address() {
        let o = p(&["-f", "Joe <joe@x.example>", "r@x"]);
        assert_eq!(o.sender.as_deref(), Some("joe@x.example"));
        assert!(o.warnings.is_empty());
        let o = p(&["-f", "a@b, c@d", "r@x"]);
        assert_eq!(o.sender.as_deref(), Some("a@b"));
        assert_eq!(
            o.warnings,
            ["-f option specified malformed sender: a@b, c@d"]
        );
        assert_eq!(p(&["-f", "", "r@x"]).sender.as_deref(), Some(""));
        assert_eq!(
            p(&["-f", "(comment) <>", "r@x"]).sender.as_deref(),
            Some("")
        );
    }

    #[test]
    fn modes_and_names() {
        assert_eq!(p(&["-bp"]).mode, Mode::ListQueue);
        assert_eq!(p(&["-bs"]).mode, Mode::Smtp);
        assert_eq!(p(&["-bi"]).mode, Mode::Aliases);
        assert_eq!(p(&["-I"]).mode, Mode::Aliases);
        assert_eq!(p(&["-bd"]).mode, Mode::Daemon);
        assert_eq!(p(&["-bv", "a@b"]).mode, Mode::Verify);
        assert_eq!(p(&["-q"]).mode, Mode::FlushAll);
        assert_eq!(
            p(&["-qRexample.com"]).mode,
            Mode::FlushSite("example.com".into())
        );
        assert_eq!(p(&["-qIABC"]).mode, Mode::FlushId("ABC".into()));
        assert_eq!(parse("mailq", &[]).unwrap().mode, Mode::ListQueue);
        assert_eq!(parse("newaliases", &[]).unwrap().mode, Mode::Aliases);
        let o = p(&[
            "-oA/etc/aliases2",
            "-om",
            "-o7",
            "-bi",
            "-h",
            "5",
            "-L",
            "x",
        ]);
        assert_eq!(o.alias_file.as_deref(), Some("/etc/aliases2"));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(err(&["-bz"]), "unsupported: -bz");
        assert_eq!(err(&["-B", "binary"]), "-B option needs 8BITMIME or 7BIT");
        assert_eq!(err(&["-B", "8bitmime"]), "-B option needs 8BITMIME or 7BIT");
        assert_eq!(err(&["-n", "a@x"]), "-n option not supported");
        assert_eq!(err(&["-Xfoo", "a@x"]), "unsupported: -Xf");
        assert_eq!(err(&["-oA"]), "-oA requires pathname");
        let v: Vec<String> = ["-Z", "a@x"].iter().map(|s| s.to_string()).collect();
        let e = parse("sendmail", &v).unwrap_err();
        assert_eq!(e.note.as_deref(), Some("invalid option -- 'Z'"));
        assert_eq!(e.fatal, "usage: sendmail [options]");
        let e = parse("mailq", &["-f".to_string()]).unwrap_err();
        assert_eq!(
            e.note.as_deref(),
            Some("option requires an argument -- 'f'")
        );
        assert_eq!(e.fatal, "usage: mailq [options]");
        assert_eq!(err(&["-4", "a@x"]), "usage: sendmail [options]");
    }

    #[test]
    fn bad_dsn_values_are_warnings() {
        let o = p(&["-N", "bogus", "a@x"]);
        assert_eq!(o.notify, None);
        assert_eq!(
            o.warnings,
            [
                "unknown DSN NOTIFY command value \"bogus\" in \"bogus\"",
                "bad -N option value -- ignored"
            ]
        );
        assert_eq!(
            p(&["-N", "never,delay", "a@x"]).warnings,
            ["bad -N option value -- ignored"]
        );
        assert!(p(&["-N", "success delay", "a@x"]).warnings.is_empty());
        let o = p(&["-R", "most", "a@x"]);
        assert_eq!(
            (o.ret, o.warnings),
            (None, vec!["bad -R option value -- ignored".to_string()])
        );
        assert_eq!(p(&["-R", "Full", "a@x"]).ret, Some(DsnRet::Full));
        let o = p(&["-V", "a\tb", "a@x"]);
        assert_eq!(
            (o.envid, o.warnings),
            (
                None,
                vec!["bad syntax in -V option value -- ignored".to_string()]
            )
        );
        assert_eq!(p(&["-V", "a=b+c", "a@x"]).envid.as_deref(), Some("a=b+c"));
        let long = "x".repeat(101);
        assert_eq!(
            p(&["-V", &long, "a@x"]).warnings,
            ["too long -V option value -- ignored"]
        );
    }

    #[test]
    fn conflicts_and_queue_options() {
        assert_eq!(err(&["-t", "-bp"]), "-t can be used only in delivery mode");
        assert_eq!(err(&["-q", "-t"]), "-t can be used only in delivery mode");
        assert_eq!(err(&["-bv", "-t"]), "-t option cannot be used with -bv");
        assert_eq!(
            err(&["-qRsite", "-bp"]),
            "-qR can be used only in delivery mode"
        );
        assert_eq!(
            err(&["-bp", "extra"]),
            "display queue mode requires no recipient"
        );
        assert_eq!(
            err(&["-bi", "extra"]),
            "alias initialization mode requires no recipient"
        );
        assert_eq!(
            err(&["-q", "extra"]),
            "flush queue mode requires no recipient"
        );
        assert_eq!(
            err(&["-bs", "extra"]),
            "stand-alone mode requires no recipient"
        );
        assert_eq!(err(&["-bd", "extra"]), "daemon mode requires no recipient");
        assert_eq!(
            err(&["-qRsite", "extra"]),
            "flush site requires no recipient"
        );
        assert_eq!(
            err(&["-qIABC", "extra"]),
            "flush queue_id requires no recipient"
        );
        assert_eq!(err(&["-qfoo"]), "-qf is not implemented");
        assert_eq!(err(&["-qR"]), "specify: -qRsitename");
        assert_eq!(err(&["-qI"]), "specify: -qIqueueid");
        assert_eq!(p(&["-q1h"]).mode, Mode::Nothing);
        assert_eq!(p(&["-q30m", "a@x"]).mode, Mode::Nothing);
        assert_eq!(p(&["-bh"]).mode, Mode::Nothing);
        assert_eq!(
            p(&["-C", "/etc/x/main.cf"]).config_dir,
            Some(PathBuf::from("/etc/x"))
        );
        assert_eq!(
            p(&["-C", "/nonexistent"]).config_dir,
            Some(PathBuf::from("/nonexistent"))
        );
        let o = p(&[
            "-e", "x", "-c", "-m", "-x", "-U", "-G", "-h", "3", "-A", "a", "-oQ", "r@x",
        ]);
        assert!(o.warnings.is_empty() && o.recipients == ["r@x"]);
    }
}
