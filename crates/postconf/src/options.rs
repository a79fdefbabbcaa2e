//! NAME
//!   options - postconf command-line options
//!
//! SYNOPSIS
//!   postconf [-dfhHnpvx] [-c config_dir] [-C class] [-o name=value] [name ...]
//!   postconf [-fMFPx] [-c config_dir] [service[/type[/field]] ...]
//!   postconf -e|-X|-# [-MFP] [-c config_dir] request ...
//!
//! DESCRIPTION
//!   Options are parsed getopt-style, as Postfix's postconf does: flags
//!   may be combined (`-nf`, `-Mf`, `-Me`), `-c`, `-C` and `-o` take a
//!   value (attached or as the next argument), and option processing stops
//!   at the first argument that is not an option (or after `--`), so a
//!   later `-n` is a parameter name.
//!
//!   Flags form one bit mask. After parsing, `-p` is implied when no other
//!   major mode (`-a -A -b -l -m -M -F -P -t -T`) is given, and `-e` is
//!   implied when the first argument contains `=`. Then two checks run,
//!   with Postfix's messages: groups of mutually exclusive flags
//!   (`specify one of -d -n`), and per major mode the flags it accepts
//!   (`with option -M, do not specify -h`).
//!
//!   clap is not used: it cannot express `-#` nor Postfix's rule that
//!   option processing ends at the first parameter name.
use std::path::PathBuf;

/// `-a`: server SASL plug-in types (not implemented by Postern).
pub const SHOW_SASL_SERV: u32 = 1 << 0;
/// `-A`: client SASL plug-in types (not implemented by Postern).
pub const SHOW_SASL_CLNT: u32 = 1 << 1;
/// `-b`: expanded bounce templates (not implemented by Postern).
pub const EXP_DSN_TEMPL: u32 = 1 << 2;
/// `-C class`: limit output to a parameter class (kept for the message
/// table; Postfix 3.7 does not check it against other options).
pub const PARAM_CLASS: u32 = 1 << 3;
/// `-d`: show defaults.
pub const SHOW_DEFS: u32 = 1 << 4;
/// `-e`: edit.
pub const EDIT_CONF: u32 = 1 << 5;
/// `-f`: fold long lines.
pub const FOLD_LINE: u32 = 1 << 6;
/// `-F`: master.cf fields.
pub const MASTER_FLD: u32 = 1 << 7;
/// `-h`: values only.
pub const HIDE_NAME: u32 = 1 << 8;
/// `-H`: names only.
pub const HIDE_VALUE: u32 = 1 << 9;
/// `-l`: lock methods (not implemented by Postern).
pub const SHOW_LOCKS: u32 = 1 << 10;
/// `-m`: lookup table types (not implemented by Postern).
pub const SHOW_MAPS: u32 = 1 << 11;
/// `-M`: master.cf entries.
pub const MASTER_ENTRY: u32 = 1 << 12;
/// `-n`: only main.cf settings.
pub const SHOW_NONDEF: u32 = 1 << 13;
/// `-o name=value`: override a main.cf value.
pub const MAIN_OVER: u32 = 1 << 14;
/// `-p`: main.cf parameters (the default major mode).
pub const MAIN_PARAM: u32 = 1 << 15;
/// `-P`: master.cf service parameters (`-o` options).
pub const MASTER_PARAM: u32 = 1 << 16;
/// `-t`: bounce templates (not implemented by Postern).
pub const DUMP_DSN_TEMPL: u32 = 1 << 17;
/// `-T mode`: TLS library information (not implemented by Postern).
pub const SHOW_TLS: u32 = 1 << 18;
/// `-x`: expand `$name` in values.
pub const SHOW_EVAL: u32 = 1 << 19;
/// `-X`: remove.
pub const EDIT_EXCL: u32 = 1 << 20;
/// `-#`: comment out.
pub const COMMENT_OUT: u32 = 1 << 21;

