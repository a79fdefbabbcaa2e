//! NAME
//!   cli - run the built postconf binary on temporary configuration directories
//!
//! DESCRIPTION
//!   Each test writes a main.cf and master.cf into a fresh directory,
//!   runs `postconf -c DIR ...` (or with `MAIL_CONFIG`), and checks
//!   standard output, standard error, the exit status and the edited
//!   files.
use std::path::Path;
use std::process::{Command, Output};

const MASTER: &str = "\
# test master.cf
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_client_restrictions=$mua_client_restrictions
pickup    unix  n       -       y       60      1       pickup
relay     unix  -       -       y       -       -       smtp -o junk_option=1
";

const MAIN: &str = "\
# test main.cf
myhostname = mx.example.org
mydestination = $myhostname,
    localhost
mua_client_restrictions = permit_sasl_authenticated, reject
unknown_thing = 1
smtpd_banner = $myhostname   ESMTP
";

fn instance(main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), main).unwrap();
    std::fs::write(dir.path().join("master.cf"), MASTER).unwrap();
    dir
}

fn postconf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_postconf"))
        .arg("-c")
        .arg(dir)
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn non_default_settings_are_listed_sorted_and_normalized() {
    let dir = instance(MAIN);
    let o = postconf(dir.path(), &["-n"]);
    assert!(o.status.success());
    let d = dir.path().display();
    assert_eq!(
        stdout(&o),
        format!(
            "config_directory = {d}\nmua_client_restrictions = permit_sasl_authenticated, reject\n\
             mydestination = $myhostname, localhost\nmyhostname = mx.example.org\n\
             smtpd_banner = $myhostname ESMTP\n"
        )
    );
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "postconf: warning: {d}/main.cf: unused parameter: unknown_thing=1"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "postconf: warning: {d}/master.cf: unused parameter: junk_option=1"
        )),
        "{err}"
    );
}

