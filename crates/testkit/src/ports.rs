//! NAME
//!   ports - free loopback ports for test instances
//!
//! DESCRIPTION
//!   [`free_port`] asks the kernel for an unused port (bind
//!   `127.0.0.1:0`, read the port, release it) and never hands out the
//!   same port twice in one test process, so tests running in parallel
//!   threads do not collide with each other. Another process may still
//!   take the port before master binds it; the kit then retries the start
//!   with new ports.
//!
//!   [`expand`] replaces `{port:NAME}` placeholders in master.cf lines,
//!   picking a port per new NAME.
use std::collections::{BTreeMap, HashSet};
use std::net::TcpListener;
use std::sync::Mutex;

static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// An unused TCP port on 127.0.0.1 not handed out before in this process.
/// Panics when the kernel gives none.
pub fn free_port() -> u16 {
    let mut guard = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    let given = guard.get_or_insert_with(HashSet::new);
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:0: {e}"));
        if given.insert(port) {
            return port;
        }
    }
    panic!("no free loopback port after 1000 tries");
}

/// Replace every `{port:NAME}` in `line` with the port of NAME in `ports`,
/// choosing a free port for a NAME not seen before.
pub fn expand(line: &str, ports: &mut BTreeMap<String, u16>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("{port:") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 6..start + len];
        let port = *ports.entry(name.to_string()).or_insert_with(free_port);
        out.push_str(&rest[..start]);
        out.push_str(&port.to_string());
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_get_stable_ports() {
        let mut ports = BTreeMap::new();
        let a = expand("127.0.0.1:{port:a} inet n - n - 2 testd", &mut ports);
        let b = expand(
            "127.0.0.1:{port:b} inet n - n - 2 testd -o x={port:a}",
            &mut ports,
        );
        let (pa, pb) = (ports["a"], ports["b"]);
        assert_ne!(pa, pb);
        assert_eq!(a, format!("127.0.0.1:{pa} inet n - n - 2 testd"));
        assert_eq!(b, format!("127.0.0.1:{pb} inet n - n - 2 testd -o x={pa}"));
        assert_eq!(expand("no ports {port:", &mut ports), "no ports {port:");
    }
}