/// Option letters in Postfix's message order.
const NAMES: &[(&str, u32)] = &[
    ("-a", SHOW_SASL_SERV),
    ("-A", SHOW_SASL_CLNT),
    ("-b", EXP_DSN_TEMPL),
    ("-C", PARAM_CLASS),
    ("-d", SHOW_DEFS),
    ("-e", EDIT_CONF),
    ("-f", FOLD_LINE),
    ("-F", MASTER_FLD),
    ("-h", HIDE_NAME),
    ("-H", HIDE_VALUE),
    ("-l", SHOW_LOCKS),
    ("-m", SHOW_MAPS),
    ("-M", MASTER_ENTRY),
    ("-n", SHOW_NONDEF),
    ("-o", MAIN_OVER),
    ("-p", MAIN_PARAM),
    ("-P", MASTER_PARAM),
    ("-t", DUMP_DSN_TEMPL),
    ("-T", SHOW_TLS),
    ("-x", SHOW_EVAL),
    ("-X", EDIT_EXCL),
    ("-#", COMMENT_OUT),
];

/// The major modes; exactly one may be given.
pub const MAJOR: u32 = SHOW_SASL_SERV
    | SHOW_SASL_CLNT
    | EXP_DSN_TEMPL
    | SHOW_LOCKS
    | SHOW_MAPS
    | DUMP_DSN_TEMPL
    | MAIN_PARAM
    | MASTER_ENTRY
    | MASTER_FLD
    | MASTER_PARAM
    | SHOW_TLS;

/// The edit modifiers.
pub const EDITING: u32 = EDIT_CONF | EDIT_EXCL | COMMENT_OUT;

/// Groups of which at most one flag may be given.
const EXCLUSIVE: &[u32] = &[
    MAJOR,
    SHOW_DEFS | EDIT_CONF | SHOW_NONDEF | COMMENT_OUT | EDIT_EXCL,
    FOLD_LINE | EDITING,
    SHOW_EVAL | EDITING,
    MAIN_OVER | SHOW_DEFS | EDITING,
    HIDE_NAME | EDITING | HIDE_VALUE,
];

/// Each major mode (and `-C`) with the flags it may be combined with.
const COMPATIBLE: &[(u32, u32)] = &[
    (SHOW_SASL_SERV, 0),
    (SHOW_SASL_CLNT, 0),
    (EXP_DSN_TEMPL, 0),
    (SHOW_LOCKS, 0),
    (SHOW_MAPS, 0),
    (SHOW_TLS, 0),
    (DUMP_DSN_TEMPL, 0),
    (
        MAIN_PARAM,
        EDITING
            | FOLD_LINE
            | HIDE_NAME
            | PARAM_CLASS
            | SHOW_EVAL
            | SHOW_DEFS
            | SHOW_NONDEF
            | MAIN_OVER
            | HIDE_VALUE,
    ),
    (MASTER_ENTRY, EDITING | FOLD_LINE | MAIN_OVER | SHOW_EVAL),
    (
        MASTER_FLD,
        EDIT_CONF | FOLD_LINE | HIDE_NAME | MAIN_OVER | SHOW_EVAL | HIDE_VALUE,
    ),
    (
        MASTER_PARAM,
        EDIT_CONF | EDIT_EXCL | FOLD_LINE | HIDE_NAME | MAIN_OVER | SHOW_EVAL | HIDE_VALUE,
    ),
];

/// The parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The flag bits above.
    pub mode: u32,
    /// `-c config_dir`.
    pub config_dir: Option<PathBuf>,
    /// `-C class` values (`builtin`, `service`, `user`, `all`).
    pub class: Option<String>,
    /// `-o name=value`, in order.
    pub overrides: Vec<String>,
    /// Number of `-v` flags.
    pub verbose: u32,
    /// `-T` argument (accepted, not implemented).
    pub tls_arg: Option<String>,
    /// The hidden `--man5` flag: print postconf(5) and exit.
    pub man5: bool,
    /// The arguments after the options.
    pub args: Vec<String>,
}

impl Options {
    /// Whether all bits of `flag` are set.
    pub fn has(&self, flag: u32) -> bool {
        self.mode & flag == flag
    }
}

