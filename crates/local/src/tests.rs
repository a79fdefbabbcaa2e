//! Unit tests of the delivery tree (aliases, .forward, mailbox, commands,
//! files, loops) with a fixed host: accounts in a temporary directory,
//! `local.test` as the only local domain.
use crate::dispatch::{Agent, Host, Route};
use crate::errors::Outcome;
use crate::privs::Account;
use crate::settings::Settings;
use crate::state::{Message, Results, Seen, State};
use global::Config;
use maps::{DictFlags, Maps};
use nix::unistd::{Gid, Uid};
use std::path::{Path, PathBuf};

struct FakeHost {
    dir: PathBuf,
}

impl Host for FakeHost {
    fn route(&self, addr: &str) -> Route {
        match addr.rsplit_once('@') {
            None => Route::Local(format!("{addr}@local.test")),
            Some((_, "local.test")) => Route::Local(addr.to_string()),
            Some(_) => Route::Remote(addr.to_string()),
        }
    }

    fn account(&self, name: &str) -> Result<Option<Account>, String> {
        if !["u1", "u2", "u3", "nobody"].contains(&name) {
            return Ok(None);
        }
        Ok(Some(Account {
            name: name.into(),
            uid: Uid::from_raw(if name == "nobody" { 65534 } else { 1000 }),
            gid: Gid::from_raw(1000),
            home: self.dir.join("home").join(name),
            shell: "/bin/sh".into(),
        }))
    }
}

struct World {
    dir: tempfile::TempDir,
    cfg: Config,
    settings: Settings,
    aliases: Result<Maps, String>,
}

fn world(aliases: &str, extra: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    for u in ["u1", "u2", "u3"] {
        std::fs::create_dir_all(dir.path().join("home").join(u)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("spool")).unwrap();
    let table = dir.path().join("aliases");
    std::fs::write(&table, aliases).unwrap();
    let main = format!(
        "mail_spool_directory = {}\nmyhostname = host.test\ndeliver_lock_delay = 0\n{extra}\n",
        dir.path().join("spool").display()
    );
    let cfg = Config::from_text(Path::new("/nonexistent"), &main).unwrap();
    let settings = Settings::from_config(&cfg).unwrap();
    let aliases = Maps::open(
        "alias_maps",
        &format!("texthash:{}", table.display()),
        DictFlags::default(),
    )
    .map_err(|e| e.to_string());
    World {
        dir,
        cfg,
        settings,
        aliases,
    }
}

impl World {
    fn run(&self, rcpt: &str, content: &str) -> Results {
        let host = FakeHost {
            dir: self.dir.path().to_path_buf(),
        };
        let agent = Agent {
            settings: &self.settings,
            cfg: &self.cfg,
            aliases: &self.aliases,
            host: &host,
        };
        let msg = Message::new("QID", "sender@remote.test", content.as_bytes().to_vec());
        let mut out = Results::default();
        agent.deliver(
            &msg,
            State::root(rcpt, rcpt, &msg.sender),
            &mut Seen::default(),
            &mut out,
        );
        out
    }

    fn spool(&self, user: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("spool").join(user)).unwrap_or_default()
    }
}

fn summary(r: &Results) -> Vec<(String, String)> {
    r.leaves
        .iter()
        .map(|l| {
            (
                l.to.clone(),
                format!("{} {}", l.outcome.dsn(), l.outcome.text()),
            )
        })
        .collect()
}

#[test]
fn plain_user_gets_mbox_with_headers() {
    let w = world("", "");
    let r = w.run("u1@local.test", "Subject: hi\n\nFrom x\n");
    assert_eq!(
        summary(&r),
        vec![("u1@local.test".into(), "2.0.0 delivered to mailbox".into())]
    );
    let mbox = w.spool("u1");
    assert!(mbox.starts_with("From sender@remote.test  "), "{mbox}");
    assert!(mbox.contains("\nReturn-Path: <sender@remote.test>\nX-Original-To: u1@local.test\nDelivered-To: u1@local.test\nSubject: hi\n\n>From x\n\n"), "{mbox}");
}

#[test]
fn home_maildir() {
    let w = world("", "home_mailbox = Maildir/");
    let r = w.run("U1@local.test", "Subject: hi\n\nbody\n");
    assert_eq!(summary(&r)[0].1, "2.0.0 delivered to maildir");
    let new = w.dir.path().join("home/u1/Maildir/new");
    let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(
        text.contains("Delivered-To: u1@local.test\nSubject: hi\n\nbody\n"),
        "{text}"
    );
}

#[test]
fn unknown_user_bounces_and_luser_relay_catches() {
    let w = world("", "");
    let r = w.run("nosuch@local.test", "Subject: x\n\n");
    assert_eq!(
        summary(&r),
        vec![(
            "nosuch@local.test".into(),
            "5.1.1 unknown user: \"nosuch\"".into()
        )]
    );
    // A quoted local part is shown once, without its own quotes.
    let r = w.run("\"quoted user\"@local.test", "Subject: x\n\n");
    assert_eq!(summary(&r)[0].1, "5.1.1 unknown user: \"quoted user\"");
    let w = world("", "luser_relay = u2");
    let r = w.run("nosuch@local.test", "Subject: x\n\n");
    assert_eq!(
        summary(&r),
        vec![("u2@local.test".into(), "2.0.0 delivered to mailbox".into())]
    );
    assert!(w.spool("u2").contains("X-Original-To: nosuch@local.test"));
}

