//! NAME
//!   prng - entropy sources and the PRNG exchange file
//!
//! DESCRIPTION
//!   OpenSSL seeds itself from the operating system; Postern adds what
//!   Postfix adds, through OpenSSL's own pool (`RAND_add`, `RAND_bytes`;
//!   no hand-written cryptography):
//!
//!   - `tls_random_source`: `dev:/dev/urandom` (a device read directly),
//!     `egd:/path` (an EGD socket, non-blocking read command), or a plain
//!     file; tlsmgr reads `tls_random_bytes` from it at start and every
//!     `tls_random_reseed_period` (TLS_CHANGES 2000/07/23).
//!   - `tls_random_exchange_name`: a file of 1024 bytes that is read,
//!     stirred into the pool and written back with fresh output, so every
//!     process adds to what the others left (TLS_CHANGES 2000/08/24);
//!     tlsmgr rewrites it every `tls_random_prng_update_period`.
//!   - daemons ask tlsmgr for `tls_daemon_random_bytes` with the `seed`
//!     request ([`crate::mgr_client::MgrClient::seed`]).
//!
//! SEE ALSO
//!   tlsmgr(8), postconf(5).
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Size of the exchange file, bytes.
pub const EXCHANGE_SIZE: usize = 1024;

/// A `tls_random_source` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RandomSource {
    /// `dev:/path`: a device such as /dev/urandom.
    Device(String),
    /// `egd:/path`: an EGD-protocol socket.
    Egd(String),
    /// A regular file.
    File(String),
}

impl RandomSource {
    /// Parse `dev:/x`, `egd:/x` or a plain path. `None` for an empty value.
    pub fn parse(spec: &str) -> Option<RandomSource> {
        let s = spec.trim();
        if s.is_empty() {
            return None;
        }
        Some(if let Some(p) = s.strip_prefix("dev:") {
            RandomSource::Device(p.to_string())
        } else if let Some(p) = s.strip_prefix("egd:") {
            RandomSource::Egd(p.to_string())
        } else {
            RandomSource::File(s.to_string())
        })
    }

    /// Read up to `n` bytes (at most 255 from EGD, its limit per request).
    /// Errors: the source cannot be opened or read.
    pub fn read(&self, n: usize) -> io::Result<Vec<u8>> {
        match self {
            RandomSource::Device(p) | RandomSource::File(p) => {
                let mut f = std::fs::File::open(p)?;
                let mut buf = vec![0u8; n];
                let mut got = 0;
                while got < n {
                    match f.read(&mut buf[got..])? {
                        0 => break,
                        k => got += k,
                    }
                }
                buf.truncate(got);
                Ok(buf)
            }
            RandomSource::Egd(p) => {
                let mut s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(Duration::from_secs(10)))?;
                let want = n.min(255) as u8;
                s.write_all(&[0x01, want])?;
                let mut len = [0u8; 1];
                s.read_exact(&mut len)?;
                let mut buf = vec![0u8; usize::from(len[0])];
                s.read_exact(&mut buf)?;
                Ok(buf)
            }
        }
    }
}

/// Mix `data` into OpenSSL's pool, crediting all of it as entropy.
pub fn add(data: &[u8]) {
    sys::tls::rand_add(data, data.len() as f64);
}

/// Read the exchange file `path` (if it exists) into the pool, then write
/// it back with [`EXCHANGE_SIZE`] fresh bytes from the pool (mode 0600).
/// Errors: the file cannot be written, or OpenSSL cannot produce bytes.
pub fn update_exchange_file(path: &Path) -> io::Result<()> {
    if let Ok(old) = std::fs::read(path) {
        sys::tls::rand_add(&old, 0.0);
    }
    let mut fresh = vec![0u8; EXCHANGE_SIZE];
    openssl::rand::rand_bytes(&mut fresh).map_err(io::Error::other)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&fresh)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// `n` random bytes from OpenSSL's pool (for the `seed` request).
pub fn bytes(n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; n];
    openssl::rand::rand_bytes(&mut b).ok().map(|_| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_syntax() {
        assert_eq!(
            RandomSource::parse("dev:/dev/urandom"),
            Some(RandomSource::Device("/dev/urandom".into()))
        );
        assert_eq!(
            RandomSource::parse("egd:/var/run/egd"),
            Some(RandomSource::Egd("/var/run/egd".into()))
        );
        assert_eq!(
            RandomSource::parse("/etc/random"),
            Some(RandomSource::File("/etc/random".into()))
        );
        assert_eq!(RandomSource::parse(" "), None);
    }

    #[test]
    fn device_and_exchange_file() {
        let b = RandomSource::Device("/dev/urandom".into())
            .read(32)
            .unwrap();
        assert_eq!(b.len(), 32);
        add(&b);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("prng_exch");
        update_exchange_file(&f).unwrap();
        let first = std::fs::read(&f).unwrap();
        assert_eq!(first.len(), EXCHANGE_SIZE);
        update_exchange_file(&f).unwrap();
        assert_ne!(std::fs::read(&f).unwrap(), first);
        assert!(RandomSource::File("/nonexistent".into()).read(4).is_err());
        assert_eq!(bytes(16).unwrap().len(), 16);
    }
}
