use super::*;
use std::path::Path;

fn client(main_cf: &str) -> TlsClient {
    let cfg = Config::from_text(Path::new("/nonexistent"), main_cf).unwrap();
    let mut c = TlsClient::from_config(&cfg, Proto::Smtp);
    c.ctx = None;
    c
}

fn level(c: &TlsClient, nexthop: &str, domain: &str, host: &str) -> Result<SecurityLevel, String> {
    c.policy(nexthop, domain, host).map(|p| p.level)
}

#[test]
fn legacy_switches_and_the_level() {
    assert_eq!(client("").level, Ok(SecurityLevel::None));
    assert_eq!(client("smtp_use_tls = yes").level, Ok(SecurityLevel::May));
    assert_eq!(
        client("smtp_enforce_tls = yes").level,
        Ok(SecurityLevel::Verify)
    );
    assert_eq!(
        client("smtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no").level,
        Ok(SecurityLevel::Encrypt)
    );
    // The level, when set, overrides the obsolete switches.
    assert_eq!(
        client("smtp_enforce_tls = yes\nsmtp_tls_security_level = may").level,
        Ok(SecurityLevel::May)
    );
}

#[test]
fn dane_is_refused_not_downgraded() {
    let c = client("smtp_tls_security_level = dane");
    assert_eq!(
        level(&c, "example.com", "example.com", "mx.example.com"),
        Err("TLS security level dane is not supported yet".into())
    );
    let c = client("smtp_tls_security_level = bogus");
    assert!(level(&c, "example.com", "example.com", "mx").is_err());
}

#[test]
fn policy_maps_next_hop_and_parent_domains() {
    let c = client(
        "smtp_tls_security_level = may\n\
         smtp_tls_policy_maps = inline:{ .example.com=encrypt, \
         { [mx.example.net]:587 = secure match=.example.net:mx.example.net protocols=>=TLSv1.2 ciphers=high exclude=aNULL:MD5 }, \
         { fp.example = fingerprint match=AA:BB|CC:DD }, dane.example=dane-only }\n",
    );
    assert_eq!(
        level(&c, "a.b.example.com", "a.b.example.com", "mx"),
        Ok(SecurityLevel::Encrypt)
    );
    assert_eq!(
        level(&c, "example.com", "example.com", "mx"),
        Ok(SecurityLevel::May)
    );
    assert_eq!(
        level(&c, "other.org", "other.org", "mx"),
        Ok(SecurityLevel::May)
    );
    let p = c
        .policy("[mx.example.net]:587", "mx.example.net", "mx.example.net")
        .unwrap();
    assert_eq!(p.level, SecurityLevel::Secure);
    assert_eq!(p.matches, vec![".example.net", "mx.example.net"]);
    assert_eq!(p.protocols, ">=TLSv1.2");
    assert_eq!(p.ciphers, "high");
    assert_eq!(p.exclude, "aNULL MD5");
    let p = c.policy("fp.example", "fp.example", "mx").unwrap();
    assert_eq!(p.matches, vec!["AA:BB", "CC:DD"]);
    assert!(c.policy("dane.example", "dane.example", "mx").is_err());
    // The default name checks.
    let c = client("smtp_tls_security_level = verify");
    assert_eq!(
        c.policy("x.org", "x.org", "mx").unwrap().matches,
        vec!["hostname"]
    );
    let c = client("smtp_tls_security_level = secure");
    assert_eq!(
        c.policy("x.org", "x.org", "mx").unwrap().matches,
        vec!["nexthop", "dot-nexthop"]
    );
}

