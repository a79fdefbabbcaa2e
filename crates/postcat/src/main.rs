//! NAME
//!   postcat - show the contents of queue files
//!
//! SYNOPSIS
//!   postcat [-behov] [-c config_dir] [-q] [file(s)...]
//!
//! DESCRIPTION
//!   postcat prints queue files (doc/QUEUE_FORMAT.md) in Postfix's
//!   layout ([`show`]): the envelope records under `*** ENVELOPE RECORDS
//!   name ***`, the message under `*** MESSAGE CONTENTS name ***`, the
//!   records after the content under `*** HEADER EXTRACTED name ***`, and
//!   `*** MESSAGE FILE END name ***`.
//!
//!   `-e` shows the envelope (with the section banners), `-h` the
//!   message headers, `-b` the body (from the empty line that ends the
//!   headers); none of them means all three. `-o` prefixes each record
//!   with its file offset. `-q` takes the arguments as queue IDs and
//!   looks for them in the queues (incoming, active, deferred, hold,
//!   maildrop, saved, corrupt); without it they are file names. With no
//!   argument postcat reads standard input.
//!
//!   postcat reads the records one by one without requiring a complete
//!   file, so it also shows files that are being written, truncated or
//!   corrupt, up to the first bad record.
//!
//! DIAGNOSTICS
//!   `postcat: fatal: open queue file ID: No such file or directory`;
//!   `postcat: fatal: bad mail queue ID: ID` for `-q` with something that
//!   is not a queue ID; a file that does not start as a queue file gives
//!   `postcat: warning: name: input is not a valid queue file` (and is
//!   not shown; the exit status stays 0, as Postfix's); a bad record
//!   gives `postcat: warning: name: REASON` and the exit status 1. With
//!   `-q` a file is named by its path in the queue directory
//!   (`deferred/D/ID`).
//!
//! CONFIGURATION PARAMETERS
//!   queue_directory, hash_queue_names, hash_queue_depth.
//!
//! SEE ALSO
//!   postqueue(1), postsuper(1), doc/QUEUE_FORMAT.md
#![forbid(unsafe_code)]

mod show;

use global::{cmdlog, Config};
use queue::{QueueDir, QueueId};
use show::Sections;
use std::io::Write;
use std::path::PathBuf;
use util::{msg_fatal, msg_warn};

const USAGE: &str = "usage: postcat [-b (body)] [-c config_dir] [-e (envelope)] [-h (headers)] \
[-o (offsets)] [-q (access queue)] [-v] [file(s)...]";

#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    sections: Sections,
    offsets: bool,
    by_id: bool,
    config_dir: Option<PathBuf>,
    names: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            a.names.extend(args[i..].iter().cloned());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            a.names.push(arg.clone());
            continue;
        }
        for c in arg[1..].chars() {
            match c {
                'b' => a.sections.body = true,
                'e' => a.sections.envelope = true,
                'h' => a.sections.headers = true,
                'o' => a.offsets = true,
                'q' => a.by_id = true,
                'v' => util::msg::set_verbose(1),
                'r' | 's' => {}
                'c' => {
                    i += 1;
                    a.config_dir = Some(PathBuf::from(
                        args.get(i - 1).ok_or_else(|| USAGE.to_string())?,
                    ));
                }
                _ => return Err(USAGE.to_string()),
            }
        }
    }
    if !a.sections.any() {
        a.sections = Sections::all();
    }
    Ok(a)
}

fn main() {
    cmdlog::init("postcat");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = parse(&args).unwrap_or_else(|e| msg_fatal!("{e}"));
    let cfg = Config::load(a.config_dir.as_deref()).unwrap_or_else(|e| msg_fatal!("{e}"));
    cmdlog::open(&cfg);
    let mut out = std::io::stdout().lock();
    let mut ok = true;
    if a.names.is_empty() {
        let stdin = std::io::stdin();
        ok &= show::show(&mut stdin.lock(), "stdin", a.sections, a.offsets, &mut out);
    }
    let qdir = QueueDir::from_config(&cfg).unwrap_or_else(|e| msg_fatal!("{e}"));
    for name in &a.names {
        let (label, path) = if a.by_id {
            if !id_syntax_ok(name) {
                msg_fatal!("bad mail queue ID: {name}");
            }
            let found = QueueId::parse(name).and_then(|id| qdir.find(&id));
            match found {
                // Named as Postfix does: the path in the queue directory,
                // hash subdirectories included (deferred/D/ID).
                Some((q, p)) => {
                    let rel = p.strip_prefix(qdir.root()).unwrap_or(&p);
                    let label = rel
                        .to_str()
                        .map_or_else(|| format!("{q}/{name}"), str::to_string);
                    (label, p)
                }
                None => msg_fatal!("open queue file {name}: No such file or directory"),
            }
        } else {
            (name.clone(), PathBuf::from(name))
        };
        match std::fs::File::open(&path) {
            Ok(f) => {
                let mut r = std::io::BufReader::new(f);
                ok &= show::show(&mut r, &label, a.sections, a.offsets, &mut out);
            }
            Err(e) => {
                msg_warn!(
                    "open {}: {}",
                    path.display(),
                    util::strings::strip_os_error(&e.to_string())
                );
                ok = false;
            }
        }
    }
    let _ = out.flush();
    std::process::exit(if ok { 0 } else { 1 });
}

/// Whether `id` has the syntax of a queue ID (Postfix's
/// mail_queue_id_ok: letters and digits, not too long); anything else,
/// such as a path, is refused before the queue is searched.
fn id_syntax_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let a = parse(&v(&["-q", "ID"])).unwrap();
        assert!(a.by_id && a.sections == Sections::all());
        let a = parse(&v(&["-hb", "-o", "f"])).unwrap();
        assert!(a.sections.headers && a.sections.body && !a.sections.envelope && a.offsets);
        assert!(parse(&v(&["-x"])).is_err());
        assert!(id_syntax_ok("4jd59W6HTrz1T1Dx") && id_syntax_ok("CC4BF9AE10C"));
        assert!(!id_syntax_ok("../../x") && !id_syntax_ok("") && !id_syntax_ok("a/b"));
    }
}
