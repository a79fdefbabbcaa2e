//! NAME
//!   run_show - the display modes of postconf: parameters, -M, -F, -P
//!
//! DESCRIPTION
//!   [`params`] prints main.cf parameters (no option, `-n`, `-d`, names,
//!   with `-h`, `-H`, `-x`, `-f`, `-C`, `-o`); then, unless `-d` was
//!   given, warns about settings that nothing uses. [`master`] prints
//!   master.cf entries (`-M`), fields (`-F`) or service parameters
//!   (`-P`), filtered by `service[/type[/field]]` patterns, then warns
//!   about unused master.cf `-o` parameters. Patterns that match nothing
//!   give `unmatched request: "pattern"`.
//!
//! DIAGNOSTICS
//!   `open DIR/main.cf: No such file or directory` is fatal except with
//!   `-d`; a missing master.cf is a warning for parameter output and
//!   fatal for `-M`, `-F` and `-P`. An `inet_interfaces` value that names
//!   no local address is fatal except with `-d`
//!   (`config variable inet_interfaces: host not found: ipv4`).
use crate::master_show::{
    self, field_index, format_entry, format_field, format_param, Entry, Pattern,
};
use crate::options::*;
use crate::params_show::{Class, Params, RAW_PARAMS};
use crate::print::{param_line, Style};
use crate::{config_dir, strerror, write_out, Stop};

/// Flush standard output before warnings, so the two streams keep their
/// order on a terminal. Errors: a write error.
fn flush(out: &mut dyn Write) -> Result<(), Stop> {
    out.flush()
        .map_err(|e| Stop::Fatal(format!("write error: {}", strerror(&e))))
}
use global::main_cf_edit::split_nameval;
use global::Config;
use std::io::Write;
use std::path::Path;

fn style(opts: &Options) -> Style {
    Style {
        hide_name: opts.has(HIDE_NAME),
        hide_value: opts.has(HIDE_VALUE),
        fold: opts.has(FOLD_LINE),
    }
}

/// Read main.cf from `dir` and apply the `-o` overrides.
///
/// Errors: main.cf missing or unreadable, a syntax error, a bad `-o`.
pub(crate) fn load_config(dir: &Path, overrides: &[String]) -> Result<Config, Stop> {
    let path = dir.join("main.cf");
    if let Err(e) = std::fs::metadata(&path) {
        return Err(Stop::Fatal(format!(
            "open {}: {}",
            path.display(),
            strerror(&e)
        )));
    }
    let mut cfg = Config::load(Some(dir)).map_err(|e| Stop::Fatal(e.to_string()))?;
    for w in &cfg.main_cf().warnings {
        util::msg_warn!("{w}");
    }
    for o in overrides {
        let (n, v) = split_nameval(o).map_err(|e| format!("{e}: \"{o}\""))?;
        cfg.set_override(&n, &v);
    }
    // As Postfix: the addresses of inet_interfaces (of which mynetworks
    // is made) must exist before anything is shown.
    cfg.own_networks().map_err(|e| Stop::Fatal(e.to_string()))?;
    Ok(cfg)
}

/// Read master.cf from `dir` as postconf entries.
///
/// Errors: the file cannot be read (the message, for the caller to
/// warn or fail), or a syntax error (always fatal).
pub(crate) fn load_master(dir: &Path) -> Result<Result<Vec<Entry>, String>, Stop> {
    let path = dir.join("master.cf");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return Ok(Err(format!("open {}: {}", path.display(), strerror(&e)))),
    };
    // Not master_cf::parse: Postfix's postconf lists a duplicate service
    // as it is (only master refuses it).
    let (lines, orphans) = global::main_cf::logical_lines(&text);
    let syntax = |line: usize, reason: String| {
        let file = path.display().to_string();
        Stop::Fatal(global::main_cf::SyntaxError { file, line, reason }.to_string())
    };
    if let Some((line, t)) = orphans.first() {
        let reason = format!("logical line must not start with whitespace: \"{t}\"");
        return Err(syntax(*line, reason));
    }
    let mut entries = Vec::new();
    for (line, text) in lines {
        let e = global::master_cf::parse_entry(&text, line).map_err(|r| syntax(line, r))?;
        entries.push(Entry::from_master(&e));
    }
    Ok(Ok(entries))
}

fn class_filter(opts: &Options) -> Result<Vec<Class>, Stop> {
    let Some(spec) = &opts.class else {
        return Ok(vec![Class::Builtin, Class::Service, Class::User]);
    };
    let mut out = Vec::new();
    for word in util::strings::split_list(spec) {
        match word.to_ascii_lowercase().as_str() {
            "builtin" => out.push(Class::Builtin),
            "service" => out.push(Class::Service),
            "user" => out.push(Class::User),
            "all" => out.extend([Class::Builtin, Class::Service, Class::User]),
            _ => {
                return Err(Stop::Fatal(format!(
                    "unknown -C option value \"{word}\" in \"{spec}\""
                )))
            }
        }
    }
    Ok(out)
}

