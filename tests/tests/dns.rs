//! NAME
//!   dns - smtp(8) next-hop selection against a real DNS server
//!
//! DESCRIPTION
//!   Starts dnsmasq (Debian's `dnsmasq-base`, installed by scripts/test)
//!   on a free loopback port, authoritative for `.test`:
//!
//!   - `two.test`: MX 10 `mx1.two.test` (127.0.0.1, nothing listens),
//!     MX 20 `mx2.two.test` (127.0.0.2, Postfix's smtp-sink);
//!   - `greet.test`: MX 10 `mx1.greet.test` (127.0.0.3, smtp-sink
//!     greeting with 421), MX 20 `mx2.two.test`;
//!   - `nullmx.test`: the RFC 7505 null MX;
//!   - `aonly.test`: no MX, an A record (127.0.0.2);
//!   - `v6only.test`: no MX, only an AAAA record (::1);
//!   - `nx.test`: does not exist (NXDOMAIN);
//!   - `fail.test`: forwarded to a stub that answers SERVFAIL.
//!
//!   The instance sends with `postern_dns_servers = 127.0.0.1:PORT` and
//!   `smtp_tcp_port` set to the sinks' port, and the test checks each
//!   recipient's status line.
//!
//!   Run: `cargo build --workspace` then `cargo test -p systest --test dns`.
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::{ports::free_port, Instance};

const WAIT: Duration = Duration::from_secs(40);

/// Kills its child on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("skipped: {program} is not installed (scripts/test installs it)");
    }
    found
}

/// A UDP stub that answers every query with SERVFAIL; returns its port.
fn servfail_stub() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = s.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            if n < 12 {
                continue;
            }
            let mut r = buf[..n].to_vec();
            r[2] |= 0x80; // QR
            r[3] = (r[3] & 0xf0) | 2; // RCODE SERVFAIL
            let _ = s.send_to(&r, from);
        }
    });
    port
}

fn dnsmasq(port: u16, servfail: u16) -> Daemon {
    let args = [
        "--keep-in-foreground".to_string(),
        "--conf-file=/dev/null".into(),
        "--pid-file=".into(),
        format!("--port={port}"),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--log-facility=-".into(),
        "--local=/test/".into(),
        format!("--server=/fail.test/127.0.0.1#{servfail}"),
        "--mx-host=two.test,mx1.two.test,10".into(),
        "--mx-host=two.test,mx2.two.test,20".into(),
        "--host-record=mx1.two.test,127.0.0.1".into(),
        "--host-record=mx2.two.test,127.0.0.2".into(),
        "--mx-host=greet.test,mx1.greet.test,10".into(),
        "--mx-host=greet.test,mx2.two.test,20".into(),
        "--host-record=mx1.greet.test,127.0.0.3".into(),
        "--mx-host=nullmx.test,.,0".into(),
        "--host-record=aonly.test,127.0.0.2".into(),
        "--host-record=v6only.test,::1".into(),
    ];
    let child = Command::new("dnsmasq")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq");
    // Ready when it answers on its port.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let query = [
        0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, b't', b'w', b'o', 4, b't', b'e', b's', b't',
        0, 0, 15, 0, 1,
    ];
    let ready = testkit::wait_until(Duration::from_secs(10), || {
        probe.send_to(&query, ("127.0.0.1", port)).ok()?;
        let mut b = [0u8; 512];
        probe.recv_from(&mut b).ok().map(|_| ())
    });
    assert!(ready.is_some(), "dnsmasq did not answer on port {port}");
    Daemon(child)
}

fn sink(addr: &str, extra: &[&str]) -> Daemon {
    let mut args: Vec<&str> = vec!["-u", "root"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[addr, "10"]);
    Daemon(
        Command::new("smtp-sink")
            .args(&args)
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink"),
    )
}

fn status_line(inst: &Instance, rcpt: &str) -> String {
    inst.wait_for_log(&format!("to=<{rcpt}>, relay="), WAIT)
}

#[test]
fn mx_selection_null_mx_fallbacks_and_failures() {
    if !have("dnsmasq") || !have("smtp-sink") {
        return;
    }
    let dns_port = free_port();
    let _dns = dnsmasq(dns_port, servfail_stub());
    let port = free_port();
    let _good = sink(&format!("127.0.0.2:{port}"), &[]);
    let _refusing = sink(&format!("127.0.0.3:{port}"), &["-Q", "connect"]);
    let v6 = std::net::TcpListener::bind(("::1", 0)).is_ok();
    let _v6sink = v6.then(|| sink(&format!("[::1]:{port}"), &[]));
    let inst = Instance::builder()
        .mail_pipeline()
        .master_cf_line("smtp unix - - n - - smtp")
        .main_cf(&format!(
            "myhostname = client.test\nmydestination = localhost\ninet_protocols = {}\n\
             postern_dns_servers = 127.0.0.1:{dns_port}\nsmtp_tcp_port = {port}\n\
             smtp_connection_cache_on_demand = no\n",
            if v6 { "all" } else { "ipv4" }
        ))
        .start();
    let mut rcpts = vec![
        "a@two.test",
        "b@greet.test",
        "c@nullmx.test",
        "d@aonly.test",
        "e@nx.test",
        "f@fail.test",
    ];
    if v6 {
        rcpts.push("g@v6only.test");
    }
    for r in &rcpts {
        inst.sendmail(&["-f", "s@client.test", r], "Subject: dns\n\nhi\n")
            .assert_ok();
    }
    let l = status_line(&inst, "a@two.test");
    assert!(
        l.contains(&format!("relay=mx2.two.test[127.0.0.2]:{port}")) && l.contains("status=sent"),
        "{l}"
    );
    let l = status_line(&inst, "b@greet.test");
    assert!(
        l.contains(&format!("relay=mx2.two.test[127.0.0.2]:{port}")) && l.contains("status=sent"),
        "{l}"
    );
    let l = status_line(&inst, "c@nullmx.test");
    assert!(
        l.contains("relay=none, ")
            && l.contains(
                "dsn=5.1.0, status=bounced (Domain nullmx.test does not accept mail (nullMX))"
            ),
        "{l}"
    );
    let l = status_line(&inst, "d@aonly.test");
    assert!(
        l.contains(&format!("relay=aonly.test[127.0.0.2]:{port}")) && l.contains("status=sent"),
        "{l}"
    );
    let l = status_line(&inst, "e@nx.test");
    assert!(
        l.contains("dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name=nx.test type=MX: Host not found)"),
        "{l}"
    );
    let l = status_line(&inst, "f@fail.test");
    assert!(
        l.contains("dsn=4.4.3, status=deferred (Host or domain name not found. Name service error for name=fail.test type=MX: Host not found, try again)"),
        "{l}"
    );
    for l in inst.log().lines().filter(|l| l.contains("status=")) {
        println!("{l}");
    }
    if v6 {
        let l = status_line(&inst, "g@v6only.test");
        assert!(
            l.contains(&format!("relay=v6only.test[::1]:{port}")) && l.contains("status=sent"),
            "{l}"
        );
    }
}
