//! NAME
//!   request - the delivery request protocol between qmgr and the agents
//!
//! SYNOPSIS
//!   qmgr:  `let reply = send_request(&mut stream, &req)?;`
//!   agent: `let req = DeliveryRequest::decode(&attrs)?; ... reply.encode()`
//!
//! DESCRIPTION
//!   qmgr connects to `private/<transport>` and sends one attribute list
//!   (doc/PIPELINE.md "Delivery protocol"):
//!
//!   `queue_name`, `queue_id`, `transport`, `nexthop`, `sender`, `envid`,
//!   `ret` (`full`, `hdrs` or empty), `arrival_time` (seconds since the
//!   epoch), `arrival_time_us` and `active_time_us` (microseconds since
//!   the epoch: arrival, and the last move into `active`; for the
//!   `delays=` log field), `flags`, then per recipient in order
//!   `rcpt_index`, `rcpt`, `rcpt_orcpt`, `rcpt_notify`, `rcpt_orig`.
//!
//!   The agent answers with `status` (0: every recipient was handled and
//!   reported; 1: the agent could not work and qmgr defers whatever has no
//!   outcome, with `reason`), then per recipient with an outcome
//!   `rcpt_index`, `dsn_status`, `action` (`delivered`, `bounced`,
//!   `deferred`).
//!
//! DIAGNOSTICS
//!   Decoding fails with [`DeliverError::Protocol`] on a missing or
//!   malformed attribute, a recipient attribute before its `rcpt_index`,
//!   a bad queue ID or queue name, or a duplicate index.
//!
//! SEE ALSO
//!   doc/PIPELINE.md, global::attr.
use crate::dsn::DsnStatus;
use crate::error::{DeliverError, Result};
use global::attr::{self, Attrs};
use queue::{DsnNotify, DsnRet, QueueId};
use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One recipient of a delivery request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecipient {
    /// Index of the recipient in the queue file (for done marks).
    pub index: usize,
    /// The address to deliver to.
    pub address: String,
    /// RFC 3461 ORCPT (`rfc822;addr`), if any.
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY bits.
    pub notify: DsnNotify,
    /// The address as originally given (for `orig_to=`), if known.
    pub orig: Option<String>,
}

/// A delivery request: one message, one transport and next hop, some recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRequest {
    /// The queue the file is in (`active`).
    pub queue_name: String,
    /// The queue ID.
    pub queue_id: QueueId,
    /// The master.cf service name of the transport (`local`, `error`, `relay`).
    pub transport: String,
    /// The next hop from address resolution (domain, `[host]:port`, or the
    /// error text for `error:`).
    pub nexthop: String,
    /// The envelope sender; empty for `<>`.
    pub sender: String,
    /// RFC 3461 ENVID.
    pub envid: Option<String>,
    /// RFC 3461 RET.
    pub ret: Option<DsnRet>,
    /// When the message arrived.
    pub arrival: SystemTime,
    /// When qmgr last moved the message into `active`.
    pub active: SystemTime,
    /// Request flags (reserved; 0).
    pub flags: i64,
    /// The recipients, in queue file order.
    pub recipients: Vec<RequestRecipient>,
}

fn micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn from_micros(us: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

fn proto(e: impl std::fmt::Display) -> DeliverError {
    DeliverError::Protocol(e.to_string())
}

/// `full`/`hdrs` for the wire.
fn ret_name(r: Option<DsnRet>) -> &'static str {
    match r {
        Some(DsnRet::Full) => "full",
        Some(DsnRet::Hdrs) => "hdrs",
        None => "",
    }
}

impl DeliveryRequest {
    /// The attribute list sent to the agent.
    pub fn encode(&self) -> Attrs {
        let mut a = Attrs::new()
            .put_str("queue_name", &self.queue_name)
            .put_str("queue_id", self.queue_id.as_str())
            .put_str("transport", &self.transport)
            .put_str("nexthop", &self.nexthop)
            .put_str("sender", &self.sender)
            .put_str("envid", self.envid.as_deref().unwrap_or(""))
            .put_str("ret", ret_name(self.ret))
            .put_int("arrival_time", micros(self.arrival) / 1_000_000)
            .put_int("arrival_time_us", micros(self.arrival))
            .put_int("active_time_us", micros(self.active))
            .put_int("flags", self.flags);
        for r in &self.recipients {
            a = a
                .put_int("rcpt_index", i64::try_from(r.index).unwrap_or(i64::MAX))
                .put_str("rcpt", &r.address)
                .put_str("rcpt_orcpt", r.orcpt.as_deref().unwrap_or(""))
                .put_int("rcpt_notify", i64::from(r.notify.0))
                .put_str("rcpt_orig", r.orig.as_deref().unwrap_or(""));
        }
        a
    }

