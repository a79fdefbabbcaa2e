//! NAME
//!   wakeup - master's periodic wake-up requests
//!
//! DESCRIPTION
//!   A service with a wakeup time in master.cf column 6 gets the request
//!   `W` (Postfix's TRIGGER_REQ_WAKEUP) on its own listener every that
//!   many seconds; the first one right when the service starts. With
//!   `N?` the wake-ups start only once the service has been used, which
//!   master takes as: when it starts the service's first process (as
//!   Postfix does). Triggers never block master: every open, connect and
//!   write is non-blocking, and a full FIFO or backlog just drops the
//!   request (the next one comes soon).
use crate::services::ListenAddr;
use std::io;
use std::os::unix::net::UnixDatagram;

/// The wake-up request byte.
pub const WAKEUP: &[u8] = global::trigger::WAKEUP_REQUEST;

/// Send one wake-up to the listener at `addr`. inet services get none
/// (Ok). Errors: the open, connect or write failed.
pub fn send(addr: &ListenAddr) -> io::Result<()> {
    match addr {
        ListenAddr::Inet(_) => Ok(()),
        // The same non-blocking trigger every client uses: a full FIFO or
        // backlog counts as delivered (a wake-up is already pending).
        ListenAddr::Fifo(path) | ListenAddr::Unix(path) => global::trigger::send(path, WAKEUP),
        ListenAddr::UnixDgram(path) => {
            let d = UnixDatagram::unbound()?;
            d.set_nonblocking(true)?;
            d.send_to(WAKEUP, path).map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn fifo_and_socket_get_w() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = ListenAddr::Fifo(dir.path().join("f"));
        let mut r = std::fs::File::from(crate::listen::open(&fifo, 1).unwrap());
        send(&fifo).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(r.read(&mut b).unwrap(), 1);
        assert_eq!(&b[..1], b"W");

        let unix = ListenAddr::Unix(dir.path().join("u"));
        let l = std::os::unix::net::UnixListener::from(crate::listen::open(&unix, 1).unwrap());
        send(&unix).unwrap();
        let (mut c, _) = l.accept().unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"W");
    }
}
