//! Unit tests of the resolver against postconf(5), transport(5) and
//! ADDRESS_CLASS_README examples.
use super::*;
use std::path::Path;

const BASE: &str = "myhostname = mx.example.com\n\
                    mydomain = example.com\n\
                    compatibility_level = 3.6\n\
                    inet_interfaces = 127.0.0.1\n";

fn resolver(extra: &str) -> Resolver {
    let cfg = Config::from_text(Path::new("/cfg"), &format!("{BASE}{extra}")).unwrap();
    Resolver::new(&cfg).unwrap()
}

fn route(r: &Resolved) -> (String, String, String, AddressClass) {
    (
        r.transport.clone(),
        r.nexthop.clone(),
        r.recipient.clone(),
        r.class,
    )
}

fn t(s: &str) -> String {
    s.to_string()
}

#[test]
fn local_domains_use_local_transport() {
    let r = resolver("");
    let res = r.resolve("user@mx.example.com");
    assert_eq!(
        route(&res),
        (
            t("local"),
            t("mx.example.com"),
            t("user@mx.example.com"),
            AddressClass::Local
        )
    );
    let res = r.resolve("user@localhost.example.com");
    assert_eq!(res.class, AddressClass::Local);
    assert_eq!(res.recipient, "user@localhost.example.com");
    assert_eq!(
        res.nexthop, "mx.example.com",
        "local_transport = local:$myhostname"
    );
    // A bare user is local after rewriting: @$myorigin is local.
    let res = r.resolve("user");
    assert_eq!(res.recipient, "user@mx.example.com");
    assert_eq!(res.class, AddressClass::Local);
    assert_eq!(res.flags, Flags::default());
    // Case does not matter for the domain.
    assert_eq!(r.resolve("user@MX.Example.COM").class, AddressClass::Local);
}

#[test]
fn local_address_literals_follow_inet_interfaces() {
    let r = resolver("proxy_interfaces = 192.0.2.7\n");
    assert_eq!(r.resolve("u@[127.0.0.1]").class, AddressClass::Local);
    assert_eq!(r.resolve("u@[192.0.2.7]").class, AddressClass::Local);
    let res = r.resolve("u@[198.51.100.1]");
    assert_eq!(res.class, AddressClass::Default);
    assert_eq!(res.nexthop, "[198.51.100.1]");
    // Numeric domains without brackets only with resolve_numeric_domain.
    assert_eq!(r.resolve("u@127.0.0.1").class, AddressClass::Default);
    let r = resolver("resolve_numeric_domain = yes\n");
    let res = r.resolve("u@127.0.0.1");
    assert_eq!(res.class, AddressClass::Local);
    assert_eq!(res.recipient, "u@[127.0.0.1]");
}

#[test]
fn remote_domains_use_default_transport_and_the_domain() {
    let r = resolver("");
    let res = r.resolve("user@remote.example");
    assert_eq!(
        route(&res),
        (
            t("smtp"),
            t("remote.example"),
            t("user@remote.example"),
            AddressClass::Default
        )
    );
    assert!(!res.is_final_or_relay());
}

#[test]
fn relayhost_is_the_nexthop_for_relay_and_default() {
    let r = resolver("relayhost = [gw.example.com]:587\nrelay_domains = relay.example\n");
    let res = r.resolve("user@remote.example");
    assert_eq!(res.nexthop, "[gw.example.com]:587");
    let res = r.resolve("user@relay.example");
    assert_eq!(
        route(&res),
        (
            t("relay"),
            t("[gw.example.com]:587"),
            t("user@relay.example"),
            AddressClass::Relay
        )
    );
    // A nexthop in the transport parameter wins over relayhost.
    let r = resolver("relayhost = gw.example.com\ndefault_transport = smtp:[other.example]\n");
    assert_eq!(r.resolve("user@remote.example").nexthop, "[other.example]");
    // relayhost never applies to local mail.
    assert_eq!(r.resolve("user@mx.example.com").transport, "local");
}

