//! NAME
//!   interop - postmap against Debian's Postfix 3.7 postmap (postfix-lmdb)
//!
//! DESCRIPTION
//!   A table built by our postmap must be readable by Postfix's
//!   `postmap -q`/`-s`, a table built by Postfix's must be readable by ours
//!   and by `maps::open`, and each must be able to update the other's.
//!   Diagnostics for the same bad input must be the same lines. Each test
//!   prints a note and passes when Postfix or its lmdb module is absent
//!   (scripts/test installs them).
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const POSTFIX_POSTMAP: &str = "/usr/sbin/postmap";

fn postfix_available() -> bool {
    let ok = Path::new(POSTFIX_POSTMAP).exists()
        && Path::new("/usr/lib/postfix/postfix-lmdb.so").exists();
    if !ok {
        eprintln!(
            "note: Debian's postfix and postfix-lmdb are not installed; skipping the interop test"
        );
    }
    ok
}

/// A configuration directory whose main.cf selects lmdb.
fn instance() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), "default_database_type = lmdb\n").unwrap();
    dir
}

fn run(program: &str, dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .arg("-c")
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ours(dir: &Path, args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_postmap"), dir, args, "")
}

fn theirs(dir: &Path, args: &[&str]) -> Output {
    run(POSTFIX_POSTMAP, dir, args, "")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sorted_lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = text(b).lines().map(str::to_string).collect();
    v.sort();
    v
}

const SOURCE: &str = "Example.COM  OK\n# comment\nbar\tREJECT  with text\n  continued here\n\"q k\" quoted\n10.1.2 DUNNO\n";

fn table(dir: &Path) -> PathBuf {
    let src = dir.join("access");
    std::fs::write(&src, SOURCE).unwrap();
    src
}

#[test]
fn postfix_reads_a_table_we_built() {
    if !postfix_available() {
        return;
    }
    let dir = instance();
    let src = table(dir.path());
    let spec = format!("lmdb:{}", src.display());
    let out = ours(dir.path(), &[&spec]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let q = theirs(dir.path(), &["-q", "example.com", &spec]);
    assert_eq!(text(&q.stdout), "OK\n", "{}", text(&q.stderr));
    let q = theirs(dir.path(), &["-q", "bar", &spec]);
    assert_eq!(text(&q.stdout), "REJECT  with text  continued here\n");
    let q = theirs(dir.path(), &["-q", "nothere", &spec]);
    assert_eq!(q.status.code(), Some(1));
    // The whole content is the same as a table Postfix builds itself.
    let mine = theirs(dir.path(), &["-s", &spec]);
    let other = instance();
    let other_src = table(other.path());
    assert!(theirs(other.path(), &[&other_src.display().to_string()])
        .status
        .success());
    let reference = theirs(
        other.path(),
        &["-s", &format!("lmdb:{}", other_src.display())],
    );
    assert_eq!(sorted_lines(&mine.stdout), sorted_lines(&reference.stdout));
    assert_eq!(sorted_lines(&mine.stdout).len(), 4);
}

#[test]
fn we_read_a_table_postfix_built() {
    if !postfix_available() {
        return;
    }
    let dir = instance();
    let src = table(dir.path());
    let spec = format!("lmdb:{}", src.display());
    assert!(theirs(dir.path(), &[&spec]).status.success());
    let q = ours(dir.path(), &["-q", "EXAMPLE.com", &spec]);
    assert_eq!(text(&q.stdout), "OK\n", "{}", text(&q.stderr));
    let q = ours(dir.path(), &["-q", "\"q k\"", &spec]);
    assert_eq!(text(&q.stdout), "quoted\n");
    assert_eq!(
        ours(dir.path(), &["-q", "nothere", &spec]).status.code(),
        Some(1)
    );
    let s = ours(dir.path(), &["-s", &spec]);
    assert_eq!(
        sorted_lines(&s.stdout),
        sorted_lines(&theirs(dir.path(), &["-s", &spec]).stdout)
    );
    let dict = maps::open(&spec, maps::DictFlags::default()).unwrap();
    assert_eq!(dict.lookup("10.1.2").unwrap().as_deref(), Some("DUNNO"));
    let q = run(
        env!("CARGO_BIN_EXE_postmap"),
        dir.path(),
        &["-q", "-", &spec],
        "bar\nnone\nexample.com\n",
    );
    assert_eq!(
        text(&q.stdout),
        "bar\tREJECT  with text  continued here\nexample.com\tOK\n"
    );
}

#[test]
fn each_updates_the_others_table() {
    if !postfix_available() {
        return;
    }
    let dir = instance();
    let src = table(dir.path());
    let spec = format!("lmdb:{}", src.display());
    assert!(ours(dir.path(), &[&spec]).status.success());
    let add = run(
        POSTFIX_POSTMAP,
        dir.path(),
        &["-i", &spec],
        "fromPostfix yes\n",
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert_eq!(
        text(&ours(dir.path(), &["-q", "frompostfix", &spec]).stdout),
        "yes\n"
    );
    let add = run(
        env!("CARGO_BIN_EXE_postmap"),
        dir.path(),
        &["-i", &spec],
        "fromUs  too\n",
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert_eq!(
        text(&theirs(dir.path(), &["-q", "fromus", &spec]).stdout),
        "too\n"
    );
    assert_eq!(
        ours(dir.path(), &["-d", "frompostfix", &spec])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        ours(dir.path(), &["-d", "frompostfix", &spec])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        theirs(dir.path(), &["-q", "frompostfix", &spec])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        theirs(dir.path(), &["-d", "fromus", &spec]).status.code(),
        Some(0)
    );
    assert_eq!(
        ours(dir.path(), &["-q", "fromus", &spec]).status.code(),
        Some(1)
    );
}

#[test]
fn diagnostics_match_postfix() {
    if !postfix_available() {
        return;
    }
    let dir = instance();
    let src = dir.path().join("dups");
    std::fs::write(&src, "a 1\nb 2\na 3\nlonely\n\"open v\n").unwrap();
    // Relative names, as a user types them, appear in the messages.
    let in_dir = |program: &str, args: &[&str]| {
        Command::new(program)
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    for args in [["-c", ".", "dups"], ["-c", ".", "nonexistent"]] {
        let mine = in_dir(env!("CARGO_BIN_EXE_postmap"), &args);
        let reference = in_dir(POSTFIX_POSTMAP, &args);
        assert_eq!(text(&mine.stderr), text(&reference.stderr));
        assert_eq!(mine.status.code(), reference.status.code());
    }
    let q = ["-q", "x", "lmdb:/nonexistent/table"];
    assert_eq!(
        text(&ours(dir.path(), &q).stderr),
        text(&theirs(dir.path(), &q).stderr)
    );
}

#[test]
fn berkeley_db_default_gets_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), "default_database_type = hash\n").unwrap();
    let src = dir.path().join("access");
    std::fs::write(&src, "a b\n").unwrap();
    let out = ours(dir.path(), &[&src.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("postmap: fatal: unsupported dictionary type: hash"),
        "{err}"
    );
    assert!(err.contains("default_database_type = lmdb"), "{err}");
    let out = ours(dir.path(), &["regexp:/etc/hosts"]);
    assert_eq!(text(&out.stderr), "postmap: fatal: unsupported dictionary type: regexp does not support bulk-mode creation.\n");
}

#[test]
fn non_utf8_lines_and_long_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.cf"),
        "default_database_type = lmdb\ncompatibility_level = 3.6\n",
    )
    .unwrap();
    let src = dir.path().join("t");
    std::fs::write(
        &src,
        b"good ok\n\xff\xfebad value\nkey caf\xe9\nother fine\n",
    )
    .unwrap();
    let spec = format!("lmdb:{}", src.display());
    let o = ours(dir.path(), &[&spec]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let want = format!(
        "postmap: warning: {0}, line 2: non-UTF-8 input \"??bad value\" -- ignoring this line\n\
         postmap: warning: {0}, line 3: non-UTF-8 input \"key caf?\" -- ignoring this line\n",
        src.display()
    );
    assert_eq!(text(&o.stderr), want);
    assert_eq!(
        text(&ours(dir.path(), &["-s", &spec]).stdout),
        "good\tok\nother\tfine\n"
    );
    if postfix_available() {
        let t = theirs(dir.path(), &[&spec]);
        assert_eq!((t.status.code(), text(&t.stderr)), (Some(0), want));
    }
    // A key longer than LMDB's limit: file and line, no MDB code.
    std::fs::write(&src, format!("a b\n{} v\n", "k".repeat(600))).unwrap();
    let o = ours(dir.path(), &[&spec]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "postmap: fatal: {}, line 2: key is too long: 601 bytes, an lmdb table holds at most 511\n",
            src.display()
        )
    );
    // Looking such a key up finds nothing; it is no error.
    let o = ours(dir.path(), &["-q", &"k".repeat(600), &spec]);
    assert_eq!((o.status.code(), text(&o.stderr)), (Some(1), String::new()));
}
