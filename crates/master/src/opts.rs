//! NAME
//!   opts - master's command line
//!
//! SYNOPSIS
//!   `master [-Ddistvw] [-c config_dir] [-e exit_time]`
//!
//! DESCRIPTION
//!   As master(8):
//!
//!   - `-c dir`: read main.cf and master.cf in `dir`; children get it as
//!     `MAIL_CONFIG`.
//!   - `-d`: stay in the foreground and keep stdin/stdout/stderr (log
//!     messages are also copied to stderr).
//!   - `-D`: accepted and ignored (Postfix runs a debugger).
//!   - `-e seconds`: exit after that time; children finish at their
//!     convenience.
//!   - `-i`: init mode (process ID 1 only): stay in the foreground and keep
//!     stdout.
//!   - `-s`: keep stdout when detaching (`maillog_file = /dev/stdout`).
//!   - `-t`: test: exit 0 when no master of this instance runs, 1 when one
//!     does.
//!   - `-v`: verbose logging, passed on to children.
//!   - `-w`: detach, and have the foreground process wait until the
//!     daemon has opened its listeners; exit 0 then, 1 if it failed.

/// master's options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opts {
    /// `-c`.
    pub config_dir: Option<String>,
    /// `-d`.
    pub foreground: bool,
    /// `-e`, seconds.
    pub exit_time: Option<u64>,
    /// `-i`.
    pub init_mode: bool,
    /// `-s`.
    pub keep_stdout: bool,
    /// `-t`.
    pub test: bool,
    /// `-v` count.
    pub verbose: u32,
    /// `-w`.
    pub wait: bool,
}

/// The usage line printed with bad options.
pub const USAGE: &str =
    "usage: master [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] \
[-e exit_time] [-i (init mode)] [-s (keep stdout)] [-t (test)] [-v] [-w (wait for initialization)]";

/// Parse master's arguments (without the program name), getopt style.
/// Errors: unknown options, missing or bad values, extra arguments.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            return Err(format!("unexpected argument: {arg}"));
        };
        for (i, c) in flags.char_indices() {
            match c {
                'd' => o.foreground = true,
                'D' => {}
                'i' => o.init_mode = true,
                's' => o.keep_stdout = true,
                't' => o.test = true,
                'v' => o.verbose += 1,
                'w' => o.wait = true,
                'c' | 'e' => {
                    let rest = &flags[i + 1..];
                    let v = if rest.is_empty() {
                        it.next()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?
                    } else {
                        rest.to_string()
                    };
                    if c == 'c' {
                        o.config_dir = Some(v);
                    } else {
                        o.exit_time = Some(v.parse().map_err(|_| format!("bad exit time: {v}"))?);
                    }
                    break;
                }
                other => return Err(format!("invalid option -- '{other}'")),
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &[&str]) -> Result<Opts, String> {
        parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn options() {
        let o = p(&["-c", "/tmp/x", "-dvv", "-e10", "-w"]).unwrap();
        assert_eq!(o.config_dir.as_deref(), Some("/tmp/x"));
        assert!(o.foreground && o.wait && !o.test);
        assert_eq!(o.verbose, 2);
        assert_eq!(o.exit_time, Some(10));
        assert!(p(&["-t"]).unwrap().test);
        assert!(p(&["-x"]).unwrap_err().contains("invalid option"));
        assert!(p(&["-c"]).unwrap_err().contains("requires an argument"));
        assert!(p(&["-e", "soon"]).is_err());
        assert!(p(&["start"]).is_err());
    }
}