    /// Decode a request. Errors: see DIAGNOSTICS.
    pub fn decode(a: &Attrs) -> Result<DeliveryRequest> {
        let s = |n: &str| a.str(n).map(str::to_string).map_err(proto);
        let opt = |n: &str| -> Result<Option<String>> {
            Ok(a.opt_str(n)
                .map_err(proto)?
                .filter(|v| !v.is_empty())
                .map(str::to_string))
        };
        let queue_name = s("queue_name")?;
        if !queue::dir::queue_name_ok(&queue_name) {
            return Err(proto(format!("bad queue name: {queue_name}")));
        }
        let id = s("queue_id")?;
        let queue_id = QueueId::parse(&id).ok_or_else(|| proto(format!("bad queue ID: {id}")))?;
        let ret = match a.opt_str("ret").map_err(proto)?.unwrap_or("") {
            "" => None,
            r if r.eq_ignore_ascii_case("full") => Some(DsnRet::Full),
            r if r.eq_ignore_ascii_case("hdrs") => Some(DsnRet::Hdrs),
            r => return Err(proto(format!("bad ret value: {r}"))),
        };
        let arrival_us = match a.opt_long("arrival_time_us").map_err(proto)? {
            Some(us) => us,
            None => a
                .long("arrival_time")
                .map_err(proto)?
                .saturating_mul(1_000_000),
        };
        let active_us = a
            .opt_long("active_time_us")
            .map_err(proto)?
            .unwrap_or(arrival_us);
        let recipients = decode_recipients(a)?;
        Ok(DeliveryRequest {
            queue_name,
            queue_id,
            transport: s("transport")?,
            nexthop: s("nexthop")?,
            sender: s("sender")?,
            envid: opt("envid")?,
            ret,
            arrival: from_micros(arrival_us),
            active: from_micros(active_us),
            flags: a.opt_long("flags").map_err(proto)?.unwrap_or(0),
            recipients,
        })
    }
}

/// The recipient groups of a request, in order.
fn decode_recipients(a: &Attrs) -> Result<Vec<RequestRecipient>> {
    let mut out: Vec<RequestRecipient> = Vec::new();
    for (name, raw) in a.iter() {
        let text = || {
            std::str::from_utf8(raw)
                .map(str::to_string)
                .map_err(|_| proto(format!("attribute {name} is not UTF-8")))
        };
        if name == "rcpt_index" {
            let index = text()?
                .parse::<usize>()
                .map_err(|_| proto(format!("bad rcpt_index: {}", String::from_utf8_lossy(raw))))?;
            if out.iter().any(|r| r.index == index) {
                return Err(proto(format!("duplicate rcpt_index {index}")));
            }
            out.push(RequestRecipient {
                index,
                address: String::new(),
                orcpt: None,
                notify: DsnNotify::NONE,
                orig: None,
            });
            continue;
        }
        if !matches!(name, "rcpt" | "rcpt_orcpt" | "rcpt_notify" | "rcpt_orig") {
            continue;
        }
        let Some(r) = out.last_mut() else {
            return Err(proto(format!("{name} before rcpt_index")));
        };
        let v = text()?;
        match name {
            "rcpt" => r.address = v,
            "rcpt_orcpt" => r.orcpt = Some(v).filter(|v| !v.is_empty()),
            "rcpt_orig" => r.orig = Some(v).filter(|v| !v.is_empty()),
            _ => {
                r.notify = DsnNotify(
                    v.parse::<u8>()
                        .map_err(|_| proto(format!("bad rcpt_notify: {v}")))?,
                )
            }
        }
    }
    if out.is_empty() {
        return Err(proto("delivery request without recipients"));
    }
    Ok(out)
}

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Delivered (or discarded): marked done.
    Delivered,
    /// Bounced: in `bounce/ID`, marked done.
    Bounced,
    /// Deferred: in `defer/ID`, still pending.
    Deferred,
}