/// Postfix's usage text (after `usage: `) for program `prog`.
pub fn usage(prog: &str) -> String {
    format!(
        "usage: {prog} [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] \
         [-c config_dir] [-C param_class] [-d (parameter defaults)] [-e (edit configuration)] \
         [-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] [-l (lock types)] \
         [-m (map types)] [-M (master.cf)] [-n (non-default parameters)] \
         [-o name=value (override parameter value)] [-p (main.cf, default)] [-P (master.cf parameters)] \
         [-t (bounce templates)] [-T compile-version|run-version|public-key-algorithms] [-v (verbose)] \
         [-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]"
    )
}

/// A command-line error: `Usage` carries the getopt complaint (printed
/// before the usage line), `Fatal` a Postfix fatal message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptError {
    /// Bad option letter or missing option value.
    Usage(String),
    /// Conflicting options and similar.
    Fatal(String),
}

/// Parse `args` (without the program name). Applies the implied `-p` and
/// `-e` and runs [`check`].
///
/// Errors: an unknown option letter (`invalid option -- 'Z'`), a missing
/// option value (`option requires an argument -- 'c'`), or a conflict.
pub fn parse(args: &[String]) -> Result<Options, OptError> {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if arg == "--man5" {
            o.man5 = true;
            i += 1;
            continue;
        }
        if !arg.starts_with('-') || arg.len() < 2 {
            break;
        }
        let chars: Vec<char> = arg.chars().collect();
        let mut j = 1;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            if matches!(c, 'c' | 'C' | 'o' | 'T') {
                let value = if j < chars.len() {
                    let v: String = chars[j..].iter().collect();
                    j = chars.len();
                    v
                } else if i + 1 < args.len() {
                    i += 1;
                    args[i].clone()
                } else {
                    return Err(OptError::Usage(format!(
                        "option requires an argument -- '{c}'"
                    )));
                };
                match c {
                    'c' => o.config_dir = Some(PathBuf::from(value)),
                    // Postfix 3.7 checks -C against no other option.
                    'C' => o.class = Some(value),
                    'o' => {
                        o.mode |= MAIN_OVER;
                        o.overrides.push(value);
                    }
                    _ => {
                        if o.tls_arg.is_some() {
                            return Err(OptError::Fatal(
                                "At most one -T <mode> option may be specified".to_string(),
                            ));
                        }
                        o.mode |= SHOW_TLS;
                        o.tls_arg = Some(value);
                    }
                }
                continue;
            }
            let bit = match c {
                'a' => SHOW_SASL_SERV,
                'A' => SHOW_SASL_CLNT,
                'b' => EXP_DSN_TEMPL,
                'd' => SHOW_DEFS,
                'e' => EDIT_CONF,
                'f' => FOLD_LINE,
                'F' => MASTER_FLD,
                'h' => HIDE_NAME,
                'H' => HIDE_VALUE,
                'l' => SHOW_LOCKS,
                'm' => SHOW_MAPS,
                'M' => MASTER_ENTRY,
                'n' => SHOW_NONDEF,
                'p' => MAIN_PARAM,
                'P' => MASTER_PARAM,
                't' => DUMP_DSN_TEMPL,
                'x' => SHOW_EVAL,
                'X' => EDIT_EXCL,
                '#' => COMMENT_OUT,
                'v' => {
                    o.verbose += 1;
                    0
                }
                _ => return Err(OptError::Usage(format!("invalid option -- '{c}'"))),
            };
            if bit & (EXP_DSN_TEMPL | DUMP_DSN_TEMPL) != 0
                && o.mode & (EXP_DSN_TEMPL | DUMP_DSN_TEMPL) != 0
            {
                return Err(OptError::Fatal("specify one of -b and -t".to_string()));
            }
            o.mode |= bit;
        }
        i += 1;
    }
    o.args = args[i..].to_vec();
    if o.mode & MAJOR == 0 {
        o.mode |= MAIN_PARAM;
    }
    if o.mode & (MAIN_PARAM | MASTER_ENTRY | MASTER_FLD | MASTER_PARAM) != 0
        && o.args.first().is_some_and(|a| a.contains('='))
    {
        o.mode |= EDIT_CONF;
    }
    if !o.man5 {
        check(o.mode).map_err(OptError::Fatal)?;
        if o.has(EDIT_CONF) && o.args.is_empty() {
            return Err(OptError::Fatal(
                "-e requires name=value argument".to_string(),
            ));
        }
    }
    Ok(o)
}

