//! NAME
//!   reload - what a SIGHUP changes
//!
//! DESCRIPTION
//!   On `postfix reload` master re-reads main.cf and master.cf and
//!   compares the old services with the new ones by key (`service/type`)
//!   and listen addresses ([`plan`]):
//!
//!   - same key, same addresses: **keep**. The listeners stay open (same
//!     descriptors, so no connection is refused during the reload); the
//!     new settings (command, limits, wake-up) apply to new processes;
//!     the service gets a new status pipe, so its old processes see the
//!     old one break and exit after finishing their current client, as
//!     Postfix does.
//!   - a key only in the old file, or whose addresses changed: **stop**.
//!     The listeners close and the processes get SIGTERM (master(8):
//!     "its running processes are terminated immediately").
//!   - a key only in the new file, or whose addresses changed: **start**.
//!
//!   Stops are done before starts, so a service whose addresses moved
//!   can bind them again.

/// The decision for one reload, as indexes into the old and new lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// `(old, new)` pairs that keep their listeners.
    pub keep: Vec<(usize, usize)>,
    /// Old services to stop.
    pub stop: Vec<usize>,
    /// New services to start.
    pub start: Vec<usize>,
}

/// Compare `old` and `new` services given as `(key, listen addresses)`.
pub fn plan<A: PartialEq>(old: &[(&str, A)], new: &[(&str, A)]) -> Plan {
    let mut p = Plan::default();
    for (ni, (nkey, naddrs)) in new.iter().enumerate() {
        match old.iter().position(|(k, _)| k == nkey) {
            Some(oi) if old[oi].1 == *naddrs => p.keep.push((oi, ni)),
            _ => p.start.push(ni),
        }
    }
    for oi in 0..old.len() {
        if !p.keep.iter().any(|(o, _)| *o == oi) {
            p.stop.push(oi);
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_stop_start() {
        let old = [
            ("smtp/inet", vec![1]),
            ("pickup/fifo", vec![2]),
            ("gone/unix", vec![3]),
            ("moved/inet", vec![4]),
        ];
        let new = [
            ("pickup/fifo", vec![2]),
            ("smtp/inet", vec![1]),
            ("moved/inet", vec![5]),
            ("new/unix", vec![6]),
        ];
        let p = plan(&old, &new);
        assert_eq!(p.keep, vec![(1, 0), (0, 1)]);
        assert_eq!(p.stop, vec![2, 3]);
        assert_eq!(p.start, vec![2, 3]);
    }

    #[test]
    fn same_name_other_type_is_another_service() {
        let p = plan(&[("x/unix", ())], &[("x/fifo", ())]);
        assert_eq!(
            p,
            Plan {
                keep: vec![],
                stop: vec![0],
                start: vec![0]
            }
        );
    }

    #[test]
    fn nothing_changed() {
        let old = [("a/unix", 1), ("b/unix", 2)];
        let p = plan(&old, &old);
        assert_eq!(p.keep, vec![(0, 0), (1, 1)]);
        assert!(p.stop.is_empty() && p.start.is_empty());
    }
}
