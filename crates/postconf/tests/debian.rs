//! NAME
//!   debian - compare our postconf with Debian's Postfix 3.7 postconf
//!
//! DESCRIPTION
//!   Runs `/usr/sbin/postconf` (Debian's `postfix` package, installed by
//!   scripts/test) and ours on the same configuration directories:
//!
//!   - `postconf -d` with an empty main.cf and Debian's master.cf: the
//!     same names, and the same value for every name both know, except
//!     the host-dependent ones (they differ by design: see
//!     [`HOST_DEPENDENT_REASON`]); each difference is printed with its
//!     reason;
//!   - `postconf -n`, `postconf name ...`, `-M`, `-Mf`, `-F`, `-P` and
//!     `-x` on a sample main.cf: identical standard output;
//!   - `-e`, `-X`, `-#`, `-Me`, `-Fe`, `-Pe`, `-PX`, `-M#`, `-MX`:
//!     identical files afterwards.
//!
//!   Every test is skipped, with a message, when /usr/sbin/postconf is
//!   absent.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const DEBIAN: &str = "/usr/sbin/postconf";

/// Why host-dependent defaults may differ between the two programs.
const HOST_DEPENDENT_REASON: &[(&str, &str)] = &[
    (
        "myhostname",
        "system host name; Postfix may use a resolver-qualified name",
    ),
    ("mydomain", "derived from myhostname"),
    (
        "mynetworks",
        "computed from the interface addresses at run time",
    ),
    ("process_id", "the process ID of each run"),
    ("process_name", "the program name of each run"),
];

fn debian() -> bool {
    if Path::new(DEBIAN).exists() {
        return true;
    }
    println!("skipped: {DEBIAN} is not installed (scripts/test installs Debian's postfix)");
    false
}

fn master_dist() -> Option<PathBuf> {
    [
        "/usr/share/postfix/master.cf.dist",
        "/etc/postfix/master.cf.proto",
        "/etc/postfix/master.cf",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn instance(main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), main).unwrap();
    let master = master_dist()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    std::fs::write(dir.path().join("master.cf"), master + SAMPLE_MASTER_EXTRA).unwrap();
    dir
}

fn run(program: &str, dir: &Path, args: &[&str]) -> (String, String) {
    let o = Command::new(program)
        .arg("-c")
        .arg(dir)
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn ours(dir: &Path, args: &[&str]) -> String {
    run(env!("CARGO_BIN_EXE_postconf"), dir, args).0
}

fn theirs(dir: &Path, args: &[&str]) -> String {
    run(DEBIAN, dir, args).0
}

fn parse(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| {
            l.split_once(" =")
                .map(|(n, v)| (n.to_string(), v.trim_start().to_string()))
        })
        .collect()
}

#[test]
fn defaults_match_postfix() {
    if !debian() {
        return;
    }
    let dir = instance("");
    let ours = parse(&ours(dir.path(), &["-d"]));
    let theirs = parse(&theirs(dir.path(), &["-d"]));
    let mut problems = Vec::new();
    for (name, value) in &theirs {
        match ours.get(name) {
            None => problems.push(format!("{name}: known to Postfix, not to Postern")),
            Some(v) if v == value => {}
            Some(v) => match HOST_DEPENDENT_REASON.iter().find(|(n, _)| n == name) {
                Some((_, why)) => println!(
                    "difference (expected, {why}): {name}: Postfix {value:?}, Postern {v:?}"
                ),
                None => problems.push(format!("{name}: Postfix {value:?}, Postern {v:?}")),
            },
        }
    }
    for name in ours.keys().filter(|n| !theirs.contains_key(*n)) {
        // Postern's own parameters carry the postern_ prefix on purpose.
        if name.starts_with("postern_") {
            println!("difference (expected, Postern-only parameter): {name}");
            continue;
        }
        problems.push(format!("{name}: known to Postern, not to Postfix"));
    }
    for p in &problems {
        println!("difference: {p}");
    }
    println!("compared {} parameters", theirs.len());
    assert!(theirs.len() > 1000, "too few parameters from {DEBIAN} -d");
    assert!(
        problems.is_empty(),
        "{} unexplained differences (listed above)",
        problems.len()
    );
}