/// The option letters of the bits in `mask`, in Postfix's order,
/// separated by spaces (`-d -n`).
pub fn flag_names(mask: u32) -> String {
    NAMES
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Check `mode` for mutually exclusive and incompatible flags.
///
/// Errors: `specify one of -d -n`, `with option -M, do not specify -h`.
pub fn check(mode: u32) -> Result<(), String> {
    for group in EXCLUSIVE {
        let set = group & mode;
        if set.count_ones() > 1 {
            return Err(format!("specify one of {}", flag_names(set)));
        }
    }
    for (major, allowed) in COMPATIBLE {
        if mode & major != 0 {
            let excess = mode & !(major | allowed);
            if excess != 0 {
                return Err(format!(
                    "with option {}, do not specify {}",
                    flag_names(*major),
                    flag_names(excess)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> Result<Options, OptError> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn combined_flags_and_values() {
        let o = p(&["-nf", "-c/tmp/x", "-o", "a=b", "mail_name"]).unwrap();
        assert!(o.has(SHOW_NONDEF | FOLD_LINE | MAIN_PARAM));
        assert_eq!(o.config_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(o.overrides, vec!["a=b"]);
        assert_eq!(o.args, vec!["mail_name"]);
        let o = p(&["-Mf", "smtp/inet"]).unwrap();
        assert!(o.has(MASTER_ENTRY | FOLD_LINE));
        assert!(!o.has(MAIN_PARAM));
        let o = p(&["-#", "relayhost"]).unwrap();
        assert!(o.has(COMMENT_OUT));
        let o = p(&["-M#", "x/unix"]).unwrap();
        assert!(o.has(COMMENT_OUT | MASTER_ENTRY));
    }

    #[test]
    fn options_stop_at_first_name() {
        let o = p(&["mail_name", "-n"]).unwrap();
        assert_eq!(o.args, vec!["mail_name", "-n"]);
        assert!(!o.has(SHOW_NONDEF));
        let o = p(&["--", "-n"]).unwrap();
        assert_eq!(o.args, vec!["-n"]);
    }

    #[test]
    fn name_value_implies_edit() {
        let o = p(&["relayhost=x"]).unwrap();
        assert!(o.has(EDIT_CONF | MAIN_PARAM));
        let o = p(&["-M", "a/unix=a unix - - n - - cmd"]).unwrap();
        assert!(o.has(EDIT_CONF | MASTER_ENTRY));
        assert_eq!(
            p(&["-X", "a=1"]).unwrap_err(),
            OptError::Fatal("specify one of -e -X".into())
        );
    }

    #[test]
    fn conflicts_use_postfix_messages() {
        let fatal = |l: &[&str]| match p(l) {
            Err(OptError::Fatal(m)) => m,
            other => panic!("{l:?}: {other:?}"),
        };
        assert_eq!(fatal(&["-d", "-n"]), "specify one of -d -n");
        assert_eq!(fatal(&["-M", "-F"]), "specify one of -F -M");
        assert_eq!(fatal(&["-P", "-M"]), "specify one of -M -P");
        assert_eq!(fatal(&["-#", "-X", "a"]), "specify one of -X -#");
        assert_eq!(fatal(&["-x", "-e", "a=b"]), "specify one of -e -x");
        assert_eq!(fatal(&["-f", "-e", "a=1"]), "specify one of -e -f");
        assert_eq!(fatal(&["-h", "-M"]), "with option -M, do not specify -h");
        assert_eq!(fatal(&["-n", "-M"]), "with option -M, do not specify -n");
        assert_eq!(fatal(&["-e"]), "-e requires name=value argument");
    }

    #[test]
    fn getopt_errors() {
        assert_eq!(
            p(&["-Z"]).unwrap_err(),
            OptError::Usage("invalid option -- 'Z'".into())
        );
        assert_eq!(
            p(&["-c"]).unwrap_err(),
            OptError::Usage("option requires an argument -- 'c'".into())
        );
        assert!(usage("postconf").starts_with("usage: postconf [-a (server SASL types)]"));
    }
}
