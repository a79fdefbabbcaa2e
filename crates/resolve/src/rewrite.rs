//! NAME
//!   rewrite - turn an address into Postfix's canonical `user@domain` form
//!
//! SYNOPSIS
//!   let p = RewriteParams::from_config(&cfg, Context::Local)?;
//!   assert_eq!(rewrite_address(&p, "user"), "user@host.example.com");
//!
//! DESCRIPTION
//!   The rules of Postfix's trivial-rewrite(8) "canonicalize" step, applied
//!   in this order to an address in internal (unquoted) form:
//!
//!   1. An empty address stays empty (the null sender).
//!   2. A source route is removed: `@a,@b:user@domain` becomes
//!      `user@domain` (RFC 5321 section 4.1.2 allows ignoring it).
//!   3. `swap_bangpath = yes`: an address without `@` but with `!` is a
//!      UUCP path; `site!user` becomes `user@site` (split at the first `!`).
//!   4. `allow_percent_hack = yes`: an address without `@` but with `%`
//!      has its last `%` replaced by `@` (`user%domain` -> `user@domain`).
//!   5. An address without `@` gets `@origin` when `append_at_myorigin =
//!      yes`; an address whose domain has no dot (and is not an
//!      `[address literal]`) gets `.domain` when `append_dot_mydomain =
//!      yes`.
//!   6. A single trailing dot is removed from the domain
//!      (`user@example.com.`), but not from `user@.` or `user@a..`.
//!
//!   The context chooses "origin" and "domain" (postconf(5),
//!   ADDRESS_REWRITING_README): [`Context::Local`] uses `$myorigin` and
//!   `$mydomain`; [`Context::Remote`] uses `$remote_header_rewrite_domain`
//!   for both, and appends nothing when that parameter is empty (cleanup
//!   then does not rewrite remote headers at all).
//!
//! SEE ALSO
//!   trivial-rewrite(8), postconf(5) `swap_bangpath`, `allow_percent_hack`,
//!   `append_at_myorigin`, `append_dot_mydomain`, `myorigin`, `mydomain`,
//!   `remote_header_rewrite_domain`.
use global::{Config, ConfigError};

/// Which rewriting rules apply (Postfix's `local` and `remote` rule sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Context {
    /// Mail from local submission (sendmail, pickup) and every envelope
    /// address: append `$myorigin` / `$mydomain`. The default.
    #[default]
    Local,
    /// Header addresses in mail from remote SMTP clients: append
    /// `$remote_header_rewrite_domain`, or nothing when it is empty.
    Remote,
}

impl Context {
    /// Parse the `rewrite_context` attribute: `local` or `remote`.
    pub fn parse(s: &str) -> Option<Context> {
        match s {
            "local" => Some(Context::Local),
            "remote" => Some(Context::Remote),
            _ => None,
        }
    }

    /// The attribute value: `local` or `remote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Local => "local",
            Context::Remote => "remote",
        }
    }
}

/// The parameters the rewriting rules read, already expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteParams {
    /// `swap_bangpath`.
    pub swap_bangpath: bool,
    /// `allow_percent_hack`.
    pub percent_hack: bool,
    /// `append_at_myorigin`.
    pub append_at_origin: bool,
    /// `append_dot_mydomain`.
    pub append_dot_domain: bool,
    /// What to append to a bare local part (empty: nothing).
    pub origin: String,
    /// What to append to a domain without a dot (empty: nothing).
    pub domain: String,
}

impl RewriteParams {
    /// Read the parameters for `ctx` from `cfg`. Errors: a bad boolean or
    /// an expansion loop.
    pub fn from_config(cfg: &Config, ctx: Context) -> Result<RewriteParams, ConfigError> {
        let (origin, domain) = match ctx {
            Context::Local => (cfg.get("myorigin")?, cfg.get("mydomain")?),
            Context::Remote => {
                let d = cfg.get("remote_header_rewrite_domain")?;
                (d.clone(), d)
            }
        };
        Ok(RewriteParams {
            swap_bangpath: cfg.get_bool("swap_bangpath")?,
            percent_hack: cfg.get_bool("allow_percent_hack")?,
            append_at_origin: cfg.get_bool("append_at_myorigin")?,
            append_dot_domain: cfg.get_bool("append_dot_mydomain")?,
            origin: origin.trim().to_string(),
            domain: domain.trim().to_string(),
        })
    }
}

/// Remove a source route: `@a,@b:user@d` -> `user@d`. Addresses that
/// do not start with `@` or have no `:` are returned unchanged.
pub fn strip_source_route(addr: &str) -> &str {
    if addr.starts_with('@') {
        if let Some(colon) = addr.find(':') {
            return &addr[colon + 1..];
        }
    }
    addr
}

/// `site!user` -> `user@site` (first `!`), for an address without `@`.
/// Returns `None` when the rule does not apply.
pub fn swap_bangpath(addr: &str) -> Option<String> {
    if addr.contains('@') {
        return None;
    }
    let (site, user) = addr.split_once('!')?;
    if site.is_empty() || user.is_empty() {
        return None;
    }
    Some(format!("{user}@{site}"))
}

/// `user%domain` -> `user@domain` (last `%`), for an address without `@`.
/// Returns `None` when the rule does not apply.
pub fn percent_hack(addr: &str) -> Option<String> {
    if addr.contains('@') {
        return None;
    }
    let pos = addr.rfind('%')?;
    Some(format!("{}@{}", &addr[..pos], &addr[pos + 1..]))
}