#[test]
fn relay_domains_match_subdomains_by_default() {
    let r = resolver("relay_domains = relay.example\n");
    assert_eq!(r.resolve("u@sub.relay.example").class, AddressClass::Relay);
    assert!(r.resolve("u@sub.relay.example").is_final_or_relay());
    let r = resolver("relay_domains = relay.example\nparent_domain_matches_subdomains =\n");
    assert_eq!(
        r.resolve("u@sub.relay.example").class,
        AddressClass::Default
    );
}

#[test]
fn virtual_alias_domains_resolve_to_an_error() {
    let r = resolver("virtual_alias_domains = valias.example\n");
    let res = r.resolve("u@valias.example");
    assert_eq!(
        route(&res),
        (
            t("error"),
            t("5.1.1 User unknown in virtual alias table"),
            t("u@valias.example"),
            AddressClass::VirtualAlias
        )
    );
    let r = resolver("virtual_alias_domains = valias.example\nshow_user_unknown_table_name = no\n");
    assert_eq!(r.resolve("u@valias.example").nexthop, "5.1.1 User unknown");
    // The default: the domains are the keys of virtual_alias_maps.
    let r = resolver(
        "virtual_alias_maps = inline:{ valias.example=x, a@valias.example=b@remote.example }\n",
    );
    assert_eq!(
        r.resolve("u@valias.example").class,
        AddressClass::VirtualAlias
    );
}

#[test]
fn virtual_mailbox_domains_use_virtual_transport() {
    let r = resolver("virtual_mailbox_domains = vmbox.example\n");
    let res = r.resolve("u@vmbox.example");
    assert_eq!(
        route(&res),
        (
            t("virtual"),
            t("vmbox.example"),
            t("u@vmbox.example"),
            AddressClass::VirtualMailbox
        )
    );
}

#[test]
fn class_precedence_is_local_alias_mailbox_relay() {
    let r = resolver(
        "mydestination = d.example\nvirtual_alias_domains = d.example, a.example\n\
         virtual_mailbox_domains = a.example, m.example\nrelay_domains = m.example\n",
    );
    assert_eq!(r.resolve("u@d.example").class, AddressClass::Local);
    assert_eq!(r.resolve("u@a.example").class, AddressClass::VirtualAlias);
    assert_eq!(r.resolve("u@m.example").class, AddressClass::VirtualMailbox);
}

#[test]
fn mydestination_accepts_tables() {
    let r = resolver("mydestination = $myhostname, inline:{ hosted.example=ok }\n");
    assert_eq!(r.resolve("u@hosted.example").class, AddressClass::Local);
    assert_eq!(
        r.resolve("u@sub.hosted.example").class,
        AddressClass::Default
    );
}

#[test]
fn percent_hack_and_bang_paths_after_a_local_domain() {
    let r = resolver("");
    let res = r.resolve("user%remote.example@mx.example.com");
    assert_eq!(
        route(&res),
        (
            t("smtp"),
            t("remote.example"),
            t("user@remote.example"),
            AddressClass::Default
        )
    );
    let res = r.resolve("remote.example!user@mx.example.com");
    assert_eq!(res.recipient, "user@remote.example");
    // Percent hack to another local domain stays local.
    let res = r.resolve("user%localhost@mx.example.com");
    assert_eq!(res.class, AddressClass::Local);
    assert_eq!(res.recipient, "user@localhost");
    let r = resolver("allow_percent_hack = no\n");
    let res = r.resolve("user%remote.example@mx.example.com");
    assert_eq!(res.class, AddressClass::Local);
    assert_eq!(res.recipient, "user%remote.example@mx.example.com");
}

#[test]
fn routed_addresses_are_flagged() {
    let r = resolver("allow_percent_hack = no\n");
    assert!(r.resolve("user%other.example@remote.example").flags.routed);
    assert!(r.resolve("a!b@remote.example").flags.routed);
    assert!(!r.resolve("user@remote.example").flags.routed);
    assert!(
        !r.resolve("user%x@mx.example.com").flags.routed,
        "local mail is never routed"
    );
}

