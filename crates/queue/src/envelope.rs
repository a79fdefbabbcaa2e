//! NAME
//!   envelope - what a queue file says about a message besides its content
//!
//! DESCRIPTION
//!   [`Envelope`] is the decoded envelope of a queue file: sender,
//!   arrival time, recipients with their DSN settings and done marks,
//!   DSN ENVID/RET, named attributes (client, protocol, helo, SASL ...),
//!   and the sizes kept in the fixed-width SIZE record ([`SizeRecord`]).
//!
//!   DSN values follow RFC 3461 with Postfix's numeric encodings:
//!   NOTIFY is a bit mask (NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8; 0 =
//!   not given), RET is 1 (FULL) or 2 (HDRS).
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Version number written in the SIZE record.
pub const FORMAT_VERSION: u64 = 1;

/// Well-known attribute names (Postfix's names; protocols may add more).
pub mod attr_name {
    /// Client host name as verified.
    pub const CLIENT_NAME: &str = "client_name";
    /// Client host name from the reverse lookup only.
    pub const REVERSE_CLIENT_NAME: &str = "reverse_client_name";
    /// Client IP address.
    pub const CLIENT_ADDRESS: &str = "client_address";
    /// Client TCP port.
    pub const CLIENT_PORT: &str = "client_port";
    /// HELO/EHLO argument.
    pub const HELO_NAME: &str = "helo_name";
    /// `SMTP`, `ESMTP`, `LMTP`, `sendmail` ...
    pub const PROTOCOL_NAME: &str = "protocol_name";
    /// SASL mechanism.
    pub const SASL_METHOD: &str = "sasl_method";
    /// SASL login name.
    pub const SASL_USERNAME: &str = "sasl_username";
    /// SASL sender (MAIL FROM AUTH=).
    pub const SASL_SENDER: &str = "sasl_sender";
    /// Address rewriting context: `local` or `remote`.
    pub const REWRITE_CONTEXT: &str = "rewrite_context";
    /// Set to 1 when the sender asked for SMTPUTF8.
    pub const SMTPUTF8: &str = "smtputf8";
}

/// RFC 3461 NOTIFY as Postfix's bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DsnNotify(pub u8);

impl DsnNotify {
    /// Not specified by the client.
    pub const NONE: DsnNotify = DsnNotify(0);
    /// NOTIFY=NEVER.
    pub const NEVER: u8 = 1;
    /// NOTIFY=SUCCESS.
    pub const SUCCESS: u8 = 2;
    /// NOTIFY=FAILURE.
    pub const FAILURE: u8 = 4;
    /// NOTIFY=DELAY.
    pub const DELAY: u8 = 8;

    /// Parse the ESMTP NOTIFY value (`NEVER` or a comma list of
    /// `SUCCESS`, `FAILURE`, `DELAY`, case-insensitive). `None` when
    /// malformed (RFC 3461 section 4.1: NEVER stands alone).
    pub fn parse(s: &str) -> Option<DsnNotify> {
        let mut mask = 0u8;
        for w in s.split(',') {
            mask |= match w.trim().to_ascii_uppercase().as_str() {
                "NEVER" => Self::NEVER,
                "SUCCESS" => Self::SUCCESS,
                "FAILURE" => Self::FAILURE,
                "DELAY" => Self::DELAY,
                _ => return None,
            };
        }
        (mask & Self::NEVER == 0 || mask == Self::NEVER).then_some(DsnNotify(mask))
    }

    /// Whether `bit` is set.
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

impl std::fmt::Display for DsnNotify {
    /// The ESMTP form, e.g. `SUCCESS,FAILURE`; empty when not given.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (Self::NEVER, "NEVER"),
            (Self::SUCCESS, "SUCCESS"),
            (Self::FAILURE, "FAILURE"),
            (Self::DELAY, "DELAY"),
        ];
        let v: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.has(*b))
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&v.join(","))
    }
}

/// RFC 3461 RET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsnRet {
    /// Return the full message.
    Full,
    /// Return the headers only.
    Hdrs,
}

impl DsnRet {
    /// Postfix's number: 1 = FULL, 2 = HDRS.
    pub fn code(self) -> u8 {
        match self {
            DsnRet::Full => 1,
            DsnRet::Hdrs => 2,
        }
    }

    /// From Postfix's number.
    pub fn from_code(c: u64) -> Option<DsnRet> {
        match c {
            1 => Some(DsnRet::Full),
            2 => Some(DsnRet::Hdrs),
            _ => None,
        }
    }
}

/// One envelope recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// The address to deliver to (after rewriting), without `<>`.
    pub address: String,
    /// The address as the client gave it, before rewriting and aliasing.
    pub orig: Option<String>,
    /// RFC 3461 ORCPT as `addr-type;address` (e.g. `rfc822;u@example.com`).
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY.
    pub notify: DsnNotify,
    /// Whether delivery is finished (delivered, bounced, or dropped).
    pub done: bool,
}

impl Recipient {
    /// A recipient with just an address.
    pub fn new(address: &str) -> Recipient {
        Recipient {
            address: address.to_string(),
            ..Recipient::default()
        }
    }
}

