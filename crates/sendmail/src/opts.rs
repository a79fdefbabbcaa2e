//! NAME
//!   opts - sendmail(1) command-line options
//!
//! DESCRIPTION
//!   [`parse`] reads Sendmail-style options the way Postfix's sendmail
//!   does: options may be clustered (`-ti`), an option's value may be
//!   attached (`-falice`) or the next argument (`-f alice`), options and
//!   recipients may be mixed, and `--` ends the options. Options that
//!   Postfix accepts for compatibility and ignores (`-4 -6 -G -U -c -e -m
//!   -n -x -h N -L label -O opt -p proto -X file -A x -o7 -o8 -om`) are
//!   accepted and ignored here too.
//!
//!   The program name chooses the default mode: `mailq` lists the queue
//!   (`-bp`), `newaliases` rebuilds the aliases (`-bi`).
use queue::{DsnNotify, DsnRet};
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `-bm` (default): read a message and queue it.
    Deliver,
    /// `-bd`/`-bl`: daemon mode (refused: use `postfix start`).
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

/// Options that take a value.
const WITH_VALUE: &str = "BCFLNORVXbfhopr";
/// Options that are accepted and ignored.
const IGNORED: &str = "46GUcemnx";

fn parse_notify(v: &str) -> Option<DsnNotify> {
    let cleaned: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    DsnNotify::parse(&cleaned)
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

/// Parse `args` (without the program name); `program` is the name the
/// program was invoked as. Errors: the text of a `fatal:` message.
pub fn parse(program: &str, args: &[String]) -> Result<Opts, String> {
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
        let body = &arg[1..];
        for (pos, c) in body.char_indices() {
            if c == 'q' {
                // -q takes only an attached value: -q, -q1h, -qRsite, -qIid.
                let rest = &body[pos + 1..];
                o.mode = if rest.is_empty() {
                    Mode::FlushAll
                } else if let Some(site) = rest.strip_prefix('R') {
                    Mode::FlushSite(site.to_string())
                } else if let Some(id) = rest.strip_prefix('I') {
                    Mode::FlushId(id.to_string())
                } else {
                    o.warnings.push(format!("ignoring -q{rest} option"));
                    o.mode.clone()
                };
                break;
            }
            if !WITH_VALUE.contains(c) {
                match c {
                    't' => o.extract = true,
                    'i' => o.ignore_dots = true,
                    'v' => o.verbose += 1,
                    'I' => o.mode = Mode::Aliases,
                    _ if IGNORED.contains(c) => {}
                    _ => return Err(format!("unsupported: -{c}")),
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
                return Err(format!("option requires an argument -- '{c}'"));
            };
            apply(&mut o, c, value)?;
            break;
        }
    }
    Ok(o)
}

fn apply(o: &mut Opts, c: char, value: String) -> Result<(), String> {
    match c {
        'b' => {
            o.mode = match value.as_str() {
                "m" => Mode::Deliver,
                "d" | "l" => Mode::Daemon,
                "i" => Mode::Aliases,
                "p" => Mode::ListQueue,
                "s" => Mode::Smtp,
                "v" => Mode::Verify,
                _ => return Err(format!("unsupported: -b{value}")),
            }
        }
        'B' => {
            o.body = Some(match value.to_ascii_uppercase().as_str() {
                "8BITMIME" => BodyType::EightBitMime,
                "7BIT" => BodyType::SevenBit,
                _ => return Err("-B option needs 8BITMIME or 7BIT".into()),
            })
        }
        'C' => {
            let p = PathBuf::from(&value);
            o.config_dir = Some(if p.is_dir() {
                p
            } else {
                p.parent().map(PathBuf::from).unwrap_or(p)
            });
        }
        'f' | 'r' => {
            let (sender, warning) = clean_sender(&value);
            o.sender = Some(sender);
            o.warnings.extend(warning);
        }
        'F' => o.full_name = Some(value),
        'N' => {
            o.notify =
                Some(parse_notify(&value).ok_or_else(|| format!("bad -N option value: {value}"))?)
        }
        'R' => {
            o.ret = Some(match value.to_ascii_lowercase().as_str() {
                "full" => DsnRet::Full,
                "hdrs" => DsnRet::Hdrs,
                _ => return Err(format!("bad -R option value: {value}")),
            })
        }
        'V' => {
            if value.is_empty()
                || value.len() > 100
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'+' && b != b'=')
            {
                return Err(format!("bad -V option value: {value}"));
            }
            o.envid = Some(value);
        }
        'o' => match value.chars().next() {
            Some('i') => o.ignore_dots = true,
            Some('A') => o.alias_file = Some(value[1..].to_string()),
            Some('7' | '8' | 'm') => {}
            _ => o.warnings.push(format!("ignoring -o{value} option")),
        },
        // -h hops, -L label, -O option, -p protocol, -X logfile: ignored.
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
        parse("sendmail", &v).unwrap_err()
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
        assert_eq!(p(&["-q1h"]).warnings, ["ignoring -q1h option"]);
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
            "-4",
        ]);
        assert_eq!(o.alias_file.as_deref(), Some("/etc/aliases2"));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn errors() {
        assert_eq!(err(&["-bz"]), "unsupported: -bz");
        assert_eq!(err(&["-f"]), "option requires an argument -- 'f'");
        assert_eq!(err(&["-N", "sometimes"]), "bad -N option value: sometimes");
        assert_eq!(
            err(&["-N", "never,delay"]),
            "bad -N option value: never,delay"
        );
        assert_eq!(err(&["-R", "most"]), "bad -R option value: most");
        assert_eq!(err(&["-B", "binary"]), "-B option needs 8BITMIME or 7BIT");
        assert_eq!(err(&["-V", "a=b"]), "bad -V option value: a=b");
        assert_eq!(err(&["-k"]), "unsupported: -k");
    }
}
