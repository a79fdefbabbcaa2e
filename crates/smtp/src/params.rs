//! NAME
//!   params - the parameters of smtp(8) and lmtp(8)
//!
//! DESCRIPTION
//!   One program serves both protocols; the program name chooses the
//!   parameter prefix, as in Postfix: run as `smtp` it reads `smtp_*`,
//!   run as `lmtp` it reads the `lmtp_*` twins (`lmtp_connect_timeout`,
//!   `lmtp_mx_address_limit`, ...). Where the twins differ in name the
//!   LMTP one is used: `lmtp_lhlo_name` and `lmtp_lhlo_timeout` for
//!   `smtp_helo_name` and `smtp_helo_timeout`, `lmtp_tcp_port` for
//!   `smtp_tcp_port`. [`Params::from_config`] reads them all once per
//!   process; a malformed value is logged and replaced by Postfix's
//!   default.
//!
//!   Time values are in seconds; 0 means "no limit" where postconf(5)
//!   says so (`lmtp_connect_timeout`).
//!
//! SEE ALSO
//!   postconf(5), smtp(8), lmtp(8).
use global::Config;
use std::time::Duration;
use util::msg_warn;

/// smtp or lmtp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// RFC 5321.
    Smtp,
    /// RFC 2033.
    Lmtp,
}

impl Proto {
    /// The protocol for program name `name` (`lmtp` or anything else).
    pub fn from_program(name: &str) -> Proto {
        if name == "lmtp" {
            Proto::Lmtp
        } else {
            Proto::Smtp
        }
    }

    /// `smtp` / `lmtp`: program name and parameter prefix.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Smtp => "smtp",
            Proto::Lmtp => "lmtp",
        }
    }
}

/// Per-stage time limits (RFC 5321 4.5.3.2 and postconf(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connection set-up; `None` = the kernel's.
    pub connect: Option<Duration>,
    /// Greeting and EHLO/HELO/LHLO replies.
    pub helo: Duration,
    /// MAIL FROM reply.
    pub mail: Duration,
    /// RCPT TO reply.
    pub rcpt: Duration,
    /// DATA reply (354).
    pub data_init: Duration,
    /// Each write of message content.
    pub data_xfer: Duration,
    /// Reply to the final dot.
    pub data_done: Duration,
    /// QUIT reply.
    pub quit: Duration,
    /// RSET reply.
    pub rset: Duration,
}

/// Everything the client reads from the configuration.
#[derive(Debug, Clone)]
pub struct Params {
    /// smtp or lmtp.
    pub proto: Proto,
    /// `smtp_helo_name` / `lmtp_lhlo_name`.
    pub helo_name: String,
    /// Stage time limits.
    pub timeouts: Timeouts,
    /// `smtp_always_send_ehlo`.
    pub always_send_ehlo: bool,
    /// `smtp_never_send_ehlo`.
    pub never_send_ehlo: bool,
    /// `smtp_skip_5xx_greeting`.
    pub skip_5xx_greeting: bool,
    /// `smtp_skip_quit_response`.
    pub skip_quit_response: bool,
    /// `smtp_host_lookup`: use DNS.
    pub lookup_dns: bool,
    /// `smtp_host_lookup`: use the system resolver (getaddrinfo).
    pub lookup_native: bool,
    /// `smtp_address_preference`: `any`, `ipv4` or `ipv6`.
    pub address_preference: String,
    /// `smtp_randomize_addresses`.
    pub randomize_addresses: bool,
    /// `smtp_mx_address_limit` (0 = none).
    pub mx_address_limit: usize,
    /// `smtp_mx_session_limit` (0 = none).
    pub mx_session_limit: usize,
    /// `smtp_bind_address`.
    pub bind_address: String,
    /// `smtp_bind_address6`.
    pub bind_address6: String,
    /// `inet_protocols` allows IPv4.
    pub ipv4: bool,
    /// `inet_protocols` allows IPv6.
    pub ipv6: bool,
    /// `smtp_tcp_port` / `lmtp_tcp_port`, resolved to a number.
    pub default_port: u16,
    /// `smtp_connection_cache_on_demand`.
    pub cache_on_demand: bool,
    /// `smtp_connection_cache_destinations`.
    pub cache_destinations: Vec<String>,
    /// `smtp_connection_cache_time_limit`.
    pub cache_time_limit: Duration,
    /// `smtp_connection_reuse_count_limit` (0 = none).
    pub reuse_count_limit: u32,
    /// `smtp_connection_reuse_time_limit`.
    pub reuse_time_limit: Duration,
    /// `smtp_discard_ehlo_keywords`, upper case.
    pub discard_ehlo_keywords: Vec<String>,
    /// `smtp_line_length_limit` (0 = none).
    pub line_length_limit: usize,
    /// `disable_mime_output_conversion`.
    pub disable_mime_conversion: bool,
    /// `myhostname`.
    pub myhostname: String,
    /// `postern_dns_servers` (Postern only): resolvers to ask instead of
    /// /etc/resolv.conf.
    pub dns_servers: Vec<String>,
}