/// Print main.cf parameters as the options ask.
pub(crate) fn params(opts: &Options, out: &mut dyn Write) -> Result<(), Stop> {
    let (dir, dir_given) = config_dir(opts.config_dir.as_deref());
    let defaults = opts.has(SHOW_DEFS);
    let cfg = if defaults {
        Config::from_text(&dir, "").map_err(|e| Stop::Fatal(e.to_string()))?
    } else {
        load_config(&dir, &opts.overrides)?
    };
    let entries = match load_master(&dir)? {
        Ok(e) => e,
        Err(msg) => {
            util::msg_warn!("{msg}");
            Vec::new()
        }
    };
    let p = Params::new(cfg, entries, !defaults);
    let classes = class_filter(opts)?;
    let st = style(opts);
    if !defaults {
        for w in p.undefined() {
            util::msg_warn!("{w}");
        }
    }
    let show = |name: &str, text: &mut String| -> Result<(), Stop> {
        if opts.has(SHOW_NONDEF) && !p.is_explicit(name, dir_given) {
            return Ok(());
        }
        let mut value = p.raw(name, defaults);
        if name == "config_directory" && !defaults && p.cfg.explicit(name).is_none() {
            value = dir.display().to_string();
        }
        if opts.has(SHOW_EVAL) && !opts.has(HIDE_VALUE) && !RAW_PARAMS.contains(&name) {
            value = p.expand(&value).map_err(|e| format!("{name}: {e}"))?;
        }
        text.push_str(&param_line(name, &value, st));
        Ok(())
    };
    let mut text = String::new();
    if opts.args.is_empty() {
        for (name, class) in &p.names {
            if classes.contains(class) {
                show(name, &mut text)?;
            }
        }
    } else {
        for name in &opts.args {
            match p.class(name) {
                Some(_) => show(name, &mut text)?,
                None => util::msg_warn!("{name}: unknown parameter"),
            }
        }
    }
    write_out(out, &text)?;
    flush(out)?;
    if !defaults {
        for w in p.unused() {
            util::msg_warn!("{w}");
        }
    }
    Ok(())
}

/// Print master.cf entries, fields or parameters.
pub(crate) fn master(opts: &Options, out: &mut dyn Write) -> Result<(), Stop> {
    let (dir, _) = config_dir(opts.config_dir.as_deref());
    let entries = load_master(&dir)?.map_err(Stop::Fatal)?;
    let cfg = load_config(&dir, &opts.overrides)?;
    let p = Params::new(cfg, entries, true);
    for w in p.undefined() {
        util::msg_warn!("{w}");
    }
    let st = style(opts);
    let (min, max, usage) = if opts.has(MASTER_ENTRY) {
        (1, 2, "-M option requires service_name[/type]")
    } else if opts.has(MASTER_FLD) {
        (1, 3, "-F option requires service_name[/type[/field]]")
    } else {
        (1, 3, "-P option requires service_name[/type[/parameter]]")
    };
    let mut patterns = Vec::new();
    for raw in &opts.args {
        let pat = Pattern::parse(raw, min, max).ok_or(usage)?;
        let field = if opts.has(MASTER_FLD) {
            field_index(&pat.parts[2])?
        } else {
            None
        };
        patterns.push((raw.clone(), pat, field, 0usize));
    }
    let mut text = String::new();
    for e in &p.entries {
        let mut scfg = p.cfg.clone();
        scfg.set_override("service_name", e.service());
        for (n, v) in e.params() {
            scfg.set_override(&n, &v);
        }
        let eval = opts.has(SHOW_EVAL);
        let expand = |v: &str| -> String {
            if eval {
                scfg.expand_text(v)
                    .map(|x| x.value)
                    .unwrap_or_else(|_| v.to_string())
            } else {
                v.to_string()
            }
        };
        let emit = |field: Option<usize>, param: Option<&str>, text: &mut String| -> bool {
            if opts.has(MASTER_ENTRY) {
                text.push_str(&format_entry(e, st.fold, &expand));
                return true;
            }
            if opts.has(MASTER_FLD) {
                match field {
                    Some(f) => text.push_str(&format_field(e, f, st, &expand)),
                    None => (0..=master_show::CMD)
                        .for_each(|f| text.push_str(&format_field(e, f, st, &expand))),
                }
                return true;
            }
            let mut any = false;
            for (n, v) in e.params() {
                if !param.is_some_and(|want| want != "*" && want != n) {
                    text.push_str(&format_param(e, &n, &expand(&v), st));
                    any = true;
                }
            }
            any
        };
        if patterns.is_empty() {
            emit(None, None, &mut text);
            continue;
        }
        for (_, pat, field, count) in patterns.iter_mut() {
            if pat.matches(e.service(), e.kind())
                && emit(*field, pat.parts.get(2).map(String::as_str), &mut text)
            {
                *count += 1;
            }
        }
    }
    write_out(out, &text)?;
    flush(out)?;
    for (raw, _, _, count) in &patterns {
        if *count == 0 {
            util::msg_warn!("unmatched request: \"{raw}\"");
        }
    }
    for w in p.unused().iter().filter(|w| w.contains("/master.cf: ")) {
        util::msg_warn!("{w}");
    }
    Ok(())
}
