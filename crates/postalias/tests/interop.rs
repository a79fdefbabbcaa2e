//! NAME
//!   interop - postalias and newaliases against Debian's Postfix 3.7
//!
//! DESCRIPTION
//!   Alias tables built by our postalias must hold exactly what Postfix's
//!   postalias stores for the same aliases(5) file (normalised values, the
//!   `@` sentinel, the YP_ entries), be readable by Postfix, and the other
//!   way round. newaliases (postalias under another name) rebuilds
//!   `alias_database`. Tests that need Postfix print a note and pass when
//!   Postfix or postfix-lmdb is absent (scripts/test installs them).
use std::path::Path;
use std::process::{Command, Output};

const POSTFIX_POSTALIAS: &str = "/usr/sbin/postalias";

fn postfix_available() -> bool {
    let ok = Path::new(POSTFIX_POSTALIAS).exists()
        && Path::new("/usr/lib/postfix/postfix-lmdb.so").exists();
    if !ok {
        eprintln!(
            "note: Debian's postfix and postfix-lmdb are not installed; skipping the interop test"
        );
    }
    ok
}

const ALIASES: &str = "# system aliases\nPostmaster: root\nroot: admin, \"bob smith\"\nlist: |\"/usr/bin/list arg\", /var/mail/archive,\n  :include:/etc/list.members\nx ,y: bad\nbad line\nroot: duplicate\nowner-list: Admin <admin@example.com> (the admin)\n";

fn setup(extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.cf"),
        format!("default_database_type = lmdb\nmyhostname = mx.example.com\n{extra}"),
    )
    .unwrap();
    let src = dir.path().join("aliases");
    std::fs::write(&src, ALIASES).unwrap();
    let spec = format!("lmdb:{}", src.display());
    (dir, spec)
}

fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .arg("-c")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn ours(dir: &Path, args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_postalias"), dir, args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `-s` output, sorted, without the time stamp entry.
fn content(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("YP_LAST_MODIFIED"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn same_content_as_postfix_and_readable_both_ways() {
    if !postfix_available() {
        return;
    }
    let (mine_dir, mine) = setup("");
    let (their_dir, theirs) = setup("");
    let built = ours(mine_dir.path(), &[&mine]);
    assert!(built.status.success());
    let reference = run(POSTFIX_POSTALIAS, their_dir.path(), &[&theirs]);
    assert!(reference.status.success());
    // Postfix reads ours, and sees what it would have built itself.
    let read_mine = run(POSTFIX_POSTALIAS, mine_dir.path(), &["-s", &mine]);
    let read_theirs = run(POSTFIX_POSTALIAS, their_dir.path(), &["-s", &theirs]);
    assert_eq!(content(&read_mine), content(&read_theirs));
    assert!(content(&read_mine).contains(&"@:\t@".to_string()));
    assert!(content(&read_mine).contains(&"YP_MASTER_NAME:\tmx.example.com".to_string()));
    // We read theirs.
    assert_eq!(
        content(&ours(their_dir.path(), &["-s", &theirs])),
        content(&read_theirs)
    );
    let q = ours(their_dir.path(), &["-q", "LIST", &theirs]);
    assert_eq!(
        text(&q.stdout),
        "|\"/usr/bin/list arg\", /var/mail/archive, :include:/etc/list.members\n"
    );
    let q = run(
        POSTFIX_POSTALIAS,
        mine_dir.path(),
        &["-q", "owner-list", &mine],
    );
    assert_eq!(text(&q.stdout), "Admin <admin@example.com>(the admin)\n");
    // Same warnings, in the same order; relative names as typed.
    let rel = |program: &str, dir: &Path| {
        Command::new(program)
            .current_dir(dir)
            .args(["-c", ".", "aliases"])
            .output()
            .unwrap()
    };
    assert_eq!(
        text(&rel(env!("CARGO_BIN_EXE_postalias"), mine_dir.path()).stderr),
        text(&rel(POSTFIX_POSTALIAS, their_dir.path()).stderr)
    );
}

#[test]
fn query_delete_and_incremental() {
    let (dir, spec) = setup("");
    assert!(ours(dir.path(), &[&spec]).status.success());
    assert_eq!(
        text(&ours(dir.path(), &["-q", "postmaster", &spec]).stdout),
        "root\n"
    );
    assert_eq!(
        ours(dir.path(), &["-q", "nobody", &spec]).status.code(),
        Some(1)
    );
    assert_eq!(
        ours(dir.path(), &["-d", "postmaster", &spec]).status.code(),
        Some(0)
    );
    assert_eq!(
        ours(dir.path(), &["-q", "postmaster", &spec]).status.code(),
        Some(1)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_postalias"))
        .arg("-c")
        .arg(dir.path())
        .args(["-i", &spec])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"New: a ,b\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        text(&ours(dir.path(), &["-q", "new", &spec]).stdout),
        "a, b\n"
    );
    let dict = maps::open(&spec, maps::DictFlags::default()).unwrap();
    assert_eq!(dict.lookup("@").unwrap().as_deref(), Some("@"));
}

#[test]
fn newaliases_rebuilds_alias_database() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("aliases");
    std::fs::write(&src, ALIASES).unwrap();
    let spec = format!("lmdb:{}", src.display());
    std::fs::write(
        dir.path().join("main.cf"),
        format!("alias_database = {spec}\n"),
    )
    .unwrap();
    let link = dir.path().join("newaliases");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_postalias"), &link).unwrap();
    let out = Command::new(&link)
        .arg("-c")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&ours(dir.path(), &["-q", "root", &spec]).stdout),
        "admin, \"bob smith\"\n"
    );
    // Debian's default alias_database is hash:/etc/aliases: a clear refusal.
    std::fs::write(
        dir.path().join("main.cf"),
        format!("alias_database = hash:{}\n", src.display()),
    )
    .unwrap();
    let out = Command::new(&link)
        .arg("-c")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("newaliases: fatal: unsupported dictionary type: hash"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_berkeley_db_hint_names_postalias() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), "default_database_type = hash\n").unwrap();
    let src = dir.path().join("aliases");
    std::fs::write(&src, "root: admin\n").unwrap();
    let o = ours(dir.path(), &[&src.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "rebuild the table with \"postalias lmdb:{}\"",
        src.display()
    );
    assert!(text(&o.stderr).contains(&want), "{}", text(&o.stderr));
}
