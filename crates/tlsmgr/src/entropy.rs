//! NAME
//!   entropy - tlsmgr's PRNG upkeep
//!
//! DESCRIPTION
//!   At start, while still privileged and outside the chroot, tlsmgr
//!   opens `tls_random_source` and `tls_random_exchange_name` and keeps
//!   both open (TLS_CHANGES 2000/07/23: a kept descriptor works from
//!   inside the chroot). It reads `tls_random_bytes` from the source into
//!   OpenSSL's pool, then every `tls_random_reseed_period` reads again;
//!   every `tls_random_prng_update_period` it reads the exchange file
//!   into the pool and writes fresh pool output back (TLS_CHANGES
//!   2000/08/24). An EGD socket is reconnected for each read; when it
//!   cannot be reached, tlsmgr logs a warning and goes on, since OpenSSL
//!   seeds itself from the kernel.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use tls::prng::{self, RandomSource, EXCHANGE_SIZE};
use util::msg_warn;

/// The open entropy source and exchange file.
#[derive(Debug, Default)]
pub struct Entropy {
    source: Option<RandomSource>,
    source_file: Option<File>,
    exchange: Option<File>,
    exchange_name: String,
    /// `tls_random_bytes`.
    pub bytes: usize,
}

impl Entropy {
    /// Open the source `source` (a `tls_random_source` value) and the
    /// exchange file `exchange` (created mode 0600 if missing); warn about
    /// whatever cannot be opened.
    pub fn open(source: &str, exchange: &str, bytes: usize) -> Entropy {
        let source = RandomSource::parse(source);
        let source_file = match &source {
            Some(RandomSource::Device(p)) | Some(RandomSource::File(p)) => match File::open(p) {
                Ok(f) => Some(f),
                Err(e) => {
                    msg_warn!(
                        "cannot open entropy source {p}: {}",
                        util::strings::strip_os_error(&e.to_string())
                    );
                    None
                }
            },
            _ => None,
        };
        let exchange_file = if exchange.is_empty() {
            None
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(exchange)
            {
                Ok(f) => Some(f),
                Err(e) => {
                    msg_warn!(
                        "cannot open PRNG exchange file {exchange}: {}",
                        util::strings::strip_os_error(&e.to_string())
                    );
                    None
                }
            }
        };
        Entropy {
            source,
            source_file,
            exchange: exchange_file,
            exchange_name: exchange.to_string(),
            bytes,
        }
    }

    /// Read `tls_random_bytes` from the source into the pool.
    pub fn reseed(&mut self) {
        let n = self.bytes.max(1);
        let got = match (&self.source, &mut self.source_file) {
            (Some(RandomSource::Egd(_)), _) => self.source.as_ref().map(|s| s.read(n)),
            (Some(RandomSource::File(_)), Some(f)) => {
                let _ = f.seek(SeekFrom::Start(0));
                Some(read_n(f, n))
            }
            (Some(RandomSource::Device(_)), Some(f)) => Some(read_n(f, n)),
            _ => None,
        };
        match got {
            Some(Ok(b)) => prng::add(&b),
            Some(Err(e)) => msg_warn!(
                "cannot read entropy source: {}",
                util::strings::strip_os_error(&e.to_string())
            ),
            None => {}
        }
    }

    /// Read the exchange file into the pool and write fresh bytes back.
    pub fn update_exchange(&mut self) {
        let Some(f) = &mut self.exchange else { return };
        let mut old = Vec::new();
        if f.seek(SeekFrom::Start(0)).is_ok() && f.read_to_end(&mut old).is_ok() {
            sys::tls::rand_add(&old, 0.0);
        }
        let Some(fresh) = prng::bytes(EXCHANGE_SIZE) else {
            return;
        };
        let r = f
            .seek(SeekFrom::Start(0))
            .and_then(|_| f.write_all(&fresh))
            .and_then(|_| f.set_len(EXCHANGE_SIZE as u64))
            .and_then(|_| f.sync_data());
        if let Err(e) = r {
            msg_warn!(
                "cannot update PRNG exchange file {}: {e}",
                self.exchange_name
            );
        }
    }
}

fn read_n(f: &mut File, n: usize) -> std::io::Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match f.read(&mut b[got..])? {
            0 => break,
            k => got += k,
        }
    }
    b.truncate(got);
    Ok(b)
}