impl Action {
    /// The wire and DSN log name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Delivered => "delivered",
            Action::Bounced => "bounced",
            Action::Deferred => "deferred",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "delivered" => Some(Action::Delivered),
            "bounced" => Some(Action::Bounced),
            "deferred" => Some(Action::Deferred),
            _ => None,
        }
    }
}

/// The outcome of one recipient in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcptOutcome {
    /// Index in the queue file.
    pub index: usize,
    /// The status code reported.
    pub dsn_status: DsnStatus,
    /// What was done.
    pub action: Action,
}

/// The agent's reply to a delivery request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentReply {
    /// 0 = every recipient handled; 1 = the agent could not work.
    pub status: i32,
    /// Why the agent could not work (status 1), with a `4.X.Y` code first.
    pub reason: Option<String>,
    /// Per-recipient outcomes (recipients without one are still pending
    /// and qmgr defers them when status is 1).
    pub outcomes: Vec<RcptOutcome>,
}

impl AgentReply {
    /// The attribute list sent to qmgr.
    pub fn encode(&self) -> Attrs {
        let mut a = Attrs::new().put_int("status", i64::from(self.status));
        if let Some(r) = &self.reason {
            a = a.put_str("reason", r);
        }
        for o in &self.outcomes {
            a = a
                .put_int("rcpt_index", i64::try_from(o.index).unwrap_or(i64::MAX))
                .put_str("dsn_status", &o.dsn_status.to_string())
                .put_str("action", o.action.as_str());
        }
        a
    }

    /// Decode a reply. Errors: [`DeliverError::Protocol`].
    pub fn decode(a: &Attrs) -> Result<AgentReply> {
        let status = a.int("status").map_err(proto)?;
        let reason = a.opt_str("reason").map_err(proto)?.map(str::to_string);
        let idx: Vec<&[u8]> = a.all("rcpt_index").collect();
        let st: Vec<&[u8]> = a.all("dsn_status").collect();
        let act: Vec<&[u8]> = a.all("action").collect();
        if idx.len() != st.len() || idx.len() != act.len() {
            return Err(proto("reply with incomplete recipient outcomes"));
        }
        let mut outcomes = Vec::with_capacity(idx.len());
        for ((i, s), x) in idx.into_iter().zip(st).zip(act) {
            let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let index = show(i)
                .parse()
                .map_err(|_| proto(format!("bad rcpt_index: {}", show(i))))?;
            let dsn_status = DsnStatus::parse(&show(s))
                .ok_or_else(|| proto(format!("bad dsn_status: {}", show(s))))?;
            let action =
                Action::parse(&show(x)).ok_or_else(|| proto(format!("bad action: {}", show(x))))?;
            outcomes.push(RcptOutcome {
                index,
                dsn_status,
                action,
            });
        }
        Ok(AgentReply {
            status,
            reason,
            outcomes,
        })
    }
}

