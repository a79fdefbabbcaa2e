//! NAME
//!   id - long, non-repeating queue IDs
//!
//! DESCRIPTION
//!   A queue ID names a queue file. Postern always uses Postfix's long
//!   form (postconf(5) `enable_long_queue_ids`), for example
//!   `4Xq1Bn2Jc9zT3k`:
//!
//!   - the arrival time in seconds, base 52, at least 6 characters
//!     (left-padded with `0`);
//!   - the microseconds, base 52, exactly 4 characters;
//!   - the separator `z`;
//!   - the file's inode number, base 51 (so it never contains `z`).
//!
//!   The 52-character alphabet is `0-9`, then the upper-case and the
//!   lower-case consonants (no vowels, so no words). It is in ASCII order,
//!   so IDs of the same length sort as strings by arrival time; [`QueueId`]
//!   orders by (seconds, microseconds, inode) whatever the length.
//!
//!   Uniqueness: no two existing files share an inode, and a file keeps
//!   its inode until it is removed; the time part changes between two
//!   files that reuse one inode. [`crate::QueueWriter::create`] also
//!   renames without replacing, so a collision can only cause a retry.
//!
//!   Queue hashing (postconf(5) `hash_queue_depth`) uses the microseconds
//!   as five upper-case hexadecimal digits ([`QueueId::hash_key`]), so the
//!   directory layout is the same as with Postfix's short IDs.
use std::cmp::Ordering;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The 52-character "safe" alphabet, in ASCII order.
const ALPHABET: &[u8; 52] = b"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";
/// Base of the time fields.
const TIME_BASE: u64 = 52;
/// Base of the inode field: the alphabet without `z`.
const INUM_BASE: u64 = 51;
/// Minimum width of the seconds field.
const SEC_PAD: usize = 6;
/// Exact width of the microseconds field.
const USEC_PAD: usize = 4;
/// The separator between time and inode.
const SEP: u8 = b'z';
/// Longest queue ID accepted by [`QueueId::parse`] (more than any u64
/// pair can need).
pub const MAX_ID_LEN: usize = 40;

fn digit(c: u8, base: u64) -> Option<u64> {
    let v = ALPHABET.iter().position(|&a| a == c)? as u64;
    (v < base).then_some(v)
}

fn encode(mut val: u64, base: u64, pad: usize, out: &mut String) {
    let mut buf = Vec::new();
    loop {
        buf.push(ALPHABET[(val % base) as usize]);
        val /= base;
        if val == 0 {
            break;
        }
    }
    while buf.len() < pad {
        buf.push(b'0');
    }
    out.extend(buf.iter().rev().map(|&b| b as char));
}

fn decode(s: &[u8], base: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(base)?.checked_add(digit(c, base)?)
    })
}

/// A validated long queue ID.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct QueueId {
    text: String,
    sec: u64,
    usec: u32,
    inode: u64,
}

impl QueueId {
    /// The ID of a file with inode number `inode` created at `time`.
    /// Times before 1970 count as 1970.
    pub fn new(inode: u64, time: SystemTime) -> QueueId {
        let d = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        QueueId::from_parts(d.as_secs(), d.subsec_micros(), inode)
    }

    /// The ID for `sec` seconds and `usec` microseconds (taken modulo
    /// 1000000) since the epoch, and `inode`.
    pub fn from_parts(sec: u64, usec: u32, inode: u64) -> QueueId {
        let usec = usec % 1_000_000;
        let mut text = String::with_capacity(20);
        encode(sec, TIME_BASE, SEC_PAD, &mut text);
        encode(u64::from(usec), TIME_BASE, USEC_PAD, &mut text);
        text.push(SEP as char);
        encode(inode, INUM_BASE, 0, &mut text);
        QueueId {
            text,
            sec,
            usec,
            inode,
        }
    }

    /// Parse a long queue ID. `None` unless `s` is exactly what
    /// [`QueueId::from_parts`] makes for some time and inode (so one
    /// message has one name). Short (hexadecimal) Postfix IDs are refused.
    pub fn parse(s: &str) -> Option<QueueId> {
        let b = s.as_bytes();
        if b.len() > MAX_ID_LEN {
            return None;
        }
        let sep = b.iter().rposition(|&c| c == SEP)?;
        if sep < SEC_PAD + USEC_PAD {
            return None;
        }
        let sec = decode(&b[..sep - USEC_PAD], TIME_BASE)?;
        let usec = decode(&b[sep - USEC_PAD..sep], TIME_BASE)?;
        let inode = decode(&b[sep + 1..], INUM_BASE)?;
        let usec = u32::try_from(usec).ok().filter(|&u| u < 1_000_000)?;
        let id = QueueId::from_parts(sec, usec, inode);
        (id.text == s).then_some(id)
    }