#[test]
fn null_domain_is_an_error_unless_allowed() {
    let r = resolver("");
    assert!(r.resolve("user@").flags.error);
    let r = resolver("resolve_null_domain = yes\n");
    let res = r.resolve("user@");
    assert!(!res.flags.error);
    assert_eq!(res.recipient, "user@mx.example.com");
    assert_eq!(res.class, AddressClass::Local);
}

#[test]
fn null_recipient_is_empty_address_recipient() {
    let r = resolver("transport_maps = inline:{ MAILER-DAEMON@mx.example.com=discard:null }\n");
    let res = r.resolve("");
    assert_eq!(res.recipient, "MAILER-DAEMON@mx.example.com");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("discard", "null")
    );
}

#[test]
fn source_routes_and_append_dot_mydomain() {
    let r = resolver("append_dot_mydomain = yes\n");
    assert_eq!(
        r.resolve("@a.example:user@remote.example").recipient,
        "user@remote.example"
    );
    let res = r.resolve("user@mx");
    assert_eq!(res.recipient, "user@mx.example.com");
    assert_eq!(res.class, AddressClass::Local);
}

#[test]
fn transport_maps_override_per_transport5() {
    let r = resolver(
        "transport_maps = inline:{ {user@remote.example=error:5.7.1 go away}, \
         slow.example=slow:, gw.example=:[gateway.example.com], local.example=:, \
         .sub.example=uucp:example, *=smtp:outbound-relay.example.com }\n\
         recipient_delimiter = +\n",
    );
    let res = r.resolve("user+ext@remote.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("error", "5.7.1 go away")
    );
    let res = r.resolve("x@slow.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("slow", "slow.example")
    );
    let res = r.resolve("x@gw.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("smtp", "[gateway.example.com]")
    );
    let res = r.resolve("x@local.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("smtp", "local.example")
    );
    let res = r.resolve("x@a.sub.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("uucp", "example")
    );
    let res = r.resolve("x@elsewhere.example");
    assert_eq!(
        (res.transport.as_str(), res.nexthop.as_str()),
        ("smtp", "outbound-relay.example.com")
    );
    // The wildcard applies to local mail too, as in Postfix.
    assert_eq!(
        r.resolve("x@mx.example.com").nexthop,
        "outbound-relay.example.com"
    );
}

#[test]
fn table_failures_set_the_fail_flag() {
    let r = resolver("transport_maps = fail:broken\n");
    let res = r.resolve("u@remote.example");
    assert!(res.flags.fail);
    let r = resolver("relay_domains = fail:broken\n");
    assert!(r.resolve("u@remote.example").flags.fail);
    let r = resolver("mydestination = fail:broken\n");
    assert!(r.resolve("u@remote.example").flags.fail);
}

#[test]
fn unopenable_tables_are_setup_errors() {
    let cfg = Config::from_text(
        Path::new("/cfg"),
        &format!("{BASE}transport_maps = lmdb:/nonexistent/t\n"),
    )
    .unwrap();
    let e = Resolver::new(&cfg).unwrap_err().to_string();
    assert!(
        e.starts_with("transport_maps: open database /nonexistent/t.lmdb"),
        "{e}"
    );
}

#[test]
fn one_shot_helpers() {
    let cfg = Config::from_text(Path::new("/cfg"), BASE).unwrap();
    assert_eq!(
        rewrite(&cfg, Context::Local, "u").unwrap(),
        "u@mx.example.com"
    );
    assert_eq!(rewrite(&cfg, Context::Remote, "u").unwrap(), "u");
    assert_eq!(resolve(&cfg, "u@remote.example").unwrap().transport, "smtp");
}

#[test]
fn interface_address_forms() {
    let v = resolver::interface_addrs("loopback-only");
    assert!(v.contains(&"127.0.0.1".parse().unwrap()));
    assert!(v.contains(&"::1".parse().unwrap()));
    let v = resolver::interface_addrs("192.0.2.1, [2001:db8::1]");
    assert_eq!(
        v,
        vec![
            "192.0.2.1".parse::<std::net::IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ]
    );
}
