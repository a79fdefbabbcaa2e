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
    // As Postfix's sendmail: a line break ends the address (`-f
    // $'a@b.example\nX-Evil: 1'` gives `a@b.example`, never a header)
    // and makes the value malformed; the warning shows control
    // characters as `?`.
    let first = v.split(['\r', '\n']).next().unwrap_or("");
    let addrs = crate::addr::parse_list(first);
    let shown: String = v
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let warning = (addrs.len() > 1 || first.len() != v.len())
        .then(|| format!("-f option specified malformed sender: {shown}"));
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
#[path = "opts_tests.rs"]
mod tests;
