//! NAME
//!   install - system test of scripts/install into a staging root
//!
//! DESCRIPTION
//!   Runs `DESTDIR=tmp POSTERN_BIN_DIR=target/debug scripts/install` and
//!   checks the layout: commands in /usr/sbin, daemons in
//!   /usr/lib/postfix/sbin (never the testd fixture), compressed manual
//!   pages, /etc/postfix/main.cf and master.cf from the repository, the
//!   queue directory; and that a second run keeps an edited main.cf.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::run::{run, COMMAND_TIMEOUT};

fn top() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn install(destdir: &Path) -> testkit::Run {
    let mut cmd = Command::new(top().join("scripts/install"));
    cmd.env("DESTDIR", destdir)
        .env("POSTERN_BIN_DIR", testkit::bin_dir());
    let r = run(cmd, COMMAND_TIMEOUT);
    r.assert_ok();
    r
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn install_into_a_staging_root() {
    let stage = tempfile::tempdir().unwrap();
    let root = stage.path();
    install(root);
    let bin = testkit::bin_dir();
    for c in ["postfix", "postconf"] {
        if bin.join(c).is_file() {
            assert_eq!(mode(&root.join("usr/sbin").join(c)), 0o755, "{c}");
        }
    }
    assert!(root.join("usr/sbin/postfix").is_file());
    assert_eq!(mode(&root.join("usr/lib/postfix/sbin/master")), 0o755);
    assert!(
        !root.join("usr/lib/postfix/sbin/testd").exists(),
        "the test fixture is not installed"
    );
    assert!(!root.join("usr/sbin/testd").exists());
    for f in ["main.cf", "master.cf"] {
        let src = top().join(f);
        if src.is_file() {
            let got = std::fs::read(root.join("etc/postfix").join(f)).unwrap();
            assert_eq!(got, std::fs::read(&src).unwrap(), "{f} is the repository's");
            assert_eq!(mode(&root.join("etc/postfix").join(f)), 0o644);
        }
    }
    let pages = top().join("man/man1/postfix.1");
    if pages.is_file() {
        assert_eq!(mode(&root.join("usr/share/man/man1/postfix.1.gz")), 0o644);
    }
    assert_eq!(mode(&root.join("var/spool/postfix")), 0o755);

    // A second run replaces programs but keeps the administrator's files.
    let main_cf = root.join("etc/postfix/main.cf");
    std::fs::write(&main_cf, "# edited\n").unwrap();
    let r = install(root);
    assert!(r.stderr.contains("keeping the existing"), "{r}");
    assert_eq!(std::fs::read_to_string(&main_cf).unwrap(), "# edited\n");
}
