//! NAME
//!   services - what master runs for each master.cf line
//!
//! DESCRIPTION
//!   [`build`] turns master.cf entries and main.cf settings into
//!   [`ServiceSpec`]s: the program path (`$daemon_directory/command`),
//!   the argv master passes ([`global::master_proto`]), the listen
//!   addresses, the process limit, the wake-up interval and the throttle
//!   delay.
//!
//!   Listen addresses (master(5)): inet services per [`crate::addr`];
//!   unix, pass, fifo and unix-dgram services at
//!   `$queue_directory/private/NAME` when column 3 (private) is `y`, else
//!   `$queue_directory/public/NAME`.
//!
//!   A line whose program is not in `daemon_directory` is left out with one
//!   warning, so that Debian's stock master.cf starts while Postern lacks
//!   some programs: `/etc/postfix/master.cf, line 12: service "smtp"
//!   (smtpd): program /usr/lib/postfix/sbin/smtpd not found; service
//!   disabled`. For an inet service the warning goes on with where
//!   nobody will answer: `; nothing will listen on 127.0.0.1:25`
//!   ([`MasterCf::missing_programs`], shared with `postfix check`).
use crate::addr::{self, Protocols};
use global::master_cf::{MasterCf, MasterEntry, MaxProc, ServiceType, Wakeup};
use global::Config;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where one listener of a service is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ListenAddr {
    /// A TCP address.
    Inet(SocketAddr),
    /// A UNIX-domain stream socket (types unix and pass).
    Unix(PathBuf),
    /// A named pipe.
    Fifo(PathBuf),
    /// A UNIX-domain datagram socket.
    UnixDgram(PathBuf),
}

/// Everything master needs to run one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// `service/type` as written in master.cf (the reload key).
    pub key: String,
    /// Column 1.
    pub name: String,
    /// Column 2.
    pub kind: ServiceType,
    /// The master.cf line number.
    pub line: usize,
    /// `$daemon_directory/command`.
    pub path: PathBuf,
    /// The argv, starting with the command name.
    pub argv: Vec<String>,
    /// The listeners.
    pub addrs: Vec<ListenAddr>,
    /// At most this many processes; `None` = no limit.
    pub max_proc: Option<u32>,
    /// Column 6.
    pub wakeup: Option<Wakeup>,
    /// `service_throttle_time`.
    pub throttle: Duration,
}

/// The main.cf values [`build`] uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `daemon_directory`.
    pub daemon_dir: PathBuf,
    /// `queue_directory`.
    pub queue_dir: PathBuf,
    /// `default_process_limit`.
    pub default_limit: u32,
    /// `service_throttle_time`, seconds.
    pub throttle: Duration,
    /// `inet_interfaces`, split.
    pub interfaces: Vec<String>,
    /// `inet_protocols`.
    pub protocols: Protocols,
    /// master's `-v` count, passed on to children.
    pub verbose: u32,
}

impl Settings {
    /// Read the settings from `cfg`. `ipv6_ok` says whether this host can
    /// make IPv6 sockets (else IPv6 is dropped from `inet_protocols`).
    /// Errors: bad values, with file and line.
    pub fn from_config(cfg: &Config, verbose: u32, ipv6_ok: bool) -> Result<Settings, String> {
        let e = |e: global::ConfigError| e.to_string();
        let mut protocols = addr::parse_protocols(&cfg.get_list("inet_protocols").map_err(e)?)?;
        if !ipv6_ok && protocols.v6 {
            protocols.v6 = false;
            if !protocols.v4 {
                return Err(
                    "inet_protocols: IPv6 is not supported on this host and IPv4 is disabled"
                        .into(),
                );
            }
        }
        let limit = cfg.get_int("default_process_limit").map_err(e)?;
        Ok(Settings {
            daemon_dir: PathBuf::from(cfg.get("daemon_directory").map_err(e)?),
            queue_dir: PathBuf::from(cfg.get("queue_directory").map_err(e)?),
            default_limit: u32::try_from(limit)
                .map_err(|_| format!("bad default_process_limit: {limit}"))?,
            throttle: Duration::from_secs(cfg.get_time("service_throttle_time").map_err(e)?),
            interfaces: cfg.get_list("inet_interfaces").map_err(e)?,
            protocols,
            verbose,
        })
    }
}

/// The argv master passes to the program of `entry` (see
/// [`global::master_proto`]): `command -n service -t type -s count [-c]
/// [-u] [-v]... args...`.
pub fn child_argv(entry: &MasterEntry, name: &str, sockets: usize, verbose: u32) -> Vec<String> {
    let mut argv = vec![
        entry.command.clone(),
        "-n".into(),
        name.to_string(),
        "-t".into(),
        entry.kind.as_str().into(),
        "-s".into(),
        sockets.to_string(),
    ];
    if entry.chroot {
        argv.push("-c".into());
    }
    if entry.unpriv {
        argv.push("-u".into());
    }
    argv.extend((0..verbose).map(|_| "-v".to_string()));
    argv.extend(entry.args.iter().cloned());
    argv
}

fn listen_addrs(
    entry: &MasterEntry,
    name: &str,
    s: &Settings,
    services_file: Option<&str>,
    resolve: &dyn Fn(&str) -> Result<Vec<IpAddr>, String>,
) -> Result<Vec<ListenAddr>, String> {
    if entry.kind == ServiceType::Inet {
        let (host, port) = global::master_cf::split_inet(name)?;
        let port = addr::port_number(&port, services_file)?;
        let addrs =
            addr::inet_addresses(host.as_deref(), port, &s.interfaces, s.protocols, resolve)?;
        return Ok(addrs.into_iter().map(ListenAddr::Inet).collect());
    }
    let dir = if entry.private { "private" } else { "public" };
    let path = s.queue_dir.join(dir).join(name);
    Ok(vec![match entry.kind {
        ServiceType::Fifo => ListenAddr::Fifo(path),
        ServiceType::UnixDgram => ListenAddr::UnixDgram(path),
        _ => ListenAddr::Unix(path),
    }])
}

