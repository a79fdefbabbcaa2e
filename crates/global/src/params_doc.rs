//! NAME
//!   params_doc - the parameters Postern's code reads, with descriptions
//!
//! DESCRIPTION
//!   One entry per parameter that some Postern program reads. The list
//!   feeds postconf(5) (`scripts/gen-man`), `postconf -d`'s notion of what
//!   is implemented, and the start-up warning for parameters set to a
//!   non-default value that nothing implements yet. A test checks that every
//!   parameter named in a `Config` getter call in the source is listed here.
use crate::params::Kind;

/// `(name, description)` for every parameter Postern implements.
pub const IMPLEMENTED: &[(&str, &str)] = &[
    ("2bounce_notice_recipient", "Who receives double bounces (a notification about mail from the null sender that could not be delivered)."),
    ("alias_database", "The alias tables that newaliases (postalias invoked as newaliases) rebuilds."),
    ("alias_maps", "The alias tables that local(8) searches for the local part of a recipient."),
    ("allow_mail_to_commands", "Which of alias, forward and include may deliver mail to |command destinations in local(8)."),
    ("allow_mail_to_files", "Which of alias, forward and include may deliver mail to /file destinations in local(8)."),
    ("allow_percent_hack", "Rewrite user%domain to user@domain when the address has no @, and after a local domain is removed during resolution."),
    ("append_at_myorigin", "Append @$myorigin to a bare local part in the local rewriting context."),
    ("append_dot_mydomain", "Append .$mydomain to a domain without a dot in the local rewriting context."),
    ("bounce_notice_recipient", "Who receives the postmaster copy of a non-delivery notification when notify_classes has bounce."),
    ("bounce_size_limit", "Largest original message, in bytes, returned whole in a non-delivery notification; larger ones are returned as headers only."),
    ("command_directory", "Where the administrative commands (postfix, postconf, ...) are installed."),
    ("command_time_limit", "How long a command delivery of local(8) may run before it is killed."),
    ("compatibility_level", "Backwards-compatibility level; several defaults depend on it (postconf(5) COMPATIBILITY_README)."),
    ("config_directory", "The directory with main.cf and master.cf; set by -c or MAIL_CONFIG."),
    ("daemon_directory", "Where master finds the service programs named in master.cf."),
    ("data_directory", "Where writable non-queue data (caches, locks) is kept; created by postfix start."),
    ("default_database_type", "The table type postmap and postalias use for a file given without type:; Postern builds lmdb only."),
    ("default_privs", "The account that runs commands and writes files named in aliases."),
    ("default_process_limit", "The maxproc used for a master.cf service whose column 7 is '-'."),
    ("default_transport", "transport:nexthop for recipients in no local, virtual or relay domain."),
    ("delay_logging_resolution_limit", "Digits after the decimal point (0..6) in the delay= and delays= values of delivery log lines."),
    ("delay_notice_recipient", "Who receives the postmaster copy of a delay warning when notify_classes has delay."),
    ("deliver_lock_attempts", "How many times local(8) tries to lock a mailbox before it gives up for now."),
    ("deliver_lock_delay", "The pause between two attempts to lock a mailbox."),
    ("double_bounce_sender", "The local part of the sender of postmaster notifications; mail from it is never bounced."),
    ("empty_address_recipient", "The local part that the null recipient address resolves to (at $myhostname)."),
    ("expand_owner_alias", "Whether an owner- alias is expanded when it becomes the sender of alias expansions (read by local(8))."),
    ("export_environment", "Environment variables that local(8) passes on to commands it runs."),
    ("forward_path", "Where local(8) looks for a user's .forward file; the first file that exists is used."),
    ("hash_queue_depth", "The number of one-character subdirectory levels of the queues named in hash_queue_names; long queue IDs hash on their microseconds in hexadecimal."),
    ("hash_queue_names", "The queue directories that are split into hashed subdirectories."),
    ("home_mailbox", "A mailbox relative to the home directory (a name ending in / is a Maildir); empty: use mail_spool_directory."),
    ("html_directory", "Where HTML documentation is installed (install only)."),
    ("import_environment", "Environment variables that master and its children keep; the rest are removed."),
    ("inet_interfaces", "Addresses that inet services listen on when master.cf names no host: 'all', 'loopback-only', or a list."),
    ("inet_protocols", "IP versions used by inet services: ipv4, ipv6, or all."),
    ("ipc_timeout", "Time limit for each read and write between Postern daemons and their clients (the cleanup client stub)."),
    ("lmdb_map_size", "The initial size in bytes of the memory map of an lmdb: table; it doubles when the table is full."),
    ("local_command_shell", "The shell that runs |command and mailbox_command deliveries; empty: /bin/sh -c."),
    ("local_transport", "transport:nexthop for recipients in $mydestination and local [address] literals."),
    ("luser_relay", "Where local(8) sends mail for local users without an account; empty: bounce it."),
    ("mail_name", "The name of the mail system, used in smtpd_banner and Received: headers."),
    ("mail_owner", "The unprivileged user that owns the queue and runs services with unpriv=y."),
    ("mail_spool_directory", "The directory of UNIX-style mailboxes named after their users (a name ending in / means Maildir)."),
    ("mail_version", "The Postfix release this implementation is compatible with."),
    ("mailbox_command", "A command that local(8) runs, as the user, to deliver to the mailbox instead of writing it itself."),
    ("mailbox_delivery_lock", "How local(8) locks a UNIX mailbox: fcntl, flock and/or dotlock."),
    ("mailbox_size_limit", "Largest size in bytes of a mailbox file or Maildir message written by local(8); 0 means no limit."),
    ("maillog_file", "When set, log to this file (or /dev/stdout) instead of syslog."),
    ("manpage_directory", "Where manual pages are installed (install only)."),
    ("max_idle", "Seconds an idle service process waits for a client before it exits."),
    ("max_use", "How many clients a service process serves before it exits."),
    ("maximal_queue_lifetime", "How long a message may stay queued before it is returned as undeliverable."),
    ("meta_directory", "Where postfix-files and other non-executable support files live."),
    ("mydestination", "Domains (names, .subdomain patterns, /files, type:tables) this machine is the final destination for; their mail is delivered with $local_transport."),
    ("mydomain", "The local Internet domain; default: myhostname less its first label."),
    ("myhostname", "The fully-qualified host name; default: the system host name."),
    ("mynetworks", "Trusted client networks; default per mynetworks_style from the interfaces."),
    ("mynetworks_style", "How the default mynetworks is computed: host, subnet or class."),
    ("myorigin", "The domain appended to bare local parts in locally submitted mail."),
    ("notify_classes", "Which problems are reported to the postmaster (bounce, delay, ...)."),
    ("owner_request_special", "Whether an owner-NAME alias becomes the sender of mail expanded from alias NAME."),
    ("parent_domain_matches_subdomains", "Features for which a domain pattern also matches its subdomains (and tables look up bare parent domains)."),
    ("prepend_delivered_header", "Which local(8) deliveries (command, file, forward) get a Delivered-To: header; mailboxes always do."),
    ("process_id", "The process ID of the program (read-only)."),
    ("process_name", "The name of the program (read-only)."),
    ("proxy_interfaces", "Extra addresses (of a proxy or NAT in front of this host) whose [address] literal counts as local."),
    ("queue_directory", "The mail queue; services chroot here."),
    ("readme_directory", "Where README files are installed (install only)."),
    ("recipient_delimiter", "Characters that separate a local part from its extension (user+ext) for table lookups."),
    ("relay_domains", "Domains this machine relays mail to (class relay, delivered with $relay_transport)."),
    ("relay_transport", "transport:nexthop for recipients in $relay_domains."),
    ("relayhost", "The next hop for relay and default class mail when the transport gives none; [host]:port is kept as written."),
    ("remote_header_rewrite_domain", "The domain appended to incomplete header addresses in mail from remote clients; empty means remote headers are not rewritten."),
    ("resolve_null_domain", "Resolve an address ending in @ as if the domain were $myhostname instead of treating it as a syntax error."),
    ("resolve_numeric_domain", "Resolve user@1.2.3.4 as user@[1.2.3.4]."),
    ("sample_directory", "Where sample configuration files are installed (install only)."),
    ("service_throttle_time", "How long master waits before restarting a service that failed abnormally."),
    ("setgid_group", "The group of postdrop and postqueue, owner of the maildrop and public directories."),
    ("shlib_directory", "Where shared libraries would be installed (unused by Postern)."),
    ("show_user_unknown_table_name", "Name the table in the 'User unknown' reason for virtual alias domain recipients."),
    ("smtpd_restriction_classes", "Names of user-defined restriction classes; main.cf settings with these names are not reported as unused."),
    ("stale_lock_time", "Age after which a mailbox .lock file is considered left over and removed."),
    ("swap_bangpath", "Rewrite site!user to user@site when the address has no @."),
    ("syslog_facility", "The syslog facility of Postern's log messages."),
    ("syslog_name", "The prefix of the syslog ident; the service name is appended (postfix/smtpd)."),
    ("transport_maps", "Tables that override transport and nexthop per recipient address, domain, parent domain or '*' (transport(5))."),
    ("virtual_alias_domains", "Domains whose every valid address is rewritten by virtual_alias_maps; other recipients there are unknown."),
    ("virtual_mailbox_domains", "Domains delivered by $virtual_transport."),
    ("virtual_transport", "transport:nexthop for recipients in $virtual_mailbox_domains."),
];

/// Whether Postern's code reads parameter `name`.
pub fn is_implemented(name: &str) -> bool {
    IMPLEMENTED.iter().any(|(n, _)| *n == name)
}

/// Kinds that cannot be inferred from the default value.
pub fn kind_override(name: &str) -> Option<Kind> {
    match name {
        "max_idle" | "service_throttle_time" => Some(Kind::Time('s')),
        // A release level such as "3.6", not a number (default "0").
        "compatibility_level" => Some(Kind::Str),
        _ => None,
    }
}