const SAMPLE_MAIN: &str = "\
# A sample main.cf such as an administrator writes.
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level=may
smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache
myhostname = mx.example.org
mydestination = $myhostname, localhost.$mydomain,
\tlocalhost
# comment between continuation lines
    $mydomain
relayhost = [smarthost.example]:587
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = loopback-only
mua_sender_restrictions = permit_sasl_authenticated, reject
my_class = check_client_access hash:/etc/postfix/clients
smtpd_restriction_classes = my_class
relay_destination_concurrency_limit = 5
";

const SAMPLE_MASTER_EXTRA: &str = "\
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sender_restrictions=$mua_sender_restrictions
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
127.0.0.1:10025 inet n - n - 2 smtpd -o content_filter= -o smtpd_recipient_restrictions=permit_mynetworks,reject
";

#[test]
fn outputs_match_postfix_on_a_sample_configuration() {
    if !debian() {
        return;
    }
    let dir = instance(SAMPLE_MAIN);
    let cases: &[&[&str]] = &[
        &["-n"],
        &["-nf"],
        &["-nh"],
        &["-nx"],
        &[
            "mydestination",
            "relayhost",
            "mail_name",
            "my_class",
            "relay_destination_concurrency_limit",
        ],
        &[
            "-x",
            "smtpd_banner",
            "mydestination",
            "myorigin",
            "proxy_read_maps",
        ],
        &["-fx", "proxy_read_maps"],
        &["-H", "mail_name", "relayhost"],
        &["-o", "relayhost=[other]", "-n"],
        &["-M"],
        &["-Mf"],
        &["-Mx", "relay/unix", "submission"],
        &["-M", "smtp", "*/inet"],
        &["-F"],
        &["-Fh", "pickup/unix/wakeup", "*/*/command"],
        &["-P"],
        &["-Px"],
        &["-PH"],
    ];
    let mut failures = 0;
    for args in cases {
        let (a, b) = (theirs(dir.path(), args), ours(dir.path(), args));
        if a != b {
            failures += 1;
            println!("postconf {args:?} differs:\n--- Postfix\n{a}--- Postern\n{b}");
        }
    }
    // The whole listing, except the value of process_id and Postern's
    // own postern_* parameters.
    let strip = |s: String| {
        s.lines()
            .filter(|l| !l.starts_with("process_id =") && !l.starts_with("postern_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if strip(theirs(dir.path(), &[])) != strip(ours(dir.path(), &[])) {
        failures += 1;
        println!("postconf (no arguments) differs");
    }
    assert_eq!(failures, 0, "outputs differ (listed above)");
}

#[test]
fn edits_match_postfix() {
    if !debian() {
        return;
    }
    let cases: &[&[&str]] = &[
        &[
            "-e",
            "mydestination=localhost",
            "relayhost =",
            "new_setting = 1",
        ],
        &["-X", "mydestination", "nosuch"],
        &["-#", "mydestination", "smtpd_banner"],
        &[
            "-Me",
            "submission/inet=submission inet n - n - - smtpd -o a=b",
        ],
        &[
            "-Me",
            "new/unix=new unix - n n - 1 pipe flags=R user=nobody argv=/bin/cat ${recipient}",
        ],
        &["-MX", "submission/inet", "uucp"],
        &["-M#", "submission/inet", "bsmtp/unix"],
        &[
            "-Fe",
            "pickup/unix/wakeup=30",
            "relay/unix/command=smtp -o x=y",
        ],
        &[
            "-Pe",
            "submission/inet/syslog_name=sub",
            "smtp/inet/smtpd_tls_security_level=may",
        ],
        &["-PX", "submission/inet/smtpd_client_restrictions"],
    ];
    let mut failures = 0;
    for args in cases {
        let a = instance(SAMPLE_MAIN);
        let b = instance(SAMPLE_MAIN);
        run(DEBIAN, a.path(), args);
        run(env!("CARGO_BIN_EXE_postconf"), b.path(), args);
        for f in ["main.cf", "master.cf"] {
            let ta = std::fs::read_to_string(a.path().join(f)).unwrap();
            let tb = std::fs::read_to_string(b.path().join(f)).unwrap();
            if ta != tb {
                failures += 1;
                println!("postconf {args:?}: {f} differs:\n--- Postfix\n{ta}--- Postern\n{tb}");
            }
        }
    }
    assert_eq!(failures, 0, "edits differ (listed above)");
}