    /// The ID as text (the file name).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the epoch when the file was created.
    pub fn seconds(&self) -> u64 {
        self.sec
    }

    /// Microseconds part of the creation time (0..1000000).
    pub fn micros(&self) -> u32 {
        self.usec
    }

    /// The creation time.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.sec) + Duration::from_micros(u64::from(self.usec))
    }

    /// The inode number the ID was made from.
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// The characters that queue hashing uses: the microseconds as five
    /// upper-case hexadecimal digits (postconf(5) `hash_queue_depth`).
    pub fn hash_key(&self) -> String {
        format!("{:05X}", self.usec)
    }
}

impl Ord for QueueId {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.sec, self.usec, self.inode).cmp(&(other.sec, other.usec, other.inode))
    }
}

impl PartialOrd for QueueId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueId({})", self.text)
    }
}

impl std::str::FromStr for QueueId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueId::parse(s).ok_or_else(|| format!("bad queue ID: {s}"))
    }
}

/// Whether `name` is acceptable as a queue file name of any kind: 1 to
/// 255 characters from `A-Z a-z 0-9 _` (Postfix's rule, which also admits
/// fast-flush log names derived from domains).
pub fn name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_sorted_and_vowel_free() {
        assert!(ALPHABET.windows(2).all(|w| w[0] < w[1]));
        assert!(!ALPHABET.iter().any(|c| b"AEIOUaeiou".contains(c)));
        assert_eq!(ALPHABET[51], SEP);
    }

    #[test]
    fn encodes_postfix_layout() {
        let id = QueueId::from_parts(0, 0, 0);
        assert_eq!(id.as_str(), "0000000000z0");
        let id = QueueId::from_parts(1_700_000_000, 999_999, 123_456_789);
        let s = id.as_str();
        let z = s.rfind('z').unwrap();
        assert_eq!(z, 10, "{s}");
        assert!(!s[z + 1..].contains('z'));
        assert_eq!(QueueId::parse(s), Some(id.clone()));
        assert_eq!(id.seconds(), 1_700_000_000);
        assert_eq!(id.micros(), 999_999);
        assert_eq!(id.inode(), 123_456_789);
        assert_eq!(id.hash_key(), "F423F");
        // Seconds past 52^6 take a seventh character.
        let big = QueueId::from_parts(52u64.pow(6), 1, 5);
        assert_eq!(big.as_str().rfind('z'), Some(11));
        assert_eq!(QueueId::parse(big.as_str()), Some(big));
    }

    #[test]
    fn round_trips_many_values() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = QueueId::from_parts(x >> 20, (x % 1_000_000) as u32, x.rotate_left(17));
            let back = QueueId::parse(id.as_str()).unwrap();
            assert_eq!(back, id);
        }
        let max = QueueId::from_parts(u64::MAX, 999_999, u64::MAX);
        assert!(max.as_str().len() <= MAX_ID_LEN);
        assert_eq!(QueueId::parse(max.as_str()), Some(max));
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            "z",
            "0000000000z",            // no inode
            "000000000z0",            // time part too short
            "00000000000z0",          // non-canonical seconds padding
            "0000000000zz",           // z in inode part
            "000000A000z1",           // vowel
            "0000000000z1/",          // bad character
            "3F2A81234",              // short Postfix ID
            "000000zzzzz1",           // microseconds >= 1000000
            "zzzzzzzzzzzzzzzz0000z1", // seconds overflow u64
        ] {
            assert_eq!(QueueId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn orders_by_time_then_inode() {
        let a = QueueId::from_parts(100, 5, 900);
        let b = QueueId::from_parts(100, 6, 1);
        let c = QueueId::from_parts(101, 0, 1);
        let d = QueueId::from_parts(52u64.pow(6), 0, 0);
        assert!(a < b && b < c && c < d);
        assert!(a.as_str() < b.as_str() && b.as_str() < c.as_str());
    }

    #[test]
    fn name_rule() {
        assert!(name_ok("example_com"));
        assert!(!name_ok("a/b"));
        assert!(!name_ok(""));
        assert!(!name_ok(&"a".repeat(256)));
    }
}
