//! NAME
//!   service - tlsmgr's requests and periodic work
//!
//! DESCRIPTION
//!   [`Manager::start`] (pre-init: root, outside the chroot) opens the
//!   caches, the entropy source and the exchange file. [`serve`] answers
//!   one request per call:
//!
//!   - `lookup cache_type cache_id` -> `status`, `session`
//!   - `update cache_type cache_id session` -> `status`
//!   - `delete cache_type cache_id` -> `status`
//!   - `seed size` -> `status`, `seed` (`size` 1 to 255 bytes, as Postfix)
//!   - `tktkey keyname` -> `status`, `keybuf` (the current key for an
//!     empty name, else the key of that name; see [`crate::keys`])
//!
//!   Status 0 is success, -2 not found, -1 a bad request or a cache type
//!   that is not enabled. Every `*_tls_session_cache_timeout` is limited
//!   to 2 minutes .. 100 days (0 stays off), as Postfix limits it. [`spawn_maintenance`] starts the thread that
//!   purges expired entries and keeps the PRNG fed.
use crate::cache::{self, Cache};
use crate::entropy::Entropy;
use crate::keys::Keys;
use global::attr::{AttrReader, AttrWriter, Attrs};
use skeleton::{ClientStream, Context, Session};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tls::mgr_client::{STAT_ERR, STAT_FAIL, STAT_OK, TICKET_NAME_LEN};
use util::{msg_info, msg_warn};

/// master's wake-up request (Postfix's TRIGGER_REQ_WAKEUP). No request
/// of the attribute protocol starts with it: they start with the name
/// `request`.
const WAKEUP: &[u8; 1] = b"W";