/// Reads `prefix_suffix` names with warnings and defaults.
struct Reader<'a> {
    cfg: &'a Config,
    proto: Proto,
}

impl Reader<'_> {
    fn name(&self, suffix: &str) -> String {
        let suffix = match (self.proto, suffix) {
            (Proto::Lmtp, "helo_name") => "lhlo_name",
            (Proto::Lmtp, "helo_timeout") => "lhlo_timeout",
            (Proto::Lmtp, "discard_ehlo_keywords") => "discard_lhlo_keywords",
            (_, s) => s,
        };
        format!("{}_{suffix}", self.proto.name())
    }

    fn text(&self, suffix: &str, default: &str) -> String {
        let name = self.name(suffix);
        self.cfg.get(&name).unwrap_or_else(|e| {
            msg_warn!("{e}");
            default.to_string()
        })
    }

    fn flag(&self, suffix: &str, default: bool) -> bool {
        let name = self.name(suffix);
        self.cfg.get_bool(&name).unwrap_or_else(|e| {
            msg_warn!("{e}");
            default
        })
    }

    fn int(&self, suffix: &str, default: i64) -> i64 {
        let name = self.name(suffix);
        self.cfg.get_int(&name).unwrap_or_else(|e| {
            msg_warn!("{e}");
            default
        })
    }

    fn secs(&self, suffix: &str, default: u64) -> Duration {
        let name = self.name(suffix);
        Duration::from_secs(self.cfg.get_time(&name).unwrap_or_else(|e| {
            msg_warn!("{e}");
            default
        }))
    }

    fn list(&self, suffix: &str) -> Vec<String> {
        util::strings::split_list(&self.text(suffix, ""))
    }
}

/// A port number or one of the service names mail uses.
pub fn port_number(text: &str) -> Option<u16> {
    match text {
        "smtp" => Some(25),
        "lmtp" => Some(24),
        "submission" => Some(587),
        "smtps" | "submissions" => Some(465),
        n => n.parse::<u16>().ok().filter(|p| *p > 0),
    }
}

fn count(v: i64) -> usize {
    usize::try_from(v.max(0)).unwrap_or(usize::MAX)
}

