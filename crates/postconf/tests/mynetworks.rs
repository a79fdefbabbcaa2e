//! NAME
//!   mynetworks - the default mynetworks follows inet_interfaces, as in
//!   Debian's Postfix 3.7
//!
//! DESCRIPTION
//!   For several `inet_interfaces` values (loopback-only, all, an
//!   address, a name, a list) and each `mynetworks_style`, our
//!   `postconf mynetworks` prints what `/usr/sbin/postconf` prints on the
//!   same main.cf. A value that names no local address (`ipv4`) is fatal
//!   for both. Skipped, with a message, when Debian's postconf is absent.
use std::path::Path;
use std::process::{Command, Output};

const DEBIAN: &str = "/usr/sbin/postconf";

fn run(program: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .arg("-c")
        .arg(dir)
        .args(args)
        .env_remove("MAIL_CONFIG")
        .output()
        .unwrap()
}

fn instance(main: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.cf"), main).unwrap();
    std::fs::write(dir.path().join("master.cf"), "").unwrap();
    dir
}

#[test]
fn mynetworks_follows_inet_interfaces() {
    if !Path::new(DEBIAN).exists() {
        println!("skipped: {DEBIAN} is not installed");
        return;
    }
    // Debian's postconf takes about two seconds a run here: a chosen
    // dozen of combinations, every style and protocol set among them.
    let cases = [
        ("loopback-only", "host", "all"),
        ("loopback-only", "subnet", "ipv4"),
        ("loopback-only", "class", "all"),
        ("all", "host", "all"),
        ("all", "subnet", "all"),
        ("all", "class", "ipv4"),
        ("127.0.0.1", "host", "all"),
        ("127.0.0.1", "subnet", "all"),
        ("localhost", "host", "all"),
        ("localhost", "class", "ipv4"),
        ("127.0.0.1, localhost", "host", "all"),
        ("[::1] 127.0.0.1", "subnet", "all"),
    ];
    for (interfaces, style, protocols) in cases {
        let dir = instance(&format!(
            "inet_interfaces = {interfaces}\nmynetworks_style = {style}\ninet_protocols = {protocols}\n"
        ));
        let ours = run(env!("CARGO_BIN_EXE_postconf"), dir.path(), &["mynetworks"]);
        let theirs = run(DEBIAN, dir.path(), &["mynetworks"]);
        assert!(
            theirs.status.success(),
            "Debian failed on {interfaces} {style} {protocols}"
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "inet_interfaces = {interfaces}, mynetworks_style = {style}, inet_protocols = {protocols}\n{}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}

#[test]
fn an_interface_that_is_not_an_address_is_fatal() {
    let dir = instance("inet_interfaces = ipv4\n");
    let ours = run(env!("CARGO_BIN_EXE_postconf"), dir.path(), &["mynetworks"]);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        "postconf: fatal: config variable inet_interfaces: host not found: ipv4\n"
    );
    // -d does not read main.cf, and editing is how one repairs it.
    assert!(run(
        env!("CARGO_BIN_EXE_postconf"),
        dir.path(),
        &["-d", "mynetworks"]
    )
    .status
    .success());
    if Path::new(DEBIAN).exists() {
        assert_eq!(
            run(DEBIAN, dir.path(), &["mynetworks"]).status.code(),
            Some(1)
        );
    }
}