/// tlsmgr's state, shared with the maintenance thread.
#[derive(Debug)]
pub struct Manager {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    caches: BTreeMap<String, Cache>,
    keys: Keys,
    entropy: Entropy,
    reseed_period: u64,
    update_period: u64,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Manager {
    /// Pre-init: open (and empty) the caches, the entropy source and the
    /// exchange file; seed the pool once.
    pub fn start(ctx: &Context) -> Manager {
        let c = &ctx.config;
        let time = |n: &str| c.get_time(n).unwrap_or_else(|e| util::msg_fatal!("{e}"));
        let lifetime = |n: &str| tls::tickets::session_lifetime(time(n));
        let mut caches = BTreeMap::new();
        for kind in ["smtpd", "smtp", "lmtp"] {
            let param = format!("{kind}_tls_session_cache_database");
            let value = c.get(&param).unwrap_or_default();
            let Some(base) = cache::base_path(&param, &value) else {
                continue;
            };
            let timeout = lifetime(&format!("{kind}_tls_session_cache_timeout"));
            if timeout == 0 {
                continue;
            }
            match Cache::create(kind, &base, timeout as i64) {
                Ok(cache) => {
                    caches.insert(kind.to_string(), cache);
                }
                Err(e) => msg_warn!("{param}: {e} -- {kind} session caching disabled"),
            }
        }
        let bytes = c.get_int("tls_random_bytes").unwrap_or(32).clamp(1, 1024) as usize;
        let mut entropy = Entropy::open(
            &c.get("tls_random_source").unwrap_or_default(),
            &c.get("tls_random_exchange_name").unwrap_or_default(),
            bytes,
        );
        entropy.reseed();
        entropy.update_exchange();
        let ticket_life = lifetime("smtpd_tls_session_cache_timeout") as i64;
        Manager {
            inner: Arc::new(Mutex::new(Inner {
                caches,
                keys: Keys::new(ticket_life),
                entropy,
                reseed_period: time("tls_random_reseed_period").max(1),
                update_period: time("tls_random_prng_update_period").max(1),
            })),
        }
    }
}

/// Answer one request from `client`; close on end of file or garbage.
/// A connection that starts with master's wake-up byte `W` (master.cf
/// wakeup column `1000?`, sent when tlsmgr's first process starts) is a
/// wake-up, not a request: it is closed without a warning (the
/// maintenance thread does the periodic work).
pub fn serve(m: &mut Manager, client: &mut ClientStream) -> Session {
    let _ = client.set_timeout(Some(Duration::from_secs(10)));
    let mut first = [0u8; 1];
    match client.read(&mut first) {
        Ok(0) | Err(_) => return Session::Close,
        Ok(_) if first == *WAKEUP => {
            util::msg_verbose!("tlsmgr: wakeup from master");
            return Session::Close;
        }
        Ok(_) => {}
    }
    let req = match AttrReader::new((&first[..]).chain(&mut *client)).read() {
        Ok(Some(r)) => r,
        Ok(None) => return Session::Close,
        Err(e) => {
            msg_warn!("tlsmgr: bad request: {e}");
            return Session::Close;
        }
    };
    let reply = {
        let mut inner = m.inner.lock().unwrap_or_else(|p| p.into_inner());
        answer(&mut inner, &req)
    };
    match AttrWriter::new(&mut *client).write(&reply) {
        Ok(()) => Session::Continue,
        Err(_) => Session::Close,
    }
}

fn answer(inner: &mut Inner, req: &Attrs) -> Attrs {
    let status = |s: i32| Attrs::new().put_int("status", i64::from(s));
    let Ok(request) = req.str("request") else {
        return status(STAT_ERR);
    };
    let cache_of = |inner: &mut Inner| -> Option<(String, String)> {
        let t = req.str("cache_type").ok()?.to_string();
        let id = req.str("cache_id").ok()?.to_string();
        (inner.caches.contains_key(&t) && !id.is_empty()).then_some((t, id))
    };
    match request {
        "lookup" => match cache_of(inner) {
            Some((t, id)) => match inner.caches.get_mut(&t).and_then(|c| c.lookup(&id, now())) {
                Some(blob) => status(STAT_OK).put_data("session", &blob),
                None => status(STAT_FAIL),
            },
            None => status(STAT_ERR),
        },
        "update" => match (cache_of(inner), req.data("session")) {
            (Some((t, id)), Ok(blob)) => {
                let ok = inner
                    .caches
                    .get_mut(&t)
                    .is_some_and(|c| c.update(&id, &blob, now()));
                status(if ok { STAT_OK } else { STAT_ERR })
            }
            _ => status(STAT_ERR),
        },
        "delete" => match cache_of(inner) {
            Some((t, id)) => {
                if let Some(c) = inner.caches.get_mut(&t) {
                    c.delete(&id);
                }
                status(STAT_OK)
            }
            None => status(STAT_ERR),
        },
        "seed" => {
            let n = i64::from(req.int("size").unwrap_or(0));
            if !(1..=tls::server::MAX_SEED_BYTES).contains(&n) {
                msg_warn!("bogus seed length \"{n}\" in \"seed\" request");
                return status(STAT_FAIL);
            }
            match tls::prng::bytes(n as usize) {
                Some(b) => status(STAT_OK).put_data("seed", &b),
                None => status(STAT_ERR),
            }
        }
        "tktkey" => {
            let name = req.data("keyname").unwrap_or_default();
            if !name.is_empty() && name.len() != TICKET_NAME_LEN {
                msg_warn!("invalid session ticket key name length: {}", name.len());
                return status(STAT_FAIL);
            }
            match inner.keys.get(&name, now()) {
                Some(k) => status(STAT_OK).put_data("keybuf", &k.encode()),
                None => status(STAT_FAIL),
            }
        }
        _ => status(STAT_ERR),
    }
}

/// Post-init: start the thread that purges caches and feeds the PRNG.
pub fn spawn_maintenance(m: &mut Manager) {
    let inner = Arc::clone(&m.inner);
    std::thread::spawn(move || {
        let start = Instant::now();
        let (mut last_reseed, mut last_update, mut last_purge) = (start, start, start);
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let mut i = inner.lock().unwrap_or_else(|p| p.into_inner());
            let t = Instant::now();
            if t.duration_since(last_reseed).as_secs() >= i.reseed_period {
                i.entropy.reseed();
                last_reseed = t;
            }
            if t.duration_since(last_update).as_secs() >= i.update_period {
                i.entropy.update_exchange();
                last_update = t;
            }
            let purge_every = i
                .caches
                .values()
                .map(|c| c.timeout.clamp(1, 300))
                .min()
                .unwrap_or(300) as u64;
            if t.duration_since(last_purge).as_secs() >= purge_every {
                let now = now();
                for c in i.caches.values_mut() {
                    let n = c.purge(now);
                    if n > 0 && util::msg::verbose_level() > 0 {
                        msg_info!("{} session cache cleanup: {n} entries removed", c.kind);
                    }
                }
                last_purge = t;
            }
        }
    });
}