/// Build the services of `cf` with settings `s`. `cfg` expands `$name` in
/// column 1; `exists` tells whether a program file exists; `resolve`
/// resolves host names; `services_file` is /etc/services' text.
///
/// Returns the services and the warnings to log (missing programs).
/// Errors: the first bad listen address, as `file, line N: reason`.
pub fn build(
    cf: &MasterCf,
    cfg: &Config,
    s: &Settings,
    exists: &dyn Fn(&Path) -> bool,
    services_file: Option<&str>,
    resolve: &dyn Fn(&str) -> Result<Vec<IpAddr>, String>,
) -> Result<(Vec<ServiceSpec>, Vec<String>), String> {
    let mut specs = Vec::new();
    let mut warnings = Vec::new();
    let file = cf.path.display().to_string();
    let expand = |text: &str| {
        cfg.expand_text(text)
            .map(|x| x.value)
            .unwrap_or_else(|_| text.to_string())
    };
    let missing = cf.missing_programs(&s.daemon_dir, &expand, exists);
    for (i, entry) in cf.entries.iter().enumerate() {
        if let Some((_, w)) = missing.iter().find(|(m, _)| *m == i) {
            warnings.push(w.clone());
            continue;
        }
        let name = expand(&entry.service);
        let path = s.daemon_dir.join(&entry.command);
        let addrs = listen_addrs(entry, &name, s, services_file, resolve).map_err(|e| {
            format!(
                "{file}, line {}: service \"{}\": {e}",
                entry.line, entry.service
            )
        })?;
        let max_proc = match entry.maxproc {
            MaxProc::Default if s.default_limit == 0 => None,
            MaxProc::Default => Some(s.default_limit),
            MaxProc::Unlimited => None,
            MaxProc::Limit(n) => Some(n),
        };
        specs.push(ServiceSpec {
            key: entry.key(),
            argv: child_argv(entry, &name, addrs.len(), s.verbose),
            name,
            kind: entry.kind,
            line: entry.line,
            path,
            addrs,
            max_proc,
            wakeup: entry.wakeup,
            throttle: s.throttle,
        });
    }
    Ok((specs, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn settings() -> Settings {
        Settings {
            daemon_dir: "/d".into(),
            queue_dir: "/q".into(),
            default_limit: 100,
            throttle: Duration::from_secs(60),
            interfaces: vec!["loopback-only".into()],
            protocols: Protocols {
                v4: true,
                v6: false,
            },
            verbose: 1,
        }
    }

    const CF: &str = "\
127.0.0.1:2525 inet n - y - 2 testd -o syslog_name=x
smtp      inet  n       -       y       -       -       smtpd
pickup    fifo  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
127.0.0.1:2526 inet n - y - 1 postscreen
";

    #[test]
    fn specs_and_missing_programs() {
        let cf = global::master_cf::parse(CF, Path::new("/etc/postfix/master.cf")).unwrap();
        let cfg = Config::from_text(Path::new("/cfg"), "").unwrap();
        let exists = |p: &Path| p != Path::new("/d/postlogd") && p != Path::new("/d/postscreen");

        let (specs, warnings) =
            build(&cf, &cfg, &settings(), &exists, None, &addr::system_resolve).unwrap();
        assert_eq!(
            warnings,
            vec![
                "/etc/postfix/master.cf, line 6: service \"postlog\" (postlogd): program /d/postlogd not found; service disabled",
                "/etc/postfix/master.cf, line 7: service \"127.0.0.1:2526\" (postscreen): program /d/postscreen not found; service disabled; nothing will listen on 127.0.0.1:2526",
            ]
        );
        assert_eq!(specs.len(), 5);
        let t = &specs[0];
        assert_eq!(t.key, "127.0.0.1:2525/inet");
        assert_eq!(
            t.argv,
            [
                "testd",
                "-n",
                "127.0.0.1:2525",
                "-t",
                "inet",
                "-s",
                "1",
                "-c",
                "-u",
                "-v",
                "-o",
                "syslog_name=x"
            ]
        );
        assert_eq!(
            t.addrs,
            vec![ListenAddr::Inet("127.0.0.1:2525".parse().unwrap())]
        );
        assert_eq!(t.max_proc, Some(2));
        assert_eq!(
            specs[1].addrs,
            vec![ListenAddr::Inet("127.0.0.1:25".parse().unwrap())]
        );
        assert_eq!(specs[1].max_proc, Some(100));
        assert_eq!(
            specs[2].addrs,
            vec![ListenAddr::Fifo("/q/public/pickup".into())]
        );
        assert_eq!(
            specs[3].addrs,
            vec![ListenAddr::Unix("/q/public/cleanup".into())]
        );
        assert_eq!(specs[3].max_proc, None);
        assert_eq!(
            specs[4].addrs,
            vec![ListenAddr::Unix("/q/private/tlsmgr".into())]
        );
        assert_eq!(specs[4].path, PathBuf::from("/d/tlsmgr"));
    }

    #[test]
    fn bad_port_names_the_line() {
        let cf = global::master_cf::parse("nosuchport inet n - n - - smtpd\n", Path::new("m.cf"))
            .unwrap();
        let cfg = Config::from_text(Path::new("/cfg"), "").unwrap();
        let e = build(
            &cf,
            &cfg,
            &settings(),
            &|_| true,
            Some(""),
            &addr::system_resolve,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "m.cf, line 1: service \"nosuchport\": unknown service: nosuchport/tcp"
        );
    }
}