#[test]
fn alias_to_two_users_a_command_and_a_remote_address() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("cmd-out");
    let table = format!(
        "all u1, u2, \"|cat > {}\", friend@remote.test, u1\n",
        file.display()
    );
    let w = world(&table, "");
    let r = w.run("all@local.test", "Subject: a\n\nhello\n");
    let s = summary(&r);
    assert_eq!(s.len(), 3, "{s:?}");
    assert_eq!(
        s[0],
        ("u1@local.test".into(), "2.0.0 delivered to mailbox".into())
    );
    assert_eq!(
        s[1],
        ("u2@local.test".into(), "2.0.0 delivered to mailbox".into())
    );
    assert!(
        s[2].1.starts_with("2.0.0 delivered to command: cat > "),
        "{s:?}"
    );
    assert_eq!(s[2].0, "all@local.test");
    assert_eq!(r.forwards.len(), 1);
    assert_eq!(r.forwards[0].to, "friend@remote.test");
    assert_eq!(r.forwards[0].via, "all@local.test");
    let got = std::fs::read_to_string(&file).unwrap();
    assert!(got.starts_with("From sender@remote.test  "), "{got}");
    assert!(
        got.contains("Delivered-To: all@local.test\nSubject: a\n\nhello\n"),
        "{got}"
    );
    assert!(w
        .spool("u1")
        .contains("X-Original-To: all@local.test\nDelivered-To: u1@local.test\n"));
    assert_eq!(w.spool("u1").matches("From sender").count(), 1);
}

#[test]
fn alias_naming_itself_and_extensions() {
    let w = world("u1 u1, u2\n", "recipient_delimiter = +");
    let r = w.run("u1+tag@local.test", "Subject: a\n\n");
    let s = summary(&r);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().all(|(_, t)| t == "2.0.0 delivered to mailbox"));
}

#[test]
fn delivered_to_loop_and_restricted_destinations() {
    let w = world("", "");
    let r = w.run(
        "u1@local.test",
        "Delivered-To: U1@local.test\nSubject: a\n\n",
    );
    assert_eq!(
        summary(&r)[0].1,
        "5.4.6 mail forwarding loop for u1@local.test"
    );
    let w = world(
        "a \"|true\"\nb /tmp/x\nloop1 loop2\nloop2 loop1\n",
        "allow_mail_to_commands = forward\nallow_mail_to_files = forward",
    );
    assert_eq!(
        summary(&w.run("a@local.test", "\n"))[0].1,
        "5.7.1 mail to command is restricted"
    );
    assert_eq!(
        summary(&w.run("b@local.test", "\n"))[0].1,
        "5.7.1 mail to file is restricted"
    );
    let s = summary(&w.run("loop1@local.test", "\n"));
    assert_eq!(s.len(), 1);
    assert!(
        s[0].1.starts_with("5.4.6 mail forwarding loop for loop"),
        "{s:?}"
    );
}

#[test]
fn dot_forward_with_extension_and_self_reference() {
    let w = world("", "recipient_delimiter = +");
    let home = w.dir.path().join("home/u1");
    std::fs::write(home.join(".forward"), "# comment\n\\u1, u3\n").unwrap();
    std::fs::write(home.join(".forward+list"), "u2\n").unwrap();
    let s = summary(&w.run("u1@local.test", "Subject: a\n\n"));
    assert_eq!(
        s,
        vec![
            ("u1@local.test".into(), "2.0.0 delivered to mailbox".into()),
            ("u3@local.test".into(), "2.0.0 delivered to mailbox".into())
        ]
    );
    let s = summary(&w.run("u1+list@local.test", "Subject: a\n\n"));
    assert_eq!(
        s,
        vec![("u2@local.test".into(), "2.0.0 delivered to mailbox".into())]
    );
}

#[test]
fn alias_file_and_include_destinations() {
    let out = tempfile::tempdir().unwrap();
    let inc = out.path().join("inc");
    let f = out.path().join("log");
    std::fs::write(&inc, format!("u2\n{}\n", f.display())).unwrap();
    let w = world(
        &format!("list :include:{}\n", inc.display()),
        "allow_mail_to_files = alias, forward, include",
    );
    let s = summary(&w.run("list@local.test", "Subject: a\n\n"));
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(s[1].1, format!("2.0.0 delivered to file: {}", f.display()));
    assert!(std::fs::read_to_string(&f).unwrap().contains("Subject: a"));
}

#[test]
fn unreadable_alias_table_defers() {
    let mut w = world("", "");
    w.aliases = Err("open lmdb:/nonexistent: No such file or directory".into());
    let r = w.run("u1@local.test", "\n");
    assert_eq!(
        r.worst(),
        Some(&Outcome::defer("4.3.0", "alias database unavailable"))
    );
}
