//! NAME
//!   run_edit - postconf's edit modes: -e, -X, -# on main.cf or master.cf
//!
//! DESCRIPTION
//!   Reads the file, applies the edit (`global::main_cf_edit` or
//!   [`crate::master_edit`]), writes the result to a temporary file in
//!   the same directory with the original's permissions, and renames it
//!   over the original, so a reader sees either the old or the new file.
//!
//! DIAGNOSTICS
//!   Fatal: bad requests (Postfix's messages), `open DIR/main.cf for
//!   reading: ...`, write errors. Warnings: `DIR/main.cf: multiple
//!   entries for "name"`, `unmatched service_name/type: "..."`,
//!   `ignoring earlier request: ...`.
use crate::master_edit::{self, Op, Target};
use crate::options::*;
use crate::{config_dir, strerror, Stop};
use global::main_cf_edit::{self, Action};
use std::io::Write;
use std::path::Path;

/// Replace `path` with `text` atomically (temporary file + rename),
/// keeping the original's permission bits.
///
/// Errors: the temporary file cannot be created, written or renamed.
pub fn replace_file(path: &Path, text: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail =
        |what: &str, e: &std::io::Error| format!("{what} {}: {}", path.display(), strerror(e));
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name().and_then(|f| f.to_str()).unwrap_or("cf")
        ))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("create temporary file for", &e))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| fail("write", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("fsync", &e))?;
    let perms = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o644),
    };
    std::fs::set_permissions(tmp.path(), perms).map_err(|e| fail("chmod", &e))?;
    tmp.persist(path).map_err(|e| fail("rename to", &e.error))?;
    Ok(())
}

fn read(path: &Path) -> Result<String, Stop> {
    std::fs::read_to_string(path).map_err(|e| {
        Stop::Fatal(format!(
            "open {} for reading: {}",
            path.display(),
            strerror(&e)
        ))
    })
}

/// Run an edit request.
pub(crate) fn edit(opts: &Options) -> Result<(), Stop> {
    if opts.args.is_empty() {
        return Err("missing service argument".into());
    }
    let (dir, _) = config_dir(opts.config_dir.as_deref());
    let target = if opts.has(MASTER_ENTRY) {
        Some(Target::Entry)
    } else if opts.has(MASTER_FLD) {
        Some(Target::Field)
    } else if opts.has(MASTER_PARAM) {
        Some(Target::Param)
    } else {
        None
    };
    let Some(target) = target else {
        let action = if opts.has(EDIT_CONF) {
            Action::Set
        } else if opts.has(EDIT_EXCL) {
            Action::Remove
        } else {
            Action::CommentOut
        };
        let reqs = main_cf_edit::parse_requests(&opts.args, action)?;
        for w in &reqs.warnings {
            util::msg_warn!("{w}");
        }
        let path = dir.join("main.cf");
        let result = main_cf_edit::apply(&read(&path)?, action, &reqs.edits);
        for name in &result.duplicates {
            util::msg_warn!("{}: multiple entries for \"{name}\"", path.display());
        }
        return replace_file(&path, &result.text).map_err(Stop::Fatal);
    };
    let op = if opts.has(EDIT_CONF) {
        Op::Set
    } else if opts.has(EDIT_EXCL) {
        Op::Remove
    } else {
        Op::CommentOut
    };
    let mut reqs = master_edit::parse_requests(&opts.args, target, op)?;
    let path = dir.join("master.cf");
    let text = read(&path)?;
    let result = master_edit::apply(&text, &path.display().to_string(), target, op, &mut reqs)?;
    for w in &result.warnings {
        util::msg_warn!("{w}");
    }
    replace_file(&path, &result.text).map_err(Stop::Fatal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replacement_keeps_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.cf");
        std::fs::write(&path, "a = 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&path, "a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a = 2\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
