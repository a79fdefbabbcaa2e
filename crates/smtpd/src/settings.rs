//! NAME
//!   settings - the main.cf parameters smtpd reads, typed, read once
//!
//! DESCRIPTION
//!   [`Settings::from_config`] reads every parameter of the SMTP session
//!   (postconf(5)) when the process starts, so a bad value is reported at
//!   start-up with its file and line, not in the middle of a session. The
//!   restriction lists and tables are opened by [`crate::check`].
//!
//! DIAGNOSTICS
//!   A bad value is a [`global::ConfigError`].
use global::{Config, ConfigError};
use std::time::Duration;

/// How bare LF line endings are treated (`smtpd_forbid_bare_newline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNewline {
    /// `no`: a bare LF counts as CR LF.
    Allow,
    /// `yes`/`normalize`: as `no`, but only CR LF . CR LF ends DATA.
    Normalize,
    /// `reject`: a line with a bare LF is refused with
    /// `smtpd_forbid_bare_newline_reject_code`.
    Reject,
}

/// The typed settings of one smtpd process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The whole configuration (restriction classes are parameters).
    pub config: Config,
    /// `myhostname`.
    pub myhostname: String,
    /// `mail_name`.
    pub mail_name: String,
    /// `smtpd_banner` (without the `220 `).
    pub banner: String,
    /// `smtpd_timeout`.
    pub timeout: Duration,
    /// `line_length_limit` in bytes.
    pub line_limit: usize,
    /// `message_size_limit` in bytes; 0 = no limit.
    pub message_size_limit: u64,
    /// `smtpd_recipient_limit`.
    pub recipient_limit: usize,
    /// `smtpd_recipient_overshoot_limit`.
    pub recipient_overshoot_limit: usize,
    /// `smtpd_soft_error_limit`.
    pub soft_error_limit: u32,
    /// `smtpd_hard_error_limit`.
    pub hard_error_limit: u32,
    /// `smtpd_error_sleep_time`.
    pub error_sleep: Duration,
    /// `smtpd_junk_command_limit`.
    pub junk_limit: u32,
    /// `smtpd_forbid_bare_newline`.
    pub bare_newline: BareNewline,
    /// `smtpd_forbid_bare_newline_exclusions` (a network list).
    pub bare_newline_exclusions: String,
    /// `smtpd_forbid_bare_newline_reject_code`.
    pub bare_newline_code: u16,
    /// `smtpd_forbid_unauth_pipelining`.
    pub forbid_unauth_pipelining: bool,
    /// `strict_rfc821_envelopes`.
    pub strict_rfc821: bool,
    /// `allow_untrusted_routing`.
    pub allow_untrusted_routing: bool,
    /// `smtpd_peername_lookup`.
    pub peername_lookup: bool,
    /// `disable_vrfy_command`.
    pub disable_vrfy: bool,
    /// `smtpd_discard_ehlo_keywords`, lower case.
    pub discard_ehlo: Vec<String>,
    /// `smtpd_helo_required`.
    pub helo_required: bool,
    /// `smtpd_delay_reject`.
    pub delay_reject: bool,
    /// `smtputf8_enable`.
    pub smtputf8: bool,
    /// `strict_smtputf8`: refuse a UTF-8 address without the SMTPUTF8
    /// parameter (only with `smtputf8_enable`).
    pub strict_smtputf8: bool,
    /// `smtpd_forbidden_commands`.
    pub forbidden_commands: Vec<String>,
    /// `smtpd_client_port_logging`.
    pub port_logging: bool,
    /// `fast_flush_domains`.
    pub fast_flush_domains: String,
    /// `content_filter`: `transport:nexthop` for every message this
    /// server receives (empty: none), passed to cleanup.
    pub content_filter: String,
}

fn code(cfg: &Config, name: &str) -> Result<u16, ConfigError> {
    Ok(u16::try_from(cfg.get_int(name)?).unwrap_or(554))
}

fn size(cfg: &Config, name: &str) -> Result<u64, ConfigError> {
    Ok(u64::try_from(cfg.get_int(name)?).unwrap_or(0))
}

impl Settings {
    /// Read the smtpd parameters from `cfg`. Errors: a value of the
    /// wrong type, with file and line.
    pub fn from_config(cfg: &Config) -> Result<Settings, ConfigError> {
        let bare = cfg.get("smtpd_forbid_bare_newline")?.to_ascii_lowercase();
        let bare_newline = match bare.trim() {
            "yes" | "normalize" => BareNewline::Normalize,
            "reject" => BareNewline::Reject,
            _ => BareNewline::Allow,
        };
        let limit = |n: &str| -> Result<u32, ConfigError> {
            Ok(u32::try_from(cfg.get_int(n)?).unwrap_or(0))
        };
        Ok(Settings {
            myhostname: cfg.get("myhostname")?,
            mail_name: cfg.get("mail_name")?,
            banner: cfg.get("smtpd_banner")?,
            timeout: Duration::from_secs(cfg.get_time("smtpd_timeout")?.max(1)),
            line_limit: usize::try_from(cfg.get_int("line_length_limit")?)
                .unwrap_or(2048)
                .max(512),
            message_size_limit: size(cfg, "message_size_limit")?,
            recipient_limit: usize::try_from(cfg.get_int("smtpd_recipient_limit")?).unwrap_or(1000),
            recipient_overshoot_limit: usize::try_from(
                cfg.get_int("smtpd_recipient_overshoot_limit")?,
            )
            .unwrap_or(1000),
            soft_error_limit: limit("smtpd_soft_error_limit")?,
            hard_error_limit: limit("smtpd_hard_error_limit")?.max(1),
            error_sleep: Duration::from_secs(cfg.get_time("smtpd_error_sleep_time")?),
            junk_limit: limit("smtpd_junk_command_limit")?,
            bare_newline,
            bare_newline_exclusions: cfg.get("smtpd_forbid_bare_newline_exclusions")?,
            bare_newline_code: code(cfg, "smtpd_forbid_bare_newline_reject_code")?,
            forbid_unauth_pipelining: cfg.get_bool("smtpd_forbid_unauth_pipelining")?,
            strict_rfc821: cfg.get_bool("strict_rfc821_envelopes")?,
            allow_untrusted_routing: cfg.get_bool("allow_untrusted_routing")?,
            peername_lookup: cfg.get_bool("smtpd_peername_lookup")?,
            disable_vrfy: cfg.get_bool("disable_vrfy_command")?,
            discard_ehlo: cfg
                .get_list("smtpd_discard_ehlo_keywords")?
                .into_iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            helo_required: cfg.get_bool("smtpd_helo_required")?,
            delay_reject: cfg.get_bool("smtpd_delay_reject")?,
            smtputf8: cfg.get_bool("smtputf8_enable")?,
            strict_smtputf8: cfg.get_bool("strict_smtputf8")?,
            forbidden_commands: cfg.get_list("smtpd_forbidden_commands")?,
            port_logging: cfg.get_bool("smtpd_client_port_logging")?,
            fast_flush_domains: cfg.get("fast_flush_domains")?,
            content_filter: cfg.get("content_filter")?.trim().to_string(),
            config: cfg.clone(),
        })
    }

    /// Whether EHLO keyword `kw` (case-insensitive) is discarded by
    /// `smtpd_discard_ehlo_keywords`.
    pub fn discarded(&self, kw: &str) -> bool {
        self.discard_ehlo.iter().any(|k| k.eq_ignore_ascii_case(kw))
    }
}