#[test]
fn names_defaults_values_and_expansion() {
    let dir = instance(MAIN);
    let o = postconf(dir.path(), &["mail_name", "nosuch", "smtpd_banner"]);
    assert_eq!(
        stdout(&o),
        "mail_name = Postfix\nsmtpd_banner = $myhostname ESMTP\n"
    );
    assert!(stderr(&o).contains("postconf: warning: nosuch: unknown parameter"));
    let o = postconf(dir.path(), &["-h", "-x", "smtpd_banner"]);
    assert_eq!(stdout(&o), "mx.example.org ESMTP\n");
    let o = postconf(
        dir.path(),
        &["-d", "myhostname", "relay_destination_concurrency_limit"],
    );
    assert!(stdout(&o).ends_with(
        "relay_destination_concurrency_limit = $default_destination_concurrency_limit\n"
    ));
    assert!(!stdout(&o).contains("mx.example.org"));
    let o = postconf(dir.path(), &["-H", "mail_name"]);
    assert_eq!(stdout(&o), "mail_name\n");
    let o = postconf(dir.path(), &["-o", "mail_name=Foo", "-x", "mail_name"]);
    assert_eq!(stdout(&o), "mail_name = Foo\n");
    // With no argument: every known parameter, used user parameters too.
    let all = stdout(&postconf(dir.path(), &[]));
    assert!(all.lines().count() > 800);
    assert!(all.contains("\nmua_client_restrictions = permit_sasl_authenticated, reject\n"));
    assert!(!all.contains("unknown_thing"));
    let names: Vec<&str> = all.lines().map(|l| l.split(" =").next().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn mail_config_environment_names_the_directory() {
    let dir = instance("relayhost = [smarthost]\n");
    let o = Command::new(env!("CARGO_BIN_EXE_postconf"))
        .args(["-n"])
        .env("MAIL_CONFIG", dir.path())
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        format!(
            "config_directory = {}\nrelayhost = [smarthost]\n",
            dir.path().display()
        )
    );
}

#[test]
fn main_cf_edits_keep_comments_and_order() {
    let dir = instance(MAIN);
    let o = postconf(
        dir.path(),
        &[
            "-e",
            "mydestination=localhost",
            "relayhost = [a.example]:587",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(dir.path().join("main.cf")).unwrap();
    assert_eq!(
        text,
        "# test main.cf\nmyhostname = mx.example.org\nmydestination = localhost\n\
         mua_client_restrictions = permit_sasl_authenticated, reject\nunknown_thing = 1\n\
         smtpd_banner = $myhostname   ESMTP\nrelayhost = [a.example]:587\n"
    );
    // Plain name=value arguments imply -e.
    postconf(dir.path(), &["unknown_thing=2"]);
    postconf(dir.path(), &["-#", "smtpd_banner"]);
    postconf(dir.path(), &["-X", "mua_client_restrictions"]);
    let text = std::fs::read_to_string(dir.path().join("main.cf")).unwrap();
    assert!(text.contains("\nunknown_thing = 2\n#smtpd_banner = $myhostname   ESMTP\n"));
    assert!(!text.contains("mua_client"));
    let o = postconf(dir.path(), &["-e", "junk"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "postconf: fatal: missing '=' after attribute name: \"junk\"\n"
    );
}

#[test]
fn master_cf_display() {
    let dir = instance(MAIN);
    let o = postconf(dir.path(), &["-M", "smtp/inet", "pickup"]);
    assert_eq!(
        stdout(&o),
        "smtp       inet  n       -       y       -       -       smtpd\n\
         pickup     unix  n       -       y       60      1       pickup\n"
    );
    let o = postconf(dir.path(), &["-Mf", "submission/inet"]);
    assert_eq!(
        stdout(&o),
        "submission inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/submission\n    \
         -o smtpd_client_restrictions=$mua_client_restrictions\n"
    );
    let o = postconf(
        dir.path(),
        &["-F", "pickup/unix/wakeup", "relay/unix/command"],
    );
    assert_eq!(
        stdout(&o),
        "pickup/unix/wakeup = 60\nrelay/unix/command = smtp -o junk_option=1\n"
    );
    let o = postconf(dir.path(), &["-Px", "submission"]);
    assert_eq!(
        stdout(&o),
        "submission/inet/smtpd_client_restrictions = permit_sasl_authenticated, reject\n\
         submission/inet/syslog_name = postfix/submission\n"
    );
    let o = postconf(dir.path(), &["-M", "nosuch/unix"]);
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("postconf: warning: unmatched request: \"nosuch/unix\""));
}

#[test]
fn master_cf_edits() {
    let dir = instance(MAIN);
    let o = postconf(
        dir.path(),
        &["-Me", "new/unix=new unix - n n - 2 pipe argv=/bin/true"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    postconf(dir.path(), &["-Fe", "pickup/unix/wakeup=30"]);
    postconf(dir.path(), &["-PX", "relay/unix/junk_option"]);
    postconf(dir.path(), &["-M#", "smtp/inet"]);
    postconf(dir.path(), &["-MX", "submission/inet"]);
    let text = std::fs::read_to_string(dir.path().join("master.cf")).unwrap();
    assert_eq!(
        text,
        "# test master.cf\n#smtp      inet  n       -       y       -       -       smtpd\n\
         pickup     unix  n       -       y       30      1       pickup\n\
         relay      unix  -       -       y       -       -       smtp\n\
         new        unix  -       n       n       -       2       pipe argv=/bin/true\n"
    );
}

#[test]
fn errors_and_usage() {
    let dir = instance(MAIN);
    let o = postconf(dir.path(), &["-d", "-n"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "postconf: fatal: specify one of -d -n\n");
    let o = postconf(dir.path(), &["-Z"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o)
        .starts_with("postconf: invalid option -- 'Z'\npostconf: fatal: usage: postconf [-a"));
    let empty = tempfile::tempdir().unwrap();
    let o = postconf(empty.path(), &["-n"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(&format!(
        "fatal: open {}/main.cf: No such file or directory",
        empty.path().display()
    )));
    assert!(o.stdout.is_empty());
}

#[test]
fn hidden_man5_flag_prints_the_page() {
    let o = Command::new(env!("CARGO_BIN_EXE_postconf"))
        .arg("--man5")
        .output()
        .unwrap();
    assert!(stdout(&o).starts_with(".\\\" Generated by `postconf --man5`"));
}

#[test]
fn a_duplicate_service_is_listed_as_postfix_does() {
    let dir = instance(MAIN);
    let master = "smtp inet n - y - - smtpd\npickup unix n - y 60 1 pickup\nsmtp inet n - y - - smtpd -o x=y\n";
    std::fs::write(dir.path().join("master.cf"), master).unwrap();
    let o = postconf(dir.path(), &["-M"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "smtp       inet  n       -       y       -       -       smtpd\n\
         pickup     unix  n       -       y       60      1       pickup\n\
         smtp       inet  n       -       y       -       -       smtpd -o x=y\n"
    );
    let o = postconf(dir.path(), &["-F", "smtp/inet/command"]);
    assert_eq!(
        stdout(&o),
        "smtp/inet/command = smtpd\nsmtp/inet/command = smtpd -o x=y\n"
    );
}

#[test]
fn supported_lock_methods_table_types_and_sasl_plugins() {
    let dir = instance(MAIN);
    let o = postconf(dir.path(), &["-l"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "flock\nfcntl\ndotlock\n")
    );
    let o = postconf(dir.path(), &["-m"]);
    assert_eq!(o.status.code(), Some(0));
    let types: Vec<String> = stdout(&o).lines().map(String::from).collect();
    for t in ["cidr", "inline", "lmdb", "regexp", "static", "texthash"] {
        assert!(types.iter().any(|x| x == t), "{t} in {types:?}");
    }
    assert!(!types.iter().any(|x| x == "hash"), "{types:?}");
    let o = postconf(dir.path(), &["-a"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "dovecot\n")
    );
    let o = postconf(dir.path(), &["-A"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "cyrus\n"));
}