/// The decoded envelope of a queue file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// When the message arrived.
    pub arrival: SystemTime,
    /// When the next delay warning is due (seconds since the epoch), or
    /// 0 when none is pending (postconf(5) `delay_warning_time`).
    pub warn_time: u64,
    /// Envelope sender; empty for the null sender `<>`.
    pub sender: String,
    /// Named attributes in file order (envelope, then extracted).
    pub attrs: Vec<(String, String)>,
    /// RFC 3461 ENVID.
    pub dsn_envid: Option<String>,
    /// RFC 3461 RET.
    pub dsn_ret: Option<DsnRet>,
    /// Recipients in file order (envelope, then extracted).
    pub recipients: Vec<Recipient>,
    /// Message content size in bytes (lines with their newlines).
    pub message_size: u64,
}

impl Envelope {
    /// The first attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Recipients that are not done yet, with their indexes.
    pub fn pending(&self) -> impl Iterator<Item = (usize, &Recipient)> {
        self.recipients.iter().enumerate().filter(|(_, r)| !r.done)
    }
}

/// The fixed-width SIZE record: five decimal fields of 15 characters,
/// right-aligned, separated by one space (79 bytes). Rewritten in place
/// when the file is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeRecord {
    /// Message content size in bytes.
    pub message_size: u64,
    /// File offset of the first content record (just after `M`).
    pub content_offset: u64,
    /// File offset of the `X` record that ends the content.
    pub content_end: u64,
    /// Number of recipient records (`R` and `D`).
    pub nrcpt: u64,
    /// [`FORMAT_VERSION`].
    pub version: u64,
}

/// Width of one SIZE field.
const SIZE_FIELD: usize = 15;
/// Payload length of the SIZE record.
pub const SIZE_LEN: usize = 5 * SIZE_FIELD + 4;

impl SizeRecord {
    /// The payload.
    pub fn encode(&self) -> Vec<u8> {
        let f = [
            self.message_size,
            self.content_offset,
            self.content_end,
            self.nrcpt,
            self.version,
        ];
        let v: Vec<String> = f.iter().map(|n| format!("{n:>SIZE_FIELD$}")).collect();
        v.join(" ").into_bytes()
    }

    /// Decode a payload; `None` unless it has the exact layout.
    pub fn decode(b: &[u8]) -> Option<SizeRecord> {
        if b.len() != SIZE_LEN {
            return None;
        }
        let mut f = [0u64; 5];
        for (i, v) in f.iter_mut().enumerate() {
            let start = i * (SIZE_FIELD + 1);
            if i > 0 && b[start - 1] != b' ' {
                return None;
            }
            *v = fixed_decimal(&b[start..start + SIZE_FIELD])?;
        }
        Some(SizeRecord {
            message_size: f[0],
            content_offset: f[1],
            content_end: f[2],
            nrcpt: f[3],
            version: f[4],
        })
    }
}

/// A right-aligned decimal field: spaces, then at least one digit.
pub fn fixed_decimal(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?.trim_start_matches(' ');
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The WARN payload: the time as a 15-character right-aligned field.
pub fn encode_warn(sec: u64) -> Vec<u8> {
    format!("{sec:>SIZE_FIELD$}").into_bytes()
}

/// The TIME payload: `seconds microseconds`.
pub fn encode_time(t: SystemTime) -> Vec<u8> {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    format!("{} {}", d.as_secs(), d.subsec_micros()).into_bytes()
}

/// Decode a TIME payload.
pub fn decode_time(b: &[u8]) -> Option<SystemTime> {
    let s = std::str::from_utf8(b).ok()?;
    let (sec, usec) = s.split_once(' ')?;
    let sec: u64 = sec.parse().ok()?;
    let usec: u64 = usec.parse().ok().filter(|&u| u < 1_000_000)?;
    UNIX_EPOCH
        .checked_add(Duration::from_secs(sec))?
        .checked_add(Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_record_round_trip_and_layout() {
        let s = SizeRecord {
            message_size: 1234,
            content_offset: 99,
            content_end: 2000,
            nrcpt: 3,
            version: FORMAT_VERSION,
        };
        let b = s.encode();
        assert_eq!(b.len(), SIZE_LEN);
        assert_eq!(SizeRecord::decode(&b), Some(s));
        assert_eq!(SizeRecord::decode(&b[1..]), None);
        let mut bad = b.clone();
        bad[14] = b'x';
        assert_eq!(SizeRecord::decode(&bad), None);
        let mut bad = b;
        bad[15] = b'0';
        assert_eq!(SizeRecord::decode(&bad), None);
    }

    #[test]
    fn notify_parse_and_print() {
        assert_eq!(DsnNotify::parse("success,Failure"), Some(DsnNotify(6)));
        assert_eq!(DsnNotify::parse("NEVER"), Some(DsnNotify(1)));
        assert_eq!(DsnNotify::parse("NEVER,DELAY"), None);
        assert_eq!(DsnNotify::parse("sometimes"), None);
        assert_eq!(DsnNotify(14).to_string(), "SUCCESS,FAILURE,DELAY");
        assert_eq!(DsnNotify::NONE.to_string(), "");
    }

    #[test]
    fn time_round_trip() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(decode_time(&encode_time(t)), Some(t));
        assert_eq!(decode_time(b"1 1000000"), None);
        assert_eq!(decode_time(b"x 1"), None);
    }
}
