//! NAME
//!   master_proto - the contract between master and the service programs
//!
//! DESCRIPTION
//!   master forks and execs each service program from `daemon_directory`
//!   with:
//!
//!   - argv: `program -n service -t type -s count [-c] [-u] [-v]...
//!     [-o name=value]...` where `-c` means "chroot to queue_directory"
//!     (master.cf column 5), `-u` means "drop privileges to mail_owner"
//!     (column 4), `-s` is the number of listen descriptors, and each `-o`
//!     is an override from master.cf. Postfix passes the same options.
//!   - the environment: `MAIL_CONFIG` (the config directory) and
//!     `GENERATION` (the master's generation number, hexadecimal), plus the
//!     variables allowed by `import_environment`.
//!   - descriptors: the status pipe's write end on [`STATUS_FD`] and the
//!     listen sockets (or FIFO) from [`LISTEN_FD`] upwards.
//!
//!   A child reports on the status pipe with fixed-size records
//!   ([`StatusRecord`], [`STATUS_RECORD_LEN`] bytes): `AVAIL` when it waits
//!   for a client, `BUSY` when it has taken one. master forks another
//!   process for a service only when none of its children is `AVAIL`.
//!   A child exits after `max_use` clients or `max_idle` idle seconds, or
//!   when the status pipe breaks (master went away).

/// The status pipe's descriptor in a child.
pub const STATUS_FD: i32 = 5;
/// The first listen descriptor in a child.
pub const LISTEN_FD: i32 = 6;
/// Environment variable with master's generation (hexadecimal).
pub const GENERATION_ENV: &str = "GENERATION";
/// Environment variable naming the configuration directory.
pub const CONFIG_ENV: &str = "MAIL_CONFIG";

/// A child's state as reported to master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for a client.
    Avail,
    /// Serving a client.
    Busy,
}

/// Length of one status record in bytes.
pub const STATUS_RECORD_LEN: usize = 12;

/// One status report: which process, of which generation, in which state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRecord {
    /// The child's process ID.
    pub pid: i32,
    /// The master generation the child was started under.
    pub generation: u32,
    /// Available or busy.
    pub status: Status,
}

impl StatusRecord {
    /// Encode as [`STATUS_RECORD_LEN`] bytes (native byte order: both ends
    /// run on the same host).
    pub fn encode(&self) -> [u8; STATUS_RECORD_LEN] {
        let mut b = [0u8; STATUS_RECORD_LEN];
        b[0..4].copy_from_slice(&self.pid.to_ne_bytes());
        b[4..8].copy_from_slice(&self.generation.to_ne_bytes());
        let s: u32 = match self.status {
            Status::Busy => 0,
            Status::Avail => 1,
        };
        b[8..12].copy_from_slice(&s.to_ne_bytes());
        b
    }

    /// Decode one record; `None` when the status word is unknown.
    pub fn decode(b: &[u8; STATUS_RECORD_LEN]) -> Option<StatusRecord> {
        let pid = i32::from_ne_bytes(b[0..4].try_into().ok()?);
        let generation = u32::from_ne_bytes(b[4..8].try_into().ok()?);
        let status = match u32::from_ne_bytes(b[8..12].try_into().ok()?) {
            0 => Status::Busy,
            1 => Status::Avail,
            _ => return None,
        };
        Some(StatusRecord {
            pid,
            generation,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = StatusRecord {
            pid: 1234,
            generation: 7,
            status: Status::Avail,
        };
        assert_eq!(StatusRecord::decode(&r.encode()), Some(r));
        let mut bad = r.encode();
        bad[8] = 9;
        assert_eq!(StatusRecord::decode(&bad), None);
    }
}
