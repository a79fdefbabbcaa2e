//! NAME
//!   maps - Postfix lookup tables
//!
//! SYNOPSIS
//!   let access = maps::open("lmdb:/etc/postfix/access", DictFlags::default())?;
//!   let aliases = maps::Maps::open("alias_maps", "lmdb:/etc/aliases", DictFlags::default())?;
//!   let hit = maps::search::find_address(&aliases, "user+ext@example.com", "+", true)?;
//!
//! DESCRIPTION
//!   One trait for every table type ([`Dict`]), one registry that opens a
//!   table by its `type:name` ([`open`]), and lists of tables as a
//!   parameter names them ([`Maps`]). Types: `lmdb:` (Postfix's on-disk
//!   format, readable and writable by Postfix's own programs),
//!   `texthash:`, `inline:{...}`, `static:`, `regexp:`, `cidr:`, `fail:`.
//!   Berkeley DB types (`hash:`, `btree:`) are refused with a message that
//!   suggests `lmdb:`.
//!
//!   [`search`] holds Postfix's search orders (access(5), virtual(5),
//!   canonical(5), parent domains); [`aliases`] the aliases(5) syntax;
//!   [`mkmap`] the table-building and maintenance commands shared by
//!   postmap(1) and postalias(1).
//!
//! SEE ALSO
//!   postmap(1), postalias(1), lmdb_table(5), regexp_table(5),
//!   cidr_table(5), access(5), virtual(5), aliases(5).
#![forbid(unsafe_code)]

pub mod aliases;
pub mod cidr;
pub mod command;
pub mod dict;
pub mod lmdb;
pub mod memory;
pub mod mkmap;
pub mod regexp;
pub mod registry;
pub mod rules;
pub mod search;
pub mod source;

pub use dict::{Dict, DictError, DictFlags, DupMode, NulMode, Updated};
pub use registry::{open, Maps};