/// Remove one trailing dot from the domain of `addr` unless the domain
/// is just `.` or ends in `..`.
fn strip_trailing_dot(addr: &mut String) {
    let Some(at) = addr.rfind('@') else { return };
    let domain = &addr[at + 1..];
    if domain.len() > 1 && domain.ends_with('.') && !domain.ends_with("..") {
        addr.pop();
    }
}

/// Apply the canonicalizing rules (module description) to `addr`.
pub fn rewrite_address(p: &RewriteParams, addr: &str) -> String {
    if addr.is_empty() {
        return String::new();
    }
    let mut out = strip_source_route(addr).to_string();
    if p.swap_bangpath {
        if let Some(s) = swap_bangpath(&out) {
            out = s;
        }
    }
    if p.percent_hack {
        if let Some(s) = percent_hack(&out) {
            out = s;
        }
    }
    match out.rfind('@') {
        None => {
            if p.append_at_origin && !p.origin.is_empty() {
                out.push('@');
                out.push_str(&p.origin);
            }
        }
        Some(at) => {
            let domain = &out[at + 1..];
            if p.append_dot_domain
                && !p.domain.is_empty()
                && !domain.is_empty()
                && !domain.contains('.')
                && !domain.starts_with('[')
            {
                out.push('.');
                out.push_str(&p.domain);
            }
        }
    }
    strip_trailing_dot(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RewriteParams {
        RewriteParams {
            swap_bangpath: true,
            percent_hack: true,
            append_at_origin: true,
            append_dot_domain: true,
            origin: "origin.example".into(),
            domain: "example.com".into(),
        }
    }

    #[test]
    fn null_address_stays_null() {
        assert_eq!(rewrite_address(&params(), ""), "");
    }

    #[test]
    fn bare_user_gets_myorigin() {
        assert_eq!(rewrite_address(&params(), "user"), "user@origin.example");
        let mut p = params();
        p.append_at_origin = false;
        assert_eq!(rewrite_address(&p, "user"), "user");
    }

    #[test]
    fn dotless_domain_gets_mydomain() {
        assert_eq!(
            rewrite_address(&params(), "user@host"),
            "user@host.example.com"
        );
        assert_eq!(rewrite_address(&params(), "user@host.sub"), "user@host.sub");
        assert_eq!(
            rewrite_address(&params(), "user@[1.2.3.4]"),
            "user@[1.2.3.4]"
        );
        // Broken forms ending in @ are left alone.
        assert_eq!(rewrite_address(&params(), "user@"), "user@");
        let mut p = params();
        p.append_dot_domain = false;
        assert_eq!(rewrite_address(&p, "user@host"), "user@host");
    }

    #[test]
    fn source_routes_are_stripped() {
        assert_eq!(
            rewrite_address(&params(), "@a.example,@b.example:user@c.example"),
            "user@c.example"
        );
        assert_eq!(strip_source_route("@nocolon"), "@nocolon");
        assert_eq!(strip_source_route("user:x@y"), "user:x@y");
    }

    #[test]
    fn bang_paths_are_swapped() {
        assert_eq!(
            rewrite_address(&params(), "site.example!user"),
            "user@site.example"
        );
        assert_eq!(rewrite_address(&params(), "a.ex!b!user"), "b!user@a.ex");
        // Only without @.
        assert_eq!(
            rewrite_address(&params(), "site!user@x.example"),
            "site!user@x.example"
        );
        let mut p = params();
        p.swap_bangpath = false;
        assert_eq!(rewrite_address(&p, "site!user"), "site!user@origin.example");
    }

    #[test]
    fn percent_hack_uses_the_last_percent() {
        assert_eq!(
            rewrite_address(&params(), "user%a.example"),
            "user@a.example"
        );
        assert_eq!(
            rewrite_address(&params(), "user%a%b.example"),
            "user%a@b.example"
        );
        assert_eq!(
            rewrite_address(&params(), "user%a@b.example"),
            "user%a@b.example"
        );
        let mut p = params();
        p.percent_hack = false;
        assert_eq!(
            rewrite_address(&p, "user%a.example"),
            "user%a.example@origin.example"
        );
    }

    #[test]
    fn trailing_dot_is_removed_once() {
        assert_eq!(
            rewrite_address(&params(), "user@example.com."),
            "user@example.com"
        );
        assert_eq!(rewrite_address(&params(), "user@."), "user@.");
        assert_eq!(rewrite_address(&params(), "user@a.."), "user@a..");
    }

    #[test]
    fn remote_context_with_empty_domain_appends_nothing() {
        let p = RewriteParams {
            origin: String::new(),
            domain: String::new(),
            ..params()
        };
        assert_eq!(rewrite_address(&p, "user"), "user");
        assert_eq!(rewrite_address(&p, "user@host"), "user@host");
    }

    #[test]
    fn params_from_config() {
        let cfg = Config::from_text(
            std::path::Path::new("/cfg"),
            "myhostname = mx.example.com\nremote_header_rewrite_domain = domain.invalid\ncompatibility_level = 3.6\n",
        )
        .unwrap();
        let l = RewriteParams::from_config(&cfg, Context::Local).unwrap();
        assert_eq!(l.origin, "mx.example.com");
        assert_eq!(l.domain, "example.com");
        assert!(
            !l.append_dot_domain,
            "compatibility_level >= 1 turns it off"
        );
        let r = RewriteParams::from_config(&cfg, Context::Remote).unwrap();
        assert_eq!(rewrite_address(&r, "user"), "user@domain.invalid");
        assert_eq!(Context::parse("remote"), Some(Context::Remote));
        assert_eq!(Context::parse("x"), None);
    }
}