impl Params {
    /// Read the parameters for `proto` from `cfg` (see the module
    /// description). Never fails: bad values fall back with a warning.
    pub fn from_config(cfg: &Config, proto: Proto) -> Params {
        let r = Reader { cfg, proto };
        let global = |name: &str, default: &str| {
            cfg.get(name).unwrap_or_else(|e| {
                msg_warn!("{e}");
                default.to_string()
            })
        };
        let lookup = r.list("host_lookup");
        let protocols =
            util::strings::split_list(&global("inet_protocols", "all").to_ascii_lowercase());
        let all = protocols.iter().any(|p| p == "all");
        let port_text = match proto {
            Proto::Smtp => r.text("tcp_port", "smtp"),
            Proto::Lmtp => r.text("tcp_port", "24"),
        };
        let default_port = port_number(port_text.trim()).unwrap_or_else(|| {
            msg_warn!("bad {} value: {port_text}", r.name("tcp_port"));
            if proto == Proto::Lmtp {
                24
            } else {
                25
            }
        });
        let connect = r.secs("connect_timeout", 30);
        Params {
            proto,
            helo_name: r.text("helo_name", "localhost"),
            timeouts: Timeouts {
                connect: (!connect.is_zero()).then_some(connect),
                helo: r.secs("helo_timeout", 300),
                mail: r.secs("mail_timeout", 300),
                rcpt: r.secs("rcpt_timeout", 300),
                data_init: r.secs("data_init_timeout", 120),
                data_xfer: r.secs("data_xfer_timeout", 180),
                data_done: r.secs("data_done_timeout", 600),
                quit: r.secs("quit_timeout", 300),
                rset: r.secs("rset_timeout", 20),
            },
            always_send_ehlo: proto == Proto::Smtp && r.flag("always_send_ehlo", true),
            never_send_ehlo: proto == Proto::Smtp && r.flag("never_send_ehlo", false),
            skip_5xx_greeting: r.flag("skip_5xx_greeting", true),
            skip_quit_response: r.flag("skip_quit_response", true),
            lookup_dns: lookup.is_empty() || lookup.iter().any(|l| l == "dns"),
            lookup_native: lookup.iter().any(|l| l == "native"),
            address_preference: r
                .text("address_preference", "any")
                .trim()
                .to_ascii_lowercase(),
            randomize_addresses: r.flag("randomize_addresses", true),
            mx_address_limit: count(r.int("mx_address_limit", 5)),
            mx_session_limit: count(r.int("mx_session_limit", 2)),
            bind_address: r.text("bind_address", "").trim().to_string(),
            bind_address6: r.text("bind_address6", "").trim().to_string(),
            ipv4: all || protocols.iter().any(|p| p == "ipv4"),
            ipv6: all || protocols.iter().any(|p| p == "ipv6"),
            default_port,
            cache_on_demand: r.flag("connection_cache_on_demand", true),
            cache_destinations: r.list("connection_cache_destinations"),
            cache_time_limit: r.secs("connection_cache_time_limit", 2),
            reuse_count_limit: u32::try_from(r.int("connection_reuse_count_limit", 0).max(0))
                .unwrap_or(0),
            reuse_time_limit: r.secs("connection_reuse_time_limit", 300),
            discard_ehlo_keywords: r
                .list("discard_ehlo_keywords")
                .iter()
                .map(|k| k.to_ascii_uppercase())
                .collect(),
            line_length_limit: count(r.int("line_length_limit", 998)),
            disable_mime_conversion: cfg
                .get_bool("disable_mime_output_conversion")
                .unwrap_or_else(|e| {
                    msg_warn!("{e}");
                    false
                }),
            myhostname: global("myhostname", "localhost"),
            dns_servers: util::strings::split_list(&global("postern_dns_servers", "")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lmtp_reads_its_twins() {
        let cfg = Config::from_text(
            Path::new("/nonexistent"),
            "lmtp_lhlo_name = lhlo.example\nsmtp_helo_name = helo.example\n\
             lmtp_connect_timeout = 0\nsmtp_mx_session_limit = 7\ninet_protocols = ipv4\n",
        )
        .unwrap();
        let l = Params::from_config(&cfg, Proto::Lmtp);
        assert_eq!(l.helo_name, "lhlo.example");
        assert_eq!(l.timeouts.connect, None);
        assert_eq!(l.default_port, 24);
        assert_eq!(l.mx_session_limit, 2);
        assert!(!l.always_send_ehlo);
        let s = Params::from_config(&cfg, Proto::Smtp);
        assert_eq!(s.helo_name, "helo.example");
        assert_eq!(s.timeouts.connect, Some(Duration::from_secs(30)));
        assert_eq!(s.default_port, 25);
        assert_eq!(s.mx_session_limit, 7);
        assert!(s.ipv4 && !s.ipv6);
    }
}
