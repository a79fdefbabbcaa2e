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
    ("alias_database", "The alias tables that newaliases (postalias invoked as newaliases) rebuilds."),
    ("command_directory", "Where the administrative commands (postfix, postconf, ...) are installed."),
    ("compatibility_level", "Backwards-compatibility level; several defaults depend on it (postconf(5) COMPATIBILITY_README)."),
    ("config_directory", "The directory with main.cf and master.cf; set by -c or MAIL_CONFIG."),
    ("daemon_directory", "Where master finds the service programs named in master.cf."),
    ("data_directory", "Where writable non-queue data (caches, locks) is kept; created by postfix start."),
    ("default_database_type", "The table type postmap and postalias use for a file given without type:; Postern builds lmdb only."),
    ("default_process_limit", "The maxproc used for a master.cf service whose column 7 is '-'."),
    ("hash_queue_depth", "The number of one-character subdirectory levels of the queues named in hash_queue_names; long queue IDs hash on their microseconds in hexadecimal."),
    ("hash_queue_names", "The queue directories that are split into hashed subdirectories."),
    ("html_directory", "Where HTML documentation is installed (install only)."),
    ("import_environment", "Environment variables that master and its children keep; the rest are removed."),
    ("inet_interfaces", "Addresses that inet services listen on when master.cf names no host: 'all', 'loopback-only', or a list."),
    ("inet_protocols", "IP versions used by inet services: ipv4, ipv6, or all."),
    ("lmdb_map_size", "The initial size in bytes of the memory map of an lmdb: table; it doubles when the table is full."),
    ("mail_name", "The name of the mail system, used in smtpd_banner and Received: headers."),
    ("mail_owner", "The unprivileged user that owns the queue and runs services with unpriv=y."),
    ("mail_version", "The Postfix release this implementation is compatible with."),
    ("maillog_file", "When set, log to this file (or /dev/stdout) instead of syslog."),
    ("manpage_directory", "Where manual pages are installed (install only)."),
    ("max_idle", "Seconds an idle service process waits for a client before it exits."),
    ("max_use", "How many clients a service process serves before it exits."),
    ("meta_directory", "Where postfix-files and other non-executable support files live."),
    ("mydomain", "The local Internet domain; default: myhostname less its first label."),
    ("myhostname", "The fully-qualified host name; default: the system host name."),
    ("mynetworks", "Trusted client networks; default per mynetworks_style from the interfaces."),
    ("mynetworks_style", "How the default mynetworks is computed: host, subnet or class."),
    ("process_id", "The process ID of the program (read-only)."),
    ("process_name", "The name of the program (read-only)."),
    ("queue_directory", "The mail queue; services chroot here."),
    ("readme_directory", "Where README files are installed (install only)."),
    ("sample_directory", "Where sample configuration files are installed (install only)."),
    ("service_throttle_time", "How long master waits before restarting a service that failed abnormally."),
    ("setgid_group", "The group of postdrop and postqueue, owner of the maildrop and public directories."),
    ("shlib_directory", "Where shared libraries would be installed (unused by Postern)."),
    ("smtpd_restriction_classes", "Names of user-defined restriction classes; main.cf settings with these names are not reported as unused."),
    ("syslog_facility", "The syslog facility of Postern's log messages."),
    ("syslog_name", "The prefix of the syslog ident; the service name is appended (postfix/smtpd)."),
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
