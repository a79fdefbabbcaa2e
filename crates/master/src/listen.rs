//! NAME
//!   listen - master opens every listener
//!
//! DESCRIPTION
//!   master, not the service programs, opens the listeners, so that they
//!   survive the processes that serve them and a reload (Postfix's
//!   master_listen):
//!
//!   - inet: a TCP socket with `SO_REUSEADDR` (and `IPV6_V6ONLY` for IPv6,
//!     so `0.0.0.0` and `::` can both be bound), listening with backlog
//!     `max(maxproc, default_process_limit)`;
//!   - unix and pass: a stale socket file is removed, the socket is bound
//!     and made mode 0666 (access is controlled by the directory:
//!     private/ or public/);
//!   - fifo: a stale file is removed, the FIFO is made with mode 0622 and
//!     opened read-write and non-blocking, so it never reports end of file;
//!   - unix-dgram: like unix, as a datagram socket.
//!
//!   Every descriptor is close-on-exec; master places those of a service
//!   at fd 6 and up in its children only.
//!
//! DIAGNOSTICS
//!   `bind 127.0.0.1 port 25: Address already in use`, as Postfix words it;
//!   `bind /q/private/x: ...`; `mkfifo /q/public/pickup: ...`.
use crate::services::ListenAddr;
use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};
use std::fs::{self, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::Path;

/// The C library's text for `e` (`Resource temporarily unavailable`), as
/// Postfix's `%m` prints it; nix's own descriptions differ.
pub fn strerror(e: nix::errno::Errno) -> String {
    let text = std::io::Error::from_raw_os_error(e as i32).to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Whether this host can make IPv6 sockets (Postfix turns IPv6 off in
/// `inet_protocols` with a warning when it cannot).
pub fn ipv6_supported() -> bool {
    socket(
        AddressFamily::Inet6,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .is_ok()
}

fn inet(addr: &std::net::SocketAddr, backlog: i32) -> Result<OwnedFd, String> {
    let what = || format!("{} port {}", addr.ip(), addr.port());
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| format!("socket: {}", strerror(e)))?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)
        .map_err(|e| format!("setsockopt SO_REUSEADDR: {}", strerror(e)))?;
    if addr.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)
            .map_err(|e| format!("setsockopt IPV6_V6ONLY: {}", strerror(e)))?;
    }
    let sa = SockaddrStorage::from(*addr);
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &sa)
        .map_err(|e| format!("bind {}: {}", what(), strerror(e)))?;
    let backlog = Backlog::new(backlog).unwrap_or(Backlog::MAXCONN);
    listen(&fd, backlog).map_err(|e| format!("listen {}: {}", what(), strerror(e)))?;
    Ok(fd)
}

fn remove_stale(path: &Path) {
    let _ = fs::remove_file(path);
}

fn chmod(path: &Path, mode: u32) -> Result<(), String> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

fn io_err(what: &str, path: &Path, e: &io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// Open the listener at `addr`; `backlog` is the stream listen backlog.
/// Errors: the failing call and address, as above.
pub fn open(addr: &ListenAddr, backlog: i32) -> Result<OwnedFd, String> {
    match addr {
        ListenAddr::Inet(sa) => inet(sa, backlog),
        ListenAddr::Unix(path) => {
            remove_stale(path);
            let l = UnixListener::bind(path).map_err(|e| io_err("bind", path, &e))?;
            chmod(path, 0o666)?;
            Ok(OwnedFd::from(l))
        }
        ListenAddr::UnixDgram(path) => {
            remove_stale(path);
            let d = UnixDatagram::bind(path).map_err(|e| io_err("bind", path, &e))?;
            chmod(path, 0o666)?;
            Ok(OwnedFd::from(d))
        }
        ListenAddr::Fifo(path) => {
            remove_stale(path);
            nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o622))
                .map_err(|e| format!("mkfifo {}: {}", path.display(), strerror(e)))?;
            chmod(path, 0o622)?;
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(libc_nonblock())
                .open(path)
                .map_err(|e| io_err("open", path, &e))?;
            Ok(OwnedFd::from(f))
        }
    }
}

fn libc_nonblock() -> i32 {
    nix::fcntl::OFlag::O_NONBLOCK.bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_opens() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pickup");
        let unix = dir.path().join("cleanup");
        let dgram = dir.path().join("postlog");
        std::fs::write(&unix, b"stale").unwrap();
        for a in [
            ListenAddr::Fifo(fifo.clone()),
            ListenAddr::Unix(unix.clone()),
            ListenAddr::UnixDgram(dgram.clone()),
        ] {
            open(&a, 10).unwrap();
        }
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(
            std::fs::metadata(&fifo).unwrap().permissions().mode() & 0o777,
            0o622
        );
        assert!(std::fs::metadata(&unix).unwrap().file_type().is_socket());
        assert_eq!(
            std::fs::metadata(&unix).unwrap().permissions().mode() & 0o777,
            0o666
        );
        let tcp = open(&ListenAddr::Inet("127.0.0.1:0".parse().unwrap()), 10).unwrap();
        drop(tcp);
    }

    #[test]
    fn busy_port_is_reported_like_postfix() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let e = open(
            &ListenAddr::Inet(format!("127.0.0.1:{port}").parse().unwrap()),
            10,
        )
        .unwrap_err();
        assert_eq!(
            e,
            format!("bind 127.0.0.1 port {port}: Address already in use")
        );
    }
}
