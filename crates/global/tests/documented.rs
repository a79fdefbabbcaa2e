//! Every parameter that Postern's code reads must be documented: listed in
//! `params_doc::IMPLEMENTED` (which feeds postconf(5)) and known to the
//! Postfix parameter table (or be a per-transport/host-dependent name).
//!
//! The check scans the workspace sources for `Config` getter calls with a
//! literal name: `.get("x")`, `.get_bool("x")`, `.get_int("x")`,
//! `.get_time("x")`, `.get_list("x")`, `.raw("x")`.
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name()
                .is_some_and(|n| n == "target" || n == "golden")
            {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Literal parameter names passed to Config getters in `text`.
fn names_read(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for getter in [
        ".get(\"",
        ".get_bool(\"",
        ".get_int(\"",
        ".get_time(\"",
        ".get_list(\"",
        ".raw(\"",
    ] {
        let mut rest = text;
        while let Some(pos) = rest.find(getter) {
            rest = &rest[pos + getter.len()..];
            let end = rest.find('"').unwrap_or(0);
            let name = &rest[..end];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn every_parameter_read_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    assert!(files.len() > 5, "found no sources under {}", root.display());
    let mut missing = Vec::new();
    for f in &files {
        // Unit tests read made-up names on purpose; skip test modules' files.
        if f.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for name in names_read(code) {
            if !global::params_doc::is_implemented(&name) {
                missing.push(format!("{}: {name}", f.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "parameters read but not in params_doc::IMPLEMENTED:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_implemented_parameter_is_a_postfix_parameter() {
    let cfg = global::Config::from_text(Path::new("/nonexistent"), "").unwrap();
    for (name, desc) in global::params_doc::IMPLEMENTED {
        assert!(
            cfg.default_raw(name).is_some(),
            "{name} is not a Postfix 3.7 parameter"
        );
        assert!(!desc.is_empty(), "{name} has no description");
    }
}

#[test]
fn scanner_finds_getter_calls() {
    let names = names_read(r#"cfg.get("a_b") x.get_time("max_idle") y.get(&n) z.get("Bad Name")"#);
    assert_eq!(names, vec!["a_b", "max_idle"]);
}
