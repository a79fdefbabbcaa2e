//! Unit tests of the parent module, kept apart to keep the module short.
use super::*;

fn p(args: &[&str]) -> Opts {
    let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse("sendmail", &v).unwrap()
}

fn err(args: &[&str]) -> String {
    let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse("sendmail", &v).unwrap_err().fatal
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
    // A line break ends the address, with Postfix's warning.
    let o = p(&["-f", "a@b.example\nX-Evil: 1", "r@x"]);
    assert_eq!(o.sender.as_deref(), Some("a@b.example"));
    assert_eq!(
        o.warnings,
        ["-f option specified malformed sender: a@b.example?X-Evil: 1"]
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
    ]);
    assert_eq!(o.alias_file.as_deref(), Some("/etc/aliases2"));
    assert!(o.warnings.is_empty());
}

#[test]
fn errors() {
    assert_eq!(err(&["-bz"]), "unsupported: -bz");
    assert_eq!(err(&["-B", "binary"]), "-B option needs 8BITMIME or 7BIT");
    assert_eq!(err(&["-B", "8bitmime"]), "-B option needs 8BITMIME or 7BIT");
    assert_eq!(err(&["-n", "a@x"]), "-n option not supported");
    assert_eq!(err(&["-Xfoo", "a@x"]), "unsupported: -Xf");
    assert_eq!(err(&["-oA"]), "-oA requires pathname");
    let v: Vec<String> = ["-Z", "a@x"].iter().map(|s| s.to_string()).collect();
    let e = parse("sendmail", &v).unwrap_err();
    assert_eq!(e.note.as_deref(), Some("invalid option -- 'Z'"));
    assert_eq!(e.fatal, "usage: sendmail [options]");
    let e = parse("mailq", &["-f".to_string()]).unwrap_err();
    assert_eq!(
        e.note.as_deref(),
        Some("option requires an argument -- 'f'")
    );
    assert_eq!(e.fatal, "usage: mailq [options]");
    assert_eq!(err(&["-4", "a@x"]), "usage: sendmail [options]");
}

#[test]
fn bad_dsn_values_are_warnings() {
    let o = p(&["-N", "bogus", "a@x"]);
    assert_eq!(o.notify, None);
    assert_eq!(
        o.warnings,
        [
            "unknown DSN NOTIFY command value \"bogus\" in \"bogus\"",
            "bad -N option value -- ignored"
        ]
    );
    assert_eq!(
        p(&["-N", "never,delay", "a@x"]).warnings,
        ["bad -N option value -- ignored"]
    );
    assert!(p(&["-N", "success delay", "a@x"]).warnings.is_empty());
    let o = p(&["-R", "most", "a@x"]);
    assert_eq!(
        (o.ret, o.warnings),
        (None, vec!["bad -R option value -- ignored".to_string()])
    );
    assert_eq!(p(&["-R", "Full", "a@x"]).ret, Some(DsnRet::Full));
    let o = p(&["-V", "a\tb", "a@x"]);
    assert_eq!(
        (o.envid, o.warnings),
        (
            None,
            vec!["bad syntax in -V option value -- ignored".to_string()]
        )
    );
    assert_eq!(p(&["-V", "a=b+c", "a@x"]).envid.as_deref(), Some("a=b+c"));
    let long = "x".repeat(101);
    assert_eq!(
        p(&["-V", &long, "a@x"]).warnings,
        ["too long -V option value -- ignored"]
    );
}

#[test]
fn conflicts_and_queue_options() {
    assert_eq!(err(&["-t", "-bp"]), "-t can be used only in delivery mode");
    assert_eq!(err(&["-q", "-t"]), "-t can be used only in delivery mode");
    assert_eq!(err(&["-bv", "-t"]), "-t option cannot be used with -bv");
    assert_eq!(
        err(&["-qRsite", "-bp"]),
        "-qR can be used only in delivery mode"
    );
    assert_eq!(
        err(&["-bp", "extra"]),
        "display queue mode requires no recipient"
    );
    assert_eq!(
        err(&["-bi", "extra"]),
        "alias initialization mode requires no recipient"
    );
    assert_eq!(
        err(&["-q", "extra"]),
        "flush queue mode requires no recipient"
    );
    assert_eq!(
        err(&["-bs", "extra"]),
        "stand-alone mode requires no recipient"
    );
    assert_eq!(err(&["-bd", "extra"]), "daemon mode requires no recipient");
    assert_eq!(
        err(&["-qRsite", "extra"]),
        "flush site requires no recipient"
    );
    assert_eq!(
        err(&["-qIABC", "extra"]),
        "flush queue_id requires no recipient"
    );
    assert_eq!(err(&["-qfoo"]), "-qf is not implemented");
    assert_eq!(err(&["-qR"]), "specify: -qRsitename");
    assert_eq!(err(&["-qI"]), "specify: -qIqueueid");
    assert_eq!(p(&["-q1h"]).mode, Mode::Nothing);
    assert_eq!(p(&["-q30m", "a@x"]).mode, Mode::Nothing);
    assert_eq!(p(&["-bh"]).mode, Mode::Nothing);
    assert_eq!(
        p(&["-C", "/etc/x/main.cf"]).config_dir,
        Some(PathBuf::from("/etc/x"))
    );
    assert_eq!(
        p(&["-C", "/nonexistent"]).config_dir,
        Some(PathBuf::from("/nonexistent"))
    );
    let o = p(&[
        "-e", "x", "-c", "-m", "-x", "-U", "-G", "-h", "3", "-A", "a", "-oQ", "r@x",
    ]);
    assert!(o.warnings.is_empty() && o.recipients == ["r@x"]);
}
