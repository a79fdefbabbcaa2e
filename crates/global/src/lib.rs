//! NAME
//!   global - mail-specific code shared by every Postern program
//!
//! DESCRIPTION
//!   The parameter registry ([`params`]) with Postfix 3.7's names and
//!   defaults, `main.cf` parsing ([`main_cf`]), `$name` expansion
//!   ([`expand`]), the effective configuration of one program
//!   ([`config::Config`]), `master.cf` parsing ([`master_cf`]), and the
//!   master/child contract ([`master_proto`]).
#![forbid(unsafe_code)]

pub mod anvil_proto;
pub mod attr;
pub mod cleanup_client;
pub mod cmdlog;
pub mod confcheck;
pub mod config;
pub mod core_params;
pub mod date;
pub mod expand;
pub mod host;
pub mod main_cf;
pub mod main_cf_edit;
pub mod master_cf;
pub mod master_proto;
pub mod params;
pub mod params_doc;
pub mod raw_params;
pub mod showq;
pub mod trigger;

pub use config::{Config, ConfigError};