#[test]
fn per_site_recipient_domain_none_switches_tls_off_2002_03_29() {
    let c = client(
        "smtp_use_tls = yes\nsmtp_tls_per_site = inline:{ example.com=NONE, mx.example.com=MAY, \
         secure.example=MUST, nopeer.example=MUST_NOPEERMATCH, mx.strong.example=MUST, \
         weak.example=MAY }\n",
    );
    // NONE for the recipient domain beats MAY for the host.
    assert_eq!(
        level(&c, "example.com", "example.com", "mx.example.com"),
        Ok(SecurityLevel::None)
    );
    // NONE for the host works too.
    let c2 = client("smtp_use_tls = yes\nsmtp_tls_per_site = inline:{ mx.example.com=NONE }\n");
    assert_eq!(
        level(&c2, "example.com", "example.com", "mx.example.com"),
        Ok(SecurityLevel::None)
    );
    // The MUST forms beat a weaker answer.
    assert_eq!(
        level(&c, "secure.example", "secure.example", "mx"),
        Ok(SecurityLevel::Verify)
    );
    assert_eq!(
        level(&c, "nopeer.example", "nopeer.example", "mx"),
        Ok(SecurityLevel::Encrypt)
    );
    assert_eq!(
        level(&c, "example.com", "example.com", "mx.strong.example"),
        Ok(SecurityLevel::Verify)
    );
    // Not found: the global level.
    assert_eq!(
        level(&c, "other.org", "other.org", "mx.other.org"),
        Ok(SecurityLevel::May)
    );
    // A per-site MAY does not weaken a stronger global level; NONE does.
    let c3 = client(
        "smtp_tls_security_level = encrypt\nsmtp_tls_per_site = inline:{ weak.example=MAY, off.example=NONE }\n",
    );
    assert_eq!(
        level(&c3, "weak.example", "weak.example", "mx"),
        Ok(SecurityLevel::Encrypt)
    );
    assert_eq!(
        level(&c3, "off.example", "off.example", "mx"),
        Ok(SecurityLevel::None)
    );
    // Unknown values defer.
    let c4 = client("smtp_tls_per_site = inline:{ x.example=SOMETIMES }\n");
    assert!(level(&c4, "x.example", "x.example", "mx").is_err());
}

#[test]
fn per_site_is_ignored_with_policy_maps() {
    let c = client(
        "smtp_tls_per_site = inline:{ x.example=MUST }\nsmtp_tls_policy_maps = inline:{ y.example=may }\n",
    );
    assert_eq!(
        level(&c, "x.example", "x.example", "mx"),
        Ok(SecurityLevel::None)
    );
    assert_eq!(
        level(&c, "y.example", "y.example", "mx"),
        Ok(SecurityLevel::May)
    );
}

#[test]
fn lmtp_reads_its_twins() {
    let cfg = Config::from_text(
        Path::new("/nonexistent"),
        "lmtp_tls_security_level = encrypt\nsmtp_tls_security_level = verify\n",
    )
    .unwrap();
    let c = TlsClient::from_config(&cfg, Proto::Lmtp);
    assert_eq!(c.level, Ok(SecurityLevel::Encrypt));
}

#[test]
fn legacy_nopeermatch_still_requires_a_trusted_chain_2000_11_26() {
    let trust = |c: &TlsClient, nexthop: &str| c.policy(nexthop, nexthop, "mx").unwrap();
    let c = client(
        "smtp_use_tls = yes\nsmtp_tls_per_site = inline:{ nopeer.example=MUST_NOPEERMATCH, \
         weak.example=MAY }\n",
    );
    let p = trust(&c, "nopeer.example");
    assert_eq!(p.level, SecurityLevel::Encrypt);
    assert!(p.require_trust);
    assert!(!trust(&c, "weak.example").require_trust);
    // The obsolete global switches mean the same.
    let g = client("smtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no\n");
    let p = trust(&g, "any.example");
    assert!(p.level == SecurityLevel::Encrypt && p.require_trust);
    // A per-site MAY keeps the stronger global level and its trust need.
    let gs = client(
        "smtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no\n\
         smtp_tls_per_site = inline:{ weak.example=MAY }\n",
    );
    assert!(trust(&gs, "weak.example").require_trust);
    // The modern `encrypt` level, and a policy-table entry, do not.
    let m = client("smtp_tls_security_level = encrypt\n");
    assert!(!trust(&m, "any.example").require_trust);
    let t = client(
        "smtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no\n\
         smtp_tls_policy_maps = inline:{ listed.example=encrypt }\n",
    );
    assert!(!trust(&t, "listed.example").require_trust);
    assert!(trust(&t, "other.example").require_trust);
}
