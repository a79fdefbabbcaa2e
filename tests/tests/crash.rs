//! No loss under crashes (issue 3): 500 messages are submitted with
//! `sendmail` while cleanup, qmgr and local are killed with SIGKILL at
//! random moments. master restarts them; afterwards every message that
//! sendmail acknowledged (exit status 0) must be delivered at least once,
//! and nothing may end in `corrupt`. Duplicates are allowed; loss is not.
//! Needs root (delivery to a dedicated local user).
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use testkit::{test_user, Instance};

const MESSAGES: usize = 500;
const VICTIMS: &[&str] = &["cleanup", "qmgr", "local"];

/// A small xorshift generator: the test needs unpredictable kill times,
/// not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The instance's service processes named `service` (children of master).
fn service_pids(master: i32, service: &str) -> Vec<i32> {
    util::procfs::children(master)
        .into_iter()
        .filter(|&pid| {
            let argv = util::procfs::cmdline(pid);
            argv.windows(2).any(|w| w[0] == "-n" && w[1] == service)
        })
        .collect()
}

/// Subjects `crash-N` found in the Maildir.
fn delivered(dir: &std::path::Path) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("Subject: crash-") {
                if let Ok(n) = n.trim().parse() {
                    seen.insert(n);
                }
            }
        }
    }
    seen
}

#[test]
fn no_acknowledged_message_is_lost_when_daemons_are_killed() {
    let Some(user) = test_user("crash") else {
        eprintln!("skipped: delivery to a local user needs root");
        return;
    };
    let inst = Instance::builder()
        .master_cf_line("pickup    unix  n - y 2 1 pickup")
        .master_cf_line("cleanup   unix  n - y - 0 cleanup")
        .master_cf_line("qmgr      unix  n - n 2 1 qmgr")
        .master_cf_line("bounce    unix  - - y - 0 bounce")
        .master_cf_line("defer     unix  - - y - 0 bounce")
        .master_cf_line("retry     unix  - - y - - error")
        .master_cf_line("local     unix  - n n - - local")
        .main_cf(
            "myhostname = crash.test.example\nmydestination = $myhostname, localhost\n\
             alias_maps =\nhome_mailbox = Maildir/\nservice_throttle_time = 1s\n\
             minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n",
        )
        .start();
    let master = inst.master_pid().expect("master runs");

    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let seed = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            let mut rng = Rng(seed | 1);
            let mut kills = 0usize;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20 + rng.next() % 120));
                let service = VICTIMS[(rng.next() % VICTIMS.len() as u64) as usize];
                let pids = service_pids(master, service);
                if let Some(&pid) = pids.get((rng.next() as usize) % pids.len().max(1)) {
                    if nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    )
                    .is_ok()
                    {
                        kills += 1;
                    }
                }
            }
            kills
        })
    };

    let to = format!("{}@crash.test.example", user.name);
    let mut acknowledged = BTreeSet::new();
    for n in 0..MESSAGES {
        let msg = format!(
            "From: tester@crash.test.example\nTo: {to}\nSubject: crash-{n}\n\nmessage {n}\n"
        );
        if inst
            .sendmail(&["-f", "tester@crash.test.example", &to], &msg)
            .success()
        {
            acknowledged.insert(n);
        }
    }
    // Keep killing a little longer while the queue drains, then let it finish.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let kills = killer.join().unwrap();
    eprintln!(
        "{} of {MESSAGES} acknowledged; {kills} processes killed",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= MESSAGES * 9 / 10,
        "sendmail failed too often"
    );
    assert!(
        kills >= 10,
        "the test killed too few daemons ({kills}) to prove anything"
    );

    let deadline = Instant::now() + Duration::from_secs(240);
    let mut last_flush = Instant::now();
    loop {
        let got = delivered(&user.maildir_new());
        let missing: Vec<_> = acknowledged.difference(&got).collect();
        if missing.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "{} acknowledged messages never delivered (first: {:?})\n--- postqueue -p\n{}",
                missing.len(),
                &missing[..missing.len().min(10)],
                inst.run_program("postqueue", &["-p"], b"").stdout
            );
        }
        if last_flush.elapsed() > Duration::from_secs(5) {
            let _ = inst.run_program("postqueue", &["-f"], b"");
            last_flush = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let corrupt: Vec<_> = walk(&inst.queue_dir().join("corrupt"));
    assert!(corrupt.is_empty(), "files in corrupt: {corrupt:?}");
    eprintln!(
        "delivered {} files for {} messages",
        user.maildir_count(),
        acknowledged.len()
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