/// Send `req` on a connected agent stream and read the reply (qmgr's
/// side). The caller sets the stream's timeouts. Errors: I/O, an agent
/// that closed the stream without a reply, or a malformed reply.
pub fn send_request<S: Read + Write>(stream: &mut S, req: &DeliveryRequest) -> Result<AgentReply> {
    let reply = attr::request(stream, &req.encode())?;
    AgentReply::decode(&reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use global::attr::AttrReader;

    pub(crate) fn sample() -> DeliveryRequest {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_250_000);
        DeliveryRequest {
            queue_name: "active".into(),
            queue_id: QueueId::from_parts(1_700_000_000, 250_000, 4242),
            transport: "local".into(),
            nexthop: "example.com".into(),
            sender: "alice@example.org".into(),
            envid: Some("env-1".into()),
            ret: Some(DsnRet::Hdrs),
            arrival: t,
            active: t + Duration::from_millis(15),
            flags: 0,
            recipients: vec![
                RequestRecipient {
                    index: 0,
                    address: "bob@example.com".into(),
                    orcpt: Some("rfc822;Bob@Example.com".into()),
                    notify: DsnNotify(6),
                    orig: Some("bob".into()),
                },
                RequestRecipient {
                    index: 3,
                    address: "carol@example.com".into(),
                    orcpt: None,
                    notify: DsnNotify::NONE,
                    orig: None,
                },
            ],
        }
    }

    fn wire(a: &Attrs) -> Attrs {
        let bytes = a.encode().unwrap();
        AttrReader::new(&bytes[..]).read().unwrap().unwrap()
    }

    #[test]
    fn request_round_trip() {
        let r = sample();
        let a = wire(&r.encode());
        assert_eq!(a.long("arrival_time").unwrap(), 1_700_000_000);
        assert_eq!(DeliveryRequest::decode(&a).unwrap(), r);
    }

    #[test]
    fn request_with_only_seconds_and_unknown_attributes() {
        let a = Attrs::new()
            .put_str("queue_name", "active")
            .put_str(
                "queue_id",
                QueueId::from_parts(1_700_000_000, 1, 2).as_str(),
            )
            .put_str("transport", "error")
            .put_str("nexthop", "5.1.1 gone")
            .put_str("sender", "")
            .put_int("arrival_time", 1_700_000_000)
            .put_str("future", "x")
            .put_int("rcpt_index", 0)
            .put_str("rcpt", "a@b");
        let r = DeliveryRequest::decode(&a).unwrap();
        assert_eq!(r.arrival, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        assert_eq!(r.active, r.arrival);
        assert_eq!(r.recipients[0].address, "a@b");
        assert_eq!(r.ret, None);
        assert_eq!(r.envid, None);
    }

    #[test]
    fn bad_requests_are_refused() {
        let good = sample().encode();
        let mut drop_rcpts = Attrs::new();
        for (n, v) in good.iter().filter(|(n, _)| !n.starts_with("rcpt")) {
            drop_rcpts.push(n, v.to_vec());
        }
        assert!(DeliveryRequest::decode(&drop_rcpts).is_err());
        let e = DeliveryRequest::decode(&Attrs::new().put_str("rcpt", "x")).unwrap_err();
        assert!(e.to_string().contains("queue_name"), "{e}");
        let mut bad_id = Attrs::new();
        for (n, v) in good.iter() {
            bad_id.push(
                n,
                if n == "queue_id" {
                    b"../../etc".to_vec()
                } else {
                    v.to_vec()
                },
            );
        }
        assert!(DeliveryRequest::decode(&bad_id)
            .unwrap_err()
            .to_string()
            .contains("bad queue ID"));
        let orphan = wire(&drop_rcpts.clone().put_str("rcpt", "x"));
        assert!(DeliveryRequest::decode(&orphan)
            .unwrap_err()
            .to_string()
            .contains("before rcpt_index"));
        let dup = drop_rcpts.put_int("rcpt_index", 1).put_int("rcpt_index", 1);
        assert!(DeliveryRequest::decode(&dup)
            .unwrap_err()
            .to_string()
            .contains("duplicate"));
    }

    #[test]
    fn reply_round_trip_and_errors() {
        let r = AgentReply {
            status: 1,
            reason: Some("4.3.0 mail system error".into()),
            outcomes: vec![
                RcptOutcome {
                    index: 0,
                    dsn_status: DsnStatus::SENT,
                    action: Action::Delivered,
                },
                RcptOutcome {
                    index: 3,
                    dsn_status: DsnStatus::new(5, 1, 1),
                    action: Action::Bounced,
                },
            ],
        };
        assert_eq!(AgentReply::decode(&wire(&r.encode())).unwrap(), r);
        let bad = Attrs::new()
            .put_int("status", 0)
            .put_int("rcpt_index", 0)
            .put_str("dsn_status", "2.0.0");
        assert!(AgentReply::decode(&bad).is_err());
        let bad = bad.put_str("action", "lost");
        assert!(AgentReply::decode(&bad).is_err());
    }

    #[test]
    fn send_request_over_a_socket() {
        use std::os::unix::net::UnixStream;
        let (mut c, s) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || {
            let a = AttrReader::new(&s).read().unwrap().unwrap();
            let req = DeliveryRequest::decode(&a).unwrap();
            let reply = AgentReply {
                status: 0,
                reason: None,
                outcomes: req
                    .recipients
                    .iter()
                    .map(|r| RcptOutcome {
                        index: r.index,
                        dsn_status: DsnStatus::SENT,
                        action: Action::Delivered,
                    })
                    .collect(),
            };
            global::attr::AttrWriter::new(&s)
                .write(&reply.encode())
                .unwrap();
        });
        let reply = send_request(&mut c, &sample()).unwrap();
        t.join().unwrap();
        assert_eq!(reply.outcomes.len(), 2);
        assert_eq!(reply.outcomes[1].index, 3);
    }
}
