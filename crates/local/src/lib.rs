//! NAME
//!   local - the local delivery agent's library
#![forbid(unsafe_code)]

pub mod command;
pub mod copy;
pub mod errors;
pub mod limit;
pub mod lock;
pub mod maildir;
pub mod mbox;
pub mod privs;
